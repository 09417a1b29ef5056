/*
 * rx.c — backend → guest: writable-granted buffers posted to the rx ring and
 * refilled, responses copied off the ring once and validated (id, slot,
 * status, size), frames reassembled from private copies only (or, for
 * xnf_rx_take, handed out as spans of the receive pages, checked alike).
 */
#include <errno.h>

#include "queue.h"
#include "xnx_log.h"

#define RX_MASK (XNF_RX_RING_SIZE - 1)
/* Most slots one frame may hold: its fragments plus one extra-info slot per
 * extra type. More is a protocol violation. */
#define RX_FRAME_SLOTS XNF_RX_SPANS

_Static_assert(sizeof(struct netif_extra_info) == sizeof(struct netif_rx_response),
	       "an extra-info overlays an rx response");

void xnf_rx_refill(struct xnf_queue *q, bool *notify)
{
	RING_IDX idx = q->rx.req_prod_pvt;
	int n;

	*notify = false;
	if (q->broken || idx - q->rx_done >= q->rx_window)
		return;
	for (; idx - q->rx_done < q->rx_window; idx++) {
		uint16_t id = (uint16_t)(idx & RX_MASK);
		struct netif_rx_request req = {
			.id = id,
			.gref = q->rx_refs[idx & (q->rx_window - 1)],
		};

		XNX_BUG_ON(q->rx_posted[id]);
		*RING_GET_REQUEST(&q->rx, idx) = req;
		q->rx_posted[id] = true;
	}
	q->rx.req_prod_pvt = idx;
	/* Requests before req_prod, req_prod before req_event: see tx_push. */
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->rx, n);
	q->rx_published = q->rx.req_prod_pvt;
	*notify = n;
	if (n)
		q->stats.notify_rx++;
}

/* An extra-info slot: only its type is checked; its buffer is free again. */
static int take_extra(struct xnf_queue *q, RING_IDX idx,
		      struct netif_rx_response raw)
{
	struct xnf_rx_slot *s = &q->rx_slot[idx & RX_MASK];
	struct netif_extra_info ex;

	memcpy(&ex, &raw, sizeof(ex));
	if (ex.type == XEN_NETIF_EXTRA_TYPE_NONE ||
	    ex.type >= XEN_NETIF_EXTRA_TYPE_MAX) {
		xnf_queue_break(q, "rx slot %u: extra-info type %u out of range",
				idx, ex.type);
		return -EPIPE;
	}
	q->rx_posted[idx & RX_MASK] = false;
	s->extra = true;
	s->u.ex = ex;
	q->rx_want_extra = ex.flags & XEN_NETIF_EXTRA_FLAG_MORE;
	return 0;
}

static int take_data(struct xnf_queue *q, RING_IDX idx,
		     struct netif_rx_response rsp)
{
	unsigned slot = idx & RX_MASK;

	if (rsp.id >= XNF_RX_RING_SIZE) {
		xnf_queue_break(q, "rx response %u: id %u out of range", idx, rsp.id);
		return -EPIPE;
	}
	if (!q->rx_posted[rsp.id]) {
		xnf_queue_break(q, "rx response %u: id %u is not outstanding",
				idx, rsp.id);
		return -EPIPE;
	}
	if (rsp.id != slot) {
		xnf_queue_break(q, "rx response %u: id %u belongs to slot %u, "
				"not %u", idx, rsp.id, rsp.id, slot);
		return -EPIPE;
	}
	if (rsp.status < NETIF_RSP_DROPPED) {
		xnf_queue_break(q, "rx response %u: status %d out of range",
				idx, rsp.status);
		return -EPIPE;
	}
	if (rsp.status > 0 &&
	    (unsigned)rsp.offset + (unsigned)rsp.status > XNF_PAGE_SIZE) {
		xnf_queue_break(q, "rx response %u: offset %u + size %d is "
				"larger than the %u-byte buffer posted", idx,
				rsp.offset, rsp.status, (unsigned)XNF_PAGE_SIZE);
		return -EPIPE;
	}
	q->rx_posted[slot] = false;
	q->rx_slot[slot].extra = false;
	q->rx_slot[slot].u.rsp = rsp;
	q->rx_want_extra = rsp.flags & NETRXF_extra_info;
	return 0;
}

int xnf_rx_pull(struct xnf_queue *q)
{
	RING_IDX prod, cons = q->rx.rsp_cons;
	int n = 0;

	if (q->broken)
		return -EPIPE;
	prod = __atomic_load_n(&q->rx.sring->rsp_prod, __ATOMIC_RELAXED);
	if (xnf_check_rsp_prod(q, "rx", prod, cons, q->rx_published) < 0)
		return -EPIPE;
	/* Responses are read after rsp_prod: pairs with the wmb in the
	 * backend's RING_PUSH_RESPONSES. */
	xen_rmb();
	for (; cons != prod; cons++, n++) {
		struct netif_rx_response rsp;
		int rc;

		RING_COPY_RESPONSE(&q->rx, cons, &rsp);
		rc = q->rx_want_extra ? take_extra(q, cons, rsp)
				      : take_data(q, cons, rsp);
		if (rc < 0)
			return rc;
		q->rx.rsp_cons = cons + 1;
	}
	return n;
}

/* What the slots from rx_done on hold: the end of the first complete frame,
 * its length, and whether the backend flagged an error in it. */
struct rx_extent {
	RING_IDX end;
	size_t len;
	bool error;
	uint16_t flags;
	uint16_t gso_type, gso_size;	/* XNF_GSO_* from a GSO extra */
};

/* A GSO extra-info: its type mapped to ours; an unknown type or a zero
 * segment size makes the frame unusable (dropped, counted). */
static void take_gso(struct rx_extent *e, const struct netif_extra_info *ex)
{
	if (ex->type != XEN_NETIF_EXTRA_TYPE_GSO)
		return;		/* hash, multicast: nothing for us */
	e->gso_size = ex->u.gso.size;
	if (ex->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4)
		e->gso_type = XNF_GSO_TCPV4;
	else if (ex->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6)
		e->gso_type = XNF_GSO_TCPV6;
	else
		e->error = true;
	if (e->gso_size == 0)
		e->error = true;
}

/* 1 and E filled if a whole frame is waiting, 0 if not yet, -EPIPE if it
 * already spans more slots than any frame may. The slot kinds were fixed by
 * xnf_rx_pull using the same chaining rules. */
static int rx_extent(struct xnf_queue *q, struct rx_extent *e)
{
	bool want_extra = false, more = true;
	unsigned nslots = 0;

	memset(e, 0, sizeof(*e));
	for (RING_IDX idx = q->rx_done; idx != q->rx.rsp_cons; idx++) {
		const struct xnf_rx_slot *s = &q->rx_slot[idx & RX_MASK];

		if (++nslots > RX_FRAME_SLOTS) {
			xnf_queue_break(q, "rx frame at %u spans more than %u "
					"slots", q->rx_done, RX_FRAME_SLOTS);
			return -EPIPE;
		}
		XNX_BUG_ON(s->extra != want_extra);
		if (s->extra) {
			take_gso(e, &s->u.ex);
			want_extra = s->u.ex.flags & XEN_NETIF_EXTRA_FLAG_MORE;
		} else {
			if (nslots == 1)
				e->flags = s->u.rsp.flags;
			if (s->u.rsp.status < 0)
				e->error = true;
			else
				e->len += (size_t)s->u.rsp.status;
			want_extra = s->u.rsp.flags & NETRXF_extra_info;
			more = s->u.rsp.flags & NETRXF_more_data;
		}
		if (!want_extra && !more) {
			e->end = idx + 1;
			return 1;
		}
	}
	return 0;
}

static const uint8_t *rx_page(const struct xnf_queue *q, RING_IDX idx)
{
	return q->rx_pages + (size_t)(idx & (q->rx_window - 1)) * XNF_PAGE_SIZE;
}

/* The data of slots [start, end) as spans of their pages into IOV: how
 * many (at most RX_FRAME_SLOTS, as rx_extent made sure). */
static unsigned rx_spans(const struct xnf_queue *q, RING_IDX start, RING_IDX end,
			 struct iovec *iov)
{
	unsigned n = 0;

	for (RING_IDX idx = start; idx != end; idx++) {
		const struct xnf_rx_slot *s = &q->rx_slot[idx & RX_MASK];

		if (s->extra || s->u.rsp.status <= 0)
			continue;
		iov[n].iov_base = (void *)(rx_page(q, idx) + s->u.rsp.offset);
		iov[n].iov_len = (size_t)s->u.rsp.status;
		n++;
	}
	return n;
}

/* The next complete frame: its length and offload fields into OUT (not its
 * data), and its slots taken (rx_done past them; *START where they begin).
 * 1, 0 none complete, -ENOBUFS (dropped: errored by the backend, or longer
 * than OUT's CAP; counted), -EPIPE. */
static int rx_frame(struct xnf_queue *q, struct xnf_frame *out, RING_IDX *start)
{
	struct rx_extent e;
	int rc;

	if (q->broken)
		return -EPIPE;
	rc = rx_extent(q, &e);
	if (rc <= 0)
		return rc;
	*start = q->rx_done;
	q->rx_done = e.end;	/* the buffers may be posted again at refill */
	if (e.error || e.len == 0) {
		q->stats.rx_errors++;
		return -ENOBUFS;
	}
	if (e.len > out->cap) {
		q->stats.rx_dropped++;
		return -ENOBUFS;
	}
	out->len = (uint32_t)e.len;
	/* A GSO frame's checksum is partial whatever the flags say (Linux
	 * netfront treats it so for older backends). */
	out->flags = (e.flags & NETRXF_csum_blank ||
		      e.gso_type != XNF_GSO_NONE ? XNF_F_CSUM_BLANK : 0) |
		     (e.flags & NETRXF_data_validated ? XNF_F_DATA_VALIDATED : 0);
	out->gso_type = e.gso_type;
	out->gso_size = e.gso_type != XNF_GSO_NONE ? e.gso_size : 0;
	q->stats.rx_frames++;
	q->stats.rx_bytes += e.len;
	return 1;
}

int xnf_rx_next(struct xnf_queue *q, struct xnf_frame *out)
{
	struct xnf_rx_view v;
	RING_IDX start;
	int rc = rx_frame(q, out, &start);

	if (rc == 1) {
		v.n = rx_spans(q, start, q->rx_done, v.iov);
		xnf_rx_view_copy(&v, out->data, out->len);
	}
	return rc;
}

int xnf_rx_take(struct xnf_queue *q, struct xnf_rx_view *v, size_t cap)
{
	RING_IDX start;
	int rc;

	memset(&v->f, 0, sizeof(v->f));
	v->f.cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	v->n = 0;
	rc = rx_frame(q, &v->f, &start);
	if (rc == 1)
		v->n = rx_spans(q, start, q->rx_done, v->iov);
	return rc;
}

void xnf_rx_view_copy(const struct xnf_rx_view *v, void *dst, size_t len)
{
	uint8_t *out = dst;

	for (unsigned k = 0; k < v->n && len > 0; k++) {
		size_t c = v->iov[k].iov_len < len ? v->iov[k].iov_len : len;

		memcpy(out, v->iov[k].iov_base, c);
		out += c;
		len -= c;
	}
}

unsigned xnf_rx_view_tail(const struct xnf_rx_view *v, size_t skip,
			  struct iovec *out)
{
	unsigned n = 0;

	for (unsigned k = 0; k < v->n; k++) {
		size_t l = v->iov[k].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		out[n].iov_base = (uint8_t *)v->iov[k].iov_base + skip;
		out[n].iov_len = l - skip;
		skip = 0;
		n++;
	}
	return n;
}

bool xnf_rx_ready(struct xnf_queue *q)
{
	struct rx_extent e;

	return !q->broken && rx_extent(q, &e) == 1;
}
