/*
 * tx.c — guest → host: copy TX requests off the ring, validate them, grant
 * copy the frames in one batch per round, hand them to the TAP with a
 * virtio-net header, answer every slot. Never touches xenstore.
 */
#include <errno.h>
#include <stdio.h>

#include "xnb.h"
#include "xnx_log.h"


/* One request slot, copied with one volatile load (STYLE: hostile memory). */
static void copy_slot(const netif_tx_back_ring_t *ring, RING_IDX idx,
		      netif_tx_request_t *req)
{
	RING_COPY_REQUEST(ring, idx, req);
}

/* Take one extra-info slot into EX. */
static void copy_extra(const netif_tx_back_ring_t *ring, RING_IDX idx,
		       struct netif_extra_info *ex)
{
	netif_tx_request_t raw;

	copy_slot(ring, idx, &raw);
	memcpy(ex, &raw, sizeof(*ex));
}

/* Check one extra and record what it asks for. 0 or -EPROTO. */
static int take_extra(struct xnb_tx_pkt *pkt, const struct netif_extra_info *ex,
		      unsigned *seen, char *why, size_t whylen)
{
	if (ex->type == XEN_NETIF_EXTRA_TYPE_NONE || ex->type >= XEN_NETIF_EXTRA_TYPE_MAX) {
		snprintf(why, whylen, "extra-info type %u invalid", ex->type);
		return -EPROTO;
	}
	if (*seen & (1u << ex->type)) {
		snprintf(why, whylen, "extra-info type %u repeated", ex->type);
		return -EPROTO;
	}
	*seen |= 1u << ex->type;
	if (ex->type == XEN_NETIF_EXTRA_TYPE_GSO) {
		if (ex->u.gso.size == 0) {
			snprintf(why, whylen, "GSO extra with size 0");
			return -EPROTO;
		}
		if (ex->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
		    ex->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6) {
			snprintf(why, whylen, "GSO type %u unknown", ex->u.gso.type);
			return -EPROTO;
		}
		pkt->gso = *ex;
		pkt->has_gso = true;
	} else if (ex->type != XEN_NETIF_EXTRA_TYPE_HASH) {
		if (pkt->has_mcast) {
			snprintf(why, whylen, "both multicast add and delete in one packet");
			return -EPROTO;
		}
		pkt->mcast = *ex;	/* MCAST_ADD / MCAST_DEL */
		pkt->has_mcast = true;
	}
	return 0;
}

/* Walk the extra-info chain starting at *IDX. 0 or -EPROTO. */
static int take_extras(const netif_tx_back_ring_t *ring, RING_IDX *idx,
		       RING_IDX prod, struct xnb_tx_pkt *pkt, char *why, size_t whylen)
{
	struct netif_extra_info ex;
	unsigned seen = 0;

	do {
		if (*idx == prod) {
			snprintf(why, whylen, "extra-info slot %u not pushed", *idx);
			return -EPROTO;
		}
		if (pkt->nextras == XNB_MAX_EXTRAS) {
			snprintf(why, whylen, "more than %u extra-info slots", XNB_MAX_EXTRAS);
			return -EPROTO;
		}
		copy_extra(ring, (*idx)++, &ex);
		pkt->nextras++;
		if (take_extra(pkt, &ex, &seen, why, whylen) < 0)
			return -EPROTO;
	} while (ex.flags & XEN_NETIF_EXTRA_FLAG_MORE);
	return 0;
}

/* Mark PKT bad (tier 1: error response, counted). */
static void pkt_bad(struct xnb_tx_pkt *pkt, enum xnb_drop why)
{
	pkt->status = NETIF_RSP_ERROR;
	pkt->why = why;
}

/* Sizes: slot 0 carries the frame's total, the others their own share; no
 * slot may reach past its page. -EPROTO for that, else 0 (PKT may be bad). */
static int check_sizes(struct xnb_tx_pkt *pkt, char *why, size_t whylen)
{
	uint32_t rest = 0;

	for (unsigned i = 1; i < pkt->nslots; i++) {
		const netif_tx_request_t *s = &pkt->slot[i];

		if ((uint32_t)s->offset + s->size > XNB_PAGE_SIZE) {
			snprintf(why, whylen, "slot %u: offset %u + size %u past the page",
				 i, s->offset, s->size);
			return -EPROTO;
		}
		pkt->len[i] = s->size;
		rest += s->size;
	}
	pkt->size = pkt->slot[0].size;
	if (pkt->size < XNB_MIN_FRAME || rest > pkt->size) {
		pkt_bad(pkt, XNB_DROP_TX_BAD_SIZE);
		return 0;
	}
	pkt->len[0] = (uint16_t)(pkt->size - rest);
	if ((uint32_t)pkt->slot[0].offset + pkt->len[0] > XNB_PAGE_SIZE) {
		snprintf(why, whylen, "slot 0: offset %u + size %u past the page",
			 pkt->slot[0].offset, pkt->len[0]);
		return -EPROTO;
	}
	return 0;
}

int xnb_tx_ring_to_packet(const netif_tx_back_ring_t *ring, RING_IDX prod,
			  struct xnb_tx_pkt *pkt, char *why, size_t whylen)
{
	RING_IDX idx = ring->req_cons;
	netif_tx_request_t req;

	pkt->nslots = pkt->nextras = 0;
	pkt->has_gso = pkt->has_mcast = false;
	pkt->status = NETIF_RSP_OKAY;
	pkt->nsegs = 0;
	copy_slot(ring, idx++, &req);
	pkt->slot[pkt->nslots++] = req;
	pkt->flags = req.flags;
	if ((req.flags & NETTXF_extra_info) &&
	    take_extras(ring, &idx, prod, pkt, why, whylen) < 0)
		return -EPROTO;
	while (req.flags & NETTXF_more_data) {
		if (pkt->nslots == XNB_TX_MAX_SLOTS) {
			snprintf(why, whylen, "packet uses more than %u slots", XNB_TX_MAX_SLOTS);
			return -EPROTO;
		}
		if (idx == prod) {
			snprintf(why, whylen, "slot %u of a packet not pushed", pkt->nslots);
			return -EPROTO;
		}
		copy_slot(ring, idx++, &req);
		pkt->slot[pkt->nslots++] = req;
	}
	if (check_sizes(pkt, why, whylen) < 0)
		return -EPROTO;
	/* A multicast-control request is a dummy packet, often empty: it is
	 * answered, never sent (Linux does the same). */
	if (pkt->has_mcast)
		pkt->status = NETIF_RSP_OKAY;
	return (int)(idx - ring->req_cons);
}

unsigned xnb_tx_packet_to_grant_ops(const struct xnb_tx_pkt *pkt, uint32_t domid,
				    xengnttab_grant_copy_segment_t *segs)
{
	unsigned n = 0;
	uint32_t off = 0;

	for (unsigned i = 0; i < pkt->nslots; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[n];

		if (pkt->len[i] == 0)
			continue;
		memset(g, 0, sizeof(*g));
		g->source.foreign.ref = pkt->slot[i].gref;
		g->source.foreign.offset = pkt->slot[i].offset;
		g->source.foreign.domid = (uint16_t)domid;
		g->dest.virt = pkt->data + off;
		g->len = pkt->len[i];
		g->flags = GNTCOPY_source_gref;
		off += pkt->len[i];
		n++;
	}
	return n;
}

/* One response slot: id + status, the rest of the entry zeroed. */
static netif_tx_response_t tx_rsp(uint16_t id, int16_t status)
{
	netif_tx_response_t r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.status = status;
	return r;
}

unsigned xnb_tx_packet_to_responses(const struct xnb_tx_pkt *pkt,
				    netif_tx_response_t *rsp)
{
	unsigned n = 0;

	rsp[n++] = tx_rsp(pkt->slot[0].id, pkt->status);
	for (unsigned i = 0; i < pkt->nextras; i++)
		rsp[n++] = tx_rsp(0, NETIF_RSP_NULL);
	for (unsigned i = 1; i < pkt->nslots; i++)
		rsp[n++] = tx_rsp(pkt->slot[i].id, pkt->status);
	return n;
}

int xnb_tx_packet_to_vnet_hdr(const struct xnb_tx_pkt *pkt, struct virtio_net_hdr *vh)
{
	struct xnb_l4 l4;

	memset(vh, 0, sizeof(*vh));
	if (!(pkt->flags & NETTXF_csum_blank) && !pkt->has_gso) {
		if (pkt->flags & NETTXF_data_validated)
			vh->flags = VIRTIO_NET_HDR_F_DATA_VALID;
		return 0;
	}
	/* GSO needs a partial checksum (the pseudo-header sum in place). */
	if (!(pkt->flags & NETTXF_csum_blank) || xnb_parse_l4(pkt->data, pkt->size, &l4) < 0)
		return -EINVAL;
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->csum_start = l4.l4_off;
	vh->csum_offset = l4.csum_off;
	if (!pkt->has_gso)
		return 0;
	if (l4.l4_proto != 6 /* IPPROTO_TCP */)
		return -EINVAL;
	vh->gso_type = pkt->gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ?
		       VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	vh->gso_size = pkt->gso.u.gso.size;
	vh->hdr_len = l4.hdr_len;
	return 0;
}

/* ---- the ring round ------------------------------------------------------- */

/* Copy the batch's frames in one call; a failed call fails every segment.
 * NLOCAL frames were copied from static grants already (copy_static). */
static void copy_batch(struct xnb_queue *q, unsigned nsegs, unsigned nlocal)
{
	if (nlocal && q->io->copied_static)
		q->io->copied_static(q->io->ctx, nlocal, nsegs == 0);
	if (nsegs == 0)
		return;
	if (q->io->grant_copy(q->io->ctx, nsegs, q->tx_segs) < 0) {
		xnx_log_limited(XNX_LOG_WARN, "tx grant copy failed: %s", strerror(errno));
		for (unsigned i = 0; i < nsegs; i++)
			q->tx_segs[i].status = GNTST_general_error;
	}
}

/* After the copy: did every segment of PKT succeed? */
static void check_copies(struct xnb_queue *q, struct xnb_tx_pkt *pkt)
{
	for (unsigned i = 0; i < pkt->nsegs; i++) {
		const xengnttab_grant_copy_segment_t *g = &q->tx_segs[pkt->first_seg + i];

		if (g->status != GNTST_okay) {
			xnx_log_limited(XNX_LOG_WARN, "tx copy of gref %u: status %d",
			                g->source.foreign.ref, g->status);
			pkt_bad(pkt, XNB_DROP_TX_COPY);
			return;
		}
	}
}

/* Hand a good, copied packet to the TAP and count it. */
static void deliver(struct xnb_queue *q, struct xnb_tx_pkt *pkt)
{
	struct virtio_net_hdr vh;
	uint8_t tag[XNB_VLAN_HLEN];
	struct iovec iov[4];
	enum xnb_drop why;
	int iovcnt;

	if (xnb_tx_packet_to_vnet_hdr(pkt, &vh) < 0) {
		pkt_bad(pkt, XNB_DROP_TX_CSUM);
		return;
	}
	if (q->policy && xnb_policy_tx(q->policy, pkt->data, pkt->size, &vh, &why) < 0) {
		/* Answered OKAY, as Linux answers a frame it copied and then
		 * dropped (and as a filter behind the vif would): counted. */
		q->stats->drops[why]++;
		xnx_log_limited(XNX_LOG_WARN, "tx frame dropped: %s (%llu so far)",
		                xnb_drop_name(why), (unsigned long long)q->stats->drops[why]);
		return;
	}
	iovcnt = xnb_policy_tx_iov(q->policy, &vh, pkt->data, pkt->size, tag, iov);
	if (q->io->tap_write(q->io->ctx, iov, iovcnt) < 0) {
		/* Not the guest's fault: it still gets OKAY, like a full NIC queue. */
		q->stats->drops[XNB_DROP_TX_TAP]++;
		return;
	}
	q->stats->tx_packets++;
	q->stats->tx_bytes += pkt->size;
	q->stats->tx_gso += pkt->has_gso;
}

/* Store PKT's responses, each entry in one assignment. */
static void respond(struct xnb_queue *q, const struct xnb_tx_pkt *pkt)
{
	netif_tx_response_t rsp[XNB_TX_MAX_SLOTS + XNB_MAX_EXTRAS];
	unsigned n = xnb_tx_packet_to_responses(pkt, rsp);

	for (unsigned i = 0; i < n; i++) {
		union netif_tx_sring_entry e;

		memset(&e, 0, sizeof(e));
		e.rsp = rsp[i];
		q->tx.sring->ring[q->tx.rsp_prod_pvt++ & (RING_SIZE(&q->tx) - 1)] = e;
	}
}

/* Finish every packet of the batch: deliver, count, answer. */
static void finish_batch(struct xnb_queue *q, unsigned npkts)
{
	for (unsigned i = 0; i < npkts; i++) {
		struct xnb_tx_pkt *pkt = &q->tx_pkts[i];

		if (pkt->status == NETIF_RSP_OKAY && !pkt->has_mcast) {
			check_copies(q, pkt);
			if (pkt->status == NETIF_RSP_OKAY)
				deliver(q, pkt);
		}
		if (pkt->status != NETIF_RSP_OKAY) {
			q->stats->drops[pkt->why]++;
			xnx_log_limited(XNX_LOG_WARN, "tx packet id %u refused: %s",
			                pkt->slot[0].id, xnb_drop_name(pkt->why));
		}
		respond(q, pkt);
	}
}

/* Publish responses; kick the frontend only if it asked (rsp_event). */
static void push_tx(struct xnb_queue *q)
{
	int notify;

	if (q->tx.rsp_prod_pvt == q->tx.sring->rsp_prod)
		return;
	/* wmb: responses before rsp_prod (pairs with the frontend's rmb after
	 * reading rsp_prod); mb: rsp_prod before reading rsp_event (pairs with
	 * the mb in the frontend's RING_FINAL_CHECK_FOR_RESPONSES). */
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->tx, notify);
	if (notify) {
		q->io->notify(q->io->ctx, q->tx_port);
		q->stats->notify_sent++;
	} else {
		q->stats->notify_suppressed++;
	}
}

/* Update the vif's multicast list as the dummy packet PKT asks. */
static void apply_mcast(struct xnb_queue *q, struct xnb_tx_pkt *pkt)
{
	if (pkt->mcast.type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL) {
		if (q->mcast)
			xnb_mcast_del(q->mcast, pkt->mcast.u.mcast.addr);
	} else if (!q->mcast || xnb_mcast_add(q->mcast, pkt->mcast.u.mcast.addr) < 0) {
		pkt_bad(pkt, XNB_DROP_TX_MCAST);
	}
}

/* The common case, a frame in one slot of a static grant: copied from our
 * mapping straight into the stage now, as grant copy would have copied it
 * (and into our memory all the same: nothing reads the guest's page in
 * place), without a grant op. True if done; else PKT takes grant ops. */
static bool copy_static(const struct xnb_queue *q, struct xnb_tx_pkt *pkt)
{
	const uint8_t *page;

	if (pkt->nslots != 1 || !q->io->gref_page)
		return false;
	page = q->io->gref_page(q->io->ctx, pkt->slot[0].gref, false);
	if (!page)
		return false;
	/* offset + len[0] is within the page: check_sizes made sure. */
	xnb_copy(pkt->data, page + pkt->slot[0].offset, pkt->len[0]);
	return true;
}

static uint64_t now_ns(const struct xnb_queue *q)
{
	return q->io->now_ns ? q->io->now_ns(q->io->ctx) : xnx_now_ns();
}

/* Copy packets off the ring into the batch until PROD, budget, staging
 * space or rate credit runs out (a packet without credit stays on the
 * ring). Returns the packet count, or -EPROTO (queue failed). */
static int fill_batch(struct xnb_queue *q, RING_IDX prod, unsigned *nsegs, unsigned *nlocal,
		      bool *throttled)
{
	char why[XNB_REASON_MAX];
	uint64_t now = now_ns(q);
	unsigned npkts = 0;
	size_t staged = 0;

	while (npkts < XNB_TX_BUDGET && q->tx.req_cons != prod &&
	       staged + XNB_MAX_FRAME <= XNB_STAGE_BYTES) {
		struct xnb_tx_pkt *pkt = &q->tx_pkts[npkts];
		int n = xnb_tx_ring_to_packet(&q->tx, prod, pkt, why, sizeof(why));

		if (n < 0) {
			xnb_queue_fail(q, "tx ring: %s", why);
			return -EPROTO;
		}
		if (pkt->status == NETIF_RSP_OKAY &&
		    !xnb_credit_take(&q->credit, pkt->size, now, &q->tx_retry_ns)) {
			*throttled = true;
			break;
		}
		npkts++;
		q->tx.req_cons += (RING_IDX)n;
		if (pkt->has_mcast)
			apply_mcast(q, pkt);
		if (pkt->status != NETIF_RSP_OKAY || pkt->has_mcast)
			continue;
		pkt->data = q->tx_stage + staged;
		staged += pkt->size;
		pkt->first_seg = *nsegs;
		if (copy_static(q, pkt)) {
			(*nlocal)++;
			continue;	/* pkt->nsegs stays 0: nothing to check */
		}
		pkt->nsegs = xnb_tx_packet_to_grant_ops(pkt, q->domid, &q->tx_segs[*nsegs]);
		*nsegs += pkt->nsegs;
	}
	return (int)npkts;
}

enum xnb_work xnb_tx_run(struct xnb_queue *q)
{
	bool throttled = false;
	unsigned nsegs = 0, nlocal = 0;
	RING_IDX prod;
	int npkts;

	if (q->broken)
		return XNB_BROKEN;
	if (q->tx_retry_ns && now_ns(q) < q->tx_retry_ns)
		return XNB_THROTTLED;
	q->tx_retry_ns = 0;
	prod = XNB_READ_ONCE(q->tx.sring->req_prod);
	xen_rmb(); /* slots after their index: pairs with the frontend's wmb in RING_PUSH_REQUESTS */
	if (RING_REQUEST_PROD_OVERFLOW(&q->tx, prod)) {
		xnb_queue_fail(q, "tx ring: producer %u more than a ring ahead of %u",
			       prod, q->tx.rsp_prod_pvt);
		return XNB_BROKEN;
	}
	npkts = fill_batch(q, prod, &nsegs, &nlocal, &throttled);
	if (npkts < 0)
		return XNB_BROKEN;
	copy_batch(q, nsegs, nlocal);
	finish_batch(q, (unsigned)npkts);
	push_tx(q);
	if (throttled) {
		q->stats->tx_throttled++;
		return XNB_THROTTLED;	/* no kick needed: we come back by the clock */
	}
	if (q->tx.req_cons != prod)
		return XNB_MORE;
	if (q->tx_defer_arm) {
		/* The caller polls the ring a while and arms before it sleeps:
		 * a frontend need not kick a backend that is looking anyway. */
		q->tx_unarmed = true;
		return XNB_IDLE;
	}
	q->tx_unarmed = true;
	return xnb_tx_arm(q) ? XNB_MORE : XNB_IDLE;
}

bool xnb_tx_arm(struct xnb_queue *q)
{
	int more;

	if (!q->tx_unarmed)
		return false;
	q->tx_unarmed = false;
	/* Sets req_event = req_cons + 1; its mb orders that store before the
	 * re-read of req_prod (pairs with the mb in the frontend's
	 * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY). */
	RING_FINAL_CHECK_FOR_REQUESTS(&q->tx, more);
	return more;
}
