/*
 * hyp_evt.c — event channels in xnet-simd: per-domain port tables, binding
 * (alloc unbound, bind interdomain), closing (the other end drops to
 * _unbound and is raised), and telling a notifier how to wake the other
 * end. Notifications themselves never pass through here: each handle has
 * a wake-up pipe, and a notifier writes into the peer handle's pipe
 * through a writing end of its own (xnx_simproto.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xen/event_channel.h>

#include "hyp_priv.h"

#define LINGER_TICKS 2		/* a closed handle's pipe stays read 1-2 ticks */

struct hyp_linger {
	int fd;
	int ticks;
};

/* Wake the process of handle C: one byte into its pipe. Never blocks (our
 * own writing end is non-blocking, whatever others do to theirs); a full
 * pipe is readable anyway. */
static void wake(const struct hyp_conn *c)
{
	if (c->wake_w >= 0 && write(c->wake_w, "!", 1) < 0 && errno != EAGAIN)
		xnx_debug("evtchn: wake-up: %s", strerror(errno));
}

/* A fresh open file description of pipe end FD: its flags are its
 * holder's alone, so nobody can make another's reads or writes block. */
static int reopen(int fd, int flags)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
	return nfd < 0 ? -errno : nfd;
}

/* C's wake-up pipe, made on first use. */
static int wake_pipe(struct hyp_conn *c)
{
	int p[2];

	if (c->wake_w >= 0)
		return 0;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* One page holds 4096 wake-ups; a full pipe only fails writes that
	 * would not add a wake-up anyway. */
	fcntl(p[0], F_SETPIPE_SZ, XNX_SIM_PAGE_SIZE);
	c->wake_w = p[1];
	c->wake_r = p[0];
	return 0;
}

static void linger_add(struct sim_hyp *h, int fd)
{
	if (h->nlinger == h->linger_cap) {
		uint32_t cap = h->linger_cap ? 2 * h->linger_cap : 16;
		struct hyp_linger *n = realloc(h->linger, cap * sizeof(*n));

		if (!n) {
			close(fd);	/* a notifier may get EPIPE: better than a leak */
			return;
		}
		h->linger = n;
		h->linger_cap = cap;
	}
	h->linger[h->nlinger++] = (struct hyp_linger){ .fd = fd, .ticks = LINGER_TICKS };
}

void hyp_evt_conn_gone(struct hyp_conn *c)
{
	if (c->wake_w < 0)
		return;
	close(c->wake_w);
	/* A peer that looked at its port's generation just before we bumped
	 * it may still write: keep a reader until it has seen the change. */
	linger_add(c->hyp, c->wake_r);
	c->wake_w = c->wake_r = -1;
}

void hyp_evt_tick(struct sim_hyp *h, bool all)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < h->nlinger; i++) {
		if (all || --h->linger[i].ticks <= 0)
			close(h->linger[i].fd);
		else
			h->linger[kept++] = h->linger[i];
	}
	h->nlinger = kept;
}

static struct hyp_chan *chan_new(void)
{
	struct hyp_chan *ch = calloc(1, sizeof(*ch));
	void *page;

	if (!ch)
		return NULL;
	ch->fd = memfd_create("xnet-evtchn", MFD_CLOEXEC);
	if (ch->fd < 0 || ftruncate(ch->fd, XNX_SIMCHAN_SIZE) < 0)
		goto err;
	page = mmap(NULL, XNX_SIMCHAN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ch->fd, 0);
	if (page == MAP_FAILED)
		goto err;
	ch->page = page;
	return ch;
err:
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
	return NULL;
}

static void chan_free(struct hyp_chan *ch)
{
	munmap(ch->page, XNX_SIMCHAN_SIZE);
	close(ch->fd);
	free(ch);
}

/* Tell the handles of D that PORT's binding or status changed. Release:
 * the change is in place before a handle sees the new gen and asks (a
 * notifier for the peer, a status cache for the status). */
static void port_bump(struct hyp_dom *d, uint32_t port)
{
	__atomic_add_fetch(&d->port_gen[port], 1, __ATOMIC_RELEASE);
}

/* The same for both ends of a channel. */
static void chan_bump(struct sim_hyp *h, struct hyp_chan *ch)
{
	for (unsigned k = 0; k < 2; k++) {
		struct hyp_dom *d = ch->ends[k].used ? hyp_dom_get(h, ch->ends[k].dom) : NULL;

		if (d)
			port_bump(d, ch->ends[k].port);
	}
}

/* Set PORT of D pending and wake its handle, as a peer's notify would. */
static void port_raise(struct hyp_dom *d, uint32_t port)
{
	struct hyp_port *p = &d->ports[port];
	typeof(p->chan->page->end[0]) *e = &p->chan->page->end[p->end];

	if (!__atomic_exchange_n(&e->pending, 1, __ATOMIC_SEQ_CST) &&
	    !__atomic_load_n(&e->mask, __ATOMIC_SEQ_CST))
		wake(p->conn);
}

static int port_alloc(struct hyp_dom *d)
{
	uint32_t max = hyp_privileged(d) ? XNX_SIM_MAX_PORTS : XNX_SIM_MAX_PORTS_GUEST;

	for (uint32_t p = 1; p < max; p++)
		if (d->ports[p].state == EVTCHNSTAT_closed)
			return (int)p;
	return -ENOSPC;
}

/* A port of C's domain, bound through C. */
static struct hyp_port *own_port(struct hyp_conn *c, uint32_t port)
{
	struct hyp_port *p;

	if (port == 0 || port >= XNX_SIM_MAX_PORTS)
		return NULL;
	p = &c->dom->ports[port];
	return p->state != EVTCHNSTAT_closed && p->conn == c ? p : NULL;
}

static void close_port(struct hyp_dom *d, uint32_t port)
{
	struct hyp_port *p = &d->ports[port];
	struct hyp_chan *ch = p->chan;
	struct hyp_dom *rd = NULL;
	uint32_t rport = 0;

	if (p->state == EVTCHNSTAT_interdomain) {
		rd = hyp_dom_get(d->hyp, p->remote_dom);
		XNX_BUG_ON(!rd);
		rport = p->remote_port;
		rd->ports[rport].state = EVTCHNSTAT_unbound;
		rd->ports[rport].remote_port = 0;
	}
	ch->ends[p->end].used = false;
	memset(p, 0, sizeof(*p));
	/* The port itself is closed now, also when someone else closed it
	 * (its domain destroyed): a cached status of it must go. */
	port_bump(d, port);
	if (!ch->ends[0].used && !ch->ends[1].used) {
		chan_free(ch);
		return;
	}
	chan_bump(d->hyp, ch);
	/* The survivor wakes and finds its port _unbound. */
	if (rd)
		port_raise(rd, rport);
}

void hyp_evt_close_ports(struct hyp_dom *d, struct hyp_conn *c)
{
	for (uint32_t port = 1; port < XNX_SIM_MAX_PORTS; port++) {
		struct hyp_port *p = &d->ports[port];

		if (p->state != EVTCHNSTAT_closed && (!c || p->conn == c))
			close_port(d, port);
	}
}

int hyp_evt_open(struct hyp_conn *c, const struct xnx_simproto_req *req,
		 struct hyp_rsp *rsp)
{
	int rc = wake_pipe(c), r = -1, w = -1;

	if (rc == 0 && (r = reopen(c->wake_r, O_RDONLY)) < 0)
		rc = r;
	if (rc == 0 && (w = reopen(c->wake_w, O_WRONLY)) < 0)
		rc = w;
	if (rc < 0) {
		if (r >= 0)
			close(r);
		return rc;
	}
	rsp->fds[0] = c->dom->gens_ro_fd;
	rsp->fds[1] = rsp->tmp_fd[0] = r;
	rsp->fds[2] = rsp->tmp_fd[1] = w;
	rsp->nfds = 3;
	return 0;
}

static void bound_rsp(struct hyp_rsp *rsp, uint32_t port, const struct hyp_port *p)
{
	rsp->r->val[0] = port;
	rsp->r->val[1] = p->end;
	rsp->fds[0] = p->chan->fd;
	rsp->nfds = 1;
}

static uint32_t remote_id(const struct hyp_conn *c, uint32_t domid)
{
	return domid == DOMID_SELF ? c->dom->domid : domid;
}

int hyp_evt_alloc_unbound(struct hyp_conn *c, const struct xnx_simproto_req *req,
			  struct hyp_rsp *rsp)
{
	struct hyp_dom *d = c->dom, *rd = hyp_dom_get(c->hyp, remote_id(c, req->arg[0]));
	struct hyp_chan *ch;
	int port, rc;

	if (!rd)
		return -ESRCH;
	port = port_alloc(d);
	if (port < 0)
		return port;
	rc = wake_pipe(c);
	if (rc < 0)
		return rc;
	ch = chan_new();
	if (!ch)
		return -ENOMEM;
	ch->ends[0].used = true;
	ch->ends[0].dom = d->domid;
	ch->ends[0].port = (uint32_t)port;
	d->ports[port] = (struct hyp_port){ .state = EVTCHNSTAT_unbound, .end = 0,
					    .remote_dom = rd->domid, .conn = c, .chan = ch };
	port_bump(d, (uint32_t)port);
	bound_rsp(rsp, (uint32_t)port, &d->ports[port]);
	return 0;
}

int hyp_evt_bind_interdomain(struct hyp_conn *c, const struct xnx_simproto_req *req,
			     struct hyp_rsp *rsp)
{
	struct hyp_dom *d = c->dom, *rd = hyp_dom_get(c->hyp, remote_id(c, req->arg[0]));
	uint32_t rport = req->arg[1];
	struct hyp_port *rp;
	struct hyp_chan *ch;
	unsigned end;
	int port, rc;

	if (!rd)
		return -ESRCH;
	/* As Xen: the remote port must wait, unbound, for this domain. */
	if (rport == 0 || rport >= XNX_SIM_MAX_PORTS)
		return -EINVAL;
	rp = &rd->ports[rport];
	if (rp->state != EVTCHNSTAT_unbound || rp->remote_dom != d->domid)
		return -EINVAL;
	port = port_alloc(d);
	if (port < 0)
		return port;
	rc = wake_pipe(c);
	if (rc < 0)
		return rc;
	ch = rp->chan;
	end = 1 - rp->end;
	XNX_BUG_ON(ch->ends[end].used);
	ch->page->end[end].pending = 0;
	ch->page->end[end].mask = 0;
	ch->ends[end].used = true;
	ch->ends[end].dom = d->domid;
	ch->ends[end].port = (uint32_t)port;
	d->ports[port] = (struct hyp_port){ .state = EVTCHNSTAT_interdomain, .end = (uint8_t)end,
					    .remote_dom = rd->domid, .remote_port = rport,
					    .conn = c, .chan = ch };
	rp->state = EVTCHNSTAT_interdomain;
	rp->remote_port = (uint32_t)port;
	chan_bump(d->hyp, ch);
	/* Xen raises the new local port: notifications sent to the unbound
	 * remote port before the bind would otherwise be lost. */
	port_raise(d, (uint32_t)port);
	bound_rsp(rsp, (uint32_t)port, &d->ports[port]);
	return 0;
}

int hyp_evt_peer(struct hyp_conn *c, const struct xnx_simproto_req *req,
		 struct hyp_rsp *rsp)
{
	struct hyp_port *p = own_port(c, req->arg[0]);

	if (!p)
		return -EINVAL;
	rsp->r->val[0] = c->dom->port_gen[req->arg[0]];
	if (p->state == EVTCHNSTAT_interdomain) {
		struct hyp_dom *rd = hyp_dom_get(c->hyp, p->remote_dom);
		int w;

		XNX_BUG_ON(!rd);
		w = reopen(rd->ports[p->remote_port].conn->wake_w, O_WRONLY);
		if (w < 0)
			return w;
		rsp->r->val[1] = 1;
		rsp->fds[0] = rsp->tmp_fd[0] = w;
		rsp->nfds = 1;
	}
	return 0;
}

int hyp_evt_unbind(struct hyp_conn *c, const struct xnx_simproto_req *req,
		   struct hyp_rsp *rsp)
{
	if (!own_port(c, req->arg[0]))
		return -EINVAL;
	close_port(c->dom, req->arg[0]);
	return 0;
}

int hyp_evt_status(struct hyp_conn *c, const struct xnx_simproto_req *req,
		   struct hyp_rsp *rsp)
{
	uint32_t port = req->arg[0];
	const struct hyp_port *p;

	if (port == 0 || port >= XNX_SIM_MAX_PORTS)
		return -EINVAL;
	p = &c->dom->ports[port];
	rsp->r->val[0] = p->state;
	rsp->r->val[1] = p->remote_dom;
	rsp->r->val[2] = p->remote_port;
	return 0;
}
