/*
 * tx.c — guest → backend: frames copied into read-only-granted bounce pages
 * (the backend sees only the frame), requests built per netif.h, and the
 * responses checked against our own table of outstanding ids. A frame is
 * either copied in (xnf_tx_put) or read straight into the pages of free
 * slots by the caller (xnf_tx_reserve, then xnf_tx_commit or _cancel).
 */
#include <errno.h>
#include <stdlib.h>

#include "queue.h"
#include "vnet.h"
#include "xnx_log.h"

unsigned xnf_tx_slots(size_t len)
{
	return len == 0 ? 1 : (unsigned)((len + XNF_PAGE_SIZE - 1) / XNF_PAGE_SIZE);
}

/* Ring slots and bounce pages for NSLOTS data slots plus EXTRAS
 * extra-info slots (which take a ring slot but no page). */
static bool room(const struct xnf_queue *q, unsigned nslots, unsigned extras)
{
	return !q->broken && RING_FREE_REQUESTS(&q->tx) >= nslots + extras &&
	       q->tx_nfree >= nslots;
}

bool xnf_tx_room(const struct xnf_queue *q, size_t len)
{
	return room(q, xnf_tx_slots(len), q->gso ? 1 : 0);
}

static bool gso_ok(const struct xnf_queue *q, const struct xnf_frame *f)
{
	switch (f->gso_type) {
	case XNF_GSO_NONE:
		return true;
	case XNF_GSO_TCPV4:
		return (q->gso & XNF_OFFLOAD_GSO_TCPV4) && f->gso_size > 0;
	case XNF_GSO_TCPV6:
		return (q->gso & XNF_OFFLOAD_GSO_TCPV6) && f->gso_size > 0;
	default:
		return false;
	}
}

static int check_frame(const struct xnf_queue *q, const struct xnf_frame *f)
{
	if (f->len < XNF_FRAME_MIN || !gso_ok(q, f))
		return -EINVAL;
	if (f->len > XNF_FRAME_MAX)
		return -EMSGSIZE;
	if (!q->sg && f->len > XNF_PAGE_SIZE)
		return -EMSGSIZE;
	return 0;
}

/* A blank IPv6 checksum for a backend without feature-ipv6-csum-offload is
 * filled here, as Linux netfront's stack does when it drops IPv6 checksum
 * offload. */
static bool csum6_needed(const struct xnf_queue *q, const struct xnf_frame *f)
{
	return q->no_csum6 && (f->flags & XNF_F_CSUM_BLANK) &&
	       f->gso_type == XNF_GSO_NONE && xnf_frame_is_ipv6(f->data, f->len);
}

/* Fill F's checksum if needed; *DONE says so. A frame whose checksum cannot
 * be placed is refused (-EINVAL) rather than sent blank. */
static int csum6_fill(struct xnf_queue *q, const struct xnf_frame *f, bool *done)
{
	*done = false;
	if (!csum6_needed(q, f))
		return 0;
	if (xnf_csum_fill(f->data, f->len) < 0)
		return -EINVAL;
	*done = true;
	q->stats.tx_csum6_filled++;
	return 0;
}

/* First-slot flags; a GSO frame's checksum is always left to the backend,
 * as Linux netfront marks it. */
static uint16_t frame_flags(const struct xnf_frame *f, bool csum_done)
{
	uint16_t fl = 0;

	if (f->gso_type != XNF_GSO_NONE)
		fl |= NETTXF_csum_blank | NETTXF_data_validated | NETTXF_extra_info;
	if ((f->flags & XNF_F_CSUM_BLANK) && !csum_done)
		fl |= NETTXF_csum_blank;
	if (f->flags & XNF_F_DATA_VALIDATED)
		fl |= NETTXF_data_validated;
	return fl;
}

/* The GSO extra-info right after the first slot; it is answered with a
 * NETIF_RSP_NULL response, which tx_extras accounts for. */
static void put_gso_extra(struct xnf_queue *q, const struct xnf_frame *f)
{
	union {
		struct netif_tx_request req;
		struct netif_extra_info ex;
	} slot;

	memset(&slot, 0, sizeof(slot));
	slot.ex.type = XEN_NETIF_EXTRA_TYPE_GSO;
	slot.ex.u.gso.size = f->gso_size;
	slot.ex.u.gso.type = f->gso_type == XNF_GSO_TCPV4 ? XEN_NETIF_GSO_TYPE_TCPV4
							  : XEN_NETIF_GSO_TYPE_TCPV6;
	*RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt) = slot.req;
	q->tx.req_prod_pvt++;
	q->tx_extras++;
}

static uint8_t *tx_page(const struct xnf_queue *q, uint16_t id)
{
	return q->tx_pages + (size_t)id * XNF_PAGE_SIZE;
}

/* Fill slot ID, whose page holds CHUNK bytes of the frame: write the
 * request in one store. The first slot's size is the frame's total length
 * (netif.h "Guest transmit"); the others carry their own size. */
static void fill_slot(struct xnf_queue *q, uint16_t id, unsigned chunk,
		      uint16_t size, uint16_t flags)
{
	struct netif_tx_request req = {
		.gref = q->tx_refs[id],
		.offset = 0,
		.flags = flags,
		.id = id,
		.size = size,
	};

	XNX_BUG_ON(q->tx_pending[id]);
	/* The backend can read the whole page: clear what an earlier, longer
	 * frame left after this one (pages start zeroed). */
	if (q->tx_used[id] > chunk)
		memset(tx_page(q, id) + chunk, 0, q->tx_used[id] - chunk);
	q->tx_used[id] = (uint16_t)chunk;
	q->tx_pending[id] = true;
	*RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt) = req;
	q->tx.req_prod_pvt++;
}

/* Take a free page, copy CHUNK bytes of the frame in, fill its slot. */
static void put_slot(struct xnf_queue *q, const uint8_t *src, unsigned chunk,
		     uint16_t size, uint16_t flags)
{
	uint16_t id = q->tx_free[--q->tx_nfree];

	memcpy(tx_page(q, id), src, chunk);
	fill_slot(q, id, chunk, size, flags);
}

/* The requests of frame F (checked, room made sure of): the first slot,
 * its GSO extra-info if any, the other slots. With IDS, the frame is
 * already in the pages of those slots; else it is copied from F->data into
 * free pages. */
static void put_frame(struct xnf_queue *q, const struct xnf_frame *f,
		      bool csum_done, const uint16_t *ids)
{
	const uint8_t *src = f->data;
	unsigned nslots = xnf_tx_slots(f->len), left = f->len;

	for (unsigned i = 0; i < nslots; i++) {
		unsigned chunk = left > XNF_PAGE_SIZE ? XNF_PAGE_SIZE : left;
		uint16_t flags = i == 0 ? frame_flags(f, csum_done) : 0;
		uint16_t size = (uint16_t)(i == 0 ? f->len : chunk);

		if (i + 1 < nslots)
			flags |= NETTXF_more_data;
		if (ids)
			fill_slot(q, ids[i], chunk, size, flags);
		else
			put_slot(q, src, chunk, size, flags);
		if (i == 0 && f->gso_type != XNF_GSO_NONE)
			put_gso_extra(q, f);
		src += chunk;
		left -= chunk;
	}
	q->stats.tx_frames++;
	q->stats.tx_bytes += f->len;
}

int xnf_tx_put(struct xnf_queue *q, const struct xnf_frame *f)
{
	bool csum_done;
	int rc;

	if (q->broken)
		return -EPIPE;
	rc = check_frame(q, f);
	if (rc == 0)
		rc = csum6_fill(q, f, &csum_done);
	if (rc < 0)
		return rc;
	if (!room(q, xnf_tx_slots(f->len), f->gso_type != XNF_GSO_NONE))
		return -EAGAIN;
	put_frame(q, f, csum_done, NULL);
	return 0;
}

/* ---- reading a frame straight into the bounce pages ------------------------ */

int xnf_tx_reserve(struct xnf_queue *q, struct xnf_tx_space *sp)
{
	unsigned n = q->sg ? XNF_TX_SPACE_PAGES : 1;

	if (q->broken)
		return -EPIPE;
	if (!room(q, n, q->gso ? 1 : 0))
		return -EAGAIN;
	/* In the order xnf_tx_put would take them. */
	for (unsigned k = 0; k < n; k++) {
		uint16_t id = q->tx_free[--q->tx_nfree];

		XNX_BUG_ON(q->tx_pending[id]);
		sp->id[k] = id;
		sp->iov[k].iov_base = tx_page(q, id);
		sp->iov[k].iov_len = XNF_PAGE_SIZE;
	}
	sp->n = n;
	return 0;
}

/* Put SP's pages from FROM on back on the free stack, its order as before. */
static void give_back(struct xnf_queue *q, struct xnf_tx_space *sp, unsigned from)
{
	for (unsigned k = sp->n; k-- > from;)
		q->tx_free[q->tx_nfree++] = sp->id[k];
	sp->n = from;
}

void xnf_tx_cancel(struct xnf_queue *q, struct xnf_tx_space *sp, size_t written)
{
	/* The pages stay granted: wipe what was read into them, so that
	 * bytes past tx_used are zero again. */
	for (unsigned k = 0; k < sp->n && written > 0; k++) {
		size_t w = written > XNF_PAGE_SIZE ? XNF_PAGE_SIZE : written;

		memset(tx_page(q, sp->id[k]), 0, w);
		if (q->tx_used[sp->id[k]] <= w)
			q->tx_used[sp->id[k]] = 0;
		written -= w;
	}
	give_back(q, sp, 0);
}

/* Copy LEN bytes between BUF and SP's pages, either way. */
static void spread_copy(const struct xnf_tx_space *sp, uint8_t *buf, size_t len,
			bool to_pages)
{
	for (unsigned k = 0; len > 0; k++) {
		size_t c = len > XNF_PAGE_SIZE ? XNF_PAGE_SIZE : len;

		if (to_pages)
			memcpy(sp->iov[k].iov_base, buf, c);
		else
			memcpy(buf, sp->iov[k].iov_base, c);
		buf += c;
		len -= c;
	}
}

/* csum6_fill for a frame spread over SP's pages: in place where they are
 * adjacent (they mostly are), else through a private copy. */
static int csum6_fill_spread(struct xnf_queue *q, const struct xnf_tx_space *sp,
			     const struct xnf_frame *f, bool *done)
{
	unsigned nslots = xnf_tx_slots(f->len), k;
	struct xnf_frame lin = *f;
	int rc;

	for (k = 1; k < nslots && sp->id[k] == sp->id[k - 1] + 1; k++)
		;
	*done = false;
	if (k == nslots || !csum6_needed(q, f))
		return csum6_fill(q, f, done);
	lin.data = malloc(f->len);
	if (!lin.data)
		return -ENOMEM;
	spread_copy(sp, lin.data, f->len, false);
	rc = csum6_fill(q, &lin, done);
	if (rc == 0)
		spread_copy(sp, lin.data, f->len, true);
	free(lin.data);
	return rc;
}

int xnf_tx_commit(struct xnf_queue *q, struct xnf_tx_space *sp,
		  const struct xnf_frame *meta)
{
	size_t cap = (size_t)sp->n * XNF_PAGE_SIZE;
	struct xnf_frame f = *meta;
	bool csum_done = false;
	int rc;

	f.data = sp->n ? sp->iov[0].iov_base : NULL;
	rc = q->broken ? -EPIPE : check_frame(q, &f);
	if (rc == 0 && f.len > cap)
		rc = -EMSGSIZE;
	if (rc == 0)
		rc = csum6_fill_spread(q, sp, &f, &csum_done);
	if (rc < 0) {
		xnf_tx_cancel(q, sp, f.len < cap ? f.len : cap);
		return rc;
	}
	give_back(q, sp, xnf_tx_slots(f.len));
	put_frame(q, &f, csum_done, sp->id);
	sp->n = 0;
	return 0;
}

int xnf_tx_put_mcast(struct xnf_queue *q, uint8_t type, const uint8_t mac[6])
{
	union {
		struct netif_tx_request req;
		struct netif_extra_info ex;
	} slot;

	if (q->broken)
		return -EPIPE;
	if ((type != XEN_NETIF_EXTRA_TYPE_MCAST_ADD &&
	     type != XEN_NETIF_EXTRA_TYPE_MCAST_DEL) || !(mac[0] & 1))
		return -EINVAL;
	if (!room(q, 1, 1))
		return -EAGAIN;
	/* The dummy takes an id (and its page, unread) so its response is
	 * checked like any other. */
	put_slot(q, mac, 0, 0, NETTXF_extra_info);
	memset(&slot, 0, sizeof(slot));
	slot.ex.type = type;
	memcpy(slot.ex.u.mcast.addr, mac, 6);
	*RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt) = slot.req;
	q->tx.req_prod_pvt++;
	q->tx_extras++;
	return 0;
}

void xnf_tx_push(struct xnf_queue *q, bool *notify)
{
	int n;

	/* The macro orders the request stores before req_prod (wmb) and
	 * req_prod before reading req_event (mb); pairs with the backend's
	 * RING_FINAL_CHECK_FOR_REQUESTS. */
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, n);
	q->tx_published = q->tx.req_prod_pvt;
	*notify = n;
	if (n)
		q->stats.notify_tx++;
}

/* Validate one response copied off the ring; free its page. */
static int tx_complete(struct xnf_queue *q, RING_IDX idx,
		       struct netif_tx_response rsp)
{
	if (rsp.status < NETIF_RSP_DROPPED || rsp.status > NETIF_RSP_NULL) {
		xnf_queue_break(q, "tx response %u: status %d out of range",
				idx, rsp.status);
		return -EPIPE;
	}
	/* The slot of an extra-info request: no id to look at, but only as
	 * many as we sent extra-info slots. */
	if (rsp.status == NETIF_RSP_NULL) {
		if (q->tx_extras == 0) {
			xnf_queue_break(q, "tx response %u: status NULL but no "
					"extra-info request outstanding", idx);
			return -EPIPE;
		}
		q->tx_extras--;
		return 0;
	}
	if (rsp.id >= XNF_TX_RING_SIZE) {
		xnf_queue_break(q, "tx response %u: id %u out of range", idx, rsp.id);
		return -EPIPE;
	}
	if (!q->tx_pending[rsp.id]) {
		xnf_queue_break(q, "tx response %u: id %u is not outstanding",
				idx, rsp.id);
		return -EPIPE;
	}
	q->tx_pending[rsp.id] = false;
	q->tx_free[q->tx_nfree++] = rsp.id;
	if (rsp.status != NETIF_RSP_OKAY)
		q->stats.tx_errors++;
	return 0;
}

int xnf_tx_gc(struct xnf_queue *q)
{
	int done = 0, more = 1;

	while (more && done < XNF_RSP_BUDGET) {
		RING_IDX prod, cons = q->tx.rsp_cons;

		if (q->broken)
			return -EPIPE;
		prod = __atomic_load_n(&q->tx.sring->rsp_prod, __ATOMIC_RELAXED);
		if (xnf_check_rsp_prod(q, "tx", prod, cons, q->tx_published) < 0)
			return -EPIPE;
		/* Responses are read after rsp_prod: pairs with the wmb in
		 * the backend's RING_PUSH_RESPONSES. */
		xen_rmb();
		for (; cons != prod; cons++, done++) {
			struct netif_tx_response rsp;

			RING_COPY_RESPONSE(&q->tx, cons, &rsp);
			if (tx_complete(q, cons, rsp) < 0)
				return -EPIPE;
			q->tx.rsp_cons = cons + 1;
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&q->tx, more);
	}
	return done;
}
