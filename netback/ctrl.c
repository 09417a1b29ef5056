/*
 * ctrl.c — the control ring (netif.h "Control ring"): one request at a time
 * copied off the shared page, answered with the status codes netif.h gives
 * each type. Hash settings (algorithm, flags, Toeplitz key, mapping table)
 * and the static grant tables (ADD/DEL_GREF_MAPPING) the data path serves
 * by memcpy instead of a grant copy. Data the frontend hands over by grant
 * (key, table, gref list) lands in private memory, is checked there and
 * goes live in one assignment. Never touches xenstore.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "xnb_ctrl.h"
#include "xnb_vif.h"
#include "xnx_log.h"

#define ST_OK	   XEN_NETIF_CTRL_STATUS_SUCCESS
#define ST_NOTSUP  XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED
#define ST_INVAL   XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
#define ST_OVERFLOW XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW

/* Entries of a gref list that fit the one page it comes in. */
#define GREF_LIST_MAX (XNB_PAGE_SIZE / sizeof(struct xen_netif_gref))


/* ---- grant copies of the frontend's pages --------------------------------- */

/* Copy LEN bytes from the start of the frontend's page REF into DST. */
static int copy_in(struct xnb_ctrl *c, uint32_t ref, void *dst, size_t len)
{
	xengnttab_grant_copy_segment_t g;

	memset(&g, 0, sizeof(g));
	g.source.foreign.ref = ref;
	g.source.foreign.domid = (uint16_t)c->domid;
	g.dest.virt = dst;
	g.len = (uint16_t)len;
	g.flags = GNTCOPY_source_gref;
	if (c->io->grant_copy(c->io->ctx, 1, &g) < 0 || g.status != GNTST_okay) {
		xnx_log_limited(XNX_LOG_WARN, "ctrl: copy from gref %u: status %d",
		                ref, g.status);
		return -EFAULT;
	}
	return 0;
}

/* Copy LEN bytes from SRC to the start of the frontend's page REF. */
static int copy_out(struct xnb_ctrl *c, uint32_t ref, const void *src, size_t len)
{
	xengnttab_grant_copy_segment_t g;

	memset(&g, 0, sizeof(g));
	g.source.virt = (void *)src;	/* only read */
	g.dest.foreign.ref = ref;
	g.dest.foreign.domid = (uint16_t)c->domid;
	g.len = (uint16_t)len;
	g.flags = GNTCOPY_dest_gref;
	if (c->io->grant_copy(c->io->ctx, 1, &g) < 0 || g.status != GNTST_okay) {
		xnx_log_limited(XNX_LOG_WARN, "ctrl: copy to gref %u: status %d",
		                ref, g.status);
		return -EFAULT;
	}
	return 0;
}

/* ---- hash requests ------------------------------------------------------------ */

static uint32_t set_alg(struct xnb_ctrl *c, uint32_t alg)
{
	struct xnb_hash h = c->hash;

	if (alg != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE &&
	    alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
		return ST_INVAL;
	h.alg = alg;
	c->hash = h;
	return ST_OK;
}

/* netif.h: a valid algorithm must be selected first. */
static uint32_t get_flags(const struct xnb_ctrl *c, uint32_t *data)
{
	if (c->hash.alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
		return ST_NOTSUP;
	*data = XNB_HASH_TYPES;
	return ST_OK;
}

static uint32_t set_flags(struct xnb_ctrl *c, uint32_t flags)
{
	struct xnb_hash h = c->hash;

	if ((flags & ~XNB_HASH_TYPES) || h.alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE)
		return ST_INVAL;
	h.flags = flags;
	c->hash = h;
	return ST_OK;
}

/* The key octets past LEN are zero; LEN 0 clears the key. */
static uint32_t set_key(struct xnb_ctrl *c, uint32_t ref, uint32_t len)
{
	uint8_t key[XNB_HASH_KEY_SIZE];
	struct xnb_hash h = c->hash;

	if (len > XNB_HASH_KEY_SIZE)
		return ST_OVERFLOW;
	memset(key, 0, sizeof(key));
	if (len && copy_in(c, ref, key, len) < 0)
		return ST_INVAL;
	memcpy(h.key, key, sizeof(key));
	c->hash = h;
	return ST_OK;
}

/* A new size invalidates the table: all entries 0 (netif.h). */
static uint32_t set_mapping_size(struct xnb_ctrl *c, uint32_t size)
{
	struct xnb_hash h = c->hash;

	if (size > XNB_HASH_MAPPING_SIZE)
		return ST_INVAL;
	h.size = size;
	memset(h.mapping, 0, sizeof(h.mapping));
	c->hash = h;
	return ST_OK;
}

/* LEN entries at OFF from page REF; every one must name a queue we have,
 * else nothing changes. */
static uint32_t set_mapping(struct xnb_ctrl *c, uint32_t ref, uint32_t len, uint32_t off)
{
	uint32_t tab[XNB_HASH_MAPPING_SIZE];
	struct xnb_hash h = c->hash;

	if (len > XNB_HASH_MAPPING_SIZE || off > XNB_HASH_MAPPING_SIZE - len)
		return ST_OVERFLOW;
	if (off + len > h.size)
		return ST_INVAL;
	if (len && copy_in(c, ref, tab, len * sizeof(tab[0])) < 0)
		return ST_INVAL;
	for (uint32_t i = 0; i < len; i++)
		if (tab[i] >= c->nqueues)
			return ST_INVAL;
	memcpy(&h.mapping[off], tab, len * sizeof(tab[0]));
	c->hash = h;
	return ST_OK;
}

/* ---- static grants ------------------------------------------------------------- */

/* Index of REF in T, or where it would go (*FOUND false). */
static unsigned gref_find(const struct xnb_gref_table *t, uint32_t ref, bool *found)
{
	unsigned lo = 0, hi = t->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (t->e[mid].ref < ref)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < t->n && t->e[lo].ref == ref;
	return lo;
}

/* Rebuild T's index after its entries changed. */
static void gref_reindex(struct xnb_gref_table *t)
{
	memset(t->index, 0, sizeof(t->index));
	for (unsigned i = 0; i < t->n; i++) {
		unsigned h = t->e[i].ref % XNB_GREF_INDEX_SIZE;

		while (t->index[h])
			h = (h + 1) % XNB_GREF_INDEX_SIZE;
		t->index[h] = (uint16_t)(i + 1);
	}
}

void *xnb_gref_lookup(const struct xnb_gref_table *t, uint32_t ref, bool write)
{
	if (!t || t->n == 0)
		return NULL;
	/* At most n slots are used of twice as many: an empty one ends it. */
	for (unsigned h = ref % XNB_GREF_INDEX_SIZE; t->index[h];
	     h = (h + 1) % XNB_GREF_INDEX_SIZE) {
		const struct xnb_gref *e = &t->e[t->index[h] - 1];

		if (e->ref == ref)
			return write && e->readonly ? NULL : e->addr;
	}
	return NULL;
}

/* One segment by memcpy, if its foreign page is one of T's: true if done. */
static bool copy_one_local(const struct xnb_gref_table *t, uint32_t domid,
			   xengnttab_grant_copy_segment_t *g)
{
	bool to_guest = g->flags & GNTCOPY_dest_gref;
	bool from_guest = g->flags & GNTCOPY_source_gref;
	uint8_t *page;

	if (to_guest == from_guest)
		return false;	/* guest to guest (or local to local): not ours */
	if (from_guest) {
		page = xnb_gref_lookup(t, g->source.foreign.ref, false);
		if (!page || g->source.foreign.domid != domid ||
		    (uint32_t)g->source.foreign.offset + g->len > XNB_PAGE_SIZE)
			return false;
		xnb_copy(g->dest.virt, page + g->source.foreign.offset, g->len);
	} else {
		page = xnb_gref_lookup(t, g->dest.foreign.ref, true);
		if (!page || g->dest.foreign.domid != domid ||
		    (uint32_t)g->dest.foreign.offset + g->len > XNB_PAGE_SIZE)
			return false;
		xnb_copy(page + g->dest.foreign.offset, g->source.virt, g->len);
	}
	g->status = GNTST_okay;
	return true;
}

unsigned xnb_gref_copy_local(const struct xnb_gref_table *t, uint32_t domid, unsigned n,
			     xengnttab_grant_copy_segment_t *segs, unsigned *rest)
{
	unsigned m = 0;

	for (unsigned i = 0; i < n; i++)
		if (!t || t->n == 0 || !copy_one_local(t, domid, &segs[i]))
			rest[m++] = i;
	return m;
}

static uint32_t gref_size(const struct xnb_ctrl *c, uint32_t q, uint32_t *data)
{
	if (q >= c->nqueues)
		return ST_INVAL;
	*data = XNB_GREF_TABLE_SIZE;
	return ST_OK;
}

/* Insert E at its place in T (room checked by the caller). */
static void gref_insert(struct xnb_gref_table *t, unsigned at, const struct xnb_gref *e)
{
	memmove(&t->e[at + 1], &t->e[at], (t->n - at) * sizeof(t->e[0]));
	t->e[at] = *e;
	t->n++;
}

/* Map N entries of LIST into a copy of T; all or nothing. */
static uint32_t gref_map_all(struct xnb_ctrl *c, struct xnb_gref_table *nt,
			     const struct xen_netif_gref *list, uint32_t n)
{
	void *done[GREF_LIST_MAX];
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct xnb_gref e = { .ref = list[i].ref,
				      .readonly = list[i].flags & XEN_NETIF_CTRLF_GREF_readonly };
		bool found;
		unsigned at = gref_find(nt, e.ref, &found);

		if (found || (list[i].flags & ~XEN_NETIF_CTRLF_GREF_readonly))
			break;	/* already mapped (or twice in the list), unknown flag */
		e.addr = c->io->map(c->io->ctx, e.ref, e.readonly);
		if (!e.addr)
			break;
		done[i] = e.addr;
		gref_insert(nt, at, &e);
	}
	if (i == n)
		return ST_OK;
	xnx_log_limited(XNX_LOG_WARN, "ctrl: adding gref %u (entry %u) refused",
	                list[i].ref, i);
	while (i-- > 0)
		c->io->unmap(c->io->ctx, done[i]);
	return ST_INVAL;
}

static uint32_t gref_add(struct xnb_ctrl *c, uint32_t q, uint32_t ref, uint32_t n)
{
	struct xen_netif_gref list[GREF_LIST_MAX];
	struct xnb_gref_table *nt;
	uint32_t st;

	if (q >= c->nqueues || n > XNB_GREF_TABLE_SIZE - c->grefs[q].n)
		return ST_INVAL;
	if (n == 0)
		return ST_OK;
	if (copy_in(c, ref, list, n * sizeof(list[0])) < 0)
		return ST_INVAL;
	nt = malloc(sizeof(*nt));
	if (!nt)
		return ST_INVAL;
	*nt = c->grefs[q];
	st = gref_map_all(c, nt, list, n);
	if (st == ST_OK) {
		gref_reindex(nt);
		c->grefs[q] = *nt;
	}
	free(nt);
	return st;
}

/* Entries not added before, or still named by a request we have not
 * answered, stay (status INVALID_PARAMETER); the others are unmapped once
 * the statuses are written back. */
static uint32_t gref_del(struct xnb_ctrl *c, uint32_t q, uint32_t ref, uint32_t n,
			 uint32_t *data)
{
	struct xen_netif_gref list[GREF_LIST_MAX];
	struct xnb_gref_table *t;
	uint32_t removed = 0;

	if (q >= c->nqueues || n > GREF_LIST_MAX)
		return ST_INVAL;
	if (n && copy_in(c, ref, list, n * sizeof(list[0])) < 0)
		return ST_INVAL;
	t = &c->grefs[q];
	for (uint32_t i = 0; i < n; i++) {
		bool found;

		gref_find(t, list[i].ref, &found);
		list[i].status = found && !xnb_ctrl_gref_busy(c, q, list[i].ref) ? ST_OK : ST_INVAL;
	}
	if (n && copy_out(c, ref, list, n * sizeof(list[0])) < 0)
		return ST_INVAL;
	for (uint32_t i = 0; i < n; i++) {
		bool found;
		unsigned at;

		if (list[i].status != ST_OK)
			continue;
		at = gref_find(t, list[i].ref, &found);
		if (!found)
			continue;	/* named twice in the list */
		c->io->unmap(c->io->ctx, t->e[at].addr);
		memmove(&t->e[at], &t->e[at + 1], (t->n - at - 1) * sizeof(t->e[0]));
		t->n--;
		removed++;
	}
	if (removed)
		gref_reindex(t);
	*data = removed;
	return ST_OK;
}

/* Does the not yet consumed part of Q's RX ring name REF? */
static bool rx_names(const struct xnb_queue *q, uint32_t ref)
{
	RING_IDX prod = XNB_READ_ONCE(q->rx.sring->req_prod);

	xen_rmb(); /* requests after their index: pairs with the frontend's wmb in the push */
	if (prod - q->rx.req_cons > RING_SIZE(&q->rx))
		return true;	/* a broken ring: keep the mapping, the queue fails */
	for (RING_IDX i = q->rx.req_cons; i != prod; i++) {
		netif_rx_request_t r;

		RING_COPY_REQUEST(&q->rx, i, &r);
		if (r.gref == ref)
			return true;
	}
	return false;
}

/* Same for the TX ring, skipping extra-info slots. */
static bool tx_names(const struct xnb_queue *q, uint32_t ref)
{
	RING_IDX prod = XNB_READ_ONCE(q->tx.sring->req_prod);
	bool first = true, extras = false;

	xen_rmb(); /* requests after their index: pairs with the frontend's wmb in the push */
	if (prod - q->tx.req_cons > RING_SIZE(&q->tx))
		return true;
	for (RING_IDX i = q->tx.req_cons; i != prod; i++) {
		netif_tx_request_t r;

		RING_COPY_REQUEST(&q->tx, i, &r);
		if (extras) {
			struct netif_extra_info ex;

			memcpy(&ex, &r, sizeof(ex));
			extras = ex.flags & XEN_NETIF_EXTRA_FLAG_MORE;
			continue;
		}
		if (r.gref == ref)
			return true;
		extras = first && (r.flags & NETTXF_extra_info);
		first = !(r.flags & NETTXF_more_data);
	}
	return false;
}

bool xnb_ctrl_gref_busy(const struct xnb_ctrl *c, unsigned q, uint32_t ref)
{
	const struct xnb_queue *dq = q < XNB_CTRL_MAX_QUEUES ? c->queues[q] : NULL;

	return dq && (rx_names(dq, ref) || tx_names(dq, ref));
}

/* ---- the ring -------------------------------------------------------------------- */

struct xen_netif_ctrl_response xnb_ctrl_handle(struct xnb_ctrl *c,
					       const struct xen_netif_ctrl_request *req)
{
	struct xen_netif_ctrl_response rsp;
	uint32_t st = ST_NOTSUP, data = 0;
	const uint32_t *d = req->data;

	switch (req->type) {
	case XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM: st = set_alg(c, d[0]); break;
	case XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS: st = get_flags(c, &data); break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS: st = set_flags(c, d[0]); break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_KEY: st = set_key(c, d[0], d[1]); break;
	case XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE:
		st = ST_OK;
		data = XNB_HASH_MAPPING_SIZE;
		break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE: st = set_mapping_size(c, d[0]); break;
	case XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING: st = set_mapping(c, d[0], d[1], d[2]); break;
	case XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE: st = gref_size(c, d[0], &data); break;
	case XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING: st = gref_add(c, d[0], d[1], d[2]); break;
	case XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING: st = gref_del(c, d[0], d[1], d[2], &data); break;
	default: break;	/* INVALID and unknown types: NOT_SUPPORTED */
	}
	memset(&rsp, 0, sizeof(rsp));
	rsp.id = req->id;
	rsp.type = req->type;
	rsp.status = st;
	rsp.data = st == ST_OK ? data : 0;
	c->requests++;
	c->refused += st != ST_OK;
	return rsp;
}

static void push_ctrl(struct xnb_ctrl *c)
{
	int notify;

	if (c->ring.rsp_prod_pvt == c->ring.sring->rsp_prod)
		return;
	/* wmb: responses before rsp_prod (pairs with the frontend's rmb after
	 * reading rsp_prod); mb: rsp_prod before reading rsp_event (pairs with
	 * the mb in the frontend's RING_FINAL_CHECK_FOR_RESPONSES). */
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&c->ring, notify);
	if (notify)
		c->io->notify(c->io->ctx, c->port);
}

enum xnb_work xnb_ctrl_run(struct xnb_ctrl *c)
{
	unsigned done = 0;
	RING_IDX prod;
	int more;

	if (c->broken)
		return XNB_BROKEN;
	prod = XNB_READ_ONCE(c->ring.sring->req_prod);
	xen_rmb(); /* requests after their index: pairs with the frontend's wmb in RING_PUSH_REQUESTS */
	if (RING_REQUEST_PROD_OVERFLOW(&c->ring, prod)) {
		c->broken = true;
		snprintf(c->reason, sizeof(c->reason),
			 "ctrl ring: producer %u more than a ring ahead of %u", prod,
			 c->ring.rsp_prod_pvt);
		return XNB_BROKEN;
	}
	for (; c->ring.req_cons != prod && done < XNB_CTRL_BUDGET; done++) {
		struct xen_netif_ctrl_request req;
		struct xen_netif_ctrl_response rsp;

		RING_COPY_REQUEST(&c->ring, c->ring.req_cons, &req);
		c->ring.req_cons++;
		rsp = xnb_ctrl_handle(c, &req);
		*RING_GET_RESPONSE(&c->ring, c->ring.rsp_prod_pvt) = rsp;
		c->ring.rsp_prod_pvt++;
	}
	push_ctrl(c);
	if (c->ring.req_cons != prod)
		return XNB_MORE;
	/* Sets req_event = req_cons + 1; its mb orders that store before the
	 * re-read of req_prod (pairs with the mb in the frontend's
	 * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY). */
	RING_FINAL_CHECK_FOR_REQUESTS(&c->ring, more);
	return more ? XNB_MORE : XNB_IDLE;
}

int xnb_ctrl_init(struct xnb_ctrl *c, void *sring, uint32_t domid, unsigned nqueues,
		  const struct xnb_ctrl_io *io)
{
	memset(c, 0, sizeof(*c));
	if (nqueues == 0 || nqueues > XNB_CTRL_MAX_QUEUES)
		return -EINVAL;
	c->grefs = calloc(nqueues, sizeof(*c->grefs));
	if (!c->grefs)
		return -ENOMEM;
	c->domid = domid;
	c->nqueues = nqueues;
	c->io = io;
	c->hash.alg = XEN_NETIF_CTRL_HASH_ALGORITHM_NONE;
	/* The frontend initialised the shared ring; we set our indices. */
	BACK_RING_INIT(&c->ring, (xen_netif_ctrl_sring_t *)sring, XNB_PAGE_SIZE);
	return 0;
}

void xnb_ctrl_fini(struct xnb_ctrl *c)
{
	for (unsigned q = 0; c->grefs && q < c->nqueues; q++) {
		for (unsigned i = 0; i < c->grefs[q].n; i++)
			c->io->unmap(c->io->ctx, c->grefs[q].e[i].addr);
		c->grefs[q].n = 0;
	}
	free(c->grefs);
	c->grefs = NULL;
}

/* ---- the daemon's side: connect, the real hypervisor, steering ------------------ */

/* Frames waiting for the queue their hash selects, per queue. */
#define INBOX_MAX 64
#define SCRATCH_SEGS (XNB_TX_BUDGET * XNB_TX_MAX_SLOTS > XNB_RX_BUDGET * XNB_RX_MAX_SLOTS ? \
		      XNB_TX_BUDGET * XNB_TX_MAX_SLOTS : XNB_RX_BUDGET * XNB_RX_MAX_SLOTS)
#define VH_LEN sizeof(struct virtio_net_hdr)

_Static_assert(XNB_CTRL_MAX_QUEUES == XNB_MAX_QUEUES, "one control ring serves every queue");

/* Each queue's worker splits its copies in its own scratch space. */
struct scratch {
	xengnttab_grant_copy_segment_t segs[SCRATCH_SEGS];
	unsigned rest[SCRATCH_SEGS];
};

struct inbox {
	unsigned head, n;
	uint8_t *frame[INBOX_MAX];
	size_t len[INBOX_MAX];
};

struct xnb_vif_ctrl {
	struct xnb_vif *vif;
	struct xnb_ctrl c;
	struct xnb_ctrl_io io;
	void *map;		/* the ring page */
	bool bound;
	struct scratch *scratch;	/* [nqueues] */
	/* Frames steered between the queues' workers; inbox_lock guards the
	 * inboxes and the two counters. */
	pthread_mutex_t inbox_lock;
	struct inbox inbox[XNB_MAX_QUEUES];
	uint64_t steered, steer_drops;
};

static int vc_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	struct xnb_vif_ctrl *vc = ctx;

	return xnx_gnttab_grant_copy(vc->vif->be->gnt, n, segs) < 0 ? -errno : 0;
}

static void vc_notify(void *ctx, uint32_t port)
{
	struct xnb_vif_ctrl *vc = ctx;

	if (xnx_evtchn_notify(vc->vif->be->evt, port) < 0)
		xnx_warn("%s: notify ctrl port %u: %s", vc->vif->path, port, strerror(errno));
}

static void *vc_map(void *ctx, uint32_t ref, bool readonly)
{
	struct xnb_vif_ctrl *vc = ctx;

	return xnx_gnttab_map_grant_ref(vc->vif->be->gnt, vc->vif->domid, ref,
					readonly ? PROT_READ : PROT_READ | PROT_WRITE);
}

static void vc_unmap(void *ctx, void *addr)
{
	struct xnb_vif_ctrl *vc = ctx;

	if (xnx_gnttab_unmap(vc->vif->be->gnt, addr, 1) < 0)
		xnx_warn("%s: unmapping a static grant: %s", vc->vif->path, strerror(errno));
}

static void vc_free(struct xnb_vif_ctrl *vc)
{
	for (unsigned q = 0; q < XNB_MAX_QUEUES; q++)
		for (unsigned i = 0; i < vc->inbox[q].n; i++)
			free(vc->inbox[q].frame[(vc->inbox[q].head + i) % INBOX_MAX]);
	if (vc->bound)
		xnx_evtchn_unbind(vc->vif->be->evt, vc->c.port);
	if (vc->map && xnx_gnttab_unmap(vc->vif->be->gnt, vc->map, 1) < 0)
		xnx_warn("%s: unmapping the ctrl ring: %s", vc->vif->path, strerror(errno));
	pthread_mutex_destroy(&vc->inbox_lock);
	free(vc->scratch);
	free(vc);
}

int xnb_vif_ctrl_connect(struct xnb_vif *vif, const struct xnb_fe_conf *conf, char *why,
			 size_t whylen)
{
	struct xnb_vif_ctrl *vc;
	xenevtchn_port_or_error_t port;

	if (!conf->ctrl)
		return 0;
	vc = calloc(1, sizeof(*vc));
	if (!vc) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	vc->vif = vif;
	pthread_mutex_init(&vc->inbox_lock, NULL);
	vc->scratch = calloc(conf->nqueues, sizeof(*vc->scratch));
	if (!vc->scratch) {
		snprintf(why, whylen, "out of memory");
		goto err;
	}
	vc->io = (struct xnb_ctrl_io){ .grant_copy = vc_copy, .notify = vc_notify,
				       .map = vc_map, .unmap = vc_unmap, .ctx = vc };
	vc->map = xnx_gnttab_map_grant_ref(vif->be->gnt, vif->domid, conf->ctrl_ring_ref,
					   PROT_READ | PROT_WRITE);
	if (!vc->map) {
		snprintf(why, whylen, "mapping ctrl-ring-ref %u: %s", conf->ctrl_ring_ref,
			 strerror(errno));
		goto err;
	}
	port = xnx_evtchn_bind_interdomain(vif->be->evt, vif->domid, conf->evtchn_ctrl);
	if (port < 0) {
		snprintf(why, whylen, "binding event-channel-ctrl %u: %s", conf->evtchn_ctrl,
			 strerror(errno));
		goto err;
	}
	vc->bound = true;
	if (xnb_ctrl_init(&vc->c, vc->map, vif->domid, conf->nqueues, &vc->io) < 0) {
		snprintf(why, whylen, "control ring setup: out of memory");
		goto err;
	}
	vc->c.port = (uint32_t)port;
	for (unsigned i = 0; i < conf->nqueues; i++)
		vc->c.queues[i] = vif->vq[i].q;
	vif->ctrl = vc;
	return 0;
err:
	vc_free(vc);
	return -EINVAL;
}

void xnb_vif_ctrl_disconnect(struct xnb_vif *vif)
{
	struct xnb_vif_ctrl *vc = vif->ctrl;

	if (!vc)
		return;
	if (vc->c.requests || vc->steered || vc->steer_drops)
		xnx_info("%s: control ring: %llu requests (%llu refused), %llu frames steered, "
			 "%llu dropped waiting for their queue", vif->path,
			 (unsigned long long)vc->c.requests, (unsigned long long)vc->c.refused,
			 (unsigned long long)vc->steered, (unsigned long long)vc->steer_drops);
	vif->ctrl = NULL;
	xnb_ctrl_fini(&vc->c);	/* every static grant unmapped */
	vc_free(vc);
}

bool xnb_vif_ctrl_pending(const struct xnb_vif *vif)
{
	const xen_netif_ctrl_back_ring_t *r;

	if (!vif->ctrl)
		return false;
	r = &vif->ctrl->c.ring;
	return vif->ctrl->c.broken || XNB_READ_ONCE(r->sring->req_prod) != r->req_cons;
}

enum xnb_work xnb_vif_ctrl_run(struct xnb_vif *vif)
{
	enum xnb_work w;

	if (!vif->ctrl)
		return XNB_IDLE;
	w = xnb_ctrl_run(&vif->ctrl->c);
	if (w == XNB_BROKEN)
		vif->broken = vif->ctrl->c.reason;
	return w;
}

int xnb_vq_grant_copy(struct xnb_vq *vq, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	struct xnb_vif_ctrl *vc = vq->vif->ctrl;
	xnx_gnttab *gnt = vq->vif->be->gnt;
	struct scratch *sc;
	unsigned m;

	if (!vc || vc->c.grefs[vq->idx].n == 0 || n > SCRATCH_SEGS)
		return xnx_gnttab_grant_copy(gnt, n, segs) < 0 ? -errno : 0;
	sc = &vc->scratch[vq->idx];
	m = xnb_gref_copy_local(&vc->c.grefs[vq->idx], vq->vif->domid, n, segs, sc->rest);
	vq->static_segs += n - m;
	if (m == 0)
		return 0;	/* all static: no grant operation at all */
	for (unsigned i = 0; i < m; i++)
		sc->segs[i] = segs[sc->rest[i]];
	if (xnx_gnttab_grant_copy(gnt, m, sc->segs) < 0)
		return -errno;
	for (unsigned i = 0; i < m; i++)
		segs[sc->rest[i]].status = sc->segs[i].status;
	return 0;
}

void *xnb_vq_gref_page(struct xnb_vq *vq, uint32_t ref, bool write)
{
	struct xnb_vif_ctrl *vc = vq->vif->ctrl;

	return vc ? xnb_gref_lookup(&vc->c.grefs[vq->idx], ref, write) : NULL;
}

/* Copy LEN bytes between a flat buffer and an iovec (TO_IOV: into it). */
static void iov_copy(const struct iovec *iov, int iovcnt, uint8_t *flat, size_t len,
		     bool to_iov)
{
	for (int i = 0; i < iovcnt && len > 0; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

		if (to_iov)
			memcpy(iov[i].iov_base, flat, k);
		else
			memcpy(flat, iov[i].iov_base, k);
		flat += k;
		len -= k;
	}
}

/* Park a copy of a frame (LEN bytes in IOV) for queue Q and wake its
 * worker; dropped (counted) when its inbox is full. */
static void inbox_push(struct xnb_vif_ctrl *vc, unsigned q, const struct iovec *iov,
		       int iovcnt, size_t len)
{
	struct inbox *in = &vc->inbox[q];
	uint8_t *copy = malloc(len);
	bool kept = false;

	if (copy)
		iov_copy(iov, iovcnt, copy, len, false);
	pthread_mutex_lock(&vc->inbox_lock);
	if (copy && in->n < INBOX_MAX) {
		in->frame[(in->head + in->n) % INBOX_MAX] = copy;
		in->len[(in->head + in->n) % INBOX_MAX] = len;
		in->n++;
		vc->steered++;
		kept = true;
	} else {
		vc->steer_drops++;
	}
	pthread_mutex_unlock(&vc->inbox_lock);
	if (kept)
		xnb_worker_kick(&vc->vif->vq[q]);
	else
		free(copy);
}

/* The oldest frame parked for queue Q into IOV, as readv(2); -1/EAGAIN
 * when there is none. */
static ssize_t inbox_pop(struct xnb_vif_ctrl *vc, unsigned q, const struct iovec *iov,
			 int iovcnt)
{
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	struct inbox *in = &vc->inbox[q];
	uint8_t *f = NULL;
	size_t n = 0;

	pthread_mutex_lock(&vc->inbox_lock);
	if (in->n) {
		n = in->len[in->head];
		f = in->frame[in->head];
		in->head = (in->head + 1) % INBOX_MAX;
		in->n--;
	}
	pthread_mutex_unlock(&vc->inbox_lock);
	if (!f) {
		errno = EAGAIN;
		return -1;
	}
	if (n > len)
		n = len;	/* cannot happen: room for the largest frame everywhere */
	iov_copy(iov, iovcnt, f, n, true);
	free(f);
	return (ssize_t)n;
}

/* The queue the frontend's hash picks for the frame in BUF (virtio-net
 * header first), or SELF when it set no algorithm or the frame has no
 * hashable header. */
static unsigned steer_to(const struct xnb_vif *vif, unsigned self, const uint8_t *buf,
			 size_t len)
{
	const struct xnb_hash *h = &vif->ctrl->c.hash;
	uint32_t hash;
	uint8_t type;

	if (vif->nqueues < 2 || len <= VH_LEN ||
	    !xnb_hash_frame(h, buf + VH_LEN, len - VH_LEN, &hash, &type))
		return self;
	return xnb_hash_queue(h, hash, vif->nqueues);
}

ssize_t xnb_vq_tap_readv(struct xnb_vq *vq, const struct iovec *iov, int iovcnt)
{
	struct xnb_vif_ctrl *vc = vq->vif->ctrl;
	struct xnb_tap t = { .fd = vq->tap_fd };

	ssize_t parked = inbox_pop(vc, vq->idx, iov, iovcnt);

	if (parked >= 0)
		return parked;
	/* Frames for other queues are passed on; bounded, and the TAP stays
	 * readable (level-triggered) if we stop early. */
	for (unsigned i = 0; i < XNB_RX_BUDGET; i++) {
		ssize_t n = xnb_tap_readv(&t, iov, iovcnt);
		size_t head;
		unsigned q;

		if (n <= 0)
			return n;
		/* The hash reads the headers, all in the first element. */
		head = (size_t)n < iov[0].iov_len ? (size_t)n : iov[0].iov_len;
		q = steer_to(vq->vif, vq->idx, iov[0].iov_base, head);
		if (q == vq->idx)
			return n;
		inbox_push(vc, q, iov, iovcnt, (size_t)n);
	}
	errno = EAGAIN;
	return -1;
}


void xnb_vq_rx_hash(struct xnb_vq *vq, struct xnb_rx_pkt *pkt)
{
	struct xnb_vif_ctrl *vc = vq->vif->ctrl;
	uint32_t hash;
	uint8_t type;

	if (!vc || !xnb_hash_frame(&vc->c.hash, pkt->data, pkt->size, &hash, &type))
		return;
	pkt->hash = xnb_hash_extra(hash, type);
	pkt->has_hash = true;
	pkt->flags |= NETRXF_extra_info;
}
