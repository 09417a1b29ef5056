/*
 * platform_sim.h — internal to the sim platform (platform_sim*.c): the
 * connection each handle keeps to xnet-simd, the request helpers, and the
 * functions platform_sim.c puts in the sim ops table.
 */
#ifndef XNX_PLATFORM_SIM_H
#define XNX_PLATFORM_SIM_H

#include <pthread.h>
#include <stdint.h>

#include "platform_ops.h"
#include "xnx_simproto.h"

#define PAGE XNX_SIM_PAGE_SIZE

/* A connection to our domain's hypervisor socket, one per handle. */
struct xnx_simc_link {
	int fd;
	uint16_t domid;
	pthread_mutex_t lock;		/* one request at a time; handle state */
	uint64_t calls;			/* round trips made (atomic): tests */
};

/* Transport (platform_sim.c). Functions returning int give 0 or -errno
 * unless they say otherwise. */
int xnx_simc_link_open(struct xnx_simc_link *l);
void xnx_simc_link_close(struct xnx_simc_link *l);
struct xnx_simproto_req *xnx_simc_req_new(uint32_t op, uint32_t count);
int xnx_simc_call(struct xnx_simc_link *l, const struct xnx_simproto_req *req,
		struct xnx_simproto_rsp *rsp, size_t rsp_max, int *fds, int nfds);
int xnx_simc_call_simple(struct xnx_simc_link *l, uint32_t op, uint32_t a0, uint32_t a1,
		       struct xnx_simproto_rsp *rsp, int *fds, int nfds);
void xnx_simc_close_fds(int *fds, int n);
void *xnx_simc_map_frames(int fd, const uint32_t *frames, uint32_t count, int prot);
int xnx_simc_fail(int rc);

/* Grant tables and sharing (platform_sim_gnt.c). */
xnx_gnttab *xnx_simc_gnttab_open(void);
int xnx_simc_gnttab_close(xnx_gnttab *b);
int xnx_simc_grant_copy(xnx_gnttab *b, uint32_t count,
			  xengnttab_grant_copy_segment_t *segs);
void *xnx_simc_map(xnx_gnttab *b, uint32_t count, uint32_t domid,
		     const uint32_t *refs, int prot);
int xnx_simc_unmap(xnx_gnttab *b, void *start, uint32_t count);
xnx_gntshr *xnx_simc_gntshr_open(void);
int xnx_simc_gntshr_close(xnx_gntshr *b);
void *xnx_simc_share(xnx_gntshr *b, uint32_t domid, int count, uint32_t *refs,
		       int writable);
int xnx_simc_unshare(xnx_gntshr *b, void *start, uint32_t count);

/* Event channels (platform_sim_evtchn.c). */
xnx_evtchn *xnx_simc_evtchn_open(void);
int xnx_simc_evtchn_close(xnx_evtchn *b);
int xnx_simc_evtchn_fd(xnx_evtchn *b);
int xnx_simc_notify(xnx_evtchn *b, evtchn_port_t port);
xenevtchn_port_or_error_t xnx_simc_bind_unbound(xnx_evtchn *b, uint32_t domid);
xenevtchn_port_or_error_t xnx_simc_bind_interdomain(xnx_evtchn *b, uint32_t domid,
						      evtchn_port_t remote_port);
int xnx_simc_unbind(xnx_evtchn *b, evtchn_port_t port);
xenevtchn_port_or_error_t xnx_simc_pending(xnx_evtchn *b);
int xnx_simc_unmask(xnx_evtchn *b, evtchn_port_t port);
int xnx_simc_status(xnx_evtchn *b, evtchn_port_t port);
/* Round trips to xnet-simd made through the handle so far (for tests:
 * what a call cost). */
uint64_t xnx_simc_evtchn_calls(xnx_evtchn *b);

#endif
