/*
 * worker.c — one thread per connected queue. Each worker waits on its own
 * epoll set (the queue's event channel handle, its TAP queue or the hook's
 * descriptor, a wake-up eventfd), runs the queue's TX and RX rounds, and
 * after work polls the rings for a short while before sleeping: a wake-up
 * costs tens of microseconds, a look at a ring index a few nanoseconds.
 *
 * The main loop keeps xenstore, the control ring and the stats socket; it
 * takes vq->lock (held by the worker for each round) to look at or change
 * a queue, and learns of a broken queue through its own wake-up eventfd.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "xnb_ctrl.h"
#include "xnb_vif.h"
#include "xnx_log.h"

#define MAX_EVENTS 8
/* How often a frame waiting for RX buffers is retried when the frontend
 * does not kick us on posting them (no feature-rx-notify). */
#define RX_POLL_MS 10
/* Longest poll we accept from XNETBACK_POLL_US: beyond this it is a spin. */
#define POLL_US_MAX 1000

/* ---- the main loop's wake-up --------------------------------------------- */

static unsigned poll_us_from_env(void)
{
	const char *s = getenv("XNETBACK_POLL_US");
	char *end;
	unsigned long v;

	if (!s || !*s)
		return XNB_POLL_US_DEFAULT;
	v = strtoul(s, &end, 10);
	if (*end || v > POLL_US_MAX) {
		xnx_warn("XNETBACK_POLL_US=%s: not 0..%u, using %u", s, POLL_US_MAX,
			 XNB_POLL_US_DEFAULT);
		return XNB_POLL_US_DEFAULT;
	}
	return (unsigned)v;
}

/* Each queue's worker has descriptors of its own (event channel handle,
 * epoll set, wake-up): take every descriptor the hard limit allows, as a
 * daemon serving hundreds of vifs needs more than the usual soft 1024. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			xnx_warn("raising the descriptor limit: %s", strerror(errno));
	}
}

int xnb_workers_open(struct xnb_backend *be)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &be->wake_ep };

	raise_fd_limit();
	be->poll_us = poll_us_from_env();
	be->wake_ep = (struct xnb_ep){ .kind = XNB_EP_WAKE };
	be->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (be->wake_fd < 0)
		return -errno;
	if (epoll_ctl(be->epfd, EPOLL_CTL_ADD, be->wake_fd, &ev) < 0) {
		int rc = -errno;

		close(be->wake_fd);
		be->wake_fd = -1;
		return rc;
	}
	return 0;
}

void xnb_workers_close(struct xnb_backend *be)
{
	if (be->wake_fd >= 0)
		close(be->wake_fd);
	be->wake_fd = -1;
}

static void wake_fd(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		xnx_warn("waking a thread: %s", strerror(errno));
}

static void drain_fd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		xnx_warn("clearing a wake-up: %s", strerror(errno));
}

void xnb_backend_wake(struct xnb_backend *be)
{
	wake_fd(be->wake_fd);
}

void xnb_backend_woken(struct xnb_backend *be)
{
	drain_fd(be->wake_fd);
}

void xnb_worker_kick(struct xnb_vq *vq)
{
	wake_fd(vq->wake_fd);
}

void xnb_vif_lock_queues(struct xnb_vif *vif)
{
	for (unsigned i = 0; i < vif->nqueues; i++)
		pthread_mutex_lock(&vif->vq[i].lock);
}

void xnb_vif_unlock_queues(struct xnb_vif *vif)
{
	for (unsigned i = vif->nqueues; i-- > 0;)
		pthread_mutex_unlock(&vif->vq[i].lock);
}

/* ---- the worker's epoll set ------------------------------------------------ */

static int ep_add(struct xnb_vq *vq, int fd, struct xnb_ep *ep, enum xnb_ep_kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ep };

	ep->kind = kind;
	ep->vq = vq;
	return epoll_ctl(vq->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* While a frame waits for guest buffers, leave the rest where it is. */
static void pause_rx(struct xnb_vq *vq, bool pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN, .data.ptr = &vq->ep };

	if (pause == vq->tap_paused)
		return;
	vq->tap_paused = pause;
	if (epoll_ctl(vq->epfd, EPOLL_CTL_MOD, vq->rx_fd, &ev) < 0)
		xnx_warn("%s: queue %u: %s the TAP: %s", vq->vif->path, vq->idx,
			 pause ? "pausing" : "resuming", strerror(errno));
}

/* Drain this queue's kicked ports. Unmask first: a kick that lands while
 * we work raises the port again, and the ring is re-read anyway. */
static void kicked(struct xnb_vq *vq)
{
	xenevtchn_port_or_error_t p;

	while ((p = xnx_evtchn_pending(vq->evt)) >= 0) {
		xnx_evtchn_unmask(vq->evt, (evtchn_port_t)p);
		vq->tx_pending |= (uint32_t)p == vq->q->tx_port;
		vq->rx_pending |= (uint32_t)p == vq->q->rx_port;
		vq->notify_received++;
	}
}

static void dispatch(struct xnb_vq *vq, const struct xnb_ep *ep)
{
	switch (ep->kind) {
	case XNB_EP_EVTCHN:
		kicked(vq);
		break;
	case XNB_EP_TAP:
		vq->rx_pending = true;
		break;
	case XNB_EP_WAKE:
		drain_fd(vq->wake_fd);
		/* Frames another queue passed us (control ring steering). */
		vq->rx_pending |= !vq->rx_waiting;
		break;
	default:
		break;
	}
}

/* ---- rounds ----------------------------------------------------------------- */

static enum xnb_work run_side(struct xnb_vq *vq, bool tx)
{
	enum xnb_work w = tx ? xnb_tx_run(vq->q) : xnb_rx_run(vq->q);

	if (tx) {
		vq->tx_pending = w == XNB_MORE || w == XNB_THROTTLED;
		vq->tx_throttled = w == XNB_THROTTLED;
		return w;
	}
	vq->rx_pending = w == XNB_MORE;
	vq->rx_waiting = w == XNB_WAIT;
	pause_rx(vq, vq->rx_waiting);
	return w;
}

enum xnb_work xnb_vq_run(struct xnb_vq *vq)
{
	if ((vq->tx_pending && run_side(vq, true) == XNB_BROKEN) ||
	    (vq->rx_pending && run_side(vq, false) == XNB_BROKEN))
		return XNB_BROKEN;
	if (vq->rx_pending || (vq->tx_pending && !vq->tx_throttled))
		return XNB_MORE;
	return XNB_IDLE;
}

/* The smaller of two epoll timeouts (-1 = none). */
static int sooner(int a, int b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Milliseconds until AT (ns), at least 1. */
static int ms_until(uint64_t at)
{
	uint64_t now = xnx_now_ns();

	return at <= now ? 1 : (int)((at - now) / 1000000u + 1);
}

/* The next wake-up VQ needs besides its events: a throttled TX, or an RX
 * frame waiting on a frontend that will not kick us. */
static int queue_timeout(struct xnb_vq *vq)
{
	int timeout = -1;

	if (vq->tx_throttled)
		timeout = sooner(timeout, ms_until(vq->q->tx_retry_ns));
	if (vq->rx_waiting && !vq->vif->conf.feat.rx_notify) {
		vq->rx_pending = true;	/* poll */
		timeout = sooner(timeout, RX_POLL_MS);
	}
	/* RX stall detection's clock (policy_stall.c). */
	if (vq->q->rx_deadline_ns) {
		if (vq->q->rx_deadline_ns <= xnx_now_ns())
			vq->rx_pending = true;
		timeout = sooner(timeout, ms_until(vq->q->rx_deadline_ns));
	}
	return timeout;
}

/* Run what is pending; the epoll timeout to use next (0: more to do), or
 * -2 when the queue broke. */
static int serve(struct xnb_vq *vq)
{
	enum xnb_work w = xnb_vq_run(vq);

	if (w == XNB_BROKEN) {
		__atomic_store_n(&vq->failed, 1, __ATOMIC_RELEASE);
		xnb_backend_wake(vq->vif->be);
		return -2;
	}
	return w == XNB_MORE ? 0 : queue_timeout(vq);
}

/* ---- adaptive polling ----------------------------------------------------------- */

/* Has the frontend given us work since we last looked? Only ring indices:
 * no syscall, no lock (the worker alone moves its consumer indices). */
static bool ring_work(struct xnb_vq *vq)
{
	const struct xnb_queue *q = vq->q;

	if (XNB_READ_ONCE(q->tx.sring->req_prod) != q->tx.req_cons && !vq->tx_throttled) {
		vq->tx_pending = true;
		return true;
	}
	if (vq->rx_waiting &&
	    XNB_READ_ONCE(q->rx.sring->req_prod) - q->rx.req_cons >= q->rx_held_need) {
		vq->rx_pending = true;
		return true;
	}
	return false;
}

/* Poll for up to be->poll_us after a round that did work: the rings by
 * their indices, the TAP and the ports by a non-blocking epoll_wait now and
 * then. Returns the events left in EVS to dispatch (0: ring work, pending
 * flags set), or -1 when nothing came. */
static int poll_briefly(struct xnb_vq *vq, struct epoll_event *evs)
{
	uint64_t end = xnx_now_ns() + (uint64_t)vq->vif->be->poll_us * 1000u;
	unsigned turn = 0;

	vq->spins++;
	while (!__atomic_load_n(&vq->stop, __ATOMIC_RELAXED)) {
		if (ring_work(vq))
			break;
		if (++turn % 16 == 0) {
			int n = epoll_wait(vq->epfd, evs, MAX_EVENTS, 0);

			if (n > 0) {
				vq->spin_hits++;
				return n;
			}
			if (xnx_now_ns() >= end)
				return -1;
		}
		__builtin_ia32_pause();
	}
	vq->spin_hits++;
	return 0;
}

/* Before sleeping: the kick we did not want while polling. True if
 * requests arrived meanwhile. */
static bool arm(struct xnb_vq *vq)
{
	bool more;

	if (vq->tx_throttled)
		return false;	/* we come back by the clock */
	pthread_mutex_lock(&vq->lock);
	more = xnb_tx_arm(vq->q);
	vq->tx_pending |= more;
	pthread_mutex_unlock(&vq->lock);
	return more;
}

static void *worker_main(void *arg)
{
	struct xnb_vq *vq = arg;
	struct epoll_event evs[MAX_EVENTS];
	int timeout = 0;
	bool worked = true;

	__atomic_store_n(&vq->tid, (int)gettid(), __ATOMIC_RELEASE);
	xnx_log_ctx_set("%s", vq->vif->path);	/* this thread's lines name the vif */
	while (!__atomic_load_n(&vq->stop, __ATOMIC_ACQUIRE)) {
		int n = -1;

		if (timeout != 0 && worked && vq->vif->be->poll_us)
			n = poll_briefly(vq, evs);
		if (n < 0 && timeout != 0 && arm(vq))
			n = 0;
		if (n < 0)
			n = epoll_wait(vq->epfd, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			xnx_err("%s: queue %u: epoll_wait: %s", vq->vif->path, vq->idx,
				strerror(errno));
			break;
		}
		pthread_mutex_lock(&vq->lock);
		for (int i = 0; i < n; i++)
			dispatch(vq, evs[i].data.ptr);
		worked = vq->tx_pending || vq->rx_pending;
		if (!__atomic_load_n(&vq->failed, __ATOMIC_ACQUIRE))
			timeout = serve(vq);
		pthread_mutex_unlock(&vq->lock);
		if (timeout == -2)
			timeout = -1;	/* broken: serve no more, wait to be stopped */
	}
	return NULL;
}

/* ---- start / stop ------------------------------------------------------------------ */

static void close_fds(struct xnb_vq *vq)
{
	if (vq->epfd >= 0)
		close(vq->epfd);
	if (vq->wake_fd >= 0)
		close(vq->wake_fd);
	vq->epfd = vq->wake_fd = -1;
}

/* The thread, with every signal blocked: they are the main loop's (its
 * handlers set be->stop and its epoll_wait must be the one interrupted). */
static int spawn(struct xnb_vq *vq)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&vq->thread, NULL, worker_main, vq);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int worker_start(struct xnb_vq *vq)
{
	int rc;

	vq->epfd = epoll_create1(EPOLL_CLOEXEC);
	vq->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->epfd < 0 || vq->wake_fd < 0) {
		rc = -errno;
		close_fds(vq);
		return rc;
	}
	rc = ep_add(vq, xnx_evtchn_fd(vq->evt), &vq->evt_ep, XNB_EP_EVTCHN);
	if (rc == 0)
		rc = ep_add(vq, vq->wake_fd, &vq->wake_ep, XNB_EP_WAKE);
	if (rc == 0)
		rc = ep_add(vq, vq->rx_fd, &vq->ep, XNB_EP_TAP);
	vq->tap_paused = false;
	vq->tx_pending = vq->rx_pending = true;	/* whatever is queued already */
	vq->q->tx_defer_arm = vq->vif->be->poll_us > 0;
	if (rc == 0)
		rc = spawn(vq);
	if (rc < 0) {
		close_fds(vq);
		return rc;
	}
	vq->started = true;
	return 0;
}

int xnb_workers_start(struct xnb_vif *vif, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = worker_start(&vif->vq[i]);

		if (rc < 0) {
			xnb_workers_stop(vif, i);
			return rc;
		}
	}
	return 0;
}

void xnb_workers_stop(struct xnb_vif *vif, unsigned n)
{
	/* All told, all joined, then the descriptors closed: until every
	 * worker is gone one may still kick another (steered frames). */
	for (unsigned i = 0; i < n; i++) {
		if (vif->vq[i].started) {
			__atomic_store_n(&vif->vq[i].stop, 1, __ATOMIC_RELEASE);
			xnb_worker_kick(&vif->vq[i]);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		if (vif->vq[i].started)
			pthread_join(vif->vq[i].thread, NULL);
		vif->vq[i].started = false;
	}
	for (unsigned i = 0; i < n; i++)
		close_fds(&vif->vq[i]);
}
