/* hyp.c — PLACEHOLDER until the hypervisor half lands. */
#include <errno.h>
#include <stdlib.h>

#include "hyp.h"

struct sim_hyp { int unused; };

struct sim_hyp *sim_hyp_new(struct sim_loop *loop, struct sim_store *st, const char *dir)
{
	(void)sim_store_listen(st, 0, "/dev/null");
	return calloc(1, sizeof(struct sim_hyp));
}
void sim_hyp_free(struct sim_hyp *h) { free(h); }
