/*
 * link_watch.c — the link watcher: an RTNLGRP_LINK subscription that
 * reports links appearing, being renamed and going away.
 *
 * The watcher keeps a view (link id → name) of its namespace. A kernel
 * message only says "look at link N": the watcher then asks the kernel what
 * link N is now and reports how that differs from its view. Stale, repeated
 * or reordered messages therefore never produce a false change, and if the
 * socket overflows (messages lost) a fresh dump puts the view right.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "xnx_link.h"

#define RECV_BUF 32768
#define WATCH_BUDGET 64	/* datagrams per dispatch call */
#define DRAIN_BUDGET 4096	/* stale datagrams dropped after an overflow */

struct entry {
	unsigned id;
	char name[XNX_LINK_NAME_MAX];
};

/* Links sorted by id. */
struct view {
	struct entry *links;
	size_t n, cap;
};

struct xnx_link_watch {
	struct xnx_link_nl *events;	/* subscribed, non-blocking */
	struct xnx_link_nl *query;	/* asks about one link at a time */
	struct view view;
	bool stale;			/* the view may have missed changes */
	char *buf;
};

/* The index of ID in V, or where it would go; *FOUND says which. */
static size_t view_find(const struct view *v, unsigned id, bool *found)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->links[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < v->n && v->links[lo].id == id;
	return lo;
}

static int view_insert(struct view *v, size_t at, unsigned id, const char *name)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 32;
		struct entry *more = reallocarray(v->links, cap, sizeof(*more));

		if (!more)
			return -ENOMEM;
		v->links = more;
		v->cap = cap;
	}
	memmove(&v->links[at + 1], &v->links[at], (v->n - at) * sizeof(*v->links));
	v->links[at].id = id;
	memcpy(v->links[at].name, name, XNX_LINK_NAME_MAX);
	v->n++;
	return 0;
}

static void view_remove(struct view *v, size_t at)
{
	memmove(&v->links[at], &v->links[at + 1], (v->n - at - 1) * sizeof(*v->links));
	v->n--;
}

static void report(xnx_link_event_fn fn, void *arg, enum xnx_link_change change,
		   unsigned id, const char *name, const char *old_name)
{
	struct xnx_link_event ev = { .change = change, .id = id };

	memcpy(ev.name, name, XNX_LINK_NAME_MAX);
	if (old_name)
		memcpy(ev.old_name, old_name, XNX_LINK_NAME_MAX);
	fn(&ev, arg);
}

/* Bring the view of link ID in line with the kernel; returns the number of
 * changes reported or -errno. */
static int reconcile(struct xnx_link_watch *w, unsigned id,
		     xnx_link_event_fn fn, void *arg)
{
	struct xnx_link_info info;
	bool known;
	size_t at = view_find(&w->view, id, &known);
	struct entry *e = known ? &w->view.links[at] : NULL;
	int err = xnx_link_nl_get(w->query, id, NULL, &info);

	if (err == -ENODEV) {
		if (!known)
			return 0;
		report(fn, arg, XNX_LINK_DELETED, id, e->name, NULL);
		view_remove(&w->view, at);
		return 1;
	}
	if (err < 0)
		return err;
	if (!known) {
		if ((err = view_insert(&w->view, at, id, info.name)) < 0)
			return err;
		report(fn, arg, XNX_LINK_NEW, id, info.name, NULL);
		return 1;
	}
	if (strcmp(e->name, info.name) == 0)
		return 0;
	report(fn, arg, XNX_LINK_RENAMED, id, info.name, e->name);
	memcpy(e->name, info.name, XNX_LINK_NAME_MAX);
	return 1;
}

/* Collects a dump into a view. */
static int collect(const struct xnx_link_info *info, void *arg)
{
	struct view *v = arg;
	bool found;
	size_t at = view_find(v, info->id, &found);

	return found ? 0 : view_insert(v, at, info->id, info->name);
}

/* Report the differences between the old view OLD and NOW (both sorted by
 * id); returns how many. */
static int diff(const struct view *old, const struct view *now,
		xnx_link_event_fn fn, void *arg)
{
	size_t i = 0, j = 0;
	int count = 0;

	while (i < old->n || j < now->n) {
		const struct entry *o = i < old->n ? &old->links[i] : NULL;
		const struct entry *n = j < now->n ? &now->links[j] : NULL;

		if (o && (!n || o->id < n->id)) {
			report(fn, arg, XNX_LINK_DELETED, o->id, o->name, NULL);
			count++, i++;
		} else if (!o || n->id < o->id) {
			report(fn, arg, XNX_LINK_NEW, n->id, n->name, NULL);
			count++, j++;
		} else {
			if (strcmp(o->name, n->name) != 0) {
				report(fn, arg, XNX_LINK_RENAMED, n->id, n->name, o->name);
				count++;
			}
			i++, j++;
		}
	}
	return count;
}

static void ignore(const struct xnx_link_event *ev, void *arg)
{
}

int xnx_link_watch_resync(struct xnx_link_watch *w, xnx_link_event_fn fn, void *arg)
{
	struct view now = { NULL, 0, 0 };
	int err = xnx_link_nl_dump(w->query, collect, &now);

	if (err < 0) {
		free(now.links);
		w->stale = true;
		return err;
	}
	err = diff(&w->view, &now, fn ? fn : ignore, arg);
	free(w->view.links);
	w->view = now;
	w->stale = false;
	return err;
}

int xnx_link_watch_open(const char *netns, struct xnx_link_watch **out)
{
	struct xnx_link_watch *w = calloc(1, sizeof(*w));
	int group = RTNLGRP_LINK, fd, err;

	if (!w || !(w->buf = malloc(RECV_BUF))) {
		err = -ENOMEM;
		goto err_alloc;
	}
	if ((err = xnx_link_nl_open(netns, &w->events)) < 0)
		goto err_alloc;
	if ((err = xnx_link_nl_open(netns, &w->query)) < 0)
		goto err_query;
	fd = xnx_link_nl_fd(w->events);
	/* Subscribe before the first dump, so no change falls in between. */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = -errno;
		goto err_sub;
	}
	if ((err = xnx_link_watch_resync(w, NULL, NULL)) < 0)
		goto err_sub;
	*out = w;
	return 0;

err_sub:
	xnx_link_nl_close(w->query);
err_query:
	xnx_link_nl_close(w->events);
err_alloc:
	if (w)
		free(w->buf);
	free(w);
	return err;
}

void xnx_link_watch_close(struct xnx_link_watch *w)
{
	if (!w)
		return;
	xnx_link_nl_close(w->events);
	xnx_link_nl_close(w->query);
	free(w->view.links);
	free(w->buf);
	free(w);
}

int xnx_link_watch_fd(const struct xnx_link_watch *w)
{
	return xnx_link_nl_fd(w->events);
}

/* One datagram's worth of messages, while it is being handled. */
struct batch {
	struct xnx_link_watch *w;
	xnx_link_event_fn fn;
	void *arg;
	int count, err;
};

static int message_cb(const struct nlmsghdr *nlh, void *data)
{
	struct batch *b = data;
	const struct ifinfomsg *ifi;
	int ret;

	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_index <= 0)
		return MNL_CB_OK;
	/* Whatever the message says, the kernel's present answer decides. */
	ret = reconcile(b->w, (unsigned)ifi->ifi_index, b->fn, b->arg);
	if (ret < 0) {
		b->err = ret;
		return MNL_CB_ERROR;
	}
	b->count += ret;
	return MNL_CB_OK;
}

/* Messages were lost: what is still queued is older than the dump about to
 * be taken, so drop it, then take the dump. */
static int overflow(struct xnx_link_watch *w, xnx_link_event_fn fn, void *arg)
{
	int fd = xnx_link_watch_fd(w);

	/* Bounded: under a flood, what is left is merely re-checked later
	 * (reconcile is idempotent). */
	for (int i = 0; i < DRAIN_BUDGET; i++)
		if (recv(fd, w->buf, RECV_BUF, MSG_DONTWAIT | MSG_TRUNC) < 0 &&
		    errno != ENOBUFS && errno != EINTR)
			break;
	return xnx_link_watch_resync(w, fn, arg);
}

int xnx_link_watch_dispatch(struct xnx_link_watch *w, xnx_link_event_fn fn, void *arg)
{
	struct batch b = { .w = w, .fn = fn, .arg = arg };
	int fd = xnx_link_watch_fd(w);

	if (w->stale)
		return overflow(w, fn, arg);
	for (int i = 0; i < WATCH_BUDGET; i++) {
		ssize_t n = recv(fd, w->buf, RECV_BUF, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if ((n < 0 && errno == ENOBUFS) || n > RECV_BUF) {
			int ret = overflow(w, fn, arg);

			return ret < 0 ? ret : b.count + ret;
		}
		if (n < 0)
			return -errno;
		if (mnl_cb_run(w->buf, (size_t)n, 0, 0, message_cb, &b) < 0 && b.err) {
			/* A change may be lost with this error: look again next time. */
			w->stale = true;
			return b.err;
		}
	}
	return b.count;
}
