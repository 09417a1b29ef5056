/*
 * test_bench.c — unit tests of the benchmark harness: statistics, placement
 * classification, the JSON writer (parsed back) and reader, comparisons
 * within one placement, a quick SPSC baseline run, and xnet-bench itself
 * (--quick --json, the full-stack figures in quick mode, and cleanup of its
 * namespaces when killed and of its sims when done).
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

/* ---- statistics ----------------------------------------------------------- */

static void test_percentile_table(void)
{
	static const double one[] = { 7 };
	static const double four[] = { 1, 2, 3, 4 };
	static const double five[] = { 10, 20, 30, 40, 50 };
	static const struct {
		const double *v;
		size_t n;
		double p, want;
	} cases[] = {
		{ one, 1, 0, 7 },	{ one, 1, 50, 7 },	{ one, 1, 100, 7 },
		{ four, 4, 0, 1 },	{ four, 4, 50, 2.5 },	{ four, 4, 100, 4 },
		{ four, 4, 25, 1.75 },	{ five, 5, 50, 30 },	{ five, 5, 90, 46 },
		{ five, 5, 99, 49.6 },	{ five, 5, 75, 40 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_DOUBLE_EQUAL(xbench_percentile_sorted(cases[i].v, cases[i].n,
								cases[i].p),
				       cases[i].want, 1e-9);
}

static void test_percentile_bad_input(void)
{
	static const double v[] = { 1, 2 };

	CU_ASSERT(isnan(xbench_percentile_sorted(v, 0, 50)));
	CU_ASSERT(isnan(xbench_percentile_sorted(v, 2, -1)));
	CU_ASSERT(isnan(xbench_percentile_sorted(v, 2, 100.5)));
	CU_ASSERT(isnan(xbench_percentile_sorted(v, 2, NAN)));
}

static void test_summarize_unsorted_with_nan(void)
{
	double v[] = { 5, NAN, 1, INFINITY, 3, 9, 7 };
	struct xbench_summary s;

	xbench_summarize(v, 7, &s);
	CU_ASSERT_EQUAL(s.n, 5);
	CU_ASSERT_DOUBLE_EQUAL(s.median, 5, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(s.min, 1, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(s.max, 9, 1e-12);
	CU_ASSERT_DOUBLE_EQUAL(s.p90, 8.2, 1e-9);
	/* The input is left as it was. */
	CU_ASSERT_DOUBLE_EQUAL(v[0], 5, 0);
	CU_ASSERT_DOUBLE_EQUAL(xbench_percentile(v, 7, 0), 1, 1e-12);
}

static void test_summarize_empty(void)
{
	double v[] = { NAN };
	struct xbench_summary s;

	xbench_summarize(v, 0, &s);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT(isnan(s.median) && isnan(s.min) && isnan(s.max));
	xbench_summarize(v, 1, &s);
	CU_ASSERT_EQUAL(s.n, 0);
}

static void test_classify_table(void)
{
	static const struct {
		double before, after;
		enum xbench_place want;
	} cases[] = {
		{ 80, 90, XBENCH_NEAR },   { 400, 380, XBENCH_FAR },
		{ 80, 400, XBENCH_MIXED }, { 400, 80, XBENCH_MIXED },
		{ 200, 200, XBENCH_FAR },  { 199, 199, XBENCH_NEAR },
		{ NAN, 80, XBENCH_MIXED }, { 80, INFINITY, XBENCH_MIXED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(xbench_classify(cases[i].before, cases[i].after, 200),
				cases[i].want);
	CU_ASSERT_STRING_EQUAL(xbench_place_name(XBENCH_NEAR), "near");
	CU_ASSERT_STRING_EQUAL(xbench_place_name(XBENCH_FAR), "far");
}

/* ---- JSON reader ------------------------------------------------------------ */

static void test_json_parse_valid(void)
{
	static const char *const ok[] = {
		"[]", "{}", "0", "-1.5e3", "\"a\\\"b\\u0041\"", "true", "null",
		" { \"a\" : [1, 2, {\"b\": false}] } ",
	};
	char err[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct xbench_json *j = xbench_json_parse(ok[i], err, sizeof(err));

		CU_ASSERT_PTR_NOT_NULL(j);
		xbench_json_free(j);
	}
}

static void test_json_parse_invalid(void)
{
	static const char *const bad[] = {
		"", "[", "[1,]", "{\"a\"}", "{\"a\":1,}", "01x", "1.2.3", "nul",
		"\"unterminated", "\"bad \\q\"", "[1] 2", "{1: 2}", "-", "\"\\u12\"",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]"
		"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xbench_json *j = xbench_json_parse(bad[i], err, sizeof(err));

		CU_ASSERT_PTR_NULL(j);
		CU_ASSERT(strstr(err, "offset") != NULL);
		xbench_json_free(j);
	}
}

static void test_json_path(void)
{
	const char *text = "{\"end\": {\"sum\": {\"packets\": 100, \"lost_packets\": 4,"
			   " \"seconds\": 2.0}, \"streams\": [1, \"x\"]}}";
	struct xbench_json *j = xbench_json_parse(text, NULL, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_path(j, "end.sum.packets")), 100, 0);
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_path(j, "end.sum.seconds")), 2, 0);
	CU_ASSERT_PTR_NULL(xbench_json_path(j, "end.sum.nope"));
	CU_ASSERT_PTR_NULL(xbench_json_path(j, "end.streams.x"));
	CU_ASSERT_EQUAL(xbench_json_len(xbench_json_path(j, "end.streams")), 2);
	CU_ASSERT_STRING_EQUAL(xbench_json_str(xbench_json_at(xbench_json_path(j, "end.streams"), 1)), "x");
	CU_ASSERT(isnan(xbench_json_num(xbench_json_path(j, "end"))));
	xbench_json_free(j);
}

static void test_json_string_roundtrip(void)
{
	static const char *const strs[] = {
		"", "plain", "q\"uote", "back\\slash", "new\nline\ttab", "ctl\001\037x",
		"slash/ok",
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct xbench_json *j;

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		xbench_json_string(f, strs[i]);
		fclose(f);
		j = xbench_json_parse(buf, NULL, 0);
		CU_ASSERT_PTR_NOT_NULL(j);
		CU_ASSERT_STRING_EQUAL(xbench_json_str(j) ? xbench_json_str(j) : "(null)", strs[i]);
		xbench_json_free(j);
		free(buf);
	}
}

static void test_json_unescape(void)
{
	struct xbench_json *j = xbench_json_parse("\"a\\\"b\\u0041\\u00e9\\/\"", NULL, 0);

	CU_ASSERT_STRING_EQUAL(xbench_json_str(j) ? xbench_json_str(j) : "(null)", "a\"bA?/");
	xbench_json_free(j);
}

/* ---- JSON writer, parsed back --------------------------------------------- */

static char *write_to_string(const struct xbench_result *r, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	xbench_write_json(f, r, n);
	fclose(f);
	return buf;
}

static void test_json_write_parse_back(void)
{
	const struct xbench_sample runs[] = {
		{ .value = 30, .rtt_before_ns = 80, .rtt_after_ns = 90, .place = XBENCH_NEAR },
		{ .value = 35, .rtt_before_ns = 400, .rtt_after_ns = 420, .place = XBENCH_FAR },
	};
	const struct xbench_result r[] = {
		{ .name = "spsc.64B", .unit = XBENCH_MPPS, .place = XBENCH_NEAR,
		  .available = true, .s = { .n = 3, .median = 70, .min = 60, .max = 75 },
		  .ratio = NAN },
		{ .name = "ring.tx.64B.1q", .unit = XBENCH_MPPS, .place = XBENCH_FAR,
		  .available = true, .s = { .n = 2, .median = 35, .min = 30, .max = 40 },
		  .baseline = "spsc.64B", .ratio = 0.5, .samples = runs, .nsamples = 2 },
		{ .name = "q\"uote\\d", .unit = XBENCH_US, .place = XBENCH_NEAR,
		  .available = true, .s = { .n = 1, .median = NAN, .min = INFINITY, .max = 1 },
		  .baseline = "x", .ratio = NAN },
		{ .name = "control.attach", .unit = XBENCH_MS, .available = false,
		  .reason = "not available yet" },
	};
	char *text = write_to_string(r, 4), err[128];
	struct xbench_json *j = text ? xbench_json_parse(text, err, sizeof(err)) : NULL;
	const struct xbench_json *e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL_FATAL(xbench_json_type(j), XJ_ARR);
	CU_ASSERT_EQUAL_FATAL(xbench_json_len(j), 4);

	e = xbench_json_at(j, 0);
	CU_ASSERT_STRING_EQUAL(xbench_json_str(xbench_json_get(e, "name")), "spsc.64B");
	CU_ASSERT_STRING_EQUAL(xbench_json_str(xbench_json_get(e, "unit")), "Mpps");
	CU_ASSERT_STRING_EQUAL(xbench_json_str(xbench_json_get(e, "placement")), "near");
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_get(e, "median")), 70, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_get(e, "min")), 60, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_get(e, "max")), 75, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_get(e, "runs")), 3, 0);
	CU_ASSERT_PTR_NULL(xbench_json_get(e, "baseline"));	/* a baseline itself */

	e = xbench_json_at(j, 1);
	CU_ASSERT_STRING_EQUAL(xbench_json_str(xbench_json_get(e, "baseline")), "spsc.64B");
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_get(e, "ratio")), 0.5, 1e-9);
	CU_ASSERT_STRING_EQUAL(xbench_json_str(xbench_json_get(e, "placement")), "far");

	e = xbench_json_at(j, 2);	/* escaping and non-finite numbers */
	CU_ASSERT_STRING_EQUAL(xbench_json_str(xbench_json_get(e, "name")), "q\"uote\\d");
	CU_ASSERT_EQUAL(xbench_json_type(xbench_json_get(e, "median")), XJ_NULL);
	CU_ASSERT_PTR_NOT_NULL(xbench_json_get(e, "median"));
	CU_ASSERT_EQUAL(xbench_json_type(xbench_json_get(e, "min")), XJ_NULL);
	CU_ASSERT_EQUAL(xbench_json_type(xbench_json_get(e, "ratio")), XJ_NULL);

	/* Runs listed per placement: only the far one of ring.tx here. */
	e = xbench_json_get(xbench_json_at(j, 1), "samples");
	CU_ASSERT_EQUAL(xbench_json_len(e), 1);
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_get(xbench_json_at(e, 0), "value")), 35, 0);
	CU_ASSERT_DOUBLE_EQUAL(xbench_json_num(xbench_json_get(xbench_json_at(e, 0), "rtt_after_ns")), 420, 0);
	CU_ASSERT_PTR_NULL(xbench_json_get(xbench_json_at(j, 0), "samples"));

	e = xbench_json_at(j, 3);	/* unavailable: no numbers at all */
	CU_ASSERT_EQUAL(xbench_json_type(xbench_json_get(e, "available")), XJ_BOOL);
	CU_ASSERT_FALSE(xbench_json_bool(xbench_json_get(e, "available")));
	CU_ASSERT_PTR_NULL(xbench_json_get(e, "median"));
	CU_ASSERT_PTR_NULL(xbench_json_get(e, "ratio"));
	CU_ASSERT_STRING_EQUAL(xbench_json_str(xbench_json_get(e, "reason")), "not available yet");
	xbench_json_free(j);
	free(text);
}

static void test_json_write_empty(void)
{
	char *text = write_to_string(NULL, 0);
	struct xbench_json *j = text ? xbench_json_parse(text, NULL, 0) : NULL;

	CU_ASSERT_EQUAL(xbench_json_type(j), XJ_ARR);
	CU_ASSERT_EQUAL(xbench_json_len(j), 0);
	xbench_json_free(j);
	free(text);
}

/* ---- comparisons within a placement ----------------------------------------- */

static int fake_run(const struct xbench_opts *o, const struct xbench_case *c, double *v)
{
	return -ENOSYS;
}

static const struct xbench_case fake_cases[] = {
	{ .name = "base.a", .unit = XBENCH_MPPS, .group = "baseline", .run = fake_run },
	{ .name = "ours.b", .unit = XBENCH_MPPS, .group = "ring", .run = fake_run,
	  .baselines = { "missing", "base.a", NULL } },
	{ .name = "ours.c", .unit = XBENCH_MS, .group = "control", .run = fake_run },
	{ .name = NULL },
};

static const struct xbench_result *find_result(const struct xbench_result *r, ssize_t n,
						const char *name, enum xbench_place p)
{
	for (ssize_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0 && r[i].available && r[i].place == p)
			return &r[i];
	return NULL;
}

static void test_session_compare_same_placement(void)
{
	static const struct xbench_case *const tables[] = { fake_cases, NULL };
	struct xbench_opts o = { .runs = 1, .duration_s = 0.1, .cpu = { 0, 1 }, .near_ns = 200 };
	struct xbench_session s;
	struct xbench_result *r = NULL;
	const struct xbench_result *x;
	ssize_t n;

	CU_ASSERT_EQUAL_FATAL(xbench_session_init(&s, &o, tables, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(s.nseries, 3);
	/* base.a: near 10, 12, 14; far 2, 4. */
	xbench_series_add(&s.series[0], 10, 80, 90, o.near_ns);
	xbench_series_add(&s.series[0], 12, 80, 90, o.near_ns);
	xbench_series_add(&s.series[0], 14, 80, 90, o.near_ns);
	xbench_series_add(&s.series[0], 2, 400, 420, o.near_ns);
	xbench_series_add(&s.series[0], 4, 400, 420, o.near_ns);
	/* ours.b: near 6, far 3, one mixed 100 (no comparison). */
	xbench_series_add(&s.series[1], 6, 80, 80, o.near_ns);
	xbench_series_add(&s.series[1], 3, 410, 400, o.near_ns);
	xbench_series_add(&s.series[1], 100, 80, 400, o.near_ns);
	/* ours.c: never measured. */
	s.series[2].available = false;
	s.series[2].why = "not available yet";

	n = xbench_session_results(&s, &r);
	CU_ASSERT_FATAL(n > 0);
	x = find_result(r, n, "base.a", XBENCH_NEAR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(x->s.n, 3);
	CU_ASSERT_DOUBLE_EQUAL(x->s.median, 12, 1e-12);
	CU_ASSERT_PTR_NULL(x->baseline);

	x = find_result(r, n, "ours.b", XBENCH_NEAR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_STRING_EQUAL(x->baseline, "base.a");
	CU_ASSERT_DOUBLE_EQUAL(x->ratio, 0.5, 1e-12);		/* 6 / 12 */
	x = find_result(r, n, "ours.b", XBENCH_FAR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_DOUBLE_EQUAL(x->ratio, 1.0, 1e-12);		/* 3 / 3 */
	x = find_result(r, n, "ours.b", XBENCH_MIXED);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NULL(x->baseline);
	CU_ASSERT(isnan(x->ratio));

	for (ssize_t i = 0; i < n; i++)
		if (strcmp(r[i].name, "ours.c") == 0) {
			CU_ASSERT_FALSE(r[i].available);
			CU_ASSERT_STRING_EQUAL(r[i].reason, "not available yet");
		}
	free(r);
	xbench_session_free(&s);
}

static void test_session_select(void)
{
	static const struct xbench_case *const tables[] = { fake_cases, NULL };
	static const struct { const char *only; size_t want; } cases[] = {
		{ NULL, 3 }, { "ours", 2 }, { "base.a", 1 }, { "ours.*,base.a", 3 },
		{ "base", 1 }, { "nothing", 0 }, { "our", 0 },
	};
	struct xbench_opts o = { .runs = 1, .near_ns = 200 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xbench_session s;
		int r = xbench_session_init(&s, &o, tables, cases[i].only);

		CU_ASSERT_EQUAL(s.nseries, cases[i].want);
		CU_ASSERT_EQUAL(r, cases[i].want ? 0 : -ENOENT);
		xbench_session_free(&s);
	}
}

/* xnet's own figures are all listed, each with what it needs to run. */
static void test_xnet_cases_well_formed(void)
{
	size_t n = 0;

	for (const struct xbench_case *c = xbench_xnet_cases; c->name; c++, n++) {
		CU_ASSERT_PTR_NOT_NULL(c->unit);
		CU_ASSERT_PTR_NOT_NULL(c->desc);
		CU_ASSERT_PTR_NOT_NULL(c->run);
		CU_ASSERT(strcmp(c->group, "ring") == 0 || strcmp(c->group, "stack") == 0 ||
			  strcmp(c->group, "control") == 0 || strcmp(c->group, "evtchn") == 0);
	}
	CU_ASSERT(n >= 20);
}

/* ---- real measurements (figures never asserted, only their sanity) ---------- */

static void test_spsc_quick(void)
{
	static const size_t sizes[] = { 64, 1500, 65536 };
	const int cpu[2] = { 0, 1 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double pps = NAN, bps = NAN;
		int r = xbench_spsc_run(cpu, sizes[i], 0.1, &pps, &bps);

		CU_ASSERT_EQUAL(r, 0);
		CU_ASSERT(isfinite(pps) && pps > 0);
		CU_ASSERT(isfinite(bps) && bps > 0);
		/* bytes and packets agree: every packet has SIZE bytes. */
		CU_ASSERT_DOUBLE_EQUAL(bps / pps / 8.0, (double)sizes[i], 1e-6 * (double)sizes[i]);
	}
	CU_ASSERT_EQUAL(xbench_spsc_run(cpu, 0, 0.1, &(double){ 0 }, &(double){ 0 }), -EINVAL);
}

static void test_pingpong(void)
{
	const int cpu[2] = { 0, 1 };
	double ns = NAN;

	CU_ASSERT_EQUAL(xbench_pingpong_ns(cpu, &ns), 0);
	CU_ASSERT(isfinite(ns) && ns > 0);
}

/* A child that spins until told to stop, after saying it started. */
static pid_t spinner(int ready_fd, int stop_fd, bool spin)
{
	pid_t pid = xbench_fork();

	if (pid == 0) {
		char c = 1;
		struct pollfd p = { .fd = stop_fd, .events = POLLIN };

		if (write(ready_fd, &c, 1) != 1)
			_exit(1);
		while (poll(&p, 1, spin ? 0 : -1) == 0)
			;
		_exit(0);
	}
	return pid;
}

/* Cycles of a busy process are positive; of a blocked one, fewer. */
static void test_cpu_cycles(void)
{
	double cycles[2] = { NAN, NAN };

	for (int k = 0; k < 2; k++) {
		int ready[2], stop[2];
		struct xbench_cpu c;
		char ch;
		pid_t pid;

		CU_ASSERT_FATAL(pipe(ready) == 0 && pipe(stop) == 0);
		pid = spinner(ready[1], stop[0], k == 0);
		CU_ASSERT_FATAL(pid > 0);
		CU_ASSERT_EQUAL(read(ready[0], &ch, 1), 1);
		CU_ASSERT_EQUAL(xbench_cpu_start(&c, &pid, 1), 0);
		/* The measured interval: about 50 ms of the child's life. */
		usleep(50000);
		CU_ASSERT_EQUAL(xbench_cpu_stop(&c, &cycles[k]), 0);
		CU_ASSERT_EQUAL(write(stop[1], "x", 1), 1);
		CU_ASSERT_EQUAL(xbench_wait(pid, 10), 0);
		close(ready[0]); close(ready[1]); close(stop[0]); close(stop[1]);
	}
	CU_ASSERT(isfinite(cycles[0]) && cycles[0] > 0);
	CU_ASSERT(isfinite(cycles[1]) && cycles[1] >= 0);
	CU_ASSERT(cycles[1] < cycles[0]);
	CU_ASSERT_EQUAL(xbench_cpu_start(&(struct xbench_cpu){ 0 }, (pid_t[]){ 1 }, 0), -EINVAL);
}

/* ---- the program -------------------------------------------------------------- */

static char bench_path[4096];

static const char *bench_bin(void)
{
	const char *dir = getenv("XNET_BIN");

	snprintf(bench_path, sizeof(bench_path), "%s/xnet-bench", dir && *dir ? dir : "build/bin");
	return bench_path;
}

/* An xnet figure in --json: a positive finite median, or "available":
 * false with a reason and no number. Never a speed. */
static void check_figure_or_reason(const struct xbench_json *e)
{
	const struct xbench_json *avail = xbench_json_get(e, "available");

	if (avail && !xbench_json_bool(avail)) {
		const char *why = xbench_json_str(xbench_json_get(e, "reason"));

		CU_ASSERT(why && *why);
		CU_ASSERT_PTR_NULL(xbench_json_get(e, "median"));
	} else {
		double med = xbench_json_num(xbench_json_get(e, "median"));

		CU_ASSERT(isfinite(med) && med > 0);
		CU_ASSERT(xbench_json_num(xbench_json_get(e, "min")) > 0);
	}
}

static void test_program_quick_json(void)
{
	char *out = NULL, err[128];
	struct xbench_json *j;
	double runs = 0;
	int r = xbench_cmd((char *[]){ (char *)bench_bin(), "--quick", "--json", "--only",
				       "spsc,ring.tx.64B.1q,control.attach", NULL }, 300, &out);

	CU_ASSERT_EQUAL_FATAL(r, 0);
	j = xbench_json_parse(out, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_EQUAL(xbench_json_type(j), XJ_ARR);
	for (size_t i = 0; i < xbench_json_len(j); i++) {
		const struct xbench_json *e = xbench_json_at(j, i);
		const char *name = xbench_json_str(xbench_json_get(e, "name"));

		CU_ASSERT_PTR_NOT_NULL_FATAL(name);
		CU_ASSERT_PTR_NOT_NULL(xbench_json_str(xbench_json_get(e, "unit")));
		if (strcmp(name, "spsc.64B") == 0) {
			double med = xbench_json_num(xbench_json_get(e, "median"));

			CU_ASSERT(isfinite(med) && med > 0);
			CU_ASSERT(xbench_json_num(xbench_json_get(e, "min")) <= med);
			CU_ASSERT(xbench_json_num(xbench_json_get(e, "max")) >= med);
			runs += xbench_json_num(xbench_json_get(e, "runs"));
			/* Each run is listed with the round trips that placed it. */
			CU_ASSERT_EQUAL(xbench_json_len(xbench_json_get(e, "samples")),
					(size_t)xbench_json_num(xbench_json_get(e, "runs")));
			CU_ASSERT(xbench_json_num(xbench_json_path(
				xbench_json_at(xbench_json_get(e, "samples"), 0), "rtt_before_ns")) > 0);
		}
		if (strncmp(name, "ring.", 5) == 0 || strncmp(name, "control.", 8) == 0)
			check_figure_or_reason(e);
	}
	CU_ASSERT_DOUBLE_EQUAL(runs, 2, 0);	/* --quick: two runs, all placements */
	xbench_json_free(j);
	free(out);
}

static bool netns_exists(const char *name)
{
	char *out = NULL;
	bool found;

	if (xbench_cmd((char *[]){ "ip", "netns", "list", NULL }, 10, &out) != 0)
		return false;
	found = out && strstr(out, name);
	free(out);
	return found;
}

/* Killed while its namespaces exist, xnet-bench still removes them. */
static void test_program_cleanup_on_signal(void)
{
	char name[64];
	double end;
	pid_t pid;
	int st;

	if (geteuid() != 0 || !xbench_have("iperf3") || !xbench_have("ip")) {
		fprintf(stderr, "(skipped: needs root, ip and iperf3) ");
		return;
	}
	pid = xbench_spawn((char *[]){ (char *)bench_bin(), "--only", "veth.tcp", "--runs", "1",
				       "--duration", "30", NULL }, NULL);
	CU_ASSERT_FATAL(pid > 0);
	snprintf(name, sizeof(name), "xbench-%d-a", (int)pid);
	end = xbench_now() + 20;
	while (!netns_exists(name) && xbench_now() < end)
		usleep(20000);
	CU_ASSERT_FATAL(netns_exists(name));
	kill(pid, SIGTERM);
	st = xbench_wait(pid, 20);
	CU_ASSERT_EQUAL(st, 128 + SIGTERM);
	CU_ASSERT_FALSE(netns_exists(name));
	snprintf(name, sizeof(name), "xbench-%d-b", (int)pid);
	CU_ASSERT_FALSE(netns_exists(name));
}

static bool link_exists(const char *name)
{
	return xbench_cmd((char *[]){ "ip", "link", "show", (char *)name, NULL }, 10, NULL) == 0;
}

static bool sim_dir_left(pid_t pid)
{
	char prefix[64];
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/tmp");

	snprintf(prefix, sizeof(prefix), "xnet-bench-sim.%d.", (int)pid);
	while (d && (e = readdir(d)))
		found |= strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return found;
}

/* The full-stack figures in quick mode: each a positive finite number or
 * an explicit "unavailable" with its reason; and the sim, guests and
 * bridge they made are gone when xnet-bench exits. */
static void test_program_quick_stack(void)
{
	char out[] = "/tmp/test_bench_stack.XXXXXX", err[128], name[64];
	struct xbench_json *j;
	char *text = NULL;
	size_t seen = 0;
	int fd = mkstemp(out), st;
	pid_t pid;

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	pid = xbench_spawn((char *[]){ (char *)bench_bin(), "--quick", "--json", "--only",
				       "stack", NULL }, out);
	CU_ASSERT_FATAL(pid > 0);
	st = xbench_wait(pid, 300);
	CU_ASSERT_EQUAL(st, 0);
	CU_ASSERT_EQUAL(xbench_cmd((char *[]){ "sed", "-n", "/^\\[/,$p", out, NULL }, 10,
				   &text), 0);
	unlink(out);
	j = text ? xbench_json_parse(text, err, sizeof(err)) : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	for (size_t i = 0; i < xbench_json_len(j); i++) {
		const struct xbench_json *e = xbench_json_at(j, i);
		const char *n = xbench_json_str(xbench_json_get(e, "name"));

		if (n && strncmp(n, "stack.", 6) == 0) {
			check_figure_or_reason(e);
			seen++;
		}
	}
	CU_ASSERT(seen >= 4);
	xbench_json_free(j);
	free(text);
	snprintf(name, sizeof(name), "xbbr%ds", (int)pid);
	CU_ASSERT_FALSE(link_exists(name));
	snprintf(name, sizeof(name), "xbs%d-1", (int)pid);
	CU_ASSERT_FALSE(netns_exists(name));
	CU_ASSERT_FALSE(sim_dir_left(pid));
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("stats", NULL, NULL);
	CU_add_test(s, "percentile_table", test_percentile_table);
	CU_add_test(s, "percentile_bad_input", test_percentile_bad_input);
	CU_add_test(s, "summarize_unsorted_with_nan", test_summarize_unsorted_with_nan);
	CU_add_test(s, "summarize_empty", test_summarize_empty);
	CU_add_test(s, "classify_table", test_classify_table);
	s = CU_add_suite("json", NULL, NULL);
	CU_add_test(s, "json_parse_valid", test_json_parse_valid);
	CU_add_test(s, "json_parse_invalid", test_json_parse_invalid);
	CU_add_test(s, "json_path", test_json_path);
	CU_add_test(s, "json_string_roundtrip", test_json_string_roundtrip);
	CU_add_test(s, "json_unescape", test_json_unescape);
	CU_add_test(s, "json_write_parse_back", test_json_write_parse_back);
	CU_add_test(s, "json_write_empty", test_json_write_empty);
	s = CU_add_suite("session", NULL, NULL);
	CU_add_test(s, "session_compare_same_placement", test_session_compare_same_placement);
	CU_add_test(s, "session_select", test_session_select);
	CU_add_test(s, "xnet_cases_well_formed", test_xnet_cases_well_formed);
	s = CU_add_suite("measure", NULL, NULL);
	CU_add_test(s, "spsc_quick", test_spsc_quick);
	CU_add_test(s, "pingpong", test_pingpong);
	CU_add_test(s, "cpu_cycles", test_cpu_cycles);
	s = CU_add_suite("program", NULL, NULL);
	CU_add_test(s, "program_quick_json", test_program_quick_json);
	CU_add_test(s, "program_cleanup_on_signal", test_program_cleanup_on_signal);
	CU_add_test(s, "program_quick_stack", test_program_quick_stack);

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
