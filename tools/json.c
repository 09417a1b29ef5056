/* json.c — a small JSON writer for the `--json` output of xnet's commands:
 * objects and arrays nest, commas and string escapes are taken care of. */
#include <stdio.h>

#include "xnet.h"

static void sep(struct xnt_json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		j->first[j->depth] = false;
	}
	if (key) {
		xnt_json_quote(j->f, key);
		fputc(':', j->f);
	}
}

void xnt_json_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void xnt_json_begin(struct xnt_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
}

static void open_(struct xnt_json *j, const char *key, char c)
{
	sep(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < XNT_JSON_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

void xnt_json_obj(struct xnt_json *j, const char *key) { open_(j, key, '{'); }
void xnt_json_arr(struct xnt_json *j, const char *key) { open_(j, key, '['); }

void xnt_json_end(struct xnt_json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0)
		fputc('\n', j->f);
}

void xnt_json_str(struct xnt_json *j, const char *key, const char *v)
{
	sep(j, key);
	if (v)
		xnt_json_quote(j->f, v);
	else
		fputs("null", j->f);
}

void xnt_json_u64(struct xnt_json *j, const char *key, unsigned long long v)
{
	sep(j, key);
	fprintf(j->f, "%llu", v);
}

void xnt_json_int(struct xnt_json *j, const char *key, long long v)
{
	sep(j, key);
	fprintf(j->f, "%lld", v);
}

void xnt_json_bool(struct xnt_json *j, const char *key, bool v)
{
	sep(j, key);
	fputs(v ? "true" : "false", j->f);
}
