/* hyp.c — PLACEHOLDER until the hypervisor half lands: only domain 0's
 * xenstore socket, so the store can be exercised. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "hyp.h"
#include "xnx_sim.h"

struct sim_hyp { int unused; };

struct sim_hyp *sim_hyp_new(struct sim_loop *loop, struct sim_store *st, const char *dir)
{
	char path[4096];
	int rc;

	(void)loop;
	(void)dir;
	if (xnx_sim_store_path(0, path, sizeof(path)) < 0 ||
	    (rc = sim_store_listen(st, 0, path)) < 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	sim_store_domain_introduce(st, 0, "Domain-0");
	return calloc(1, sizeof(struct sim_hyp));
}
void sim_hyp_free(struct sim_hyp *h) { free(h); }
