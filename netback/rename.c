/*
 * rename.c — xnetback follows renames of its own interfaces: a link watch
 * (xnx_link_watch_*) in the backend's loop reports every link that appears
 * or changes name; when it is one of our TAPs, the vif's name is updated and
 * `vifname` / `vif-linkid` in its backend directory say where it is now.
 *
 * Renames come from hotplug scripts (Xen's rename to `vifname`) and from
 * administrators (`ip link set vifX name Y`) while the guest runs; the
 * data path holds the TAP by descriptor and never notices. What must not go
 * stale is what others read: the name in xenstore and in our logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "xnb_vif.h"
#include "xnx_link.h"
#include "xnx_log.h"
#include "xnx_xs.h"

struct xnb_rename {
	struct xnx_link_watch *w;
	struct xnb_ep ep;
};

struct record {
	const char *path;
	const char *name;	/* NULL: the link id only */
	unsigned id;
};

/* Write vifname and vif-linkid, unless the directory has gone (teardown):
 * never recreate it. */
static int record_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct record *r = arg;
	char *dir = xnx_xs_read(xs, t, r->path, NULL);
	int rc = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	free(dir);
	if (r->name)
		rc = xnx_xs_printf(xs, t, r->path, "vifname", "%s", r->name);
	if (rc == 0)
		rc = xnx_xs_printf(xs, t, r->path, "vif-linkid", "%u", r->id);
	return rc;
}

static int record(struct xnb_vif *vif, const char *name)
{
	struct record r = { vif->path, name, (unsigned)vif->tap.ifindex };
	int rc;

	if (vif->tap.ifindex <= 0)
		return -ENODEV;
	rc = xnx_xs_transact(vif->be->xs, record_txn, &r);
	if (rc < 0)
		xnx_warn("%s: cannot record vifname %s / vif-linkid %u: %s", vif->path,
			 name ? name : "(unchanged)", r.id, strerror(-rc));
	return rc;
}

int xnb_rename_record(struct xnb_vif *vif)
{
	return record(vif, vif->tap.name);
}

int xnb_rename_record_linkid(struct xnb_vif *vif)
{
	return record(vif, NULL);
}

static struct xnb_vif *by_linkid(struct xnb_backend *be, unsigned id)
{
	for (struct xnb_vif *v = be->vifs; v; v = v->next)
		if (!v->dead && v->tap.ifindex > 0 && (unsigned)v->tap.ifindex == id)
			return v;
	return NULL;
}

/* One link event: NEW and RENAMED both carry the name the link has now. */
static void on_link(const struct xnx_link_event *ev, void *arg)
{
	struct xnb_backend *be = arg;
	struct xnb_vif *vif;

	if (ev->change == XNX_LINK_DELETED)
		return;		/* the vif's own teardown deals with that */
	vif = by_linkid(be, ev->id);
	if (!vif || !strcmp(vif->tap.name, ev->name))
		return;
	xnx_info("%s: interface %s is now %s (link id %u)", vif->path, vif->tap.name,
		 ev->name, ev->id);
	snprintf(vif->tap.name, sizeof(vif->tap.name), "%s", ev->name);
	xnb_rename_record(vif);
}

void xnb_rename_event(struct xnb_backend *be)
{
	int n;

	if (!be->rename)
		return;
	n = xnx_link_watch_dispatch(be->rename->w, on_link, be);
	if (n < 0)
		xnx_warn("link watch: %s", strerror(-n));
}

int xnb_rename_open(struct xnb_backend *be)
{
	struct xnb_rename *r = calloc(1, sizeof(*r));
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (!r)
		return -ENOMEM;
	rc = xnx_link_watch_open(NULL, &r->w);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->ep.kind = XNB_EP_LINK;
	ev.data.ptr = &r->ep;
	if (epoll_ctl(be->epfd, EPOLL_CTL_ADD, xnx_link_watch_fd(r->w), &ev) < 0) {
		rc = -errno;
		xnx_link_watch_close(r->w);
		free(r);
		return rc;
	}
	be->rename = r;
	return 0;
}

void xnb_rename_close(struct xnb_backend *be)
{
	if (!be->rename)
		return;
	if (be->epfd >= 0)
		epoll_ctl(be->epfd, EPOLL_CTL_DEL, xnx_link_watch_fd(be->rename->w), NULL);
	xnx_link_watch_close(be->rename->w);
	free(be->rename);
	be->rename = NULL;
}
