/*
 * interface.c — connect and disconnect one vif: the only place where what
 * xenstore said (ring refs, ports, features) meets the rings, the grant
 * table, the event channels and the TAP. Also the real struct xnb_io.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xnb_ctrl.h"
#include "xnb_policy.h"
#include "xnb_vif.h"
#include "xnx_log.h"

/* Static grants (control ring) by memcpy, the rest by grant copy. */
static int io_grant_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	struct xnb_vq *vq = ctx;

	vq->copy_calls++;
	vq->copy_segs += n;
	return xnb_vq_grant_copy(ctx, n, segs);
}

/* Counted as io_grant_copy and xnb_vq_grant_copy count static grants. */
static void io_copied_static(void *ctx, unsigned n, bool call)
{
	struct xnb_vq *vq = ctx;

	vq->copy_calls += call;
	vq->copy_segs += n;
	vq->static_segs += n;
}

static void io_notify(void *ctx, uint32_t port)
{
	struct xnb_vq *vq = ctx;

	if (xnx_evtchn_notify(vq->evt, port) < 0)
		xnx_warn("%s: notify port %u: %s", vq->vif->path, port, strerror(errno));
}

static ssize_t io_tap_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct xnb_vq *vq = ctx;
	struct xnb_tap t = { .fd = vq->tap_fd };

	return xnb_tap_write(&t, iov, iovcnt);
}

static ssize_t io_tap_readv(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct xnb_vq *vq = ctx;
	struct xnb_tap t = { .fd = vq->tap_fd };

	if (vq->vif->ctrl)
		return xnb_vq_tap_readv(vq, iov, iovcnt);	/* steered by the frontend's hash */
	return xnb_tap_readv(&t, iov, iovcnt);
}

static ssize_t io_tap_read(void *ctx, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return io_tap_readv(ctx, &iov, 1);
}

static void *io_gref_page(void *ctx, uint32_t ref, bool write)
{
	return xnb_vq_gref_page(ctx, ref, write);
}

static void io_rx_hash(void *ctx, struct xnb_rx_pkt *pkt)
{
	xnb_vq_rx_hash(ctx, pkt);
}

/* The vif's carrier is off while any of its queues is stalled (as Linux). */
static void io_carrier(void *ctx, bool on)
{
	struct xnb_vq *vq = ctx;
	struct xnb_vif *vif = vq->vif;
	bool stalled = false;
	int rc;

	/* Other queues' flags, read while their workers may set them. */
	for (unsigned i = 0; i < vif->nqueues; i++)
		stalled |= vif->vq[i].q && __atomic_load_n(&vif->vq[i].q->rx_stalled,
							    __ATOMIC_RELAXED);
	rc = xnb_tap_carrier(vq->tap_fd, !stalled);
	if (rc < 0)
		xnx_warn("%s: carrier %s: %s", vif->path, on ? "on" : "off", strerror(-rc));
}

/* Bind the frontend's port(s) for one queue; -EINVAL with WHY on failure. */
static int bind_ports(struct xnb_vq *vq, const struct xnb_fe_queue *c, char *why,
		      size_t whylen)
{
	xnx_evtchn *evt = vq->evt;
	uint32_t domid = vq->vif->domid;
	xenevtchn_port_or_error_t tx, rx;

	tx = xnx_evtchn_bind_interdomain(evt, domid, c->evtchn_tx);
	if (tx < 0) {
		snprintf(why, whylen, "queue %u: binding event channel %u: %s", vq->idx,
			 c->evtchn_tx, strerror(errno));
		return -EINVAL;
	}
	rx = tx;
	if (c->split) {
		rx = xnx_evtchn_bind_interdomain(evt, domid, c->evtchn_rx);
		if (rx < 0) {
			snprintf(why, whylen, "queue %u: binding event channel %u: %s", vq->idx,
				 c->evtchn_rx, strerror(errno));
			xnx_evtchn_unbind(evt, (evtchn_port_t)tx);
			return -EINVAL;
		}
	}
	vq->q->tx_port = (uint32_t)tx;
	vq->q->rx_port = (uint32_t)rx;
	return 0;
}

static void unbind_ports(struct xnb_vq *vq)
{
	xnx_evtchn *evt = vq->evt;

	xnx_evtchn_unbind(evt, vq->q->tx_port);
	if (vq->q->rx_port != vq->q->tx_port)
		xnx_evtchn_unbind(evt, vq->q->rx_port);
}

/* Map one ring page read-write. */
static void *map_ring(struct xnb_vq *vq, uint32_t ref, const char *what, char *why,
		      size_t whylen)
{
	void *p = xnx_gnttab_map_grant_ref(vq->vif->be->gnt, vq->vif->domid, ref,
					   PROT_READ | PROT_WRITE);

	if (!p)
		snprintf(why, whylen, "queue %u: mapping %s %u: %s", vq->idx, what, ref,
			 strerror(errno));
	return p;
}

static void unmap_rings(struct xnb_vq *vq)
{
	xnx_gnttab *gnt = vq->vif->be->gnt;

	if ((vq->rx_map && xnx_gnttab_unmap(gnt, vq->rx_map, 1) < 0) ||
	    (vq->tx_map && xnx_gnttab_unmap(gnt, vq->tx_map, 1) < 0))
		xnx_warn("%s: queue %u: unmapping rings: %s", vq->vif->path, vq->idx,
			 strerror(errno));
	vq->tx_map = vq->rx_map = NULL;
}

/* The TAP side of queue I: queue 0 owns the vif's fd, the others attach. */
static int open_tap_queue(struct xnb_vq *vq, char *why, size_t whylen)
{
	struct xnb_vif *vif = vq->vif;

	vq->tap_fd = vq->idx == 0 ? vif->tap.fd : xnb_tap_attach_queue(&vif->tap);
	if (vq->tap_fd < 0) {
		snprintf(why, whylen, "queue %u: attaching to %s: %s", vq->idx, vif->tap.name,
			 strerror(-vq->tap_fd));
		return -EINVAL;
	}
	return 0;
}

static void close_tap_queue(struct xnb_vq *vq)
{
	if (vq->idx != 0 && vq->tap_fd >= 0)
		close(vq->tap_fd);
	vq->tap_fd = -1;
}

/* The queue's own event channel handle: its worker waits on it alone. */
static int open_evtchn(struct xnb_vq *vq, char *why, size_t whylen)
{
	vq->evt = xnx_evtchn_open();
	if (!vq->evt) {
		snprintf(why, whylen, "queue %u: opening event channels: %s", vq->idx,
			 strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static void close_evtchn(struct xnb_vq *vq)
{
	if (vq->evt)
		xnx_evtchn_close(vq->evt);
	vq->evt = NULL;
}

/* Undo connect_queue, in reverse (its worker already stopped). */
static void disconnect_queue(struct xnb_vq *vq)
{
	xnb_stats_add(&vq->vif->stats, &vq->stats);	/* the vif's totals live on */
	close_tap_queue(vq);
	unbind_ports(vq);
	close_evtchn(vq);
	xnb_queue_fini(vq->q);
	unmap_rings(vq);
	free(vq->q);
	pthread_mutex_destroy(&vq->lock);
	memset(vq, 0, sizeof(*vq));
	vq->tap_fd = vq->rx_fd = vq->epfd = vq->wake_fd = -1;
}

/* The queue's I/O: the TAP, unless the backend's hook says otherwise. */
static void setup_io(struct xnb_vq *vq)
{
	const struct xnb_io_hook *h = &vq->vif->be->hook;

	vq->io = (struct xnb_io){ .grant_copy = io_grant_copy, .notify = io_notify,
				  .tap_write = io_tap_write, .tap_read = io_tap_read,
				  .tap_readv = io_tap_readv,
				  .carrier = io_carrier, .rx_hash = io_rx_hash,
				  .gref_page = io_gref_page, .copied_static = io_copied_static,
				  .ctx = vq };
	vq->rx_fd = vq->tap_fd;
	if (h->connect) {
		vq->io.tap_readv = NULL;	/* the hook's own, or none */
		h->connect(h->arg, vq, &vq->io, &vq->rx_fd);
	}
}

/* Queue I: map, set up, bind, attach its TAP queue, watch it. */
static int connect_queue(struct xnb_vif *vif, unsigned i, const struct xnb_fe_conf *c,
			 char *why, size_t whylen)
{
	struct xnb_vq *vq = &vif->vq[i];
	const struct xnb_fe_queue *fq = &c->q[i];
	int rc;

	*vq = (struct xnb_vq){ .vif = vif, .idx = i, .tap_fd = -1, .rx_fd = -1, .epfd = -1,
			       .wake_fd = -1 };
	pthread_mutex_init(&vq->lock, NULL);
	vq->q = calloc(1, sizeof(*vq->q));
	if (!vq->q) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	vq->tx_map = map_ring(vq, fq->tx_ring_ref, "tx-ring-ref", why, whylen);
	if (!vq->tx_map)
		goto err_free;
	vq->rx_map = map_ring(vq, fq->rx_ring_ref, "rx-ring-ref", why, whylen);
	if (!vq->rx_map)
		goto err_unmap;
	rc = xnb_queue_init(vq->q, i, vif->domid, vq->tx_map, vq->rx_map, &c->feat, &vq->io,
			    &vq->stats);
	if (rc < 0) {
		snprintf(why, whylen, "queue %u: setup: %s", i, strerror(-rc));
		goto err_unmap;
	}
	vq->q->mcast = &vif->mcast;
	vq->q->policy = &vif->policy;
	if (open_evtchn(vq, why, whylen) < 0)
		goto err_fini;
	if (bind_ports(vq, fq, why, whylen) < 0)
		goto err_evtchn;
	if (open_tap_queue(vq, why, whylen) < 0)
		goto err_unbind;
	setup_io(vq);
	xnb_credit_set(&vq->q->credit, vif->rate_bytes, vif->rate_usec, xnx_now_ns());
	return 0;

err_unbind:
	unbind_ports(vq);
err_evtchn:
	close_evtchn(vq);
err_fini:
	xnb_queue_fini(vq->q);
err_unmap:
	unmap_rings(vq);
err_free:
	free(vq->q);
	vq->q = NULL;
	pthread_mutex_destroy(&vq->lock);
	return -EINVAL;
}

int xnb_vif_connect(struct xnb_vif *vif, const struct xnb_fe_conf *c, char *why,
		    size_t whylen)
{
	int rc;

	for (unsigned i = 0; i < c->nqueues; i++) {
		if (connect_queue(vif, i, c, why, whylen) < 0) {
			while (i-- > 0)
				disconnect_queue(&vif->vq[i]);
			return -EINVAL;
		}
	}
	if (xnb_vif_ctrl_connect(vif, c, why, whylen) < 0)
		goto err_queues;
	rc = xnb_tap_set_offload(&vif->tap, &c->feat);
	if (rc < 0)
		xnx_warn("%s: TAP offloads: %s (continuing without)", vif->path, strerror(-rc));
	xnb_tap_carrier(vif->tap.fd, true);	/* a stall of a former connection is over */
	vif->nqueues = c->nqueues;
	vif->conf = *c;
	vif->broken = NULL;
	vif->workers = false;	/* started by the main loop's next turn */
	vif->connected = true;
	return 0;

err_queues:
	for (unsigned i = c->nqueues; i-- > 0;)
		disconnect_queue(&vif->vq[i]);
	vif->nqueues = 0;
	return -EINVAL;
}

void xnb_vif_disconnect(struct xnb_vif *vif)
{
	if (!vif->connected)
		return;
	vif->connected = false;
	xnb_workers_stop(vif, vif->nqueues);	/* nobody uses the rings any more */
	xnb_vif_ctrl_disconnect(vif);	/* its static grants first: queues use them */
	for (unsigned i = vif->nqueues; i-- > 0;)
		disconnect_queue(&vif->vq[i]);
	vif->nqueues = 0;
	vif->mcast.n = 0;	/* the next connection starts a fresh list */
	xnx_info("%s: disconnected", vif->path);
	xnb_policy_log_stats(vif->path, &vif->stats);
}

/* The workers start once the loop turn that connected the vif is over, so
 * that what follows a connect in that turn (recover.c reattaching to rings
 * a previous instance served) happens before any queue is served. */
static enum xnb_work ensure_workers(struct xnb_vif *vif)
{
	static char why[XNB_REASON_MAX];
	int rc;

	if (vif->workers)
		return XNB_IDLE;
	rc = xnb_workers_start(vif, vif->nqueues);
	if (rc < 0) {
		snprintf(why, sizeof(why), "starting the queues' workers: %s", strerror(-rc));
		vif->broken = why;
		return XNB_BROKEN;
	}
	vif->workers = true;
	return XNB_IDLE;
}

enum xnb_work xnb_vif_run(struct xnb_vif *vif)
{
	enum xnb_work w;

	if (!vif->connected)
		return XNB_IDLE;
	if (ensure_workers(vif) == XNB_BROKEN)
		return XNB_BROKEN;
	for (unsigned i = 0; i < vif->nqueues; i++) {
		if (__atomic_load_n(&vif->vq[i].failed, __ATOMIC_ACQUIRE)) {
			vif->broken = vif->vq[i].q->reason;
			return XNB_BROKEN;
		}
	}
	/* Hash settings and static grants change between two rounds of every
	 * queue, never under one. */
	if (!xnb_vif_ctrl_pending(vif))
		return XNB_IDLE;
	xnb_vif_lock_queues(vif);
	w = xnb_vif_ctrl_run(vif);
	xnb_vif_unlock_queues(vif);
	return w;
}

void xnb_vif_set_rate(struct xnb_vif *vif, uint64_t bytes, uint64_t usec)
{
	if (vif->rate_bytes == bytes && vif->rate_usec == usec)
		return;
	vif->rate_bytes = bytes;
	vif->rate_usec = usec;
	for (unsigned i = 0; vif->connected && i < vif->nqueues; i++) {
		pthread_mutex_lock(&vif->vq[i].lock);
		xnb_credit_set(&vif->vq[i].q->credit, bytes, usec, xnx_now_ns());
		pthread_mutex_unlock(&vif->vq[i].lock);
	}
}
