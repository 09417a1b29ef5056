/*
 * test_netfront_failover.c — the path choice of netfront/failover.c: which
 * links may pair with a TAP, which can carry traffic, which one is chosen
 * (the current one kept, the lowest id otherwise, a refused one never),
 * and how a change of path is named. Pure functions on link lists built
 * here; the kernel side is covered by tests/integration/front_failover.sh.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include <linux/if.h>

#include "cunit_run.h"
#include "netfront/failover.h"

#define TAP_ID 5
#define UP (IFF_UP | IFF_LOWER_UP)

static const uint8_t MAC[6] = { 0x00, 0x16, 0x3e, 0x5a, 0x0f, 0x01 };
static const uint8_t OTHER[6] = { 0x00, 0x16, 0x3e, 0x5a, 0x0f, 0x02 };

/* A link: id, name, kind, master, MAC, flags, operstate. */
static struct xnx_link_info link(unsigned id, const char *name, const char *kind,
				 unsigned master, const uint8_t *mac, unsigned flags,
				 uint8_t oper)
{
	struct xnx_link_info l;

	memset(&l, 0, sizeof(l));
	l.id = id;
	snprintf(l.name, sizeof(l.name), "%s", name);
	snprintf(l.kind, sizeof(l.kind), "%s", kind);
	l.master = master;
	if (mac) {
		memcpy(l.addr, mac, 6);
		l.addr_len = 6;
	}
	l.flags = flags;
	l.operstate = oper;
	return l;
}

static struct xnf_fo_match match(const char *name)
{
	struct xnf_fo_match m = { .tap_id = TAP_ID, .name = name };

	memcpy(m.mac, MAC, 6);
	return m;
}

static void candidate_table(void)
{
	static const struct {
		const char *what;
		unsigned id, master, flags;
		const char *name, *kind, *want;
		const uint8_t *mac;
		bool ok;
	} cases[] = {
		{ "a veth with the MAC", 7, 0, UP, "vf0", "veth", NULL, MAC, true },
		{ "a physical link (no kind)", 7, 0, 0, "vf0", "", NULL, MAC, true },
		{ "another MAC", 7, 0, UP, "vf0", "veth", NULL, OTHER, false },
		{ "no MAC at all", 7, 0, UP, "vf0", "", NULL, NULL, false },
		{ "the TAP itself", TAP_ID, 0, UP, "eth0", "tun", NULL, MAC, false },
		{ "another TAP", 7, 0, UP, "eth1", "tun", NULL, MAC, false },
		{ "a bridge port", 7, 3, UP, "vf0", "veth", NULL, MAC, false },
		{ "loopback", 1, 0, UP | IFF_LOOPBACK, "lo", "", NULL, MAC, false },
		{ "the named link", 7, 0, UP, "vf0", "veth", "vf0", MAC, true },
		{ "not the named link", 7, 0, UP, "vf1", "veth", "vf0", MAC, false },
		{ "named, wrong MAC", 7, 0, UP, "vf0", "veth", "vf0", OTHER, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xnx_link_info l = link(cases[i].id, cases[i].name, cases[i].kind,
					      cases[i].master, cases[i].mac,
					      cases[i].flags, IF_OPER_UP);
		struct xnf_fo_match m = match(cases[i].want);

		if (xnf_fo_candidate(&l, &m) != cases[i].ok)
			CU_FAIL(cases[i].what);
	}
}

static void usable_table(void)
{
	static const struct {
		unsigned flags;
		uint8_t oper;
		bool ok;
	} cases[] = {
		{ UP, IF_OPER_UP, true },
		{ UP, IF_OPER_UNKNOWN, true },	/* drivers that never say */
		{ IFF_UP, IF_OPER_LOWERLAYERDOWN, false },	/* no carrier */
		{ UP, IF_OPER_DOWN, false },
		{ IFF_LOWER_UP, IF_OPER_DOWN, false },	/* administratively down */
		{ 0, IF_OPER_DOWN, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xnx_link_info l = link(7, "vf0", "veth", 0, MAC, cases[i].flags,
					      cases[i].oper);

		CU_ASSERT_EQUAL(xnf_fo_usable(&l), cases[i].ok);
	}
}

/* The links of a guest: lo, the TAP, and two candidates 7 and 9 whose
 * state each case sets. */
static unsigned choose(unsigned f7, unsigned f9, unsigned current, unsigned refused)
{
	struct xnx_link_info links[] = {
		link(1, "lo", "", 0, NULL, UP | IFF_LOOPBACK, IF_OPER_UNKNOWN),
		link(TAP_ID, "eth0", "tun", 0, MAC, UP, IF_OPER_UP),
		link(9, "vf9", "veth", 0, MAC, f9, f9 == UP ? IF_OPER_UP : IF_OPER_DOWN),
		link(7, "vf7", "veth", 0, MAC, f7, f7 == UP ? IF_OPER_UP : IF_OPER_DOWN),
	};
	struct xnf_fo_match m = match(NULL);

	return xnf_fo_choose(links, 4, &m, current, refused);
}

static void choose_table(void)
{
	static const struct {
		const char *what;
		unsigned f7, f9, current, refused, want;
	} cases[] = {
		{ "none usable: PV", 0, 0, 0, 0, 0 },
		{ "one usable", 0, UP, 0, 0, 9 },
		{ "both: the lowest id", UP, UP, 0, 0, 7 },
		{ "both: the current one stays", UP, UP, 9, 0, 9 },
		{ "current lost carrier: the other", UP, IFF_UP, 9, 0, 7 },
		{ "current down, no other: PV", 0, IFF_LOWER_UP, 9, 0, 0 },
		{ "current gone: the other", UP, 0, 11, 0, 7 },
		{ "refused: the other", UP, UP, 0, 7, 9 },
		{ "only the refused one: PV", UP, 0, 0, 7, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (choose(cases[i].f7, cases[i].f9, cases[i].current,
			   cases[i].refused) != cases[i].want)
			CU_FAIL(cases[i].what);
}

static void choose_empty(void)
{
	struct xnf_fo_match m = match(NULL);

	CU_ASSERT_EQUAL(xnf_fo_choose(NULL, 0, &m, 7, 0), 0);
}

static void move_table(void)
{
	CU_ASSERT_EQUAL(xnf_fo_move(0, 0), XNF_FO_STAY);
	CU_ASSERT_EQUAL(xnf_fo_move(7, 7), XNF_FO_STAY);
	CU_ASSERT_EQUAL(xnf_fo_move(0, 7), XNF_FO_FAILBACK);
	CU_ASSERT_EQUAL(xnf_fo_move(7, 0), XNF_FO_FAILOVER);
	CU_ASSERT_EQUAL(xnf_fo_move(7, 9), XNF_FO_SWITCH);
}

static void open_spec(void)
{
	struct xnf_failover *fo;

	CU_ASSERT_PTR_NULL(xnf_fo_open("bad/name"));
	CU_ASSERT_PTR_NULL(xnf_fo_open(""));
	CU_ASSERT_PTR_NULL(xnf_fo_open("sixteen-chars-xx"));
	CU_ASSERT_PTR_NULL(xnf_fo_open(NULL));
	/* Opening a subscription needs no privilege. */
	fo = xnf_fo_open("auto");
	CU_ASSERT_PTR_NOT_NULL(fo);
	if (fo)
		CU_ASSERT(xnf_fo_fd(fo) >= 0);
	xnf_fo_close(fo);
	fo = xnf_fo_open("vf0");
	CU_ASSERT_PTR_NOT_NULL(fo);
	xnf_fo_close(fo);
}

int main(void)
{
	static const struct cunit_case cases[] = {
		{ "candidate_table", candidate_table },
		{ "usable_table", usable_table },
		{ "choose_table", choose_table },
		{ "choose_empty", choose_empty },
		{ "move_table", move_table },
		{ "open_spec", open_spec },
	};

	return CUNIT_RUN("netfront_failover", NULL, NULL, cases);
}
