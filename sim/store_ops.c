/*
 * store_ops.c — the xs_wire request handlers of xnet-simd's xenstore, one
 * per message type, with C xenstored's argument rules and error codes:
 * unknown types get ENOSYS, privileged-only types from a guest EACCES, a
 * bad transaction id ENOENT, bad arguments EINVAL, a reply that does not
 * fit in XENSTORE_PAYLOAD_MAX E2BIG. Every error is an ERROR reply naming
 * the errno; the connection carries on.
 *
 * Sim specifics: INTRODUCE only marks the domain introduced and fires
 * @introduceDomain (there is no ring page to map; the toolstack side,
 * sim_store_domain_introduce, writes the domain's skeleton). RELEASE marks
 * it released, drops its connections and fires @releaseDomain, leaving its
 * nodes to the toolstack as xenstored does. SET_TARGET gives a domain its
 * target's rights (owner or listed in a node's permissions). CONTROL knows
 * help, check, log, print, quota, dump and dump-file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xnx_log.h"

typedef int (*op_fn)(struct st_conn *c, const struct xsd_sockmsg *h,
		     char *body, struct st_view *v);

const char *st_errname(int err)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EINVAL";	/* as xenstored does for an untranslatable one */
}

static int reply(struct st_conn *c, const struct xsd_sockmsg *h,
		 const void *data, size_t len)
{
	if (len > XENSTORE_PAYLOAD_MAX)
		return E2BIG;
	st_send(c, h->type, h->req_id, h->tx_id, data, len, true);
	return 0;
}

static int ack(struct st_conn *c, const struct xsd_sockmsg *h)
{
	return reply(c, h, "OK", 3);
}

/* The single argument: the payload must hold exactly one NUL, at its end. */
static const char *onearg(const struct xsd_sockmsg *h, const char *body)
{
	if (!h->len || memchr(body, 0, h->len) != body + h->len - 1)
		return NULL;
	return body;
}

static unsigned count_strings(const struct xsd_sockmsg *h, const char *body)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < h->len; i++)
		if (!body[i])
			n++;
	return n;
}

/* Up to MAX NUL-terminated strings from the payload; returns how many. */
static unsigned get_strings(const struct xsd_sockmsg *h, const char *body,
			    const char **vec, unsigned max)
{
	unsigned n = 0;
	uint32_t i = 0;

	while (n < max && i < h->len) {
		const char *nul = memchr(body + i, 0, h->len - i);

		if (!nul)
			break;
		vec[n++] = body + i;
		i = (uint32_t)(nul - body) + 1;
	}
	return n;
}

/* Canonicalise the path argument and look it up with WANT permission. */
static int lookup(struct st_view *v, const char *arg, bool special,
		  unsigned want, char **name, const struct st_node **n)
{
	int rc = st_canonical(v->domid, arg, special, name);

	return rc ? rc : st_access(v, *name, want, n);
}

/* ---- reads -------------------------------------------------------------- */

static int op_read(struct st_conn *c, const struct xsd_sockmsg *h,
		   char *body, struct st_view *v)
{
	const struct st_node *n;
	char *name;
	int rc = lookup(v, onearg(h, body), false, XS_PERM_READ, &name, &n);

	if (!rc)
		rc = reply(c, h, n->value, n->vlen);
	free(name);
	return rc;
}

static int op_directory(struct st_conn *c, const struct xsd_sockmsg *h,
			char *body, struct st_view *v)
{
	const struct st_node *n;
	char *name, buf[XENSTORE_PAYLOAD_MAX];
	size_t len = 0;
	int rc = lookup(v, onearg(h, body), false, XS_PERM_READ, &name, &n);

	free(name);
	if (rc)
		return rc;
	for (unsigned i = 0; i < n->nkids; i++) {
		size_t k = strlen(n->kids[i]) + 1;

		if (len + k > sizeof(buf))
			return E2BIG;	/* the client falls back to DIRECTORY_PART */
		memcpy(buf + len, n->kids[i], k);
		len += k;
	}
	return reply(c, h, buf, len);
}

/* A strict unsigned decimal; 0 or EINVAL. */
static int parse_offset(const char *s, unsigned long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end ? EINVAL : 0;
}

/* <path>|<offset>| → <gen>|<child>|*: children from byte OFFSET of the
 * NUL-separated list, as many as fit; an extra NUL marks the end. */
static int op_directory_part(struct st_conn *c, const struct xsd_sockmsg *h,
			     char *body, struct st_view *v)
{
	const char *arg[2];
	const struct st_node *n;
	char *name, buf[XENSTORE_PAYLOAD_MAX], gen[24];
	size_t off, total = 0, len = 0, genlen, maxlen, pos = 0;
	unsigned long ul;
	int rc;

	if (count_strings(h, body) != 2 || get_strings(h, body, arg, 2) != 2)
		return EINVAL;
	rc = lookup(v, arg[0], false, XS_PERM_READ, &name, &n);
	free(name);
	if (rc)
		return rc;
	if (parse_offset(arg[1], &ul))
		return EINVAL;
	off = ul;
	genlen = (size_t)snprintf(gen, sizeof(gen), "%llu",
				  (unsigned long long)n->gen) + 1;
	memcpy(buf, gen, genlen);
	maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
	for (unsigned i = 0; i < n->nkids; i++)
		total += strlen(n->kids[i]) + 1;
	if (off >= total) {
		buf[genlen] = '\0';
		return reply(c, h, buf, genlen + 1);
	}
	for (unsigned i = 0; i < n->nkids; i++) {
		size_t k = strlen(n->kids[i]) + 1, skip = 0, part;

		if (pos + k <= off) {
			pos += k;
			continue;
		}
		if (pos < off)
			skip = off - pos;	/* the offset fell inside a name */
		part = k - skip;
		if (len + part - 1 >= maxlen)
			break;	/* the rest in the next call */
		memcpy(buf + genlen + len, n->kids[i] + skip, part);
		len += part;
		pos += k;
	}
	if (off + len == total)
		buf[genlen + len++] = '\0';
	return reply(c, h, buf, genlen + len);
}

static int perm_char(unsigned p)
{
	switch (p & (XS_PERM_READ | XS_PERM_WRITE)) {
	case XS_PERM_READ: return 'r';
	case XS_PERM_WRITE: return 'w';
	case XS_PERM_READ | XS_PERM_WRITE: return 'b';
	default: return 'n';
	}
}

static int op_get_perms(struct st_conn *c, const struct xsd_sockmsg *h,
			char *body, struct st_view *v)
{
	const struct st_node *n;
	char *name, buf[XENSTORE_PAYLOAD_MAX];
	size_t len = 0;
	int rc = lookup(v, onearg(h, body), true, XS_PERM_READ, &name, &n);

	free(name);
	if (rc)
		return rc;
	for (unsigned i = 0; i < n->nperm; i++) {
		int k = snprintf(buf + len, sizeof(buf) - len, "%c%u",
				 perm_char(n->perm[i].perms), n->perm[i].id);

		if (k < 0 || (size_t)k + 1 > sizeof(buf) - len)
			return E2BIG;
		len += (size_t)k + 1;
	}
	return reply(c, h, buf, len);
}

/* ---- writes ------------------------------------------------------------- */

static int op_write(struct st_conn *c, const struct xsd_sockmsg *h,
		    char *body, struct st_view *v)
{
	const char *nul = memchr(body, 0, h->len);
	const struct st_node *n;
	char *name;
	unsigned vlen;
	int rc;

	if (!nul)
		return EINVAL;
	vlen = h->len - (unsigned)(nul - body) - 1;
	if (!st_conn_priv(c) && vlen > c->st->quota.value_size)
		return ENOSPC;
	rc = lookup(v, body, false, XS_PERM_WRITE, &name, &n);
	if (rc == 0) {
		struct st_node *m = st_modify(v, name);

		st_node_set_value(m, nul + 1, vlen);
		st_changed(v, name, false, m, NULL);
	} else if (rc == ENOENT) {
		rc = st_create(v, name, nul + 1, vlen);
		if (!rc)
			st_changed(v, name, false, st_get(v, name), NULL);
	}
	free(name);
	return rc ? rc : ack(c, h);
}

static int op_mkdir(struct st_conn *c, const struct xsd_sockmsg *h,
		    char *body, struct st_view *v)
{
	const struct st_node *n;
	char *name;
	int rc = lookup(v, onearg(h, body), false, XS_PERM_WRITE, &name, &n);

	if (rc == ENOENT) {
		rc = st_create(v, name, NULL, 0);
		if (!rc)
			st_changed(v, name, false, st_get(v, name), NULL);
	}
	free(name);
	return rc ? rc : ack(c, h);
}

static int op_rm(struct st_conn *c, const struct xsd_sockmsg *h,
		 char *body, struct st_view *v)
{
	const struct st_node *n;
	char *name, *parent;
	int rc = lookup(v, onearg(h, body), false, XS_PERM_WRITE, &name, &n);

	if (rc == ENOENT) {
		/* Already gone is fine, if the parent exists. */
		parent = st_parent(name);
		rc = st_get(v, parent) ? 0 : ENOENT;
		free(parent);
	} else if (rc == 0) {
		rc = strcmp(name, "/") == 0 ? EINVAL : st_remove(v, name);
	}
	free(name);
	return rc ? rc : ack(c, h);
}

/* "r5" → {5, XS_PERM_READ}; 0 or EINVAL. */
static int parse_perm(const char *s, struct xs_permissions *p)
{
	unsigned id;

	switch (s[0]) {
	case 'r': p->perms = XS_PERM_READ; break;
	case 'w': p->perms = XS_PERM_WRITE; break;
	case 'b': p->perms = XS_PERM_READ | XS_PERM_WRITE; break;
	case 'n': p->perms = XS_PERM_NONE; break;
	default: return EINVAL;
	}
	if (st_parse_domid(s + 1, &id))
		return EINVAL;
	p->id = id;
	return 0;
}

static int op_set_perms(struct st_conn *c, const struct xsd_sockmsg *h,
			char *body, struct st_view *v)
{
	unsigned np = count_strings(h, body);
	const struct st_node *n;
	struct st_node *m, old = { 0 };
	struct xs_permissions *perm;
	const char *s;
	char *name;
	int rc = 0;

	if (np < 2)
		return EINVAL;
	np--;
	if (!st_conn_priv(c) && np > c->st->quota.perms)
		return ENOSPC;
	perm = st_xcalloc(np, sizeof(*perm));
	s = body + strlen(body) + 1;
	for (unsigned i = 0; i < np && !rc; i++, s += strlen(s) + 1)
		rc = parse_perm(s, &perm[i]);
	if (rc) {
		free(perm);
		return rc;
	}
	rc = lookup(v, body, true, XS_PERM_WRITE | XS_PERM_OWNER, &name, &n);
	if (!rc && !st_conn_priv(c) && perm[0].id != n->perm[0].id)
		rc = EPERM;	/* only the tools may give a node away */
	if (!rc) {
		m = st_modify(v, name);
		old.perm = st_xmalloc(m->nperm * sizeof(*old.perm));
		memcpy(old.perm, m->perm, m->nperm * sizeof(*old.perm));
		old.nperm = m->nperm;
		st_set_perms(v, m, perm, np);
		st_changed(v, name, false, m, &old);
		free(old.perm);
	}
	free(perm);
	free(name);
	return rc ? rc : ack(c, h);
}

/* ---- watches and transactions ------------------------------------------- */

static int op_watch(struct st_conn *c, const struct xsd_sockmsg *h,
		    char *body, struct st_view *v)
{
	const char *arg[2];
	struct st_watch *w;
	int rc;

	(void)v;
	if (get_strings(h, body, arg, 2) != 2)
		return EINVAL;
	rc = st_watch_add(c, arg[0], arg[1], &w);
	if (rc)
		return rc;
	ack(c, h);
	/* Every new watch fires once at once, as in xenstored. */
	if (!c->dead)
		st_watch_event(c, w, w->path);
	return 0;
}

static int op_unwatch(struct st_conn *c, const struct xsd_sockmsg *h,
		      char *body, struct st_view *v)
{
	const char *arg[2];
	int rc;

	(void)v;
	if (get_strings(h, body, arg, 2) != 2)
		return EINVAL;
	rc = st_watch_del(c, arg[0], arg[1]);
	return rc ? rc : ack(c, h);
}

static int op_reset_watches(struct st_conn *c, const struct xsd_sockmsg *h,
			    char *body, struct st_view *v)
{
	(void)body;
	(void)v;
	st_watch_clear(c);
	st_txn_clear(c);
	return ack(c, h);
}

static int op_txn_start(struct st_conn *c, const struct xsd_sockmsg *h,
			char *body, struct st_view *v)
{
	char buf[16];
	uint32_t id;
	int rc;

	(void)body;
	if (v->txn)
		return EBUSY;
	rc = st_txn_start(c, &id);
	if (rc)
		return rc;
	return reply(c, h, buf, (size_t)snprintf(buf, sizeof(buf), "%u", id) + 1);
}

static int op_txn_end(struct st_conn *c, const struct xsd_sockmsg *h,
		      char *body, struct st_view *v)
{
	const char *arg = onearg(h, body);
	int rc;

	if (!v->txn)
		return ENOENT;
	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	rc = st_txn_end(c, v->txn->id, arg[0] == 'T');
	return rc ? rc : ack(c, h);
}

/* ---- domains ------------------------------------------------------------ */

static int domid_arg(const struct xsd_sockmsg *h, const char *body,
		     unsigned *domid)
{
	const char *arg;

	if (get_strings(h, body, &arg, 1) != 1)
		return EINVAL;
	return st_parse_domid(arg, domid);
}

static int op_introduce(struct st_conn *c, const struct xsd_sockmsg *h,
			char *body, struct st_view *v)
{
	const char *arg[3];
	unsigned domid;

	(void)v;
	if (get_strings(h, body, arg, 3) != 3 || st_parse_domid(arg[0], &domid))
		return EINVAL;
	st_domain_get(c->st, domid)->introduced = true;
	st_special_fire(c->st, "@introduceDomain");
	return ack(c, h);
}

static int op_release(struct st_conn *c, const struct xsd_sockmsg *h,
		      char *body, struct st_view *v)
{
	struct st_domain *d;
	unsigned domid;

	(void)v;
	if (domid_arg(h, body, &domid) || domid == 0)
		return EINVAL;
	d = st_domain_find(c->st, domid);
	if (!d || !d->introduced)
		return ENOENT;
	d->introduced = false;
	st_close_domain_conns(c->st, domid);
	st_special_fire(c->st, "@releaseDomain");
	return ack(c, h);
}

static int op_resume(struct st_conn *c, const struct xsd_sockmsg *h,
		     char *body, struct st_view *v)
{
	struct st_domain *d;
	unsigned domid;

	(void)v;
	if (domid_arg(h, body, &domid))
		return EINVAL;
	d = st_domain_find(c->st, domid);
	return d && d->introduced ? ack(c, h) : ENOENT;
}

/* <domid>|<tdomid>|: DOMID (a device model, say) acts for TDOMID. */
static int op_set_target(struct st_conn *c, const struct xsd_sockmsg *h,
			 char *body, struct st_view *v)
{
	const char *arg[2];
	struct st_domain *d, *t;
	unsigned domid, tdomid;

	(void)v;
	if (get_strings(h, body, arg, 2) != 2 || st_parse_domid(arg[0], &domid) ||
	    st_parse_domid(arg[1], &tdomid))
		return EINVAL;
	d = st_domain_find(c->st, domid);
	t = st_domain_find(c->st, tdomid);
	if (!d || !d->introduced || !t || !t->introduced)
		return ENOENT;
	d->has_target = true;
	d->target = tdomid;
	return ack(c, h);
}

static int op_is_introduced(struct st_conn *c, const struct xsd_sockmsg *h,
			    char *body, struct st_view *v)
{
	struct st_domain *d;
	unsigned domid;

	(void)v;
	if (domid_arg(h, body, &domid))
		return EINVAL;
	d = st_domain_find(c->st, domid);
	return reply(c, h, domid == 0 || (d && d->introduced) ? "T" : "F", 2);
}

static int op_get_domain_path(struct st_conn *c, const struct xsd_sockmsg *h,
			      char *body, struct st_view *v)
{
	char buf[40];
	unsigned domid;

	(void)v;
	if (domid_arg(h, body, &domid))
		return EINVAL;
	return reply(c, h, buf,
		     (size_t)snprintf(buf, sizeof(buf), "/local/domain/%u", domid) + 1);
}

/* ---- CONTROL -------------------------------------------------------------- */

static const char *const level_names[] = { "err", "warn", "info", "debug" };

static int ctl_log(struct st_conn *c, const struct xsd_sockmsg *h,
		   const char **arg, unsigned n)
{
	if (n < 2) {
		const char *cur = level_names[xnx_log_get_level()];

		return reply(c, h, cur, strlen(cur) + 1);
	}
	if (!strcmp(arg[1], "on"))
		xnx_log_set_level(XNX_LOG_INFO);
	else if (!strcmp(arg[1], "off"))
		xnx_log_set_level(XNX_LOG_ERR);
	else {
		unsigned i = 0;

		while (i < 4 && strcmp(arg[1], level_names[i]))
			i++;
		if (i == 4)
			return EINVAL;
		xnx_log_set_level((enum xnx_log_level)i);
	}
	return ack(c, h);
}

static int ctl_quota(struct sim_store *st, struct st_conn *c,
		     const struct xsd_sockmsg *h, const char **arg, unsigned n)
{
	char buf[1024];
	int rc;

	if (n == 3)
		return (rc = st_quota_set(&st->quota, arg[1], arg[2])) ? rc : ack(c, h);
	if (n != 1)
		return EINVAL;
	rc = st_quota_show(&st->quota, buf, sizeof(buf));
	return reply(c, h, buf, (size_t)rc + 1);
}

/* dump [ROOT] → the tree as text; dump-file FILE [ROOT] writes it to FILE
 * (for trees larger than one reply). */
static int ctl_dump(struct sim_store *st, struct st_conn *c,
		    const struct xsd_sockmsg *h, const char **arg, unsigned n)
{
	bool to_file = !strcmp(arg[0], "dump-file");
	const char *root = n > (to_file ? 2u : 1u) ? arg[to_file ? 2 : 1] : "/";
	size_t len;
	char *text;
	int rc = 0;

	if (to_file && n < 2)
		return EINVAL;
	if (!st_table_get(&st->tree, root))
		return ENOENT;
	text = st_dump(st, root, &len);
	if (to_file) {
		FILE *f = fopen(arg[1], "w");

		if (!f || fwrite(text, 1, len, f) != len)
			rc = EIO;
		if (f && fclose(f))
			rc = EIO;
		if (!rc)
			rc = ack(c, h);
	} else {
		rc = reply(c, h, text, len + 1);
	}
	free(text);
	return rc;
}

static int op_control(struct st_conn *c, const struct xsd_sockmsg *h,
		      char *body, struct st_view *v)
{
	static const char help[] = "check\nlog [on|off|err|warn|info|debug]\n"
		"print STRING\nquota [NAME VALUE]\ndump [ROOT]\n"
		"dump-file FILE [ROOT]\nhelp\n";
	const char *arg[4];
	unsigned n = get_strings(h, body, arg, 4);

	(void)v;
	if (n == 0)
		return EINVAL;
	if (!strcmp(arg[0], "help"))
		return reply(c, h, help, sizeof(help));
	if (!strcmp(arg[0], "check"))
		return ack(c, h);
	if (!strcmp(arg[0], "log"))
		return ctl_log(c, h, arg, n);
	if (!strcmp(arg[0], "print")) {
		xnx_info("xenstore: %s", n > 1 ? arg[1] : "");
		return ack(c, h);
	}
	if (!strcmp(arg[0], "quota"))
		return ctl_quota(c->st, c, h, arg, n);
	if (!strcmp(arg[0], "dump") || !strcmp(arg[0], "dump-file"))
		return ctl_dump(c->st, c, h, arg, n);
	return EINVAL;
}

/* ---- dispatch -------------------------------------------------------------- */

#define PRIV	1u	/* domain 0 only */
#define NOTID	2u	/* the tx_id is ignored */

static const struct {
	const char *name;
	op_fn fn;
	unsigned flags;
} ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { "CONTROL", op_control, PRIV },
	[XS_DIRECTORY] = { "DIRECTORY", op_directory, 0 },
	[XS_READ] = { "READ", op_read, 0 },
	[XS_GET_PERMS] = { "GET_PERMS", op_get_perms, 0 },
	[XS_WATCH] = { "WATCH", op_watch, NOTID },
	[XS_UNWATCH] = { "UNWATCH", op_unwatch, NOTID },
	[XS_TRANSACTION_START] = { "TRANSACTION_START", op_txn_start, 0 },
	[XS_TRANSACTION_END] = { "TRANSACTION_END", op_txn_end, 0 },
	[XS_INTRODUCE] = { "INTRODUCE", op_introduce, PRIV },
	[XS_RELEASE] = { "RELEASE", op_release, PRIV },
	[XS_GET_DOMAIN_PATH] = { "GET_DOMAIN_PATH", op_get_domain_path, 0 },
	[XS_WRITE] = { "WRITE", op_write, 0 },
	[XS_MKDIR] = { "MKDIR", op_mkdir, 0 },
	[XS_RM] = { "RM", op_rm, 0 },
	[XS_SET_PERMS] = { "SET_PERMS", op_set_perms, 0 },
	[XS_IS_DOMAIN_INTRODUCED] = { "IS_DOMAIN_INTRODUCED", op_is_introduced, PRIV },
	[XS_RESUME] = { "RESUME", op_resume, PRIV },
	[XS_SET_TARGET] = { "SET_TARGET", op_set_target, PRIV },
	[XS_RESET_WATCHES] = { "RESET_WATCHES", op_reset_watches, 0 },
	[XS_DIRECTORY_PART] = { "DIRECTORY_PART", op_directory_part, 0 },
};

/* Tier-1 errors: a reply, plus a rate-limited line for what looks like a
 * broken or hostile client (the everyday ENOENT, EAGAIN... only at debug). */
static void log_error(const struct st_conn *c, const struct xsd_sockmsg *h,
		      const char *body, int rc)
{
	static struct xnx_ratelimit rl = XNX_RATELIMIT_INIT(20, 5);
	const char *name = h->type < XS_TYPE_COUNT && ops[h->type].name
			   ? ops[h->type].name : "unknown";
	bool odd = rc == EINVAL || rc == ENOSYS || rc == E2BIG;
	char what[65];
	size_t i = 0;

	/* The first argument says where; printable characters only. */
	for (; i < h->len && i < sizeof(what) - 1 && body[i]; i++)
		what[i] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : '?';
	what[i] = '\0';

	if (odd)
		xnx_log_rl(&rl, XNX_LOG_INFO, "xenstore: domain %u: %s (type %u, "
			   "%u bytes) '%s': %s", c->domid, name, h->type,
			   h->len, what, st_errname(rc));
	else
		xnx_debug("xenstore: domain %u: %s '%s': %s", c->domid, name,
			  what, st_errname(rc));
}

void st_dispatch(struct st_conn *c, const struct xsd_sockmsg *h, char *body)
{
	struct st_view v = { .st = c->st, .conn = c, .domid = c->domid };
	int rc;

	if (h->type >= XS_TYPE_COUNT || !ops[h->type].fn)
		rc = ENOSYS;
	else if ((ops[h->type].flags & PRIV) && !st_conn_priv(c))
		rc = EACCES;
	else if (!(ops[h->type].flags & NOTID) && h->tx_id &&
		 !(v.txn = st_txn_find(c, h->tx_id)))
		rc = ENOENT;
	else if (v.txn && h->type != XS_TRANSACTION_END && !st_conn_priv(c) &&
		 v.txn->shadow.count >= c->st->quota.txn_nodes)
		rc = ENOSPC;	/* the transaction has touched too much */
	else
		rc = ops[h->type].fn(c, h, body, &v);
	if (rc) {
		log_error(c, h, body, rc);
		st_send_error(c, h, rc);
	}
}
