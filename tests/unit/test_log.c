/* test_log.c — log lines: the context prefix, the timestamp, the journal
 * form, the -v scale and rate limiting (suppress, then report). Lines are
 * caught by pointing stderr at a temporary file. */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_run.h"
#include "xnx_log.h"

#define BE "/local/domain/0/backend/vif/3/0"

static FILE *capture;
static int saved_stderr = -1;

/* Send stderr to a fresh temporary file until captured() is called. */
static void capture_start(void)
{
	fflush(stderr);
	capture = tmpfile();
	CU_ASSERT_FATAL(capture != NULL);
	saved_stderr = dup(2);
	dup2(fileno(capture), 2);
}

/* What was written since capture_start, into BUF; stderr restored. */
static char *captured(char *buf, size_t len)
{
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	rewind(capture);
	n = fread(buf, 1, len - 1, capture);
	buf[n] = '\0';
	fclose(capture);
	return buf;
}

static int matches(const char *re, const char *s)
{
	regex_t r;
	int rc;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB) != 0)
		return 0;
	rc = regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return rc == 0;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void open_stderr(void)
{
	unsetenv("JOURNAL_STREAM");
	xnx_log_open("xnet-test", 0, XNX_LOG_DEBUG);
}

/* Format one line as xnx_log_format does, from varargs. */
static void fmt_line(char *buf, size_t len, enum xnx_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xnx_log_format(buf, len, lvl, fmt, ap);
	va_end(ap);
}

static void log_format_context_prefix(void)
{
	char line[256];

	open_stderr();
	fmt_line(line, sizeof(line), XNX_LOG_WARN, "tx frame dropped: %s", "too big");
	CU_ASSERT_STRING_EQUAL(line, "xnet-test: warning: tx frame dropped: too big");
	xnx_log_ctx_set("%s", BE);
	CU_ASSERT_STRING_EQUAL(xnx_log_ctx(), BE);
	fmt_line(line, sizeof(line), XNX_LOG_WARN, "tx frame dropped: %s", "too big");
	CU_ASSERT_STRING_EQUAL(line, "xnet-test: warning: " BE ": tx frame dropped: too big");
	/* A line that names the path itself is not prefixed twice... */
	fmt_line(line, sizeof(line), XNX_LOG_INFO, "%s: connected", BE);
	CU_ASSERT_STRING_EQUAL(line, "xnet-test: info: " BE ": connected");
	fmt_line(line, sizeof(line), XNX_LOG_INFO, "%s/rate: bad", BE);
	CU_ASSERT_STRING_EQUAL(line, "xnet-test: info: " BE "/rate: bad");
	/* ...but one naming another vif whose path merely starts the same is. */
	fmt_line(line, sizeof(line), XNX_LOG_INFO, "%s0: x", BE);
	CU_ASSERT_STRING_EQUAL(line, "xnet-test: info: " BE ": " BE "0: x");
	xnx_log_ctx_clear();
	fmt_line(line, sizeof(line), XNX_LOG_ERR, "gone");
	CU_ASSERT_STRING_EQUAL(line, "xnet-test: error: gone");
}

static void *other_thread(void *arg)
{
	char *line = arg;

	fmt_line(line, 256, XNX_LOG_INFO, "hello");	/* no context here */
	xnx_log_ctx_set("vif9.9");
	return NULL;
}

static void log_context_is_per_thread(void)
{
	char line[256];
	pthread_t t;

	open_stderr();
	xnx_log_ctx_set("%s", BE);
	CU_ASSERT_FATAL(pthread_create(&t, NULL, other_thread, line) == 0);
	pthread_join(t, NULL);
	CU_ASSERT_STRING_EQUAL(line, "xnet-test: info: hello");
	CU_ASSERT_STRING_EQUAL(xnx_log_ctx(), BE);
	xnx_log_ctx_clear();
}

static void log_stamp_format(void)
{
	char s[40];

	setenv("TZ", "UTC", 1);
	tzset();
	xnx_log_stamp(s, sizeof(s), 123000000ull);
	CU_ASSERT_STRING_EQUAL(s, "1970-01-01T00:00:00.123+00:00");
	setenv("TZ", "XST-5:30", 1);	/* an offset with minutes */
	tzset();
	xnx_log_stamp(s, sizeof(s), 86400ull * 1000000000ull + 999999999ull);
	CU_ASSERT_STRING_EQUAL(s, "1970-01-02T05:30:00.999+05:30");
	unsetenv("TZ");
	tzset();
}

/* A whole stderr line: timestamp, program, level, context, message. */
static void log_stderr_line(void)
{
	char out[512];

	open_stderr();
	capture_start();
	xnx_log_ctx_set("%s", BE);
	xnx_warn("rx copy to gref %u: status %d", 8, -1);
	xnx_debug("shown at debug");
	xnx_log_set_level(XNX_LOG_INFO);
	xnx_debug("not shown at info");
	xnx_log_ctx_clear();
	captured(out, sizeof(out));
	CU_ASSERT(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
			  "[+-][0-9]{2}:[0-9]{2} xnet-test: warning: " BE
			  ": rx copy to gref 8: status -1$", out));
	CU_ASSERT(matches(" xnet-test: debug: " BE ": shown at debug$", out));
	CU_ASSERT_PTR_NULL(strstr(out, "not shown"));
	CU_ASSERT_EQUAL(count(out, "\n"), 2);
}

/* Under systemd stderr is the journal: a <priority> prefix, no stamp. */
static void log_journal_line(void)
{
	char out[256], env[64];
	struct stat st;

	capture_start();
	fstat(2, &st);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	xnx_log_open("xnet-test", 0, XNX_LOG_INFO);
	xnx_err("broken");
	captured(out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "<3>xnet-test: error: broken\n");
	open_stderr();
}

static void log_verbosity_scale(void)
{
	CU_ASSERT_EQUAL(xnx_log_verbosity(0), XNX_LOG_WARN);
	CU_ASSERT_EQUAL(xnx_log_verbosity(1), XNX_LOG_INFO);
	CU_ASSERT_EQUAL(xnx_log_verbosity(2), XNX_LOG_DEBUG);
	CU_ASSERT_EQUAL(xnx_log_verbosity(5), XNX_LOG_DEBUG);
}

/* The bucket on a clock of our own: BURST at once, then PER_SEC a second. */
static void ratelimit_take_burst_then_refill(void)
{
	struct xnx_ratelimit rl = XNX_RATELIMIT_INIT(3, 2);
	const uint64_t s = 1000000000ull, t0 = 5 * s;
	int n = 0;

	for (int i = 0; i < 10; i++)
		n += xnx_ratelimit_take(&rl, t0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(rl.suppressed, 7);
	CU_ASSERT_EQUAL(xnx_ratelimit_take(&rl, t0 + s / 4), 0);	/* < 1 token */
	CU_ASSERT_EQUAL(xnx_ratelimit_take(&rl, t0 + s / 2), 1);	/* 1 token */
	CU_ASSERT_EQUAL(xnx_ratelimit_take(&rl, t0 + s / 2), 0);
	n = 0;
	for (int i = 0; i < 10; i++)
		n += xnx_ratelimit_take(&rl, t0 + 100 * s);	/* refill capped at BURST */
	CU_ASSERT_EQUAL(n, 3);
}

/* Suppressed lines vanish; the next line let through says how many. */
static void log_rl_suppress_and_report(void)
{
	struct xnx_ratelimit rl = XNX_RATELIMIT_INIT(2, 0);	/* never refills */
	char out[1024];

	open_stderr();
	capture_start();
	for (int i = 0; i < 10; i++)
		xnx_log_rl(&rl, XNX_LOG_WARN, "bad request %d", i);
	rl.tokens = 1;	/* as if time had passed */
	xnx_log_rl(&rl, XNX_LOG_WARN, "bad request %d", 10);
	captured(out, sizeof(out));
	CU_ASSERT_EQUAL(count(out, "bad request"), 3);
	CU_ASSERT(matches("bad request 0$", out));
	CU_ASSERT(matches("bad request 1$", out));
	CU_ASSERT(matches("warning: \\(8 similar lines suppressed\\)\n.*bad request 10$", out));
	CU_ASSERT_EQUAL(rl.suppressed, 0);
}

/* Each call site has its own bucket: a flood at one leaves another alone. */
static void log_limited_is_per_site(void)
{
	char out[4096];

	open_stderr();
	capture_start();
	for (int i = 0; i < 50; i++)
		xnx_log_limited(XNX_LOG_WARN, "flood %d", i);
	xnx_log_limited(XNX_LOG_WARN, "other site");
	captured(out, sizeof(out));
	CU_ASSERT(count(out, "flood") >= 10 && count(out, "flood") < 50);
	CU_ASSERT_EQUAL(count(out, "other site"), 1);
}

int main(void)
{
	static const struct cunit_case cases[] = {
		{ "log_format_context_prefix", log_format_context_prefix },
		{ "log_context_is_per_thread", log_context_is_per_thread },
		{ "log_stamp_format", log_stamp_format },
		{ "log_stderr_line", log_stderr_line },
		{ "log_journal_line", log_journal_line },
		{ "log_verbosity_scale", log_verbosity_scale },
		{ "ratelimit_take_burst_then_refill", ratelimit_take_burst_then_refill },
		{ "log_rl_suppress_and_report", log_rl_suppress_and_report },
		{ "log_limited_is_per_site", log_limited_is_per_site },
	};

	return CUNIT_RUN("log", NULL, NULL, cases);
}
