/*
 * hyp_evt.c — event channels in xnet-simd: per-domain port tables, binding
 * (alloc unbound, bind interdomain), closing (the other end drops to
 * _unbound and is raised), and telling a notifier how to wake the other
 * end. Notifications themselves never pass through here: each port has a
 * datagram socket pair whose sending end the peer's notifier holds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xen/event_channel.h>

#include "hyp_priv.h"

/* Wake the process at a port: one datagram on its wake-up socket. Never
 * blocks, whatever a peer did to the shared descriptor's flags. */
static void wake(int fd)
{
	if (send(fd, "!", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
		xnx_debug("evtchn: wake-up: %s", strerror(errno));
}

/* The port's wake-up socket pair: the daemon keeps the sending end, the
 * receiving end goes to the client with the response. */
static int wake_new(struct hyp_port *p, struct hyp_rsp *rsp)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	p->wake = sv[1];
	rsp->fds[1] = sv[0];
	rsp->tmp_fd = sv[0];
	return 0;
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

/* Tell the processes at the channel's ends that the binding changed.
 * Release: the new binding is in place before a notifier sees the new gen
 * and asks for it. */
static void chan_bump(struct sim_hyp *h, struct hyp_chan *ch)
{
	for (unsigned k = 0; k < 2; k++) {
		struct hyp_dom *d = ch->ends[k].used ? hyp_dom_get(h, ch->ends[k].dom) : NULL;

		if (d)
			__atomic_add_fetch(&d->port_gen[ch->ends[k].port], 1, __ATOMIC_RELEASE);
	}
}

/* Set PORT of D pending and wake its handle, as a peer's notify would. */
static void port_raise(struct hyp_dom *d, uint32_t port)
{
	struct hyp_port *p = &d->ports[port];
	typeof(p->chan->page->end[0]) *e = &p->chan->page->end[p->end];

	if (!__atomic_exchange_n(&e->pending, 1, __ATOMIC_SEQ_CST) &&
	    !__atomic_load_n(&e->mask, __ATOMIC_SEQ_CST))
		wake(p->wake);
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
	close(p->wake);
	memset(p, 0, sizeof(*p));
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
	rsp->fds[0] = c->dom->gens_ro_fd;
	rsp->nfds = 1;
	return 0;
}

static void bound_rsp(struct hyp_rsp *rsp, uint32_t port, const struct hyp_port *p)
{
	rsp->r->val[0] = port;
	rsp->r->val[1] = p->end;
	rsp->fds[0] = p->chan->fd;
	rsp->nfds = 2;			/* fds[1] set by wake_new */
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
	ch = chan_new();
	if (!ch)
		return -ENOMEM;
	rc = wake_new(&d->ports[port], rsp);
	if (rc < 0) {
		chan_free(ch);
		return rc;
	}
	ch->ends[0].used = true;
	ch->ends[0].dom = d->domid;
	ch->ends[0].port = (uint32_t)port;
	d->ports[port] = (struct hyp_port){ .state = EVTCHNSTAT_unbound, .end = 0,
					    .remote_dom = rd->domid, .conn = c, .chan = ch,
					    .wake = d->ports[port].wake };
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
	rc = wake_new(&d->ports[port], rsp);
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
					    .conn = c, .chan = ch, .wake = d->ports[port].wake };
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

		XNX_BUG_ON(!rd);
		rsp->r->val[1] = 1;
		rsp->fds[0] = rd->ports[p->remote_port].wake;
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
