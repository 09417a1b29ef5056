/*
 * platform.c — picks the platform once per process (XNET_PLATFORM=xen|sim|
 * auto) and forwards every xnx_platform.h call to it through the handle's
 * ops table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform_ops.h"
#include "xnx_log.h"

static const struct xnx_platform_ops *platform;

static const struct xnx_platform_ops *choose(const char *v)
{
	if (!v || !*v || strcmp(v, "auto") == 0)
		return access("/dev/xen/privcmd", F_OK) == 0 ? &xnx_platform_xen_ops
							      : &xnx_platform_sim_ops;
	if (strcmp(v, "xen") == 0)
		return &xnx_platform_xen_ops;
	if (strcmp(v, "sim") == 0)
		return &xnx_platform_sim_ops;
	return NULL;
}

int xnx_platform_init(void)
{
	const struct xnx_platform_ops *p = __atomic_load_n(&platform, __ATOMIC_ACQUIRE);
	const char *v;

	if (p)
		return 0;
	v = getenv("XNET_PLATFORM");
	p = choose(v);
	if (!p) {
		xnx_err("XNET_PLATFORM=%s: expected xen, sim or auto", v);
		errno = EINVAL;
		return -1;
	}
	/* Racing first calls choose the same table; either store wins. */
	__atomic_store_n(&platform, p, __ATOMIC_RELEASE);
	return 0;
}

static const struct xnx_platform_ops *ops(void)
{
	return xnx_platform_init() < 0 ? NULL : __atomic_load_n(&platform, __ATOMIC_ACQUIRE);
}

enum xnx_platform_kind xnx_platform(void)
{
	const struct xnx_platform_ops *p = ops();

	return p ? p->kind : (enum xnx_platform_kind)0;
}

const char *xnx_platform_name(void)
{
	const struct xnx_platform_ops *p = ops();

	return p ? p->name : "invalid";
}

int xnx_self_domid(void)
{
	const struct xnx_platform_ops *p = ops();

	return p ? p->self_domid() : -1;
}

/* ---- grant tables ---- */

xnx_gnttab *xnx_gnttab_open(void)
{
	const struct xnx_platform_ops *p = ops();

	return p ? p->gnttab_open() : NULL;
}

int xnx_gnttab_close(xnx_gnttab *h)
{
	return h ? h->ops->gnttab_close(h) : 0;
}

void *xnx_gnttab_map_grant_refs(xnx_gnttab *h, uint32_t count, uint32_t domid,
				const uint32_t *refs, int prot)
{
	return h->ops->map_grant_refs(h, count, domid, refs, prot);
}

void *xnx_gnttab_map_grant_ref(xnx_gnttab *h, uint32_t domid, uint32_t ref, int prot)
{
	return h->ops->map_grant_refs(h, 1, domid, &ref, prot);
}

int xnx_gnttab_unmap(xnx_gnttab *h, void *start, uint32_t count)
{
	return h->ops->unmap(h, start, count);
}

int xnx_gnttab_grant_copy(xnx_gnttab *h, uint32_t count,
			  xengnttab_grant_copy_segment_t *segs)
{
	return h->ops->grant_copy(h, count, segs);
}

/* ---- grant sharing ---- */

xnx_gntshr *xnx_gntshr_open(void)
{
	const struct xnx_platform_ops *p = ops();

	return p ? p->gntshr_open() : NULL;
}

int xnx_gntshr_close(xnx_gntshr *h)
{
	return h ? h->ops->gntshr_close(h) : 0;
}

void *xnx_gntshr_share_pages(xnx_gntshr *h, uint32_t domid, int count,
			     uint32_t *refs, int writable)
{
	return h->ops->share_pages(h, domid, count, refs, writable);
}

int xnx_gntshr_unshare(xnx_gntshr *h, void *start, uint32_t count)
{
	return h->ops->unshare(h, start, count);
}

/* ---- event channels ---- */

xnx_evtchn *xnx_evtchn_open(void)
{
	const struct xnx_platform_ops *p = ops();

	return p ? p->evtchn_open() : NULL;
}

int xnx_evtchn_close(xnx_evtchn *h)
{
	return h ? h->ops->evtchn_close(h) : 0;
}

int xnx_evtchn_fd(xnx_evtchn *h)
{
	return h->ops->evtchn_fd(h);
}

int xnx_evtchn_notify(xnx_evtchn *h, evtchn_port_t port)
{
	return h->ops->notify(h, port);
}

xenevtchn_port_or_error_t xnx_evtchn_bind_unbound_port(xnx_evtchn *h, uint32_t domid)
{
	return h->ops->bind_unbound_port(h, domid);
}

xenevtchn_port_or_error_t xnx_evtchn_bind_interdomain(xnx_evtchn *h, uint32_t domid,
						       evtchn_port_t remote_port)
{
	return h->ops->bind_interdomain(h, domid, remote_port);
}

int xnx_evtchn_unbind(xnx_evtchn *h, evtchn_port_t port)
{
	return h->ops->unbind(h, port);
}

xenevtchn_port_or_error_t xnx_evtchn_pending(xnx_evtchn *h)
{
	return h->ops->pending(h);
}

int xnx_evtchn_unmask(xnx_evtchn *h, evtchn_port_t port)
{
	return h->ops->unmask(h, port);
}

int xnx_evtchn_status(xnx_evtchn *h, evtchn_port_t port)
{
	return h->ops->status(h, port);
}
