/*
 * cpu.c — CPU cycles spent by a set of processes during a measurement, for
 * the cycles-per-packet figures: the run time of all their threads on a
 * CPU (/proc/PID/task/TID/schedstat, ns, user and kernel) times the CPU's
 * nominal clock. Hardware counters are often missing in guests, and run
 * time × clock counts busy-polling the same way everywhere.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

/* Nanoseconds the process PID (all its threads) has run on a CPU. */
static double run_ns(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	double sum = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return NAN;
	while ((e = readdir(d))) {
		char p[400];
		unsigned long long ns;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/schedstat", path, e->d_name);
		f = fopen(p, "r");
		if (f) {
			if (fscanf(f, "%llu", &ns) == 1)
				sum += (double)ns;
			fclose(f);
		}
	}
	closedir(d);
	return sum;
}

/* The clock of the CPUs in Hz, from /proc/cpuinfo; NaN if unknown. */
static double cpu_hz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	double mhz = NAN;

	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "cpu MHz", 7) == 0) {
			const char *colon = strchr(line, ':');

			if (colon)
				mhz = strtod(colon + 1, NULL);
			break;
		}
	fclose(f);
	return mhz * 1e6;
}

int xbench_cpu_start(struct xbench_cpu *c, const pid_t *pids, int n)
{
	if (n < 1 || n > XBENCH_CPU_MAX_PIDS)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (int i = 0; i < n; i++) {
		c->pid[i] = pids[i];
		c->run_ns[i] = run_ns(pids[i]);
		if (!isfinite(c->run_ns[i]))
			return -ESRCH;
	}
	return 0;
}

int xbench_cpu_stop(struct xbench_cpu *c, double *cycles)
{
	double sum = 0, hz = cpu_hz();
	int r = 0;

	for (int i = 0; i < c->n; i++)
		sum += (run_ns(c->pid[i]) - c->run_ns[i]) * 1e-9 * hz;
	if (!isfinite(sum) || sum < 0)
		r = -EIO;
	*cycles = sum;
	return r;
}
