/*
 * test_platform_simgnt.c — the pin protocol of the simulated grant table
 * (common/platform_simgnt.c) on a table in private memory: Xen's status
 * codes, GTF_reading/GTF_writing following the pins, the copy journal and
 * the daemon's recovery after a client died at each point of a copy.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "xnx_simproto.h"
#include "cunit_run.h"

#define ME 5
#define OTHER 6
#define PAGES 16
#define SPINS 64

static void *base;
static struct xnx_simgt gt;

static int setup(void)
{
	base = aligned_alloc(XNX_SIM_PAGE_SIZE, XNX_SIMGT_SIZE);
	if (!base)
		return -1;
	memset(base, 0, XNX_SIMGT_SIZE);
	*(struct xnx_simgt_hdr *)base = (struct xnx_simgt_hdr){
		.magic = XNX_SIMGT_MAGIC, .domid = 9, .nr_refs = XNX_SIM_MAX_REFS,
		.nr_pages = PAGES };
	return xnx_simgt_init(&gt, base, NULL);
}

static int teardown(void)
{
	free(base);
	return 0;
}

static void grant(uint32_t ref, uint16_t domid, uint16_t flags, uint32_t frame)
{
	gt.entries[ref] = (grant_entry_v1_t){ .flags = flags, .domid = domid, .frame = frame };
	gt.pins[ref] = 0;
}

static uint16_t flags(uint32_t ref) { return gt.entries[ref].flags; }

static void test_init_rejects_bad_header(void)
{
	struct xnx_simgt t;
	uint8_t *copy = aligned_alloc(XNX_SIM_PAGE_SIZE, XNX_SIM_PAGE_SIZE);
	struct xnx_simgt_hdr *h = (struct xnx_simgt_hdr *)copy;

	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, base, XNX_SIM_PAGE_SIZE);
	h->magic = 0;
	CU_ASSERT(xnx_simgt_init(&t, copy, NULL) < 0);
	h->magic = XNX_SIMGT_MAGIC;
	h->nr_refs = XNX_SIM_MAX_REFS + 1;
	CU_ASSERT(xnx_simgt_init(&t, copy, NULL) < 0);
	free(copy);
}

/* Table of single acquisitions: entry, request, expected status. */
static void test_acquire_status_codes(void)
{
	static const struct {
		const char *name;
		uint16_t domid, flags;
		uint32_t frame, ref;
		bool readonly;
		int st;
	} cases[] = {
		{ "ok_read", ME, GTF_permit_access, 1, 10, true, GNTST_okay },
		{ "ok_write", ME, GTF_permit_access, 1, 10, false, GNTST_okay },
		{ "read_readonly", ME, GTF_permit_access | GTF_readonly, 1, 10, true, GNTST_okay },
		{ "write_readonly", ME, GTF_permit_access | GTF_readonly, 1, 10, false,
		  GNTST_general_error },
		{ "other_domain", OTHER, GTF_permit_access, 1, 10, true, GNTST_general_error },
		{ "invalid_entry", ME, GTF_invalid, 1, 10, true, GNTST_general_error },
		{ "transitive", ME, GTF_transitive, 1, 10, true, GNTST_general_error },
		{ "accept_transfer", ME, GTF_accept_transfer, 1, 10, true, GNTST_general_error },
		{ "sub_page", ME, GTF_permit_access | GTF_sub_page, 1, 10, true,
		  GNTST_general_error },
		{ "ref_past_table", ME, GTF_permit_access, 1, XNX_SIM_MAX_REFS, true,
		  GNTST_bad_gntref },
		{ "frame_past_arena", ME, GTF_permit_access, PAGES, 10, true, GNTST_bad_page },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t frame = 99, ref = cases[i].ref;
		int st;

		if (ref < XNX_SIM_MAX_REFS)
			grant(ref, cases[i].domid, cases[i].flags, cases[i].frame);
		st = xnx_simgt_acquire(&gt, ref, ME, cases[i].readonly, SPINS, &frame, NULL);
		CU_ASSERT_EQUAL(st, cases[i].st);
		if (st != cases[i].st)
			fprintf(stderr, "case %s: %d\n", cases[i].name, st);
		if (st == GNTST_okay) {
			CU_ASSERT(frame == cases[i].frame);
			xnx_simgt_release(&gt, ref, cases[i].readonly, SPINS, NULL);
		}
		if (ref < XNX_SIM_MAX_REFS) {
			/* whatever happened, nothing is left pinned or flagged */
			CU_ASSERT(gt.pins[ref] == 0);
			CU_ASSERT((flags(ref) & (GTF_reading | GTF_writing)) == 0);
		}
	}
}

static void test_acquire_dead_domain(void)
{
	uint32_t frame;

	grant(11, ME, GTF_permit_access, 2);
	gt.hdr->dead = 1;
	CU_ASSERT(xnx_simgt_acquire(&gt, 11, ME, true, SPINS, &frame, NULL) == GNTST_bad_domain);
	gt.hdr->dead = 0;
}

static void test_flags_follow_pins(void)
{
	uint32_t f;

	grant(12, ME, GTF_permit_access, 3);
	CU_ASSERT(xnx_simgt_acquire(&gt, 12, ME, true, SPINS, &f, NULL) == GNTST_okay);
	CU_ASSERT((flags(12) & (GTF_reading | GTF_writing)) == GTF_reading);
	CU_ASSERT(xnx_simgt_acquire(&gt, 12, ME, false, SPINS, &f, NULL) == GNTST_okay);
	CU_ASSERT((flags(12) & (GTF_reading | GTF_writing)) == (GTF_reading | GTF_writing));
	CU_ASSERT(xnx_simgt_acquire(&gt, 12, ME, true, SPINS, &f, NULL) == GNTST_okay);
	/* Pinned: only the grantee, and the entry cannot be changed under us. */
	CU_ASSERT(xnx_simgt_acquire(&gt, 12, OTHER, true, SPINS, &f, NULL) == GNTST_general_error);
	xnx_simgt_release(&gt, 12, false, SPINS, NULL);
	CU_ASSERT((flags(12) & (GTF_reading | GTF_writing)) == GTF_reading);
	xnx_simgt_release(&gt, 12, true, SPINS, NULL);
	CU_ASSERT((flags(12) & GTF_reading) == GTF_reading);
	xnx_simgt_release(&gt, 12, true, SPINS, NULL);
	CU_ASSERT((flags(12) & (GTF_reading | GTF_writing)) == 0);
	CU_ASSERT(gt.pins[12] == 0);
	/* a release without a pin changes nothing */
	xnx_simgt_release(&gt, 12, true, SPINS, NULL);
	CU_ASSERT(gt.pins[12] == 0 && flags(12) == GTF_permit_access);
}

static void test_pin_counter_overflow(void)
{
	uint32_t f;

	grant(13, ME, GTF_permit_access, 3);
	gt.pins[13] = XNX_SIMGT_PIN_RD_MASK;
	gt.entries[13].flags |= GTF_reading;
	CU_ASSERT(xnx_simgt_acquire(&gt, 13, ME, true, SPINS, &f, NULL) == GNTST_general_error);
	CU_ASSERT(gt.pins[13] == XNX_SIMGT_PIN_RD_MASK);
	gt.pins[13] = 0;
}

static void test_lock_held_elsewhere(void)
{
	uint32_t f;

	grant(14, ME, GTF_permit_access, 3);
	gt.pins[14] = XNX_SIMGT_PIN_LOCK;
	CU_ASSERT(xnx_simgt_acquire(&gt, 14, ME, true, SPINS, &f, NULL) == GNTST_general_error);
	CU_ASSERT(gt.pins[14] == XNX_SIMGT_PIN_LOCK);
	gt.pins[14] = 0;
}

static void test_journal_tracks_pins(void)
{
	struct xnx_simj_side j = { 0 };
	uint32_t f;

	grant(15, ME, GTF_permit_access, 4);
	CU_ASSERT(xnx_simgt_acquire(&gt, 15, ME, false, SPINS, &f, &j) == GNTST_okay);
	CU_ASSERT(j.active == 0 && j.intent == 1 && j.committed == 1 && j.ref == 15 &&
		  j.domid == 9 && j.readonly == 0);
	xnx_simgt_release(&gt, 15, false, SPINS, &j);
	CU_ASSERT(j.active == 0 && j.intent == 0 && j.committed == 0);
	/* a refused acquisition records no pin */
	grant(16, OTHER, GTF_permit_access, 4);
	CU_ASSERT(xnx_simgt_acquire(&gt, 16, ME, true, SPINS, &f, &j) == GNTST_general_error);
	CU_ASSERT(j.active == 0 && j.intent == 0 && j.committed == 0);
}

/* The daemon's view after a client died at each point of acquire/release:
 * journal state and entry lock → whether a pin is given back. */
static void test_recover_after_death(void)
{
	static const struct {
		const char *name;
		uint32_t active, intent, committed;
		bool pinned, locked;		/* the entry as the client left it */
		uint32_t pins_after;
	} cases[] = {
		{ "idle", 0, 0, 0, false, false, 0 },
		{ "holding", 0, 1, 1, true, false, 0 },
		{ "before_lock_in_acquire", 1, 0, 0, false, false, 0 },
		{ "inside_acquire", 1, 1, 0, false, true, 0 },
		{ "after_commit_of_acquire", 1, 1, 0, true, false, 0 },
		{ "before_lock_in_release", 1, 1, 1, true, false, 0 },
		{ "inside_release", 1, 0, 1, true, true, 0 },
		{ "after_commit_of_release", 1, 0, 1, false, false, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xnx_simj_side j = { .active = cases[i].active, .intent = cases[i].intent,
					   .committed = cases[i].committed, .ref = 20,
					   .domid = 9, .readonly = 1 };

		grant(20, ME, GTF_permit_access, 5);
		if (cases[i].pinned) {
			gt.pins[20] = XNX_SIMGT_PIN_RD;
			gt.entries[20].flags |= GTF_reading;
		}
		if (cases[i].locked) {
			gt.pins[20] |= XNX_SIMGT_PIN_LOCK;
			gt.entries[20].flags |= GTF_reading;	/* set before it died */
		}
		xnx_simgt_recover(&gt, &j);
		CU_ASSERT_EQUAL(gt.pins[20], cases[i].pins_after);
		CU_ASSERT((flags(20) & (GTF_reading | GTF_writing)) == 0);
		if (gt.pins[20] != cases[i].pins_after)
			fprintf(stderr, "case %s: pins %#x\n", cases[i].name, gt.pins[20]);
	}
	/* another holder's pin survives the dead client's recovery */
	struct xnx_simj_side j = { .committed = 1, .intent = 1, .ref = 21, .domid = 9,
				   .readonly = 1 };
	grant(21, ME, GTF_permit_access | GTF_reading, 5);
	gt.pins[21] = 2 * XNX_SIMGT_PIN_RD;
	xnx_simgt_recover(&gt, &j);
	CU_ASSERT(gt.pins[21] == XNX_SIMGT_PIN_RD && (flags(21) & GTF_reading));
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "init_rejects_bad_header", test_init_rejects_bad_header },
		{ "acquire_status_codes", test_acquire_status_codes },
		{ "acquire_dead_domain", test_acquire_dead_domain },
		{ "flags_follow_pins", test_flags_follow_pins },
		{ "pin_counter_overflow", test_pin_counter_overflow },
		{ "lock_held_elsewhere", test_lock_held_elsewhere },
		{ "journal_tracks_pins", test_journal_tracks_pins },
		{ "recover_after_death", test_recover_after_death },
	};

	return CUNIT_RUN("platform_simgnt", setup, teardown, tests);
}
