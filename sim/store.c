/* store.c — PLACEHOLDER until the xenstore half lands: listens, serves nothing. */
#include <errno.h>
#include <stdlib.h>

#include "store.h"

struct sim_store { struct sim_loop *loop; };

struct sim_store *sim_store_new(struct sim_loop *loop)
{
	struct sim_store *st = calloc(1, sizeof(*st));

	if (st)
		st->loop = loop;
	return st;
}
void sim_store_free(struct sim_store *st) { free(st); }
int sim_store_listen(struct sim_store *st, unsigned domid, const char *path) { return -ENOSYS; }
int sim_store_domain_introduce(struct sim_store *st, unsigned domid, const char *name) { return -ENOSYS; }
int sim_store_domain_release(struct sim_store *st, unsigned domid) { return -ENOSYS; }
