/*
 * dev.c — libxnetfront's public API: a vif's life (open, handshake steps,
 * connect, broken, close), its shared pages and event channels, and the
 * burst send/receive calls over the data path in tx.c/rx.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "direct.h"
#include "xnx_log.h"
#include "xnx_state.h"
#include "xnx_xs.h"

/* How long close waits for the backend to let go of our pages. */
#define CLOSE_TIMEOUT_MS 5000
/* Event channel ports drained per xnf_process. */
#define EVENT_BUDGET 64
/* How long closing waits for the backend to drop our static grants (it
 * drops them at disconnect anyway). */
#define RELEASE_GRANTS_MS 500
/* How long opening waits for the backend to follow a reset. */
#define RESET_TIMEOUT_MS 5000

/* How long a close after xnf_shutdown waits for the backend to unmap. */
#define SHUTDOWN_RELEASE_MS 100
/* How long a reconnect waits for a gone backend's mappings to go. */
#define RECONNECT_RELEASE_MS 1000
/* How long a reconnect waits for the backend to leave Connected before
 * ending our grants anyway (what it still maps is held). */
#define RECONNECT_LEAVE_MS 3000

static int poll_fd(struct xnf_dev *dev, int timeout_ms);
static int remaining_ms(uint64_t deadline);
static void backend_lost(struct xnf_dev *dev, const char *why);
static void reconnect_step(struct xnf_dev *dev, enum xenbus_state be);
static void arm_timer(struct xnf_dev *dev);

/* ---- state changes ------------------------------------------------------- */

/* The backend broke the protocol, or the handshake failed: log, record in
 * xenstore as Linux does, and go Closing. Resources go at xnf_close. */
static void dev_fail(struct xnf_dev *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void dev_fail(struct xnf_dev *dev, int err, const char *fmt, ...)
{
	char why[sizeof(dev->reason)];
	va_list ap;

	if (dev->state == XNF_BROKEN)
		return;
	/* Format aside first: an argument may be dev->reason itself. */
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	memcpy(dev->reason, why, sizeof(why));
	dev->state = XNF_BROKEN;
	xnx_err("vif %u: broken: %s", dev->devid, dev->reason);
	xnf_xb_write_error(dev, err, dev->reason);
	if (dev->fe_state != XenbusStateClosed)
		xnf_xb_set_state(dev, XenbusStateClosing);
}

/* Carry a violation found on the rings over to the device. */
static bool queue_broken(struct xnf_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++) {
		const struct xnf_queue *q = dev->qs[i].q;

		if (q && q->broken) {
			if (dev->nqueues > 1)
				dev_fail(dev, -EPROTO, "queue %u: %s", i, q->reason);
			else
				dev_fail(dev, -EPROTO, "%s", q->reason);
			return true;
		}
	}
	return false;
}

static void dev_closed(struct xnf_dev *dev, const char *why)
{
	if (dev->state == XNF_CLOSED || dev->state == XNF_BROKEN)
		return;
	snprintf(dev->reason, sizeof(dev->reason), "%s", why);
	dev->state = XNF_CLOSED;
	dev->reconnect = XNF_RC_NONE;
	xnx_info("vif %u: closed: %s", dev->devid, why);
	if (dev->fe_state != XenbusStateClosed && xnf_xb_vif_exists(dev))
		xnf_xb_set_state(dev, XenbusStateClosing);
}

/* Backend Connected: kick both channels (requests were queued before it
 * bound them, as Linux xennet_connect does); the data path is live. */
static void go_connected(struct xnf_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++) {
		const struct xnf_qres *r = &dev->qs[i];

		xnx_evtchn_notify(r->ev, (evtchn_port_t)r->port_tx);
		if (r->port_rx != r->port_tx)
			xnx_evtchn_notify(r->ev, (evtchn_port_t)r->port_rx);
	}
	dev->state = XNF_CONNECTED;
	xnf_ctrl_start(dev);
	xnx_info("vif %u: connected to backend %s (domain %u)", dev->devid,
		 dev->be_path, dev->be_id);
}

/* The step the backend's state calls for (Linux netback_changed). */
static void backend_changed(struct xnf_dev *dev, enum xenbus_state be)
{
	int rc;

	switch (be) {
	case XenbusStateInitialising:
	case XenbusStateInitWait:
		/* A restarted backend probing the device anew. */
		if (dev->state == XNF_CONNECTED &&
		    (dev->cfg.flags & XNF_CFG_RECONNECT)) {
			backend_lost(dev, "backend started over");
			break;
		}
		if (be != XenbusStateInitWait ||
		    dev->fe_state != XenbusStateInitialising)
			break;
		dev->reason[0] = 0;
		rc = xnf_dev_connect(dev);
		if (rc < 0)
			dev_fail(dev, rc, "cannot connect: %.200s",
				 dev->reason[0] ? dev->reason : strerror(-rc));
		break;
	case XenbusStateConnected:
		if (dev->published && dev->state != XNF_CONNECTED)
			go_connected(dev);
		break;
	case XenbusStateClosing:
		backend_lost(dev, "backend is Closing");
		break;
	case XenbusStateClosed:
		/* Before we published, a missing or Closed backend is one
		 * the toolstack has not set up yet. */
		if (dev->fe_state != XenbusStateInitialising)
			backend_lost(dev, "backend is Closed");
		break;
	default:
		break;
	}
}

/* The backend may say its link is down (`carrier`=0): frames still flow,
 * the user of the device decides what to do with it. */
static void carrier_changed(struct xnf_dev *dev)
{
	bool off = !xnf_xb_carrier(dev);

	if (off != dev->carrier_off)
		xnx_info("vif %u: backend carrier %s", dev->devid, off ? "off" : "on");
	dev->carrier_off = off;
}

/* Re-read the vif and the backend's state after a watch fired. */
static void advance(struct xnf_dev *dev)
{
	enum xenbus_state be;
	int rc;

	if (dev->state == XNF_BROKEN || dev->state == XNF_CLOSED)
		return;
	if (!xnf_xb_vif_exists(dev)) {
		dev_closed(dev, "vif removed from xenstore");
		return;
	}
	rc = xnf_xb_backend_state(dev, &be);
	if (rc == -EINVAL) {
		dev_fail(dev, -EPROTO, "%s", dev->reason);
		return;
	}
	if (rc < 0) {
		/* Transient, or not readable yet: the next watch retries. */
		xnx_debug("vif %u: reading %s/state: %s", dev->devid,
			  dev->be_path, strerror(-rc));
		return;
	}
	if (dev->reconnect != XNF_RC_NONE)
		reconnect_step(dev, be);
	else
		backend_changed(dev, be);
	carrier_changed(dev);
}

/* ---- resources ------------------------------------------------------------ */

static void *share(struct xnf_dev *dev, int count, grant_ref_t *refs,
		   int writable)
{
	void *p = xnx_gntshr_share_pages(dev->gs, dev->be_id, count, refs,
					 writable);

	if (!p)
		xnx_err("vif %u: sharing %d pages with domain %u: %s", dev->devid,
			count, dev->be_id, strerror(errno));
	return p;
}

static int share_queue(struct xnf_dev *dev, struct xnf_qres *r)
{
	r->tx_sring = share(dev, 1, &r->tx_ring_ref, 1);
	if (!r->tx_sring)
		return -errno;
	r->rx_sring = share(dev, 1, &r->rx_ring_ref, 1);
	if (!r->rx_sring)
		return -errno;
	/* The backend only reads what we transmit: read-only grants. */
	r->tx_pool = share(dev, XNF_TX_RING_SIZE, r->tx_refs, 0);
	if (!r->tx_pool)
		return -errno;
	r->rx_pool = share(dev, XNF_RX_RING_SIZE, r->rx_refs, 1);
	if (!r->rx_pool)
		return -errno;
	return 0;
}

static bool apart(const struct xnf_dev *dev)
{
	return dev->cfg.flags & XNF_CFG_QUEUE_FDS;
}

static int bind_ports(struct xnf_dev *dev, struct xnf_qres *r)
{
	r->ev = apart(dev) ? xnx_evtchn_open() : dev->ev;
	if (!r->ev)
		return -errno;
	r->port_tx = xnx_evtchn_bind_unbound_port(r->ev, dev->be_id);
	if (r->port_tx < 0)
		return -errno;
	r->port_rx = r->port_tx;
	if (dev->feat.split_evtchn) {
		r->port_rx = xnx_evtchn_bind_unbound_port(r->ev, dev->be_id);
		if (r->port_rx < 0)
			return -errno;
	}
	return 0;
}

/* Share queue I's pages, bind its channels, set up its rings. */
static int setup_queue(struct xnf_dev *dev, unsigned i)
{
	struct xnf_qres *r = &dev->qs[i];
	int rc = share_queue(dev, r);

	if (rc == 0)
		rc = bind_ports(dev, r);
	if (rc < 0)
		return rc;
	r->q = calloc(1, sizeof(*r->q));
	if (!r->q)
		return -ENOMEM;
	xnf_queue_init(r->q, r->tx_sring, r->rx_sring, r->tx_pool, r->tx_refs,
		       r->rx_pool, r->rx_refs, dev->feat.sg);
	/* A GSO frame spans slots: without feature-sg there is no GSO, as
	 * Linux netfront drops TSO with SG; and a TCPv6 segment's checksum is
	 * the backend's to fill, so no TSO6 without IPv6 checksum offload. */
	if (dev->feat.sg)
		r->q->gso = (dev->feat.gso_tcpv4 ? XNF_OFFLOAD_GSO_TCPV4 : 0) |
			    (dev->feat.gso_tcpv6 && dev->feat.ipv6_csum ?
			     XNF_OFFLOAD_GSO_TCPV6 : 0);
	r->q->no_csum6 = !dev->feat.ipv6_csum;
	return 0;
}

/* As Linux netfront: min(what we want, what the backend offers), one when
 * it does not know multi-queue. */
static unsigned queues_wanted(const struct xnf_dev *dev)
{
	unsigned n = dev->cfg.max_queues ? dev->cfg.max_queues : 1;

	if (n > XNF_MAX_QUEUES)
		n = XNF_MAX_QUEUES;
	if (n > dev->feat.max_queues)
		n = dev->feat.max_queues ? dev->feat.max_queues : 1;
	return n;
}

/* With a backend control ring: share ours, and use only as many data
 * pages as its static grant table may hold (xnetback keeps 256 a queue),
 * so the data path can run on static grants. A control ring we cannot set
 * up is done without. */
static void setup_ctrl(struct xnf_dev *dev)
{
	int rc;

	if (!dev->feat.ctrl_ring)
		return;
	rc = xnf_ctrl_setup(dev);
	if (rc < 0) {
		xnx_warn("vif %u: no control ring: %s", dev->devid, strerror(-rc));
		xnf_ctrl_teardown(dev);
		return;
	}
	for (unsigned i = 0; i < dev->nqueues; i++)
		xnf_queue_set_windows(dev->qs[i].q, XNF_STATIC_TX, XNF_STATIC_RX);
}

/* Backend InitWait: read its features, share rings and buffers, bind the
 * channels, post the receive buffers, publish it all, go Connected. */
int xnf_dev_connect(struct xnf_dev *dev)
{
	bool notify;
	int rc;

	rc = xnf_xb_read_features(dev);
	if (rc < 0)
		return rc;
	/* A backend that keeps our pages gets no more of them. */
	if (dev->held.n + dev->held.abandoned >= XNF_HELD_MAX) {
		snprintf(dev->reason, sizeof(dev->reason), "backend domain %u still "
			 "maps %u of our pages", dev->be_id,
			 dev->held.n + dev->held.abandoned);
		return -EBUSY;
	}
	dev->nqueues = queues_wanted(dev);
	for (unsigned i = 0; i < dev->nqueues && rc == 0; i++)
		rc = setup_queue(dev, i);
	if (rc < 0) {
		xnf_dev_disconnect(dev);
		return rc;
	}
	setup_ctrl(dev);
	for (unsigned i = 0; i < dev->nqueues; i++)
		xnf_rx_refill(dev->qs[i].q, &notify);	/* kicked once connected */
	rc = xnf_xb_publish(dev);
	if (rc < 0) {
		xnf_dev_disconnect(dev);
		return rc;
	}
	dev->published = true;
	xnx_info("vif %u: %u queue(s); queue 0 tx-ring-ref %u rx-ring-ref %u "
		 "event-channel tx %d rx %d; backend sg %d, control ring %d",
		 dev->devid, dev->nqueues, dev->qs[0].tx_ring_ref,
		 dev->qs[0].rx_ring_ref, dev->qs[0].port_tx, dev->qs[0].port_rx,
		 dev->feat.sg, dev->ctrl.port >= 0);
	/* Linux netback ignores Initialised and connects only once the
	 * frontend says Connected, so, like Linux netfront, say Connected as
	 * soon as everything is published; traffic starts when the backend
	 * reaches Connected (go_connected). */
	rc = xnf_xb_set_state(dev, XenbusStateInitialised);
	return rc < 0 ? rc : xnf_xb_set_state(dev, XenbusStateConnected);
}

/* End the grants of every queue's pages; what the backend still maps is
 * held (grants.c), never used again. */
static void unshare_all(struct xnf_dev *dev)
{
	for (unsigned i = 0; i < XNF_MAX_QUEUES; i++) {
		struct xnf_qres *q = &dev->qs[i];

		xnf_grants_end(dev, &q->tx_sring, 1);
		xnf_grants_end(dev, &q->rx_sring, 1);
		xnf_grants_end(dev, (void **)&q->tx_pool, XNF_TX_RING_SIZE);
		xnf_grants_end(dev, (void **)&q->rx_pool, XNF_RX_RING_SIZE);
	}
}

static void stats_add(struct xnf_stats *to, const struct xnf_stats *from)
{
	to->tx_frames += from->tx_frames;
	to->tx_bytes += from->tx_bytes;
	to->tx_errors += from->tx_errors;
	to->tx_dropped += from->tx_dropped;
	to->rx_frames += from->rx_frames;
	to->rx_bytes += from->rx_bytes;
	to->rx_errors += from->rx_errors;
	to->rx_dropped += from->rx_dropped;
	to->tx_csum6_filled += from->tx_csum6_filled;
	to->notify_tx += from->notify_tx;
	to->notify_rx += from->notify_rx;
	to->polls += from->polls;
	to->poll_hits += from->poll_hits;
}

/* Release rings, pools and ports; pages the backend still maps are held
 * (never freed under its feet, never used again). */
void xnf_dev_disconnect(struct xnf_dev *dev)
{
	xnf_ctrl_teardown(dev);
	for (unsigned i = 0; i < XNF_MAX_QUEUES; i++) {
		struct xnf_qres *q = &dev->qs[i];

		if (q->q)
			stats_add(&dev->past[i], &q->q->stats);
		free(q->q);
		q->q = NULL;
		if (q->port_rx >= 0 && q->port_rx != q->port_tx)
			xnx_evtchn_unbind(q->ev, (evtchn_port_t)q->port_rx);
		if (q->port_tx >= 0)
			xnx_evtchn_unbind(q->ev, (evtchn_port_t)q->port_tx);
		if (q->ev && q->ev != dev->ev)
			xnx_evtchn_close(q->ev);
		q->ev = NULL;
		q->port_tx = q->port_rx = -1;
	}
	unshare_all(dev);
	dev->published = false;
}

/* ---- open / process / close ------------------------------------------------ */

static int epoll_add(int epfd, int fd)
{
	struct epoll_event e = { .events = EPOLLIN };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

static int open_handles(struct xnf_dev *dev)
{
	dev->gs = xnx_gntshr_open();
	if (!dev->gs)
		return -errno;
	dev->ev = xnx_evtchn_open();
	if (!dev->ev)
		return -errno;
	dev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (dev->epfd < 0)
		return -errno;
	dev->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (dev->timer_fd < 0)
		return -errno;
	if (epoll_add(dev->epfd, xs_fileno(dev->xs)) < 0 ||
	    epoll_add(dev->epfd, xnx_evtchn_fd(dev->ev)) < 0 ||
	    epoll_add(dev->epfd, dev->timer_fd) < 0)
		return -errno;
	return 0;
}

static void close_handles(struct xnf_dev *dev)
{
	if (dev->epfd >= 0)
		close(dev->epfd);
	if (dev->timer_fd >= 0)
		close(dev->timer_fd);
	xnx_xs_watches_free(dev->watches);
	if (dev->ev)
		xnx_evtchn_close(dev->ev);
	if (dev->gs)
		xnx_gntshr_close(dev->gs);
	if (dev->xs)
		xs_close(dev->xs);
}

/* Wait (bounded) until the backend is in one of the states in MASK (bits
 * 1 << XenbusState...); a missing backend reads as Closed. */
static bool wait_backend(struct xnf_dev *dev, unsigned mask, uint64_t deadline)
{
	for (;;) {
		enum xenbus_state be;

		if (xnf_xb_backend_state(dev, &be) == 0 && (mask & (1u << be)))
			return true;
		if (remaining_ms(deadline) == 0 ||
		    poll_fd(dev, remaining_ms(deadline)) < 0)
			return false;
		xnx_xs_dispatch(dev->watches);
	}
}

#define BIT(s) (1u << XenbusState##s)

/* A vif not Initialising was left by a previous user: one that stopped
 * (Closed) or died (Initialised, Connected, Closing). Walk it back to
 * Initialising with the backend following each step, as Linux resets a
 * frontend after kexec (xenbus_reset_frontend). A backend that does not
 * follow in time is not waited for longer: the handshake decides. */
static int reset_frontend(struct xnf_dev *dev)
{
	uint64_t deadline = xnx_now_ns() + RESET_TIMEOUT_MS * 1000000ull;
	int rc;

	if (dev->fe_state == XenbusStateInitialising)
		return 0;
	xnx_info("vif %u: found in state %s; resetting it", dev->devid,
		 xnx_state_name(dev->fe_state));
	if (dev->fe_state != XenbusStateClosed &&
	    dev->fe_state != XenbusStateUnknown) {
		rc = xnf_xb_set_state(dev, XenbusStateClosing);
		if (rc < 0)
			return rc;
		wait_backend(dev, BIT(Closing) | BIT(Closed), deadline);
		rc = xnf_xb_set_state(dev, XenbusStateClosed);
		if (rc < 0)
			return rc;
		wait_backend(dev, BIT(Closed) | BIT(InitWait), deadline);
	}
	return xnf_xb_set_state(dev, XenbusStateInitialising);
}

struct xnf_dev *xnf_open(unsigned devid)
{
	return xnf_open_config(devid, NULL);
}

struct xnf_dev *xnf_open_config(unsigned devid, const struct xnf_config *cfg)
{
	struct xnf_dev *dev = calloc(1, sizeof(*dev));
	int self, rc;

	if (!dev)
		return NULL;
	dev->devid = devid;
	if (cfg)
		dev->cfg = *cfg;
	/* Segmented frames come with their checksum left blank. */
	if (dev->cfg.rx_offloads & (XNF_OFFLOAD_GSO_TCPV4 | XNF_OFFLOAD_GSO_TCPV6))
		dev->cfg.rx_offloads |= XNF_OFFLOAD_CSUM;
	dev->epfd = dev->timer_fd = dev->ctrl.port = -1;
	for (unsigned i = 0; i < XNF_MAX_QUEUES; i++)
		dev->qs[i].port_tx = dev->qs[i].port_rx = -1;
	dev->nqueues = 1;
	dev->state = XNF_CONNECTING;
	if ((rc = xnf_poll_setup(dev)) < 0)
		goto err;
	self = xnx_self_domid();
	if (self < 0) {
		rc = -errno;
		goto err;
	}
	dev->self = (unsigned)self;
	dev->xs = xnx_xs_open();
	if (!dev->xs) {
		rc = -errno;
		goto err;
	}
	if ((rc = xnf_xb_read_config(dev)) < 0 || (rc = open_handles(dev)) < 0 ||
	    (rc = xnf_xb_watch(dev)) < 0 || (rc = reset_frontend(dev)) < 0)
		goto err;
	advance(dev);
	return dev;
err:
	close_handles(dev);
	free(dev);
	errno = rc == 0 ? EIO : -rc;
	return NULL;
}

int xnf_fd(const struct xnf_dev *dev)
{
	return dev->epfd;
}

enum xnf_state xnf_state(const struct xnf_dev *dev)
{
	return dev->state;
}

const char *xnf_broken_reason(const struct xnf_dev *dev)
{
	return dev->state == XNF_BROKEN || dev->state == XNF_CLOSED ? dev->reason : "";
}

/* Take every pending port and unmask it: an event only means "look".
 * Returns how many there were. */
static int drain_events(struct xnf_dev *dev)
{
	int n = 0;

	for (; n < EVENT_BUDGET; n++) {
		xenevtchn_port_or_error_t port = xnx_evtchn_pending(dev->ev);

		if (port < 0)
			break;
		xnx_evtchn_unmask(dev->ev, (evtchn_port_t)port);
	}
	return n;
}

/* Has the backend closed its end of a channel? A peer's close shows as our
 * port dropping from interdomain to unbound, with an event to make us look. */
static bool peer_gone(struct xnf_dev *dev)
{
	const struct xnf_qres *r = &dev->qs[0];
	int st = xnx_evtchn_status(r->ev, (evtchn_port_t)r->port_tx);

	if (st >= 0 && st != EVTCHNSTAT_interdomain)
		return true;
	if (r->port_rx == r->port_tx)
		return false;
	st = xnx_evtchn_status(r->ev, (evtchn_port_t)r->port_rx);
	return st >= 0 && st != EVTCHNSTAT_interdomain;
}

/* Transmit completions; and after an event that brought no work at all,
 * ask whether the backend is still there (a busy ring never pays for it). */
static void process_rings(struct xnf_dev *dev, int events)
{
	int done = 0, idle = 1;

	if (queue_broken(dev))
		return;
	for (unsigned i = 0; i < dev->nqueues; i++) {
		struct xnf_queue *q = dev->qs[i].q;
		int n = xnf_tx_gc(q);

		if (n < 0) {
			queue_broken(dev);
			return;
		}
		done += n;
		idle &= !RING_HAS_UNCONSUMED_RESPONSES(&q->rx) && !xnf_rx_ready(q);
	}
	if (xnf_ctrl_poll(dev) < 0) {
		dev_fail(dev, -EPROTO, "%s", dev->reason);
		return;
	}
	if (events && done == 0 && idle && peer_gone(dev))
		backend_lost(dev, "backend closed its event channel");
}

/* ---- the timer: held pages' next try, a reconnect's deadline ---------------- */

/* Make xnf_fd readable at the next try of a held page or at release_by;
 * disarmed when neither is due. */
static void arm_timer(struct xnf_dev *dev)
{
	uint64_t at = dev->held.next_try, now = xnx_now_ns(), d;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (dev->release_by && (!at || dev->release_by < at))
		at = dev->release_by;
	if (at) {
		d = at > now ? at - now : 1;
		its.it_value.tv_sec = (time_t)(d / 1000000000u);
		its.it_value.tv_nsec = (long)(d % 1000000000u);
	}
	dev->timer_at = at;
	if (dev->timer_fd >= 0)
		timerfd_settime(dev->timer_fd, 0, &its, NULL);
}

/* The timer is due: try the held pages; a reconnect that waited until
 * release_by for the backend to let go goes on without it. */
static void timer_due(struct xnf_dev *dev)
{
	uint64_t n;

	if (dev->timer_at && xnx_now_ns() < dev->timer_at)
		return;
	if (read(dev->timer_fd, &n, sizeof(n)) < 0)
		n = 0;	/* EAGAIN: the clock ran ahead of the timer */
	xnf_grants_retry(dev, false);
	if (dev->release_by && xnx_now_ns() >= dev->release_by) {
		if (dev->reconnect == XNF_RC_RELEASE && dev->state == XNF_CONNECTING)
			advance(dev);
		/* Not acted on (the backend's state unreadable): look again
		 * in a second; left RELEASE otherwise: nothing to wait for. */
		if (dev->release_by)
			dev->release_by = dev->reconnect == XNF_RC_RELEASE &&
					  dev->state == XNF_CONNECTING ?
					  xnx_now_ns() + 1000000000ull : 0;
	}
	arm_timer(dev);
}

int xnf_process(struct xnf_dev *dev)
{
	int rc = xnx_xs_dispatch(dev->watches), events;
	char why[64];

	/* Without xenstore the handshake cannot be followed: closed, said
	 * once (not at every call). */
	if (rc < 0) {
		snprintf(why, sizeof(why), "xenstore connection lost: %s", strerror(-rc));
		dev_closed(dev, why);
	}
	if (dev->xs_changed) {
		dev->xs_changed = false;
		advance(dev);
	}
	if (dev->timer_at || dev->held.n || dev->release_by)
		timer_due(dev);
	events = drain_events(dev);
	for (unsigned i = 0; i < dev->nqueues; i++)
		events += __atomic_exchange_n(&dev->qs[i].look, false, __ATOMIC_ACQ_REL);
	if (dev->state == XNF_CONNECTED)
		process_rings(dev, events);
	return dev->state;
}

static int poll_fd(struct xnf_dev *dev, int timeout_ms)
{
	struct pollfd p = { .fd = dev->epfd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0 && errno == EINTR)
		return 0;
	return n;
}

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = xnx_now_ns();

	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

int xnf_wait_connected(struct xnf_dev *dev, int timeout_ms)
{
	uint64_t deadline = xnx_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		xnf_process(dev);
		if (dev->state == XNF_CONNECTED)
			return 0;
		if (dev->state != XNF_CONNECTING) {
			errno = ENOTCONN;
			return -1;
		}
		if (remaining_ms(deadline) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll_fd(dev, remaining_ms(deadline)) < 0)
			return -1;
	}
}

/* A frame already pulled, or responses that came while we were not
 * looking (arming every queue's rsp_event on the way)? */
static bool work_waiting(struct xnf_dev *dev)
{
	bool work = false;

	for (unsigned i = 0; i < dev->nqueues; i++)
		work |= xnf_rx_ready(dev->qs[i].q);
	for (unsigned i = 0; i < dev->nqueues; i++)
		work |= xnf_queue_arm(dev->qs[i].q);
	return work;
}

int xnf_wait(struct xnf_dev *dev, int timeout_ms)
{
	int n;

	if (dev->state == XNF_CLOSED || dev->state == XNF_BROKEN)
		return 1;
	/* Met awake: the caller takes it; events that came meanwhile wait
	 * in xnf_fd for the next sleep (a pending event is not raised
	 * again, so a backend kicks us at most once while we poll). */
	if (xnf_poll_rings(dev))
		return 1;
	if (dev->state == XNF_CONNECTED && work_waiting(dev)) {
		xnf_process(dev);
		return 1;
	}
	n = poll_fd(dev, timeout_ms);
	if (n <= 0)
		return n;
	xnf_process(dev);
	return 1;
}

/* Has the backend let go of our pages: Closing, Closed or gone, its
 * channel closed, or it never saw them? A garbage state counts as gone. */
static bool backend_released(struct xnf_dev *dev)
{
	enum xenbus_state be;

	if (!dev->published)
		return true;
	if (dev->qs[0].port_tx >= 0 && peer_gone(dev))
		return true;
	if (xnf_xb_backend_state(dev, &be) < 0)
		return true;
	return be == XenbusStateClosing || be == XenbusStateClosed ||
	       be == XenbusStateUnknown;
}

/* Wait (bounded) for the backend to leave Connected and unmap our pages;
 * Linux netfront's xennet_bus_close does the same. */
static void wait_backend_closing(struct xnf_dev *dev, uint64_t deadline)
{
	while (!backend_released(dev)) {
		if (remaining_ms(deadline) == 0 ||
		    poll_fd(dev, remaining_ms(deadline)) < 0)
			return;
		xnx_xs_dispatch(dev->watches);
		drain_events(dev);
	}
}

/* Release everything, giving a backend that is still unmapping until
 * DEADLINE; the pages it maps after that stay held. */
static void release(struct xnf_dev *dev, uint64_t deadline)
{
	const struct timespec step = { .tv_nsec = 5000000 };

	xnf_dev_disconnect(dev);
	while (xnf_grants_retry(dev, true) && remaining_ms(deadline) > 0)
		nanosleep(&step, NULL);
	if (dev->held.n)
		xnx_warn("vif %u: backend domain %u still maps %u of our pages; held, "
			 "never used again (%u abandoned before)", dev->devid, dev->be_id,
			 dev->held.n, dev->held.abandoned);
}

/* ---- reconnect ------------------------------------------------------------- */

/* The backend went away (its channel closed, Closing, Closed) or started
 * over. Without XNF_CFG_RECONNECT, or when the toolstack is unplugging the
 * vif (online=0), the device is closed; else it goes Closing and
 * reconnect_step takes it from there. */
static void backend_lost(struct xnf_dev *dev, const char *why)
{
	if (!(dev->cfg.flags & XNF_CFG_RECONNECT) || dev->shutdown ||
	    !xnf_xb_backend_online(dev)) {
		dev_closed(dev, why);
		return;
	}
	if (dev->reconnect != XNF_RC_NONE)
		return;
	xnx_warn("vif %u: %s; reconnecting", dev->devid, why);
	dev->state = XNF_CONNECTING;
	dev->reconnect = XNF_RC_RELEASE;
	dev->release_by = xnx_now_ns() + RECONNECT_LEAVE_MS * 1000000ull;
	arm_timer(dev);
	dev->reconnects++;
	if (dev->fe_state != XenbusStateClosing && dev->fe_state != XenbusStateClosed)
		xnf_xb_set_state(dev, XenbusStateClosing);
	advance(dev);
}

/* One step of a reconnect, BE the backend's state: once the backend has
 * let go of our pages (or at release_by), free them and go Closed; once a
 * backend starts over (Initialising, InitWait, or Closed after following
 * us), go Initialising: the usual handshake connects at InitWait. A
 * backend still Connected (one that died) or Closing is waited for. */
static void reconnect_step(struct xnf_dev *dev, enum xenbus_state be)
{
	if (dev->reconnect == XNF_RC_RELEASE) {
		if (!backend_released(dev)) {
			if (xnx_now_ns() < dev->release_by)
				return;
			xnx_warn("vif %u: backend still %s after %d ms; ending our grants "
				 "anyway", dev->devid, xnx_state_name(be), RECONNECT_LEAVE_MS);
		}
		dev->release_by = 0;
		release(dev, xnx_now_ns() + RECONNECT_RELEASE_MS * 1000000ull);
		arm_timer(dev);
		xnf_xb_set_state(dev, XenbusStateClosed);
		dev->reconnect = XNF_RC_WAIT;
		if (xnf_xb_backend_state(dev, &be) < 0)
			return;
	}
	if (be == XenbusStateClosed && !xnf_xb_backend_online(dev)) {
		dev_closed(dev, "backend is Closed and offline");
		return;
	}
	if (be != XenbusStateInitialising && be != XenbusStateInitWait &&
	    be != XenbusStateClosed)
		return;
	dev->reconnect = XNF_RC_NONE;
	xnx_info("vif %u: backend is %s; connecting again", dev->devid,
		 xnx_state_name(be));
	if (xnf_xb_set_state(dev, XenbusStateInitialising) == 0)
		backend_changed(dev, be);
}

int xnf_shutdown(struct xnf_dev *dev)
{
	if (dev->state == XNF_CONNECTED)
		xnf_ctrl_release_grants(dev, RELEASE_GRANTS_MS);
	if (dev->state == XNF_CONNECTING || dev->state == XNF_CONNECTED)
		dev_closed(dev, "shut down by its user");
	else if (dev->fe_state != XenbusStateClosed &&
		 dev->fe_state != XenbusStateClosing && xnf_xb_vif_exists(dev))
		xnf_xb_set_state(dev, XenbusStateClosing);
	dev->shutdown = true;
	return 0;
}

int xnf_released(struct xnf_dev *dev)
{
	return backend_released(dev);
}

int xnf_close(struct xnf_dev *dev)
{
	uint64_t deadline = xnx_now_ns() + CLOSE_TIMEOUT_MS * 1000000ull;
	bool exists;
	int rc = 0;

	if (!dev)
		return 0;
	if (dev->state == XNF_CONNECTED)
		xnf_ctrl_release_grants(dev, RELEASE_GRANTS_MS);
	exists = xnf_xb_vif_exists(dev);
	if (exists && dev->fe_state != XenbusStateClosed &&
	    dev->fe_state != XenbusStateInitialising)
		xnf_xb_set_state(dev, XenbusStateClosing);
	/* After xnf_shutdown the caller has waited for the backend's state;
	 * a toolstack may have written that state for it, so give the
	 * backend a moment to unmap before holding what it still maps. */
	if (dev->shutdown)
		deadline = xnx_now_ns() + SHUTDOWN_RELEASE_MS * 1000000ull;
	else if (dev->published)
		wait_backend_closing(dev, deadline);
	release(dev, deadline);
	if (dev->held.n || dev->held.abandoned)
		rc = -EBUSY;
	xnf_grants_abandon(dev);
	if (exists && xnf_xb_vif_exists(dev) && dev->fe_state != XenbusStateClosed)
		xnf_xb_set_state(dev, XenbusStateClosed);
	xnx_info("vif %u: closed", dev->devid);
	close_handles(dev);
	free(dev);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* ---- data ------------------------------------------------------------------ */

static void kick(struct xnf_dev *dev, xnx_evtchn *ev, int port)
{
	if (xnx_evtchn_notify(ev, (evtchn_port_t)port) < 0)
		xnx_warn("vif %u: notify port %d: %s", dev->devid, port,
			 strerror(errno));
}

/* Has queue Q broken? The device learns of it here, or with
 * XNF_CFG_QUEUE_FDS at its owner's next xnf_process (queues' threads
 * leave the device alone). */
static bool faulted(struct xnf_dev *dev, const struct xnf_queue *q)
{
	return apart(dev) ? q->broken : queue_broken(dev);
}

/* Queue I of DEV, or NULL with errno (ENOTCONN, EINVAL: no such queue). */
static struct xnf_queue *queue_of(struct xnf_dev *dev, unsigned i)
{
	if (dev->state != XNF_CONNECTED) {
		errno = ENOTCONN;
		return NULL;
	}
	if (i >= dev->nqueues) {
		errno = EINVAL;
		return NULL;
	}
	return dev->qs[i].q;
}

/* Frames moved on queue QI: its next wait may poll (poll.c). */
static void moved(struct xnf_dev *dev, unsigned qi, unsigned n)
{
	if (n)
		__atomic_store_n(&dev->qs[qi].worked, true, __ATOMIC_RELAXED);
}

/* Queue I with its completions collected, or NULL with errno. */
static struct xnf_queue *tx_begin(struct xnf_dev *dev, unsigned qi)
{
	struct xnf_queue *q = queue_of(dev, qi);

	if (q && xnf_tx_gc(q) < 0 && faulted(dev, q)) {
		errno = ENOTCONN;
		return NULL;
	}
	return q;
}

static void tx_end(struct xnf_dev *dev, unsigned qi, struct xnf_queue *q)
{
	bool notify;

	xnf_tx_push(q, &notify);
	if (notify)
		kick(dev, dev->qs[qi].ev, dev->qs[qi].port_tx);
}

int xnf_send_burst_queue(struct xnf_dev *dev, unsigned qi,
			 const struct xnf_frame *frames, unsigned n)
{
	struct xnf_queue *q = tx_begin(dev, qi);
	unsigned done = 0;

	if (!q)
		return -1;
	for (; done < n; done++) {
		int rc = xnf_tx_put(q, &frames[done]);

		if (rc == -EAGAIN || rc == -EPIPE)
			break;
		if (rc < 0)
			q->stats.tx_dropped++;
	}
	tx_end(dev, qi, q);
	moved(dev, qi, done);
	return (int)done;
}

int xnf_send_burst(struct xnf_dev *dev, const struct xnf_frame *frames,
		   unsigned n)
{
	return xnf_send_burst_queue(dev, 0, frames, n);
}

int xnf_tx_reserve_queue(struct xnf_dev *dev, unsigned qi,
			 struct xnf_tx_space *sp)
{
	struct xnf_queue *q = tx_begin(dev, qi);
	int rc;

	if (!q)
		return -1;
	rc = xnf_tx_reserve(q, sp);
	if (rc == -EPIPE) {
		faulted(dev, q);
		rc = -ENOTCONN;
	}
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

int xnf_tx_commit_queue(struct xnf_dev *dev, unsigned qi,
			struct xnf_tx_space *sp, const struct xnf_frame *meta)
{
	struct xnf_queue *q = queue_of(dev, qi);
	int rc;

	XNX_BUG_ON(!q);		/* reserved: still connected */
	rc = xnf_tx_commit(q, sp, meta);
	if (rc == -EPIPE) {
		faulted(dev, q);
		errno = ENOTCONN;
		return -1;
	}
	if (rc < 0) {
		q->stats.tx_dropped++;
		return 0;
	}
	tx_end(dev, qi, q);
	moved(dev, qi, 1);
	return 1;
}

void xnf_tx_cancel_queue(struct xnf_dev *dev, unsigned qi,
			 struct xnf_tx_space *sp, size_t written)
{
	struct xnf_queue *q = queue_of(dev, qi);

	XNX_BUG_ON(!q);
	xnf_tx_cancel(q, sp, written);
}

/* Queue I with new responses pulled, or NULL with errno. */
static struct xnf_queue *rx_begin(struct xnf_dev *dev, unsigned qi)
{
	struct xnf_queue *q = queue_of(dev, qi);

	if (q && xnf_rx_pull(q) < 0 && faulted(dev, q)) {
		errno = ENOTCONN;
		return NULL;
	}
	return q;
}

static void rx_end(struct xnf_dev *dev, unsigned qi, struct xnf_queue *q)
{
	bool notify;

	xnf_rx_refill(q, &notify);
	if (notify)
		kick(dev, dev->qs[qi].ev, dev->qs[qi].port_rx);
	faulted(dev, q);
}

int xnf_recv_burst_queue(struct xnf_dev *dev, unsigned qi,
			 struct xnf_frame *bufs, unsigned n)
{
	struct xnf_queue *q = rx_begin(dev, qi);
	unsigned got = 0;

	if (!q)
		return -1;
	while (got < n) {
		int rc = xnf_rx_next(q, &bufs[got]);

		if (rc == 1)
			got++;
		else if (rc != -ENOBUFS)
			break;
	}
	rx_end(dev, qi, q);
	moved(dev, qi, got);
	return (int)got;
}

int xnf_rx_take_queue(struct xnf_dev *dev, unsigned qi,
		      struct xnf_rx_view *views, unsigned n, size_t cap)
{
	struct xnf_queue *q = rx_begin(dev, qi);
	unsigned got = 0;

	if (!q)
		return -1;
	while (got < n) {
		int rc = xnf_rx_take(q, &views[got], cap);

		if (rc == 1)
			got++;
		else if (rc != -ENOBUFS)
			break;
	}
	faulted(dev, q);
	moved(dev, qi, got);
	return (int)got;
}

void xnf_rx_done_queue(struct xnf_dev *dev, unsigned qi)
{
	struct xnf_queue *q = queue_of(dev, qi);

	if (q)
		rx_end(dev, qi, q);
}

int xnf_queue_fd(const struct xnf_dev *dev, unsigned qi)
{
	if (dev->state != XNF_CONNECTED || qi >= dev->nqueues || !apart(dev)) {
		errno = dev->state != XNF_CONNECTED ? ENOTCONN : EINVAL;
		return -1;
	}
	return xnx_evtchn_fd(dev->qs[qi].ev);
}

/* As process_rings for one queue: an event that brought nothing may be
 * the backend closing its channel, which xnf_process looks into. */
int xnf_queue_events(struct xnf_dev *dev, unsigned qi)
{
	struct xnf_queue *q = queue_of(dev, qi);
	xenevtchn_port_or_error_t port;
	int n = 0, done;

	if (!q || !apart(dev))
		return q ? 0 : -1;
	for (; n < EVENT_BUDGET && (port = xnx_evtchn_pending(dev->qs[qi].ev)) >= 0; n++)
		xnx_evtchn_unmask(dev->qs[qi].ev, (evtchn_port_t)port);
	if (n == 0)
		return 0;
	done = xnf_tx_gc(q);
	if (done < 0 || q->broken)
		return 1;
	if (done > 0 || RING_HAS_UNCONSUMED_RESPONSES(&q->rx) || xnf_rx_ready(q))
		return 0;
	__atomic_store_n(&dev->qs[qi].look, true, __ATOMIC_RELEASE);
	return 1;
}

int xnf_queue_rearm(struct xnf_dev *dev, unsigned qi)
{
	struct xnf_queue *q = queue_of(dev, qi);

	if (!q)
		return -1;
	/* Completions are collected here: a thread with nothing to send
	 * would otherwise find them waiting at every look. */
	if (xnf_tx_gc(q) < 0 || q->broken) {
		errno = ENOTCONN;
		return -1;
	}
	return xnf_rx_ready(q) | xnf_queue_arm(q);
}

/* Every queue in turn, starting where the last call stopped so one busy
 * queue cannot starve the others. */
int xnf_recv_burst(struct xnf_dev *dev, struct xnf_frame *bufs, unsigned n)
{
	unsigned got = 0, nq = dev->nqueues;

	if (dev->state != XNF_CONNECTED) {
		errno = ENOTCONN;
		return -1;
	}
	for (unsigned k = 0; k < nq && got < n; k++) {
		unsigned qi = (dev->rx_next + k) % nq;
		int r = xnf_recv_burst_queue(dev, qi, bufs + got, n - got);

		if (r < 0)
			return got ? (int)got : -1;
		got += (unsigned)r;
	}
	dev->rx_next = (dev->rx_next + 1) % nq;
	return (int)got;
}

/* Filter changes go on queue 0, as any frame might. */
static int mcast(struct xnf_dev *dev, uint8_t type, const uint8_t mac[6])
{
	struct xnf_queue *q;
	bool notify;
	int rc;

	if (dev->state != XNF_CONNECTED) {
		errno = ENOTCONN;
		return -1;
	}
	if (!xnf_mcast_filtering(dev)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	q = dev->qs[0].q;
	if (xnf_tx_gc(q) < 0 && queue_broken(dev)) {
		errno = ENOTCONN;
		return -1;
	}
	rc = xnf_tx_put_mcast(q, type, mac);
	if (rc == -EPIPE) {
		queue_broken(dev);
		rc = -ENOTCONN;
	}
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	xnf_tx_push(q, &notify);
	if (notify)
		kick(dev, dev->qs[0].ev, dev->qs[0].port_tx);
	return 0;
}

int xnf_mcast_add(struct xnf_dev *dev, const uint8_t mac[6])
{
	return mcast(dev, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, mac);
}

int xnf_mcast_del(struct xnf_dev *dev, const uint8_t mac[6])
{
	return mcast(dev, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, mac);
}

int xnf_mcast_filtering(const struct xnf_dev *dev)
{
	return dev->state == XNF_CONNECTED && dev->feat.mcast &&
	       (dev->cfg.flags & XNF_CFG_MCAST_CONTROL);
}

int xnf_tx_ready_queue(const struct xnf_dev *dev, unsigned qi)
{
	if (dev->state != XNF_CONNECTED || qi >= dev->nqueues)
		return 0;
	return xnf_tx_room(dev->qs[qi].q, dev->feat.sg ? XNF_FRAME_MAX : XNF_PAGE_SIZE);
}

int xnf_tx_ready(const struct xnf_dev *dev)
{
	return xnf_tx_ready_queue(dev, 0);
}

unsigned xnf_backend_offloads(const struct xnf_dev *dev)
{
	if (dev->state != XNF_CONNECTED)
		return 0;
	return XNF_OFFLOAD_CSUM | dev->qs[0].q->gso;
}

unsigned xnf_queues(const struct xnf_dev *dev)
{
	return dev->nqueues;
}

int xnf_carrier(const struct xnf_dev *dev)
{
	return !dev->carrier_off;
}

unsigned xnf_devid(const struct xnf_dev *dev)
{
	return dev->devid;
}

void xnf_mac(const struct xnf_dev *dev, uint8_t mac[6])
{
	memcpy(mac, dev->mac, 6);
}

unsigned xnf_mtu(const struct xnf_dev *dev)
{
	return dev->mtu;
}

/* Sum of the queues' counters, the earlier connections' included. */
void xnf_get_stats(const struct xnf_dev *dev, struct xnf_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < XNF_MAX_QUEUES; i++) {
		const struct xnf_queue *q = dev->qs[i].q;

		stats_add(out, &dev->past[i]);
		if (q)
			stats_add(out, &q->stats);
	}
}

int xnf_get_queue_stats(const struct xnf_dev *dev, unsigned qi, struct xnf_stats *out)
{
	if (qi >= XNF_MAX_QUEUES) {
		errno = EINVAL;
		return -1;
	}
	*out = dev->past[qi];
	if (dev->qs[qi].q)
		stats_add(out, &dev->qs[qi].q->stats);
	return 0;
}

unsigned xnf_reconnects(const struct xnf_dev *dev)
{
	return dev->reconnects;
}
