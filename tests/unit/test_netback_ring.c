/*
 * test_netback_ring.c — xnetback's data path with both ring ends on one
 * page: the frontend side is driven by hand with Xen's ring.h macros, grant
 * copies go to a fake grant table of local pages, the TAP is a frame list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "netback/xnb.h"

#define NGRANTS 64
#define DOMID 7

/* ---- fakes: grant table, TAP, event channel ------------------------------- */

static uint8_t grant_page[NGRANTS][XNB_PAGE_SIZE];
static bool grant_ok[NGRANTS];

struct frame { uint8_t buf[sizeof(struct virtio_net_hdr) + XNB_RX_MAX_FRAME + 100]; size_t len; };
#define MAXFRAMES 8
static struct frame tap_out[MAXFRAMES], tap_in[MAXFRAMES];
static int n_out, n_in, in_next, tap_reads;
static int notified[4];
static int copy_calls;

static int fake_copy_one(xengnttab_grant_copy_segment_t *g)
{
	bool src_foreign = g->flags & GNTCOPY_source_gref;
	uint32_t ref = src_foreign ? g->source.foreign.ref : g->dest.foreign.ref;
	uint16_t off = src_foreign ? g->source.foreign.offset : g->dest.foreign.offset;
	uint16_t dom = src_foreign ? g->source.foreign.domid : g->dest.foreign.domid;

	if (ref >= NGRANTS || !grant_ok[ref] || dom != DOMID)
		return GNTST_bad_gntref;
	if ((uint32_t)off + g->len > XNB_PAGE_SIZE)
		return GNTST_bad_copy_arg;
	if (src_foreign)
		memcpy(g->dest.virt, grant_page[ref] + off, g->len);
	else
		memcpy(grant_page[ref] + off, g->source.virt, g->len);
	return GNTST_okay;
}

static int fake_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	copy_calls++;
	for (unsigned i = 0; i < n; i++)
		segs[i].status = (int16_t)fake_copy_one(&segs[i]);
	return 0;
}

static void fake_notify(void *ctx, uint32_t port)
{
	if (port < 4)
		notified[port]++;
}

static ssize_t fake_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct frame *f = &tap_out[n_out % MAXFRAMES];

	f->len = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(f->buf + f->len, iov[i].iov_base, iov[i].iov_len);
		f->len += iov[i].iov_len;
	}
	n_out++;
	return (ssize_t)f->len;
}

static ssize_t fake_readv(void *ctx, const struct iovec *iov, int iovcnt)
{
	size_t at = 0;

	tap_reads++;
	if (in_next == n_in) {
		errno = EAGAIN;
		return -1;
	}
	struct frame *f = &tap_in[in_next++];
	for (int i = 0; i < iovcnt && at < f->len; i++) {
		size_t k = f->len - at < iov[i].iov_len ? f->len - at : iov[i].iov_len;

		memcpy(iov[i].iov_base, f->buf + at, k);
		at += k;
	}
	return (ssize_t)f->len;
}

static ssize_t fake_read(void *ctx, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return fake_readv(ctx, &iov, 1);
}

static uint64_t fake_now;

static uint64_t fake_clock(void *ctx)
{
	return fake_now;
}

static const struct xnb_io fake_io = {
	.grant_copy = fake_copy, .notify = fake_notify,
	.tap_write = fake_write, .tap_read = fake_read, .now_ns = fake_clock,
};

/* Static grants: the refs marked here are "mapped" (their grant_page). */
static bool mapped[NGRANTS];

static void *fake_gref_page(void *ctx, uint32_t ref, bool write)
{
	return ref < NGRANTS && mapped[ref] ? grant_page[ref] : NULL;
}

/* What TX reported copying from static grants itself. */
static unsigned static_segs, static_calls;

static void fake_copied_static(void *ctx, unsigned n, bool call)
{
	static_segs += n;
	static_calls += call;
}

static const struct xnb_io zc_io = {
	.grant_copy = fake_copy, .notify = fake_notify,
	.tap_write = fake_write, .tap_read = fake_read, .tap_readv = fake_readv,
	.now_ns = fake_clock, .gref_page = fake_gref_page, .copied_static = fake_copied_static,
};

/* ---- both ends on one page each ------------------------------------------- */

static _Alignas(4096) uint8_t tx_page[XNB_PAGE_SIZE];
static _Alignas(4096) uint8_t rx_page[XNB_PAGE_SIZE];
static netif_tx_front_ring_t txf;
static netif_rx_front_ring_t rxf;
static struct xnb_queue *q;
static struct xnb_stats stats;
static struct xnb_feat feat;

static void setup_rings(const struct xnb_feat *f)
{
	netif_tx_sring_t *ts = (netif_tx_sring_t *)tx_page;
	netif_rx_sring_t *rs = (netif_rx_sring_t *)rx_page;

	memset(tx_page, 0xa5, sizeof(tx_page));	/* stale junk must not matter */
	memset(rx_page, 0xa5, sizeof(rx_page));
	SHARED_RING_INIT(ts);
	SHARED_RING_INIT(rs);
	FRONT_RING_INIT(&txf, ts, XNB_PAGE_SIZE);
	FRONT_RING_INIT(&rxf, rs, XNB_PAGE_SIZE);
	memset(&stats, 0, sizeof(stats));
	memset(notified, 0, sizeof(notified));
	n_out = n_in = in_next = tap_reads = copy_calls = 0;
	static_segs = static_calls = 0;
	for (int i = 0; i < NGRANTS; i++) {
		grant_ok[i] = true;
		mapped[i] = false;
		memset(grant_page[i], (uint8_t)i, XNB_PAGE_SIZE);
	}
	if (!q)
		q = calloc(1, sizeof(*q));
	else
		xnb_queue_fini(q);
	feat = *f;
	CU_ASSERT_FATAL(xnb_queue_init(q, 0, DOMID, ts, rs, &feat, &fake_io, &stats) == 0);
	q->tx_port = 1;
	q->rx_port = 2;
}

static const struct xnb_feat feat_all = {
	.sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true, .ip_csum = true,
	.ipv6_csum = true, .rx_notify = true,
};

/* Frontend side: queue one TX slot / extra (not yet pushed). */
static void tx_req(uint32_t gref, uint16_t off, uint16_t flags, uint16_t id, uint16_t size)
{
	netif_tx_request_t *r = RING_GET_REQUEST(&txf, txf.req_prod_pvt++);

	r->gref = gref;
	r->offset = off;
	r->flags = flags;
	r->id = id;
	r->size = size;
}

static void tx_extra(uint8_t type, uint8_t flags, uint16_t gso_size, uint8_t gso_type)
{
	struct netif_extra_info ex;

	memset(&ex, 0, sizeof(ex));
	ex.type = type;
	ex.flags = flags;
	ex.u.gso.size = gso_size;
	ex.u.gso.type = gso_type;
	memcpy(RING_GET_REQUEST(&txf, txf.req_prod_pvt++), &ex, sizeof(ex));
}

static void tx_extra_mcast(uint8_t type, const uint8_t addr[6])
{
	struct netif_extra_info ex;

	memset(&ex, 0, sizeof(ex));
	ex.type = type;
	memcpy(ex.u.mcast.addr, addr, 6);
	memcpy(RING_GET_REQUEST(&txf, txf.req_prod_pvt++), &ex, sizeof(ex));
}

static int tx_push(void)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&txf, notify);
	return notify;
}

/* ---- xnb_tx_ring_to_packet: table-driven validation ----------------------- */

enum kind { END = 0, REQ, EXTRA };
struct slot { enum kind k; uint16_t off, flags, size; uint8_t type, xflags; uint16_t gso_size; uint8_t gso_type; };
struct vcase {
	const char *name;
	struct slot s[24];
	int rc;			/* slots consumed, or -EPROTO */
	int16_t status;
	unsigned nslots;
};

#define MORE NETTXF_more_data
#define XI NETTXF_extra_info
#define R(o, f, sz) { REQ, o, f, sz, 0, 0, 0, 0 }
#define X(t, xf, gs, gt) { EXTRA, 0, 0, 0, t, xf, gs, gt }
#define GSO XEN_NETIF_EXTRA_TYPE_GSO
#define V4 XEN_NETIF_GSO_TYPE_TCPV4
#define M16 R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), \
	R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), \
	R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), R(0, MORE, 10), \
	R(0, MORE, 10)
#define M17 M16, R(0, MORE, 10)

static const struct vcase vcases[] = {
	{ "good_single_slot", { R(0, 0, 60) }, 1, NETIF_RSP_OKAY, 1 },
	{ "good_multi_slot", { R(100, MORE, 3000), R(0, MORE, 1000), R(0, 0, 500) }, 3, NETIF_RSP_OKAY, 3 },
	{ "good_gso_extra", { R(0, MORE | XI, 5000), X(GSO, 0, 1448, V4), R(0, 0, 4000) }, 3, NETIF_RSP_OKAY, 2 },
	{ "good_max_slots", { R(0, MORE, 400), M16, R(0, 0, 10) }, 18, NETIF_RSP_OKAY, 18 },
	{ "good_hash_extra", { R(0, XI, 60), X(XEN_NETIF_EXTRA_TYPE_HASH, 0, 0, 0) }, 2, NETIF_RSP_OKAY, 1 },
	{ "offset_size_past_page", { R(4000, 0, 200) }, -EPROTO, 0, 0 },
	{ "first_share_past_page", { R(3000, MORE, 2000), R(0, 0, 100) }, -EPROTO, 0, 0 },
	{ "frag_past_page", { R(0, MORE, 100), R(4090, 0, 10) }, -EPROTO, 0, 0 },
	{ "zero_length", { R(0, 0, 0) }, 1, NETIF_RSP_ERROR, 1 },
	{ "shorter_than_ethernet", { R(0, 0, 13) }, 1, NETIF_RSP_ERROR, 1 },
	{ "frags_exceed_total", { R(0, MORE, 100), R(0, 0, 200) }, 2, NETIF_RSP_ERROR, 2 },
	{ "too_many_slots", { R(0, MORE, 400), M17, R(0, 0, 10) }, -EPROTO, 0, 0 },
	{ "extra_type_none", { R(0, XI, 60), X(0, 0, 0, 0) }, -EPROTO, 0, 0 },
	{ "extra_type_too_big", { R(0, XI, 60), X(XEN_NETIF_EXTRA_TYPE_MAX, 0, 0, 0) }, -EPROTO, 0, 0 },
	{ "extra_repeated", { R(0, XI, 60), X(GSO, XEN_NETIF_EXTRA_FLAG_MORE, 1448, V4), X(GSO, 0, 1448, V4) }, -EPROTO, 0, 0 },
	{ "extra_gso_size_zero", { R(0, XI, 60), X(GSO, 0, 0, V4) }, -EPROTO, 0, 0 },
	{ "extra_gso_type_bad", { R(0, XI, 60), X(GSO, 0, 1448, 9) }, -EPROTO, 0, 0 },
	{ "extra_chain_not_pushed", { R(0, XI, 60), X(GSO, XEN_NETIF_EXTRA_FLAG_MORE, 1448, V4) }, -EPROTO, 0, 0 },
	{ "frag_not_pushed", { R(0, MORE, 60) }, -EPROTO, 0, 0 },
	{ "mcast_request", { R(0, XI, 60), X(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 0, 0) }, 2, NETIF_RSP_OKAY, 1 },
	{ "mcast_empty_dummy", { R(0, XI, 0), X(XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, 0, 0) }, 2, NETIF_RSP_OKAY, 1 },
	{ "mcast_add_and_del", { R(0, XI, 0), X(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_FLAG_MORE, 0, 0),
				 X(XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0, 0, 0) }, -EPROTO, 0, 0 },
};

static void load_case(const struct vcase *c)
{
	for (int i = 0; c->s[i].k != END; i++) {
		const struct slot *s = &c->s[i];

		if (s->k == REQ)
			tx_req(1, s->off, s->flags, (uint16_t)(100 + i), s->size);
		else
			tx_extra(s->type, s->xflags, s->gso_size, s->gso_type);
	}
	tx_push();
}

static void test_tx_ring_to_packet_table(void)
{
	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const struct vcase *c = &vcases[i];
		struct xnb_tx_pkt pkt;
		char why[XNB_REASON_MAX] = "";
		int rc;

		setup_rings(&feat_all);
		load_case(c);
		rc = xnb_tx_ring_to_packet(&q->tx, txf.sring->req_prod, &pkt, why, sizeof(why));
		if (rc != c->rc || (rc > 0 && (pkt.status != c->status || pkt.nslots != c->nslots)))
			printf("\n  case %s: rc %d status %d nslots %u why '%s'\n", c->name, rc,
			       pkt.status, pkt.nslots, why);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc < 0) {
			CU_ASSERT(why[0] != '\0');
			continue;
		}
		CU_ASSERT_EQUAL(pkt.status, c->status);
		CU_ASSERT_EQUAL(pkt.nslots, c->nslots);
		CU_ASSERT_EQUAL(q->tx.req_cons, 0);	/* the caller moves it */
	}
}

/* The first slot's own share is its total minus the other slots. */
static void test_tx_ring_to_packet_first_share(void)
{
	struct xnb_tx_pkt pkt;
	char why[XNB_REASON_MAX];

	setup_rings(&feat_all);
	load_case(&vcases[1]);
	CU_ASSERT_EQUAL(xnb_tx_ring_to_packet(&q->tx, txf.sring->req_prod, &pkt, why, sizeof(why)), 3);
	CU_ASSERT_EQUAL(pkt.size, 3000);
	CU_ASSERT_EQUAL(pkt.len[0], 1500);
	CU_ASSERT_EQUAL(pkt.len[1], 1000);
	CU_ASSERT_EQUAL(pkt.len[2], 500);
}

/* A slot that changes after it was copied changes nothing we decided. */
static void test_tx_ring_to_packet_copy_once(void)
{
	struct xnb_tx_pkt pkt;
	char why[XNB_REASON_MAX];

	setup_rings(&feat_all);
	tx_req(1, 0, 0, 5, 60);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_ring_to_packet(&q->tx, txf.sring->req_prod, &pkt, why, sizeof(why)), 1);
	RING_GET_REQUEST(&txf, 0)->size = 9000;
	RING_GET_REQUEST(&txf, 0)->offset = 4000;
	CU_ASSERT_EQUAL(pkt.size, 60);
	CU_ASSERT_EQUAL(pkt.slot[0].offset, 0);
}

/* ---- grant ops and responses ---------------------------------------------- */

static void test_tx_packet_to_grant_ops_multi(void)
{
	struct xnb_tx_pkt pkt;
	xengnttab_grant_copy_segment_t segs[XNB_TX_MAX_SLOTS];
	uint8_t buf[4000];
	char why[XNB_REASON_MAX];

	setup_rings(&feat_all);
	tx_req(3, 100, MORE, 1, 3000);
	tx_req(4, 0, MORE, 2, 1000);
	tx_req(5, 8, 0, 3, 500);
	tx_push();
	CU_ASSERT_EQUAL_FATAL(xnb_tx_ring_to_packet(&q->tx, txf.sring->req_prod, &pkt, why, sizeof(why)), 3);
	pkt.data = buf;
	CU_ASSERT_EQUAL_FATAL(xnb_tx_packet_to_grant_ops(&pkt, DOMID, segs), 3);
	CU_ASSERT_EQUAL(segs[0].flags, GNTCOPY_source_gref);
	CU_ASSERT_EQUAL(segs[0].source.foreign.ref, 3);
	CU_ASSERT_EQUAL(segs[0].source.foreign.offset, 100);
	CU_ASSERT_EQUAL(segs[0].source.foreign.domid, DOMID);
	CU_ASSERT_PTR_EQUAL(segs[0].dest.virt, buf);
	CU_ASSERT_EQUAL(segs[0].len, 1500);
	CU_ASSERT_PTR_EQUAL(segs[1].dest.virt, buf + 1500);
	CU_ASSERT_EQUAL(segs[1].len, 1000);
	CU_ASSERT_EQUAL(segs[2].source.foreign.ref, 5);
	CU_ASSERT_EQUAL(segs[2].source.foreign.offset, 8);
	CU_ASSERT_PTR_EQUAL(segs[2].dest.virt, buf + 2500);
	CU_ASSERT_EQUAL(segs[2].len, 500);
}

static void test_tx_packet_to_responses_extras(void)
{
	struct xnb_tx_pkt pkt;
	netif_tx_response_t rsp[XNB_TX_MAX_SLOTS + XNB_MAX_EXTRAS];
	char why[XNB_REASON_MAX];

	setup_rings(&feat_all);
	tx_req(1, 0, MORE | XI, 11, 5000);
	tx_extra(GSO, 0, 1448, V4);
	tx_req(2, 0, 0, 12, 4000);
	tx_push();
	CU_ASSERT_EQUAL_FATAL(xnb_tx_ring_to_packet(&q->tx, txf.sring->req_prod, &pkt, why, sizeof(why)), 3);
	CU_ASSERT_EQUAL_FATAL(xnb_tx_packet_to_responses(&pkt, rsp), 3);
	CU_ASSERT_EQUAL(rsp[0].id, 11);
	CU_ASSERT_EQUAL(rsp[0].status, NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(rsp[1].status, NETIF_RSP_NULL);
	CU_ASSERT_EQUAL(rsp[2].id, 12);
	CU_ASSERT_EQUAL(rsp[2].status, NETIF_RSP_OKAY);
	pkt.status = NETIF_RSP_ERROR;
	xnb_tx_packet_to_responses(&pkt, rsp);
	CU_ASSERT_EQUAL(rsp[0].status, NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(rsp[1].status, NETIF_RSP_NULL);
	CU_ASSERT_EQUAL(rsp[2].status, NETIF_RSP_ERROR);
}

/* ---- checksum / GSO onto the virtio-net header ---------------------------- */

/* An Ethernet + IPv4 + TCP frame (no options) of LEN bytes. */
static void make_tcp4(uint8_t *f, size_t len)
{
	memset(f, 0, len);
	f[12] = 0x08; f[13] = 0x00;
	f[14] = 0x45;
	f[14 + 9] = 6;
	f[34 + 12] = 5 << 4;	/* doff 5 */
}

static void test_tx_packet_to_vnet_hdr(void)
{
	uint8_t frame[200];
	struct xnb_tx_pkt pkt = { .size = sizeof(frame), .data = frame };
	struct virtio_net_hdr vh;

	make_tcp4(frame, sizeof(frame));
	pkt.flags = 0;
	CU_ASSERT_EQUAL(xnb_tx_packet_to_vnet_hdr(&pkt, &vh), 0);
	CU_ASSERT_EQUAL(vh.flags, 0);
	pkt.flags = NETTXF_data_validated;
	CU_ASSERT_EQUAL(xnb_tx_packet_to_vnet_hdr(&pkt, &vh), 0);
	CU_ASSERT_EQUAL(vh.flags, VIRTIO_NET_HDR_F_DATA_VALID);
	pkt.flags = NETTXF_csum_blank | NETTXF_data_validated;
	CU_ASSERT_EQUAL(xnb_tx_packet_to_vnet_hdr(&pkt, &vh), 0);
	CU_ASSERT_EQUAL(vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CU_ASSERT_EQUAL(vh.csum_start, 34);
	CU_ASSERT_EQUAL(vh.csum_offset, 16);
	CU_ASSERT_EQUAL(vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	pkt.has_gso = true;
	pkt.gso.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	pkt.gso.u.gso.size = 1448;
	CU_ASSERT_EQUAL(xnb_tx_packet_to_vnet_hdr(&pkt, &vh), 0);
	CU_ASSERT_EQUAL(vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CU_ASSERT_EQUAL(vh.gso_size, 1448);
	CU_ASSERT_EQUAL(vh.hdr_len, 54);
	pkt.flags = 0;	/* GSO without a partial checksum: refused */
	CU_ASSERT_EQUAL(xnb_tx_packet_to_vnet_hdr(&pkt, &vh), -EINVAL);
	frame[12] = 0x12;	/* not IP: cannot place the checksum */
	pkt.flags = NETTXF_csum_blank;
	pkt.has_gso = false;
	CU_ASSERT_EQUAL(xnb_tx_packet_to_vnet_hdr(&pkt, &vh), -EINVAL);
}

static void test_parse_l4_hostile(void)
{
	uint8_t f[100];
	struct xnb_l4 l4;

	make_tcp4(f, sizeof(f));
	CU_ASSERT_EQUAL(xnb_parse_l4(f, sizeof(f), &l4), 0);
	CU_ASSERT_EQUAL(xnb_parse_l4(f, 40, &l4), -EINVAL);	/* truncated IP */
	CU_ASSERT_EQUAL(xnb_parse_l4(f, 50, &l4), -EINVAL);	/* truncated TCP */
	f[14] = 0x4f;	/* ihl 60 bytes: TCP header past the end */
	CU_ASSERT_EQUAL(xnb_parse_l4(f, sizeof(f), &l4), -EINVAL);
	f[14] = 0x41;	/* ihl 4 bytes */
	CU_ASSERT_EQUAL(xnb_parse_l4(f, sizeof(f), &l4), -EINVAL);
	make_tcp4(f, sizeof(f));
	f[34 + 12] = 2 << 4;	/* doff below 5 */
	CU_ASSERT_EQUAL(xnb_parse_l4(f, sizeof(f), &l4), -EINVAL);
	make_tcp4(f, sizeof(f));
	f[14 + 6] = 0x20;	/* more fragments */
	CU_ASSERT_EQUAL(xnb_parse_l4(f, sizeof(f), &l4), -EINVAL);
}

/* ---- the TX round ---------------------------------------------------------- */

static void test_tx_run_delivers_and_responds(void)
{
	netif_tx_response_t r;

	setup_rings(&feat_all);
	tx_req(1, 10, 0, 21, 60);
	tx_req(2, 0, MORE | XI, 22, 5000);
	tx_extra(XEN_NETIF_EXTRA_TYPE_HASH, 0, 0, 0);
	tx_req(3, 0, 0, 23, 4000);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(copy_calls, 1);	/* one batched call per round */
	CU_ASSERT_EQUAL_FATAL(n_out, 2);
	CU_ASSERT_EQUAL(tap_out[0].len, sizeof(struct virtio_net_hdr) + 60);
	CU_ASSERT_EQUAL(tap_out[0].buf[sizeof(struct virtio_net_hdr)], 1);
	CU_ASSERT_EQUAL(tap_out[1].len, sizeof(struct virtio_net_hdr) + 5000);
	CU_ASSERT_EQUAL(tap_out[1].buf[sizeof(struct virtio_net_hdr) + 999], 2);
	CU_ASSERT_EQUAL(tap_out[1].buf[sizeof(struct virtio_net_hdr) + 1000], 3);
	CU_ASSERT_EQUAL_FATAL(txf.sring->rsp_prod, 4);
	RING_COPY_RESPONSE(&txf, 0, &r);
	CU_ASSERT(r.id == 21 && r.status == NETIF_RSP_OKAY);
	RING_COPY_RESPONSE(&txf, 1, &r);
	CU_ASSERT(r.id == 22 && r.status == NETIF_RSP_OKAY);
	RING_COPY_RESPONSE(&txf, 2, &r);
	CU_ASSERT_EQUAL(r.status, NETIF_RSP_NULL);
	RING_COPY_RESPONSE(&txf, 3, &r);
	CU_ASSERT(r.id == 23 && r.status == NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(stats.tx_packets, 2);
	CU_ASSERT_EQUAL(stats.tx_bytes, 5060);
	CU_ASSERT_EQUAL(txf.sring->req_event, 5);	/* asks for a kick on the next one */
}

/* A frame in one slot of a static grant is copied from the mapping, no
 * grant op; one in several slots, or on a page that is not mapped, still
 * goes by grant copy. Same bytes, same responses, counted as before. */
static void test_tx_run_static_grant(void)
{
	netif_tx_response_t r;
	const size_t vh = sizeof(struct virtio_net_hdr);

	setup_rings(&feat_all);
	q->io = &zc_io;
	mapped[1] = mapped[2] = mapped[3] = true;
	tx_req(1, 100, 0, 21, 60);		/* static, one slot */
	tx_req(9, 0, 0, 22, 70);		/* not mapped */
	tx_req(2, 0, MORE, 23, 5000);		/* static, but two slots */
	tx_req(3, 0, 0, 24, 904);
	tx_push();
	memset(grant_page[1] + 100, 0x5c, 60);
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(copy_calls, 1);		/* for the other two */
	CU_ASSERT_EQUAL(static_segs, 1);
	CU_ASSERT_EQUAL(static_calls, 0);	/* the round made its call */
	CU_ASSERT_EQUAL_FATAL(n_out, 3);
	CU_ASSERT_EQUAL(tap_out[0].len, vh + 60);
	CU_ASSERT(tap_out[0].buf[vh] == 0x5c && tap_out[0].buf[vh + 59] == 0x5c);
	CU_ASSERT_EQUAL(tap_out[1].buf[vh + 69], 9);
	CU_ASSERT_EQUAL(tap_out[2].buf[vh + 4095], 2);
	CU_ASSERT_EQUAL(tap_out[2].buf[vh + 4096], 3);
	for (unsigned i = 0; i < 3; i++) {
		RING_COPY_RESPONSE(&txf, i, &r);
		CU_ASSERT(r.id == 21 + i && r.status == NETIF_RSP_OKAY);
	}
	CU_ASSERT_EQUAL(stats.tx_packets, 3);
	/* Only static frames: no grant copy call at all, counted as one. */
	tx_req(1, 0, 0, 25, 14);
	tx_req(2, 4000, 0, 26, 96);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(copy_calls, 1);
	CU_ASSERT_EQUAL(static_segs, 3);
	CU_ASSERT_EQUAL(static_calls, 1);
	CU_ASSERT_EQUAL_FATAL(n_out, 5);
	CU_ASSERT_EQUAL(tap_out[3].len, vh + 14);
	CU_ASSERT_EQUAL(tap_out[4].buf[vh + 95], 2);
	CU_ASSERT_EQUAL(stats.tx_packets, 5);
}

/* Still checked before the copy: a slot past its page breaks the queue
 * and nothing is read from the mapping. */
static void test_tx_run_static_grant_past_page(void)
{
	setup_rings(&feat_all);
	q->io = &zc_io;
	mapped[1] = true;
	tx_req(1, 4090, 0, 1, 60);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_BROKEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(q->reason, "past the page"));
	CU_ASSERT_EQUAL(n_out, 0);
	CU_ASSERT_EQUAL(static_segs, 0);
}

static void test_tx_run_bad_gref_errors_one_packet(void)
{
	netif_tx_response_t r;

	setup_rings(&feat_all);
	grant_ok[9] = false;
	tx_req(9, 0, 0, 31, 60);
	tx_req(1, 0, 0, 32, 60);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(n_out, 1);
	RING_COPY_RESPONSE(&txf, 0, &r);
	CU_ASSERT(r.id == 31 && r.status == NETIF_RSP_ERROR);
	RING_COPY_RESPONSE(&txf, 1, &r);
	CU_ASSERT(r.id == 32 && r.status == NETIF_RSP_OKAY);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_TX_COPY], 1);
	CU_ASSERT_FALSE(q->broken);
}

static void test_tx_run_producer_too_far_ahead(void)
{
	setup_rings(&feat_all);
	txf.sring->req_prod = RING_SIZE(&txf) + 1;
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_BROKEN);
	CU_ASSERT(q->broken);
	CU_ASSERT_PTR_NOT_NULL(strstr(q->reason, "more than a ring ahead"));
	CU_ASSERT_EQUAL(n_out, 0);
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_BROKEN);	/* stays down */
}

static void test_tx_run_violation_breaks_queue(void)
{
	setup_rings(&feat_all);
	tx_req(1, 4095, 0, 1, 60);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_BROKEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(q->reason, "past the page"));
}

static void test_tx_run_budget(void)
{
	setup_rings(&feat_all);
	for (int i = 0; i < XNB_TX_BUDGET + 3; i++)
		tx_req(1, 0, 0, (uint16_t)i, 60);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_MORE);
	CU_ASSERT_EQUAL(n_out, XNB_TX_BUDGET);
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(n_out, XNB_TX_BUDGET + 3);
}

/* ---- notification suppression --------------------------------------------- */

static void test_tx_notify_suppressed(void)
{
	int more;

	setup_rings(&feat_all);
	tx_req(1, 0, 0, 1, 60);
	tx_push();
	xnb_tx_run(q);
	CU_ASSERT_EQUAL(notified[1], 1);	/* rsp_event = 1 from SHARED_RING_INIT */
	txf.rsp_cons = txf.sring->rsp_prod;	/* consumed, rsp_event left alone */
	tx_req(1, 0, 0, 2, 60);
	CU_ASSERT_EQUAL(tx_push(), 1);	/* backend asked: req_event = 2 */
	xnb_tx_run(q);
	CU_ASSERT_EQUAL(notified[1], 1);	/* the peer did not ask: no event */
	CU_ASSERT_EQUAL(stats.notify_suppressed, 1);
	txf.rsp_cons = txf.sring->rsp_prod;
	RING_FINAL_CHECK_FOR_RESPONSES(&txf, more);	/* now it asks */
	CU_ASSERT_FALSE(more);
	tx_req(1, 0, 0, 3, 60);
	tx_push();
	xnb_tx_run(q);
	CU_ASSERT_EQUAL(notified[1], 2);
}

/* While the backend has not caught up, the frontend need not kick. */
static void test_tx_req_event_only_when_idle(void)
{
	setup_rings(&feat_all);
	for (int i = 0; i < XNB_TX_BUDGET + 1; i++)
		tx_req(1, 0, 0, (uint16_t)i, 60);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_MORE);
	tx_req(1, 0, 0, 99, 60);
	CU_ASSERT_EQUAL(tx_push(), 0);
}

/* ---- RX ------------------------------------------------------------------- */

static void rx_post(uint16_t id, uint32_t gref)
{
	netif_rx_request_t *r = RING_GET_REQUEST(&rxf, rxf.req_prod_pvt++);

	r->id = id;
	r->gref = gref;
}

/* Push posted RX buffers; returns whether the backend asked for a kick. */
static int rx_push(void)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&rxf, notify);
	return notify;
}

/* Queue a frame of LEN bytes (pattern from SEED) on the fake TAP. */
static void tap_frame(size_t len, uint8_t seed, const struct virtio_net_hdr *vh)
{
	struct frame *f = &tap_in[n_in++];
	struct virtio_net_hdr zero = { 0 };

	memcpy(f->buf, vh ? vh : &zero, sizeof(zero));
	for (size_t i = 0; i < len; i++)
		f->buf[sizeof(zero) + i] = (uint8_t)(seed + i);
	f->len = sizeof(zero) + len;
}

static void test_rx_single_slot(void)
{
	netif_rx_response_t r;

	setup_rings(&feat_all);
	for (uint16_t i = 0; i < 4; i++)
		rx_post(i, 10u + i);
	rx_push();
	tap_frame(1000, 3, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL_FATAL(rxf.sring->rsp_prod, 1);
	RING_COPY_RESPONSE(&rxf, 0, &r);
	CU_ASSERT_EQUAL(r.id, 0);
	CU_ASSERT_EQUAL(r.status, 1000);
	CU_ASSERT_EQUAL(r.offset, 0);
	CU_ASSERT_EQUAL(r.flags, 0);
	CU_ASSERT_EQUAL(grant_page[10][0], 3);
	CU_ASSERT_EQUAL(grant_page[10][999], (uint8_t)(3 + 999));
	CU_ASSERT_EQUAL(grant_page[10][1000], 10);	/* untouched past the frame */
	CU_ASSERT_EQUAL(stats.rx_packets, 1);
	CU_ASSERT_EQUAL(notified[2], 1);
}

/* ---- RX straight into static grants ---------------------------------------- */

/* The TAP read straight into the guest's mapped buffers 10..: no grant
 * copy, the same bytes and responses as the copy path. */
static void rx_zc_setup(const struct xnb_policy *pol, uint16_t nbufs)
{
	setup_rings(&feat_all);
	q->io = &zc_io;
	q->policy = pol;
	for (uint16_t i = 0; i < nbufs; i++) {
		rx_post(i, 10u + i);
		mapped[10 + i] = true;
	}
	rx_push();
}

/* A frame that fits a page goes the copy path even into a mapped buffer
 * (zero copy measured no faster there): read into the stage, then copied
 * into the mapping by us, no grant op, counted as a static segment. */
static void test_rx_zerocopy_only_big(void)
{
	rx_zc_setup(NULL, 4);
	tap_frame(1000, 3, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(copy_calls, 0);
	CU_ASSERT_EQUAL(static_segs, 1);
	CU_ASSERT_EQUAL(static_calls, 1);
	CU_ASSERT_EQUAL_FATAL(rxf.sring->rsp_prod, 1);
	CU_ASSERT_EQUAL(grant_page[10][999], (uint8_t)(3 + 999));
	CU_ASSERT_EQUAL(stats.rx_zerocopy, 0);
	CU_ASSERT_EQUAL(stats.rx_packets, 1);
}

/* One-slot frames: into a mapped buffer by our copy, into one that is no
 * static grant by grant copy; the same bytes and responses either way. */
static void test_rx_static_grant_mixed(void)
{
	netif_rx_response_t r;

	rx_zc_setup(NULL, 2);
	mapped[11] = false;
	tap_frame(60, 5, NULL);
	tap_frame(70, 6, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(copy_calls, 1);
	CU_ASSERT_EQUAL(static_segs, 1);
	CU_ASSERT_EQUAL(static_calls, 0);
	CU_ASSERT(grant_page[10][0] == 5 && grant_page[10][59] == 5 + 59);
	CU_ASSERT_EQUAL(grant_page[10][60], 10);	/* untouched past the frame */
	CU_ASSERT(grant_page[11][0] == 6 && grant_page[11][69] == 6 + 69);
	CU_ASSERT_EQUAL_FATAL(rxf.sring->rsp_prod, 2);
	RING_COPY_RESPONSE(&rxf, 0, &r);
	CU_ASSERT(r.id == 0 && r.status == 60);
	RING_COPY_RESPONSE(&rxf, 1, &r);
	CU_ASSERT(r.id == 1 && r.status == 70);
	CU_ASSERT_EQUAL(stats.rx_packets, 2);
}

/* GSO frames over two pages: the first goes the copy path (the layout is
 * guessed from the frame before), the next straight into the pages its
 * data slots use, around the GSO extra's slot. */
static void test_rx_zerocopy_gso(void)
{
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = 1448, .csum_start = 34, .csum_offset = 16,
	};
	netif_rx_response_t r;

	rx_zc_setup(NULL, 8);
	tap_frame(5000, 0, &vh);
	tap_frame(5000, 1, &vh);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(copy_calls, 1);		/* the first frame's */
	CU_ASSERT_EQUAL_FATAL(rxf.sring->rsp_prod, 6);
	CU_ASSERT_EQUAL(grant_page[12][0], (uint8_t)4096);	/* frame 1, data slot 1 */
	CU_ASSERT_EQUAL(grant_page[13][0], 1);			/* frame 2, data slot 0 */
	CU_ASSERT_EQUAL(grant_page[13][4095], (uint8_t)(1 + 4095));
	CU_ASSERT_EQUAL(grant_page[14][0], 14);			/* its extra's buffer: unused */
	CU_ASSERT_EQUAL(grant_page[15][0], (uint8_t)(1 + 4096));	/* its data slot 1 */
	CU_ASSERT_EQUAL(grant_page[15][5000 - 4096 - 1], (uint8_t)(1 + 4999));
	CU_ASSERT_EQUAL(grant_page[15][5000 - 4096], 15);	/* untouched past the frame */
	RING_COPY_RESPONSE(&rxf, 3, &r);
	CU_ASSERT(r.id == 3 && r.status == 4096 && (r.flags & NETRXF_extra_info));
	RING_COPY_RESPONSE(&rxf, 5, &r);
	CU_ASSERT(r.id == 5 && r.status == 5000 - 4096);
	CU_ASSERT_EQUAL(stats.rx_zerocopy, 1);
	CU_ASSERT_EQUAL(stats.rx_gso, 2);
}

/* Not into the guest's pages with a VLAN: a frame of another VLAN would
 * be in the guest's memory before we drop it. Nor into a buffer that is
 * no static grant. */
static void test_rx_zerocopy_not_when(void)
{
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = 1448, .csum_start = 38, .csum_offset = 16,
	};
	struct xnb_policy pol = { .vlan = 5 };

	rx_zc_setup(&pol, 8);
	for (int i = 0; i < 2; i++) {
		uint8_t *f = tap_in[i].buf + sizeof(struct virtio_net_hdr);

		tap_frame(5000, 3, &vh);
		f[12] = 0x81; f[13] = 0x00; f[14] = 0x00; f[15] = (uint8_t)(5 + i);
	}
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(stats.rx_packets, 1);		/* VLAN 5, through the copy path */
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_VLAN], 1);	/* VLAN 6 */
	CU_ASSERT_EQUAL(grant_page[13][XNB_RX_HDR_COPY], 13);	/* nothing of it there */
	CU_ASSERT_EQUAL(grant_page[15][0], 15);
	CU_ASSERT_EQUAL(stats.rx_zerocopy, 0);
	/* No VLAN, but the buffer after the first frame's is no static grant. */
	rx_zc_setup(NULL, 8);
	mapped[13] = false;
	tap_frame(5000, 0, &vh);
	tap_frame(5000, 1, &vh);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(stats.rx_packets, 2);
	CU_ASSERT_EQUAL(grant_page[15][0], (uint8_t)(1 + 4096));
	CU_ASSERT_EQUAL(stats.rx_zerocopy, 0);
}

static void test_rx_multi_slot(void)
{
	netif_rx_response_t r;

	setup_rings(&feat_all);
	for (uint16_t i = 0; i < 4; i++)
		rx_post((uint16_t)(40 + i), 10u + i);
	rx_push();
	tap_frame(9000, 0, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL_FATAL(rxf.sring->rsp_prod, 3);
	RING_COPY_RESPONSE(&rxf, 0, &r);
	CU_ASSERT(r.id == 40 && r.status == 4096 && r.flags == NETRXF_more_data);
	RING_COPY_RESPONSE(&rxf, 1, &r);
	CU_ASSERT(r.id == 41 && r.status == 4096 && r.flags == NETRXF_more_data);
	RING_COPY_RESPONSE(&rxf, 2, &r);
	CU_ASSERT(r.id == 42 && r.status == 9000 - 8192 && r.flags == 0);
	CU_ASSERT_EQUAL(grant_page[11][0], (uint8_t)4096);
	CU_ASSERT_EQUAL(grant_page[12][807], (uint8_t)(8192 + 807));
}

static void test_rx_gso_extra(void)
{
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = 1448, .csum_start = 34, .csum_offset = 16,
	};
	netif_rx_response_t r;
	struct netif_extra_info ex;

	setup_rings(&feat_all);
	for (uint16_t i = 0; i < 4; i++)
		rx_post(i, 10u + i);
	rx_push();
	tap_frame(5000, 0, &vh);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL_FATAL(rxf.sring->rsp_prod, 3);
	RING_COPY_RESPONSE(&rxf, 0, &r);
	CU_ASSERT_EQUAL(r.flags, NETRXF_more_data | NETRXF_extra_info | NETRXF_csum_blank |
				 NETRXF_data_validated);
	CU_ASSERT_EQUAL(r.status, 4096);
	memcpy(&ex, RING_GET_RESPONSE(&rxf, 1), sizeof(ex));
	CU_ASSERT_EQUAL(ex.type, XEN_NETIF_EXTRA_TYPE_GSO);
	CU_ASSERT_EQUAL(ex.flags, 0);
	CU_ASSERT_EQUAL(ex.u.gso.size, 1448);
	CU_ASSERT_EQUAL(ex.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV4);
	RING_COPY_RESPONSE(&rxf, 2, &r);
	CU_ASSERT(r.id == 2 && r.status == 5000 - 4096 && r.flags == 0);
	CU_ASSERT_EQUAL(grant_page[12][0], (uint8_t)4096);	/* slot 2 holds data 1 */
	CU_ASSERT_EQUAL(stats.rx_gso, 1);
}

/* The biggest frame a TSO TAP hands us: 64 KiB of IP plus headers. */
static void test_rx_largest_gso_frame(void)
{
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.gso_size = 1448, .csum_start = 34, .csum_offset = 16,
	};
	netif_rx_response_t r;
	uint32_t total = 0;

	setup_rings(&feat_all);
	for (uint16_t i = 0; i < XNB_RX_MAX_SLOTS; i++)
		rx_post(i, 20u + i);
	rx_push();
	tap_frame(XNB_RX_MAX_FRAME, 0, &vh);
	tap_frame(XNB_RX_MAX_FRAME + 1, 0, &vh);	/* one byte too many: dropped */
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL_FATAL(rxf.sring->rsp_prod, XNB_RX_MAX_SLOTS);
	for (RING_IDX i = 0; i < XNB_RX_MAX_SLOTS; i++) {
		if (i == 1)
			continue;	/* the GSO extra */
		RING_COPY_RESPONSE(&rxf, i, &r);
		CU_ASSERT(r.status > 0);
		total += (uint32_t)r.status;
		CU_ASSERT_EQUAL(!!(r.flags & NETRXF_more_data), i + 1 < XNB_RX_MAX_SLOTS);
	}
	CU_ASSERT_EQUAL(total, XNB_RX_MAX_FRAME);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_BAD_HDR], 1);
}

static void test_rx_no_buffer_posted(void)
{
	netif_rx_response_t r;

	setup_rings(&feat_all);
	tap_frame(100, 1, NULL);
	tap_frame(100, 2, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);
	CU_ASSERT_EQUAL(rxf.sring->rsp_prod, 0);
	CU_ASSERT_EQUAL(rxf.sring->req_event, 1);	/* kick me on the next buffer */
	CU_ASSERT_EQUAL(stats.rx_stalls, 1);
	CU_ASSERT_EQUAL(in_next, 1);	/* the second frame stays in the TAP */
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);	/* still nothing posted */
	CU_ASSERT_EQUAL(in_next, 1);
	rx_post(7, 10);
	rx_push();
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);	/* held frame sent, next waits */
	CU_ASSERT_EQUAL_FATAL(rxf.sring->rsp_prod, 1);
	RING_COPY_RESPONSE(&rxf, 0, &r);
	CU_ASSERT(r.id == 7 && r.status == 100);
	CU_ASSERT_EQUAL(grant_page[10][0], 1);	/* the held frame, not the second */
	rx_post(8, 11);
	rx_push();
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(grant_page[11][0], 2);
	CU_ASSERT_EQUAL(stats.rx_packets, 2);
}

/* A frame needing three slots waits until three are posted: one posted
 * buffer neither wakes us nor makes us spin. */
static void test_rx_waits_for_enough_buffers(void)
{
	setup_rings(&feat_all);
	tap_frame(9000, 0, NULL);	/* 3 slots */
	rx_post(1, 10);
	rx_push();
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);
	CU_ASSERT_EQUAL(rxf.sring->req_event, 3);	/* kick when 3 are there */
	rx_post(2, 11);
	CU_ASSERT_EQUAL(rx_push(), 0);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);
	CU_ASSERT_EQUAL(rxf.sring->rsp_prod, 0);
	rx_post(3, 12);
	CU_ASSERT_EQUAL(rx_push(), 1);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(rxf.sring->rsp_prod, 3);
}

/* The RX budget counts dropped frames too. */
static void test_rx_budget_counts_drops(void)
{
	struct xnb_feat f = { .rx_notify = true };	/* no sg: big frames dropped */

	setup_rings(&f);
	for (int i = 0; i < MAXFRAMES; i++)
		tap_frame(5000, 0, NULL);
	rx_post(1, 10);
	rx_push();
	xnb_rx_run(q);
	CU_ASSERT(tap_reads <= XNB_RX_BUDGET + 1);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_TOO_BIG], MAXFRAMES);
}

/* A held frame that ended up mid-stage is moved, intact, to the front. */
static void test_rx_hold_after_others(void)
{
	setup_rings(&feat_all);
	rx_post(1, 10);
	rx_push();
	tap_frame(300, 50, NULL);
	tap_frame(200, 90, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);
	CU_ASSERT_EQUAL(grant_page[10][0], 50);
	rx_post(2, 11);
	rx_push();
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(grant_page[11][0], 90);
	CU_ASSERT_EQUAL(grant_page[11][199], (uint8_t)(90 + 199));
}

static void test_rx_too_big_without_sg(void)
{
	struct xnb_feat f = { .rx_notify = true };

	setup_rings(&f);
	rx_post(1, 10);
	rx_post(2, 11);
	rx_push();
	tap_frame(5000, 0, NULL);
	tap_frame(64, 9, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_TOO_BIG], 1);
	CU_ASSERT_EQUAL(rxf.sring->rsp_prod, 1);
	CU_ASSERT_EQUAL(grant_page[10][0], 9);
}

static void test_rx_bad_gref(void)
{
	netif_rx_response_t r;

	setup_rings(&feat_all);
	grant_ok[10] = false;
	rx_post(1, 10);
	rx_push();
	tap_frame(64, 0, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	RING_COPY_RESPONSE(&rxf, 0, &r);
	CU_ASSERT_EQUAL(r.status, NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_COPY], 1);
	CU_ASSERT_FALSE(q->broken);
}

static void test_rx_producer_too_far_ahead(void)
{
	setup_rings(&feat_all);
	rxf.sring->req_prod = 1000;
	tap_frame(64, 0, NULL);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_BROKEN);
	CU_ASSERT_EQUAL(tap_reads, 0);
}

static void test_rx_notify_suppressed(void)
{
	setup_rings(&feat_all);
	for (uint16_t i = 0; i < 4; i++)
		rx_post(i, 10u + i);
	rx_push();
	tap_frame(64, 0, NULL);
	xnb_rx_run(q);
	CU_ASSERT_EQUAL(notified[2], 1);
	tap_frame(64, 0, NULL);	/* frontend has not re-armed rsp_event */
	xnb_rx_run(q);
	CU_ASSERT_EQUAL(notified[2], 1);
	CU_ASSERT_EQUAL(rxf.sring->rsp_prod, 2);
}

static void test_rx_frame_to_packet_hostile(void)
{
	uint8_t buf[sizeof(struct virtio_net_hdr) + 100] = { 0 };
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)buf;
	struct xnb_rx_pkt pkt;
	struct xnb_feat none = { 0 };

	CU_ASSERT_EQUAL(xnb_rx_frame_to_packet(buf, sizeof(buf), &feat_all, &pkt), 0);
	CU_ASSERT_EQUAL(xnb_rx_packet_slots(&pkt), 1);
	CU_ASSERT_EQUAL(xnb_rx_frame_to_packet(buf, 10, &feat_all, &pkt), -EINVAL);
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	CU_ASSERT_EQUAL(xnb_rx_frame_to_packet(buf, sizeof(buf), &none, &pkt), -EINVAL);
	vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	vh->gso_size = 1400;
	CU_ASSERT_EQUAL(xnb_rx_frame_to_packet(buf, sizeof(buf), &feat_all, &pkt), 0);
	CU_ASSERT_EQUAL(xnb_rx_packet_slots(&pkt), 2);
	vh->gso_size = 0;
	CU_ASSERT_EQUAL(xnb_rx_frame_to_packet(buf, sizeof(buf), &feat_all, &pkt), -EINVAL);
	vh->gso_type = VIRTIO_NET_HDR_GSO_UDP;
	vh->gso_size = 1400;
	CU_ASSERT_EQUAL(xnb_rx_frame_to_packet(buf, sizeof(buf), &feat_all, &pkt), -EINVAL);
}

static void test_drop_names(void)
{
	for (int d = 0; d < XNB_DROP_MAX; d++)
		CU_ASSERT_PTR_NOT_NULL(xnb_drop_name((enum xnb_drop)d));
	CU_ASSERT_STRING_EQUAL(xnb_drop_name(XNB_DROP_MAX), "unknown");
}

/* ---- rate limit ------------------------------------------------------------ */

static void test_parse_rate_table(void)
{
	static const struct { const char *in; int rc; uint64_t b, u; } cases[] = {
		{ "1250000,50000", 0, 1250000, 50000 },
		{ "1,1", 0, 1, 1 },
		{ "0,50000", -EINVAL, 0, 0 },
		{ "100,0", -EINVAL, 0, 0 },
		{ "100", -EINVAL, 0, 0 },
		{ "100,", -EINVAL, 0, 0 },
		{ ",100", -EINVAL, 0, 0 },
		{ "100,50,3", -EINVAL, 0, 0 },
		{ "-1,50", -EINVAL, 0, 0 },
		{ "10Mb/s", -EINVAL, 0, 0 },
		{ "", -EINVAL, 0, 0 },
		{ "99999999999999999999999,1", -EINVAL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t b = 0, u = 0;
		int rc = xnb_parse_rate(cases[i].in, &b, &u);

		if (rc != cases[i].rc)
			printf("\n  case '%s': rc %d\n", cases[i].in, rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0)
			CU_ASSERT(b == cases[i].b && u == cases[i].u);
	}
}

static void test_credit_take_windows(void)
{
	struct xnb_credit c;
	uint64_t retry = 0;

	xnb_credit_set(&c, 0, 0, 0);	/* unlimited */
	CU_ASSERT(xnb_credit_take(&c, 65535, 0, &retry));
	xnb_credit_set(&c, 1000, 10000, 5000);	/* 1000 bytes per 10 ms */
	CU_ASSERT(xnb_credit_take(&c, 600, 5000, &retry));
	CU_ASSERT_FALSE(xnb_credit_take(&c, 600, 6000, &retry));
	CU_ASSERT_EQUAL(retry, 5000 + 10000000);
	CU_ASSERT_FALSE(xnb_credit_take(&c, 600, 5000 + 9999999, &retry));
	CU_ASSERT(xnb_credit_take(&c, 600, 5000 + 10000000, &retry));	/* 400 + 1000 */
	CU_ASSERT(xnb_credit_take(&c, 800, 5000 + 10000000, &retry));
	CU_ASSERT_FALSE(xnb_credit_take(&c, 1, 5000 + 10000001, &retry));
	/* A late wake-up does not move the windows: woken 5 ms late, the
	 * next window still opens 10 ms after the last one did. */
	CU_ASSERT_EQUAL(retry, 5000 + 20000000);
	CU_ASSERT(xnb_credit_take(&c, 1000, 5000 + 25000000, &retry));
	CU_ASSERT_FALSE(xnb_credit_take(&c, 1000, 5000 + 25000000, &retry));
	CU_ASSERT_EQUAL(retry, 5000 + 30000000);
	/* A packet bigger than one window's credit still goes, via the burst. */
	xnb_credit_set(&c, 1000, 1000, 0);
	for (uint64_t t = 0; t < 200 && !xnb_credit_take(&c, 60000, t * 1000000, &retry); t++)
		;
	CU_ASSERT(c.remaining < 1000);
}

static void test_tx_run_throttled(void)
{
	setup_rings(&feat_all);
	fake_now = 1000000;
	xnb_credit_set(&q->credit, 100, 1000, fake_now);	/* 100 bytes per ms */
	for (int i = 0; i < 3; i++)
		tx_req(1, 0, 0, (uint16_t)i, 60);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_THROTTLED);
	CU_ASSERT_EQUAL(n_out, 1);
	CU_ASSERT_EQUAL(q->tx.req_cons, 1);	/* the rest wait on the ring */
	CU_ASSERT_EQUAL(txf.sring->rsp_prod, 1);
	CU_ASSERT_EQUAL(q->tx_retry_ns, 2000000);
	CU_ASSERT_EQUAL(stats.tx_throttled, 1);
	fake_now = 1999999;
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_THROTTLED);
	CU_ASSERT_EQUAL(n_out, 1);
	fake_now = 2000000;
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(n_out, 3);
	CU_ASSERT_EQUAL(txf.sring->rsp_prod, 3);
	fake_now = 0;
}

/* ---- multicast filter ------------------------------------------------------ */

static const uint8_t grp1[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t grp2[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t ucast[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

static void test_mcast_list(void)
{
	static struct xnb_mcast m;
	uint8_t a[6] = { 0x01, 0, 0, 0, 0, 0 };

	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(xnb_mcast_add(&m, ucast), -EINVAL);
	CU_ASSERT(xnb_mcast_pass(&m, grp1));	/* filter off: everything */
	CU_ASSERT(xnb_mcast_pass(NULL, grp1));
	m.enabled = true;
	CU_ASSERT_FALSE(xnb_mcast_pass(&m, grp1));
	CU_ASSERT(xnb_mcast_pass(&m, bcast));
	CU_ASSERT(xnb_mcast_pass(&m, ucast));
	CU_ASSERT_EQUAL(xnb_mcast_add(&m, grp1), 0);
	CU_ASSERT(xnb_mcast_pass(&m, grp1));
	CU_ASSERT_FALSE(xnb_mcast_pass(&m, grp2));
	xnb_mcast_del(&m, grp2);	/* absent: nothing happens */
	CU_ASSERT_EQUAL(m.n, 1);
	xnb_mcast_del(&m, grp1);
	CU_ASSERT_EQUAL(m.n, 0);
	CU_ASSERT_FALSE(xnb_mcast_pass(&m, grp1));
	for (int i = 0; i < XNB_MCAST_MAX; i++) {
		a[5] = (uint8_t)i;
		CU_ASSERT_EQUAL(xnb_mcast_add(&m, a), 0);
	}
	CU_ASSERT_EQUAL(xnb_mcast_add(&m, grp1), -ENOSPC);
	a[5] = 0;
	xnb_mcast_del(&m, a);
	CU_ASSERT_EQUAL(m.n, XNB_MCAST_MAX - 1);
	a[5] = XNB_MCAST_MAX - 1;
	CU_ASSERT(xnb_mcast_pass(&m, a));	/* the tail survived the move */
}

/* A frame to DEST on the fake TAP. */
static void tap_frame_to(const uint8_t dest[6], uint8_t seed)
{
	tap_frame(64, seed, NULL);
	memcpy(tap_in[n_in - 1].buf + sizeof(struct virtio_net_hdr), dest, 6);
}

static void test_mcast_tx_requests_and_rx_filter(void)
{
	static struct xnb_mcast m;
	netif_tx_response_t r;

	setup_rings(&feat_all);
	memset(&m, 0, sizeof(m));
	q->mcast = &m;
	tx_req(1, 0, XI, 41, 0);	/* an empty dummy, as frontends send */
	tx_extra_mcast(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, grp1);
	tx_req(1, 0, XI, 42, 0);
	tx_extra_mcast(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, ucast);	/* not multicast */
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(n_out, 0);	/* answered, never sent */
	RING_COPY_RESPONSE(&txf, 0, &r);
	CU_ASSERT(r.id == 41 && r.status == NETIF_RSP_OKAY);
	RING_COPY_RESPONSE(&txf, 2, &r);
	CU_ASSERT(r.id == 42 && r.status == NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(m.n, 1);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_TX_MCAST], 1);

	m.enabled = true;	/* request-multicast-control = 1 */
	for (uint16_t i = 0; i < 4; i++)
		rx_post(i, 10u + i);
	rx_push();
	tap_frame_to(grp2, 1);	/* not subscribed: filtered */
	tap_frame_to(grp1, 2);
	tap_frame_to(bcast, 3);
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_MCAST], 1);
	CU_ASSERT_EQUAL(rxf.sring->rsp_prod, 2);
	CU_ASSERT_EQUAL(grant_page[10][14], 2 + 14);
	CU_ASSERT_EQUAL(grant_page[11][14], 3 + 14);

	tx_req(1, 0, XI, 43, 0);
	tx_extra_mcast(XEN_NETIF_EXTRA_TYPE_MCAST_DEL, grp1);
	tx_push();
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(m.n, 0);
	q->mcast = NULL;
}

static void test_stats_format(void)
{
	struct xnb_stats s = { .tx_packets = 3, .rx_bytes = 1500 };
	char buf[1024], small[20];
	int n;

	s.drops[XNB_DROP_RX_TOO_BIG] = 2;
	n = xnb_stats_format(&s, buf, sizeof(buf));
	CU_ASSERT(n > 0 && (size_t)n == strlen(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "tx_packets 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "rx_bytes 1500\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "drop_rx_too_big 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "drop_tx_bad_size 0\n"));
	CU_ASSERT_EQUAL(xnb_stats_format(&s, small, sizeof(small)), -ENOSPC);
}

int main(void)
{
	static const struct { const char *name; CU_TestFunc fn; } tests[] = {
		{ "tx_ring_to_packet_table", test_tx_ring_to_packet_table },
		{ "tx_ring_to_packet_first_share", test_tx_ring_to_packet_first_share },
		{ "tx_ring_to_packet_copy_once", test_tx_ring_to_packet_copy_once },
		{ "tx_packet_to_grant_ops_multi", test_tx_packet_to_grant_ops_multi },
		{ "tx_packet_to_responses_extras", test_tx_packet_to_responses_extras },
		{ "tx_packet_to_vnet_hdr", test_tx_packet_to_vnet_hdr },
		{ "parse_l4_hostile", test_parse_l4_hostile },
		{ "tx_run_delivers_and_responds", test_tx_run_delivers_and_responds },
		{ "tx_run_bad_gref_errors_one_packet", test_tx_run_bad_gref_errors_one_packet },
		{ "tx_run_static_grant", test_tx_run_static_grant },
		{ "tx_run_static_grant_past_page", test_tx_run_static_grant_past_page },
		{ "tx_run_producer_too_far_ahead", test_tx_run_producer_too_far_ahead },
		{ "tx_run_violation_breaks_queue", test_tx_run_violation_breaks_queue },
		{ "tx_run_budget", test_tx_run_budget },
		{ "tx_notify_suppressed", test_tx_notify_suppressed },
		{ "tx_req_event_only_when_idle", test_tx_req_event_only_when_idle },
		{ "rx_single_slot", test_rx_single_slot },
		{ "rx_multi_slot", test_rx_multi_slot },
		{ "rx_zerocopy_only_big", test_rx_zerocopy_only_big },
		{ "rx_static_grant_mixed", test_rx_static_grant_mixed },
		{ "rx_zerocopy_gso", test_rx_zerocopy_gso },
		{ "rx_zerocopy_not_when", test_rx_zerocopy_not_when },
		{ "rx_gso_extra", test_rx_gso_extra },
		{ "rx_largest_gso_frame", test_rx_largest_gso_frame },
		{ "rx_no_buffer_posted", test_rx_no_buffer_posted },
		{ "rx_hold_after_others", test_rx_hold_after_others },
		{ "rx_waits_for_enough_buffers", test_rx_waits_for_enough_buffers },
		{ "rx_budget_counts_drops", test_rx_budget_counts_drops },
		{ "rx_too_big_without_sg", test_rx_too_big_without_sg },
		{ "rx_bad_gref", test_rx_bad_gref },
		{ "rx_producer_too_far_ahead", test_rx_producer_too_far_ahead },
		{ "rx_notify_suppressed", test_rx_notify_suppressed },
		{ "rx_frame_to_packet_hostile", test_rx_frame_to_packet_hostile },
		{ "drop_names", test_drop_names },
		{ "stats_format", test_stats_format },
		{ "parse_rate_table", test_parse_rate_table },
		{ "credit_take_windows", test_credit_take_windows },
		{ "tx_run_throttled", test_tx_run_throttled },
		{ "mcast_list", test_mcast_list },
		{ "mcast_tx_requests_and_rx_filter", test_mcast_tx_requests_and_rx_filter },
	};
	CU_pSuite s;
	int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("netback_ring", NULL, NULL);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() || CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	if (q) {
		xnb_queue_fini(q);
		free(q);
	}
	return failed ? 1 : 0;
}
