/*
 * store.h — the xenstore half of xnet-simd: the xs_wire protocol
 * (xen/io/xs_wire.h) served on one unix socket per domain, so the daemon
 * knows who is asking (domain 0 on the privileged socket).
 */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include "loop.h"

struct sim_store;

struct sim_store *sim_store_new(struct sim_loop *loop);
void sim_store_free(struct sim_store *st);

/* Accept DOMID's clients on a new unix socket at PATH. 0 or -errno. */
int sim_store_listen(struct sim_store *st, unsigned domid, const char *path);

/* Domain lifecycle, as the hypervisor half reports it (it acts as the
 * toolstack too). introduce writes the /local/domain/<id>/ skeleton with the
 * domain's permissions and fires @introduceDomain; release closes the
 * domain's listener and connections, removes its subtree and fires
 * @releaseDomain. 0 or -errno. */
int sim_store_domain_introduce(struct sim_store *st, unsigned domid,
			       const char *name);
int sim_store_domain_release(struct sim_store *st, unsigned domid);

#endif
