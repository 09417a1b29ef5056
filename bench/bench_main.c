/*
 * bench_main.c — xnet-bench (run by `xnet bench`): measures xnet's figures
 * and the baselines they are judged against in one session on the same two
 * cores, and prints a table, --json, or a PNG plot.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"

#define DEPS_PACKAGES "dpdk-dev", "gnuplot-nox"

static void usage(FILE *f)
{
	fputs("usage: xnet-bench [options]\n"
	      "  --quick            2 runs of 0.2 s each: checks the harness, not for figures\n"
	      "  --runs N           runs per figure (default 5)\n"
	      "  --duration SEC     length of one throughput run (default 2)\n"
	      "  --only LIST        comma-separated names or globs (spsc,veth.tcp,ring.*)\n"
	      "  --no-dpdk          skip the DPDK baseline even when installed\n"
	      "  --cpus A,B         the two cores to use (default 0,1)\n"
	      "  --near-ns NS       round trip below which the cores count as near (200)\n"
	      "  --json             print the results as JSON instead of the table\n"
	      "  --markdown         print the table as Markdown (for the README)\n"
	      "  --plot FILE.png    also plot the results with gnuplot\n"
	      "  --list             list the measurements and exit\n"
	      "  --install-deps     install the optional DPDK and gnuplot packages\n"
	      "  -v, --verbose      progress lines on stderr (each run, its round trips\n"
	      "                     and placement)\n"
	      "environment: XNET_BENCH_VERBOSE=1 shows the helper programs' stderr\n", f);
}

static int install_deps(void)
{
	char *const argv[] = { "apt-get", "install", "-y", "--no-install-recommends",
			       DEPS_PACKAGES, NULL };

	setenv("DEBIAN_FRONTEND", "noninteractive", 1);
	execvp(argv[0], argv);
	perror("xnet-bench: apt-get");
	return 1;
}

static void list_cases(const struct xbench_case *const *tables)
{
	for (size_t t = 0; tables[t]; t++)
		for (const struct xbench_case *c = tables[t]; c->name; c++)
			printf("%-28s %-10s %-8s %s\n", c->name, c->unit, c->group, c->desc);
}

static int parse_cpus(const char *s, int cpu[2])
{
	char *end;
	long a = strtol(s, &end, 10), b;

	if (end == s || *end != ',')
		return -EINVAL;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || *end || a < 0 || b < 0 || a > 1023 || b > 1023 || a == b)
		return -EINVAL;
	cpu[0] = (int)a;
	cpu[1] = (int)b;
	return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= min && v <= max))
		return -EINVAL;
	*out = v;
	return 0;
}

struct cli {
	struct xbench_opts o;
	const char *only, *plot;
	bool json, markdown, no_dpdk, list, install;
	int runs;
	double duration;
};

static int parse_args(int argc, char **argv, struct cli *c)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' }, { "runs", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' }, { "only", required_argument, NULL, 'o' },
		{ "no-dpdk", no_argument, NULL, 'D' }, { "cpus", required_argument, NULL, 'c' },
		{ "near-ns", required_argument, NULL, 'n' }, { "json", no_argument, NULL, 'j' },
		{ "markdown", no_argument, NULL, 'm' },
		{ "plot", required_argument, NULL, 'p' }, { "list", no_argument, NULL, 'l' },
		{ "install-deps", no_argument, NULL, 'I' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	double v;
	int ch;

	while ((ch = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'q': c->o.quick = true; break;
		case 'r':
			if (parse_double(optarg, 1, 1000, &v) < 0 || v != floor(v))
				return fprintf(stderr, "xnet-bench: --runs wants 1..1000, not '%s'\n", optarg), -1;
			c->runs = (int)v;
			break;
		case 'd':
			if (parse_double(optarg, 0.01, 600, &c->duration) < 0)
				return fprintf(stderr, "xnet-bench: --duration wants 0.01..600 s, not '%s'\n", optarg), -1;
			break;
		case 'o': c->only = optarg; break;
		case 'D': c->no_dpdk = true; break;
		case 'c':
			if (parse_cpus(optarg, c->o.cpu) < 0)
				return fprintf(stderr, "xnet-bench: --cpus wants two different cores 'A,B', not '%s'\n", optarg), -1;
			break;
		case 'n':
			if (parse_double(optarg, 1, 1e6, &c->o.near_ns) < 0)
				return fprintf(stderr, "xnet-bench: --near-ns wants 1..1000000, not '%s'\n", optarg), -1;
			break;
		case 'j': c->json = true; break;
		case 'm': c->markdown = true; break;
		case 'p': c->plot = optarg; break;
		case 'l': c->list = true; break;
		case 'I': c->install = true; break;
		case 'v': c->o.verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc)
		return fprintf(stderr, "xnet-bench: unexpected argument '%s'\n", argv[optind]), -1;
	c->o.runs = c->runs ? c->runs : c->o.quick ? 2 : 5;
	c->o.duration_s = c->duration > 0 ? c->duration : c->o.quick ? 0.2 : 2.0;
	return 0;
}

/* The dpdk cases are dropped by --no-dpdk: the easiest way is a pattern
 * that leaves everything else. */
static bool excluded(const struct cli *c, const char *name)
{
	return c->no_dpdk && strncmp(name, "dpdk.", 5) == 0;
}

static int run(struct cli *c, const struct xbench_case *const *tables)
{
	struct xbench_session s;
	struct xbench_result *res = NULL;
	ssize_t n;
	int r = xbench_session_init(&s, &c->o, tables, c->only);

	if (r < 0) {
		fprintf(stderr, "xnet-bench: no measurement matches '%s' (see --list)\n",
			c->only ? c->only : "");
		return 2;
	}
	for (size_t i = 0; i < s.nseries; i++)
		if (excluded(c, s.series[i].c->name)) {
			s.series[i].available = false;
			s.series[i].why = "skipped (--no-dpdk)";
		}
	s.progress = c->o.verbose ? stderr : NULL;
	xbench_session_run(&s);
	xbench_cleanup();	/* namespaces, hugepages: before printing */
	n = xbench_session_results(&s, &res);
	if (n < 0) {
		xbench_session_free(&s);
		return 1;
	}
	if (c->json)
		xbench_write_json(stdout, res, (size_t)n);
	else if (c->markdown)
		xbench_print_markdown(stdout, &s, res, (size_t)n);
	else
		xbench_print_table(stdout, &s, res, (size_t)n);
	if (c->plot && (r = xbench_plot(c->plot, res, (size_t)n)) < 0)
		fprintf(stderr, "xnet-bench: no plot: %s\n",
			r == -ENOENT ? "gnuplot not installed" : strerror(-r));
	free(res);
	xbench_session_free(&s);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct xbench_case *const tables[] = {
		xbench_baseline_cases, xbench_xnet_cases, NULL,
	};
	struct cli c = { .o = { .cpu = { 0, 1 }, .near_ns = 200 } };

	if (parse_args(argc, argv, &c) < 0)
		return 2;
	if (c.install)
		return install_deps();
	if (c.list) {
		list_cases(tables);
		return 0;
	}
	if (geteuid() != 0)
		fprintf(stderr, "xnet-bench: not root: namespace and DPDK baselines "
			"will be reported unavailable\n");
	xbench_cleanup_init();
	xbench_sweep_stale();
	return run(&c, tables);
}
