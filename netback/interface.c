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

#include "xnb_vif.h"
#include "xnx_log.h"

static int io_grant_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	struct xnb_vif *vif = ctx;

	return xnx_gnttab_grant_copy(vif->be->gnt, n, segs) < 0 ? -errno : 0;
}

static void io_notify(void *ctx, uint32_t port)
{
	struct xnb_vif *vif = ctx;

	if (xnx_evtchn_notify(vif->be->evt, port) < 0)
		xnx_warn("%s: notify port %u: %s", vif->path, port, strerror(errno));
}

static ssize_t io_tap_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct xnb_vif *vif = ctx;

	return xnb_tap_write(&vif->tap, iov, iovcnt);
}

static ssize_t io_tap_read(void *ctx, void *buf, size_t len)
{
	struct xnb_vif *vif = ctx;

	return xnb_tap_read(&vif->tap, buf, len);
}

/* Bind the frontend's port(s); -errno with WHY on failure. */
static int bind_ports(struct xnb_vif *vif, const struct xnb_fe_conf *c, char *why,
		      size_t whylen)
{
	xenevtchn_port_or_error_t tx, rx;

	tx = xnx_evtchn_bind_interdomain(vif->be->evt, vif->domid, c->evtchn_tx);
	if (tx < 0) {
		snprintf(why, whylen, "binding event channel %u: %s", c->evtchn_tx, strerror(errno));
		return -EINVAL;
	}
	rx = tx;
	if (c->split) {
		rx = xnx_evtchn_bind_interdomain(vif->be->evt, vif->domid, c->evtchn_rx);
		if (rx < 0) {
			snprintf(why, whylen, "binding event channel %u: %s", c->evtchn_rx,
				 strerror(errno));
			xnx_evtchn_unbind(vif->be->evt, (evtchn_port_t)tx);
			return -EINVAL;
		}
	}
	vif->queue->tx_port = (uint32_t)tx;
	vif->queue->rx_port = (uint32_t)rx;
	return 0;
}

/* Map one ring page read-write. */
static void *map_ring(struct xnb_vif *vif, uint32_t ref, const char *what, char *why,
		      size_t whylen)
{
	void *p = xnx_gnttab_map_grant_ref(vif->be->gnt, vif->domid, ref, PROT_READ | PROT_WRITE);

	if (!p)
		snprintf(why, whylen, "mapping %s %u: %s", what, ref, strerror(errno));
	return p;
}

int xnb_vif_connect(struct xnb_vif *vif, const struct xnb_fe_conf *c, char *why,
		    size_t whylen)
{
	int rc;

	vif->io = (struct xnb_io){ .grant_copy = io_grant_copy, .notify = io_notify,
				   .tap_write = io_tap_write, .tap_read = io_tap_read,
				   .ctx = vif };
	vif->queue = calloc(1, sizeof(*vif->queue));
	if (!vif->queue) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	vif->tx_map = map_ring(vif, c->tx_ring_ref, "tx-ring-ref", why, whylen);
	if (!vif->tx_map)
		goto err_free;
	vif->rx_map = map_ring(vif, c->rx_ring_ref, "rx-ring-ref", why, whylen);
	if (!vif->rx_map)
		goto err_unmap_tx;
	rc = xnb_queue_init(vif->queue, 0, vif->domid, vif->tx_map, vif->rx_map, &c->feat,
			    &vif->io, &vif->stats);
	if (rc < 0) {
		snprintf(why, whylen, "queue setup: %s", strerror(-rc));
		goto err_unmap_rx;
	}
	if (bind_ports(vif, c, why, whylen) < 0)
		goto err_fini;
	rc = xnb_tap_set_offload(&vif->tap, &c->feat);
	if (rc < 0)
		xnx_warn("%s: TAP offloads: %s (continuing without)", vif->path, strerror(-rc));
	rc = xnb_backend_add_tap(vif);
	if (rc < 0) {
		snprintf(why, whylen, "watching %s: %s", vif->tap.name, strerror(-rc));
		goto err_unbind;
	}
	xnb_credit_set(&vif->queue->credit, vif->rate_bytes, vif->rate_usec, xnx_now_ns());
	vif->conf = *c;
	vif->connected = true;
	vif->tx_pending = vif->rx_pending = true;	/* whatever is queued already */
	vif->rx_waiting = false;
	return 0;

err_unbind:
	xnx_evtchn_unbind(vif->be->evt, vif->queue->tx_port);
	if (vif->queue->rx_port != vif->queue->tx_port)
		xnx_evtchn_unbind(vif->be->evt, vif->queue->rx_port);
err_fini:
	xnb_queue_fini(vif->queue);
err_unmap_rx:
	xnx_gnttab_unmap(vif->be->gnt, vif->rx_map, 1);
	vif->rx_map = NULL;
err_unmap_tx:
	xnx_gnttab_unmap(vif->be->gnt, vif->tx_map, 1);
	vif->tx_map = NULL;
err_free:
	free(vif->queue);
	vif->queue = NULL;
	return -EINVAL;
}

void xnb_vif_disconnect(struct xnb_vif *vif)
{
	struct xnb_queue *q = vif->queue;

	if (!vif->connected)
		return;
	vif->connected = false;
	xnb_backend_del_tap(vif);
	xnx_evtchn_unbind(vif->be->evt, q->tx_port);
	if (q->rx_port != q->tx_port)
		xnx_evtchn_unbind(vif->be->evt, q->rx_port);
	xnb_queue_fini(q);
	if (xnx_gnttab_unmap(vif->be->gnt, vif->tx_map, 1) < 0 ||
	    xnx_gnttab_unmap(vif->be->gnt, vif->rx_map, 1) < 0)
		xnx_warn("%s: unmapping rings: %s", vif->path, strerror(errno));
	vif->tx_map = vif->rx_map = NULL;
	free(q);
	vif->queue = NULL;
	vif->tx_pending = vif->rx_pending = vif->rx_waiting = vif->tx_throttled = false;
	xnx_info("%s: disconnected", vif->path);
}

/* Run one side; a violation is reported to the caller. */
static enum xnb_work run_side(struct xnb_vif *vif, bool tx)
{
	struct xnb_queue *q = vif->queue;
	enum xnb_work w = tx ? xnb_tx_run(q) : xnb_rx_run(q);

	if (tx) {
		vif->tx_pending = w == XNB_MORE || w == XNB_THROTTLED;
		vif->tx_throttled = w == XNB_THROTTLED;
		return w;
	}
	vif->rx_pending = w == XNB_MORE;
	vif->rx_waiting = w == XNB_WAIT;
	/* While a frame waits for buffers, leave the rest in the TAP. */
	xnb_backend_pause_tap(vif, vif->rx_waiting);
	return w;
}

enum xnb_work xnb_vif_run(struct xnb_vif *vif)
{
	if (!vif->connected)
		return XNB_IDLE;
	if (vif->tx_pending && run_side(vif, true) == XNB_BROKEN)
		return XNB_BROKEN;
	if (vif->rx_pending && run_side(vif, false) == XNB_BROKEN)
		return XNB_BROKEN;
	if (vif->rx_pending || (vif->tx_pending && !vif->tx_throttled))
		return XNB_MORE;
	if (vif->tx_throttled)
		return XNB_THROTTLED;
	return vif->rx_waiting ? XNB_WAIT : XNB_IDLE;
}

void xnb_vif_set_rate(struct xnb_vif *vif, uint64_t bytes, uint64_t usec)
{
	if (vif->rate_bytes == bytes && vif->rate_usec == usec)
		return;
	vif->rate_bytes = bytes;
	vif->rate_usec = usec;
	if (vif->connected)
		xnb_credit_set(&vif->queue->credit, bytes, usec, xnx_now_ns());
}
