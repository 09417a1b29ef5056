/* test_statsc.c — the xnet side of the stats socket (tools/statsc.c):
 * answers served by a thread on a socket in a temp dir are parsed, or
 * refused when malformed; drop groups; the JSON writer's escapes. */
#include <CUnit/Basic.h>
#include "cunit_run.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tools/xnet.h"

static char dir[64];
static char path[96];

struct server { int fd; const char *answer; };

/* Accept one client, send the answer, close. */
static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);

	if (c >= 0) {
		if (write(c, s->answer, strlen(s->answer)) < 0)
			perror("write");
		close(c);
	}
	return NULL;
}

/* Fetch ANSWER through a real socket. */
static int fetch(const char *answer, struct xnt_stats *st, char *why, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct server s = { .answer = answer };
	pthread_t t;
	int rc;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	s.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(s.fd >= 0);
	CU_ASSERT_FATAL(bind(s.fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(listen(s.fd, 1) == 0);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, serve, &s) == 0);
	rc = xnt_stats_fetch(path, st, why, len);
	pthread_join(t, NULL);
	close(s.fd);
	return rc;
}

static const char good[] =
	"xnetback 1\npid 42\ndomain 0\nplatform sim\n"
	"vif 3 1\nname vif3.1\nifindex 17\nconnected 1\nqueues 2\n"
	"tx_packets 10\nrx_packets 20\ndrop_tx_spoofed_mac 2\ndrop_tx_spoofed_ip 3\n"
	"drop_rx_no_buffer 4\ntx_throttled 5\n"
	"queue 0\ntx_packets 4\n"
	"queue 1\ntx_packets 6\n"
	"vif 4 0\nname vif4.0\ntx_packets 1\n"
	"end\n";

static void test_fetch_good(void)
{
	struct xnt_stats st;
	char why[256];
	const struct xnt_vifstats *v;

	CU_ASSERT_EQUAL_FATAL(fetch(good, &st, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(st.pid, 42);
	CU_ASSERT_STRING_EQUAL(st.platform, "sim");
	CU_ASSERT_EQUAL(st.nbackends, 1);
	CU_ASSERT_EQUAL_FATAL(st.nvifs, 2);
	v = xnt_stats_find(&st, 3, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v->name, "vif3.1");
	CU_ASSERT_EQUAL(xnt_ctr(&v->c, "ifindex"), 17);
	CU_ASSERT_EQUAL(xnt_ctr(&v->c, "tx_packets"), 10);
	CU_ASSERT_EQUAL(xnt_ctr(&v->c, "no_such_counter"), 0);
	CU_ASSERT_EQUAL_FATAL(v->nq, 2);
	CU_ASSERT_EQUAL(xnt_ctr(&v->q[1].c, "tx_packets"), 6);
	CU_ASSERT_EQUAL(xnt_drop_group(&v->c, XNT_DG_SPOOFED), 5);
	CU_ASSERT_EQUAL(xnt_drop_group(&v->c, XNT_DG_NO_RX_BUFFER), 4);
	CU_ASSERT_EQUAL(xnt_drop_group(&v->c, XNT_DG_RATE_LIMITED), 5);
	CU_ASSERT_EQUAL(xnt_drops_total(&v->c), 9);	/* throttling is no drop */
	CU_ASSERT_PTR_NULL(xnt_stats_find(&st, 3, 0));
	CU_ASSERT_PTR_NOT_NULL(xnt_stats_find(&st, 4, 0));
	xnt_stats_free(&st);
}

struct bad_case { const char *answer; const char *why; };

static const struct bad_case bad_cases[] = {
	{ "xnetback 1\nvif 1 0\ntx_packets lots\nend\n", "line 3: malformed" },
	{ "xnetback 1\nvif 1 0\ntx_packets -1\nend\n", "line 3: malformed" },
	{ "xnetback 1\nvif 1 0\ntx_packets 1 2\nend\n", "line 3: malformed" },
	{ "xnetback 1\nvif 1\nend\n", "line 2: malformed" },
	{ "xnetback 1\nvif 1 0 9\nend\n", "line 2: malformed" },
	{ "xnetback 1\nqueue 0\nend\n", "line 2: malformed" },
	{ "xnetback 1\nvif 1 0\nqueue x\nend\n", "line 3: malformed" },
	{ "xnetback 1\nvif 1 0\ngarbage\nend\n", "line 3: malformed" },
	{ "xnetback 2\nend\n", "line 1: unknown format version" },
	{ "xnetback 1\nend\nvif 1 0\n", "line 3: malformed" },
	{ "xnetback 1\nvif 1 0\ntx_packets 5\n", "cut short" },
	{ "", "cut short" },
};

static void test_fetch_bad(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct xnt_stats st;
		char why[256];

		CU_ASSERT_EQUAL(fetch(bad_cases[i].answer, &st, why, sizeof(why)), -EPROTO);
		if (!strstr(why, bad_cases[i].why) || !strstr(why, path))
			printf("\n  case %zu: '%s' lacks '%s'\n", i, why, bad_cases[i].why);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, bad_cases[i].why));
		CU_ASSERT_PTR_NULL(st.vif);
	}
}

/* More counters than a scope holds is refused, not cut silently. */
static void test_fetch_too_many(void)
{
	char *answer = malloc(64 * (XNT_MAX_COUNTERS + 8));
	struct xnt_stats st;
	char why[256];
	size_t off;

	CU_ASSERT_PTR_NOT_NULL_FATAL(answer);
	off = (size_t)sprintf(answer, "xnetback 1\nvif 1 0\n");
	for (int i = 0; i <= XNT_MAX_COUNTERS; i++)
		off += (size_t)sprintf(answer + off, "c%d 1\n", i);
	strcpy(answer + off, "end\n");
	CU_ASSERT_EQUAL(fetch(answer, &st, why, sizeof(why)), -EPROTO);
	free(answer);
}

static void test_fetch_no_server(void)
{
	struct xnt_stats st;
	char why[256];

	unlink(path);
	CU_ASSERT_EQUAL(xnt_stats_fetch(path, &st, why, sizeof(why)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, path));
}

static void test_json_escapes(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct xnt_json j;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	xnt_json_begin(&j, f);
	xnt_json_obj(&j, NULL);
	xnt_json_str(&j, "a\"b", "q\"\\\n\x01");
	xnt_json_str(&j, "n", NULL);
	xnt_json_arr(&j, "l");
	xnt_json_u64(&j, NULL, 18446744073709551615ull);
	xnt_json_int(&j, NULL, -1);
	xnt_json_bool(&j, NULL, true);
	xnt_json_end(&j, ']');
	xnt_json_obj(&j, "e");
	xnt_json_end(&j, '}');
	xnt_json_end(&j, '}');
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "{\"a\\\"b\":\"q\\\"\\\\\\u000a\\u0001\",\"n\":null,"
			       "\"l\":[18446744073709551615,-1,true],\"e\":{}}\n");
	free(buf);
}

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-statsc.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	return 0;
}

static int teardown(void)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "stats_fetch_good", test_fetch_good },
		{ "stats_fetch_bad", test_fetch_bad },
		{ "stats_fetch_too_many", test_fetch_too_many },
		{ "stats_fetch_no_server", test_fetch_no_server },
		{ "json_escapes", test_json_escapes },
	};

	return CUNIT_RUN("statsc", setup, teardown, tests);
}
