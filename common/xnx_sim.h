/*
 * xnx_sim.h — where the simulated hypervisor lives, and the client side of
 * its control protocol for domain management (used by `xnet`, tests and the
 * platform layer). Everything here is sim-only.
 *
 * Run directory (XNET_SIM_DIR, default /run/xnet):
 *   xenstored.sock          privileged xenstore socket (domain 0)
 *   simd.sock               privileged hypervisor/control socket (domain 0)
 *   dom<N>/xenstored.sock   domain N's xenstore socket
 *   dom<N>/simd.sock        domain N's hypervisor socket
 *   xnet-simd.pid           the daemon's pid
 */
#ifndef XNX_SIM_H
#define XNX_SIM_H

#include <stddef.h>
#include <stdint.h>

#define XNX_SIM_DIR_DEFAULT "/run/xnet"
#define XNX_SIM_NAME_MAX 64

/* The run directory (XNET_SIM_DIR or the default). Never NULL. */
const char *xnx_sim_dir(void);
/* Writes "<dir>/xenstored.sock" or "<dir>/dom<N>/xenstored.sock" (likewise
 * "simd.sock") into BUF. Returns 0, or -ENAMETOOLONG. */
int xnx_sim_store_path(unsigned domid, char *buf, size_t len);
int xnx_sim_hyp_path(unsigned domid, char *buf, size_t len);

struct xnx_sim_domain {
	uint32_t domid;
	uint32_t flags;			/* XNX_SIM_DOM_* */
	char name[XNX_SIM_NAME_MAX];
};
#define XNX_SIM_DOM_DRIVER 0x1		/* may map/copy grants of others */

/* Domain management over the privileged control socket. Return 0 or -1 with
 * errno (EEXIST: name taken, ENOENT: no such domain, ECONNREFUSED: no
 * xnet-simd running). create writes the domain's store skeleton and fires
 * @introduceDomain; destroy revokes its grants and channels, removes its
 * store subtree and fires @releaseDomain. */
int xnx_sim_domain_create(const char *name, uint32_t flags, uint32_t *domid);
int xnx_sim_domain_destroy(uint32_t domid);
int xnx_sim_domain_lookup(const char *name, struct xnx_sim_domain *out);
/* Fills at most MAX entries; returns the number of domains, or -1. */
int xnx_sim_domain_list(struct xnx_sim_domain *out, int max);

#endif
