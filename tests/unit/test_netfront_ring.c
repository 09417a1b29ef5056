/*
 * test_netfront_ring.c — libxnetfront's data path with both ends of each
 * ring on one page: the frontend through netfront/queue.h, the backend
 * driven by hand with the ring.h macros. Request building (copied in, or
 * read straight into the pages), RX refill and frames taken in place, the
 * response checks against a hostile backend (table-driven), notification
 * suppression.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "netfront/queue.h"
#include "netfront/vnet.h"
#include "xnx_log.h"

#define PAGE XNF_PAGE_SIZE

/* One fixture: a frontend queue and the backend's view of the same pages. */
struct fix {
	struct xnf_queue *q;
	void *tx_sring, *rx_sring;
	uint8_t *tx_pages, *rx_pages;
	grant_ref_t tx_refs[XNF_TX_RING_SIZE], rx_refs[XNF_RX_RING_SIZE];
	struct netif_tx_back_ring btx;
	struct netif_rx_back_ring brx;
};

static struct fix F;

static void fix_up(bool sg)
{
	memset(&F, 0, sizeof(F));
	F.q = calloc(1, sizeof(*F.q));
	F.tx_sring = aligned_alloc(PAGE, PAGE);
	F.rx_sring = aligned_alloc(PAGE, PAGE);
	F.tx_pages = calloc(XNF_TX_RING_SIZE, PAGE);
	F.rx_pages = calloc(XNF_RX_RING_SIZE, PAGE);
	CU_ASSERT_FATAL(F.q && F.tx_sring && F.rx_sring && F.tx_pages && F.rx_pages);
	memset(F.tx_sring, 0xee, PAGE);	/* init must not rely on zeroed pages */
	memset(F.rx_sring, 0xee, PAGE);
	for (unsigned i = 0; i < XNF_TX_RING_SIZE; i++)
		F.tx_refs[i] = 1000 + i;
	for (unsigned i = 0; i < XNF_RX_RING_SIZE; i++)
		F.rx_refs[i] = 5000 + i;
	xnf_queue_init(F.q, F.tx_sring, F.rx_sring, F.tx_pages, F.tx_refs,
		       F.rx_pages, F.rx_refs, sg);
	BACK_RING_INIT(&F.btx, (struct netif_tx_sring *)F.tx_sring, PAGE);
	BACK_RING_INIT(&F.brx, (struct netif_rx_sring *)F.rx_sring, PAGE);
}

static void fix_down(void)
{
	free(F.q);
	free(F.tx_sring);
	free(F.rx_sring);
	free(F.tx_pages);
	free(F.rx_pages);
}

/* A recognisable frame of LEN bytes. */
static uint8_t *frame_bytes(size_t len, uint8_t seed)
{
	uint8_t *b = malloc(len ? len : 1);

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + i * 7);
	return b;
}

static int send_one(size_t len, uint8_t seed)
{
	uint8_t *b = frame_bytes(len, seed);
	struct xnf_frame f = { .data = b, .len = (uint32_t)len };
	int rc = xnf_tx_put(F.q, &f);

	free(b);
	return rc;
}

static void push_tx(void)
{
	bool notify;

	xnf_tx_push(F.q, &notify);
}

/* Backend: take the next tx request off the ring. */
static struct netif_tx_request back_tx_req(void)
{
	struct netif_tx_request r;

	RING_COPY_REQUEST(&F.btx, F.btx.req_cons, &r);
	F.btx.req_cons++;
	return r;
}

static void back_tx_rsp(uint16_t id, int16_t status)
{
	struct netif_tx_response r = { .id = id, .status = status };

	*RING_GET_RESPONSE(&F.btx, F.btx.rsp_prod_pvt) = r;
	F.btx.rsp_prod_pvt++;
}

/* ---- transmit: request building ------------------------------------------ */

static void tx_put_single_slot(void)
{
	fix_up(false);
	uint8_t *want = frame_bytes(60, 3);
	CU_ASSERT_EQUAL(send_one(60, 3), 0);
	push_tx();
	CU_ASSERT_EQUAL(F.btx.sring->req_prod, 1);
	struct netif_tx_request r = back_tx_req();
	CU_ASSERT_EQUAL(r.gref, 1000);
	CU_ASSERT_EQUAL(r.offset, 0);
	CU_ASSERT_EQUAL(r.flags, 0);
	CU_ASSERT_EQUAL(r.size, 60);
	CU_ASSERT_TRUE(r.id < XNF_TX_RING_SIZE);
	CU_ASSERT_EQUAL(F.tx_refs[r.id], r.gref);
	CU_ASSERT_EQUAL(memcmp(F.tx_pages + (size_t)r.id * PAGE, want, 60), 0);
	CU_ASSERT_EQUAL(F.q->stats.tx_frames, 1);
	free(want);
	fix_down();
}

static void tx_put_checksum_flags(void)
{
	fix_up(false);
	uint8_t b[64] = { 0 };
	struct xnf_frame f = { .data = b, .len = 64,
			       .flags = XNF_F_CSUM_BLANK | XNF_F_DATA_VALIDATED };
	CU_ASSERT_EQUAL(xnf_tx_put(F.q, &f), 0);
	push_tx();
	struct netif_tx_request r = back_tx_req();
	CU_ASSERT_EQUAL(r.flags, NETTXF_csum_blank | NETTXF_data_validated);
	fix_down();
}

/* An Ethernet + IPv6 (or IPv4) + TCP frame of 84 bytes, checksum blank. */
static void tcp_frame(uint8_t *b, bool v6)
{
	unsigned l4 = v6 ? 54 : 34;

	memset(b, 0, 84);
	b[12] = v6 ? 0x86 : 0x08;
	b[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		b[14] = 0x60;
		b[19] = 30;		/* payload length: TCP header + 10 */
		b[20] = 6;		/* next header: TCP */
		b[21] = 64;
		b[37] = 2;		/* source ::2, destination ::1 */
		b[53] = 1;
	} else {
		b[14] = 0x45;
		b[17] = 84 - 14;
		b[23] = 6;
	}
	b[l4 + 12] = 0x50;		/* data offset: 5 words */
	for (unsigned i = l4 + 20; i < 84; i++)
		b[i] = (uint8_t)i;
}

/* A backend without feature-ipv6-csum-offload gets IPv6 checksums filled
 * in and no csum_blank; IPv4, and IPv6 to a backend that offers it, stay
 * blank for the backend. */
static void tx_put_csum6_fallback(void)
{
	static const struct { bool no_csum6, v6, filled; } cases[] = {
		{ true, true, true }, { true, false, false }, { false, true, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[84], want[84];
		struct xnf_frame f = { .data = b, .len = 84, .flags = XNF_F_CSUM_BLANK };

		fix_up(false);
		F.q->no_csum6 = cases[i].no_csum6;
		tcp_frame(b, cases[i].v6);
		memcpy(want, b, sizeof(want));
		if (cases[i].filled)
			CU_ASSERT_EQUAL(xnf_csum_fill(want, sizeof(want)), 0);
		CU_ASSERT_EQUAL(xnf_tx_put(F.q, &f), 0);
		push_tx();
		struct netif_tx_request r = back_tx_req();
		CU_ASSERT_EQUAL(r.flags, cases[i].filled ? 0 : NETTXF_csum_blank);
		CU_ASSERT_EQUAL(memcmp(F.tx_pages + (size_t)r.id * PAGE, want, 84), 0);
		CU_ASSERT_EQUAL(F.q->stats.tx_csum6_filled, cases[i].filled);
		fix_down();
	}
}

/* A 9000-byte frame with feature-sg: three slots, the first carrying the
 * total size (netif.h "Guest transmit"), more_data on all but the last. */
static void tx_put_multi_slot(void)
{
	fix_up(true);
	uint8_t *want = frame_bytes(9000, 9);
	CU_ASSERT_EQUAL(send_one(9000, 9), 0);
	push_tx();
	CU_ASSERT_EQUAL(F.btx.sring->req_prod, 3);
	static const uint16_t sizes[] = { 9000, 4096, 808 };
	static const uint16_t flags[] = { NETTXF_more_data, NETTXF_more_data, 0 };
	static const unsigned chunk[] = { 4096, 4096, 808 };
	size_t off = 0;
	uint16_t ids[3];
	for (int i = 0; i < 3; i++) {
		struct netif_tx_request r = back_tx_req();
		CU_ASSERT_EQUAL(r.size, sizes[i]);
		CU_ASSERT_EQUAL(r.flags, flags[i]);
		CU_ASSERT_EQUAL(r.offset, 0);
		CU_ASSERT_EQUAL(r.gref, F.tx_refs[r.id]);
		CU_ASSERT_EQUAL(memcmp(F.tx_pages + (size_t)r.id * PAGE, want + off,
				       chunk[i]), 0);
		ids[i] = r.id;
		off += chunk[i];
	}
	CU_ASSERT(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
	/* The largest frame the protocol carries fits in 16 slots. */
	CU_ASSERT_EQUAL(xnf_tx_slots(XNF_FRAME_MAX), 16);
	CU_ASSERT_EQUAL(send_one(XNF_FRAME_MAX, 1), 0);
	free(want);
	fix_down();
}

/* Frames the backend cannot take are refused without touching the ring. */
static void tx_put_refuses_bad_sizes(void)
{
	static const struct { bool sg; size_t len; int rc; } cases[] = {
		{ false, 0, -EINVAL },
		{ false, XNF_FRAME_MIN - 1, -EINVAL },
		{ false, PAGE + 1, -EMSGSIZE },		/* no feature-sg */
		{ true, XNF_FRAME_MAX + 1, -EMSGSIZE },
		{ false, XNF_FRAME_MIN, 0 },
		{ false, PAGE, 0 },
		{ true, PAGE + 1, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fix_up(cases[i].sg);
		CU_ASSERT_EQUAL(send_one(cases[i].len, 0), cases[i].rc);
		if (cases[i].rc < 0)
			CU_ASSERT_EQUAL(F.q->tx.req_prod_pvt, 0);
		CU_ASSERT_FALSE(F.q->broken);
		fix_down();
	}
}

/* The ring fills, then the pages answered by the backend are used again
 * with the same grant refs: no per-packet grant. */
static void tx_ring_full_then_reuse(void)
{
	fix_up(false);
	unsigned n = 0;
	while (send_one(100, (uint8_t)n) == 0)
		n++;
	CU_ASSERT_EQUAL(n, XNF_TX_RING_SIZE);
	CU_ASSERT_EQUAL(send_one(100, 0), -EAGAIN);
	CU_ASSERT_FALSE(xnf_tx_room(F.q, 100));
	push_tx();
	grant_ref_t first_refs[4];
	for (int i = 0; i < 4; i++) {
		struct netif_tx_request r = back_tx_req();
		first_refs[i] = r.gref;
		back_tx_rsp(r.id, NETIF_RSP_OKAY);
	}
	RING_PUSH_RESPONSES(&F.btx);
	CU_ASSERT_EQUAL(xnf_tx_gc(F.q), 4);
	CU_ASSERT_TRUE(xnf_tx_room(F.q, 100));
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(send_one(100, 0), 0);
	CU_ASSERT_EQUAL(send_one(100, 0), -EAGAIN);
	push_tx();
	/* Skip the 252 still outstanding; the 4 new ones reuse the 4 refs. */
	F.btx.req_cons += XNF_TX_RING_SIZE - 4;
	for (int i = 0; i < 4; i++) {
		struct netif_tx_request r = back_tx_req();
		bool seen = false;
		for (int j = 0; j < 4; j++)
			seen |= r.gref == first_refs[j];
		CU_ASSERT_TRUE(seen);
	}
	CU_ASSERT_FALSE(F.q->broken);
	fix_down();
}

/* ---- transmit: responses from a hostile backend --------------------------- */

enum tx_script { TX_ONE, TX_TWO, TX_REPEAT, TX_PROD_AHEAD, TX_PROD_RING, TX_UNPUBLISHED };

static const struct tx_case {
	const char *name;
	enum tx_script script;
	uint16_t id;
	int16_t status;
	int gc;			/* expected xnf_tx_gc result */
	const char *reason;	/* substring of the reason, NULL = not broken */
} tx_cases[] = {
	{ "good",              TX_ONE, 0, NETIF_RSP_OKAY, 1, NULL },
	{ "error status",      TX_ONE, 0, NETIF_RSP_ERROR, 1, NULL },
	{ "dropped status",    TX_ONE, 0, NETIF_RSP_DROPPED, 1, NULL },
	{ "id out of range",   TX_ONE, XNF_TX_RING_SIZE, 0, -EPIPE, "out of range" },
	{ "id far out",        TX_ONE, 0xffff, 0, -EPIPE, "id 65535 out of range" },
	{ "id not outstanding", TX_ONE, 7, 0, -EPIPE, "id 7 is not outstanding" },
	{ "repeated id",       TX_REPEAT, 0, 0, -EPIPE, "id 0 is not outstanding" },
	{ "status too low",    TX_ONE, 0, -3, -EPIPE, "status -3 out of range" },
	{ "status too high",   TX_ONE, 0, 2, -EPIPE, "status 2 out of range" },
	{ "null without extra", TX_ONE, 0, NETIF_RSP_NULL, -EPIPE, "no extra-info" },
	{ "two good",          TX_TWO, 0, 0, 2, NULL },
	{ "rsp_prod past requests", TX_PROD_AHEAD, 0, 0, -EPIPE, "ahead of rsp_cons" },
	{ "rsp_prod beyond ring", TX_PROD_RING, 0, 0, -EPIPE, "ahead of rsp_cons" },
	/* The second request is queued, not published: the backend read it
	 * off the page before req_prod said it was there. */
	{ "answers a request not published", TX_UNPUBLISHED, 0, 0, -EPIPE,
	  "1 requests published" },
};

static void tx_run_case(const struct tx_case *c)
{
	fix_up(false);
	CU_ASSERT_EQUAL_FATAL(send_one(60, 1), 0);
	if (c->script == TX_TWO || c->script == TX_REPEAT)
		CU_ASSERT_EQUAL_FATAL(send_one(60, 2), 0);
	push_tx();
	if (c->script == TX_UNPUBLISHED)
		CU_ASSERT_EQUAL_FATAL(send_one(60, 2), 0);
	struct netif_tx_request r = back_tx_req();
	uint16_t id = c->id == 0 ? r.id : c->id;
	back_tx_rsp(id, c->status);
	if (c->script == TX_TWO || c->script == TX_UNPUBLISHED)
		back_tx_rsp(back_tx_req().id, NETIF_RSP_OKAY);
	if (c->script == TX_REPEAT)
		back_tx_rsp(id, NETIF_RSP_OKAY);
	RING_PUSH_RESPONSES(&F.btx);
	if (c->script == TX_PROD_AHEAD)
		F.btx.sring->rsp_prod = 2;
	if (c->script == TX_PROD_RING)
		F.btx.sring->rsp_prod = XNF_TX_RING_SIZE + 1;

	int rc = xnf_tx_gc(F.q);
	if (rc != c->gc)
		fprintf(stderr, "\n  case '%s': gc %d, want %d (%s)\n", c->name,
			rc, c->gc, F.q->reason);
	CU_ASSERT_EQUAL(rc, c->gc);
	CU_ASSERT_EQUAL(F.q->broken, c->reason != NULL);
	if (c->reason) {
		CU_ASSERT_PTR_NOT_NULL(strstr(F.q->reason, c->reason));
		/* Broken stays broken: nothing more is sent or taken. */
		CU_ASSERT_EQUAL(send_one(60, 0), -EPIPE);
		CU_ASSERT_EQUAL(xnf_tx_gc(F.q), -EPIPE);
		CU_ASSERT_FALSE(xnf_queue_arm(F.q));
	} else {
		CU_ASSERT_EQUAL(F.q->tx_nfree, XNF_TX_RING_SIZE);
		CU_ASSERT_EQUAL(F.q->stats.tx_errors, c->status != 0);
	}
	fix_down();
}

static void tx_gc_response_checks(void)
{
	for (size_t i = 0; i < sizeof(tx_cases) / sizeof(tx_cases[0]); i++)
		tx_run_case(&tx_cases[i]);
}

/* With the backend's feature-gso-tcpv4: first slot (total size, checksum
 * blank, extra-info), the GSO extra, then the rest; the extra's NULL
 * response is accepted once, a second one is a violation. */
/* Backend: the first request of a TCPv4 GSO frame of LEN bytes and its GSO
 * extra-info (segments of MSS), checked; the first request. */
static struct netif_tx_request back_tx_gso_head(uint16_t len, uint16_t mss)
{
	struct netif_tx_request r0 = back_tx_req(), r1;
	struct netif_extra_info ex;

	CU_ASSERT_EQUAL(r0.size, len);
	CU_ASSERT_EQUAL(r0.flags, NETTXF_csum_blank | NETTXF_data_validated |
				  NETTXF_extra_info | NETTXF_more_data);
	RING_COPY_REQUEST(&F.btx, F.btx.req_cons, &r1);
	F.btx.req_cons++;
	memcpy(&ex, &r1, sizeof(ex));
	CU_ASSERT_EQUAL(ex.type, XEN_NETIF_EXTRA_TYPE_GSO);
	CU_ASSERT_EQUAL(ex.flags, 0);
	CU_ASSERT_EQUAL(ex.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV4);
	CU_ASSERT_EQUAL(ex.u.gso.size, mss);
	CU_ASSERT_EQUAL(ex.u.gso.features, 0);
	return r0;
}

static void tx_put_gso_layout(void)
{
	fix_up(true);
	F.q->gso = XNF_OFFLOAD_GSO_TCPV4;
	uint8_t *d = frame_bytes(6000, 4);
	struct xnf_frame f = { .data = d, .len = 6000,
			       .gso_type = XNF_GSO_TCPV4, .gso_size = 1448 };
	CU_ASSERT_EQUAL(xnf_tx_put(F.q, &f), 0);
	push_tx();
	CU_ASSERT_EQUAL(F.btx.sring->req_prod, 3);
	struct netif_tx_request r0 = back_tx_gso_head(6000, 1448), r2;
	r2 = back_tx_req();
	CU_ASSERT_EQUAL(r2.size, 6000 - 4096);
	CU_ASSERT_EQUAL(r2.flags, 0);
	CU_ASSERT_EQUAL(memcmp(F.tx_pages + (size_t)r2.id * PAGE, d + 4096, 1904), 0);
	back_tx_rsp(r0.id, NETIF_RSP_OKAY);
	back_tx_rsp(0xdead, NETIF_RSP_NULL);	/* the extra's slot: id unused */
	back_tx_rsp(r2.id, NETIF_RSP_OKAY);
	RING_PUSH_RESPONSES(&F.btx);
	CU_ASSERT_EQUAL(xnf_tx_gc(F.q), 3);
	CU_ASSERT_FALSE(F.q->broken);
	CU_ASSERT_EQUAL(F.q->tx_nfree, XNF_TX_RING_SIZE);
	/* One more frame, two NULL answers: only one extra was sent. */
	CU_ASSERT_EQUAL(xnf_tx_put(F.q, &f), 0);
	push_tx();
	back_tx_rsp(back_tx_req().id, NETIF_RSP_OKAY);
	back_tx_rsp(0, NETIF_RSP_NULL);
	back_tx_rsp(0, NETIF_RSP_NULL);
	RING_PUSH_RESPONSES(&F.btx);
	CU_ASSERT_EQUAL(xnf_tx_gc(F.q), -EPIPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(F.q->reason, "no extra-info request"));
	free(d);
	fix_down();
}

/* A multicast filter change: an empty dummy request flagged extra_info,
 * then the MCAST_ADD/DEL extra with the address; its response frees the
 * id, the extra's NULL response is expected. A unicast address or another
 * extra type is refused. */
static void tx_put_mcast_layout(void)
{
	static const uint8_t group[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };
	static const uint8_t unicast[6] = { 0x00, 0x16, 0x3e, 0, 0, 1 };
	struct netif_tx_request req, raw;
	struct netif_extra_info ex;

	fix_up(false);
	CU_ASSERT_EQUAL(xnf_tx_put_mcast(F.q, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, unicast),
			-EINVAL);
	CU_ASSERT_EQUAL(xnf_tx_put_mcast(F.q, XEN_NETIF_EXTRA_TYPE_GSO, group), -EINVAL);
	CU_ASSERT_EQUAL(xnf_tx_put_mcast(F.q, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, group), 0);
	push_tx();
	CU_ASSERT_EQUAL(F.btx.sring->req_prod, 2);
	req = back_tx_req();
	CU_ASSERT_EQUAL(req.size, 0);
	CU_ASSERT_EQUAL(req.flags, NETTXF_extra_info);
	raw = back_tx_req();
	memcpy(&ex, &raw, sizeof(ex));
	CU_ASSERT_EQUAL(ex.type, XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
	CU_ASSERT_EQUAL(ex.flags, 0);
	CU_ASSERT_EQUAL(memcmp(ex.u.mcast.addr, group, 6), 0);
	back_tx_rsp(req.id, NETIF_RSP_OKAY);
	back_tx_rsp(0, NETIF_RSP_NULL);
	RING_PUSH_RESPONSES(&F.btx);
	CU_ASSERT_EQUAL(xnf_tx_gc(F.q), 2);
	CU_ASSERT_EQUAL(F.q->tx_nfree, XNF_TX_RING_SIZE);
	CU_ASSERT_EQUAL(F.q->tx_extras, 0);
	CU_ASSERT_FALSE(F.q->broken);
	fix_down();
}

/* GSO the backend did not offer, or a bogus GSO request, is refused. */
static void tx_put_gso_refused(void)
{
	static const struct { unsigned backend; uint16_t type, size; int rc; } cases[] = {
		{ 0, XNF_GSO_TCPV4, 1448, -EINVAL },
		{ XNF_OFFLOAD_GSO_TCPV4, XNF_GSO_TCPV6, 1448, -EINVAL },
		{ XNF_OFFLOAD_GSO_TCPV6, XNF_GSO_TCPV6, 0, -EINVAL },
		{ XNF_OFFLOAD_GSO_TCPV4 | XNF_OFFLOAD_GSO_TCPV6, 7, 1448, -EINVAL },
		{ XNF_OFFLOAD_GSO_TCPV6, XNF_GSO_TCPV6, 1440, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fix_up(true);
		F.q->gso = cases[i].backend;
		uint8_t d[3000] = { 0 };
		struct xnf_frame f = { .data = d, .len = sizeof(d),
				       .gso_type = cases[i].type,
				       .gso_size = cases[i].size };
		CU_ASSERT_EQUAL(xnf_tx_put(F.q, &f), cases[i].rc);
		CU_ASSERT_EQUAL(F.q->tx.req_prod_pvt, cases[i].rc ? 0u : 2u);
		fix_down();
	}
}

/* ---- receive ----------------------------------------------------------- */

static bool refill(void)
{
	bool notify;

	xnf_rx_refill(F.q, &notify);
	return notify;
}

/* Backend: consume the next rx request, "grant copy" DATA into its page at
 * OFF and answer in the same slot. */
static void back_rx_data(const uint8_t *data, int16_t len, uint16_t off,
			 uint16_t flags)
{
	struct netif_rx_request req;
	struct netif_rx_response rsp;

	RING_COPY_REQUEST(&F.brx, F.brx.req_cons, &req);
	F.brx.req_cons++;
	if (data && len > 0)
		memcpy(F.rx_pages + (size_t)req.id * PAGE + off, data, (size_t)len);
	rsp = (struct netif_rx_response){ .id = req.id, .offset = off,
					  .flags = flags, .status = len };
	*RING_GET_RESPONSE(&F.brx, F.brx.rsp_prod_pvt) = rsp;
	F.brx.rsp_prod_pvt++;
}

/* Backend: a raw response in the next slot (consuming its request). */
static void back_rx_raw(struct netif_rx_response rsp)
{
	F.brx.req_cons++;
	*RING_GET_RESPONSE(&F.brx, F.brx.rsp_prod_pvt) = rsp;
	F.brx.rsp_prod_pvt++;
}

static void back_rx_extra_gso(uint8_t type, uint8_t flags, uint8_t gso_type,
			      uint16_t gso_size)
{
	struct netif_extra_info ex = { .type = type, .flags = flags };
	struct netif_rx_response raw;

	ex.u.gso.type = gso_type;
	ex.u.gso.size = gso_size;
	memcpy(&raw, &ex, sizeof(raw));
	back_rx_raw(raw);
}

static void back_rx_extra(uint8_t type, uint8_t flags)
{
	struct netif_extra_info ex = { .type = type, .flags = flags };
	struct netif_rx_response raw;

	memcpy(&raw, &ex, sizeof(raw));
	back_rx_raw(raw);
}

static void rx_refill_posts_every_buffer(void)
{
	fix_up(false);
	CU_ASSERT_TRUE(refill());	/* req_event starts at 1 */
	CU_ASSERT_EQUAL(F.brx.sring->req_prod, XNF_RX_RING_SIZE);
	for (unsigned i = 0; i < XNF_RX_RING_SIZE; i++) {
		struct netif_rx_request r;
		RING_COPY_REQUEST(&F.brx, i, &r);
		CU_ASSERT_EQUAL(r.id, i);
		CU_ASSERT_EQUAL(r.gref, 5000 + i);
	}
	/* Nothing free: nothing posted, no kick. */
	CU_ASSERT_FALSE(refill());
	CU_ASSERT_EQUAL(F.brx.sring->req_prod, XNF_RX_RING_SIZE);
	fix_down();
}

static void rx_receive_and_refill(void)
{
	fix_up(false);
	refill();
	uint8_t *d = frame_bytes(1514, 5), buf[2048];
	back_rx_data(d, 1514, 0, NETRXF_data_validated);
	back_rx_data(d, 60, 100, 0);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 2);
	struct xnf_frame f = { .data = buf, .cap = sizeof(buf) };
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
	CU_ASSERT_EQUAL(f.len, 1514);
	CU_ASSERT_EQUAL(f.flags, XNF_F_DATA_VALIDATED);
	CU_ASSERT_EQUAL(memcmp(buf, d, 1514), 0);
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
	CU_ASSERT_EQUAL(f.len, 60);
	CU_ASSERT_EQUAL(memcmp(buf, d, 60), 0);
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 0);
	/* Both buffers go back, in the slots after the ring's end, same ids. */
	refill();
	CU_ASSERT_EQUAL(F.brx.sring->req_prod, XNF_RX_RING_SIZE + 2);
	struct netif_rx_request r;
	RING_COPY_REQUEST(&F.brx, XNF_RX_RING_SIZE + 1, &r);
	CU_ASSERT_EQUAL(r.id, 1);
	CU_ASSERT_EQUAL(r.gref, 5001);
	CU_ASSERT_EQUAL(F.q->stats.rx_frames, 2);
	CU_ASSERT_EQUAL(F.q->stats.rx_bytes, 1574);
	free(d);
	fix_down();
}

/* A frame over three slots arrives in two pushes; it is delivered whole,
 * once, after the last slot. Extra-info slots are skipped. */
static void rx_multi_slot_and_extra(void)
{
	fix_up(true);
	refill();
	uint8_t *d = frame_bytes(9000, 11), *buf = malloc(XNF_FRAME_MAX);
	back_rx_data(d, 4096, 0, NETRXF_more_data | NETRXF_extra_info |
		     NETRXF_csum_blank | NETRXF_data_validated);
	back_rx_extra_gso(XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE,
			  XEN_NETIF_GSO_TYPE_TCPV6, 1440);
	back_rx_extra(XEN_NETIF_EXTRA_TYPE_HASH, 0);
	back_rx_data(d + 4096, 4000, 0, NETRXF_more_data);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 4);
	struct xnf_frame f = { .data = buf, .cap = XNF_FRAME_MAX };
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 0);
	back_rx_data(d + 8096, 904, 96, 0);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 1);
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
	CU_ASSERT_EQUAL(f.len, 9000);
	CU_ASSERT_EQUAL(f.flags, XNF_F_CSUM_BLANK | XNF_F_DATA_VALIDATED);
	CU_ASSERT_EQUAL(f.gso_type, XNF_GSO_TCPV6);
	CU_ASSERT_EQUAL(f.gso_size, 1440);
	CU_ASSERT_EQUAL(memcmp(buf, d, 9000), 0);
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 0);
	CU_ASSERT_FALSE(F.q->broken);
	free(d);
	free(buf);
	fix_down();
}

/* Buffers are tracked by ring slot, as Linux netfront does: an extra-info
 * slot consumes its request's buffer, which is posted again once the frame
 * is delivered. Three times round the ring with frames carrying a GSO and
 * a hash extra each (3 slots a frame): the backend always finds the ring
 * full of requests, every id is the slot's, nothing leaks. */
static void rx_extras_consume_buffers(void)
{
	uint8_t *d = frame_bytes(1500, 3), buf[2048];
	struct xnf_frame f = { .data = buf, .cap = sizeof(buf) };

	fix_up(true);
	refill();
	for (unsigned n = 0; n < XNF_RX_RING_SIZE; n++) {
		struct netif_rx_request r;

		CU_ASSERT_EQUAL_FATAL(F.brx.sring->req_prod - F.brx.req_cons,
				      XNF_RX_RING_SIZE);
		RING_COPY_REQUEST(&F.brx, F.brx.req_cons, &r);
		CU_ASSERT_EQUAL(r.id, F.brx.req_cons % XNF_RX_RING_SIZE);
		CU_ASSERT_EQUAL(r.gref, 5000 + r.id);
		back_rx_data(d, 1500, 0, NETRXF_extra_info | NETRXF_csum_blank);
		back_rx_extra_gso(XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE,
				  XEN_NETIF_GSO_TYPE_TCPV4, 1448);
		back_rx_extra(XEN_NETIF_EXTRA_TYPE_HASH, 0);
		RING_PUSH_RESPONSES(&F.brx);
		CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 3);
		CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
		CU_ASSERT_EQUAL(f.len, 1500);
		CU_ASSERT_EQUAL(f.gso_type, XNF_GSO_TCPV4);
		CU_ASSERT_EQUAL(f.flags, XNF_F_CSUM_BLANK);
		refill();
	}
	CU_ASSERT_EQUAL(F.q->stats.rx_frames, XNF_RX_RING_SIZE);
	CU_ASSERT_FALSE(F.q->broken);
	for (unsigned i = 0; i < XNF_RX_RING_SIZE; i++)
		CU_ASSERT_TRUE(F.q->rx_posted[i]);
	free(d);
	fix_down();
}

/* Windows for static grants: 128 receive buffers outstanding, the request
 * at index i on page i % 128 (so ids still follow slots); 128 bounce pages
 * until the pool grows back to all of them. */
static void windows_limit_pages(void)
{
	uint8_t *d = frame_bytes(100, 2), buf[256];
	struct xnf_frame f = { .data = buf, .cap = sizeof(buf) };
	bool notify;

	fix_up(false);
	xnf_queue_set_windows(F.q, 128, 128);
	refill();
	CU_ASSERT_EQUAL(F.brx.sring->req_prod, 128);
	for (unsigned n = 0; n < 300; n++) {
		struct netif_rx_request r;

		RING_COPY_REQUEST(&F.brx, F.brx.req_cons, &r);
		CU_ASSERT_EQUAL(r.id, F.brx.req_cons % XNF_RX_RING_SIZE);
		CU_ASSERT_EQUAL(r.gref, 5000 + F.brx.req_cons % 128);
		back_rx_data(d, 100, 0, 0);
		RING_PUSH_RESPONSES(&F.brx);
		CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 1);
		CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
		CU_ASSERT_EQUAL(memcmp(buf, d, 100), 0);
		refill();
		CU_ASSERT_EQUAL(F.brx.sring->req_prod - F.brx.req_cons, 128);
	}
	for (unsigned i = 0; i < 128; i++)
		CU_ASSERT_EQUAL(send_one(60, (uint8_t)i), 0);
	CU_ASSERT_EQUAL(send_one(60, 0), -EAGAIN);
	xnf_tx_push(F.q, &notify);
	for (unsigned i = 0; i < 128; i++)
		CU_ASSERT(back_tx_req().gref < 1000 + 128);
	xnf_queue_tx_grow(F.q);
	CU_ASSERT_EQUAL(send_one(60, 0), 0);
	xnf_tx_push(F.q, &notify);
	CU_ASSERT_EQUAL(back_tx_req().gref, 1000 + 128);
	free(d);
	fix_down();
}

/* A GSO frame without csum_blank (an older backend) is still partial. */
static void rx_gso_is_always_partial(void)
{
	uint8_t *d = frame_bytes(200, 1), buf[256];
	struct xnf_frame f = { .data = buf, .cap = sizeof(buf) };

	fix_up(false);
	refill();
	back_rx_data(d, 200, 0, NETRXF_extra_info);
	back_rx_extra_gso(XEN_NETIF_EXTRA_TYPE_GSO, 0, XEN_NETIF_GSO_TYPE_TCPV6, 1000);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 2);
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
	CU_ASSERT_EQUAL(f.flags, XNF_F_CSUM_BLANK);
	CU_ASSERT_EQUAL(f.gso_type, XNF_GSO_TCPV6);
	free(d);
	fix_down();
}

/* A GSO extra with a type we do not know, or no segment size: the frame
 * is dropped and counted, the device carries on. */
static void rx_bad_gso_dropped(void)
{
	fix_up(false);
	refill();
	uint8_t buf[PAGE];
	back_rx_data(NULL, 100, 0, NETRXF_extra_info);
	back_rx_extra_gso(XEN_NETIF_EXTRA_TYPE_GSO, 0, 9, 1448);
	back_rx_data(NULL, 100, 0, NETRXF_extra_info);
	back_rx_extra_gso(XEN_NETIF_EXTRA_TYPE_GSO, 0, XEN_NETIF_GSO_TYPE_TCPV4, 0);
	back_rx_data(NULL, 100, 0, 0);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 5);
	struct xnf_frame f = { .data = buf, .cap = sizeof(buf) };
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), -ENOBUFS);
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), -ENOBUFS);
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
	CU_ASSERT_EQUAL(f.gso_type, XNF_GSO_NONE);
	CU_ASSERT_EQUAL(F.q->stats.rx_errors, 2);
	CU_ASSERT_FALSE(F.q->broken);
	fix_down();
}

/* Errors the backend reports, and frames too long for the caller's buffer,
 * are dropped and counted; the device carries on. */
static void rx_drops_are_counted(void)
{
	fix_up(false);
	refill();
	uint8_t *d = frame_bytes(1000, 1), buf[2048];
	back_rx_data(NULL, NETIF_RSP_ERROR, 0, 0);
	back_rx_data(d, 1000, 0, 0);
	back_rx_data(d, 500, 0, 0);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 3);
	struct xnf_frame small = { .data = buf, .cap = 800 };
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &small), -ENOBUFS);	/* error */
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &small), -ENOBUFS);	/* too long */
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &small), 1);
	CU_ASSERT_EQUAL(small.len, 500);
	CU_ASSERT_EQUAL(F.q->stats.rx_errors, 1);
	CU_ASSERT_EQUAL(F.q->stats.rx_dropped, 1);
	CU_ASSERT_FALSE(F.q->broken);
	refill();
	CU_ASSERT_EQUAL(F.brx.sring->req_prod, XNF_RX_RING_SIZE + 3);
	free(d);
	fix_down();
}

enum rx_script { RX_RAW, RX_REPEAT, RX_PROD_RING, RX_PROD_AHEAD, RX_LONG_CHAIN,
		 RX_BAD_EXTRA };

static const struct rx_case {
	const char *name;
	enum rx_script script;
	struct netif_rx_response rsp;	/* for RX_RAW, in slot 0 */
	const char *reason;		/* NULL: good */
} rx_cases[] = {
	{ "good", RX_RAW, { .id = 0, .status = 60 }, NULL },
	{ "good at offset", RX_RAW, { .id = 0, .offset = 4036, .status = 60 }, NULL },
	{ "dropped status", RX_RAW, { .id = 0, .status = NETIF_RSP_DROPPED }, NULL },
	{ "id out of range", RX_RAW, { .id = XNF_RX_RING_SIZE, .status = 60 },
	  "id 256 out of range" },
	{ "id of another slot", RX_RAW, { .id = 5, .status = 60 },
	  "id 5 belongs to slot 5, not 0" },
	{ "repeated id", RX_REPEAT, { .id = 0, .status = 60 },
	  "id 0 is not outstanding" },
	{ "status out of range", RX_RAW, { .id = 0, .status = -3 },
	  "status -3 out of range" },
	{ "size larger than posted", RX_RAW, { .id = 0, .status = 4097 },
	  "larger than the 4096-byte buffer" },
	{ "offset plus size past page", RX_RAW,
	  { .id = 0, .offset = 4000, .status = 97 }, "offset 4000 + size 97" },
	{ "rsp_prod beyond ring", RX_PROD_RING, { 0 }, "ahead of rsp_cons" },
	{ "rsp_prod past requests", RX_PROD_AHEAD, { 0 }, "ahead of rsp_cons" },
	{ "frame over too many slots", RX_LONG_CHAIN, { 0 }, "spans more than" },
	{ "extra type out of range", RX_BAD_EXTRA, { 0 }, "extra-info type 9" },
};

static void rx_script_run(const struct rx_case *c)
{
	switch (c->script) {
	case RX_RAW:
		back_rx_raw(c->rsp);
		break;
	case RX_REPEAT:
		back_rx_raw(c->rsp);
		back_rx_raw(c->rsp);
		break;
	case RX_PROD_RING:
		F.brx.sring->rsp_prod = XNF_RX_RING_SIZE + 1;
		return;
	case RX_PROD_AHEAD:
		/* Only 4 requests posted below, 5 answers claimed. */
		F.brx.sring->rsp_prod = 5;
		return;
	case RX_LONG_CHAIN:
		for (int i = 0; i < 40; i++)
			back_rx_data(NULL, 10, 0, NETRXF_more_data);
		break;
	case RX_BAD_EXTRA:
		back_rx_data(NULL, 10, 0, NETRXF_extra_info);
		back_rx_extra(9, 0);
		break;
	}
	RING_PUSH_RESPONSES(&F.brx);
}

static void rx_run_case(const struct rx_case *c)
{
	uint8_t buf[PAGE];
	struct xnf_frame f = { .data = buf, .cap = sizeof(buf) };

	fix_up(false);
	refill();
	if (c->script == RX_PROD_AHEAD) {
		/* A queue with only 4 buffers posted. */
		F.q->rx.req_prod_pvt = F.q->rx_published = 4;
	}
	rx_script_run(c);
	int rc = xnf_rx_pull(F.q);
	if (rc >= 0)
		while ((rc = xnf_rx_next(F.q, &f)) != 0 && rc != -EPIPE)
			;
	if ((rc == -EPIPE) != (c->reason != NULL))
		fprintf(stderr, "\n  case '%s': rc %d (%s)\n", c->name, rc,
			F.q->reason);
	CU_ASSERT_EQUAL(F.q->broken, c->reason != NULL);
	if (c->reason) {
		CU_ASSERT_EQUAL(rc, -EPIPE);
		CU_ASSERT_PTR_NOT_NULL(strstr(F.q->reason, c->reason));
		CU_ASSERT_EQUAL(xnf_rx_pull(F.q), -EPIPE);
		CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), -EPIPE);
		CU_ASSERT_FALSE(refill());
	} else {
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(F.q->stats.rx_frames + F.q->stats.rx_errors, 1);
	}
	fix_down();
}

static void rx_response_checks(void)
{
	for (size_t i = 0; i < sizeof(rx_cases) / sizeof(rx_cases[0]); i++)
		rx_run_case(&rx_cases[i]);
}

/* A response's fields are read once: changing the shared slot after the
 * pull does not change what is delivered. */
static void rx_response_copied_once(void)
{
	fix_up(false);
	refill();
	uint8_t *d = frame_bytes(100, 2), buf[PAGE];
	back_rx_data(d, 100, 0, 0);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 1);
	RING_GET_RESPONSE(&F.brx, 0)->status = 4000;
	RING_GET_RESPONSE(&F.brx, 0)->flags = NETRXF_more_data;
	struct xnf_frame f = { .data = buf, .cap = sizeof(buf) };
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
	CU_ASSERT_EQUAL(f.len, 100);
	free(d);
	fix_down();
}

/* ---- notification suppression --------------------------------------------- */

static void notify_tx_follows_req_event(void)
{
	fix_up(false);
	bool notify;
	int more;

	send_one(60, 0);
	xnf_tx_push(F.q, &notify);
	CU_ASSERT_TRUE(notify);		/* backend idle: req_event = 1 */
	send_one(60, 0);
	xnf_tx_push(F.q, &notify);
	CU_ASSERT_FALSE(notify);	/* backend busy: not re-armed */
	back_tx_req();
	back_tx_req();
	RING_FINAL_CHECK_FOR_REQUESTS(&F.btx, more);
	CU_ASSERT_FALSE(more);		/* backend goes to sleep */
	send_one(60, 0);
	xnf_tx_push(F.q, &notify);
	CU_ASSERT_TRUE(notify);
	CU_ASSERT_EQUAL(F.q->stats.notify_tx, 2);
	fix_down();
}

static void notify_rx_follows_req_event(void)
{
	fix_up(false);
	int more;

	CU_ASSERT_TRUE(refill());
	RING_FINAL_CHECK_FOR_REQUESTS(&F.brx, more);
	CU_ASSERT_TRUE(more);		/* 256 buffers waiting: no sleep */
	back_rx_data(NULL, 10, 0, 0);
	RING_PUSH_RESPONSES(&F.brx);
	xnf_rx_pull(F.q);
	uint8_t buf[64];
	struct xnf_frame f = { .data = buf, .cap = sizeof(buf) };
	CU_ASSERT_EQUAL(xnf_rx_next(F.q, &f), 1);
	CU_ASSERT_FALSE(refill());	/* backend still has 255: no kick */
	CU_ASSERT_EQUAL(F.q->stats.notify_rx, 1);
	fix_down();
}

/* xnf_queue_arm sets rsp_event so the backend's next push asks for an
 * event; pushes before we look again do not. */
static void notify_arm_sets_rsp_event(void)
{
	fix_up(false);
	int notify;

	refill();
	CU_ASSERT_FALSE(xnf_queue_arm(F.q));
	back_rx_data(NULL, 10, 0, 0);
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&F.brx, notify);
	CU_ASSERT_TRUE(notify);
	back_rx_data(NULL, 10, 0, 0);
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&F.brx, notify);
	CU_ASSERT_FALSE(notify);
	CU_ASSERT_TRUE(xnf_queue_arm(F.q));	/* work already waiting */
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 2);
	CU_ASSERT_FALSE(xnf_queue_arm(F.q));
	back_rx_data(NULL, 10, 0, 0);
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&F.brx, notify);
	CU_ASSERT_TRUE(notify);

	/* Same on the tx ring. */
	send_one(60, 0);
	push_tx();
	back_tx_rsp(back_tx_req().id, 0);
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&F.btx, notify);
	CU_ASSERT_TRUE(notify);		/* rsp_event armed by the arm above */
	CU_ASSERT_EQUAL(xnf_tx_gc(F.q), 1);
	send_one(60, 0);
	push_tx();
	back_tx_rsp(back_tx_req().id, 0);
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&F.btx, notify);
	CU_ASSERT_TRUE(notify);		/* tx_gc re-armed it */
	fix_down();
}

/* Ring indices wrap around 2^32 without tripping the producer check. */
static void ring_index_wraparound(void)
{
	fix_up(false);
	RING_IDX start = 0xfffffff0u;
	F.q->tx.req_prod_pvt = F.q->tx.rsp_cons = F.q->tx_published = start;
	F.btx.req_cons = F.btx.rsp_prod_pvt = start;
	F.btx.sring->req_prod = F.btx.sring->rsp_prod = start;
	for (int round = 0; round < 40; round++) {
		CU_ASSERT_EQUAL_FATAL(send_one(60, 0), 0);
		push_tx();
		back_tx_rsp(back_tx_req().id, 0);
		RING_PUSH_RESPONSES(&F.btx);
		CU_ASSERT_EQUAL_FATAL(xnf_tx_gc(F.q), 1);
	}
	CU_ASSERT_FALSE(F.q->broken);
	fix_down();
}

/* ---- frames read straight into the bounce pages (reserve/commit) ---------- */

/* What readv does: LEN bytes of DATA into SP's pages, in order. */
static void space_fill(const struct xnf_tx_space *sp, const uint8_t *data, size_t len)
{
	for (unsigned k = 0; k < sp->n && len > 0; k++) {
		size_t c = len < sp->iov[k].iov_len ? len : sp->iov[k].iov_len;

		memcpy(sp->iov[k].iov_base, data, c);
		data += c;
		len -= c;
	}
}

/* Every byte of every bounce page past what it holds for the backend is
 * zero (the backend may read whole granted pages). */
static bool pages_clean_past_used(void)
{
	for (unsigned id = 0; id < XNF_TX_RING_SIZE; id++) {
		const uint8_t *pg = F.tx_pages + (size_t)id * PAGE;

		for (size_t i = F.q->tx_used[id]; i < PAGE; i++)
			if (pg[i])
				return false;
	}
	return true;
}

/* Reserve, "read" a frame of LEN bytes, commit with META's offload fields. */
static int read_in(size_t len, uint8_t seed, struct xnf_frame meta)
{
	struct xnf_tx_space sp;
	uint8_t *b = frame_bytes(len, seed);
	size_t cap;
	int rc = xnf_tx_reserve(F.q, &sp);

	if (rc == 0) {
		cap = (size_t)sp.n * PAGE;
		space_fill(&sp, b, len < cap ? len : cap);
		meta.len = (uint32_t)len;
		rc = xnf_tx_commit(F.q, &sp, &meta);
	}
	free(b);
	return rc;
}

/* Frames filling exactly N pages, one byte more, and the largest: the
 * requests are those xnf_tx_put builds, the slots not filled go back, and
 * the backend reads the frame byte for byte. */
static void tx_reserve_exact_pages(void)
{
	static const size_t lens[] = { 60, PAGE, PAGE + 1, 3 * PAGE,
				       15 * PAGE, 15 * PAGE + 1, XNF_FRAME_MAX };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned nslots = xnf_tx_slots(lens[i]);
		uint8_t *want = frame_bytes(lens[i], (uint8_t)i);
		size_t off = 0;

		fix_up(true);
		CU_ASSERT_EQUAL(read_in(lens[i], (uint8_t)i, (struct xnf_frame){ 0 }), 0);
		CU_ASSERT_EQUAL(F.q->tx_nfree, XNF_TX_RING_SIZE - nslots);
		push_tx();
		CU_ASSERT_EQUAL(F.btx.sring->req_prod, nslots);
		for (unsigned k = 0; k < nslots; k++) {
			struct netif_tx_request r = back_tx_req();
			size_t chunk = lens[i] - off < PAGE ? lens[i] - off : PAGE;

			CU_ASSERT_EQUAL(r.size, k == 0 ? lens[i] : chunk);
			CU_ASSERT_EQUAL(r.flags, k + 1 < nslots ? NETTXF_more_data : 0);
			CU_ASSERT_EQUAL(r.gref, F.tx_refs[r.id]);
			/* The same pages, in the same order, as a copy would use. */
			CU_ASSERT_EQUAL(r.id, k);
			CU_ASSERT_EQUAL(memcmp(F.tx_pages + (size_t)r.id * PAGE,
					       want + off, chunk), 0);
			off += chunk;
		}
		CU_ASSERT_EQUAL(F.q->stats.tx_frames, 1);
		CU_ASSERT_EQUAL(F.q->stats.tx_bytes, lens[i]);
		CU_ASSERT_TRUE(pages_clean_past_used());
		free(want);
		fix_down();
	}
}

/* Room for a largest frame (16 pages, and the GSO extra's slot) or none is
 * taken: a frame waits in the TAP until completions free enough, then a
 * 64 KiB GSO frame goes, laid out as xnf_tx_put lays it out. */
static void tx_reserve_waits_for_room(void)
{
	struct xnf_frame gso = { .gso_type = XNF_GSO_TCPV4, .gso_size = 1448 };
	struct xnf_tx_space sp;
	unsigned sent = 0;

	fix_up(true);
	F.q->gso = XNF_OFFLOAD_GSO_TCPV4;
	while (xnf_tx_room(F.q, XNF_FRAME_MAX))
		CU_ASSERT_EQUAL_FATAL(send_one(PAGE, (uint8_t)sent++), 0);
	/* 16 pages, but no ring slot left for the GSO extra. */
	unsigned nfree = F.q->tx_nfree, want_free = XNF_TX_SPACE_PAGES + 1;
	CU_ASSERT_TRUE(nfree < want_free);
	CU_ASSERT_EQUAL(xnf_tx_reserve(F.q, &sp), -EAGAIN);
	CU_ASSERT_EQUAL(F.q->tx_nfree, nfree);
	push_tx();
	for (unsigned k = 0; k < want_free - nfree; k++)
		back_tx_rsp(back_tx_req().id, NETIF_RSP_OKAY);
	RING_PUSH_RESPONSES(&F.btx);
	CU_ASSERT_EQUAL(xnf_tx_gc(F.q), (int)(want_free - nfree));
	CU_ASSERT_EQUAL(read_in(XNF_FRAME_MAX, 7, gso), 0);
	CU_ASSERT_EQUAL(F.q->tx_nfree, 1);
	push_tx();
	F.btx.req_cons = F.q->tx.req_prod_pvt - (XNF_TX_SPACE_PAGES + 1);
	struct netif_tx_request r0 = back_tx_gso_head(XNF_FRAME_MAX, 1448);
	uint8_t *want = frame_bytes(XNF_FRAME_MAX, 7);
	CU_ASSERT_EQUAL(memcmp(F.tx_pages + (size_t)r0.id * PAGE, want, PAGE), 0);
	for (unsigned k = 1; k < XNF_TX_SPACE_PAGES; k++) {
		struct netif_tx_request r = back_tx_req();
		size_t chunk = k + 1 < XNF_TX_SPACE_PAGES ? PAGE : XNF_FRAME_MAX - 15 * PAGE;

		CU_ASSERT_EQUAL(r.size, chunk);
		CU_ASSERT_EQUAL(memcmp(F.tx_pages + (size_t)r.id * PAGE,
				       want + k * PAGE, chunk), 0);
	}
	CU_ASSERT_FALSE(F.q->broken);
	free(want);
	fix_down();
}

/* What was read into pages and not sent is wiped, and a short frame in a
 * page that held a longer one leaves nothing of the older one behind. */
static void tx_commit_wipes_stale(void)
{
	struct xnf_tx_space sp;

	fix_up(true);
	CU_ASSERT_EQUAL(read_in(PAGE + 500, 1, (struct xnf_frame){ 0 }), 0);
	push_tx();
	back_tx_rsp(back_tx_req().id, NETIF_RSP_OKAY);
	back_tx_rsp(back_tx_req().id, NETIF_RSP_OKAY);
	RING_PUSH_RESPONSES(&F.btx);
	CU_ASSERT_EQUAL(xnf_tx_gc(F.q), 2);
	CU_ASSERT_EQUAL(read_in(100, 2, (struct xnf_frame){ 0 }), 0);
	CU_ASSERT_TRUE(pages_clean_past_used());
	/* Read, then not sent (say, a bad virtio-net header). */
	CU_ASSERT_EQUAL_FATAL(xnf_tx_reserve(F.q, &sp), 0);
	uint16_t first = sp.id[0];
	uint8_t *junk = frame_bytes(9000, 3);
	space_fill(&sp, junk, 9000);
	xnf_tx_cancel(F.q, &sp, 9000);
	CU_ASSERT_EQUAL(F.q->tx_nfree, XNF_TX_RING_SIZE - 1);
	CU_ASSERT_TRUE(pages_clean_past_used());
	/* The slots come back in their order: the next frame takes the page
	 * the cancelled one started in. */
	CU_ASSERT_EQUAL(read_in(60, 4, (struct xnf_frame){ 0 }), 0);
	push_tx();
	F.btx.req_cons = F.q->tx.req_prod_pvt - 1;
	CU_ASSERT_EQUAL(back_tx_req().id, first);
	CU_ASSERT_TRUE(pages_clean_past_used());
	free(junk);
	fix_down();
}

/* Frames the backend cannot take: refused as xnf_tx_put refuses them, the
 * pages wiped and every slot given back, nothing on the ring. */
static void tx_commit_refuses(void)
{
	static const struct { bool sg; size_t len; uint16_t gso; int rc; } cases[] = {
		{ true, XNF_FRAME_MIN - 1, XNF_GSO_NONE, -EINVAL },
		{ true, XNF_FRAME_MAX + 1, XNF_GSO_NONE, -EMSGSIZE },
		{ true, 70000, XNF_GSO_NONE, -EMSGSIZE },	/* cut short */
		{ false, PAGE + 1, XNF_GSO_NONE, -EMSGSIZE },
		{ true, 3000, XNF_GSO_TCPV6, -EINVAL },		/* not offered */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xnf_frame meta = { .gso_type = cases[i].gso, .gso_size = 1000 };

		fix_up(cases[i].sg);
		CU_ASSERT_EQUAL(read_in(cases[i].len, 5, meta), cases[i].rc);
		CU_ASSERT_EQUAL(F.q->tx.req_prod_pvt, 0);
		CU_ASSERT_EQUAL(F.q->tx_nfree, XNF_TX_RING_SIZE);
		CU_ASSERT_TRUE(pages_clean_past_used());
		CU_ASSERT_FALSE(F.q->broken);
		fix_down();
	}
}

/* A blank IPv6 checksum for a backend without IPv6 checksum offload, in a
 * frame over pages that are not adjacent: filled as over one buffer. */
static void tx_commit_csum6_spread(void)
{
	enum { LEN = 5000 };
	uint8_t *b = calloc(1, LEN), *want = malloc(LEN);
	struct xnf_frame meta = { .len = LEN, .flags = XNF_F_CSUM_BLANK };
	struct xnf_tx_space sp;

	fix_up(true);
	F.q->no_csum6 = true;
	tcp_frame(b, true);
	b[18] = (LEN - 54) >> 8;	/* IPv6 payload length */
	b[19] = (LEN - 54) & 0xff;
	for (size_t i = 84; i < LEN; i++)
		b[i] = (uint8_t)(i * 13);
	memcpy(want, b, LEN);
	CU_ASSERT_EQUAL(xnf_csum_fill(want, LEN), 0);
	/* Pages 0 and 1 go out, page 0 comes back: the stack then offers
	 * 0 and 2. */
	CU_ASSERT_EQUAL(send_one(60, 0), 0);
	CU_ASSERT_EQUAL(send_one(60, 0), 0);
	push_tx();
	back_tx_rsp(back_tx_req().id, NETIF_RSP_OKAY);
	RING_PUSH_RESPONSES(&F.btx);
	CU_ASSERT_EQUAL(xnf_tx_gc(F.q), 1);
	CU_ASSERT_EQUAL_FATAL(xnf_tx_reserve(F.q, &sp), 0);
	CU_ASSERT_EQUAL(sp.id[0], 0);
	CU_ASSERT_EQUAL(sp.id[1], 2);
	space_fill(&sp, b, LEN);
	CU_ASSERT_EQUAL(xnf_tx_commit(F.q, &sp, &meta), 0);
	CU_ASSERT_EQUAL(F.q->stats.tx_csum6_filled, 1);
	CU_ASSERT_EQUAL(memcmp(F.tx_pages, want, PAGE), 0);
	CU_ASSERT_EQUAL(memcmp(F.tx_pages + 2 * PAGE, want + PAGE, LEN - PAGE), 0);
	free(b);
	free(want);
	fix_down();
}

/* ---- frames handed out in place (rx_take) ---------------------------------- */

/* A frame over three slots at odd offsets, a GSO extra in between: the
 * spans are the slots' data, the offload fields as xnf_rx_next gives
 * them, the tail after any split point the rest of the frame. */
static void rx_take_spans(void)
{
	static const size_t skips[] = { 0, 1, 256, 3000, 3001, 7096, 7145, 7146 };
	uint8_t *d = frame_bytes(7146, 21), *buf = malloc(7146);
	struct xnf_rx_view v;
	struct iovec tail[XNF_RX_SPANS];

	fix_up(true);
	refill();
	back_rx_data(d, 3000, 100, NETRXF_more_data | NETRXF_extra_info |
		     NETRXF_data_validated);
	back_rx_extra_gso(XEN_NETIF_EXTRA_TYPE_GSO, 0, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	back_rx_data(d + 3000, 4096, 0, NETRXF_more_data);
	back_rx_data(d + 7096, 50, 7, 0);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 4);
	CU_ASSERT_EQUAL_FATAL(xnf_rx_take(F.q, &v, XNF_FRAME_MAX), 1);
	CU_ASSERT_EQUAL(v.f.len, 7146);
	CU_ASSERT_EQUAL(v.f.flags, XNF_F_CSUM_BLANK | XNF_F_DATA_VALIDATED);
	CU_ASSERT_EQUAL(v.f.gso_type, XNF_GSO_TCPV4);
	CU_ASSERT_EQUAL(v.f.gso_size, 1448);
	CU_ASSERT_EQUAL_FATAL(v.n, 3);
	CU_ASSERT_PTR_EQUAL(v.iov[0].iov_base, F.rx_pages + 100);
	CU_ASSERT_PTR_EQUAL(v.iov[2].iov_base, F.rx_pages + 3 * PAGE + 7);
	xnf_rx_view_copy(&v, buf, v.f.len);
	CU_ASSERT_EQUAL(memcmp(buf, d, 7146), 0);
	for (size_t i = 0; i < sizeof(skips) / sizeof(skips[0]); i++) {
		unsigned n = xnf_rx_view_tail(&v, skips[i], tail);
		size_t off = skips[i];

		for (unsigned k = 0; k < n; k++) {
			CU_ASSERT_EQUAL(memcmp(tail[k].iov_base, d + off, tail[k].iov_len), 0);
			off += tail[k].iov_len;
		}
		CU_ASSERT_EQUAL(off, 7146);
	}
	CU_ASSERT_EQUAL(xnf_rx_take(F.q, &v, XNF_FRAME_MAX), 0);
	/* Taken: its four buffers are posted again at the next refill. */
	refill();
	CU_ASSERT_EQUAL(F.brx.sring->req_prod, XNF_RX_RING_SIZE + 4);
	free(d);
	free(buf);
	fix_down();
}

/* A 60-byte frame and a 64 KiB - 1 one (16 slots), then one longer than the
 * caller takes (dropped, counted, its buffers freed) and one errored. */
static void rx_take_short_and_largest(void)
{
	uint8_t *d = frame_bytes(XNF_FRAME_MAX, 33), *buf = malloc(XNF_FRAME_MAX);
	struct xnf_rx_view v;
	size_t off;

	fix_up(true);
	refill();
	back_rx_data(d, 60, 0, 0);
	for (off = 0; off < XNF_FRAME_MAX; off += PAGE) {
		size_t c = XNF_FRAME_MAX - off < PAGE ? XNF_FRAME_MAX - off : PAGE;

		back_rx_data(d + off, (int16_t)c, 0,
			     off + c < XNF_FRAME_MAX ? NETRXF_more_data : 0);
	}
	back_rx_data(d, 2000, 0, 0);
	back_rx_data(NULL, NETIF_RSP_ERROR, 0, 0);
	RING_PUSH_RESPONSES(&F.brx);
	CU_ASSERT_EQUAL(xnf_rx_pull(F.q), 19);
	CU_ASSERT_EQUAL_FATAL(xnf_rx_take(F.q, &v, XNF_FRAME_MAX), 1);
	CU_ASSERT_EQUAL(v.f.len, 60);
	xnf_rx_view_copy(&v, buf, v.f.len);
	CU_ASSERT_EQUAL(memcmp(buf, d, 60), 0);
	CU_ASSERT_EQUAL_FATAL(xnf_rx_take(F.q, &v, XNF_FRAME_MAX), 1);
	CU_ASSERT_EQUAL(v.f.len, XNF_FRAME_MAX);
	CU_ASSERT_EQUAL(v.n, 16);
	xnf_rx_view_copy(&v, buf, v.f.len);
	CU_ASSERT_EQUAL(memcmp(buf, d, XNF_FRAME_MAX), 0);
	CU_ASSERT_EQUAL(xnf_rx_take(F.q, &v, 1999), -ENOBUFS);
	CU_ASSERT_EQUAL(F.q->stats.rx_dropped, 1);
	CU_ASSERT_EQUAL(xnf_rx_take(F.q, &v, XNF_FRAME_MAX), -ENOBUFS);
	CU_ASSERT_EQUAL(F.q->stats.rx_errors, 1);
	CU_ASSERT_EQUAL(xnf_rx_take(F.q, &v, XNF_FRAME_MAX), 0);
	CU_ASSERT_EQUAL(F.q->rx_done, 19);
	CU_ASSERT_FALSE(F.q->broken);
	free(d);
	free(buf);
	fix_down();
}

int main(void)
{
	CU_pSuite s;

	xnx_log_open("test_netfront_ring", 0, XNX_LOG_ERR);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("netfront_ring", NULL, NULL);
	CU_add_test(s, "tx_put_single_slot", tx_put_single_slot);
	CU_add_test(s, "tx_put_checksum_flags", tx_put_checksum_flags);
	CU_add_test(s, "tx_put_csum6_fallback", tx_put_csum6_fallback);
	CU_add_test(s, "tx_put_multi_slot", tx_put_multi_slot);
	CU_add_test(s, "tx_put_refuses_bad_sizes", tx_put_refuses_bad_sizes);
	CU_add_test(s, "tx_ring_full_then_reuse", tx_ring_full_then_reuse);
	CU_add_test(s, "tx_gc_response_checks", tx_gc_response_checks);
	CU_add_test(s, "tx_put_gso_layout", tx_put_gso_layout);
	CU_add_test(s, "tx_put_gso_refused", tx_put_gso_refused);
	CU_add_test(s, "tx_put_mcast_layout", tx_put_mcast_layout);
	CU_add_test(s, "tx_reserve_exact_pages", tx_reserve_exact_pages);
	CU_add_test(s, "tx_reserve_waits_for_room", tx_reserve_waits_for_room);
	CU_add_test(s, "tx_commit_wipes_stale", tx_commit_wipes_stale);
	CU_add_test(s, "tx_commit_refuses", tx_commit_refuses);
	CU_add_test(s, "tx_commit_csum6_spread", tx_commit_csum6_spread);
	CU_add_test(s, "rx_take_spans", rx_take_spans);
	CU_add_test(s, "rx_take_short_and_largest", rx_take_short_and_largest);
	CU_add_test(s, "rx_refill_posts_every_buffer", rx_refill_posts_every_buffer);
	CU_add_test(s, "rx_receive_and_refill", rx_receive_and_refill);
	CU_add_test(s, "rx_multi_slot_and_extra", rx_multi_slot_and_extra);
	CU_add_test(s, "rx_drops_are_counted", rx_drops_are_counted);
	CU_add_test(s, "rx_extras_consume_buffers", rx_extras_consume_buffers);
	CU_add_test(s, "rx_gso_is_always_partial", rx_gso_is_always_partial);
	CU_add_test(s, "windows_limit_pages", windows_limit_pages);
	CU_add_test(s, "rx_bad_gso_dropped", rx_bad_gso_dropped);
	CU_add_test(s, "rx_response_checks", rx_response_checks);
	CU_add_test(s, "rx_response_copied_once", rx_response_copied_once);
	CU_add_test(s, "notify_tx_follows_req_event", notify_tx_follows_req_event);
	CU_add_test(s, "notify_rx_follows_req_event", notify_rx_follows_req_event);
	CU_add_test(s, "notify_arm_sets_rsp_event", notify_arm_sets_rsp_event);
	CU_add_test(s, "ring_index_wraparound", ring_index_wraparound);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
