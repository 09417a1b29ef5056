/* test_state.c — the XenbusState transition table, the path walker and the
 * strict number parser used for every xenstore value. */
#include <CUnit/Basic.h>
#include "cunit_run.h"
#include <errno.h>
#include <stdlib.h>

#include "xnx_state.h"
#include "xnx_xs.h"

#define N_STATES (XenbusStateReconfigured + 1)

/* Every (from, to) pair: the expected verdict, written out as a table so a
 * change to the handshake shows up here. 1 = legal step. */
static const int expected[N_STATES][N_STATES] = {
	/*            Unk Ini IW  Id  Con Cls Cld Rcf Rcd */
	/* Unk */   { 0,  1,  0,  0,  0,  0,  0,  0,  0 },
	/* Ini */   { 0,  0,  1,  1,  1,  1,  0,  0,  0 },
	/* IW  */   { 0,  0,  0,  1,  1,  1,  0,  0,  0 },
	/* Id  */   { 0,  0,  0,  0,  1,  1,  0,  0,  0 },
	/* Con */   { 0,  0,  0,  0,  0,  1,  0,  1,  0 },
	/* Cls */   { 0,  0,  0,  0,  0,  0,  1,  0,  0 },
	/* Cld */   { 0,  1,  1,  0,  0,  0,  0,  0,  0 },
	/* Rcf */   { 0,  0,  0,  0,  0,  1,  0,  0,  1 },
	/* Rcd */   { 0,  0,  0,  0,  1,  1,  0,  0,  0 },
};

static void state_step_ok_every_pair(void)
{
	for (int f = 0; f < N_STATES; f++)
		for (int t = 0; t < N_STATES; t++)
			CU_ASSERT_EQUAL(xnx_state_step_ok(f, t), expected[f][t]);
	CU_ASSERT_FALSE(xnx_state_step_ok(N_STATES, XenbusStateClosed));
	CU_ASSERT_FALSE(xnx_state_step_ok(XenbusStateClosed, N_STATES));
}

/* Every path the walker returns is made of legal steps and ends at the
 * target; unreachable targets are reported. */
static void state_path_every_pair_is_legal(void)
{
	enum xenbus_state path[N_STATES];

	for (int f = 0; f < N_STATES; f++) {
		for (int t = 0; t < N_STATES; t++) {
			int n = xnx_state_path(f, t, path, N_STATES);
			if (t == XenbusStateUnknown && f != t) {
				CU_ASSERT_EQUAL(n, -1);
				continue;
			}
			CU_ASSERT_FATAL(n >= 0);
			enum xenbus_state cur = f;
			for (int i = 0; i < n; i++) {
				CU_ASSERT_TRUE(xnx_state_step_ok(cur, path[i]));
				cur = path[i];
			}
			CU_ASSERT_EQUAL(cur, (enum xenbus_state)t);
		}
	}
}

static void state_path_shortest(void)
{
	static const struct { int from, to, len; } cases[] = {
		{ XenbusStateConnected, XenbusStateInitWait, 3 },   /* Closing, Closed, InitWait */
		{ XenbusStateInitWait, XenbusStateClosed, 2 },      /* Closing, Closed */
		{ XenbusStateInitialising, XenbusStateConnected, 1 },
		{ XenbusStateClosed, XenbusStateClosed, 0 },
		{ XenbusStateUnknown, XenbusStateConnected, 2 },
	};
	enum xenbus_state path[N_STATES];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(xnx_state_path(cases[i].from, cases[i].to, path, N_STATES),
				cases[i].len);
	/* A bound shorter than the path is refused, never overrun. */
	CU_ASSERT_EQUAL(xnx_state_path(XenbusStateConnected, XenbusStateInitWait, path, 2), -1);
}

static void state_parse_strict(void)
{
	static const struct { const char *s; int rc; int v; } cases[] = {
		{ "0", 0, 0 }, { "4", 0, 4 }, { "8", 0, 8 }, { "9", -EINVAL, 0 },
		{ "", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { " 4", -EINVAL, 0 },
		{ "4 ", -EINVAL, 0 }, { "4x", -EINVAL, 0 }, { "+4", -EINVAL, 0 },
		{ "99999999999999999999999", -EINVAL, 0 },
	};
	enum xenbus_state s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = XenbusStateUnknown;
		CU_ASSERT_EQUAL(xnx_state_parse(cases[i].s, &s), cases[i].rc);
		if (cases[i].rc == 0)
			CU_ASSERT_EQUAL(s, (enum xenbus_state)cases[i].v);
	}
	CU_ASSERT_STRING_EQUAL(xnx_state_name(XenbusStateInitWait), "InitWait");
	CU_ASSERT_STRING_EQUAL(xnx_state_name(42), "Invalid");
}

static void parse_uint_range_and_junk(void)
{
	static const struct { const char *s; unsigned long min, max; int rc; unsigned long v; } cases[] = {
		{ "0", 0, 10, 0, 0 }, { "10", 0, 10, 0, 10 }, { "11", 0, 10, -ERANGE, 0 },
		{ "3", 5, 10, -ERANGE, 0 }, { "007", 0, 10, 0, 7 }, { "0x10", 0, 100, -EINVAL, 0 },
		{ "1e3", 0, 10000, -EINVAL, 0 }, { "18446744073709551616", 0, ~0ul, -ERANGE, 0 },
		{ "18446744073709551615", 0, ~0ul, 0, ~0ul }, { "\t1", 0, 9, -EINVAL, 0 },
	};
	unsigned long v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 12345;
		CU_ASSERT_EQUAL(xnx_parse_uint(cases[i].s, cases[i].min, cases[i].max, &v), cases[i].rc);
		CU_ASSERT_EQUAL(v, cases[i].rc == 0 ? cases[i].v : 12345);
	}
	CU_ASSERT_EQUAL(xnx_parse_uint(NULL, 0, 1, &v), -EINVAL);
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "state_step_ok_every_pair", state_step_ok_every_pair },
		{ "state_path_every_pair_is_legal", state_path_every_pair_is_legal },
		{ "state_path_shortest", state_path_shortest },
		{ "state_parse_strict", state_parse_strict },
		{ "parse_uint_range_and_junk", parse_uint_range_and_junk },
	};

	return CUNIT_RUN("state", NULL, NULL, tests);
}
