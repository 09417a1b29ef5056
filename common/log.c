/* log.c — stderr/syslog logging with levels and rate limiting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "xnx_log.h"

static const char *log_ident = "xnet";
static int log_syslog;
static enum xnx_log_level log_level = XNX_LOG_INFO;

void xnx_log_open(const char *ident, int use_syslog, enum xnx_log_level level)
{
	log_ident = ident;
	log_syslog = use_syslog;
	log_level = level;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void xnx_log_set_level(enum xnx_log_level level) { log_level = level; }
enum xnx_log_level xnx_log_get_level(void) { return log_level; }

uint64_t xnx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void xnx_vlog(enum xnx_log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error", "warning", "info", "debug" };

	if (level > log_level)
		return;
	if (log_syslog) {
		vsyslog(prio[level], fmt, ap);
		return;
	}
	/* One fprintf per line so lines of concurrent threads do not mix. */
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s: %s: %s\n", log_ident, tag[level], line);
}

void xnx_log(enum xnx_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xnx_vlog(level, fmt, ap);
	va_end(ap);
}

/* Refill RL for the time passed; returns 1 if a line may be logged now. */
static int take_token(struct xnx_ratelimit *rl)
{
	uint64_t now = xnx_now_ns();
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
	va_list ap;

	if (level > log_level || !take_token(rl))
		return;
	if (rl->suppressed) {
		xnx_log(level, "(%u similar lines suppressed)", rl->suppressed);
		rl->suppressed = 0;
	}
	va_start(ap, fmt);
	xnx_vlog(level, fmt, ap);
	va_end(ap);
}

void xnx_bug(const char *file, int line, const char *what)
{
	xnx_err("BUG at %s:%d: %s", file, line, what);
	abort();
}
