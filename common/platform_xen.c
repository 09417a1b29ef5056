/*
 * platform_xen.c — the xen platform: a thin pass-through to libxengnttab,
 * libxenevtchn, libxenctrl (event-channel status) and libxenstore (own
 * domid). Without /dev/xen it fails at open with a message saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenctrl.h>
#include <xenstore.h>

#include "platform_ops.h"
#include "xnx_log.h"

#define XEN_PAGE 4096u

struct xen_gnttab {
	struct xnx_gnttab base;
	xengnttab_handle *xgt;
};

struct xen_gntshr {
	struct xnx_gntshr base;
	xengntshr_handle *xgs;
};

struct xen_evtchn {
	struct xnx_evtchn base;
	xenevtchn_handle *xce;
	xc_interface *xch;		/* opened on the first status call */
};

/* Fail early, with one clear line, when the device the library needs is not
 * there (no Xen). */
static int need_dev(const char *dev)
{
	if (access(dev, F_OK) == 0)
		return 0;
	int e = errno;
	xnx_err("platform xen: %s: %s (not a Xen domain? XNET_PLATFORM=sim "
		"selects the simulated hypervisor)", dev, strerror(e));
	errno = e;
	return -1;
}

static int xen_self_domid(void)
{
	struct xs_handle *xs;
	unsigned int len;
	char *v, *end;
	unsigned long id;

	if (need_dev("/dev/xen") < 0)
		return -1;
	xs = xs_open(0);
	if (!xs)
		return -1;
	v = xs_read(xs, XBT_NULL, "domid", &len);
	xs_close(xs);
	if (!v)
		return -1;
	errno = 0;
	id = strtoul(v, &end, 10);
	if (!*v || *end || errno || id >= DOMID_FIRST_RESERVED) {
		xnx_err("platform xen: xenstore key domid: bad value '%s'", v);
		free(v);
		errno = EINVAL;
		return -1;
	}
	free(v);
	return (int)id;
}

/* ---- grant tables ---- */

static xnx_gnttab *xen_gnttab_open(void)
{
	struct xen_gnttab *h;

	if (need_dev("/dev/xen/gntdev") < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_xen_ops;
	h->xgt = xengnttab_open(NULL, 0);
	if (!h->xgt) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	return &h->base;
}

static int xen_gnttab_close(xnx_gnttab *b)
{
	struct xen_gnttab *h = (struct xen_gnttab *)b;
	int rc = xengnttab_close(h->xgt);

	free(h);
	return rc;
}

static void *xen_map(xnx_gnttab *b, uint32_t count, uint32_t domid,
		     const uint32_t *refs, int prot)
{
	struct xen_gnttab *h = (struct xen_gnttab *)b;

	return xengnttab_map_domain_grant_refs(h->xgt, count, domid, (uint32_t *)refs, prot);
}

static int xen_unmap(xnx_gnttab *b, void *start, uint32_t count)
{
	return xengnttab_unmap(((struct xen_gnttab *)b)->xgt, start, count);
}

/* Linux's gntdev rejects a whole batch when a grant side runs past its page;
 * Xen reports that per segment as GNTST_bad_copy_arg. Report it per segment
 * here too, so both platforms answer alike. Returns 1 if SEG is bad. */
static int seg_bad(const xengnttab_grant_copy_segment_t *seg)
{
	if ((seg->flags & GNTCOPY_source_gref) &&
	    seg->source.foreign.offset + seg->len > XEN_PAGE)
		return 1;
	return (seg->flags & GNTCOPY_dest_gref) &&
	       seg->dest.foreign.offset + seg->len > XEN_PAGE;
}

static int copy_filtered(struct xen_gnttab *h, uint32_t count,
			 xengnttab_grant_copy_segment_t *segs)
{
	xengnttab_grant_copy_segment_t *ok = malloc(count * sizeof(*ok));
	uint32_t n = 0;
	int rc;

	if (!ok)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		if (seg_bad(&segs[i]))
			segs[i].status = GNTST_bad_copy_arg;
		else
			ok[n++] = segs[i];
	}
	rc = n ? xengnttab_grant_copy(h->xgt, n, ok) : 0;
	for (uint32_t i = 0, k = 0; rc == 0 && i < count; i++)
		if (!seg_bad(&segs[i]))
			segs[i].status = ok[k++].status;
	free(ok);
	return rc;
}

static int xen_grant_copy(xnx_gnttab *b, uint32_t count,
			  xengnttab_grant_copy_segment_t *segs)
{
	struct xen_gnttab *h = (struct xen_gnttab *)b;

	for (uint32_t i = 0; i < count; i++)
		if (seg_bad(&segs[i]))
			return copy_filtered(h, count, segs);
	return xengnttab_grant_copy(h->xgt, count, segs);
}

/* ---- grant sharing ---- */

static xnx_gntshr *xen_gntshr_open(void)
{
	struct xen_gntshr *h;

	if (need_dev("/dev/xen/gntalloc") < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_xen_ops;
	h->xgs = xengntshr_open(NULL, 0);
	if (!h->xgs) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	return &h->base;
}

static int xen_gntshr_close(xnx_gntshr *b)
{
	struct xen_gntshr *h = (struct xen_gntshr *)b;
	int rc = xengntshr_close(h->xgs);

	free(h);
	return rc;
}

static void *xen_share(xnx_gntshr *b, uint32_t domid, int count, uint32_t *refs,
		       int writable)
{
	return xengntshr_share_pages(((struct xen_gntshr *)b)->xgs, domid, count,
				     refs, writable);
}

static int xen_unshare(xnx_gntshr *b, void *start, uint32_t count)
{
	return xengntshr_unshare(((struct xen_gntshr *)b)->xgs, start, count);
}

/* ---- event channels ---- */

static xnx_evtchn *xen_evtchn_open(void)
{
	struct xen_evtchn *h;

	if (need_dev("/dev/xen/evtchn") < 0)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_xen_ops;
	h->xce = xenevtchn_open(NULL, 0);
	if (!h->xce) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	/* The evtchn device blocks in read() by default; our pending() must
	 * never block (a drain loop reads until EAGAIN). */
	int fd = xenevtchn_fd(h->xce);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		int e = errno;
		xenevtchn_close(h->xce);
		free(h);
		errno = e;
		return NULL;
	}
	return &h->base;
}

static int xen_evtchn_close(xnx_evtchn *b)
{
	struct xen_evtchn *h = (struct xen_evtchn *)b;
	int rc = xenevtchn_close(h->xce);

	if (h->xch)
		xc_interface_close(h->xch);
	free(h);
	return rc;
}

#define XCE(b) (((struct xen_evtchn *)(b))->xce)

static int xen_evtchn_fd(xnx_evtchn *b) { return xenevtchn_fd(XCE(b)); }

static int xen_notify(xnx_evtchn *b, evtchn_port_t port)
{
	return xenevtchn_notify(XCE(b), port);
}

static xenevtchn_port_or_error_t xen_bind_unbound(xnx_evtchn *b, uint32_t domid)
{
	return xenevtchn_bind_unbound_port(XCE(b), domid);
}

static xenevtchn_port_or_error_t xen_bind_interdomain(xnx_evtchn *b, uint32_t domid,
						      evtchn_port_t remote_port)
{
	return xenevtchn_bind_interdomain(XCE(b), domid, remote_port);
}

static int xen_unbind(xnx_evtchn *b, evtchn_port_t port)
{
	return xenevtchn_unbind(XCE(b), port);
}

static xenevtchn_port_or_error_t xen_pending(xnx_evtchn *b)
{
	return xenevtchn_pending(XCE(b));
}

static int xen_unmask(xnx_evtchn *b, evtchn_port_t port)
{
	return xenevtchn_unmask(XCE(b), port);
}

static int xen_status(xnx_evtchn *b, evtchn_port_t port)
{
	struct xen_evtchn *h = (struct xen_evtchn *)b;
	xc_evtchn_status_t st = { .dom = DOMID_SELF, .port = port };

	if (!h->xch) {
		h->xch = xc_interface_open(NULL, NULL, 0);
		if (!h->xch)
			return -1;
	}
	if (xc_evtchn_status(h->xch, &st) < 0)
		return -1;
	return st.status;
}

const struct xnx_platform_ops xnx_platform_xen_ops = {
	.kind = XNX_PLATFORM_XEN,
	.name = "xen",
	.self_domid = xen_self_domid,
	.gnttab_open = xen_gnttab_open,
	.gnttab_close = xen_gnttab_close,
	.map_grant_refs = xen_map,
	.unmap = xen_unmap,
	.grant_copy = xen_grant_copy,
	.gntshr_open = xen_gntshr_open,
	.gntshr_close = xen_gntshr_close,
	.share_pages = xen_share,
	.unshare = xen_unshare,
	.evtchn_open = xen_evtchn_open,
	.evtchn_close = xen_evtchn_close,
	.evtchn_fd = xen_evtchn_fd,
	.notify = xen_notify,
	.bind_unbound_port = xen_bind_unbound,
	.bind_interdomain = xen_bind_interdomain,
	.unbind = xen_unbind,
	.pending = xen_pending,
	.unmask = xen_unmask,
	.status = xen_status,
};
