/*
 * fuzz_netback_ctrl.c — xnetback's control ring (netback/ctrl.c) and the
 * Toeplitz hashing it configures (netback/hash.c) against a hostile
 * frontend. The control ring's both ends sit on one page; the input writes
 * requests and the producer index (any distance ahead), fills the
 * frontend's granted pages the requests point at (keys, mapping tables,
 * gref lists), posts data-ring requests that keep a static grant busy,
 * rewrites ring slots while a request's grant copy runs, and hashes frames
 * and copies segments through the static-grant tables it built.
 *
 * Invariants checked besides "no crash, UB or leak":
 *  - never consumes past the producer index; one response per request,
 *    with its id and type and a netif.h status (data 0 unless SUCCESS);
 *  - grant copies stay inside one page;
 *  - every static grant mapped is unmapped by the end, none twice; each
 *    queue's table stays sorted, without duplicates, within its size;
 *  - the hash settings stay what netif.h allows (algorithm, flags, mapping
 *    size, every entry a queue we have), and a hash picks one of our queues.
 *
 * Input: byte 0 = number of queues - 1 (mod 8), then operations:
 *   0 REQS  u8 n, n * 16-byte requests, u16 prod_ahead, u8 nmut,
 *           nmut * (u8 slot, 16 bytes; slot 0xff moves req_prod) applied
 *           during the first grant copy of the round
 *   1 PAGE  u8 gref, u16 offset, u8 len, len bytes into a frontend page
 *   2 DATA  u8 ring (0 tx, 1 rx), u8 slot, 12 bytes, u8 ahead (queue 0)
 *   3 FRAME u16 len, len bytes: hashed with the current settings
 *   4 SEG   u8 gref, u16 offset, u16 len, u8 to_guest: one copy segment
 */
#include <stdio.h>
#include <stdlib.h>

#include "netback/xnb_ctrl.h"
#include "xnx_log.h"

/* fuzz-requires: netback/ctrl.c */

#define DOMID 4
#define NPAGES 8		/* frontend pages a grant copy can reach */
#define NMAPPABLE 12		/* grefs map() accepts; the others fail */

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

static _Alignas(4096) uint8_t ctrl_page[XNB_PAGE_SIZE];
static _Alignas(4096) uint8_t tx_page[XNB_PAGE_SIZE];
static _Alignas(4096) uint8_t rx_page[XNB_PAGE_SIZE];
static uint8_t fe_page[NPAGES][XNB_PAGE_SIZE];
static uint8_t local[XNB_PAGE_SIZE];
static struct xnb_ctrl ctrl;
static struct xnb_queue *dq;
static _Alignas(4096) uint8_t before[XNB_PAGE_SIZE];	/* requests as read */
static RING_IDX round_rsp0;	/* first slot answered this round */
static struct input *cur;
static uint8_t pending_mut;
static long mapped;		/* map() minus unmap() */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_netback_ctrl: invariant broken: %s\n", what);
	abort();
}

static xen_netif_ctrl_sring_t *sring(void)
{
	return (xen_netif_ctrl_sring_t *)ctrl_page;
}

/* The frontend rewriting control slots (or req_prod) behind our back.
 * Requests are read one at a time, so a slot not read yet is read as
 * rewritten (BEFORE follows it); slots read this round are left alone, as
 * their responses are what the round is checked on. */
static void mutate(void)
{
	unsigned size = RING_SIZE(&ctrl.ring);

	for (; pending_mut; pending_mut--) {
		uint8_t slot;
		struct xen_netif_ctrl_request r;

		if (!take(cur, &slot, 1) || !take(cur, &r, sizeof(r)))
			return;
		if (slot == 0xff) {
			sring()->req_prod += r.id;
			continue;
		}
		slot %= size;
		if ((slot - round_rsp0) % size < ctrl.ring.req_cons - round_rsp0)
			continue;
		sring()->ring[slot].req = r;
		((xen_netif_ctrl_sring_t *)before)->ring[slot].req = r;
	}
}

static int fake_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	mutate();
	for (unsigned i = 0; i < n; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[i];
		bool from = g->flags & GNTCOPY_source_gref;
		uint32_t ref = from ? g->source.foreign.ref : g->dest.foreign.ref;
		uint16_t off = from ? g->source.foreign.offset : g->dest.foreign.offset;

		if ((uint32_t)off + g->len > XNB_PAGE_SIZE)
			fail("grant copy past the page");
		if (ref >= NPAGES) {
			g->status = GNTST_bad_gntref;
			continue;
		}
		if (from)
			memcpy(g->dest.virt, fe_page[ref] + off, g->len);
		else
			memcpy(fe_page[ref] + off, g->source.virt, g->len);
		g->status = GNTST_okay;
	}
	return 0;
}

static void fake_notify(void *ctx, uint32_t port) {}

/* Each mapping its own allocation: an access past it, or a mapping never
 * unmapped, is caught by the sanitizers. */
static void *fake_map(void *ctx, uint32_t ref, bool readonly)
{
	void *p;

	if (ref >= NMAPPABLE || !(p = malloc(XNB_PAGE_SIZE)))
		return NULL;
	memcpy(p, fe_page[ref % NPAGES], XNB_PAGE_SIZE);
	mapped++;
	return p;
}

static void fake_unmap(void *ctx, void *addr)
{
	if (!addr)
		fail("unmapping NULL");
	mapped--;
	free(addr);
}

static const struct xnb_ctrl_io fake_io = {
	.grant_copy = fake_copy, .notify = fake_notify,
	.map = fake_map, .unmap = fake_unmap,
};

static void check_state(void)
{
	long n = 0;

	for (unsigned q = 0; q < ctrl.nqueues; q++) {
		const struct xnb_gref_table *t = &ctrl.grefs[q];

		if (t->n > XNB_GREF_TABLE_SIZE)
			fail("static grant table over its size");
		for (unsigned i = 1; i < t->n; i++)
			if (t->e[i - 1].ref >= t->e[i].ref)
				fail("static grant table not sorted or with a duplicate");
		n += t->n;
	}
	if (n != mapped)
		fail("mappings held differ from the tables' entries");
	if (ctrl.hash.alg != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE &&
	    ctrl.hash.alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
		fail("unknown hash algorithm accepted");
	if (ctrl.hash.flags & ~XNB_HASH_TYPES)
		fail("unknown hash type accepted");
	if (ctrl.hash.size > XNB_HASH_MAPPING_SIZE)
		fail("mapping table larger than advertised");
	for (unsigned i = 0; i < ctrl.hash.size; i++)
		if (ctrl.hash.mapping[i] >= ctrl.nqueues)
			fail("mapping entry names a queue we do not have");
}

static void check_round(RING_IDX cons0, RING_IDX prod, RING_IDX rsp0)
{
	const xen_netif_ctrl_sring_t *was = (const xen_netif_ctrl_sring_t *)before;

	if (ctrl.ring.req_cons - cons0 > prod - cons0)
		fail("consumed past the producer index");
	if (ctrl.broken)
		return;
	if (ctrl.ring.rsp_prod_pvt != ctrl.ring.req_cons || sring()->rsp_prod != ctrl.ring.req_cons)
		fail("a request was not answered or not pushed");
	for (RING_IDX i = rsp0; i != ctrl.ring.req_cons; i++) {
		unsigned slot = i % RING_SIZE(&ctrl.ring);
		const struct xen_netif_ctrl_response *r = &sring()->ring[slot].rsp;

		if (r->id != was->ring[slot].req.id || r->type != was->ring[slot].req.type)
			fail("response is not for the request in its slot");
		if (r->status > XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW)
			fail("response status out of range");
		if (r->status != XEN_NETIF_CTRL_STATUS_SUCCESS && r->data != 0)
			fail("data in a failed response");
	}
}

static void op_reqs(struct input *in)
{
	RING_IDX cons0 = ctrl.ring.req_cons, rsp0 = ctrl.ring.rsp_prod_pvt, prod;
	uint16_t ahead = 0;
	uint8_t n = 0;

	take(in, &n, 1);
	for (unsigned i = 0; i < n; i++) {
		struct xen_netif_ctrl_request r;

		if (!take(in, &r, sizeof(r)))
			break;
		sring()->ring[(cons0 + i) % RING_SIZE(&ctrl.ring)].req = r;
	}
	take(in, &ahead, 2);
	prod = cons0 + ahead;
	sring()->req_prod = prod;
	pending_mut = 0;
	take(in, &pending_mut, 1);
	memcpy(before, ctrl_page, sizeof(before));
	round_rsp0 = rsp0;
	xnb_ctrl_run(&ctrl);
	check_round(cons0, prod, rsp0);
	pending_mut = 0;
	if (ctrl.broken && !ctrl.reason[0])
		fail("broken without a reason");
}

static void op_page(struct input *in)
{
	uint8_t ref = 0, len = 0;
	uint16_t off = 0;

	take(in, &ref, 1);
	take(in, &off, 2);
	take(in, &len, 1);
	off %= XNB_PAGE_SIZE - len + 1;
	if (in->left < len)
		len = (uint8_t)in->left;
	take(in, fe_page[ref % NPAGES] + off, len);
}

/* A data-ring slot of queue 0 (what makes a static grant busy). */
static void op_data(struct input *in)
{
	uint8_t which = 0, slot = 0, ahead = 0, raw[12];

	if (!take(in, &which, 1) || !take(in, &slot, 1) || !take(in, raw, sizeof(raw)))
		return;
	take(in, &ahead, 1);
	if (which & 1) {
		memcpy(&((netif_rx_sring_t *)rx_page)->ring[slot % XNB_RX_RING_SIZE].req, raw,
		       sizeof(netif_rx_request_t));
		((netif_rx_sring_t *)rx_page)->req_prod = dq->rx.req_cons + ahead;
	} else {
		memcpy(&((netif_tx_sring_t *)tx_page)->ring[slot % XNB_TX_RING_SIZE].req, raw,
		       sizeof(netif_tx_request_t));
		((netif_tx_sring_t *)tx_page)->req_prod = dq->tx.req_cons + ahead;
	}
}

/* Hash a frame held in an exact-size allocation: a read past it is caught. */
static void op_frame(struct input *in)
{
	uint16_t len = 0;
	uint32_t hash;
	uint8_t type, *frame;
	bool hashed;

	take(in, &len, 2);
	len %= 4097;
	if (in->left < len)
		len = (uint16_t)in->left;
	frame = malloc(len ? len : 1);
	if (!frame)
		abort();
	take(in, frame, len);
	hashed = xnb_hash_frame(&ctrl.hash, frame, len, &hash, &type);
	free(frame);
	if (!hashed)
		return;
	if (!(ctrl.hash.flags & (1u << type)))
		fail("hash of a type that is not enabled");
	if (xnb_hash_queue(&ctrl.hash, hash, ctrl.nqueues) >= ctrl.nqueues)
		fail("hash picks a queue we do not have");
	xnb_hash_extra(hash, type);
}

static void op_seg(struct input *in)
{
	xengnttab_grant_copy_segment_t g;
	uint16_t off = 0, len = 0;
	uint8_t ref = 0, dir = 0;
	unsigned rest[1];

	take(in, &ref, 1);
	take(in, &off, 2);
	take(in, &len, 2);
	take(in, &dir, 1);
	memset(&g, 0, sizeof(g));
	len %= XNB_PAGE_SIZE + 1;
	if (dir & 1) {
		g.flags = GNTCOPY_dest_gref;
		g.dest.foreign.ref = ref;
		g.dest.foreign.offset = off;
		g.dest.foreign.domid = DOMID;
		g.source.virt = local;
	} else {
		g.flags = GNTCOPY_source_gref;
		g.source.foreign.ref = ref;
		g.source.foreign.offset = off;
		g.source.foreign.domid = DOMID;
		g.dest.virt = local;
	}
	g.len = (uint16_t)(len > sizeof(local) ? sizeof(local) : len);
	xnb_gref_copy_local(&ctrl.grefs[dir % ctrl.nqueues], DOMID, 1, &g, rest);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xnx_log_set_level(XNX_LOG_ERR);
	dq = calloc(1, sizeof(*dq));
	return dq ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t nq = 0, op;

	take(&in, &nq, 1);
	memset(ctrl_page, 0, sizeof(ctrl_page));
	memset(tx_page, 0, sizeof(tx_page));
	memset(rx_page, 0, sizeof(rx_page));
	for (unsigned i = 0; i < NPAGES; i++)
		memset(fe_page[i], (int)i, XNB_PAGE_SIZE);
	SHARED_RING_INIT(sring());
	SHARED_RING_INIT((netif_tx_sring_t *)tx_page);
	SHARED_RING_INIT((netif_rx_sring_t *)rx_page);
	memset(dq, 0, sizeof(*dq));
	BACK_RING_INIT(&dq->tx, (netif_tx_sring_t *)tx_page, XNB_PAGE_SIZE);
	BACK_RING_INIT(&dq->rx, (netif_rx_sring_t *)rx_page, XNB_PAGE_SIZE);
	mapped = 0;
	cur = &in;
	if (xnb_ctrl_init(&ctrl, ctrl_page, DOMID, nq % XNB_CTRL_MAX_QUEUES + 1, &fake_io) < 0)
		return 0;
	ctrl.queues[0] = dq;
	for (int n = 0; n < 256 && take(&in, &op, 1); n++) {
		switch (op % 5) {
		case 0: op_reqs(&in); break;
		case 1: op_page(&in); break;
		case 2: op_data(&in); break;
		case 3: op_frame(&in); break;
		case 4: op_seg(&in); break;
		}
		check_state();
	}
	xnb_ctrl_fini(&ctrl);
	if (mapped != 0)
		fail("static grants left mapped after fini");
	return 0;
}
