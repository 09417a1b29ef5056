/*
 * xnx_platform.h — the hypervisor primitives the drivers use: grant tables
 * (map, copy), grant sharing (gntshr) and event channels, on real Xen or on
 * the simulated hypervisor (xnet-simd).
 *
 * Names mirror libxengnttab and libxenevtchn (xengnttab_map_grant_refs →
 * xnx_gnttab_map_grant_refs, ...) so a reader who knows Xen knows these.
 * The platform is chosen once per process, at the first open, from
 * XNET_PLATFORM=xen|sim|auto (auto, the default: /dev/xen/privcmd present →
 * xen, else sim).
 *
 * All functions return -1 (or NULL) and set errno on failure, like the
 * libraries they mirror. Grant-copy results are per segment in ->status, as
 * GNTST_* codes from xen/grant_table.h.
 *
 * Sim specifics: the process's domain is XNET_DOMID (default 0); the sim's
 * run directory is XNET_SIM_DIR (default /run/xnet). Only domain 0 and driver
 * domains may map or copy other domains' grants.
 */
#ifndef XNX_PLATFORM_H
#define XNX_PLATFORM_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xengnttab.h>
#include <xenevtchn.h>

enum xnx_platform_kind {
	XNX_PLATFORM_XEN = 1,
	XNX_PLATFORM_SIM = 2,
};

/* Pick the platform (idempotent). Returns 0, or -1 with errno (EINVAL for a
 * bad XNET_PLATFORM value). Every *_open calls it. */
int xnx_platform_init(void);
enum xnx_platform_kind xnx_platform(void);
const char *xnx_platform_name(void);

/* This process's domain id: on sim XNET_DOMID; on Xen read from xenstore
 * ("domid"). Returns the id or -1 with errno. */
int xnx_self_domid(void);

/* ---- grant tables, mapping/copying side (backend) ------------------------ */

typedef struct xnx_gnttab xnx_gnttab;

xnx_gnttab *xnx_gnttab_open(void);
int xnx_gnttab_close(xnx_gnttab *h);

/* Map COUNT grant refs of DOMID contiguously; PROT is PROT_READ or
 * PROT_READ|PROT_WRITE. A read-write map of a read-only grant fails. */
void *xnx_gnttab_map_grant_refs(xnx_gnttab *h, uint32_t count, uint32_t domid,
				const uint32_t *refs, int prot);
void *xnx_gnttab_map_grant_ref(xnx_gnttab *h, uint32_t domid, uint32_t ref,
			       int prot);
int xnx_gnttab_unmap(xnx_gnttab *h, void *start, uint32_t count);

/* Batched grant copy with Xen's own segment type (GNTCOPY_source_gref /
 * GNTCOPY_dest_gref in ->flags). Returns 0 if the batch was processed (look
 * at each ->status), -1 with errno if it could not be issued at all. */
int xnx_gnttab_grant_copy(xnx_gnttab *h, uint32_t count,
			  xengnttab_grant_copy_segment_t *segs);

/* ---- grant sharing side (frontend) ---------------------------------------- */

typedef struct xnx_gntshr xnx_gntshr;

xnx_gntshr *xnx_gntshr_open(void);
int xnx_gntshr_close(xnx_gntshr *h);

/* Allocate COUNT zeroed pages, grant them to DOMID, return their local
 * mapping and fill REFS. */
void *xnx_gntshr_share_pages(xnx_gntshr *h, uint32_t domid, int count,
			     uint32_t *refs, int writable);
/* End access and free. Fails with EBUSY, changing nothing, while the peer
 * still has one of the pages mapped or a copy in flight (sim; on Xen the
 * kernel defers the free instead and this succeeds). */
int xnx_gntshr_unshare(xnx_gntshr *h, void *start, uint32_t count);

/* ---- event channels ---------------------------------------------------- */

typedef struct xnx_evtchn xnx_evtchn;

xnx_evtchn *xnx_evtchn_open(void);
int xnx_evtchn_close(xnx_evtchn *h);
/* Readable when a port bound through this handle is pending. */
int xnx_evtchn_fd(xnx_evtchn *h);
int xnx_evtchn_notify(xnx_evtchn *h, evtchn_port_t port);
xenevtchn_port_or_error_t xnx_evtchn_bind_unbound_port(xnx_evtchn *h,
							uint32_t domid);
xenevtchn_port_or_error_t xnx_evtchn_bind_interdomain(xnx_evtchn *h,
						       uint32_t domid,
						       evtchn_port_t remote_port);
int xnx_evtchn_unbind(xnx_evtchn *h, evtchn_port_t port);
/* Next pending port (which stays masked until unmasked), or -1 with errno
 * EAGAIN when none is pending. Never blocks. */
xenevtchn_port_or_error_t xnx_evtchn_pending(xnx_evtchn *h);
int xnx_evtchn_unmask(xnx_evtchn *h, evtchn_port_t port);
/* State of a local port as EVTCHNSTAT_* from xen/event_channel.h
 * (EVTCHNSTAT_closed, _unbound, _interdomain, ...); how a peer's close is
 * seen: the port drops from _interdomain to _unbound. (The sim also raises
 * the port so a sleeper wakes and looks; to Xen drivers that is a harmless
 * spurious event.) */
int xnx_evtchn_status(xnx_evtchn *h, evtchn_port_t port);

#endif
