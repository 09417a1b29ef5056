/*
 * platform_sim_evtchn.c — the sim platform's event channels: binding through
 * xnet-simd; notify, pending and unmask in-process over the channel page and
 * the ports' wake-up sockets.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform_sim.h"
#include "xnx_log.h"

/* ---- event channels ------------------------------------------------------ */

/*
 * Each port has a datagram socket pair made by the daemon: we hold the
 * receiving end, in this handle's epoll set; the peer's notifier holds the
 * sending end. Every send and receive uses MSG_DONTWAIT, so a peer playing
 * with the flags of a shared descriptor can block nobody, and it can only
 * ever disturb its own channel. Self-wakes (unmask, events left over) go
 * through a private eventfd in the same epoll set.
 */

#define SELF_WAKE UINT64_MAX
#define DRAIN_BATCH 64
#define DRAIN_ROUNDS 16

/* A port bound through this handle. */
struct port {
	struct xnx_simchan *chan;	/* the channel page */
	unsigned me;			/* our end in chan->end[] */
	bool known;			/* gen/connected/peer_fd are current */
	bool connected;
	uint32_t gen;
	int wake_fd;			/* our receiving end, or -1 once hung up */
	int peer_fd;			/* the peer port's sending end, or -1 */
	uint32_t slot;			/* index in bound[] */
};

struct sim_evtchn {
	struct xnx_evtchn base;
	struct xnx_simc_link link;
	int epfd;			/* what xnx_evtchn_fd returns */
	const uint32_t *gens;		/* the domain's port generations (ro) */
	int self_fd;			/* private eventfd for self-wakes */
	uint32_t nbound, scan;
	evtchn_port_t bound[XNX_SIM_MAX_PORTS];
	struct port *ports[XNX_SIM_MAX_PORTS];
};

static int epoll_add(int epfd, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int gens_map(struct sim_evtchn *h)
{
	struct xnx_simproto_rsp rsp;
	int fd = -1, rc;
	void *g;

	rc = xnx_simc_call_simple(&h->link, XNX_SIMOP_EVT_OPEN, 0, 0, &rsp, &fd, 1);
	if (rc < 0)
		return rc;
	if (fd < 0)
		return -EPROTO;
	g = mmap(NULL, XNX_SIMGENS_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (g == MAP_FAILED)
		return -errno;
	h->gens = g;
	return 0;
}

xnx_evtchn *xnx_simc_evtchn_open(void)
{
	struct sim_evtchn *h = calloc(1, sizeof(*h));
	int rc = -ENOMEM;

	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_sim_ops;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->self_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->epfd < 0 || h->self_fd < 0)
		rc = -errno;
	else
		rc = epoll_add(h->epfd, h->self_fd, SELF_WAKE);
	if (rc == 0 && xnx_simc_link_open(&h->link) < 0)
		rc = -errno;
	else if (rc == 0 && (rc = gens_map(h)) < 0)
		xnx_simc_link_close(&h->link);
	if (rc == 0)
		return &h->base;
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->self_fd >= 0)
		close(h->self_fd);
	free(h);
	errno = -rc;
	return NULL;
}

static void port_drop(struct sim_evtchn *h, evtchn_port_t port)
{
	struct port *p = h->ports[port];
	evtchn_port_t last = h->bound[--h->nbound];

	h->bound[p->slot] = last;
	h->ports[last]->slot = p->slot;
	h->ports[port] = NULL;
	munmap(p->chan, XNX_SIMCHAN_SIZE);
	if (p->wake_fd >= 0)
		close(p->wake_fd);	/* leaves the epoll set with it */
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	free(p);
}

int xnx_simc_evtchn_close(xnx_evtchn *b)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;

	/* The daemon closes every port of this connection. */
	xnx_simc_link_close(&h->link);
	while (h->nbound)
		port_drop(h, h->bound[h->nbound - 1]);
	close(h->epfd);
	close(h->self_fd);
	munmap((void *)h->gens, XNX_SIMGENS_SIZE);
	free(h);
	return 0;
}

int xnx_simc_evtchn_fd(xnx_evtchn *b) { return ((struct sim_evtchn *)b)->epfd; }

static void self_wake(struct sim_evtchn *h)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is huge, we are readable anyway. */
	if (write(h->self_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		xnx_debug("evtchn: self wake: %s", strerror(errno));
}

static struct port *port_get(struct sim_evtchn *h, evtchn_port_t port)
{
	return port < XNX_SIM_MAX_PORTS ? h->ports[port] : NULL;
}

/* Learn who is at the other end now (the daemon bumped gen). */
static int refresh(struct sim_evtchn *h, evtchn_port_t port, struct port *p)
{
	struct xnx_simproto_rsp rsp;
	int fd = -1;
	int rc = xnx_simc_call_simple(&h->link, XNX_SIMOP_EVT_PEER, port, 0, &rsp, &fd, 1);

	if (rc < 0)
		return rc;
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	p->peer_fd = fd;
	p->gen = rsp.val[0];
	p->connected = rsp.val[1] && fd >= 0;
	p->known = true;
	return 0;
}

int xnx_simc_notify(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct port *p;
	int rc = 0;

	pthread_mutex_lock(&h->link.lock);
	p = port_get(h, port);
	if (!p) {
		rc = -ENOTCONN;
	} else {
		/* Acquire pairs with the daemon's release of gen after it
		 * rebinds the channel. */
		uint32_t gen = __atomic_load_n(&h->gens[port], __ATOMIC_ACQUIRE);

		if (!p->known || gen != p->gen)
			rc = refresh(h, port, p);
		if (rc == 0 && p->connected) {
			unsigned peer = 1 - p->me;
			/* Full barriers: pairs with sim_unmask's mask store and
			 * pending load, so one of the two wakes the peer. */
			if (!__atomic_exchange_n(&p->chan->end[peer].pending, 1, __ATOMIC_SEQ_CST) &&
			    !__atomic_load_n(&p->chan->end[peer].mask, __ATOMIC_SEQ_CST) &&
			    send(p->peer_fd, "!", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
			    errno != EAGAIN)
				xnx_debug("evtchn %u: wake-up: %s", port, strerror(errno));
		}
	}
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? xnx_simc_fail(rc) : 0;
}

/* A new port from the daemon: val[0] port, val[1] our end, FDS the channel
 * page and our wake-up socket. */
static xenevtchn_port_or_error_t port_add(struct sim_evtchn *h,
					  const struct xnx_simproto_rsp *rsp, int fds[2])
{
	evtchn_port_t port = rsp->val[0];
	struct port *p = calloc(1, sizeof(*p));
	void *chan = MAP_FAILED;

	if (p && port > 0 && port < XNX_SIM_MAX_PORTS && !h->ports[port] && rsp->val[1] < 2)
		chan = mmap(NULL, XNX_SIMCHAN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	close(fds[0]);
	if (chan != MAP_FAILED && epoll_add(h->epfd, fds[1], port) < 0) {
		munmap(chan, XNX_SIMCHAN_SIZE);
		chan = MAP_FAILED;
	}
	if (chan == MAP_FAILED) {
		struct xnx_simproto_rsp r2;
		close(fds[1]);
		free(p);
		xnx_simc_call_simple(&h->link, XNX_SIMOP_EVT_UNBIND, port, 0, &r2, NULL, 0);
		return xnx_simc_fail(-EPROTO);
	}
	*p = (struct port){ .chan = chan, .me = rsp->val[1], .wake_fd = fds[1],
			    .peer_fd = -1, .slot = h->nbound };
	h->ports[port] = p;
	h->bound[h->nbound++] = port;
	return (xenevtchn_port_or_error_t)port;
}

static xenevtchn_port_or_error_t bind_common(struct sim_evtchn *h, uint32_t op,
					     uint32_t domid, uint32_t remote_port)
{
	struct xnx_simproto_rsp rsp;
	xenevtchn_port_or_error_t port;
	int fds[2], rc;

	pthread_mutex_lock(&h->link.lock);
	rc = xnx_simc_call_simple(&h->link, op, domid, remote_port, &rsp, fds, 2);
	if (rc == 0 && (fds[0] < 0 || fds[1] < 0)) {
		xnx_simc_close_fds(fds, 2);
		rc = -EPROTO;
	}
	port = rc < 0 ? xnx_simc_fail(rc) : port_add(h, &rsp, fds);
	pthread_mutex_unlock(&h->link.lock);
	return port;
}

xenevtchn_port_or_error_t xnx_simc_bind_unbound(xnx_evtchn *b, uint32_t domid)
{
	return bind_common((struct sim_evtchn *)b, XNX_SIMOP_EVT_ALLOC_UNBOUND, domid, 0);
}

xenevtchn_port_or_error_t xnx_simc_bind_interdomain(xnx_evtchn *b, uint32_t domid,
						      evtchn_port_t remote_port)
{
	return bind_common((struct sim_evtchn *)b, XNX_SIMOP_EVT_BIND_INTERDOMAIN,
			   domid, remote_port);
}

int xnx_simc_unbind(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct xnx_simproto_rsp rsp;
	int rc;

	pthread_mutex_lock(&h->link.lock);
	if (!port_get(h, port)) {
		rc = -ENOTCONN;
	} else {
		rc = xnx_simc_call_simple(&h->link, XNX_SIMOP_EVT_UNBIND, port, 0, &rsp, NULL, 0);
		port_drop(h, port);
	}
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? xnx_simc_fail(rc) : 0;
}

/* Empty a port's wake-up socket. A hang-up (every sending end closed or
 * shut down) would keep it readable for ever: take it out of the set; the
 * port's pending bit still counts. */
static void drain_port(struct sim_evtchn *h, struct port *p, uint32_t events)
{
	char buf[DRAIN_BATCH];
	struct iovec iov[DRAIN_BATCH];
	struct mmsghdr msgs[DRAIN_BATCH];
	int n;

	for (int i = 0; i < DRAIN_BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = &buf[i], .iov_len = 1 };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	/* Bounded: a peer flooding its channel costs us a few calls, then
	 * the rest waits for the next round. */
	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		n = recvmmsg(p->wake_fd, msgs, DRAIN_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++)
			if (msgs[i].msg_len == 0)
				events |= EPOLLHUP;
		if (n < DRAIN_BATCH)
			break;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, p->wake_fd, NULL);
		close(p->wake_fd);
		p->wake_fd = -1;
	}
}

/* Empty every readable descriptor of the set, so the set polls readable
 * again only for what comes later. */
static void drain(struct sim_evtchn *h)
{
	struct epoll_event evs[DRAIN_BATCH];
	uint64_t v;
	int n = epoll_wait(h->epfd, evs, DRAIN_BATCH, 0);

	for (int i = 0; i < n; i++) {
		struct port *p;

		if (evs[i].data.u64 == SELF_WAKE) {
			if (read(h->self_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				xnx_debug("evtchn: self wake read: %s", strerror(errno));
		} else if ((p = port_get(h, (evtchn_port_t)evs[i].data.u64)) && p->wake_fd >= 0) {
			drain_port(h, p, evs[i].events);
		}
	}
	/* More than a batch was readable: look again next time. */
	if (n == DRAIN_BATCH)
		self_wake(h);
}

/* Take P's event if it is pending and unmasked: mask it, clear pending. */
static bool take_event(struct port *p)
{
	typeof(p->chan->end[0]) *e = &p->chan->end[p->me];

	if (!__atomic_load_n(&e->pending, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&e->mask, __ATOMIC_SEQ_CST))
		return false;
	/* Mask first: a notify between the two stores folds into this event;
	 * one after them stays pending behind the mask until unmask. */
	__atomic_store_n(&e->mask, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e->pending, 0, __ATOMIC_SEQ_CST);
	return true;
}

static bool has_event(const struct port *p)
{
	return __atomic_load_n(&p->chan->end[p->me].pending, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&p->chan->end[p->me].mask, __ATOMIC_SEQ_CST);
}

xenevtchn_port_or_error_t xnx_simc_pending(xnx_evtchn *b)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	xenevtchn_port_or_error_t found = -1;
	bool more = false;

	pthread_mutex_lock(&h->link.lock);
	/* Drain first: any notify after this wakes the set again. */
	drain(h);
	for (uint32_t i = 0, start = h->scan; i < h->nbound; i++) {
		uint32_t k = (start + i) % h->nbound;
		struct port *p = h->ports[h->bound[k]];

		if (found < 0 && take_event(p)) {
			found = (xenevtchn_port_or_error_t)h->bound[k];
			h->scan = k + 1;
		} else if (found >= 0 && has_event(p)) {
			more = true;
			break;
		}
	}
	/* Others are still pending: keep the fd readable for them. */
	if (more)
		self_wake(h);
	pthread_mutex_unlock(&h->link.lock);
	if (found < 0)
		errno = EAGAIN;
	return found;
}

int xnx_simc_unmask(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct port *p;

	pthread_mutex_lock(&h->link.lock);
	p = port_get(h, port);
	if (p) {
		typeof(p->chan->end[0]) *e = &p->chan->end[p->me];

		/* Pairs with sim_notify's exchange and mask load. */
		__atomic_store_n(&e->mask, 0, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&e->pending, __ATOMIC_SEQ_CST))
			self_wake(h);
	}
	pthread_mutex_unlock(&h->link.lock);
	/* Like Linux's evtchn device, a port not bound here is ignored. */
	return 0;
}

int xnx_simc_status(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct xnx_simproto_rsp rsp;
	int rc;

	pthread_mutex_lock(&h->link.lock);
	rc = xnx_simc_call_simple(&h->link, XNX_SIMOP_EVT_STATUS, port, 0, &rsp, NULL, 0);
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? xnx_simc_fail(rc) : (int)rsp.val[0];
}

