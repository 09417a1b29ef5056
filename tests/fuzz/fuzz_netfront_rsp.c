/*
 * fuzz_netfront_rsp.c — libxnetfront's data path against a hostile
 * backend. The frontend's TX and RX rings each sit on one page whose
 * backend end the input drives: it writes response slots anywhere ahead,
 * moves rsp_prod by any amount (also more than a ring ahead, also past
 * what was asked), and interleaves that with the frontend's own calls
 * (send, push, collect, pull, deliver, refill), so slots change between
 * the frontend's reads.
 *
 * Invariants checked besides "no crash, UB, leak or XNX_BUG_ON":
 *  - a TX response accepted never has an id that was not outstanding, is
 *    never accepted twice, and NULL responses never outnumber the
 *    extra-info requests sent; ids and pages are conserved;
 *  - an RX response accepted is the answer to a posted buffer in its own
 *    slot, and its offset+size lies inside that buffer;
 *  - a frame delivered is non-empty, fits the caller's buffer, and a GSO
 *    frame has a segment size.
 *
 * Input: byte 0 = backend features (1 sg, 2 GSO TCPv4, 4 GSO TCPv6), then
 * operations, one byte each (mod OP_COUNT) followed by its arguments:
 *   PUT u16 len, u8 gso_type, u16 gso_size | PUSH | TXRSP u8 ahead, u16 id,
 *   s16 status | TXPROD u16 step | GC | RXRSP u8 ahead, 8 raw bytes |
 *   RXPROD u16 step | PULL | NEXT | REFILL
 */
#include <stdio.h>
#include <stdlib.h>

#include "netfront/queue.h"
#include "xnx_log.h"

enum { OP_PUT, OP_PUSH, OP_TXRSP, OP_TXPROD, OP_GC, OP_RXRSP, OP_RXPROD,
       OP_PULL, OP_NEXT, OP_REFILL, OP_COUNT };

#define TX_SIZE XNF_TX_RING_SIZE
#define RX_SIZE XNF_RX_RING_SIZE

static _Alignas(4096) uint8_t tx_ring[XNF_PAGE_SIZE];
static _Alignas(4096) uint8_t rx_ring[XNF_PAGE_SIZE];
static uint8_t tx_pages[TX_SIZE * XNF_PAGE_SIZE];
static uint8_t rx_pages[RX_SIZE * XNF_PAGE_SIZE];
static grant_ref_t tx_refs[TX_SIZE], rx_refs[RX_SIZE];
static uint8_t frame_in[XNF_FRAME_MAX];
static uint8_t frame_out[XNF_FRAME_MAX + 1];
static struct xnf_queue *q;

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

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_netfront_rsp: invariant broken: %s\n", what);
	abort();
}

static struct netif_tx_sring *txs(void) { return (struct netif_tx_sring *)tx_ring; }
static struct netif_rx_sring *rxs(void) { return (struct netif_rx_sring *)rx_ring; }

/* Ids outstanding + ids free = every id, each once. */
static void check_tx_ids(void)
{
	bool seen[TX_SIZE] = { false };
	unsigned pending = 0;

	if (q->tx_nfree > TX_SIZE)
		fail("more free tx ids than ids");
	for (unsigned i = 0; i < q->tx_nfree; i++) {
		uint16_t id = q->tx_free[i];

		if (id >= TX_SIZE || seen[id] || q->tx_pending[id])
			fail("tx free list holds a bad, repeated or outstanding id");
		seen[id] = true;
	}
	for (unsigned i = 0; i < TX_SIZE; i++)
		pending += q->tx_pending[i];
	if (pending + q->tx_nfree != TX_SIZE)
		fail("a tx id was lost or made up");
}

static void do_gc(void)
{
	bool was_pending[TX_SIZE];
	unsigned extras = q->tx_extras, nulls = 0;
	RING_IDX cons = q->tx.rsp_cons;

	memcpy(was_pending, q->tx_pending, sizeof(was_pending));
	xnf_tx_gc(q);
	for (; cons != q->tx.rsp_cons; cons++) {
		const struct netif_tx_response *r = &txs()->ring[cons % TX_SIZE].rsp;

		if (r->status == NETIF_RSP_NULL) {
			if (++nulls > extras)
				fail("more NULL tx responses accepted than extras sent");
			continue;
		}
		if (r->id >= TX_SIZE || !was_pending[r->id])
			fail("tx response accepted for an id that was not outstanding");
		was_pending[r->id] = false;
	}
	check_tx_ids();
}

static void do_pull(void)
{
	bool was_posted[RX_SIZE];
	RING_IDX cons = q->rx.rsp_cons;

	memcpy(was_posted, q->rx_posted, sizeof(was_posted));
	xnf_rx_pull(q);
	for (; cons != q->rx.rsp_cons; cons++) {
		unsigned slot = cons % RX_SIZE;
		const struct xnf_rx_slot *s = &q->rx_slot[slot];

		if (!was_posted[slot])
			fail("rx response accepted in a slot with no buffer posted");
		was_posted[slot] = false;
		if (s->extra)
			continue;
		if (s->u.rsp.id != slot)
			fail("rx response accepted with another slot's id");
		if (s->u.rsp.status > 0 &&
		    (unsigned)s->u.rsp.offset + (unsigned)s->u.rsp.status > XNF_PAGE_SIZE)
			fail("rx response accepted with offset+size past its buffer");
	}
}

static void do_next(uint32_t cap)
{
	struct xnf_frame f = { .data = frame_out, .cap = cap };
	int rc = xnf_rx_next(q, &f);

	if (rc != 1)
		return;
	if (f.len == 0 || f.len > cap)
		fail("delivered frame empty or larger than the buffer");
	if (f.gso_type != XNF_GSO_NONE && f.gso_size == 0)
		fail("GSO frame delivered without a segment size");
}

static void do_put(struct input *in)
{
	uint16_t len = 0, gso_size = 0;
	uint8_t gso = 0;
	struct xnf_frame f;

	take(in, &len, 2);
	take(in, &gso, 1);
	take(in, &gso_size, 2);
	f = (struct xnf_frame){ .data = frame_in, .len = len, .gso_type = gso % 4,
				.gso_size = gso_size, .flags = gso >> 6 };
	xnf_tx_put(q, &f);
	check_tx_ids();
}

/* The backend writes response slot rsp_prod + AHEAD. */
static void put_rsp(struct input *in, uint8_t *ring_page, size_t entry, size_t n)
{
	RING_IDX *prod = (RING_IDX *)(ring_page + offsetof(struct netif_tx_sring, rsp_prod));
	uint8_t ahead = 0, raw[8];
	size_t slot;

	if (!take(in, &ahead, 1) || !take(in, raw, n))
		return;
	slot = (*prod + ahead) % (ring_page == tx_ring ? TX_SIZE : RX_SIZE);
	memcpy(ring_page + offsetof(struct netif_tx_sring, ring) + slot * entry, raw, n);
}

static void step_prod(struct input *in, RING_IDX *prod)
{
	uint16_t step = 0;

	take(in, &step, 2);
	*prod += step;
}

static void run_op(struct input *in, uint8_t op)
{
	bool notify;

	switch (op % OP_COUNT) {
	case OP_PUT: do_put(in); break;
	case OP_PUSH: xnf_tx_push(q, &notify); break;
	case OP_TXRSP:
		put_rsp(in, tx_ring, sizeof(union netif_tx_sring_entry),
			sizeof(struct netif_tx_response));
		break;
	case OP_TXPROD: step_prod(in, &txs()->rsp_prod); break;
	case OP_GC: do_gc(); break;
	case OP_RXRSP:
		put_rsp(in, rx_ring, sizeof(union netif_rx_sring_entry),
			sizeof(struct netif_rx_response));
		break;
	case OP_RXPROD: step_prod(in, &rxs()->rsp_prod); break;
	case OP_PULL: do_pull(); break;
	case OP_NEXT: do_next(op & 0x80 ? 1500 : sizeof(frame_out)); break;
	case OP_REFILL: xnf_rx_refill(q, &notify); break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xnx_log_set_level(XNX_LOG_ERR);
	for (unsigned i = 0; i < TX_SIZE; i++)
		tx_refs[i] = 100 + i;
	for (unsigned i = 0; i < RX_SIZE; i++)
		rx_refs[i] = 1000 + i;
	memset(frame_in, 0xab, sizeof(frame_in));
	q = malloc(sizeof(*q));
	return q ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t feat = 0, op;

	take(&in, &feat, 1);
	memset(tx_ring, 0, sizeof(tx_ring));
	memset(rx_ring, 0, sizeof(rx_ring));
	xnf_queue_init(q, tx_ring, rx_ring, tx_pages, tx_refs, rx_pages, rx_refs, feat & 1);
	q->gso = feat & (XNF_OFFLOAD_GSO_TCPV4 | XNF_OFFLOAD_GSO_TCPV6);
	for (int n = 0; n < 512 && take(&in, &op, 1); n++) {
		run_op(&in, op);
		xnf_rx_ready(q);
		if (q->broken && !q->reason[0])
			fail("queue broken without a reason");
	}
	xnf_queue_arm(q);
	return 0;
}
