/*
 * xs.c — xenstore helpers over libxenstore: open (pointed at xnet-simd on
 * the sim), strict typed reads, formatted writes, transactions retried on
 * EAGAIN, and watch dispatch by token.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define XS_TXN_RETRIES 64
#define XS_PATH_MAX 3072	/* XENSTORE_ABS_PATH_MAX */

struct xs_handle *xnx_xs_open(void)
{
	char path[4096];
	int domid;

	if (xnx_platform_init() < 0)
		return NULL;
	if (xnx_platform() == XNX_PLATFORM_SIM && !getenv("XENSTORED_PATH")) {
		domid = xnx_self_domid();
		if (domid < 0)
			return NULL;
		if (xnx_sim_store_path((unsigned)domid, path, sizeof(path)) < 0) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		setenv("XENSTORED_PATH", path, 1);
	}
	return xs_open(0);
}

static int join(char *buf, const char *dir, const char *key)
{
	int n = key ? snprintf(buf, XS_PATH_MAX, "%s/%s", dir, key)
		    : snprintf(buf, XS_PATH_MAX, "%s", dir);

	return n < 0 || n >= XS_PATH_MAX ? -ENAMETOOLONG : 0;
}

char *xnx_xs_read(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		  const char *key)
{
	char path[XS_PATH_MAX];
	unsigned int len;

	if (join(path, dir, key) < 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return xs_read(xs, t, path, &len);
}

int xnx_xs_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const char *key, unsigned long min, unsigned long max,
		     unsigned long *out)
{
	char *v = xnx_xs_read(xs, t, dir, key);
	int rc;

	if (!v)
		return -errno;
	rc = xnx_parse_uint(v, min, max, out);
	free(v);
	return rc;
}

int xnx_xs_read_uint_def(struct xs_handle *xs, xs_transaction_t t,
			 const char *dir, const char *key, unsigned long min,
			 unsigned long max, unsigned long def,
			 unsigned long *out)
{
	int rc = xnx_xs_read_uint(xs, t, dir, key, min, max, out);

	if (rc == -ENOENT) {
		*out = def;
		return 0;
	}
	return rc;
}

int xnx_xs_read_bool(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const char *key, bool def, bool *out)
{
	unsigned long v;
	int rc = xnx_xs_read_uint_def(xs, t, dir, key, 0, 1, def, &v);

	if (rc == 0)
		*out = v;
	return rc == -ERANGE ? -EINVAL : rc;
}

int xnx_xs_printf(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		  const char *key, const char *fmt, ...)
{
	char path[XS_PATH_MAX], *val;
	va_list ap;
	int n, rc = 0;

	if (join(path, dir, key) < 0)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (!xs_write(xs, t, path, val, (unsigned)n))
		rc = -errno;
	free(val);
	return rc;
}

int xnx_xs_rm(struct xs_handle *xs, xs_transaction_t t, const char *dir,
	      const char *key)
{
	char path[XS_PATH_MAX];

	if (join(path, dir, key) < 0)
		return -ENAMETOOLONG;
	return xs_rm(xs, t, path) ? 0 : -errno;
}

int xnx_xs_transact(struct xs_handle *xs, xnx_xs_txn_fn fn, void *arg)
{
	for (int i = 0; i < XS_TXN_RETRIES; i++) {
		xs_transaction_t t = xs_transaction_start(xs);
		int rc;

		if (t == XBT_NULL)
			return -errno;
		rc = fn(xs, t, arg);
		if (rc < 0) {
			xs_transaction_end(xs, t, true);
			return rc;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
	return -EAGAIN;
}

/* ---- watch dispatch ----------------------------------------------------- */

struct reg {
	unsigned long id;
	char *path;
	xnx_xs_watch_fn fn;
	void *arg;
	struct reg *next;
};

struct xnx_xs_watches {
	struct xs_handle *xs;
	struct reg *regs;
	unsigned long next_id;
};

struct xnx_xs_watches *xnx_xs_watches_new(struct xs_handle *xs)
{
	struct xnx_xs_watches *w = calloc(1, sizeof(*w));

	if (w)
		w->xs = xs;
	return w;
}

static void reg_free(struct reg *r)
{
	free(r->path);
	free(r);
}

void xnx_xs_watches_free(struct xnx_xs_watches *w)
{
	char token[32];

	if (!w)
		return;
	while (w->regs) {
		struct reg *r = w->regs;
		w->regs = r->next;
		snprintf(token, sizeof(token), "xnx%lu", r->id);
		xs_unwatch(w->xs, r->path, token);
		reg_free(r);
	}
	free(w);
}

int xnx_xs_watch_add(struct xnx_xs_watches *w, const char *path,
		     xnx_xs_watch_fn fn, void *arg)
{
	struct reg *r = calloc(1, sizeof(*r));
	char token[32];

	if (!r || !(r->path = strdup(path))) {
		free(r);
		return -ENOMEM;
	}
	r->id = ++w->next_id;
	r->fn = fn;
	r->arg = arg;
	snprintf(token, sizeof(token), "xnx%lu", r->id);
	if (!xs_watch(w->xs, path, token)) {
		int e = errno;
		reg_free(r);
		return -e;
	}
	r->next = w->regs;
	w->regs = r;
	return 0;
}

int xnx_xs_watch_del(struct xnx_xs_watches *w, const char *path, void *arg)
{
	char token[32];

	for (struct reg **p = &w->regs; *p; p = &(*p)->next) {
		struct reg *r = *p;
		if (strcmp(r->path, path) == 0 && r->arg == arg) {
			*p = r->next;
			snprintf(token, sizeof(token), "xnx%lu", r->id);
			xs_unwatch(w->xs, r->path, token);
			reg_free(r);
			return 0;
		}
	}
	return -ENOENT;
}

/* Find the registration for TOKEN; NULL for a stale event of a removed one. */
static struct reg *by_token(struct xnx_xs_watches *w, const char *token)
{
	unsigned long id;

	if (strncmp(token, "xnx", 3) != 0 ||
	    xnx_parse_uint(token + 3, 1, ~0ul, &id) < 0)
		return NULL;
	for (struct reg *r = w->regs; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

int xnx_xs_dispatch(struct xnx_xs_watches *w)
{
	char **vec;
	int n = 0;

	while ((vec = xs_check_watch(w->xs)) != NULL) {
		struct reg *r = by_token(w, vec[XS_WATCH_TOKEN]);
		/* A callback may remove its own registration: take what we need first. */
		if (r) {
			xnx_xs_watch_fn fn = r->fn;
			void *arg = r->arg;
			fn(vec[XS_WATCH_PATH], arg);
			n++;
		}
		free(vec);
	}
	/* NULL with EAGAIN: nothing pending. libxenstore says EINVAL when its
	 * reader thread found the connection closed (and dropped it): every
	 * later call says the same, so name it for what it is. */
	if (errno == EAGAIN)
		return n;
	return errno == EINVAL ? -ECONNRESET : -errno;
}
