/*
 * fuzz_netback_tx.c — xnetback's guest TX path (xnb_tx_run) against a
 * hostile frontend. Both ring ends sit on one page; the input is a list of
 * rounds, each writing request slots and a producer index (any distance
 * ahead, so "more than a ring ahead" is reachable), then running one TX
 * round. While the round's grant copy runs, the input may rewrite slots and
 * req_prod: the frontend changing fields after the backend read them.
 *
 * Invariants checked besides "no crash, UB or leak":
 *  - the backend never consumes past the producer index it was given, and
 *    answers exactly the slots it consumed;
 *  - every grant copy stays inside one granted page and inside the staging
 *    area, and every frame handed to the TAP is 14..65535 bytes;
 *  - a response carries a request's id from the moment it was read, and a
 *    status the protocol knows.
 *
 * Input: byte 0 = features; then rounds of
 *   u16 prod_ahead, u8 nslots, nslots * 12-byte netif_tx_request,
 *   u8 nmutations, nmutations * (u8 slot, 12 bytes) applied during the copy.
 */
#include <stdio.h>
#include <stdlib.h>

#include "netback/xnb.h"
#include "xnx_log.h"

#define DOMID 3
#define NGRANTS 8

struct input { const uint8_t *p; size_t left; };

static bool take(struct input *in, void *out, size_t n)
{
	if (in->left < n)
		return false;
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
	return true;
}

static _Alignas(4096) uint8_t ring_page[XNB_PAGE_SIZE];
static _Alignas(4096) uint8_t snapshot[XNB_PAGE_SIZE];
static uint8_t grant_page[NGRANTS][XNB_PAGE_SIZE];
static struct xnb_queue *q;
static struct input *cur;	/* the input, for the mid-round mutations */
static uint8_t pending_mut;	/* mutations the current round asked for */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_netback_tx: invariant broken: %s\n", what);
	abort();
}

static netif_tx_sring_t *sring(void)
{
	return (netif_tx_sring_t *)ring_page;
}

/* The frontend rewriting slots (and maybe req_prod) behind our back. */
static void mutate(void)
{
	for (; pending_mut; pending_mut--) {
		uint8_t slot;
		netif_tx_request_t r;

		if (!take(cur, &slot, 1) || !take(cur, &r, sizeof(r)))
			return;
		if (slot == 0xff)
			sring()->req_prod += r.size;
		else
			sring()->ring[slot % XNB_TX_RING_SIZE].req = r;
	}
}

static int fake_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	const uint8_t *stage = q->tx_stage;

	mutate();
	for (unsigned i = 0; i < n; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[i];
		const uint8_t *dst = g->dest.virt;

		if (g->flags != GNTCOPY_source_gref || g->source.foreign.domid != DOMID)
			fail("grant copy not from the frontend's grant");
		if (g->len == 0 || (uint32_t)g->source.foreign.offset + g->len > XNB_PAGE_SIZE)
			fail("grant copy past the granted page");
		if (dst < stage || dst + g->len > stage + XNB_STAGE_BYTES)
			fail("grant copy outside the staging area");
		if (g->source.foreign.ref >= NGRANTS) {
			g->status = GNTST_bad_gntref;
			continue;
		}
		memcpy(g->dest.virt, grant_page[g->source.foreign.ref] + g->source.foreign.offset,
		       g->len);
		g->status = GNTST_okay;
	}
	return 0;
}

static void fake_notify(void *ctx, uint32_t port) {}

static ssize_t fake_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	if (iovcnt != 2 || iov[0].iov_len != sizeof(struct virtio_net_hdr))
		fail("tap write without a virtio-net header");
	if (iov[1].iov_len < XNB_MIN_FRAME || iov[1].iov_len > XNB_MAX_FRAME)
		fail("frame size out of 14..65535 handed to the TAP");
	return (ssize_t)(iov[0].iov_len + iov[1].iov_len);
}

static ssize_t fake_read(void *ctx, void *buf, size_t len)
{
	return -1;
}

static uint64_t fake_clock(void *ctx)
{
	return 1000000000ull;
}

static const struct xnb_io fake_io = {
	.grant_copy = fake_copy, .notify = fake_notify,
	.tap_write = fake_write, .tap_read = fake_read, .now_ns = fake_clock,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xnx_log_set_level(XNX_LOG_ERR);
	for (unsigned i = 0; i < NGRANTS; i++)
		memset(grant_page[i], (int)(0x40 + i), XNB_PAGE_SIZE);
	q = calloc(1, sizeof(*q));
	return q ? 0 : -1;
}

/* After a round: consumed ≤ pushed, everything consumed answered, each
 * answer well formed. */
static void check_round(RING_IDX cons0, RING_IDX prod, RING_IDX rsp0, enum xnb_work w)
{
	RING_IDX cons = q->tx.req_cons;

	if (cons - cons0 > prod - cons0)
		fail("consumed past the producer index");
	if (w == XNB_BROKEN)
		return;
	if (q->tx.rsp_prod_pvt != cons)
		fail("a consumed slot was not answered");
	if (sring()->rsp_prod != q->tx.rsp_prod_pvt)
		fail("responses written but not pushed");
	for (RING_IDX i = rsp0; i != cons; i++) {
		const netif_tx_response_t *r = &sring()->ring[i % XNB_TX_RING_SIZE].rsp;
		const netif_tx_request_t *was =
			&((netif_tx_sring_t *)snapshot)->ring[i % XNB_TX_RING_SIZE].req;

		if (r->status != NETIF_RSP_OKAY && r->status != NETIF_RSP_ERROR &&
		    r->status != NETIF_RSP_NULL) {
			fprintf(stderr, "slot %u: status %d\n", i, r->status);
			fail("response status out of range");
		}
		if (r->status != NETIF_RSP_NULL && r->id != was->id) {
			fprintf(stderr, "slot %u: id %u, request had %u\n", i, r->id, was->id);
			fail("response id is not the id of the request in its slot");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct xnb_stats stats;
	struct xnb_mcast mcast;
	struct xnb_feat feat;
	uint8_t fbits = 0;

	take(&in, &fbits, 1);
	feat = (struct xnb_feat){ .sg = fbits & 1, .gso_tcpv4 = fbits & 2,
				  .gso_tcpv6 = fbits & 4, .ip_csum = true };
	memset(ring_page, 0, sizeof(ring_page));
	SHARED_RING_INIT(sring());
	memset(&stats, 0, sizeof(stats));
	memset(&mcast, 0, sizeof(mcast));
	if (xnb_queue_init(q, 0, DOMID, ring_page, ring_page, &feat, &fake_io, &stats) < 0)
		return 0;
	q->mcast = (fbits & 8) ? &mcast : NULL;
	cur = &in;

	for (int round = 0; round < 64 && !q->broken; round++) {
		uint16_t ahead;
		uint8_t n;
		RING_IDX cons0 = q->tx.req_cons, rsp0 = q->tx.rsp_prod_pvt, prod;
		enum xnb_work w;

		if (!take(&in, &ahead, 2) || !take(&in, &n, 1))
			break;
		for (unsigned i = 0; i < n; i++) {
			netif_tx_request_t r;

			if (!take(&in, &r, sizeof(r)))
				break;
			sring()->ring[(cons0 + i) % XNB_TX_RING_SIZE].req = r;
		}
		prod = cons0 + ahead;
		sring()->req_prod = prod;
		pending_mut = 0;
		take(&in, &pending_mut, 1);
		memcpy(snapshot, ring_page, sizeof(snapshot));
		w = xnb_tx_run(q);
		check_round(cons0, prod, rsp0, w);
		mutate();	/* a round without copies mutates afterwards */
		if ((w == XNB_BROKEN) != q->broken || (q->broken && !q->reason[0]))
			fail("broken queue without a reason");
	}
	xnb_queue_fini(q);
	return 0;
}
