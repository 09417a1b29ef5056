/*
 * xnx_log.h — logging for daemons and tools: stderr (with --foreground) or
 * syslog, levels set with -v, a per-thread context naming the vif being
 * served, and rate limiting for lines a peer can provoke.
 *
 * A stderr line reads
 *   2026-11-21T13:39:31.123+00:00 xnetback: warning: CONTEXT: message
 * (local time with its offset; no timestamp when stderr is the journal,
 * which stamps lines itself and reads the <priority> prefix instead).
 */
#ifndef XNX_LOG_H
#define XNX_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum xnx_log_level { XNX_LOG_ERR = 0, XNX_LOG_WARN, XNX_LOG_INFO, XNX_LOG_DEBUG };

/* IDENT names the program; USE_SYSLOG selects syslog over stderr. */
void xnx_log_open(const char *ident, int use_syslog, enum xnx_log_level level);
void xnx_log_set_level(enum xnx_log_level level);
enum xnx_log_level xnx_log_get_level(void);

/* The one -v scale of every daemon: NV is how many -v were given. None:
 * errors and warnings; -v: info as well (a line per event an operator
 * cares about: a vif created, connected, removed, a script run); -vv and
 * more: debug as well (every state change, every failed request). */
enum xnx_log_level xnx_log_verbosity(int nv);

void xnx_log(enum xnx_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xnx_vlog(enum xnx_log_level level, const char *fmt, va_list ap);

#define xnx_err(...)   xnx_log(XNX_LOG_ERR, __VA_ARGS__)
#define xnx_warn(...)  xnx_log(XNX_LOG_WARN, __VA_ARGS__)
#define xnx_info(...)  xnx_log(XNX_LOG_INFO, __VA_ARGS__)
#define xnx_debug(...) xnx_log(XNX_LOG_DEBUG, __VA_ARGS__)

/* The object (a vif's backend path) the calling thread is serving: until
 * cleared, its lines start "CONTEXT: ", unless they already start with
 * CONTEXT (lines that name the path themselves are not prefixed twice). */
void xnx_log_ctx_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xnx_log_ctx_clear(void);
const char *xnx_log_ctx(void);	/* "" when none */

/* Format one line as it goes to stderr (without the timestamp): ident,
 * level, context, message. Returns the length snprintf would. */
int xnx_log_format(char *buf, size_t len, enum xnx_log_level level,
		   const char *fmt, va_list ap);
/* The timestamp of a stderr line for the time T (CLOCK_REALTIME ns). */
void xnx_log_stamp(char *buf, size_t len, uint64_t t_ns);

/* A token bucket for lines a peer can trigger: at most BURST lines, refilled
 * at PER_SEC lines a second. Zero-initialise, then set the two limits. */
struct xnx_ratelimit {
	unsigned burst, per_sec;
	unsigned tokens;
	uint64_t last_ns;
	unsigned suppressed;
};
#define XNX_RATELIMIT_INIT(b, r) { .burst = (b), .per_sec = (r), .tokens = (b) }

/* Take a token at time NOW_NS (monotonic): 1 if a line may go out, else 0
 * and the line is counted as suppressed. */
int xnx_ratelimit_take(struct xnx_ratelimit *rl, uint64_t now_ns);

/* Log only if RL allows; reports how many lines were suppressed before. */
void xnx_log_rl(struct xnx_ratelimit *rl, enum xnx_log_level level,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Rate-limited per call site: each use has its own bucket of 10 lines,
 * refilled at 5 a second, so one noisy message never silences another. */
#define xnx_log_limited(level, ...) do { \
	static struct xnx_ratelimit xnx_site_rl_ = XNX_RATELIMIT_INIT(10, 5); \
	xnx_log_rl(&xnx_site_rl_, (level), __VA_ARGS__); \
} while (0)

/* A broken internal invariant: our bug. Logs and aborts. */
#define XNX_BUG_ON(cond) do { if (cond) xnx_bug(__FILE__, __LINE__, #cond); } while (0)
void xnx_bug(const char *file, int line, const char *what) __attribute__((noreturn));

uint64_t xnx_now_ns(void);	/* CLOCK_MONOTONIC */

#endif
