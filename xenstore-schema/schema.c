/*
 * schema.c — the strict parser of vif.schema (format documented at the top
 * of that file): every error names file:line and what is wrong.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnx_xs.h"
#include "xsc_int.h"

#define LINE_MAX_LEN 1023
#define FIELDS_MAX 24
#define ENTRIES_MAX 1024

struct parser {
	struct xsc_schema *s;
	const char *name;
	int line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (p->errlen) {
		n = snprintf(p->err, p->errlen, "%s:%d: ", p->name, p->line);
		if (n >= 0 && (size_t)n < p->errlen) {
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->errlen - n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

static const char *const state_names[] = {
	"Unknown", "Initialising", "InitWait", "Initialised", "Connected",
	"Closing", "Closed", "Reconfiguring", "Reconfigured",
};

const char *xsc_state_name(int s)
{
	return s >= 0 && s < (int)(sizeof(state_names) / sizeof(state_names[0]))
		? state_names[s] : "Invalid";
}

/* Copy SRC into a DSTLEN buffer; false if it does not fit. */
static bool copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstlen)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* ---- dir lines ------------------------------------------------------------ */

static int parse_side(const char *w)
{
	if (strcmp(w, "back") == 0)
		return XSC_BACK;
	if (strcmp(w, "front") == 0)
		return XSC_FRONT;
	return -1;
}

/* A pattern: absolute, segments of [A-Za-z0-9_-] or <bdom>/<domid>/<devid>;
 * back must use all three variables, front <domid> and <devid>, once each. */
static int parse_dir(struct parser *p, char **f, int nf)
{
	int side, seen[3] = { 0, 0, 0 };
	static const char *const vars[3] = { "<bdom>", "<domid>", "<devid>" };
	char buf[XSC_PATTERN_MAX], *seg, *save;

	if (nf != 3)
		return fail(p, "dir takes SIDE PATTERN, got %d fields", nf - 1);
	side = parse_side(f[1]);
	if (side < 0)
		return fail(p, "unknown side '%s' (back or front)", f[1]);
	if (p->s->dir[side][0])
		return fail(p, "second dir line for side %s", f[1]);
	if (f[2][0] != '/' || !copy(buf, sizeof(buf), f[2]))
		return fail(p, "dir pattern '%s' is not an absolute path", f[2]);
	for (seg = strtok_r(buf + 1, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		int v = -1;
		for (int i = 0; i < 3; i++)
			if (strcmp(seg, vars[i]) == 0)
				v = i;
		if (v >= 0) {
			seen[v]++;
			continue;
		}
		if (seg[strspn(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")])
			return fail(p, "dir pattern segment '%s' is neither a name nor <bdom>, <domid>, <devid>", seg);
	}
	if (strstr(f[2], "//") || f[2][strlen(f[2]) - 1] == '/')
		return fail(p, "dir pattern '%s' has an empty segment", f[2]);
	if (seen[1] != 1 || seen[2] != 1 || seen[0] != (side == XSC_BACK))
		return fail(p, "dir pattern for %s must use %s once each", f[1],
			    side == XSC_BACK ? "<bdom>, <domid> and <devid>" : "<domid> and <devid> (not <bdom>)");
	copy(p->s->dir[side], sizeof(p->s->dir[side]), f[2]);
	return 0;
}

/* ---- key lines: one field at a time --------------------------------------- */

static int parse_key(struct parser *p, struct xsc_entry *e, const char *k)
{
	char buf[XSC_KEY_MAX], *seg, *save;
	size_t n = strlen(k);

	if (n == 0 || !copy(e->key, sizeof(e->key), k))
		return fail(p, "key '%s' is empty or longer than %d characters", k, XSC_KEY_MAX - 1);
	e->prefix = k[n - 1] == '*';
	if (strchr(k, '*') != k + n - 1 && strchr(k, '*'))
		return fail(p, "key '%s': '*' only at the end", k);
	if (k[0] == '/' || k[n - 1] == '/' || strstr(k, "//"))
		return fail(p, "key '%s' has an empty segment", k);
	copy(buf, sizeof(buf), k);
	if (e->prefix)
		buf[n - 1] = '\0';
	for (seg = strtok_r(buf, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, "queue-<N>") == 0) {
			e->per_queue = true;
			continue;
		}
		if (seg[strspn(seg, "abcdefghijklmnopqrstuvwxyz0123456789_-")])
			return fail(p, "key '%s': segment '%s' has characters outside [a-z0-9_-]", k, seg);
	}
	return 0;
}

static int parse_writers(struct parser *p, struct xsc_entry *e, const char *w)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "toolstack", XSC_W_TOOLSTACK }, { "backend", XSC_W_BACKEND },
		{ "frontend", XSC_W_FRONTEND }, { "script", XSC_W_SCRIPT },
	};
	char buf[XSC_WORD_MAX], *tok, *save;

	if (!copy(buf, sizeof(buf), w) || w[0] == ',' || w[strlen(w) - 1] == ',' || strstr(w, ",,"))
		return fail(p, "writers '%s' is not a ','-separated list", w);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned bit = 0;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(tok, names[i].name) == 0)
				bit = names[i].bit;
		if (!bit)
			return fail(p, "unknown writer '%s' (toolstack, backend, frontend, script)", tok);
		if (e->writers & bit)
			return fail(p, "writer '%s' given twice", tok);
		e->writers |= bit;
	}
	return 0;
}

/* "NAME(ARGS)" → ARGS copied into ARGS (without the parentheses). */
static bool call_form(const char *t, const char *name, char *args, size_t len)
{
	size_t n = strlen(name), tl = strlen(t);

	if (strncmp(t, name, n) != 0 || t[n] != '(' || tl < n + 2 || t[tl - 1] != ')')
		return false;
	if (tl - n - 2 >= len)
		return false;
	memcpy(args, t + n + 1, tl - n - 2);
	args[tl - n - 2] = '\0';
	return true;
}

static int parse_uint_type(struct parser *p, struct xsc_entry *e, const char *t, char *a)
{
	char *dots = strstr(a, "..");

	if (!dots)
		return fail(p, "type '%s': range must be MIN..MAX", t);
	*dots = '\0';
	if (xnx_parse_uint(a, 0, ~0ul, &e->min) < 0 ||
	    xnx_parse_uint(dots + 2, 0, ~0ul, &e->max) < 0)
		return fail(p, "type '%s': MIN and MAX must be decimal numbers", t);
	if (e->min > e->max)
		return fail(p, "type '%s': MIN is above MAX", t);
	return 0;
}

static int parse_enum_type(struct parser *p, struct xsc_entry *e, const char *t, const char *a)
{
	if (!a[0] || a[0] == ',' || a[strlen(a) - 1] == ',' || strstr(a, ",,"))
		return fail(p, "type '%s': enum needs ','-separated non-empty words", t);
	if (a[strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789_-,")])
		return fail(p, "type '%s': enum words are [a-z0-9_-]", t);
	copy(e->words, sizeof(e->words), a);
	return 0;
}

static int parse_type(struct parser *p, struct xsc_entry *e, const char *t)
{
	static const struct { const char *name; enum xsc_type type; } plain[] = {
		{ "bool", XSC_T_BOOL }, { "mac", XSC_T_MAC }, { "linkid", XSC_T_LINKID },
		{ "gref", XSC_T_GREF }, { "evtchn", XSC_T_EVTCHN }, { "state", XSC_T_STATE },
		{ "domid", XSC_T_DOMID }, { "ifname", XSC_T_IFNAME }, { "path", XSC_T_PATH },
		{ "rate", XSC_T_RATE }, { "iplist", XSC_T_IPLIST }, { "dir", XSC_T_DIR },
	};
	char a[XSC_WORD_MAX];

	if (!copy(e->type_text, sizeof(e->type_text), t))
		return fail(p, "type is too long");
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (strcmp(t, plain[i].name) == 0) {
			e->type = plain[i].type;
			return 0;
		}
	}
	if (call_form(t, "uint", a, sizeof(a))) {
		e->type = XSC_T_UINT;
		return parse_uint_type(p, e, t, a);
	}
	if (call_form(t, "string", a, sizeof(a))) {
		e->type = XSC_T_STRING;
		if (xnx_parse_uint(a, 1, 4096, &e->max) < 0)
			return fail(p, "type '%s': string(MAX) needs MAX in 1..4096", t);
		return 0;
	}
	if (call_form(t, "enum", a, sizeof(a))) {
		e->type = XSC_T_ENUM;
		return parse_enum_type(p, e, t, a);
	}
	return fail(p, "unknown type '%s'", t);
}

static int parse_need(struct parser *p, struct xsc_entry *e, const char *n)
{
	if (strcmp(n, "opt") == 0)
		return 0;
	if (strcmp(n, "req") == 0) {
		e->required = true;
		return 0;
	}
	if (strncmp(n, "req@", 4) == 0) {
		for (int s = 1; s <= 4; s++) {	/* Initialising .. Connected */
			if (strcmp(n + 4, xsc_state_name(s)) == 0) {
				e->required = true;
				e->from_state = s;
				return 0;
			}
		}
		return fail(p, "need '%s': state must be Initialising, InitWait, Initialised or Connected", n);
	}
	return fail(p, "unknown need '%s' (opt, req or req@STATE)", n);
}

/* A sibling or peer key name: one plain segment. */
static int attr_key(struct parser *p, const char *attr, const char *v, char *dst)
{
	if (!v[0] || v[strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-")] ||
	    !copy(dst, XSC_KEY_MAX, v))
		return fail(p, "attribute %s: '%s' is not a key name", attr, v);
	return 0;
}

static int parse_max_attr(struct parser *p, struct xsc_entry *e, const char *v)
{
	char buf[XSC_KEY_MAX];
	char *colon;

	if (!copy(buf, sizeof(buf), v) || !(colon = strchr(buf, ':')))
		return fail(p, "attribute max=KEY:DEFAULT: '%s' has no ':DEFAULT'", v);
	*colon = '\0';
	if (xnx_parse_uint(colon + 1, 0, ~0ul, &e->max_def) < 0)
		return fail(p, "attribute max=KEY:DEFAULT: default '%s' is not a number", colon + 1);
	if (e->type != XSC_T_UINT)
		return fail(p, "attribute max= needs a uint type");
	return attr_key(p, "max", buf, e->max_key);
}

static int parse_eq_attr(struct parser *p, struct xsc_entry *e, const char *v)
{
	if (strcmp(v, "peer") == 0) {
		if (e->type != XSC_T_PATH)
			return fail(p, "attribute eq=peer needs type path");
		e->eq = XSC_EQ_PEER;
	} else if (strcmp(v, "domid") == 0) {
		e->eq = XSC_EQ_DOMID;
	} else if (strcmp(v, "devid") == 0) {
		e->eq = XSC_EQ_DEVID;
	} else if (strcmp(v, "bdom") == 0) {
		e->eq = XSC_EQ_BDOM;
	} else {
		return fail(p, "attribute eq='%s' (domid, devid, bdom or peer)", v);
	}
	return 0;
}

/* A value given in the schema itself (must=, default=) must fit the type. */
static int literal_ok(struct parser *p, struct xsc_entry *e, const char *attr, const char *v)
{
	char why[160];

	if (xsc_value_ok(e, v, strlen(v), why, sizeof(why)) < 0)
		return fail(p, "attribute %s='%s' does not fit type %s: %s", attr, v, e->type_text, why);
	return 0;
}

static int parse_attr(struct parser *p, struct xsc_entry *e, const char *a)
{
	const char *eq = strchr(a, '=');
	char name[32];
	const char *v = eq ? eq + 1 : "";

	if (!eq) {
		if (strcmp(a, "empty") == 0 && !e->empty_ok)
			return e->empty_ok = true, 0;
		return fail(p, "attribute '%s' is unknown or given twice", a);
	}
	if ((size_t)(eq - a) >= sizeof(name))
		return fail(p, "unknown attribute '%s'", a);
	memcpy(name, a, eq - a);
	name[eq - a] = '\0';
	if (strcmp(name, "mq") == 0) {
		if (e->side != XSC_FRONT)
			return fail(p, "attribute mq= is for front keys only");
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return fail(p, "attribute mq='%s' (yes or no)", v);
		e->mq = strcmp(v, "yes") == 0 ? XSC_MQ_YES : XSC_MQ_NO;
		return 0;
	}
	if (strcmp(name, "if") == 0)
		return attr_key(p, "if", v, e->if_key);
	if (strcmp(name, "unless") == 0)
		return attr_key(p, "unless", v, e->unless_key);
	if (strcmp(name, "peer") == 0)
		return attr_key(p, "peer", v, e->peer_key);
	if (strcmp(name, "max") == 0)
		return parse_max_attr(p, e, v);
	if (strcmp(name, "eq") == 0)
		return parse_eq_attr(p, e, v);
	if (strcmp(name, "must") == 0) {
		if (!e->required || e->from_state == XSC_STATE_ANY)
			return fail(p, "attribute must= needs need req@STATE");
		if (!copy(e->must, sizeof(e->must), v))
			return fail(p, "attribute must= value too long");
		e->has_must = true;
		return literal_ok(p, e, "must", v);
	}
	if (strcmp(name, "default") == 0) {
		if (!copy(e->def, sizeof(e->def), v) || !v[0])
			return fail(p, "attribute default= value empty or too long");
		return literal_ok(p, e, "default", v);
	}
	return fail(p, "unknown attribute '%s'", name);
}

/* ---- lines ------------------------------------------------------------------ */

static int split(char *s, char **f, int max)
{
	int n = 0;
	char *save, *tok;

	for (tok = strtok_r(s, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return -1;
		f[n++] = tok;
	}
	return n;
}

static struct xsc_entry *find_entry(const struct xsc_schema *s, int side, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if ((int)s->e[i].side == side && strcmp(s->e[i].key, key) == 0)
			return &s->e[i];
	return NULL;
}

static struct xsc_entry *new_entry(struct parser *p)
{
	struct xsc_schema *s = p->s;

	if (s->n == ENTRIES_MAX)
		return NULL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct xsc_entry *e = realloc(s->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		s->e = e;
		s->cap = cap;
	}
	memset(&s->e[s->n], 0, sizeof(s->e[0]));
	return &s->e[s->n];
}

static int parse_desc(struct parser *p, struct xsc_entry *e, const char *d)
{
	size_t n;

	d += strspn(d, " \t");
	n = strlen(d);
	while (n && (d[n - 1] == ' ' || d[n - 1] == '\t'))
		n--;
	if (n == 0)
		return fail(p, "empty description after '|'");
	if (n >= sizeof(e->desc))
		return fail(p, "description longer than %d characters", XSC_DESC_MAX - 1);
	memcpy(e->desc, d, n);
	e->desc[n] = '\0';
	return 0;
}

static int parse_entry(struct parser *p, char *line)
{
	char *bar = strchr(line, '|'), *f[FIELDS_MAX];
	struct xsc_entry *e;
	int nf, side, rc;

	if (!bar)
		return fail(p, "missing '| DESCRIPTION'");
	*bar = '\0';
	nf = split(line, f, FIELDS_MAX);
	if (nf < 0)
		return fail(p, "more than %d fields", FIELDS_MAX);
	if (nf < 5)
		return fail(p, "expected SIDE KEY WRITERS TYPE NEED [ATTR...] | DESCRIPTION, got %d fields", nf);
	side = parse_side(f[0]);
	if (side < 0)
		return fail(p, "unknown side '%s' (back, front or dir)", f[0]);
	if (!p->s->dir[XSC_BACK][0] || !p->s->dir[XSC_FRONT][0])
		return fail(p, "key before both dir lines");
	if (find_entry(p->s, side, f[1]))
		return fail(p, "key '%s' already defined for %s", f[1], f[0]);
	e = new_entry(p);
	if (!e)
		return errno = ENOMEM, fail(p, "too many entries");
	e->line = p->line;
	e->side = side;
	if ((rc = parse_key(p, e, f[1])) < 0 || (rc = parse_writers(p, e, f[2])) < 0 ||
	    (rc = parse_type(p, e, f[3])) < 0 || (rc = parse_need(p, e, f[4])) < 0)
		return rc;
	for (int i = 5; i < nf; i++)
		if ((rc = parse_attr(p, e, f[i])) < 0)
			return rc;
	if (e->per_queue && e->mq != XSC_MQ_YES)
		return fail(p, "key '%s': queue-<N> keys need mq=yes", e->key);
	if (e->prefix && (e->required || e->eq != XSC_EQ_NONE))
		return fail(p, "key '%s': a prefix key can only be opt", e->key);
	if ((rc = parse_desc(p, e, bar + 1)) < 0)
		return rc;
	p->s->n++;
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	char *f[FIELDS_MAX], *s = line + strspn(line, " \t");
	int nf;

	if (*s == '\0' || *s == '#')
		return 0;
	if (strncmp(s, "dir", 3) == 0 && (s[3] == ' ' || s[3] == '\t' || !s[3])) {
		if (strchr(s, '|'))
			return fail(p, "a dir line has no description");
		nf = split(s, f, FIELDS_MAX);
		return parse_dir(p, f, nf < 0 ? FIELDS_MAX : nf);
	}
	return parse_entry(p, s);
}

/* The sibling KEY of entry E: same directory as E's key. False if too long. */
static bool sibling(const struct xsc_entry *e, const char *key, char *out)
{
	const char *slash = strrchr(e->key, '/');
	size_t n = slash ? (size_t)(slash - e->key + 1) : 0;
	int len = snprintf(out, XSC_KEY_MAX, "%.*s%s", (int)n, e->key, key);

	return len >= 0 && len < XSC_KEY_MAX;
}

/* Does KEY exist on SIDE, as a sibling of E? */
static bool sibling_known(struct parser *p, const struct xsc_entry *e, const char *key)
{
	char k[XSC_KEY_MAX];

	return sibling(e, key, k) && find_entry(p->s, e->side, k);
}

/* After the whole file: names in if=, unless=, peer=, max= must exist. */
static int cross_check(struct parser *p)
{
	for (size_t i = 0; i < p->s->n; i++) {
		const struct xsc_entry *e = &p->s->e[i];
		p->line = e->line;
		if (e->if_key[0] && !sibling_known(p, e, e->if_key))
			return fail(p, "if=%s: no such key in the same directory on this side", e->if_key);
		if (e->unless_key[0] && !sibling_known(p, e, e->unless_key))
			return fail(p, "unless=%s: no such key in the same directory on this side", e->unless_key);
		if (e->peer_key[0] && !find_entry(p->s, XSC_OTHER(e->side), e->peer_key))
			return fail(p, "peer=%s: no such key on the other side", e->peer_key);
		if (e->max_key[0] && !find_entry(p->s, XSC_OTHER(e->side), e->max_key))
			return fail(p, "max=%s: no such key on the other side", e->max_key);
	}
	return 0;
}

static int parse_all(struct parser *p, const char *text)
{
	char line[LINE_MAX_LEN + 2];
	const char *s = text;
	int rc;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		p->line++;
		if (n > LINE_MAX_LEN)
			return fail(p, "line longer than %d characters", LINE_MAX_LEN);
		memcpy(line, s, n);
		line[n] = '\0';
		if (strlen(line) != n || strchr(line, '\r'))
			return fail(p, "NUL or carriage return in line");
		if ((rc = parse_line(p, line)) < 0)
			return rc;
		s += n + (nl != NULL);
	}
	if (!p->s->dir[XSC_BACK][0] || !p->s->dir[XSC_FRONT][0])
		return fail(p, "no dir line for %s", p->s->dir[XSC_BACK][0] ? "front" : "back");
	if (p->s->n == 0)
		return fail(p, "no keys");
	return cross_check(p);
}

struct xsc_schema *xsc_schema_parse(const char *text, const char *name,
				    char *err, size_t errlen)
{
	struct parser p = { .name = name ? name : "schema", .err = err, .errlen = errlen };

	if (errlen)
		err[0] = '\0';
	p.s = calloc(1, sizeof(*p.s));
	if (!p.s) {
		if (errlen)
			snprintf(err, errlen, "%s: out of memory", p.name);
		return NULL;
	}
	snprintf(p.s->source, sizeof(p.s->source), "%s", p.name);
	errno = 0;
	if (parse_all(&p, text) < 0) {
		int e = errno == ENOMEM ? ENOMEM : EINVAL;
		xsc_schema_free(p.s);
		errno = e;
		return NULL;
	}
	return p.s;
}

struct xsc_schema *xsc_schema_load(const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	char *text = NULL;
	size_t cap = 0, n = 0;
	struct xsc_schema *s = NULL;
	int e;

	if (!f) {
		e = errno;
		if (errlen)
			snprintf(err, errlen, "%s: %s", file, strerror(e));
		errno = e;
		return NULL;
	}
	/* Bounded: a schema is small; refuse anything huge. */
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *t = cap >= (1u << 20) ? NULL : realloc(text, cap + 65536);
			if (!t) {
				if (errlen)
					snprintf(err, errlen, "%s: too large or out of memory", file);
				errno = EFBIG;
				goto out;
			}
			text = t;
			cap += 65536;
		}
		size_t r = fread(text + n, 1, 4096, f);
		n += r;
		if (r < 4096)
			break;
	}
	if (ferror(f)) {
		if (errlen)
			snprintf(err, errlen, "%s: read error", file);
		errno = EIO;
		goto out;
	}
	text[n] = '\0';
	if (strlen(text) != n) {
		if (errlen)
			snprintf(err, errlen, "%s: contains a NUL byte", file);
		errno = EINVAL;
		goto out;
	}
	s = xsc_schema_parse(text, file, err, errlen);
out:
	e = errno;
	free(text);
	fclose(f);
	errno = e;
	return s;
}

const char *xsc_schema_source(const struct xsc_schema *s)
{
	return s->source;
}

size_t xsc_schema_count(const struct xsc_schema *s)
{
	return s->n;
}

void xsc_schema_free(struct xsc_schema *s)
{
	if (!s)
		return;
	free(s->e);
	free(s);
}
