/*
 * stats.c — statistics over repeated runs (median, min, max, percentiles)
 * and the placement classification. Pure functions: no I/O, no globals.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double xbench_percentile_sorted(const double *sorted, size_t n, double p)
{
	double rank, frac;
	size_t lo;

	if (n == 0 || !(p >= 0.0 && p <= 100.0))
		return NAN;
	/* Linear interpolation between closest ranks (the "R-7" rule of most
	 * statistics packages): p=0 → first, p=100 → last, p=50 → median. */
	rank = p / 100.0 * (double)(n - 1);
	lo = (size_t)rank;
	if (lo >= n - 1)
		return sorted[n - 1];
	frac = rank - (double)lo;
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

/* Copy the finite values of IN into a new sorted array; *N_OUT its size. */
static double *sorted_finite(const double *in, size_t n, size_t *n_out)
{
	double *v = malloc((n ? n : 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (isfinite(in[i]))
			v[k++] = in[i];
	qsort(v, k, sizeof(*v), cmp_double);
	*n_out = k;
	return v;
}

double xbench_percentile(const double *values, size_t n, double p)
{
	size_t k;
	double *v = sorted_finite(values, n, &k);
	double r;

	if (!v)
		return NAN;
	r = xbench_percentile_sorted(v, k, p);
	free(v);
	return r;
}

void xbench_summarize(const double *values, size_t n, struct xbench_summary *out)
{
	size_t k = 0;
	double *v = sorted_finite(values, n, &k);

	out->n = v ? k : 0;
	out->median = out->min = out->max = NAN;
	out->p50 = out->p90 = out->p99 = NAN;
	if (!v || k == 0) {
		free(v);
		return;
	}
	out->min = v[0];
	out->max = v[k - 1];
	out->median = out->p50 = xbench_percentile_sorted(v, k, 50);
	out->p90 = xbench_percentile_sorted(v, k, 90);
	out->p99 = xbench_percentile_sorted(v, k, 99);
	free(v);
}

const char *xbench_place_name(enum xbench_place p)
{
	static const char *const names[XBENCH_NPLACE] = {
		[XBENCH_NEAR] = "near", [XBENCH_FAR] = "far",
		[XBENCH_MIXED] = "mixed",
	};

	return (unsigned)p < XBENCH_NPLACE ? names[p] : "?";
}

enum xbench_place xbench_classify(double before_ns, double after_ns,
				  double threshold_ns)
{
	if (!isfinite(before_ns) || !isfinite(after_ns))
		return XBENCH_MIXED;
	if (before_ns < threshold_ns && after_ns < threshold_ns)
		return XBENCH_NEAR;
	if (before_ns >= threshold_ns && after_ns >= threshold_ns)
		return XBENCH_FAR;
	return XBENCH_MIXED;
}
