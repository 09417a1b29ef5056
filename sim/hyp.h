/*
 * hyp.h — the hypervisor half of xnet-simd: domains, grant tables and event
 * channels, served to the platform layer (common/platform_sim.c) over one
 * control socket per domain.
 */
#ifndef SIM_HYP_H
#define SIM_HYP_H

#include "loop.h"
#include "store.h"

struct sim_hyp;

/* Create domain 0 and listen on DIR's sockets. NULL with errno on failure. */
struct sim_hyp *sim_hyp_new(struct sim_loop *loop, struct sim_store *st,
			    const char *dir);
void sim_hyp_free(struct sim_hyp *h);

#endif
