/*
 * fuzz_netback_extra.c — xnetback's pure TX pieces, slot by slot: one
 * packet's request and extra-info chain read off a ring page
 * (xnb_tx_ring_to_packet), then the grant ops, the responses and the
 * virtio-net header made from it (which parses the frame's L3/L4 headers).
 *
 * Invariants checked besides "no crash, UB or leak":
 *  - a refused chain says why; an accepted one used no slot past the
 *    producer index and counts its slots right;
 *  - an accepted GSO extra has a known type and a non-zero size, a
 *    multicast extra is ADD or DEL;
 *  - a packet accepted as valid has every slot's offset+size inside its
 *    page, slot sizes adding up to the frame size, and a frame of at least
 *    an Ethernet header; its grant ops copy exactly that, page by page;
 *  - one response per consumed slot, NULL exactly for the extras;
 *  - a checksum/GSO header accepted points inside the frame.
 *
 * Input: u8 slots pushed, u8 start index (low byte; the index sits just
 * below the 32-bit wrap), then the pushed 12-byte slots raw, then the
 * frame's bytes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "netback/xnb.h"
#include "xnx_log.h"

#define DOMID 3

static _Alignas(4096) uint8_t ring_page[XNB_PAGE_SIZE];
static uint8_t frame[XNB_MAX_FRAME];

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_netback_extra: invariant broken: %s\n", what);
	abort();
}

static void check_extras(const struct xnb_tx_pkt *pkt)
{
	if (pkt->nextras > XNB_MAX_EXTRAS)
		fail("more extras than types");
	if (pkt->has_gso &&
	    (pkt->gso.type != XEN_NETIF_EXTRA_TYPE_GSO || pkt->gso.u.gso.size == 0 ||
	     (pkt->gso.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
	      pkt->gso.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)))
		fail("a bad GSO extra accepted");
	if (pkt->has_mcast && pkt->mcast.type != XEN_NETIF_EXTRA_TYPE_MCAST_ADD &&
	    pkt->mcast.type != XEN_NETIF_EXTRA_TYPE_MCAST_DEL)
		fail("a multicast extra that is neither ADD nor DEL");
}

/* A packet accepted for delivery: sizes and its grant ops. */
static void check_valid(struct xnb_tx_pkt *pkt)
{
	xengnttab_grant_copy_segment_t segs[XNB_TX_MAX_SLOTS];
	uint32_t sum = 0, copied = 0;
	unsigned n;

	if (pkt->size < XNB_MIN_FRAME || pkt->size > XNB_MAX_FRAME)
		fail("valid packet with a frame size out of 14..65535");
	for (unsigned i = 0; i < pkt->nslots; i++) {
		if ((uint32_t)pkt->slot[i].offset + pkt->len[i] > XNB_PAGE_SIZE)
			fail("valid request with offset+size past the page");
		sum += pkt->len[i];
	}
	if (sum != pkt->size)
		fail("slot sizes do not add up to the frame size");
	pkt->data = frame;
	n = xnb_tx_packet_to_grant_ops(pkt, DOMID, segs);
	if (n > pkt->nslots)
		fail("more grant ops than slots");
	for (unsigned i = 0; i < n; i++) {
		const xengnttab_grant_copy_segment_t *g = &segs[i];

		if (g->len == 0 || (uint32_t)g->source.foreign.offset + g->len > XNB_PAGE_SIZE)
			fail("grant op past its page");
		if ((const uint8_t *)g->dest.virt != frame + copied)
			fail("grant ops do not fill the frame in order");
		copied += g->len;
	}
	if (copied != pkt->size)
		fail("grant ops do not copy the whole frame");
}

static void check_responses(const struct xnb_tx_pkt *pkt, int used)
{
	netif_tx_response_t rsp[XNB_TX_MAX_SLOTS + XNB_MAX_EXTRAS];
	unsigned n = xnb_tx_packet_to_responses(pkt, rsp), nulls = 0;

	if ((int)n != used)
		fail("not one response per consumed slot");
	if (rsp[0].id != pkt->slot[0].id || rsp[0].status != pkt->status)
		fail("first response is not the first request's");
	for (unsigned i = 0; i < n; i++)
		nulls += rsp[i].status == NETIF_RSP_NULL;
	if (nulls != pkt->nextras)
		fail("NULL responses are not the extra slots");
}

static void check_vnet(const struct xnb_tx_pkt *pkt)
{
	struct virtio_net_hdr vh;

	if (xnb_tx_packet_to_vnet_hdr(pkt, &vh) < 0)
		return;
	if ((vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (uint32_t)vh.csum_start + vh.csum_offset + 2 > pkt->size)
		fail("checksum field outside the frame");
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    (vh.hdr_len > pkt->size || vh.gso_size == 0))
		fail("GSO header length outside the frame");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xnx_log_set_level(XNX_LOG_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	netif_tx_sring_t *s = (netif_tx_sring_t *)ring_page;
	netif_tx_back_ring_t ring;
	struct xnb_tx_pkt pkt;
	char why[XNB_REASON_MAX] = "";
	unsigned pushed;
	RING_IDX prod;
	int used;

	if (size < 2)
		return 0;
	pushed = data[0] ? data[0] : 1;
	memset(ring_page, 0, sizeof(ring_page));
	SHARED_RING_INIT(s);
	BACK_RING_INIT(&ring, s, XNB_PAGE_SIZE);
	ring.req_cons = ring.rsp_prod_pvt = 0xffffff00u + data[1];
	data += 2;
	size -= 2;
	for (unsigned i = 0; i < pushed && size >= sizeof(netif_tx_request_t); i++) {
		memcpy(&s->ring[(ring.req_cons + i) % XNB_TX_RING_SIZE].req, data,
		       sizeof(netif_tx_request_t));
		data += sizeof(netif_tx_request_t);
		size -= sizeof(netif_tx_request_t);
	}
	prod = ring.req_cons + pushed;
	s->req_prod = prod;
	memset(&pkt, 0x5a, sizeof(pkt));	/* stale state must not matter */

	used = xnb_tx_ring_to_packet(&ring, prod, &pkt, why, sizeof(why));
	if (used < 0) {
		if (!why[0] || !memchr(why, 0, sizeof(why)))
			fail("refused without a reason");
		return 0;
	}
	if (used == 0 || (unsigned)used > pushed)
		fail("consumed slots not pushed");
	if ((unsigned)used != pkt.nslots + pkt.nextras || pkt.nslots == 0 ||
	    pkt.nslots > XNB_TX_MAX_SLOTS)
		fail("slot counts do not add up");
	check_extras(&pkt);
	check_responses(&pkt, used);
	if (pkt.status != NETIF_RSP_OKAY || pkt.has_mcast)
		return 0;
	check_valid(&pkt);
	/* The frame in an exact-size allocation: a parse past it is caught. */
	pkt.data = calloc(1, pkt.size);
	if (!pkt.data)
		abort();
	memcpy(pkt.data, data, size < pkt.size ? size : pkt.size);
	check_vnet(&pkt);
	free(pkt.data);
	return 0;
}
