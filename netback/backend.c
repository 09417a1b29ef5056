/*
 * backend.c — the xnetback daemon core: one epoll loop over xenstore
 * watches, the control rings' event channels and the stats socket. Each
 * connected queue is served by a worker thread of its own (worker.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "xnb_vif.h"
#include "xnx_log.h"

#define MAX_EVENTS 64

struct xnb_vif *xnb_backend_find(struct xnb_backend *be, uint32_t domid, uint32_t devid)
{
	for (struct xnb_vif *v = be->vifs; v; v = v->next)
		if (v->domid == domid && v->devid == devid && !v->dead)
			return v;
	return NULL;
}

/* ---- xenstore watches ------------------------------------------------------- */

/* While one vif is served, every line logged starts with its backend path
 * (lines that already name it are not prefixed twice). */
static void vif_event(struct xnb_backend *be, uint32_t domid, uint32_t devid)
{
	xnx_log_ctx_set("%s/%u/%u", be->root, domid, devid);
	xnb_xenbus_backend_event(be, domid, devid);
	xnx_log_ctx_clear();
}

/* Look at every device under the backend root (start-up, or the root
 * itself changed). */
static void scan_all(struct xnb_backend *be)
{
	unsigned int ndom = 0;
	char **doms = xs_directory(be->xs, XBT_NULL, be->root, &ndom);

	for (unsigned i = 0; doms && i < ndom; i++) {
		char dir[160], rel[64];
		unsigned int ndev = 0;
		char **devs;

		snprintf(dir, sizeof(dir), "%s/%s", be->root, doms[i]);
		devs = xs_directory(be->xs, XBT_NULL, dir, &ndev);
		for (unsigned j = 0; devs && j < ndev; j++) {
			uint32_t domid, devid;

			snprintf(rel, sizeof(rel), "%s/%s", doms[i], devs[j]);
			if (xnb_parse_dev_path(rel, &domid, &devid) == 0)
				vif_event(be, domid, devid);
		}
		free(devs);
	}
	free(doms);
	/* Devices whose directory vanished with a whole domain subtree. */
	for (struct xnb_vif *v = be->vifs; v; v = v->next)
		if (!v->dead)
			vif_event(be, v->domid, v->devid);
}

/* Note that device (DOMID, DEVID) changed. A toolstack writes a dozen keys
 * at once and so do we: each fires the watch, and looking at the device
 * once per batch instead of once per key saves a dozen xenstore round
 * trips a key (what we look at is read then, not taken from the event). */
static void mark(struct xnb_backend *be, uint32_t domid, uint32_t devid)
{
	for (unsigned i = 0; i < be->npending; i++)
		if (be->pending[i].domid == domid && be->pending[i].devid == devid)
			return;
	if (be->npending == XNB_MAX_PENDING) {
		be->rescan = true;
		return;
	}
	be->pending[be->npending++] = (struct xnb_pending){ domid, devid };
}

static void root_watch_cb(const char *path, void *arg)
{
	struct xnb_backend *be = arg;
	size_t n = strlen(be->root);
	uint32_t domid, devid;

	if (strncmp(path, be->root, n) != 0)
		return;
	if (path[n] == '/' && xnb_parse_dev_path(path + n + 1, &domid, &devid) == 0)
		mark(be, domid, devid);
	else
		be->rescan = true;
}

/* Look at each device the last batch of watch events named, once. */
static void run_pending(struct xnb_backend *be)
{
	struct xnb_pending p[XNB_MAX_PENDING];
	unsigned n = be->npending;

	be->npending = 0;
	if (be->rescan) {
		be->rescan = false;
		scan_all(be);
		return;
	}
	memcpy(p, be->pending, n * sizeof(p[0]));
	for (unsigned i = 0; i < n; i++)
		vif_event(be, p[i].domid, p[i].devid);
}

static void release_watch_cb(const char *path, void *arg)
{
	struct xnb_backend *be = arg;

	for (struct xnb_vif *v = be->vifs; v; v = v->next) {
		xnx_log_ctx_set("%s", v->path);
		xnb_xenbus_release_check(v);
	}
	xnx_log_ctx_clear();
}

/* ---- event channels ---------------------------------------------------------- */

/* Drain pending ports: the control rings' (each queue's worker has its
 * own handle). Unmask first: a kick that lands while we work raises the
 * port again, and every control ring is looked at this turn anyway. */
static void evtchn_ready(struct xnb_backend *be)
{
	xenevtchn_port_or_error_t p;

	while ((p = xnx_evtchn_pending(be->evt)) >= 0)
		xnx_evtchn_unmask(be->evt, (evtchn_port_t)p);
}

static void dispatch(struct xnb_backend *be, const struct epoll_event *ev)
{
	struct xnb_ep *ep = ev->data.ptr;

	switch (ep->kind) {
	case XNB_EP_XS:
		if (xnx_xs_dispatch(be->watches) < 0)
			xnx_warn("xenstore watch dispatch: %s", strerror(errno));
		run_pending(be);
		break;
	case XNB_EP_EVTCHN:
		evtchn_ready(be);
		break;
	case XNB_EP_WAKE:
		xnb_backend_woken(be);	/* a worker's queue broke: run_vifs sees it */
		break;
	case XNB_EP_TAP:
		break;		/* the queues' workers watch their TAPs */
	case XNB_EP_STATS:
		xnb_stats_sock_event(be, ep, ev->events);
		break;
	case XNB_EP_LINK:
		xnb_rename_event(be);
		break;
	}
}

/* ---- the loop ------------------------------------------------------------------ */

/* Run every vif's pending work once. Returns the epoll timeout to use. */
static int run_vifs(struct xnb_backend *be)
{
	int timeout = -1;

	for (struct xnb_vif *v = be->vifs; v; v = v->next) {
		enum xnb_work w;

		if (v->dead || !v->connected)
			continue;
		xnx_log_ctx_set("%s", v->path);
		w = xnb_vif_run(v);
		if (w == XNB_BROKEN)
			xnb_xenbus_fatal(v, "%s", v->broken);
		xnx_log_ctx_clear();
		if (w == XNB_BROKEN)
			continue;
		if (w == XNB_MORE)
			timeout = 0;
	}
	return timeout;
}

static void reap(struct xnb_backend *be)
{
	for (struct xnb_vif **p = &be->vifs; *p;) {
		struct xnb_vif *v = *p;

		if (v->dead) {
			*p = v->next;
			xnb_vif_free(v);
		} else {
			p = &v->next;
		}
	}
}

int xnb_backend_run(struct xnb_backend *be)
{
	struct epoll_event evs[MAX_EVENTS];
	int timeout = 0;

	while (!be->stop) {
		int n = epoll_wait(be->epfd, evs, MAX_EVENTS, timeout);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			dispatch(be, &evs[i]);
		timeout = run_vifs(be);
		reap(be);
	}
	return 0;
}

/* ---- open / close -------------------------------------------------------------- */

static int add_fd(struct xnb_backend *be, int fd, struct xnb_ep *ep, enum xnb_ep_kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ep };

	ep->kind = kind;
	ep->vq = NULL;
	return epoll_ctl(be->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int xnb_backend_open(struct xnb_backend *be)
{
	int domid, rc;

	memset(be, 0, sizeof(*be));
	be->epfd = be->wake_fd = -1;
	domid = xnx_self_domid();
	if (domid < 0) {
		xnx_err("cannot tell our own domain id: %s", strerror(errno));
		return -errno;
	}
	be->self = (unsigned)domid;
	snprintf(be->root, sizeof(be->root), "/local/domain/%u/backend/vif", be->self);
	be->xs = xnx_xs_open();
	if (!be->xs) {
		xnx_err("opening xenstore: %s", strerror(errno));
		return -errno;
	}
	be->gnt = xnx_gnttab_open();
	be->evt = xnx_evtchn_open();
	be->watches = xnx_xs_watches_new(be->xs);
	be->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!be->gnt || !be->evt || !be->watches || be->epfd < 0) {
		rc = -errno;
		xnx_err("opening grant table / event channels: %s", strerror(errno));
		xnb_backend_close(be);
		return rc ? rc : -ENOMEM;
	}
	rc = xnb_workers_open(be);
	if (rc == 0)
		rc = add_fd(be, xs_fileno(be->xs), &be->xs_ep, XNB_EP_XS);
	if (rc == 0)
		rc = add_fd(be, xnx_evtchn_fd(be->evt), &be->evt_ep, XNB_EP_EVTCHN);
	if (rc == 0)
		rc = xnx_xs_watch_add(be->watches, be->root, root_watch_cb, be);
	if (rc == 0)
		rc = xnx_xs_watch_add(be->watches, "@releaseDomain", release_watch_cb, be);
	if (rc < 0) {
		xnx_err("setting up the event loop: %s", strerror(-rc));
		xnb_backend_close(be);
		return rc;
	}
	rc = xnb_rename_open(be);
	if (rc < 0)
		xnx_warn("cannot watch links (renames of vifs not followed): %s",
			 strerror(-rc));
	xnx_info("serving %s on the %s platform", be->root, xnx_platform_name());
	return 0;
}

void xnb_backend_close(struct xnb_backend *be)
{
	for (struct xnb_vif *v = be->vifs; v; v = v->next)
		if (!v->dead) {
			xnx_log_ctx_set("%s", v->path);
			xnb_xenbus_shutdown(v);
		}
	xnx_log_ctx_clear();
	for (struct xnb_vif *v = be->vifs; v; v = v->next)
		v->dead = true;
	reap(be);
	xnb_workers_close(be);
	xnb_rename_close(be);
	if (be->watches)
		xnx_xs_watches_free(be->watches);
	if (be->epfd >= 0)
		close(be->epfd);
	if (be->evt)
		xnx_evtchn_close(be->evt);
	if (be->gnt)
		xnx_gnttab_close(be->gnt);
	if (be->xs)
		xs_close(be->xs);
	memset(be, 0, sizeof(*be));
	be->epfd = be->wake_fd = -1;
}
