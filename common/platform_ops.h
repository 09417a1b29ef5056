/*
 * platform_ops.h — internal to libxnet's platform layer: the table of
 * functions each platform (platform_xen.c, platform_sim.c) provides, and the
 * common head of every handle, so platform.c can dispatch in one indirect
 * call. Not for drivers: they use xnx_platform.h.
 */
#ifndef XNX_PLATFORM_OPS_H
#define XNX_PLATFORM_OPS_H

#include "xnx_platform.h"

struct xnx_platform_ops {
	enum xnx_platform_kind kind;
	const char *name;
	int (*self_domid)(void);

	xnx_gnttab *(*gnttab_open)(void);
	int (*gnttab_close)(xnx_gnttab *h);
	void *(*map_grant_refs)(xnx_gnttab *h, uint32_t count, uint32_t domid,
				const uint32_t *refs, int prot);
	int (*unmap)(xnx_gnttab *h, void *start, uint32_t count);
	int (*grant_copy)(xnx_gnttab *h, uint32_t count,
			  xengnttab_grant_copy_segment_t *segs);

	xnx_gntshr *(*gntshr_open)(void);
	int (*gntshr_close)(xnx_gntshr *h);
	void *(*share_pages)(xnx_gntshr *h, uint32_t domid, int count,
			     uint32_t *refs, int writable);
	int (*unshare)(xnx_gntshr *h, void *start, uint32_t count);

	xnx_evtchn *(*evtchn_open)(void);
	int (*evtchn_close)(xnx_evtchn *h);
	int (*evtchn_fd)(xnx_evtchn *h);
	int (*notify)(xnx_evtchn *h, evtchn_port_t port);
	xenevtchn_port_or_error_t (*bind_unbound_port)(xnx_evtchn *h, uint32_t domid);
	xenevtchn_port_or_error_t (*bind_interdomain)(xnx_evtchn *h, uint32_t domid,
						      evtchn_port_t remote_port);
	int (*unbind)(xnx_evtchn *h, evtchn_port_t port);
	xenevtchn_port_or_error_t (*pending)(xnx_evtchn *h);
	int (*unmask)(xnx_evtchn *h, evtchn_port_t port);
	int (*status)(xnx_evtchn *h, evtchn_port_t port);
};

/* Every platform's handle starts with one of these. */
struct xnx_gnttab { const struct xnx_platform_ops *ops; };
struct xnx_gntshr { const struct xnx_platform_ops *ops; };
struct xnx_evtchn { const struct xnx_platform_ops *ops; };

extern const struct xnx_platform_ops xnx_platform_xen_ops;
extern const struct xnx_platform_ops xnx_platform_sim_ops;

#endif
