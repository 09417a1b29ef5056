/*
 * platform_sim_evtchn.c — the sim platform's event channels: binding through
 * xnet-simd; notify, pending and unmask in-process over the channel pages
 * and the handles' wake-up pipes.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform_sim.h"
#include "xnx_log.h"

/* ---- event channels ------------------------------------------------------ */

/*
 * Each handle has a wake-up pipe made by the daemon: we hold the only
 * reading end that is ever read, and it is what xnx_evtchn_fd returns; every
 * notifier of one of our ports writes one byte into it through a writing
 * end of its own (its own open file description, so nobody can make
 * another's writes block), and so do we for self-wakes (unmask, events left
 * over). The truth is in the channel pages' pending bits: a byte only says
 * "look". A notify writes only when it sets an unmasked port pending, so a
 * stream of notifications costs one write per event taken, and the kernel
 * wakes a sleeper only when the pipe goes from empty to not empty.
 */

#define DRAIN_BYTES 256
#define DRAIN_ROUNDS 16			/* a one-page pipe: 4096 bytes */

/* A port bound through this handle. */
struct port {
	struct xnx_simchan *chan;	/* the channel page */
	unsigned me;			/* our end in chan->end[] */
	bool known;			/* gen/connected/peer_fd are current */
	bool connected;
	uint32_t gen;
	int peer_fd;			/* our writing end of the peer's pipe, or -1 */
	uint32_t slot;			/* index in bound[] */
	bool status_known;		/* status is the daemon's answer at */
	uint32_t status_gen;		/* ... this generation of the port */
	int status;
};

struct sim_evtchn {
	struct xnx_evtchn base;
	struct xnx_simc_link link;
	int wake_fd;			/* our pipe's reading end: xnx_evtchn_fd */
	int self_fd;			/* our writing end of it, for self-wakes */
	const uint32_t *gens;		/* the domain's port generations (ro) */
	uint32_t nbound, scan;
	evtchn_port_t bound[XNX_SIM_MAX_PORTS];
	struct port *ports[XNX_SIM_MAX_PORTS];
};

/* The domain's port generations and our wake-up pipe's two ends. */
static int evt_open(struct sim_evtchn *h)
{
	struct xnx_simproto_rsp rsp;
	int fds[3], rc;
	void *g = MAP_FAILED;

	rc = xnx_simc_call_simple(&h->link, XNX_SIMOP_EVT_OPEN, 0, 0, &rsp, fds, 3);
	if (rc < 0)
		return rc;
	if (fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0)
		g = mmap(NULL, XNX_SIMGENS_SIZE, PROT_READ, MAP_SHARED, fds[0], 0);
	if (g == MAP_FAILED) {
		rc = fds[0] < 0 || fds[1] < 0 || fds[2] < 0 ? -EPROTO : -errno;
		xnx_simc_close_fds(fds, 3);
		return rc;
	}
	close(fds[0]);
	h->gens = g;
	h->wake_fd = fds[1];
	h->self_fd = fds[2];
	return 0;
}

xnx_evtchn *xnx_simc_evtchn_open(void)
{
	struct sim_evtchn *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_sim_ops;
	rc = xnx_simc_link_open(&h->link) < 0 ? -errno : 0;
	if (rc == 0 && (rc = evt_open(h)) < 0)
		xnx_simc_link_close(&h->link);
	if (rc == 0)
		return &h->base;
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
	close(h->wake_fd);
	close(h->self_fd);
	munmap((void *)h->gens, XNX_SIMGENS_SIZE);
	free(h);
	return 0;
}

int xnx_simc_evtchn_fd(xnx_evtchn *b) { return ((struct sim_evtchn *)b)->wake_fd; }

uint64_t xnx_simc_evtchn_calls(xnx_evtchn *b)
{
	return __atomic_load_n(&((struct sim_evtchn *)b)->link.calls, __ATOMIC_RELAXED);
}

/* One byte into a wake-up pipe. EAGAIN: full, so readable anyway. */
static void wake(int fd, evtchn_port_t port)
{
	if (write(fd, "!", 1) < 0 && errno != EAGAIN)
		xnx_debug("evtchn %u: wake-up: %s", port, strerror(errno));
}

static void self_wake(struct sim_evtchn *h)
{
	wake(h->self_fd, 0);
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
			    !__atomic_load_n(&p->chan->end[peer].mask, __ATOMIC_SEQ_CST))
				wake(p->peer_fd, port);
		}
	}
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? xnx_simc_fail(rc) : 0;
}

/* A new port from the daemon: val[0] port, val[1] our end, FD the channel
 * page. */
static xenevtchn_port_or_error_t port_add(struct sim_evtchn *h,
					  const struct xnx_simproto_rsp *rsp, int fd)
{
	evtchn_port_t port = rsp->val[0];
	struct port *p = calloc(1, sizeof(*p));
	void *chan = MAP_FAILED;

	if (p && port > 0 && port < XNX_SIM_MAX_PORTS && !h->ports[port] && rsp->val[1] < 2)
		chan = mmap(NULL, XNX_SIMCHAN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (chan == MAP_FAILED) {
		struct xnx_simproto_rsp r2;
		free(p);
		xnx_simc_call_simple(&h->link, XNX_SIMOP_EVT_UNBIND, port, 0, &r2, NULL, 0);
		return xnx_simc_fail(-EPROTO);
	}
	*p = (struct port){ .chan = chan, .me = rsp->val[1], .peer_fd = -1,
			    .slot = h->nbound };
	h->ports[port] = p;
	h->bound[h->nbound++] = port;
	return (xenevtchn_port_or_error_t)port;
}

static xenevtchn_port_or_error_t bind_common(struct sim_evtchn *h, uint32_t op,
					     uint32_t domid, uint32_t remote_port)
{
	struct xnx_simproto_rsp rsp;
	xenevtchn_port_or_error_t port;
	int fd = -1, rc;

	pthread_mutex_lock(&h->link.lock);
	rc = xnx_simc_call_simple(&h->link, op, domid, remote_port, &rsp, &fd, 1);
	if (rc == 0 && fd < 0)
		rc = -EPROTO;
	port = rc < 0 ? xnx_simc_fail(rc) : port_add(h, &rsp, fd);
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

/* Empty our pipe, so it polls readable again only for what comes later.
 * Bounded: a peer flooding it costs us a few calls, then the rest waits
 * for the next round. */
static void drain(struct sim_evtchn *h)
{
	char buf[DRAIN_BYTES];

	for (int round = 0; round < DRAIN_ROUNDS; round++)
		if (read(h->wake_fd, buf, sizeof(buf)) < (ssize_t)sizeof(buf))
			break;
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

/* One pass over the bound ports from where the last one ended: take the
 * first pending unmasked port; *MORE when another one is pending too. */
static xenevtchn_port_or_error_t scan(struct sim_evtchn *h, bool *more)
{
	xenevtchn_port_or_error_t found = -1;

	for (uint32_t i = 0, start = h->scan; i < h->nbound; i++) {
		uint32_t k = (start + i) % h->nbound;
		struct port *p = h->ports[h->bound[k]];

		if (found < 0 && take_event(p)) {
			found = (xenevtchn_port_or_error_t)h->bound[k];
			h->scan = k + 1;
		} else if (found >= 0 && has_event(p)) {
			*more = true;
			break;
		}
	}
	return found;
}

xenevtchn_port_or_error_t xnx_simc_pending(xnx_evtchn *b)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	xenevtchn_port_or_error_t found;
	bool more = false;

	pthread_mutex_lock(&h->link.lock);
	/* The pending bits first: a driver calls us until we say EAGAIN, so
	 * the pipe is emptied once per wake-up, on that last call. */
	found = scan(h, &more);
	if (found < 0) {
		/* Empty the pipe, then look again for a notify that came
		 * between the scan and the drain: one after the drain makes
		 * the pipe readable again. */
		drain(h);
		found = scan(h, &more);
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

static void remember(struct port *p, uint32_t gen, int status)
{
	p->status_known = true;
	p->status_gen = gen;
	p->status = status;
}

/*
 * A port's status changes only with its generation (xnx_simproto.h): the
 * daemon bumps gens[port] after every change, ours or a peer's, so a port
 * bound here is answered from the last answer while its generation stays.
 * A driver asks after every event that brought no work; on a busy ring
 * that was a round trip to the daemon each time. Other ports: ask.
 */
int xnx_simc_status(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct xnx_simproto_rsp rsp;
	struct port *p;
	uint32_t gen = 0;
	int rc;

	pthread_mutex_lock(&h->link.lock);
	p = port_get(h, port);
	/* Read before asking, acquire: pairs with the daemon's release bump
	 * after a change, so an answer is never older than its key. */
	if (p)
		gen = __atomic_load_n(&h->gens[port], __ATOMIC_ACQUIRE);
	if (p && p->status_known && p->status_gen == gen) {
		rc = p->status;
	} else {
		rc = xnx_simc_call_simple(&h->link, XNX_SIMOP_EVT_STATUS, port, 0, &rsp,
					  NULL, 0);
		if (rc == 0)
			rc = (int)rsp.val[0];
		if (rc >= 0 && p)
			remember(p, gen, rc);
	}
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? xnx_simc_fail(rc) : rc;
}
