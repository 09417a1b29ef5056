/*
 * xnx_log.h — logging for daemons and tools: stderr (with --foreground) or
 * syslog, levels set with -v, and rate limiting for lines a peer can provoke.
 */
#ifndef XNX_LOG_H
#define XNX_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum xnx_log_level { XNX_LOG_ERR = 0, XNX_LOG_WARN, XNX_LOG_INFO, XNX_LOG_DEBUG };

/* IDENT names the program; USE_SYSLOG selects syslog over stderr. */
void xnx_log_open(const char *ident, int use_syslog, enum xnx_log_level level);
void xnx_log_set_level(enum xnx_log_level level);
enum xnx_log_level xnx_log_get_level(void);

void xnx_log(enum xnx_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xnx_vlog(enum xnx_log_level level, const char *fmt, va_list ap);

#define xnx_err(...)   xnx_log(XNX_LOG_ERR, __VA_ARGS__)
#define xnx_warn(...)  xnx_log(XNX_LOG_WARN, __VA_ARGS__)
#define xnx_info(...)  xnx_log(XNX_LOG_INFO, __VA_ARGS__)
#define xnx_debug(...) xnx_log(XNX_LOG_DEBUG, __VA_ARGS__)

/* A token bucket for lines a peer can trigger: at most BURST lines, refilled
 * at PER_SEC lines a second. Zero-initialise, then set the two limits. */
struct xnx_ratelimit {
	unsigned burst, per_sec;
	unsigned tokens;
	uint64_t last_ns;
	unsigned suppressed;
};
#define XNX_RATELIMIT_INIT(b, r) { .burst = (b), .per_sec = (r), .tokens = (b) }

/* Log only if RL allows; reports how many lines were suppressed before. */
void xnx_log_rl(struct xnx_ratelimit *rl, enum xnx_log_level level,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A broken internal invariant: our bug. Logs and aborts. */
#define XNX_BUG_ON(cond) do { if (cond) xnx_bug(__FILE__, __LINE__, #cond); } while (0)
void xnx_bug(const char *file, int line, const char *what) __attribute__((noreturn));

uint64_t xnx_now_ns(void);	/* CLOCK_MONOTONIC */

#endif
