/*
 * json_out.c — the --json output: a list of results, one object per
 * (measurement, placement), numbers that are not finite written as null.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "bench/bench.h"

void xbench_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_number(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static void json_key(FILE *f, const char *key)
{
	fputs(", ", f);
	xbench_json_string(f, key);
	fputs(": ", f);
}

/* The runs behind R, each with the round trips that placed it. */
static void write_samples(FILE *f, const struct xbench_result *r)
{
	bool first = true;

	if (!r->samples)
		return;
	json_key(f, "samples");
	fputc('[', f);
	for (size_t i = 0; i < r->nsamples; i++) {
		const struct xbench_sample *x = &r->samples[i];

		if (x->place != r->place)
			continue;
		fputs(first ? "{\"value\": " : ", {\"value\": ", f);
		json_number(f, x->value);
		fputs(", \"rtt_before_ns\": ", f);
		json_number(f, x->rtt_before_ns);
		fputs(", \"rtt_after_ns\": ", f);
		json_number(f, x->rtt_after_ns);
		fputc('}', f);
		first = false;
	}
	fputc(']', f);
}

static void write_one(FILE *f, const struct xbench_result *r)
{
	fputs("  {\"name\": ", f);
	xbench_json_string(f, r->name);
	json_key(f, "unit");
	xbench_json_string(f, r->unit);
	if (!r->available) {
		json_key(f, "available");
		fputs("false", f);
		json_key(f, "reason");
		xbench_json_string(f, r->reason ? r->reason : "not available");
		fputs("}", f);
		return;
	}
	json_key(f, "placement");
	xbench_json_string(f, xbench_place_name(r->place));
	json_key(f, "median");
	json_number(f, r->s.median);
	json_key(f, "min");
	json_number(f, r->s.min);
	json_key(f, "max");
	json_number(f, r->s.max);
	json_key(f, "runs");
	fprintf(f, "%zu", r->s.n);
	write_samples(f, r);
	if (r->baseline) {
		json_key(f, "baseline");
		xbench_json_string(f, r->baseline);
		json_key(f, "ratio");
		json_number(f, r->ratio);
	}
	fputs("}", f);
}

void xbench_write_json(FILE *f, const struct xbench_result *r, size_t n)
{
	fputs("[\n", f);
	for (size_t i = 0; i < n; i++) {
		write_one(f, &r[i]);
		fputs(i + 1 < n ? ",\n" : "\n", f);
	}
	fputs("]\n", f);
}
