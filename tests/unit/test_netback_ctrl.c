/*
 * test_netback_ctrl.c — netback/ctrl.c: both ends of the control ring on
 * one page, the frontend side driven by hand with ring.h's macros; every
 * request type's success and error statuses (table-driven), a mapping with
 * an out-of-range queue changing nothing, key and table going live whole,
 * the ring budget and a producer more than a ring ahead, the static grant
 * table (add, refuse, delete, in use) and the data path's memcpy.
 * Grant copy and map are fakes over local pages indexed by gref.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include "cunit_run.h"

#include "netback/xnb_ctrl.h"

#define DOMID 7
#define NPAGES 128
#define BAD_REF 99	/* not granted */

/* ---- the fake hypervisor ---------------------------------------------------- */

static uint8_t (*pages)[XNB_PAGE_SIZE];
static bool granted[NPAGES];
static unsigned copies, maps, unmaps, notifies;

/* Refs past the table's index size stand for the page of ref modulo it,
 * so that refs can collide in the index. */
static uint8_t *page_of(uint32_t ref, uint16_t domid)
{
	ref %= XNB_GREF_INDEX_SIZE;
	return ref < NPAGES && granted[ref] && domid == DOMID ? pages[ref] : NULL;
}

static int fake_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	for (unsigned i = 0; i < n; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[i];
		uint8_t *p;

		copies++;
		if (g->flags & GNTCOPY_source_gref) {
			p = page_of(g->source.foreign.ref, g->source.foreign.domid);
			if (p && g->source.foreign.offset + g->len <= XNB_PAGE_SIZE)
				memcpy(g->dest.virt, p + g->source.foreign.offset, g->len);
		} else {
			p = page_of(g->dest.foreign.ref, g->dest.foreign.domid);
			if (p && g->dest.foreign.offset + g->len <= XNB_PAGE_SIZE)
				memcpy(p + g->dest.foreign.offset, g->source.virt, g->len);
		}
		g->status = p ? GNTST_okay : GNTST_bad_gntref;
	}
	return 0;
}

static void fake_notify(void *ctx, uint32_t port)
{
	notifies++;
}

static void *fake_map(void *ctx, uint32_t ref, bool readonly)
{
	uint8_t *p = page_of(ref, DOMID);

	if (p)
		maps++;
	return p;
}

static void fake_unmap(void *ctx, void *addr)
{
	unmaps++;
}

static const struct xnb_ctrl_io fake_io = {
	.grant_copy = fake_copy, .notify = fake_notify, .map = fake_map, .unmap = fake_unmap,
};

/* ---- both ends on one page --------------------------------------------------- */

static void *ring_page;
static xen_netif_ctrl_front_ring_t front;
static struct xnb_ctrl ctrl;

static const uint8_t rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

enum { KEY_REF = 1, MAP_REF = 2, BADMAP_REF = 3, LIST_REF = 4, DATA_REF = 10 };

static void fill_pages(void)
{
	uint32_t *m;

	memset(pages, 0, NPAGES * XNB_PAGE_SIZE);
	memset(granted, 0, sizeof(granted));
	for (unsigned i = 1; i < 64; i++)
		granted[i] = true;
	memcpy(pages[KEY_REF], rss_key, sizeof(rss_key));
	m = (uint32_t *)pages[MAP_REF];
	for (unsigned i = 0; i < 1024; i++)
		m[i] = (i * 7 + 1) % 2;
	m = (uint32_t *)pages[BADMAP_REF];
	for (unsigned i = 0; i < 1024; i++)
		m[i] = i == 5 ? 2 : 1;	/* queue 2 of 2: out of range */
}

static int setup(void)
{
	fill_pages();
	copies = maps = unmaps = notifies = 0;
	memset(ring_page, 0, XNB_PAGE_SIZE);
	SHARED_RING_INIT((xen_netif_ctrl_sring_t *)ring_page);
	FRONT_RING_INIT(&front, (xen_netif_ctrl_sring_t *)ring_page, XNB_PAGE_SIZE);
	return xnb_ctrl_init(&ctrl, ring_page, DOMID, 2, &fake_io);
}

static void teardown(void)
{
	xnb_ctrl_fini(&ctrl);
}

static void push(uint16_t id, uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2)
{
	struct xen_netif_ctrl_request r = { .id = id, .type = type, .data = { d0, d1, d2 } };

	*RING_GET_REQUEST(&front, front.req_prod_pvt) = r;
	front.req_prod_pvt++;
	RING_PUSH_REQUESTS(&front);
}

/* The next response (must be there). */
static struct xen_netif_ctrl_response pop(void)
{
	struct xen_netif_ctrl_response r;

	memset(&r, 0xee, sizeof(r));
	CU_ASSERT_FATAL(front.rsp_cons != front.sring->rsp_prod);
	RING_COPY_RESPONSE(&front, front.rsp_cons, &r);
	front.rsp_cons++;
	return r;
}

/* One request through the ring: its status; *DATA gets the data. */
static uint32_t call(uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2, uint32_t *data)
{
	static uint16_t id = 100;
	struct xen_netif_ctrl_response r;

	push(++id, type, d0, d1, d2);
	CU_ASSERT_EQUAL(xnb_ctrl_run(&ctrl), XNB_IDLE);
	r = pop();
	CU_ASSERT_EQUAL(r.id, id);
	CU_ASSERT_EQUAL(r.type, type);
	if (data)
		*data = r.data;
	return r.status;
}

/* ---- every request type -------------------------------------------------------- */

#define OK	 XEN_NETIF_CTRL_STATUS_SUCCESS
#define NOTSUP	 XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED
#define INVAL	 XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
#define OVERFLOW XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW
#define TOEPLITZ XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ

static const struct ctrl_case {
	const char *name;
	uint32_t alg, size;	/* state before */
	uint16_t type;
	uint32_t d[3];
	uint32_t status, data;
} cases[] = {
	{ "set_alg_toeplitz", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, { TOEPLITZ }, OK, 0 },
	{ "set_alg_none", TOEPLITZ, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, { 0 }, OK, 0 },
	{ "set_alg_unknown", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, { 2 }, INVAL, 0 },
	{ "get_flags_no_alg", 0, 0, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, { 0 }, NOTSUP, 0 },
	{ "get_flags", TOEPLITZ, 0, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, { 0 }, OK, 0xf },
	{ "set_flags", TOEPLITZ, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, { 0x5 }, OK, 0 },
	{ "set_flags_zero", TOEPLITZ, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, { 0 }, OK, 0 },
	{ "set_flags_no_alg", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, { 0x1 }, INVAL, 0 },
	{ "set_flags_unknown_bit", TOEPLITZ, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, { 0x10 },
	  INVAL, 0 },
	{ "set_key", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, { KEY_REF, 40 }, OK, 0 },
	{ "set_key_short", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, { KEY_REF, 3 }, OK, 0 },
	{ "set_key_empty", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, { BAD_REF, 0 }, OK, 0 },
	{ "set_key_too_long", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, { KEY_REF, 41 },
	  OVERFLOW, 0 },
	{ "set_key_bad_gref", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, { BAD_REF, 40 }, INVAL, 0 },
	{ "get_mapping_size", 0, 0, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, { 0 }, OK, 128 },
	{ "set_mapping_size", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, { 128 }, OK, 0 },
	{ "set_mapping_size_zero", 0, 8, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, { 0 }, OK, 0 },
	{ "set_mapping_size_too_big", 0, 0, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, { 129 },
	  INVAL, 0 },
	{ "set_mapping", 0, 8, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, { MAP_REF, 8, 0 }, OK, 0 },
	{ "set_mapping_sub_table", 0, 8, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, { MAP_REF, 4, 4 },
	  OK, 0 },
	{ "set_mapping_past_size", 0, 8, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, { MAP_REF, 8, 1 },
	  INVAL, 0 },
	{ "set_mapping_too_big", 0, 128, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING,
	  { MAP_REF, 129, 0 }, OVERFLOW, 0 },
	{ "set_mapping_offset_wraps", 0, 128, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING,
	  { MAP_REF, 2, 0xffffffffu }, OVERFLOW, 0 },
	{ "set_mapping_bad_queue", 0, 8, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING,
	  { BADMAP_REF, 8, 0 }, INVAL, 0 },
	{ "set_mapping_bad_gref", 0, 8, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, { BAD_REF, 8, 0 },
	  INVAL, 0 },
	{ "get_gref_size", 0, 0, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE, { 1 }, OK, 256 },
	{ "get_gref_size_bad_queue", 0, 0, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE, { 2 },
	  INVAL, 0 },
	{ "add_gref_bad_queue", 0, 0, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, { 2, LIST_REF, 1 },
	  INVAL, 0 },
	{ "add_gref_too_many", 0, 0, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, { 0, LIST_REF, 257 },
	  INVAL, 0 },
	{ "add_gref_bad_list", 0, 0, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, { 0, BAD_REF, 1 },
	  INVAL, 0 },
	{ "add_gref_none", 0, 0, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, { 0, BAD_REF, 0 }, OK, 0 },
	{ "del_gref_bad_queue", 0, 0, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, { 2, LIST_REF, 1 },
	  INVAL, 0 },
	{ "del_gref_bad_list", 0, 0, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, { 0, BAD_REF, 1 },
	  INVAL, 0 },
	{ "del_gref_past_page", 0, 0, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, { 0, LIST_REF, 513 },
	  INVAL, 0 },
	{ "type_invalid", 0, 0, XEN_NETIF_CTRL_TYPE_INVALID, { 0 }, NOTSUP, 0 },
	{ "type_unknown", 0, 0, 11, { 1, 2, 3 }, NOTSUP, 0 },
	{ "type_huge", 0, 0, 0xffff, { 0 }, NOTSUP, 0 },
};

static void test_ctrl_handle_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ctrl_case *t = &cases[i];
		uint32_t data = 0xdead, st;

		CU_ASSERT_EQUAL_FATAL(setup(), 0);
		ctrl.hash.alg = t->alg;
		ctrl.hash.size = t->size;
		st = call(t->type, t->d[0], t->d[1], t->d[2], &data);
		if (st != t->status || data != t->data)
			printf("\n    case %s: status %u data %u (want %u, %u)", t->name, st, data,
			       t->status, t->data);
		CU_ASSERT_EQUAL(st, t->status);
		CU_ASSERT_EQUAL(data, t->data);
		teardown();
	}
}

/* ---- what the requests change ------------------------------------------------------ */

static void test_ctrl_key_live_whole(void)
{
	uint8_t want[XNB_HASH_KEY_SIZE] = { 0 };

	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, KEY_REF, 40, 0, NULL), OK);
	CU_ASSERT_EQUAL(memcmp(ctrl.hash.key, rss_key, 40), 0);
	/* The key is ours: the frontend changing its page changes nothing. */
	pages[KEY_REF][0] ^= 0xff;
	CU_ASSERT_EQUAL(memcmp(ctrl.hash.key, rss_key, 40), 0);
	/* A shorter key: the rest is zero. */
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, KEY_REF, 3, 0, NULL), OK);
	memcpy(want, pages[KEY_REF], 3);
	CU_ASSERT_EQUAL(memcmp(ctrl.hash.key, want, sizeof(want)), 0);
	/* Refused: the old key stays. */
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, KEY_REF, 41, 0, NULL), OVERFLOW);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, BAD_REF, 40, 0, NULL), INVAL);
	CU_ASSERT_EQUAL(memcmp(ctrl.hash.key, want, sizeof(want)), 0);
	/* Size 0 clears it. */
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, KEY_REF, 0, 0, NULL), OK);
	memset(want, 0, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(ctrl.hash.key, want, sizeof(want)), 0);
	teardown();
}

static void test_ctrl_mapping_bad_queue_changes_nothing(void)
{
	struct xnb_hash before;
	const uint32_t *m = (const uint32_t *)pages[MAP_REF];

	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 16, 0, 0, NULL), OK);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, MAP_REF, 16, 0, NULL), OK);
	for (unsigned i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(ctrl.hash.mapping[i], m[i]);
	before = ctrl.hash;
	/* Entry 5 names queue 2 of 2: refused, not one entry changed. */
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, BADMAP_REF, 16, 0, NULL), INVAL);
	CU_ASSERT_EQUAL(memcmp(&before, &ctrl.hash, sizeof(before)), 0);
	/* A sub-table leaves the rest alone. */
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, BADMAP_REF, 4, 12, NULL), OK);
	for (unsigned i = 0; i < 12; i++)
		CU_ASSERT_EQUAL(ctrl.hash.mapping[i], m[i]);
	CU_ASSERT_EQUAL(ctrl.hash.mapping[12], 1);
	/* A new size resets the table. */
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 16, 0, 0, NULL), OK);
	for (unsigned i = 0; i < XNB_HASH_MAPPING_SIZE; i++)
		CU_ASSERT_EQUAL(ctrl.hash.mapping[i], 0);
	CU_ASSERT_EQUAL(ctrl.hash.size, 16);
	teardown();
}

static void test_ctrl_flags_and_alg(void)
{
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	CU_ASSERT_EQUAL(ctrl.hash.alg, XEN_NETIF_CTRL_HASH_ALGORITHM_NONE);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, TOEPLITZ, 0, 0, NULL), OK);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0xa, 0, 0, NULL), OK);
	CU_ASSERT_EQUAL(ctrl.hash.alg, TOEPLITZ);
	CU_ASSERT_EQUAL(ctrl.hash.flags, 0xa);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0x1f, 0, 0, NULL), INVAL);
	CU_ASSERT_EQUAL(ctrl.hash.flags, 0xa);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 9, 0, 0, NULL), INVAL);
	CU_ASSERT_EQUAL(ctrl.hash.alg, TOEPLITZ);
	teardown();
}

/* ---- the ring itself ------------------------------------------------------------------ */

static void test_ctrl_ring_budget_and_order(void)
{
	unsigned n = 100;
	int more;

	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	CU_ASSERT_FATAL(RING_SIZE(&front) >= n);
	for (unsigned i = 0; i < n; i++)
		push((uint16_t)i, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	CU_ASSERT_EQUAL(xnb_ctrl_run(&ctrl), XNB_MORE);
	CU_ASSERT_EQUAL(front.sring->rsp_prod, XNB_CTRL_BUDGET);
	CU_ASSERT_EQUAL(xnb_ctrl_run(&ctrl), XNB_IDLE);
	CU_ASSERT_EQUAL(front.sring->rsp_prod, n);
	for (unsigned i = 0; i < n; i++) {
		struct xen_netif_ctrl_response r = pop();

		CU_ASSERT_EQUAL(r.id, i);
		CU_ASSERT_EQUAL(r.status, OK);
		CU_ASSERT_EQUAL(r.data, XNB_HASH_MAPPING_SIZE);
	}
	/* Idle: the backend asked to be kicked at the next request. */
	CU_ASSERT_EQUAL(front.sring->req_event, n + 1);
	/* The frontend waits for responses: one push, one notify. */
	RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
	CU_ASSERT_FALSE(more);
	notifies = 0;
	push(1, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0);
	CU_ASSERT_EQUAL(xnb_ctrl_run(&ctrl), XNB_IDLE);
	CU_ASSERT_EQUAL(notifies, 1);
	teardown();
}

static void test_ctrl_ring_producer_too_far(void)
{
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	front.sring->req_prod = RING_SIZE(&front) + 1;
	CU_ASSERT_EQUAL(xnb_ctrl_run(&ctrl), XNB_BROKEN);
	CU_ASSERT(strstr(ctrl.reason, "more than a ring ahead") != NULL);
	CU_ASSERT_EQUAL(front.sring->rsp_prod, 0);
	CU_ASSERT_EQUAL(xnb_ctrl_run(&ctrl), XNB_BROKEN);
	teardown();
}

/* ---- static grants ----------------------------------------------------------------------- */

static void put_list(const uint32_t *refs, unsigned n, uint16_t flags)
{
	struct xen_netif_gref *l = (struct xen_netif_gref *)pages[LIST_REF];

	for (unsigned i = 0; i < n; i++)
		l[i] = (struct xen_netif_gref){ .ref = refs[i], .flags = flags, .status = 0x77 };
}

static uint16_t list_status(unsigned i)
{
	return ((const struct xen_netif_gref *)pages[LIST_REF])[i].status;
}

static void test_ctrl_gref_add_del(void)
{
	const uint32_t add[3] = { 12, 10, 11 }, dup[2] = { 13, 12 }, bad[2] = { 14, BAD_REF };
	const uint32_t del[3] = { 11, 40, 11 };
	uint32_t data = 0;

	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	put_list(add, 3, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 1, LIST_REF, 3, NULL), OK);
	CU_ASSERT_EQUAL(ctrl.grefs[1].n, 3);
	CU_ASSERT_EQUAL(ctrl.grefs[0].n, 0);
	CU_ASSERT_EQUAL(ctrl.grefs[1].e[0].ref, 10);	/* kept sorted */
	CU_ASSERT_EQUAL(ctrl.grefs[1].e[2].ref, 12);
	CU_ASSERT_EQUAL(maps, 3);
	CU_ASSERT_PTR_EQUAL(xnb_gref_lookup(&ctrl.grefs[1], 11, true), pages[11]);
	CU_ASSERT_PTR_NULL(xnb_gref_lookup(&ctrl.grefs[0], 11, false));

	/* One already there: nothing added, what was mapped undone. */
	put_list(dup, 2, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 1, LIST_REF, 2, NULL), INVAL);
	CU_ASSERT_EQUAL(ctrl.grefs[1].n, 3);
	CU_ASSERT_EQUAL(maps - unmaps, 3);
	/* One the frontend never granted: same. */
	put_list(bad, 2, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 1, LIST_REF, 2, NULL), INVAL);
	CU_ASSERT_EQUAL(ctrl.grefs[1].n, 3);
	CU_ASSERT_EQUAL(maps - unmaps, 3);
	/* Unknown flag bits. */
	put_list(bad, 1, 0x2);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 1, LIST_REF, 1, NULL), INVAL);
	/* Read-only: never written through. */
	put_list(bad, 1, XEN_NETIF_CTRLF_GREF_readonly);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, LIST_REF, 1, NULL), OK);
	CU_ASSERT_PTR_EQUAL(xnb_gref_lookup(&ctrl.grefs[0], 14, false), pages[14]);
	CU_ASSERT_PTR_NULL(xnb_gref_lookup(&ctrl.grefs[0], 14, true));

	/* Delete: one known (named twice), one never added. */
	put_list(del, 3, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 1, LIST_REF, 3, &data), OK);
	CU_ASSERT_EQUAL(data, 1);
	CU_ASSERT_EQUAL(list_status(0), OK);
	CU_ASSERT_EQUAL(list_status(1), INVAL);
	CU_ASSERT_EQUAL(ctrl.grefs[1].n, 2);
	CU_ASSERT_PTR_NULL(xnb_gref_lookup(&ctrl.grefs[1], 11, false));
	CU_ASSERT_EQUAL(maps - unmaps, 3);
	/* Disconnect releases every mapping. */
	teardown();
	CU_ASSERT_EQUAL(maps, unmaps);
}

/* Refs that fall on the same index slot are all found, also after the
 * first of them is deleted. */
static void test_ctrl_gref_index_collisions(void)
{
	const uint32_t s = XNB_GREF_INDEX_SIZE;
	const uint32_t add[4] = { 30, 30 + s, 31, 30 + 2 * s }, del1[1] = { 30 + s },
		       del2[1] = { 30 };
	uint32_t data = 0;

	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	put_list(add, 4, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, LIST_REF, 4, NULL), OK);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_PTR_EQUAL(xnb_gref_lookup(&ctrl.grefs[0], add[i], true), pages[add[i] % s]);
	CU_ASSERT_PTR_NULL(xnb_gref_lookup(&ctrl.grefs[0], 30 + 3 * s, false));
	put_list(del1, 1, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 0, LIST_REF, 1, &data), OK);
	CU_ASSERT_EQUAL(data, 1);
	CU_ASSERT_PTR_NULL(xnb_gref_lookup(&ctrl.grefs[0], 30 + s, false));
	CU_ASSERT_PTR_NOT_NULL(xnb_gref_lookup(&ctrl.grefs[0], 30 + 2 * s, false));
	put_list(del2, 1, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 0, LIST_REF, 1, &data), OK);
	CU_ASSERT_PTR_NULL(xnb_gref_lookup(&ctrl.grefs[0], 30, false));
	CU_ASSERT_PTR_NOT_NULL(xnb_gref_lookup(&ctrl.grefs[0], 30 + 2 * s, false));
	CU_ASSERT_PTR_NOT_NULL(xnb_gref_lookup(&ctrl.grefs[0], 31, false));
	teardown();
}

/* A gref an unanswered RX or TX request names stays mapped. */
static void test_ctrl_gref_del_in_use(void)
{
	static uint8_t txp[XNB_PAGE_SIZE], rxp[XNB_PAGE_SIZE];
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	struct xnb_queue *q = calloc(1, sizeof(*q));
	const uint32_t refs[3] = { 20, 21, 22 };
	struct xnb_io io = { 0 };
	struct xnb_stats st;
	struct xnb_feat f = { 0 };
	uint32_t data = 0;

	CU_ASSERT_FATAL(q != NULL);
	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	SHARED_RING_INIT((netif_tx_sring_t *)txp);
	SHARED_RING_INIT((netif_rx_sring_t *)rxp);
	FRONT_RING_INIT(&tx, (netif_tx_sring_t *)txp, XNB_PAGE_SIZE);
	FRONT_RING_INIT(&rx, (netif_rx_sring_t *)rxp, XNB_PAGE_SIZE);
	CU_ASSERT_EQUAL_FATAL(xnb_queue_init(q, 0, DOMID, txp, rxp, &f, &io, &st), 0);
	ctrl.queues[0] = q;
	put_list(refs, 3, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, LIST_REF, 3, NULL), OK);
	/* An RX buffer on 20; a TX packet whose extra slot would read as gref
	 * 22 (it must not count), data on 21. */
	*RING_GET_REQUEST(&rx, rx.req_prod_pvt++) = (netif_rx_request_t){ .id = 1, .gref = 20 };
	RING_PUSH_REQUESTS(&rx);
	*RING_GET_REQUEST(&tx, tx.req_prod_pvt++) =
		(netif_tx_request_t){ .gref = 21, .flags = NETTXF_extra_info, .size = 60 };
	*RING_GET_REQUEST(&tx, tx.req_prod_pvt++) = (netif_tx_request_t){ .gref = 22 };
	RING_PUSH_REQUESTS(&tx);
	CU_ASSERT_TRUE(xnb_ctrl_gref_busy(&ctrl, 0, 20));
	CU_ASSERT_TRUE(xnb_ctrl_gref_busy(&ctrl, 0, 21));
	CU_ASSERT_FALSE(xnb_ctrl_gref_busy(&ctrl, 0, 22));
	CU_ASSERT_FALSE(xnb_ctrl_gref_busy(&ctrl, 1, 20));
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 0, LIST_REF, 3, &data), OK);
	CU_ASSERT_EQUAL(data, 1);
	CU_ASSERT_EQUAL(list_status(0), INVAL);
	CU_ASSERT_EQUAL(list_status(1), INVAL);
	CU_ASSERT_EQUAL(list_status(2), OK);
	CU_ASSERT_EQUAL(ctrl.grefs[0].n, 2);
	/* Answered (consumed): now it goes. */
	q->rx.req_cons = rx.req_prod_pvt;
	q->tx.req_cons = tx.req_prod_pvt;
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 0, LIST_REF, 2, &data), OK);
	CU_ASSERT_EQUAL(data, 2);
	CU_ASSERT_EQUAL(ctrl.grefs[0].n, 0);
	teardown();
	xnb_queue_fini(q);
	free(q);
}

/* The data path: mapped grefs by memcpy, the rest left for a grant copy. */
static void test_gref_copy_local(void)
{
	const uint32_t refs[2] = { 30, 31 };
	xengnttab_grant_copy_segment_t segs[4];
	uint8_t buf[4][64];
	unsigned rest[4], n;

	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	put_list(refs, 1, 0);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, LIST_REF, 1, NULL), OK);
	put_list(refs + 1, 1, XEN_NETIF_CTRLF_GREF_readonly);
	CU_ASSERT_EQUAL(call(XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, LIST_REF, 1, NULL), OK);
	memset(pages[30] + 100, 0xab, 64);
	memset(pages[31], 0xcd, 64);
	memset(buf, 0x11, sizeof(buf));
	memset(segs, 0, sizeof(segs));
	/* 0: from mapped 30 → local; 1: to mapped 30; 2: to read-only 31
	 * (not ours to write); 3: from 32 (not in the table). */
	segs[0] = (xengnttab_grant_copy_segment_t){ .flags = GNTCOPY_source_gref, .len = 64,
		.source.foreign = { .ref = 30, .offset = 100, .domid = DOMID },
		.dest.virt = buf[0] };
	segs[1] = (xengnttab_grant_copy_segment_t){ .flags = GNTCOPY_dest_gref, .len = 64,
		.dest.foreign = { .ref = 30, .offset = 0, .domid = DOMID },
		.source.virt = buf[1] };
	segs[2] = (xengnttab_grant_copy_segment_t){ .flags = GNTCOPY_dest_gref, .len = 64,
		.dest.foreign = { .ref = 31, .domid = DOMID }, .source.virt = buf[2] };
	segs[3] = (xengnttab_grant_copy_segment_t){ .flags = GNTCOPY_source_gref, .len = 64,
		.source.foreign = { .ref = 32, .domid = DOMID }, .dest.virt = buf[3] };
	for (int i = 0; i < 4; i++)
		segs[i].status = 0x55;
	n = xnb_gref_copy_local(&ctrl.grefs[0], DOMID, 4, segs, rest);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(rest[0], 2);
	CU_ASSERT_EQUAL(rest[1], 3);
	CU_ASSERT_EQUAL(segs[0].status, GNTST_okay);
	CU_ASSERT_EQUAL(segs[1].status, GNTST_okay);
	CU_ASSERT_EQUAL(segs[2].status, 0x55);
	CU_ASSERT_EQUAL(buf[0][0], 0xab);
	CU_ASSERT_EQUAL(buf[0][63], 0xab);
	CU_ASSERT_EQUAL(pages[30][0], 0x11);
	CU_ASSERT_EQUAL(pages[31][0], 0xcd);
	/* Another domain's gref of the same number, or past the page: not local. */
	segs[0].source.foreign.domid = DOMID + 1;
	segs[1].dest.foreign.offset = 4090;
	CU_ASSERT_EQUAL(xnb_gref_copy_local(&ctrl.grefs[0], DOMID, 2, segs, rest), 2);
	teardown();
}

/* ---- the hash extra on RX ------------------------------------------------------------ */

/* GSO and hash extras follow the first response, chained by FLAG_MORE;
 * data slots skip their requests. */
static void test_rx_hash_extra_slots(void)
{
	struct xnb_rx_pkt pkt;
	netif_rx_request_t reqs[5];
	netif_rx_response_t rsp[5];
	xengnttab_grant_copy_segment_t segs[2];
	struct netif_extra_info ex;
	static uint8_t data[5000];
	unsigned n;

	memset(&pkt, 0, sizeof(pkt));
	pkt.data = data;
	pkt.size = sizeof(data);
	pkt.nslots = 2;
	pkt.has_gso = true;
	pkt.gso.type = XEN_NETIF_EXTRA_TYPE_GSO;
	pkt.gso.u.gso.size = 1448;
	pkt.gso.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	pkt.has_hash = true;
	pkt.hash = xnb_hash_extra(0x51ccc178, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	pkt.flags = NETRXF_extra_info;
	for (uint16_t i = 0; i < 5; i++)
		reqs[i] = (netif_rx_request_t){ .id = (uint16_t)(10 + i), .gref = 40u + i };
	CU_ASSERT_EQUAL(xnb_rx_packet_slots(&pkt), 4);
	CU_ASSERT_EQUAL(xnb_rx_packet_to_grant_ops(&pkt, DOMID, reqs, segs), 2);
	CU_ASSERT_EQUAL(segs[0].dest.foreign.ref, 40);
	CU_ASSERT_EQUAL(segs[1].dest.foreign.ref, 43);	/* after both extras */
	n = xnb_rx_packet_to_responses(&pkt, reqs, true, rsp);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(rsp[0].id, 10);
	CU_ASSERT_EQUAL(rsp[0].flags, NETRXF_extra_info | NETRXF_more_data);
	memcpy(&ex, &rsp[1], sizeof(ex));
	CU_ASSERT_EQUAL(ex.type, XEN_NETIF_EXTRA_TYPE_GSO);
	CU_ASSERT_EQUAL(ex.flags, XEN_NETIF_EXTRA_FLAG_MORE);
	memcpy(&ex, &rsp[2], sizeof(ex));
	CU_ASSERT_EQUAL(ex.type, XEN_NETIF_EXTRA_TYPE_HASH);
	CU_ASSERT_EQUAL(ex.flags, 0);
	CU_ASSERT_EQUAL(ex.u.hash.type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	CU_ASSERT_EQUAL(ex.u.hash.value[0], 0x78);
	CU_ASSERT_EQUAL(rsp[3].id, 13);
	CU_ASSERT_EQUAL(rsp[3].status, 5000 - 4096);

	/* Hash alone: right after the first slot, no MORE. */
	pkt.has_gso = false;
	n = xnb_rx_packet_to_responses(&pkt, reqs, true, rsp);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	memcpy(&ex, &rsp[1], sizeof(ex));
	CU_ASSERT(ex.type == XEN_NETIF_EXTRA_TYPE_HASH && ex.flags == 0);
	CU_ASSERT_EQUAL(rsp[2].id, 12);
}

/* A frame from the TAP starts with no hash; only the hook adds one. */
static void test_rx_frame_starts_without_hash(void)
{
	static uint8_t buf[sizeof(struct virtio_net_hdr) + 60];
	struct xnb_feat f = { .sg = true, .ip_csum = true };
	struct xnb_rx_pkt pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.has_hash = true;
	CU_ASSERT_EQUAL(xnb_rx_frame_to_packet(buf, sizeof(buf), &f, &pkt), 0);
	CU_ASSERT_FALSE(pkt.has_hash);
	CU_ASSERT_EQUAL(xnb_rx_packet_slots(&pkt), 1);
}

int main(void)
{
	int rc;
	static const struct cunit_case tests[] = {
		{ "ctrl_handle_table", test_ctrl_handle_table },
		{ "ctrl_key_live_whole", test_ctrl_key_live_whole },
		{ "ctrl_mapping_bad_queue_changes_nothing", test_ctrl_mapping_bad_queue_changes_nothing },
		{ "ctrl_flags_and_alg", test_ctrl_flags_and_alg },
		{ "ctrl_ring_budget_and_order", test_ctrl_ring_budget_and_order },
		{ "ctrl_ring_producer_too_far", test_ctrl_ring_producer_too_far },
		{ "ctrl_gref_add_del", test_ctrl_gref_add_del },
		{ "ctrl_gref_index_collisions", test_ctrl_gref_index_collisions },
		{ "ctrl_gref_del_in_use", test_ctrl_gref_del_in_use },
		{ "gref_copy_local", test_gref_copy_local },
		{ "rx_hash_extra_slots", test_rx_hash_extra_slots },
		{ "rx_frame_starts_without_hash", test_rx_frame_starts_without_hash },
	};

	pages = aligned_alloc(XNB_PAGE_SIZE, NPAGES * XNB_PAGE_SIZE);
	ring_page = aligned_alloc(XNB_PAGE_SIZE, XNB_PAGE_SIZE);
	if (!pages || !ring_page)
		return 2;
	rc = CUNIT_RUN("netback_ctrl", NULL, NULL, tests);
	free(pages);
	free(ring_page);
	return rc;
}
