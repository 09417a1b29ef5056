/*
 * json.c — a small strict JSON reader: enough to take numbers out of
 * iperf3 -J and to parse our own --json output back in tests. Nesting is
 * bounded; errors name the byte offset where parsing stopped.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

#define JSON_MAX_DEPTH 64

struct xbench_json {
	enum xbench_jtype type;
	double num;
	bool b;
	char *str;			/* XJ_STR value */
	char **keys;			/* XJ_OBJ member names */
	struct xbench_json **items;	/* XJ_ARR / XJ_OBJ members */
	size_t n, cap;
};

struct parser {
	const char *s, *p;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct parser *ps, const char *what)
{
	if (ps->failed)
		return;
	ps->failed = true;
	if (ps->err && ps->errlen)
		snprintf(ps->err, ps->errlen, "json: %s at offset %zu", what,
			 (size_t)(ps->p - ps->s));
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static struct xbench_json *node(enum xbench_jtype t)
{
	struct xbench_json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

static int push(struct xbench_json *j, char *key, struct xbench_json *item)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 8;
		struct xbench_json **items = realloc(j->items, cap * sizeof(*items));
		char **keys;

		if (!items)
			return -ENOMEM;
		j->items = items;
		keys = realloc(j->keys, cap * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		j->keys = keys;
		j->cap = cap;
	}
	j->keys[j->n] = key;
	j->items[j->n++] = item;
	return 0;
}

static struct xbench_json *parse_value(struct parser *ps, int depth);

/* Decode the escape at ps->p (just past the backslash) into *C; leaves
 * ps->p on its last character. False if it is not a JSON escape. */
static bool unescape(struct parser *ps, char *c)
{
	static const char in[] = "\"\\/bfnrt", out[] = "\"\\/\b\f\n\r\t";
	const char *e = *ps->p ? strchr(in, *ps->p) : NULL;
	char hex[5] = { 0 };

	if (e) {
		*c = out[e - in];
		return true;
	}
	if (*ps->p != 'u')
		return false;
	for (int k = 1; k <= 4; k++) {
		if (!ps->p[k] || !strchr("0123456789abcdefABCDEF", ps->p[k]))
			return false;
		hex[k - 1] = ps->p[k];
	}
	/* Non-ASCII code points become '?': nothing we read needs them. */
	unsigned long cp = strtoul(hex, NULL, 16);

	*c = cp < 0x80 ? (char)cp : '?';
	ps->p += 4;
	return true;
}

/* Parse a string literal at ps->p into a malloc'd buffer. */
static char *parse_string(struct parser *ps)
{
	size_t cap = 16, n = 0;
	char *out = *ps->p == '"' ? malloc(cap) : NULL;

	if (!out) {
		fail(ps, "expected a string");
		return NULL;
	}
	for (ps->p++; *ps->p != '"'; ps->p++) {
		char c = *ps->p;

		if (c == '\0' || (unsigned char)c < 0x20) {
			fail(ps, "unterminated string");
			goto err;
		}
		if (c == '\\') {
			ps->p++;
			if (!unescape(ps, &c)) {
				fail(ps, "bad escape");
				goto err;
			}
		}
		if (n + 2 > cap) {
			char *bigger = realloc(out, cap *= 2);

			if (!bigger)
				goto err;
			out = bigger;
		}
		out[n++] = c;
	}
	ps->p++;
	out[n] = '\0';
	return out;
err:
	free(out);
	fail(ps, "out of memory");
	return NULL;
}

static struct xbench_json *parse_number(struct parser *ps)
{
	const char *start = ps->p;
	char *end;
	struct xbench_json *j;

	/* JSON numbers: -?digits(.digits)?([eE][+-]?digits)? — no hex, no inf. */
	if (*ps->p == '-')
		ps->p++;
	if (*ps->p < '0' || *ps->p > '9') {
		fail(ps, "bad number");
		return NULL;
	}
	while (*ps->p && ((*ps->p >= '0' && *ps->p <= '9') || strchr(".eE+-", *ps->p)))
		ps->p++;
	j = node(XJ_NUM);
	if (!j)
		return NULL;
	j->num = strtod(start, &end);
	if (end != ps->p) {
		ps->p = end;
		fail(ps, "bad number");
		free(j);
		return NULL;
	}
	return j;
}

static struct xbench_json *parse_container(struct parser *ps, int depth, bool obj)
{
	struct xbench_json *j = node(obj ? XJ_OBJ : XJ_ARR), *item;
	char close = obj ? '}' : ']';

	if (!j)
		return NULL;
	ps->p++;
	skip_ws(ps);
	if (*ps->p == close) {
		ps->p++;
		return j;
	}
	for (;;) {
		char *key = NULL;

		skip_ws(ps);
		if (obj) {
			key = parse_string(ps);
			if (!key)
				goto err;
			skip_ws(ps);
			if (*ps->p != ':') {
				free(key);
				fail(ps, "expected ':'");
				goto err;
			}
			ps->p++;
		}
		item = parse_value(ps, depth + 1);
		if (!item || push(j, key, item) < 0) {
			free(key);
			xbench_json_free(item);
			fail(ps, "bad value");
			goto err;
		}
		skip_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			return j;
		}
		fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto err;
	}
err:
	xbench_json_free(j);
	return NULL;
}

static struct xbench_json *parse_literal(struct parser *ps)
{
	static const struct { const char *word; enum xbench_jtype t; bool b; } lit[] = {
		{ "true", XJ_BOOL, true }, { "false", XJ_BOOL, false },
		{ "null", XJ_NULL, false },
	};

	for (size_t i = 0; i < sizeof(lit) / sizeof(lit[0]); i++) {
		size_t len = strlen(lit[i].word);

		if (strncmp(ps->p, lit[i].word, len) == 0) {
			struct xbench_json *j = node(lit[i].t);

			if (j)
				j->b = lit[i].b;
			ps->p += len;
			return j;
		}
	}
	fail(ps, "unexpected character");
	return NULL;
}

static struct xbench_json *parse_value(struct parser *ps, int depth)
{
	struct xbench_json *j;

	if (depth > JSON_MAX_DEPTH) {
		fail(ps, "nested too deeply");
		return NULL;
	}
	skip_ws(ps);
	switch (*ps->p) {
	case '{':
		return parse_container(ps, depth, true);
	case '[':
		return parse_container(ps, depth, false);
	case '"':
		j = node(XJ_STR);
		if (j && !(j->str = parse_string(ps))) {
			free(j);
			return NULL;
		}
		return j;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return parse_number(ps);
	default:
		return parse_literal(ps);
	}
}

struct xbench_json *xbench_json_parse(const char *text, char *err, size_t errlen)
{
	struct parser ps = { .s = text, .p = text, .err = err, .errlen = errlen };
	struct xbench_json *j;

	if (err && errlen)
		err[0] = '\0';
	j = parse_value(&ps, 0);
	if (!j) {
		fail(&ps, "bad value");
		return NULL;
	}
	skip_ws(&ps);
	if (*ps.p) {
		fail(&ps, "trailing characters");
		xbench_json_free(j);
		return NULL;
	}
	return j;
}

void xbench_json_free(struct xbench_json *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		if (j->keys)
			free(j->keys[i]);
		xbench_json_free(j->items[i]);
	}
	free(j->keys);
	free(j->items);
	free(j->str);
	free(j);
}

enum xbench_jtype xbench_json_type(const struct xbench_json *j)
{
	return j ? j->type : XJ_NULL;
}

const struct xbench_json *xbench_json_get(const struct xbench_json *j, const char *key)
{
	if (!j || j->type != XJ_OBJ)
		return NULL;
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->keys[i], key) == 0)
			return j->items[i];
	return NULL;
}

const struct xbench_json *xbench_json_path(const struct xbench_json *j, const char *path)
{
	char key[128];

	while (j && *path) {
		size_t len = strcspn(path, ".");

		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		j = xbench_json_get(j, key);
		path += len;
		if (*path == '.')
			path++;
	}
	return j;
}

size_t xbench_json_len(const struct xbench_json *j)
{
	return j && (j->type == XJ_ARR || j->type == XJ_OBJ) ? j->n : 0;
}

const struct xbench_json *xbench_json_at(const struct xbench_json *j, size_t i)
{
	return i < xbench_json_len(j) ? j->items[i] : NULL;
}

double xbench_json_num(const struct xbench_json *j)
{
	return j && j->type == XJ_NUM ? j->num : NAN;
}

const char *xbench_json_str(const struct xbench_json *j)
{
	return j && j->type == XJ_STR ? j->str : NULL;
}

bool xbench_json_bool(const struct xbench_json *j)
{
	return j && j->type == XJ_BOOL && j->b;
}
