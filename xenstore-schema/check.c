/*
 * check.c — the validator: find every vif device directory in a store tree
 * (by the schema's dir patterns), pair fronts with backs, and report each
 * key that breaks the schema with its path and the rule it breaks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnx_xs.h"
#include "xsc_int.h"

#define PATH_BUF 4096
#define WHY_MAX 512
#define QUEUES_MAX 1024		/* bounds per-queue work on a hostile count */
#define NUM_QUEUES_KEY "multi-queue-num-queues"
#define STATE_CONNECTED 4
#define DEVID_MAX 65535ul
#define DOMID_MAX 32751ul

struct dev {
	enum xsc_side side;
	long bdom, domid, devid;	/* -1 when not known */
	char path[PATH_BUF];
	const struct xsc_node *dir;
	int state;			/* -1 when missing or invalid */
	unsigned long nq;		/* queues (front; 1 when not multi-queue) */
	bool mq;
	struct dev *peer;		/* set when both point at each other */
	char link_why[WHY_MAX];		/* why the eq=peer key is wrong, or "" */
};

struct ctx {
	const struct xsc_tree *t;
	const struct xsc_schema *s;
	int domid;
	xsc_report_fn fn;
	void *arg;
	int count;
	struct dev *devs;
	size_t ndev, cap;
};

const char *xsc_kind_name(enum xsc_kind k)
{
	switch (k) {
	case XSC_V_UNKNOWN:   return "unknown-key";
	case XSC_V_VALUE:     return "bad-value";
	case XSC_V_MISSING:   return "missing";
	case XSC_V_FORBIDDEN: return "forbidden";
	case XSC_V_MISMATCH:  return "mismatch";
	case XSC_V_PEER:      return "peer";
	}
	return "invalid";
}

static void report(struct ctx *c, enum xsc_kind kind, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct ctx *c, enum xsc_kind kind, const char *path,
		   const char *fmt, ...)
{
	char why[WHY_MAX];
	struct xsc_violation v = { .kind = kind, .path = path, .reason = why };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->count++;
	if (c->fn)
		c->fn(&v, c->arg);
}

/* A value as it may be printed: at most 48 characters, non-printables as
 * '?' (a hostile value must not break the one-line report). */
static const char *quote(const char *v, size_t len, char *buf, size_t buflen)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 4 < buflen && i < 48; i++)
		buf[n++] = v[i] >= 0x20 && v[i] <= 0x7e && v[i] != '"' ? v[i] : '?';
	if (len > 48 && n + 4 < buflen) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* OUT = A/B; false (and a truncated OUT) if it does not fit. */
static bool join(char *out, const char *a, const char *b)
{
	int n = snprintf(out, PATH_BUF, "%s/%s", a, b);

	return n >= 0 && n < PATH_BUF;
}

static bool in_window(int state, int from)
{
	if (from == XSC_STATE_ANY)
		return true;
	if (state < 0)
		return false;
	return (state >= from && state <= STATE_CONNECTED) ||
	       state == 7 || state == 8;	/* Reconfiguring, Reconfigured */
}

static const struct xsc_node *kid(const struct xsc_node *n, const char *name)
{
	for (n = n ? n->child : NULL; n; n = n->next)
		if (strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

/* The node at REL ("a/b") below device directory D. */
static const struct xsc_node *at(const struct dev *d, const char *rel)
{
	char buf[PATH_BUF];
	const struct xsc_node *n = d->dir;
	char *seg, *save;

	snprintf(buf, sizeof(buf), "%s", rel);
	for (seg = strtok_r(buf, "/", &save); seg && n; seg = strtok_r(NULL, "/", &save))
		n = kid(n, seg);
	return n;
}

static const struct xsc_entry *entry_eq(const struct xsc_schema *s, int side,
					enum xsc_eq eq)
{
	for (size_t i = 0; i < s->n; i++)
		if ((int)s->e[i].side == side && s->e[i].eq == eq)
			return &s->e[i];
	return NULL;
}

static const struct xsc_entry *entry_of_type(const struct xsc_schema *s,
					     int side, enum xsc_type type)
{
	for (size_t i = 0; i < s->n; i++)
		if ((int)s->e[i].side == side && s->e[i].type == type && !s->e[i].per_queue)
			return &s->e[i];
	return NULL;
}

/* ---- finding device directories ------------------------------------------ */

/* Does PATH match PATTERN? Binds <bdom>/<domid>/<devid> (others stay -1). */
static bool pattern_match(const char *pattern, const char *path, long vars[3])
{
	static const char *const names[3] = { "<bdom>", "<domid>", "<devid>" };

	vars[0] = vars[1] = vars[2] = -1;
	while (*pattern && *path) {
		size_t pl, vl;
		if (*pattern != '/' || *path != '/')
			return false;
		pattern++, path++;
		pl = strcspn(pattern, "/");
		vl = strcspn(path, "/");
		if (pattern[0] == '<') {
			char num[16];
			unsigned long x;
			int v = -1;
			for (int i = 0; i < 3; i++)
				if (strlen(names[i]) == pl && strncmp(pattern, names[i], pl) == 0)
					v = i;
			if (v < 0 || vl == 0 || vl >= sizeof(num))
				return false;
			memcpy(num, path, vl);
			num[vl] = '\0';
			if ((num[0] == '0' && num[1]) ||
			    xnx_parse_uint(num, 0, v == 2 ? DEVID_MAX : DOMID_MAX, &x) < 0)
				return false;
			vars[v] = (long)x;
		} else if (pl != vl || strncmp(pattern, path, pl) != 0) {
			return false;
		}
		pattern += pl;
		path += vl;
	}
	return *pattern == '\0' && *path == '\0';
}

static int add_dev(struct ctx *c, int side, const char *path,
		   const struct xsc_node *dir, const long vars[3])
{
	struct dev *d;

	if (c->ndev == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct dev *n = realloc(c->devs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->devs = n;
		c->cap = cap;
	}
	d = &c->devs[c->ndev++];
	memset(d, 0, sizeof(*d));
	d->side = side;
	d->bdom = vars[0];
	d->domid = vars[1];
	d->devid = vars[2];
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->dir = dir;
	d->state = -1;
	d->nq = 1;
	return 0;
}

/* Follow PAT below node N at PATH; every directory at the end of the
 * pattern is a device. A child that cannot be a variable's value (not a
 * number) is reported unless it is the first variable of the pattern
 * (there it is some other domain's business, e.g. /local/domain/<x>). */
static int find_devs(struct ctx *c, int side, const struct xsc_node *n,
		     char *path, size_t len, const char *pat, bool first_var)
{
	size_t sl;
	int rc = 0;

	if (!*pat) {
		long vars[3];
		if (!pattern_match(c->s->dir[side], path, vars))
			return 0;
		return add_dev(c, side, path, n, vars);
	}
	pat++;
	sl = strcspn(pat, "/");
	for (const struct xsc_node *k = n->child; k && rc == 0; k = k->next) {
		size_t kl = strlen(k->name);
		long vars[3];
		if (pat[0] != '<' && (kl != sl || strncmp(k->name, pat, sl) != 0))
			continue;
		if (len + 1 + kl >= PATH_BUF)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, k->name, kl + 1);
		if (pat[0] == '<') {
			char probe[PATH_BUF];
			/* Check this one segment against the pattern prefix. */
			snprintf(probe, sizeof(probe), "%.*s", (int)(pat + sl - c->s->dir[side]),
				 c->s->dir[side]);
			if (!pattern_match(probe, path, vars)) {
				if (!first_var && (c->domid < 0))
					report(c, XSC_V_UNKNOWN, path,
					       "directory name '%s' is not a valid %.*s", k->name,
					       (int)sl, pat);
				path[len] = '\0';
				continue;
			}
		}
		rc = find_devs(c, side, k, path, len + 1 + kl, pat + sl,
			       first_var && pat[0] != '<');
		path[len] = '\0';
	}
	return rc;
}

/* ---- pairing ------------------------------------------------------------------ */

static struct dev *dev_by_path(struct ctx *c, int side, const char *path)
{
	for (size_t i = 0; i < c->ndev; i++)
		if ((int)c->devs[i].side == side && strcmp(c->devs[i].path, path) == 0)
			return &c->devs[i];
	return NULL;
}

/* The expected value of D's eq=peer key, or "" when it cannot be known. */
static void expected_peer(const struct ctx *c, const struct dev *d, char *out)
{
	const char *pat = c->s->dir[XSC_OTHER(d->side)];
	size_t n = 0;

	out[0] = '\0';
	for (const char *p = pat; *p && n < PATH_BUF - 16;) {
		long v = -2;
		if (strncmp(p, "<bdom>", 6) == 0)
			v = d->bdom, p += 6;
		else if (strncmp(p, "<domid>", 7) == 0)
			v = d->domid, p += 7;
		else if (strncmp(p, "<devid>", 7) == 0)
			v = d->devid, p += 7;
		if (v == -1) {
			out[0] = '\0';
			return;
		}
		if (v >= 0)
			n += snprintf(out + n, PATH_BUF - n, "%ld", v);
		else
			out[n++] = *p++;
	}
	out[n] = '\0';
}

/* Work out whether D's eq=peer key names the right directory and whether
 * that one points back; remember why not in D->link_why. */
static void pair(struct ctx *c, struct dev *d)
{
	const struct xsc_entry *le = entry_eq(c->s, d->side, XSC_EQ_PEER);
	const struct xsc_entry *pe = entry_eq(c->s, XSC_OTHER(d->side), XSC_EQ_PEER);
	const struct xsc_node *ln = le ? kid(d->dir, le->key) : NULL;
	char want[PATH_BUF], q[64];
	long vars[3];
	struct dev *p;

	if (!ln || strlen(ln->value) != ln->len)
		return;		/* missing or bad: reported as such */
	if (d->side == XSC_FRONT && pattern_match(c->s->dir[XSC_BACK], ln->value, vars) &&
	    vars[1] == d->domid && vars[2] == d->devid)
		d->bdom = vars[0];
	expected_peer(c, d, want);
	if (!want[0] || strcmp(want, ln->value) != 0) {
		snprintf(d->link_why, sizeof(d->link_why),
			 "\"%s\" is not this device's %s directory (%s)",
			 quote(ln->value, ln->len, q, sizeof(q)),
			 d->side == XSC_BACK ? "frontend" : "backend",
			 want[0] ? want : c->s->dir[XSC_OTHER(d->side)]);
		return;
	}
	p = dev_by_path(c, XSC_OTHER(d->side), want);
	if (!p) {
		snprintf(d->link_why, sizeof(d->link_why), "points at %s, which does not exist", want);
		return;
	}
	ln = pe ? kid(p->dir, pe->key) : NULL;
	if (!ln || strcmp(ln->value, d->path) != 0) {
		snprintf(d->link_why, sizeof(d->link_why), "points at %s, whose %s is %s%s%s, not this directory",
			 want, pe ? pe->key : "link", ln ? "\"" : "",
			 ln ? quote(ln->value, ln->len, q, sizeof(q)) : "missing", ln ? "\"" : "");
		return;
	}
	d->peer = p;
}

/* ---- one device ------------------------------------------------------------ */

static void read_state(struct ctx *c, struct dev *d)
{
	const struct xsc_entry *se = entry_of_type(c->s, d->side, XSC_T_STATE);
	const struct xsc_node *n = se ? kid(d->dir, se->key) : NULL;
	unsigned long v;

	if (n && xnx_parse_uint(n->value, 0, 8, &v) == 0)
		d->state = (int)v;
	n = kid(d->dir, NUM_QUEUES_KEY);
	if (d->side == XSC_FRONT && n && xnx_parse_uint(n->value, 1, DEVID_MAX, &v) == 0) {
		d->nq = v;
		d->mq = v >= 2;
	}
}

static const struct xsc_entry *match(const struct ctx *c, int side,
				     const char *rel, long *queue)
{
	for (size_t i = 0; i < c->s->n; i++)
		if ((int)c->s->e[i].side == side && xsc_key_match(&c->s->e[i], rel, queue))
			return &c->s->e[i];
	return NULL;
}

/* Placement rules: multi-queue layout and queue numbers. True if reported. */
static bool misplaced(struct ctx *c, const struct dev *d, const struct xsc_entry *e,
		      const char *path, long queue)
{
	if (e->mq == XSC_MQ_YES && !d->mq) {
		report(c, XSC_V_FORBIDDEN, path, "only in a multi-queue frontend, and %s is %lu",
		       NUM_QUEUES_KEY, d->nq);
		return true;
	}
	if (e->mq == XSC_MQ_NO && d->mq) {
		report(c, XSC_V_FORBIDDEN, path,
		       "a multi-queue frontend (%s=%lu) must not write it; it belongs in queue-N/",
		       NUM_QUEUES_KEY, d->nq);
		return true;
	}
	if (queue >= 0 && (unsigned long)queue >= d->nq) {
		report(c, XSC_V_FORBIDDEN, path, "queue %ld, but %s is %lu", queue,
		       NUM_QUEUES_KEY, d->nq);
		return true;
	}
	return false;
}

static bool nonzero(const char *v)
{
	return v[0] && strcmp(v, "0") != 0;
}

/* peer= and max=: rules against the paired other side. */
static void check_peer(struct ctx *c, const struct dev *d, const struct xsc_entry *e,
		       const struct xsc_node *n, const char *path)
{
	const struct xsc_node *pn;
	unsigned long v, limit;
	char q[64];

	if (!d->peer)
		return;
	if (e->peer_key[0] && nonzero(n->value)) {
		pn = kid(d->peer->dir, e->peer_key);
		if (!pn || !nonzero(pn->value))
			report(c, XSC_V_PEER, path, "set to %s, but needs %s/%s, which is %s%s%s",
			       quote(n->value, n->len, q, sizeof(q)), d->peer->path, e->peer_key,
			       pn ? "\"" : "", pn ? pn->value : "absent", pn ? "\"" : "");
	}
	if (e->max_key[0] && xnx_parse_uint(n->value, 0, ~0ul, &v) == 0) {
		pn = kid(d->peer->dir, e->max_key);
		limit = e->max_def;
		if (pn && xnx_parse_uint(pn->value, 0, ~0ul, &limit) < 0)
			return;		/* the peer's bad value is reported there */
		if (v > limit)
			report(c, XSC_V_PEER, path, "%lu exceeds %s/%s = %lu%s", v, d->peer->path,
			       e->max_key, limit, pn ? "" : " (absent)");
	}
}

/* eq=: the value against the path variables or the other side. */
static void check_eq(struct ctx *c, const struct dev *d, const struct xsc_entry *e,
		     const struct xsc_node *n, const char *path)
{
	static const char *const names[] = { "", "<domid>", "<devid>", "<bdom>" };
	long want = -1;
	unsigned long v;

	switch (e->eq) {
	case XSC_EQ_NONE:
		return;
	case XSC_EQ_PEER:
		if (d->link_why[0])
			report(c, XSC_V_MISMATCH, path, "%s", d->link_why);
		return;
	case XSC_EQ_DOMID: want = d->domid; break;
	case XSC_EQ_DEVID: want = d->devid; break;
	case XSC_EQ_BDOM:  want = d->bdom; break;
	}
	if (want < 0 || xnx_parse_uint(n->value, 0, ~0ul, &v) < 0)
		return;
	if ((long)v != want)
		report(c, XSC_V_MISMATCH, path, "is %lu, but %s of %s is %ld", v, names[e->eq],
		       e->eq == XSC_EQ_BDOM && d->side == XSC_FRONT ? "the backend path" : "this path",
		       want);
}

static void check_node(struct ctx *c, const struct dev *d, const struct xsc_node *n,
		       const char *rel)
{
	char path[PATH_BUF], why[WHY_MAX], q[64], sub[PATH_BUF];
	const struct xsc_entry *e;
	long queue;

	if (!join(path, d->path, rel))
		return;		/* deeper than any store path can be */
	e = match(c, d->side, rel, &queue);
	if (!e) {
		report(c, XSC_V_UNKNOWN, path, "not a %s vif key in the schema",
		       d->side == XSC_BACK ? "backend" : "frontend");
		return;
	}
	if (misplaced(c, d, e, path, queue))
		return;
	if (xsc_value_ok(e, n->value, n->len, why, sizeof(why)) < 0) {
		report(c, XSC_V_VALUE, path, "\"%s\": %s (type %s)",
		       quote(n->value, n->len, q, sizeof(q)), why, e->type_text);
	} else if (e->has_must && in_window(d->state, e->from_state) &&
		   strcmp(n->value, e->must) != 0) {
		report(c, XSC_V_VALUE, path, "is \"%s\", but must be \"%s\" from %s on (state is %s)",
		       quote(n->value, n->len, q, sizeof(q)), e->must,
		       xsc_state_name(e->from_state), xsc_state_name(d->state));
	} else {
		check_eq(c, d, e, n, path);
		check_peer(c, d, e, n, path);
	}
	for (const struct xsc_node *k = n->child; k; k = k->next) {
		if (join(sub, rel, k->name))
			check_node(c, d, k, sub);
	}
}

/* KEY with queue-<N> replaced by queue-Q. */
static void instance(const char *key, long q, char *out, size_t len)
{
	const char *m = strstr(key, "queue-<N>");

	if (!m || q < 0)
		snprintf(out, len, "%s", key);
	else
		snprintf(out, len, "%.*squeue-%ld%s", (int)(m - key), key, q, m + 9);
}

/* REL's sibling KEY (same directory). */
static void sibling(const char *rel, const char *key, char *out, size_t len)
{
	const char *slash = strrchr(rel, '/');

	snprintf(out, len, "%.*s%s", slash ? (int)(slash - rel + 1) : 0, rel, key);
}

static void check_required_one(struct ctx *c, const struct dev *d,
			       const struct xsc_entry *e, long q)
{
	char rel[PATH_BUF], sib[PATH_BUF], path[PATH_BUF];

	instance(e->key, q, rel, sizeof(rel));
	if (e->if_key[0]) {
		sibling(rel, e->if_key, sib, sizeof(sib));
		if (!at(d, sib))
			return;
	}
	if (e->unless_key[0]) {
		sibling(rel, e->unless_key, sib, sizeof(sib));
		if (at(d, sib))
			return;
	}
	if (at(d, rel))
		return;
	if (!join(path, d->path, rel))
		return;
	if (e->from_state == XSC_STATE_ANY)
		report(c, XSC_V_MISSING, path, "required%s%s%s", e->if_key[0] ? " when " : "",
		       e->if_key, e->if_key[0] ? " is present" : "");
	else
		report(c, XSC_V_MISSING, path, "required from %s on, and state is %s%s%s%s",
		       xsc_state_name(e->from_state), xsc_state_name(d->state),
		       e->if_key[0] ? ", with " : "", e->if_key, e->if_key[0] ? " present" : "");
}

static void check_required(struct ctx *c, const struct dev *d)
{
	for (size_t i = 0; i < c->s->n; i++) {
		const struct xsc_entry *e = &c->s->e[i];
		if ((int)e->side != (int)d->side || !e->required || e->prefix)
			continue;
		if ((e->mq == XSC_MQ_YES && !d->mq) || (e->mq == XSC_MQ_NO && d->mq))
			continue;
		if (!in_window(d->state, e->from_state))
			continue;
		if (!e->per_queue) {
			check_required_one(c, d, e, -1);
			continue;
		}
		for (unsigned long q = 0; q < d->nq && q < QUEUES_MAX; q++)
			check_required_one(c, d, e, (long)q);
	}
}

static void check_dev(struct ctx *c, const struct dev *d)
{
	for (const struct xsc_node *k = d->dir->child; k; k = k->next)
		check_node(c, d, k, k->name);
	check_required(c, d);
}

int xsc_check_tree(const struct xsc_tree *t, const struct xsc_schema *s,
		   int domid, xsc_report_fn fn, void *arg)
{
	struct ctx c = { .t = t, .s = s, .domid = domid, .fn = fn, .arg = arg };
	char path[PATH_BUF];
	int rc = 0;

	if (!t || !s) {
		errno = EINVAL;
		return -1;
	}
	for (int side = 0; side < 2 && rc == 0; side++) {
		path[0] = '\0';
		rc = find_devs(&c, side, &t->root, path, 0, s->dir[side], true);
	}
	if (rc < 0) {
		free(c.devs);
		errno = -rc;
		return -1;
	}
	for (size_t i = 0; i < c.ndev; i++)
		read_state(&c, &c.devs[i]);
	for (size_t i = 0; i < c.ndev; i++)
		pair(&c, &c.devs[i]);
	for (size_t i = 0; i < c.ndev; i++)
		if (domid < 0 || c.devs[i].domid == domid)
			check_dev(&c, &c.devs[i]);
	free(c.devs);
	return c.count;
}

int xsc_check_store(struct xs_handle *xs, const struct xsc_schema *s,
		    int domid, xsc_report_fn fn, void *arg)
{
	struct xsc_tree *t = xsc_tree_from_store(xs, s);
	int n, e;

	if (!t)
		return -1;
	n = xsc_check_tree(t, s, domid, fn, arg);
	e = errno;
	xsc_tree_free(t);
	errno = e;
	return n;
}
