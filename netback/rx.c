/*
 * rx.c — host → guest: read frames from the TAP, place each in the buffers
 * the guest posted on its RX ring by one batched grant copy per round, and
 * answer each request in its own slot (netif.h: frontends rely on it). A
 * frame that finds too few buffers waits for the guest to post more. Never
 * touches xenstore.
 */
#include <errno.h>
#include <stdio.h>

#include "xnb.h"
#include "xnx_log.h"

#define VH_LEN sizeof(struct virtio_net_hdr)


/* Map the virtio-net GSO type onto netif's; -EINVAL if F does not take it. */
static int gso_from_vh(const struct virtio_net_hdr *vh, const struct xnb_feat *f,
		       struct xnb_rx_pkt *pkt)
{
	uint8_t type = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	if (vh->gso_size == 0 || !(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return -EINVAL;
	memset(&pkt->gso, 0, sizeof(pkt->gso));
	pkt->gso.type = XEN_NETIF_EXTRA_TYPE_GSO;
	pkt->gso.u.gso.size = vh->gso_size;
	if (type == VIRTIO_NET_HDR_GSO_TCPV4 && f->gso_tcpv4)
		pkt->gso.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	else if (type == VIRTIO_NET_HDR_GSO_TCPV6 && f->gso_tcpv6)
		pkt->gso.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV6;
	else
		return -EINVAL;
	pkt->has_gso = true;
	pkt->flags |= NETRXF_extra_info;
	return 0;
}

int xnb_rx_frame_to_packet(const uint8_t *buf, size_t len, const struct xnb_feat *f,
			   struct xnb_rx_pkt *pkt)
{
	if (len < VH_LEN + XNB_MIN_FRAME || len > VH_LEN + XNB_RX_MAX_FRAME)
		return -EINVAL;
	memcpy(&pkt->vh, buf, VH_LEN);
	pkt->data = (uint8_t *)buf + VH_LEN;
	pkt->size = (uint32_t)(len - VH_LEN);
	pkt->flags = 0;
	pkt->has_gso = false;
	pkt->has_hash = false;
	pkt->zc = false;
	if (pkt->vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!f->ip_csum)
			return -EINVAL;
		pkt->flags |= NETRXF_csum_blank | NETRXF_data_validated;
	} else if (pkt->vh.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		pkt->flags |= NETRXF_data_validated;
	}
	if (gso_from_vh(&pkt->vh, f, pkt) < 0)
		return -EINVAL;
	pkt->nslots = (pkt->size + XNB_PAGE_SIZE - 1) / XNB_PAGE_SIZE;
	if (pkt->nslots > 1 && !f->sg)
		return -EMSGSIZE;
	return 0;
}

/* Extra-info slots: GSO, then the hash. */
static unsigned nextras(const struct xnb_rx_pkt *pkt)
{
	return (pkt->has_gso ? 1u : 0u) + (pkt->has_hash ? 1u : 0u);
}

unsigned xnb_rx_packet_slots(const struct xnb_rx_pkt *pkt)
{
	return pkt->nslots + nextras(pkt);
}

/* Which request (ring order) carries data slot I: the extras sit in the
 * slots right after the first. */
static unsigned data_req(const struct xnb_rx_pkt *pkt, unsigned i)
{
	return i == 0 ? 0 : i + nextras(pkt);
}

static uint32_t data_len(const struct xnb_rx_pkt *pkt, unsigned i)
{
	uint32_t left = pkt->size - i * XNB_PAGE_SIZE;

	return left < XNB_PAGE_SIZE ? left : XNB_PAGE_SIZE;
}

unsigned xnb_rx_packet_to_grant_ops(const struct xnb_rx_pkt *pkt, uint32_t domid,
				    const netif_rx_request_t *reqs,
				    xengnttab_grant_copy_segment_t *segs)
{
	for (unsigned i = 0; i < pkt->nslots; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[i];

		memset(g, 0, sizeof(*g));
		g->source.virt = pkt->data + i * XNB_PAGE_SIZE;
		g->dest.foreign.ref = reqs[data_req(pkt, i)].gref;
		g->dest.foreign.offset = 0;
		g->dest.foreign.domid = (uint16_t)domid;
		g->len = (uint16_t)data_len(pkt, i);
		g->flags = GNTCOPY_dest_gref;
	}
	return pkt->nslots;
}

static netif_rx_response_t rx_rsp(uint16_t id, uint16_t flags, int16_t status)
{
	netif_rx_response_t r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.flags = flags;
	r.status = status;
	return r;
}

unsigned xnb_rx_packet_to_responses(const struct xnb_rx_pkt *pkt,
				    const netif_rx_request_t *reqs, bool ok,
				    netif_rx_response_t *rsp)
{
	unsigned n = 0;

	for (unsigned i = 0; i < pkt->nslots; i++) {
		uint16_t flags = i == 0 ? pkt->flags : 0;

		if (i + 1 < pkt->nslots)
			flags |= NETRXF_more_data;
		rsp[n++] = rx_rsp(reqs[data_req(pkt, i)].id, flags,
				  ok ? (int16_t)data_len(pkt, i) : NETIF_RSP_ERROR);
		if (i == 0 && pkt->has_gso) {
			/* The extra overlays the response in the slot after the first. */
			struct netif_extra_info ex = pkt->gso;

			ex.flags = pkt->has_hash ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
			memcpy(&rsp[n++], &ex, sizeof(ex));
		}
		if (i == 0 && pkt->has_hash) {
			struct netif_extra_info ex = pkt->hash;

			ex.flags = 0;
			memcpy(&rsp[n++], &ex, sizeof(ex));
		}
	}
	return n;
}

/* ---- zero copy into static grants ------------------------------------------
 *
 * When the guest's posted buffers are static grants we have mapped (they
 * stay mapped for the whole round), the TAP is read straight into them:
 * one readv over the virtio-net header and the frame's first
 * XNB_RX_HDR_COPY bytes (our memory), the rest of the first buffer, the
 * buffers the next data slots will use, and the rest of the stage for
 * whatever does not fit. Every decision (header, multicast filter, hash,
 * steering) reads our copy of the headers, never the guest's page, which
 * gets them by one small copy after. Only while frames are larger than a
 * page (the last one was), with the extra slots after the first guessed
 * from it; a frame that does not fit the guess is gathered into the stage
 * and goes the copy path.
 * Not with a VLAN: a frame of another VLAN would land in the guest's memory
 * before we could drop it. Frames for this vif that we drop for another
 * reason (malformed header, multicast filter, no room) may leave their
 * bytes in buffers the guest posted to us: they were the guest's anyway. */

/* What a zero-copy read was given: the guest's pages (data slot I in
 * page[I]), the extra slots assumed after the first, the requests copied
 * (once) at q->rx_reqs + their index. */
struct zc_read {
	unsigned npages, extras, ncopied;
	uint8_t *page[XNB_RX_MAX_SLOTS];
};

/* Copy the requests the next frame may use and find their pages. True if
 * at least the first is a writable static grant. */
static bool zc_setup(struct xnb_queue *q, RING_IDX prod, netif_rx_request_t *reqs,
		     struct zc_read *z)
{
	RING_IDX avail = prod - q->rx.req_cons;
	unsigned want = XNB_RX_MAX_SLOTS - 1;

	/* Only after a frame of more than a page: for frames that fit one
	 * the ring bench measured the copy path faster (bench/PROFILE.md). */
	z->npages = 0;
	if (!q->rx_zc_big || !q->feat.sg || !q->io->tap_readv || !q->io->gref_page ||
	    avail == 0 || (q->policy && q->policy->vlan))
		return false;
	z->extras = q->rx_zc_extras;
	/* Its data slots and the extra slots between them (at most 2). */
	z->ncopied = want + 2 < avail ? want + 2 : avail;
	if (z->ncopied > XNB_RX_MAX_PKT_SLOTS)
		z->ncopied = XNB_RX_MAX_PKT_SLOTS;
	for (unsigned i = 0; i < z->ncopied; i++)
		RING_COPY_REQUEST(&q->rx, q->rx.req_cons + i, &reqs[i]);
	for (unsigned i = 0; i < want; i++) {
		unsigned at = i == 0 ? 0 : i + z->extras;

		if (at >= z->ncopied)
			break;
		z->page[i] = q->io->gref_page(q->io->ctx, reqs[at].gref, true);
		if (!z->page[i])
			break;
		z->npages++;
	}
	return z->npages > 0;
}

/* Read one frame into STAGE (header part) and Z's pages; the bytes past
 * the pages go to the stage where a contiguous frame would have them. */
static ssize_t zc_read(struct xnb_queue *q, uint8_t *stage, const struct zc_read *z)
{
	struct iovec iov[XNB_RX_MAX_SLOTS + 2];
	size_t in_pages = (size_t)z->npages * XNB_PAGE_SIZE;
	int n = 0;

	iov[n++] = (struct iovec){ stage, VH_LEN + XNB_RX_HDR_COPY };
	iov[n++] = (struct iovec){ z->page[0] + XNB_RX_HDR_COPY, XNB_PAGE_SIZE - XNB_RX_HDR_COPY };
	for (unsigned i = 1; i < z->npages; i++)
		iov[n++] = (struct iovec){ z->page[i], XNB_PAGE_SIZE };
	if (in_pages < XNB_RX_MAX_FRAME)
		iov[n++] = (struct iovec){ stage + VH_LEN + in_pages, XNB_RX_MAX_FRAME - in_pages };
	return q->io->tap_readv(q->io->ctx, iov, n);
}

/* Did PKT land where its slots are, in buffers it may have? */
static bool zc_in_place(const struct xnb_queue *q, RING_IDX prod, const struct xnb_rx_pkt *pkt,
			const struct zc_read *z)
{
	unsigned slots = xnb_rx_packet_slots(pkt);

	return pkt->nslots <= z->npages && slots <= z->ncopied && prod - q->rx.req_cons >= slots &&
	       (pkt->nslots == 1 || nextras(pkt) == z->extras);
}

/* A frame read by zc_read that cannot stay there: make it whole in STAGE
 * (LEN bytes with the header) as tap_read would have left it. */
static void zc_gather(uint8_t *stage, size_t len, const struct zc_read *z)
{
	size_t at = VH_LEN + XNB_RX_HDR_COPY;

	for (unsigned i = 0; i < z->npages && at < len; i++) {
		size_t from = i == 0 ? XNB_RX_HDR_COPY : 0;
		size_t k = XNB_PAGE_SIZE - from;

		if (k > len - at)
			k = len - at;
		memcpy(stage + at, z->page[i] + from, k);
		at += k;
	}
}

/* PKT stays in the guest's buffers: its headers go there too, its
 * requests (copied by zc_setup) are taken, no grant copy is needed. */
static void zc_place(struct xnb_queue *q, struct xnb_rx_pkt *pkt, const struct zc_read *z,
		     unsigned *nreqs)
{
	uint32_t head = pkt->size < XNB_RX_HDR_COPY ? pkt->size : XNB_RX_HDR_COPY;
	unsigned slots = xnb_rx_packet_slots(pkt);

	memcpy(z->page[0], pkt->data, head);
	pkt->zc = true;
	pkt->first_req = *nreqs;
	*nreqs += slots;
	q->rx.req_cons += slots;
	pkt->nsegs = 0;
}

/* ---- the ring round ------------------------------------------------------- */

/* Next frame for this round at STAGE: the held one, else one from the TAP
 * (into the guest's buffers if Z says so). A fresh frame passes the vif's
 * VLAN policy here: its tag is stripped, which moves its start *SKIP bytes
 * on. Returns its length, 0 when the TAP is empty, -1 when the policy
 * dropped it (counted). */
static ssize_t next_frame(struct xnb_queue *q, uint8_t *stage, const struct zc_read *z,
			  size_t *skip)
{
	ssize_t n;
	int off;

	*skip = 0;
	if (q->rx_held) {
		q->rx_held = false;
		return (ssize_t)q->rx_held_len;	/* already at the start of rx_stage */
	}
	if (z->npages)
		n = zc_read(q, stage, z);
	else
		n = q->io->tap_read(q->io->ctx, stage, VH_LEN + XNB_RX_MAX_FRAME);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		xnx_log_limited(XNX_LOG_WARN, "tap read: %s", strerror(errno));
	if (n <= 0)
		return 0;
	off = xnb_policy_rx_vlan(q->policy, stage, (size_t)n);
	if (off < 0) {
		q->stats->drops[XNB_DROP_RX_VLAN]++;
		return -1;
	}
	*skip = (size_t)off;
	return n - off;
}

/* The common case, a frame that fits the one buffer it takes, a static
 * grant we hold writable: copied into our mapping now, as grant copy would
 * have, without a grant op. True if done; else PKT takes grant ops. */
static bool copy_static(const struct xnb_queue *q, const struct xnb_rx_pkt *pkt)
{
	uint8_t *page;

	if (pkt->nslots != 1 || !q->io->gref_page)
		return false;
	page = q->io->gref_page(q->io->ctx, q->rx_reqs[pkt->first_req].gref, true);
	if (!page)
		return false;
	xnb_copy(page, pkt->data, pkt->size);	/* at most a page: nslots is 1 */
	return true;
}

/* Take PKT's requests off the ring into q->rx_reqs at *NREQS. */
static void take_requests(struct xnb_queue *q, struct xnb_rx_pkt *pkt, unsigned *nreqs)
{
	unsigned need = xnb_rx_packet_slots(pkt);

	pkt->first_req = *nreqs;
	for (unsigned i = 0; i < need; i++)
		RING_COPY_REQUEST(&q->rx, q->rx.req_cons++, &q->rx_reqs[(*nreqs)++]);
}

/* Keep the frame at STAGE/LEN for the next round, at the start of rx_stage
 * (moved there only after this round's copies are done). */
static void hold(struct xnb_queue *q, size_t len, unsigned need)
{
	q->rx_held = true;
	q->rx_held_len = len;
	q->rx_held_need = need;
	q->stats->rx_stalls++;
}

struct rx_batch {
	unsigned frames;	/* read from the TAP (or held): the budget */
	unsigned npkts, nsegs, nreqs;
	unsigned nlocal;	/* frames copy_static placed */
	size_t staged;		/* bytes of rx_stage in use */
	size_t held_at;		/* where a held frame sits */
	enum xnb_work result;
	uint64_t now;		/* for stall detection */
};

/* Read frames and claim buffers for them until budget, staging space, the
 * TAP or the guest's buffers run out. */
static void fill_batch(struct xnb_queue *q, RING_IDX prod, struct rx_batch *b)
{
	/* Dropped frames count against the budget too: a flood of frames we
	 * filter must not keep us here. */
	for (; b->frames < XNB_RX_BUDGET; b->frames++) {
		struct xnb_rx_pkt *pkt = &q->rx_pkts[b->npkts];
		uint8_t *stage = q->rx_stage + b->staged;
		struct zc_read z;
		size_t len, skip;
		ssize_t n;
		int rc;

		/* The counts only: zc_setup fills the pages it finds. Zeroing
		 * the whole page table per frame showed in the profile. */
		z.npages = z.extras = z.ncopied = 0;

		if (b->staged + VH_LEN + XNB_RX_MAX_FRAME > XNB_STAGE_BYTES) {
			b->result = XNB_MORE;
			return;
		}
		if (!q->rx_held)
			zc_setup(q, prod, &q->rx_reqs[b->nreqs], &z);
		n = next_frame(q, stage, &z, &skip);
		if (n == 0)
			return;
		if (n < 0)
			continue;
		len = (size_t)n;
		stage += skip;
		b->staged += skip;
		rc = xnb_rx_frame_to_packet(stage, len, &q->feat, pkt);
		if (rc < 0) {
			q->stats->drops[rc == -EMSGSIZE ? XNB_DROP_RX_TOO_BIG : XNB_DROP_RX_BAD_HDR]++;
			continue;
		}
		if (!xnb_mcast_pass(q->mcast, pkt->data)) {
			q->stats->drops[XNB_DROP_RX_MCAST]++;
			continue;
		}
		if (q->io->rx_hash)
			q->io->rx_hash(q->io->ctx, pkt);
		q->rx_zc_big = pkt->nslots > 1;
		q->rx_zc_extras = nextras(pkt);
		if (z.npages) {
			if (zc_in_place(q, prod, pkt, &z)) {
				zc_place(q, pkt, &z, &b->nreqs);
				xnb_rx_stall_placed(q, b->now);
				pkt->first_seg = b->nsegs;
				b->staged += VH_LEN + XNB_RX_HDR_COPY;
				b->npkts++;
				continue;
			}
			zc_gather(stage, len, &z);
		}
		if (prod - q->rx.req_cons < xnb_rx_packet_slots(pkt)) {
			if (q->rx_draining) {
				q->stats->drops[XNB_DROP_RX_NO_BUF]++;
				continue;
			}
			hold(q, len, xnb_rx_packet_slots(pkt));
			xnb_rx_stall_held(q, b->now);
			b->held_at = b->staged;
			b->result = XNB_WAIT;
			return;
		}
		take_requests(q, pkt, &b->nreqs);
		xnb_rx_stall_placed(q, b->now);
		pkt->first_seg = b->nsegs;
		pkt->nsegs = 0;
		if (copy_static(q, pkt))
			b->nlocal++;
		else
			pkt->nsegs = xnb_rx_packet_to_grant_ops(pkt, q->domid,
								&q->rx_reqs[pkt->first_req],
								&q->rx_segs[b->nsegs]);
		b->nsegs += pkt->nsegs;
		b->staged += len;
		b->npkts++;
	}
	b->result = XNB_MORE;
}

static bool copies_ok(const struct xnb_queue *q, const struct xnb_rx_pkt *pkt)
{
	for (unsigned i = 0; i < pkt->nsegs; i++) {
		const xengnttab_grant_copy_segment_t *g = &q->rx_segs[pkt->first_seg + i];

		if (g->status != GNTST_okay) {
			xnx_log_limited(XNX_LOG_WARN, "rx copy to gref %u: status %d",
			                g->dest.foreign.ref, g->status);
			return false;
		}
	}
	return true;
}

/* Copy, then answer every claimed request in its own slot. */
static void finish_batch(struct xnb_queue *q, const struct rx_batch *b)
{
	netif_rx_response_t rsp[XNB_RX_MAX_PKT_SLOTS];

	if (b->nlocal && q->io->copied_static)
		q->io->copied_static(q->io->ctx, b->nlocal, b->nsegs == 0);
	if (b->nsegs && q->io->grant_copy(q->io->ctx, b->nsegs, q->rx_segs) < 0) {
		xnx_log_limited(XNX_LOG_WARN, "rx grant copy failed: %s", strerror(errno));
		for (unsigned i = 0; i < b->nsegs; i++)
			q->rx_segs[i].status = GNTST_general_error;
	}
	for (unsigned i = 0; i < b->npkts; i++) {
		const struct xnb_rx_pkt *pkt = &q->rx_pkts[i];
		bool ok = copies_ok(q, pkt);
		unsigned n = xnb_rx_packet_to_responses(pkt, &q->rx_reqs[pkt->first_req], ok, rsp);

		for (unsigned j = 0; j < n; j++)
			*RING_GET_RESPONSE(&q->rx, q->rx.rsp_prod_pvt++) = rsp[j];
		if (!ok) {
			q->stats->drops[XNB_DROP_RX_COPY]++;
			continue;
		}
		q->stats->rx_packets++;
		q->stats->rx_bytes += pkt->size;
		q->stats->rx_gso += pkt->has_gso;
		q->stats->rx_zerocopy += pkt->zc;
	}
}

static void push_rx(struct xnb_queue *q)
{
	int notify;

	if (q->rx.rsp_prod_pvt == q->rx.sring->rsp_prod)
		return;
	/* wmb: responses before rsp_prod (pairs with the frontend's rmb after
	 * reading rsp_prod); mb: rsp_prod before reading rsp_event (pairs with
	 * the mb in the frontend's RING_FINAL_CHECK_FOR_RESPONSES). */
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->rx, notify);
	if (notify) {
		q->io->notify(q->io->ctx, q->rx_port);
		q->stats->notify_sent++;
	} else {
		q->stats->notify_suppressed++;
	}
}

/* A frame waits for NEED buffers: ask for a kick once that many are
 * posted (not at the first one: no spinning on a trickle), then look once
 * more in case they arrived meanwhile. */
static enum xnb_work wait_for_buffers(struct xnb_queue *q, unsigned need)
{
	RING_IDX prod;

	q->rx.sring->req_event = q->rx.req_cons + need;
	xen_mb(); /* req_event before re-reading req_prod: pairs with the mb in
		   * the frontend's RING_PUSH_REQUESTS_AND_CHECK_NOTIFY */
	prod = XNB_READ_ONCE(q->rx.sring->req_prod);
	/* Only a hint: the next round reads and checks the index again. */
	return prod - q->rx.req_cons >= need ? XNB_MORE : XNB_WAIT;
}

enum xnb_work xnb_rx_run(struct xnb_queue *q)
{
	struct rx_batch b = { .result = XNB_IDLE };
	enum xnb_work w;
	RING_IDX prod;

	if (q->broken)
		return XNB_BROKEN;
	prod = XNB_READ_ONCE(q->rx.sring->req_prod);
	xen_rmb(); /* requests after their index: pairs with the frontend's wmb in RING_PUSH_REQUESTS */
	if (RING_REQUEST_PROD_OVERFLOW(&q->rx, prod)) {
		xnb_queue_fail(q, "rx ring: producer %u more than a ring ahead of %u",
			       prod, q->rx.rsp_prod_pvt);
		return XNB_BROKEN;
	}
	b.now = xnb_queue_now(q);
	xnb_rx_stall_begin(q, prod, b.now);
	fill_batch(q, prod, &b);
	finish_batch(q, &b);
	push_rx(q);
	w = b.result;
	if (w == XNB_WAIT) {
		if (b.held_at)
			memmove(q->rx_stage, q->rx_stage + b.held_at, q->rx_held_len);
		w = wait_for_buffers(q, q->rx_held_need);
	}
	if (xnb_rx_stall_end(q, b.now))
		w = XNB_MORE;	/* a stalled guest posted while we looked */
	return w;
}
