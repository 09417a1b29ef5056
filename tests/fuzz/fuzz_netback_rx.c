/*
 * fuzz_netback_rx.c — xnetback's host → guest path (xnb_rx_run) against a
 * hostile frontend and arbitrary TAP frames. Both ends of the RX ring sit
 * on one page; each round the input posts request slots and a producer
 * index (any distance ahead), queues frames (virtio-net header first) for
 * the TAP, moves the clock (so draining and stall detection happen), and
 * may rewrite slots and req_prod while the round's grant copy runs.
 *
 * Invariants checked besides "no crash, UB or leak":
 *  - never consumes past the producer index; every request consumed is
 *    answered, in its own slot, and pushed;
 *  - a data response carries its request's id, and either an error or a
 *    size that, at its offset, fits the page; extra-info slots chain as
 *    netif.h says, with a GSO or hash type;
 *  - every grant copy lands inside one granted page and reads from the
 *    staging area.
 *
 * Input: byte 0 = features (1 sg, 2 GSO TCPv4, 4 GSO TCPv6, 8 csum,
 * 16 hash extras); then rounds of
 *   u8 nframes, nframes * (u16 len, len bytes), u8 nreqs, nreqs * 8-byte
 *   netif_rx_request, u16 prod_ahead, u8 clock step (ms), u8 nmut,
 *   nmut * (u8 slot, 8 bytes; slot 0xff moves req_prod) during the copy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "netback/xnb_ctrl.h"
#include "xnx_log.h"

#define DOMID 5
#define MAXFRAMES 16

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
static struct xnb_queue *q;
static struct input *cur;
static uint8_t pending_mut;
static uint64_t clock_ns;
static bool hash_on;

/* Frames the TAP holds this round. */
static const uint8_t *frame[MAXFRAMES];
static uint16_t frame_len[MAXFRAMES];
static unsigned nframes, next_frame;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_netback_rx: invariant broken: %s\n", what);
	abort();
}

static netif_rx_sring_t *sring(void)
{
	return (netif_rx_sring_t *)ring_page;
}

static void mutate(void)
{
	for (; pending_mut; pending_mut--) {
		uint8_t slot;
		netif_rx_request_t r;

		if (!take(cur, &slot, 1) || !take(cur, &r, sizeof(r)))
			return;
		if (slot == 0xff)
			sring()->req_prod += r.id;
		else
			sring()->ring[slot % XNB_RX_RING_SIZE].req = r;
	}
}

static int fake_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	const uint8_t *stage = q->rx_stage;

	mutate();
	for (unsigned i = 0; i < n; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[i];
		const uint8_t *src = g->source.virt;

		if (g->flags != GNTCOPY_dest_gref || g->dest.foreign.domid != DOMID)
			fail("grant copy not into the frontend's grant");
		if ((uint32_t)g->dest.foreign.offset + g->len > XNB_PAGE_SIZE)
			fail("grant copy past the granted page");
		if (src < stage || src + g->len > stage + XNB_STAGE_BYTES)
			fail("grant copy from outside the staging area");
		g->status = g->dest.foreign.ref % 16 == 15 ? GNTST_bad_gntref : GNTST_okay;
	}
	return 0;
}

static void fake_notify(void *ctx, uint32_t port) {}

static ssize_t fake_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	return 0;
}

static ssize_t fake_read(void *ctx, void *buf, size_t len)
{
	size_t n;

	if (next_frame == nframes) {
		errno = EAGAIN;
		return -1;
	}
	n = frame_len[next_frame] < len ? frame_len[next_frame] : len;
	memcpy(buf, frame[next_frame++], n);
	return (ssize_t)n;
}

static uint64_t fake_clock(void *ctx)
{
	return clock_ns;
}

static void fake_hash(void *ctx, struct xnb_rx_pkt *pkt)
{
	if (!hash_on)
		return;
	pkt->hash = xnb_hash_extra(0x9e3779b9u, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	pkt->has_hash = true;
	pkt->flags |= NETRXF_extra_info;
}

static const struct xnb_io fake_io = {
	.grant_copy = fake_copy, .notify = fake_notify, .tap_write = fake_write,
	.tap_read = fake_read, .now_ns = fake_clock, .rx_hash = fake_hash,
};

/* One response slot in the chain: returns whether an extra follows. */
static bool check_rsp(RING_IDX i, bool extra)
{
	const netif_rx_response_t *r = &sring()->ring[i % XNB_RX_RING_SIZE].rsp;
	const netif_rx_request_t *was =
		&((netif_rx_sring_t *)snapshot)->ring[i % XNB_RX_RING_SIZE].req;

	if (extra) {
		struct netif_extra_info ex;

		memcpy(&ex, r, sizeof(ex));
		if (ex.type != XEN_NETIF_EXTRA_TYPE_GSO && ex.type != XEN_NETIF_EXTRA_TYPE_HASH)
			fail("extra-info slot of an unexpected type");
		return ex.flags & XEN_NETIF_EXTRA_FLAG_MORE;
	}
	if (r->id != was->id)
		fail("response id is not the id of the request in its slot");
	if (r->status < 0 ? r->status != NETIF_RSP_ERROR
			  : r->status == 0 || (uint32_t)r->offset + (uint32_t)r->status > XNB_PAGE_SIZE)
		fail("response size does not fit its buffer");
	return r->flags & NETRXF_extra_info;
}

static void check_round(RING_IDX cons0, RING_IDX prod, RING_IDX rsp0, enum xnb_work w)
{
	RING_IDX cons = q->rx.req_cons;
	bool extra = false;

	if (cons - cons0 > prod - cons0)
		fail("consumed past the producer index");
	if (w == XNB_BROKEN)
		return;
	if (q->rx.rsp_prod_pvt != cons || sring()->rsp_prod != cons)
		fail("a consumed request was not answered or not pushed");
	for (RING_IDX i = rsp0; i != cons; i++)
		extra = check_rsp(i, extra);
	if (extra)
		fail("extra-info chain runs past the responses");
}

static void take_frames(struct input *in)
{
	uint8_t n = 0;

	nframes = next_frame = 0;
	take(in, &n, 1);
	for (unsigned i = 0; i < n && i < MAXFRAMES; i++) {
		uint16_t len;

		if (!take(in, &len, 2))
			return;
		if (len > in->left)
			len = (uint16_t)in->left;
		frame[nframes] = in->p;
		frame_len[nframes++] = len;
		in->p += len;
		in->left -= len;
	}
}

static void round_of(struct input *in)
{
	RING_IDX cons0 = q->rx.req_cons, rsp0 = q->rx.rsp_prod_pvt, prod;
	uint16_t ahead = 0;
	uint8_t n = 0, step = 0;
	enum xnb_work w;

	take_frames(in);
	take(in, &n, 1);
	for (unsigned i = 0; i < n; i++) {
		netif_rx_request_t r;

		if (!take(in, &r, sizeof(r)))
			break;
		sring()->ring[(cons0 + i) % XNB_RX_RING_SIZE].req = r;
	}
	take(in, &ahead, 2);
	take(in, &step, 1);
	clock_ns += (uint64_t)step * 1000000u;
	prod = cons0 + ahead;
	sring()->req_prod = prod;
	pending_mut = 0;
	take(in, &pending_mut, 1);
	memcpy(snapshot, ring_page, sizeof(snapshot));
	w = xnb_rx_run(q);
	check_round(cons0, prod, rsp0, w);
	mutate();
	if ((w == XNB_BROKEN) != q->broken || (q->broken && !q->reason[0]))
		fail("broken queue without a reason");
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xnx_log_set_level(XNX_LOG_ERR);
	q = calloc(1, sizeof(*q));
	return q ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct xnb_stats stats;
	struct xnb_feat feat;
	uint8_t fbits = 0;

	take(&in, &fbits, 1);
	feat = (struct xnb_feat){ .sg = fbits & 1, .gso_tcpv4 = fbits & 2,
				  .gso_tcpv6 = fbits & 4, .ip_csum = fbits & 8,
				  .rx_notify = true };
	hash_on = fbits & 16;
	memset(ring_page, 0, sizeof(ring_page));
	SHARED_RING_INIT(sring());
	memset(&stats, 0, sizeof(stats));
	clock_ns = 1000000000ull;
	if (xnb_queue_init(q, 0, DOMID, ring_page, ring_page, &feat, &fake_io, &stats) < 0)
		return 0;
	cur = &in;
	for (int r = 0; r < 32 && in.left && !q->broken; r++)
		round_of(&in);
	xnb_queue_fini(q);
	return 0;
}
