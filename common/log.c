/* log.c — stderr/syslog logging with levels, a per-thread context and rate
 * limiting. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "xnx_log.h"

static const char *log_ident = "xnet";
static int log_syslog;
static int log_journal;	/* stderr is the journal: <prio> prefix, no stamp */
static enum xnx_log_level log_level = XNX_LOG_INFO;
static __thread char log_ctx[128];
/* Buckets are shared by whichever threads reach a call site. */
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;

/* systemd sets JOURNAL_STREAM=<dev>:<ino> to the stream our stderr is
 * connected to, if it is the journal's. */
static int stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void xnx_log_open(const char *ident, int use_syslog, enum xnx_log_level level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_level = level;
	log_journal = !use_syslog && stderr_is_journal();
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void xnx_log_set_level(enum xnx_log_level level) { log_level = level; }
enum xnx_log_level xnx_log_get_level(void) { return log_level; }

enum xnx_log_level xnx_log_verbosity(int nv)
{
	return nv <= 0 ? XNX_LOG_WARN : nv == 1 ? XNX_LOG_INFO : XNX_LOG_DEBUG;
}

uint64_t xnx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- context --------------------------------------------------------------- */

void xnx_log_ctx_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_ctx, sizeof(log_ctx), fmt, ap);
	va_end(ap);
}

void xnx_log_ctx_clear(void) { log_ctx[0] = '\0'; }
const char *xnx_log_ctx(void) { return log_ctx; }

/* The context prefix for MSG: none when there is no context or MSG already
 * names it (starts with it, followed by ':' or '/'). */
static const char *ctx_prefix(const char *msg)
{
	size_t n = strlen(log_ctx);

	if (n == 0 || (!strncmp(msg, log_ctx, n) && (msg[n] == ':' || msg[n] == '/')))
		return "";
	return log_ctx;
}

/* ---- lines ----------------------------------------------------------------- */

/* "CONTEXT: message" (or just the message) into BUF. */
static void format_body(char *buf, size_t len, const char *fmt, va_list ap)
{
	char msg[1024];
	const char *ctx;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	ctx = ctx_prefix(msg);
	snprintf(buf, len, "%s%s%s", ctx, *ctx ? ": " : "", msg);
}

int xnx_log_format(char *buf, size_t len, enum xnx_log_level level,
		   const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error", "warning", "info", "debug" };
	char body[1200];

	format_body(body, sizeof(body), fmt, ap);
	return snprintf(buf, len, "%s: %s: %s", log_ident, tag[level], body);
}

void xnx_log_stamp(char *buf, size_t len, uint64_t t_ns)
{
	time_t secs = (time_t)(t_ns / 1000000000ull);
	char date[32], zone[8];
	struct tm tm;

	localtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);	/* +hhmm */
	snprintf(buf, len, "%s.%03u%.3s:%.2s", date,
		 (unsigned)(t_ns / 1000000u % 1000u), zone, zone + 3);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void xnx_vlog(enum xnx_log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[1400], stamp[40];

	if (level > log_level)
		return;
	if (log_syslog) {
		format_body(line, sizeof(line), fmt, ap);
		syslog(prio[level], "%s", line);
		return;
	}
	xnx_log_format(line, sizeof(line), level, fmt, ap);
	/* One fprintf per line so lines of concurrent threads do not mix. */
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", prio[level], line);
		return;
	}
	xnx_log_stamp(stamp, sizeof(stamp), realtime_ns());
	fprintf(stderr, "%s %s\n", stamp, line);
}

void xnx_log(enum xnx_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xnx_vlog(level, fmt, ap);
	va_end(ap);
}

/* ---- rate limiting ----------------------------------------------------------- */

int xnx_ratelimit_take(struct xnx_ratelimit *rl, uint64_t now)
{
	uint64_t refill = rl->last_ns ? (now - rl->last_ns) * rl->per_sec / 1000000000ull
				      : rl->burst;

	if (refill > 0) {
		rl->tokens = rl->tokens + refill > rl->burst ? rl->burst
							     : rl->tokens + (unsigned)refill;
		rl->last_ns = now;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return 0;
	}
	rl->tokens--;
	return 1;
}

void xnx_log_rl(struct xnx_ratelimit *rl, enum xnx_log_level level,
		const char *fmt, ...)
{
	unsigned suppressed = 0;
	va_list ap;
	int go;

	if (level > log_level)
		return;
	pthread_mutex_lock(&rl_lock);
	go = xnx_ratelimit_take(rl, xnx_now_ns());
	if (go) {
		suppressed = rl->suppressed;
		rl->suppressed = 0;
	}
	pthread_mutex_unlock(&rl_lock);
	if (!go)
		return;
	if (suppressed)
		xnx_log(level, "(%u similar lines suppressed)", suppressed);
	va_start(ap, fmt);
	xnx_vlog(level, fmt, ap);
	va_end(ap);
}

void xnx_bug(const char *file, int line, const char *what)
{
	xnx_err("BUG at %s:%d: %s", file, line, what);
	abort();
}
