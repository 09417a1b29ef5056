/*
 * session.c — one benchmark session: the selected cases, run in
 * interleaved rounds with a placement probe before and after every run,
 * and turned into results compared only within the same placement.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static bool selected(const char *name, const char *only)
{
	char pat[128];

	if (!only || !*only)
		return true;
	while (*only) {
		size_t len = strcspn(only, ",");

		if (len < sizeof(pat)) {
			memcpy(pat, only, len);
			pat[len] = '\0';
			/* A bare prefix ("spsc") selects the whole family. */
			if (fnmatch(pat, name, 0) == 0 ||
			    (strncmp(name, pat, len) == 0 && name[len] == '.'))
				return true;
		}
		only += len;
		if (*only == ',')
			only++;
	}
	return false;
}

int xbench_session_init(struct xbench_session *s, const struct xbench_opts *o,
			const struct xbench_case *const *tables, const char *only)
{
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	s->o = *o;
	for (size_t t = 0; tables[t]; t++)
		for (const struct xbench_case *c = tables[t]; c->name; c++)
			n++;
	s->series = calloc(n ? n : 1, sizeof(*s->series));
	if (!s->series)
		return -ENOMEM;
	for (size_t t = 0; tables[t]; t++)
		for (const struct xbench_case *c = tables[t]; c->name; c++)
			if (selected(c->name, only)) {
				s->series[s->nseries].c = c;
				s->series[s->nseries++].available = true;
			}
	return s->nseries ? 0 : -ENOENT;
}

void xbench_session_free(struct xbench_session *s)
{
	for (size_t i = 0; i < s->nseries; i++)
		free(s->series[i].samples);
	free(s->series);
	free(s->probes_ns);
	memset(s, 0, sizeof(*s));
}

int xbench_series_add(struct xbench_series *sr, double value, double before_ns,
		      double after_ns, double near_ns)
{
	struct xbench_sample *v = realloc(sr->samples, (sr->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	sr->samples = v;
	v[sr->n++] = (struct xbench_sample){
		.value = value, .rtt_before_ns = before_ns, .rtt_after_ns = after_ns,
		.place = xbench_classify(before_ns, after_ns, near_ns),
	};
	return 0;
}

/* One placement probe; NaN when it could not run. */
static double probe(struct xbench_session *s)
{
	double ns = NAN, *v;

	if (xbench_pingpong_ns(s->o.cpu, &ns) < 0)
		return NAN;
	v = realloc(s->probes_ns, (s->nprobes + 1) * sizeof(*v));
	if (v) {
		s->probes_ns = v;
		v[s->nprobes++] = ns;
	}
	return ns;
}

/* Mark SR unavailable after a run failed with R. */
static void give_up(struct xbench_series *sr, int r)
{
	sr->available = false;
	if (r == -ENOSYS)
		sr->why = "not available yet";
	else if (!sr->why)
		sr->why = strerror(-r);
}

static void run_one(struct xbench_session *s, struct xbench_series *sr, int round)
{
	double before, after, value = NAN;
	int r;

	before = probe(s);
	r = sr->c->run(&s->o, sr->c, &value);
	after = probe(s);
	if (r == 0 && !isfinite(value))
		r = -EIO;
	if (r == 0)
		r = xbench_series_add(sr, value, before, after, s->o.near_ns);
	if (s->progress && r == 0)
		fprintf(s->progress, "bench: round %d %-26s %.4g %s  (rtt %.0f/%.0f ns, %s)\n",
			round + 1, sr->c->name, value, sr->c->unit, before, after,
			xbench_place_name(sr->samples[sr->n - 1].place));
	else if (s->progress)
		fprintf(s->progress, "bench: round %d %-26s %s\n", round + 1, sr->c->name,
			r == -ENOSYS ? "not available yet" : strerror(-r));
	if (r == -ENOSYS) {
		give_up(sr, r);
	} else if (r < 0) {
		sr->failures++;
		sr->last_err = r;
		/* A case that never worked is not retried every round. */
		if (sr->n == 0 && sr->failures >= 2)
			give_up(sr, r);
	}
}

static void check_tools(struct xbench_session *s)
{
	for (size_t i = 0; i < s->nseries; i++) {
		struct xbench_series *sr = &s->series[i];
		const char *why = NULL;

		if (sr->c->probe && sr->c->probe(&s->o, sr->c, &why) < 0) {
			sr->available = false;
			sr->why = why ? why : "cannot run here";
		}
	}
}

void xbench_session_run(struct xbench_session *s)
{
	check_tools(s);
	for (int round = 0; round < s->o.runs; round++)
		/* Rotate the order each round: no case always runs first, and
		 * each sees the placement at different moments. */
		for (size_t k = 0; k < s->nseries; k++) {
			struct xbench_series *sr = &s->series[(k + (size_t)round) % s->nseries];

			if (sr->available)
				run_one(s, sr, round);
		}
}

static void summarize_place(const struct xbench_series *sr, enum xbench_place p,
			    struct xbench_summary *out)
{
	double *v = malloc((sr->n ? sr->n : 1) * sizeof(*v));
	size_t k = 0;

	for (size_t i = 0; v && i < sr->n; i++)
		if (sr->samples[i].place == p)
			v[k++] = sr->samples[i].value;
	xbench_summarize(v, k, out);
	free(v);
}

static const struct xbench_series *find(const struct xbench_session *s, const char *name)
{
	for (size_t i = 0; i < s->nseries; i++)
		if (strcmp(s->series[i].c->name, name) == 0)
			return &s->series[i];
	return NULL;
}

/* The first baseline of R's case with runs in R's placement. */
static void compare(const struct xbench_session *s, const struct xbench_case *c,
		    struct xbench_result *r)
{
	r->baseline = NULL;
	r->ratio = NAN;
	if (r->place == XBENCH_MIXED)
		return;		/* placement changed mid-run: no fair partner */
	for (size_t i = 0; i < 3 && c->baselines[i]; i++) {
		const struct xbench_series *b = find(s, c->baselines[i]);
		struct xbench_summary bs;

		if (!b)
			continue;
		summarize_place(b, r->place, &bs);
		if (bs.n == 0)
			continue;
		r->baseline = c->baselines[i];
		r->ratio = r->s.median / bs.median;
		return;
	}
}

size_t xbench_series_results(const struct xbench_session *s,
			      const struct xbench_series *sr,
			      struct xbench_result *out)
{
	const struct xbench_case *c = sr->c;
	size_t n = 0;

	for (int p = 0; p < XBENCH_NPLACE; p++) {
		struct xbench_result *r = &out[n];

		*r = (struct xbench_result){ .name = c->name, .unit = c->unit,
					     .desc = c->desc, .place = p,
					     .available = true, .ratio = NAN,
					     .samples = sr->samples, .nsamples = sr->n };
		summarize_place(sr, p, &r->s);
		if (r->s.n == 0)
			continue;
		compare(s, c, r);
		n++;
	}
	if (n == 0) {
		out[0] = (struct xbench_result){
			.name = c->name, .unit = c->unit, .desc = c->desc,
			.available = false, .ratio = NAN,
			.reason = !sr->available && sr->why ? sr->why
				  : sr->failures ? strerror(-sr->last_err) : "not run",
		};
		n = 1;
	}
	return n;
}

/* The probe's own round trips, per placement, in microseconds. */
static size_t probe_results(const struct xbench_session *s, struct xbench_result *out)
{
	double *v = malloc((s->nprobes ? s->nprobes : 1) * sizeof(*v));
	size_t n = 0;

	for (int p = XBENCH_NEAR; v && p <= XBENCH_FAR; p++) {
		size_t k = 0;

		for (size_t i = 0; i < s->nprobes; i++)
			if ((s->probes_ns[i] < s->o.near_ns) == (p == XBENCH_NEAR))
				v[k++] = s->probes_ns[i] / 1000.0;
		out[n] = (struct xbench_result){
			.name = "probe.cacheline_rtt", .unit = XBENCH_US,
			.desc = "cache-line round trip between the cores",
			.place = p, .available = true, .ratio = NAN,
		};
		xbench_summarize(v, k, &out[n].s);
		if (out[n].s.n)
			n++;
	}
	free(v);
	return n;
}

ssize_t xbench_session_results(const struct xbench_session *s,
			       struct xbench_result **out)
{
	struct xbench_result *r = calloc((s->nseries + 1) * XBENCH_NPLACE, sizeof(*r));
	size_t n = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < s->nseries; i++)
		n += xbench_series_results(s, &s->series[i], r + n);
	n += probe_results(s, r + n);
	*out = r;
	return (ssize_t)n;
}
