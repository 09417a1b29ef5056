/*
 * xnx_xs.h — xenstore helpers over real libxenstore: open (pointed at
 * xnet-simd on sim), strict typed reads, formatted writes, transactions
 * retried on EAGAIN, and watch dispatch.
 *
 * Internal convention: functions return 0 or -errno.
 */
#ifndef XNX_XS_H
#define XNX_XS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>

/* Open a connection for this process's domain. On sim, if XENSTORED_PATH is
 * unset, points it at the domain's socket under the sim run directory.
 * Returns NULL with errno set. */
struct xs_handle *xnx_xs_open(void);

/* Strictly parse an unsigned decimal in [MIN, MAX] (strtoul + end pointer +
 * range; no sign, no spaces, no trailing junk). 0 or -EINVAL/-ERANGE. */
int xnx_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out);

/* Read DIR/KEY (KEY may be NULL for DIR itself). Returns a malloc'd string
 * or NULL with errno. */
char *xnx_xs_read(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		  const char *key);
/* Read and strictly parse an unsigned in [MIN,MAX]: 0, -ENOENT, -EINVAL,
 * -ERANGE. */
int xnx_xs_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const char *key, unsigned long min, unsigned long max,
		     unsigned long *out);
/* Like read_uint, but a missing key yields DEF. */
int xnx_xs_read_uint_def(struct xs_handle *xs, xs_transaction_t t,
			 const char *dir, const char *key, unsigned long min,
			 unsigned long max, unsigned long def,
			 unsigned long *out);
/* A boolean key: "0" or "1" only; missing → DEF. */
int xnx_xs_read_bool(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const char *key, bool def, bool *out);

/* Write DIR/KEY = printf(FMT, ...). 0 or -errno. */
int xnx_xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		  const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int xnx_xs_rm(struct xs_handle *xs, xs_transaction_t t, const char *dir,
	      const char *key);

/* Run FN(xs, t, arg) inside a transaction, retrying on EAGAIN (at most a
 * bounded number of times). FN returns 0 or -errno; on error the transaction
 * is aborted and the error returned. */
typedef int (*xnx_xs_txn_fn)(struct xs_handle *xs, xs_transaction_t t, void *arg);
int xnx_xs_transact(struct xs_handle *xs, xnx_xs_txn_fn fn, void *arg);

/* Watch dispatch: register (path, callback) pairs on one connection; call
 * xnx_xs_dispatch when xs_fileno(xs) is readable. Callbacks receive the path
 * that fired. */
typedef void (*xnx_xs_watch_fn)(const char *path, void *arg);
struct xnx_xs_watches;
struct xnx_xs_watches *xnx_xs_watches_new(struct xs_handle *xs);
void xnx_xs_watches_free(struct xnx_xs_watches *w);
int xnx_xs_watch_add(struct xnx_xs_watches *w, const char *path,
		     xnx_xs_watch_fn fn, void *arg);
int xnx_xs_watch_del(struct xnx_xs_watches *w, const char *path, void *arg);
/* Deliver every queued event without blocking. Returns the number delivered
 * or -errno (-ECONNRESET: the connection to xenstore is gone for good). */
int xnx_xs_dispatch(struct xnx_xs_watches *w);

#endif
