/*
 * report.c — the human outputs: a table with, per measurement, the near
 * and far placements side by side (median, min–max, runs, ratio to its
 * baseline), and a PNG plot through gnuplot when it is installed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"

/* Numbers with about four significant digits, "-" when missing. */
static const char *num(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (fabs(v) >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 100)
		snprintf(buf, len, "%.1f", v);
	else if (fabs(v) >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3g", v);
	return buf;
}

static const struct xbench_result *lookup(const struct xbench_result *r, size_t n,
					  const char *name, enum xbench_place p)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0 && (!r[i].available || r[i].place == p))
			return &r[i];
	return NULL;
}

static void cell(FILE *f, const struct xbench_result *r)
{
	char a[32], b[32], c[32], range[72], ratio[32] = "";

	if (!r || !r->available) {
		fprintf(f, " %9s %19s %3s %7s", "-", "", "", "");
		return;
	}
	snprintf(range, sizeof(range), "%s-%s", num(a, sizeof(a), r->s.min),
		 num(b, sizeof(b), r->s.max));
	if (r->baseline && isfinite(r->ratio))
		snprintf(ratio, sizeof(ratio), "%.2fx", r->ratio);
	fprintf(f, " %9s %19s %3zu %7s", num(c, sizeof(c), r->s.median), range,
		r->s.n, ratio);
}

static void print_row(FILE *f, const char *name, const char *unit,
		      const struct xbench_result *r, size_t n)
{
	const struct xbench_result *near = lookup(r, n, name, XBENCH_NEAR);
	const struct xbench_result *far = lookup(r, n, name, XBENCH_FAR);
	const struct xbench_result *mixed = lookup(r, n, name, XBENCH_MIXED);
	const char *base = near && near->baseline ? near->baseline
			   : far && far->baseline ? far->baseline : "";

	fprintf(f, "%-26s %-10s", name, unit);
	if (near && !near->available) {
		fprintf(f, " %s\n", near->reason ? near->reason : "not available");
		return;
	}
	cell(f, near);
	fprintf(f, " |");
	cell(f, far);
	fprintf(f, " %5zu  %s\n", mixed && mixed->available ? mixed->s.n : 0, base);
}

void xbench_print_table(FILE *f, const struct xbench_session *s,
			const struct xbench_result *r, size_t n)
{
	const char *group = "";

	fprintf(f, "xnet bench: %d run%s of %.3g s per figure on cores %d and %d; "
		"placement: near when the cache-line round trip < %.0f ns\n",
		s->o.runs, s->o.runs == 1 ? "" : "s", s->o.duration_s, s->o.cpu[0],
		s->o.cpu[1], s->o.near_ns);
	fprintf(f, "figures: median, min-max over runs, n runs; ratio = median / "
		"median of the baseline named last, same placement only\n\n");
	fprintf(f, "%-37s %-42s | %-42s %5s  %s\n", "",
		"  ---------------- near ----------------", "  ---------------- far -----------------",
		"mixed", "compared with");
	fprintf(f, "%-26s %-10s %9s %19s %3s %7s | %9s %19s %3s %7s %5s\n", "measurement",
		"unit", "median", "min-max", "n", "ratio", "median", "min-max", "n", "ratio", "runs");
	print_row(f, "probe.cacheline_rtt", XBENCH_US, r, n);
	for (size_t i = 0; i < s->nseries; i++) {
		const struct xbench_case *c = s->series[i].c;

		if (strcmp(group, c->group) != 0) {
			group = c->group;
			fprintf(f, "[%s]\n", group);
		}
		print_row(f, c->name, c->unit, r, n);
	}
}

/* ---- Markdown, for the README ---------------------------------------------- */

static void md_cell(FILE *f, const struct xbench_result *r)
{
	char a[32], b[32], c[32];

	if (!r || !r->available) {
		fputs(" – | |", f);
		return;
	}
	fprintf(f, " %s (%s–%s, %zu) |", num(c, sizeof(c), r->s.median),
		num(a, sizeof(a), r->s.min), num(b, sizeof(b), r->s.max), r->s.n);
	if (r->baseline && isfinite(r->ratio))
		fprintf(f, " %.2f× |", r->ratio);
	else
		fputs(" |", f);
}

static void md_row(FILE *f, const char *name, const char *desc, const char *unit,
		   const struct xbench_result *r, size_t n)
{
	const struct xbench_result *near = lookup(r, n, name, XBENCH_NEAR);
	const struct xbench_result *far = lookup(r, n, name, XBENCH_FAR);
	const char *base = near && near->baseline ? near->baseline
			   : far && far->baseline ? far->baseline : "";

	fprintf(f, "| %s | %s |", desc ? desc : name, unit);
	if (near && !near->available) {
		fprintf(f, " %s | | | | |\n", near->reason ? near->reason : "not available");
		return;
	}
	md_cell(f, near);
	md_cell(f, far);
	fprintf(f, " %s |\n", base);
}

void xbench_print_markdown(FILE *f, const struct xbench_session *s,
			   const struct xbench_result *r, size_t n)
{
	fprintf(f, "Median (min–max, runs) of %d runs of %.3g s each on two cores; "
		"*near*/*far*: the host placed the two vCPUs close together or far "
		"apart (cache-line round trip below or above %.0f ns); ratios compare "
		"within one placement only.\n\n", s->o.runs, s->o.duration_s, s->o.near_ns);
	fputs("| measurement | unit | near | ratio | far | ratio | compared with |\n"
	      "|---|---|---|---|---|---|---|\n", f);
	md_row(f, "probe.cacheline_rtt", "cache-line round trip", XBENCH_US, r, n);
	for (size_t i = 0; i < s->nseries; i++) {
		const struct xbench_case *c = s->series[i].c;

		md_row(f, c->name, c->desc, c->unit, r, n);
	}
}

/* ---- plot --------------------------------------------------------------- */

static void data_value(FILE *f, const struct xbench_result *r)
{
	if (r && r->available && r->s.n)
		fprintf(f, " %g %g %g", r->s.median, r->s.min, r->s.max);
	else
		fprintf(f, " ? ? ?");
}

/* Write one data block per unit (gnuplot "index"); returns the count. */
static int write_data(FILE *f, const struct xbench_result *r, size_t n,
		      const char *units[], int max_units)
{
	int nunits = 0;

	for (size_t i = 0; i < n && nunits < max_units; i++) {
		bool seen = false;

		for (int u = 0; u < nunits; u++)
			seen |= strcmp(units[u], r[i].unit) == 0;
		if (!seen && r[i].available)
			units[nunits++] = r[i].unit;
	}
	for (int u = 0; u < nunits; u++) {
		for (size_t i = 0; i < n; i++) {
			bool first = true;

			if (!r[i].available || strcmp(r[i].unit, units[u]) != 0)
				continue;
			for (size_t k = 0; k < i; k++)	/* one row per name */
				first &= strcmp(r[k].name, r[i].name) != 0;
			if (!first)
				continue;
			fprintf(f, "\"%s\"", r[i].name);
			data_value(f, lookup(r, n, r[i].name, XBENCH_NEAR));
			data_value(f, lookup(r, n, r[i].name, XBENCH_FAR));
			fputc('\n', f);
		}
		fputs("\n\n", f);
	}
	return nunits;
}

static void write_script(FILE *f, const char *png, const char *data,
			 const char *units[], int nunits)
{
	fprintf(f, "set terminal png size 1200,%d noenhanced\n", 120 + 320 * nunits);
	fprintf(f, "set output '%s'\n", png);
	fputs("set datafile missing '?'\n"
	      "set style data histograms\n"
	      "set style histogram errorbars gap 2 lw 1\n"
	      "set style fill solid 0.5 border -1\n"
	      "set xtics rotate by -20 noenhanced\n"
	      "set yrange [0:*]\n"
	      "set key top right\n", f);
	fprintf(f, "set multiplot layout %d,1 title 'xnet bench: median, bars min-max, "
		"by placement of the two cores'\n", nunits);
	for (int u = 0; u < nunits; u++)
		fprintf(f, "set ylabel '%s'\nplot '%s' index %d using 2:3:4:xtic(1) "
			"title 'near', '' index %d using 5:6:7 title 'far'\n",
			units[u], data, u, u);
	fputs("unset multiplot\n", f);
}

int xbench_plot(const char *png, const struct xbench_result *r, size_t n)
{
	char tmp[] = "/tmp/xnet-bench-plot.XXXXXX", data[64], script[64];
	const char *units[16];
	FILE *fd, *fs;
	int nunits = 0, st;

	if (!xbench_have("gnuplot"))
		return -ENOENT;
	if (strchr(png, '\'') || !mkdtemp(tmp))
		return -EINVAL;
	snprintf(data, sizeof(data), "%s/data", tmp);
	snprintf(script, sizeof(script), "%s/plot.gp", tmp);
	fd = fopen(data, "w");
	fs = fopen(script, "w");
	st = -EIO;
	if (fd && fs) {
		nunits = write_data(fd, r, n, units, 16);
		write_script(fs, png, data, units, nunits);
	}
	if (fd)
		fclose(fd);
	if (fs)
		fclose(fs);
	if (fd && fs && nunits > 0)
		st = xbench_cmd((char *[]){ "gnuplot", script, NULL }, 30.0, NULL);
	unlink(data);
	unlink(script);
	rmdir(tmp);
	return st == 0 ? 0 : st < 0 ? st : -EIO;
}
