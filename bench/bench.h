/*
 * bench.h — the measurement framework behind `xnet bench`: statistics over
 * repeated runs, the table of measurements (baselines and xnet's own), the
 * cache-line placement probe, cleanup of everything a run creates, and the
 * table / JSON / plot output.
 *
 * Internal convention: functions return 0 or -errno unless said otherwise.
 */
#ifndef XBENCH_H
#define XBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---- statistics (stats.c, pure) ------------------------------------------ */

struct xbench_summary {
	size_t n;		/* finite samples used; 0 → the rest is NaN */
	double median, min, max;
	double p50, p90, p99;
};

/* The P-th percentile (0..100) of the N values in SORTED (ascending), by
 * linear interpolation between closest ranks. NaN when N is 0 or P is out
 * of range. */
double xbench_percentile_sorted(const double *sorted, size_t n, double p);
/* Percentile of unsorted VALUES; non-finite values are ignored. */
double xbench_percentile(const double *values, size_t n, double p);
/* Summary of VALUES (unsorted, not modified; NaN/inf ignored). */
void xbench_summarize(const double *values, size_t n, struct xbench_summary *out);

/* ---- results --------------------------------------------------------------- */

/* Units a result is reported in. */
#define XBENCH_MPPS  "Mpps"
#define XBENCH_GBPS  "Gbit/s"
#define XBENCH_US    "us"
#define XBENCH_MS    "ms"
#define XBENCH_MIB   "MiB"
#define XBENCH_CYCLES "cycles/pkt"
#define XBENCH_MEVS  "Mevents/s"
#define XBENCH_CYCLES_EVENT "cycles/event"

/* Where the host placed the two benchmark vCPUs during one run, from the
 * cache-line round trip measured before and after it. */
enum xbench_place {
	XBENCH_NEAR = 0,
	XBENCH_FAR,
	XBENCH_MIXED,		/* switched during the run: compared with nothing */
	XBENCH_NPLACE
};
const char *xbench_place_name(enum xbench_place p);
/* NEAR if both round trips are below THRESHOLD_NS, FAR if both are at or
 * above it, MIXED otherwise (or if either is not a number). */
enum xbench_place xbench_classify(double rtt_before_ns, double rtt_after_ns,
				  double threshold_ns);

struct xbench_sample {
	double value;
	double rtt_before_ns, rtt_after_ns;
	enum xbench_place place;
};

/* One line of the report: a measurement summarised for one placement. */
struct xbench_result {
	const char *name;
	const char *unit;
	const char *desc;		/* human label for the table */
	enum xbench_place place;
	bool available;
	const char *reason;		/* why not available */
	struct xbench_summary s;	/* over the runs of this placement */
	const char *baseline;		/* compared with (NULL: none) */
	double ratio;			/* median / baseline median; NaN: none */
	/* The individual runs of this placement (may be NULL). */
	const struct xbench_sample *samples;
	size_t nsamples;		/* all runs of the series; filter by place */
};

/* Write RESULTS as a JSON list of objects: name, unit, placement, median,
 * min, max, runs, for compared results baseline and ratio, and the runs
 * themselves ("samples": value and the round trips before and after). Unavailable
 * results are written as {name, unit, available:false, reason}. Non-finite
 * numbers are written as null. */
void xbench_write_json(FILE *f, const struct xbench_result *r, size_t n);
/* Write a JSON string literal (quoted, escaped). */
void xbench_json_string(FILE *f, const char *s);

/* ---- a small JSON reader (json.c): for iperf3's output and for tests ---- */

enum xbench_jtype { XJ_NULL, XJ_BOOL, XJ_NUM, XJ_STR, XJ_ARR, XJ_OBJ };
struct xbench_json;

/* Parse TEXT. NULL on error with a message (naming the offset) in ERR. */
struct xbench_json *xbench_json_parse(const char *text, char *err, size_t errlen);
void xbench_json_free(struct xbench_json *j);
enum xbench_jtype xbench_json_type(const struct xbench_json *j);
/* Member KEY of an object (NULL if J is not an object or has no KEY). */
const struct xbench_json *xbench_json_get(const struct xbench_json *j, const char *key);
/* Follow dot-separated object keys ("end.sum.packets"). */
const struct xbench_json *xbench_json_path(const struct xbench_json *j, const char *path);
size_t xbench_json_len(const struct xbench_json *j);	/* array/object size */
const struct xbench_json *xbench_json_at(const struct xbench_json *j, size_t i);
double xbench_json_num(const struct xbench_json *j);	/* NaN if not a number */
const char *xbench_json_str(const struct xbench_json *j); /* NULL if not a string */
bool xbench_json_bool(const struct xbench_json *j);

/* ---- measurements ------------------------------------------------------------ */

struct xbench_opts {
	int runs;		/* runs per measurement (per round, interleaved) */
	double duration_s;	/* length of one throughput run */
	int cpu[2];		/* the two cores every measurement uses */
	double near_ns;		/* placement threshold for the round trip */
	bool quick;
	bool verbose;
};

struct xbench_case;
/* One run of a measurement: fill *VALUE in the case's unit. Returns 0,
 * -ENOSYS when the measurement does not exist yet (reported as "not
 * available yet"), -ENOENT when a tool it needs is not installed, or another
 * -errno on failure. Must clean up all it creates before returning. */
typedef int (*xbench_run_fn)(const struct xbench_opts *o,
			     const struct xbench_case *c, double *value);
/* Optional per-case check, once before any run: 0 if it can run, else
 * -errno with a reason in *WHY. */
typedef int (*xbench_probe_fn)(const struct xbench_opts *o,
			       const struct xbench_case *c, const char **why);

struct xbench_case {
	const char *name;	/* stable id used in --json and --only */
	const char *unit;
	const char *desc;
	const char *group;	/* "baseline", "ring", "stack", "control" */
	xbench_run_fn run;
	xbench_probe_fn probe;	/* may be NULL */
	size_t size;		/* packet size in bytes, where it applies */
	int queues;		/* 1 or 2, where it applies */
	int dir;		/* XBENCH_TX / XBENCH_RX, where it applies */
	int pct;		/* percentile for latency cases (50, 99) */
	/* Results compared with, in preference order: the first one that has
	 * runs in the same placement is used. NULL-terminated. */
	const char *baselines[3];
};

#define XBENCH_TX 1		/* guest → backend */
#define XBENCH_RX 2		/* backend → guest */

/* The baselines (baselines.c) and xnet's own figures (xnet_cases.c). Each
 * table ends with an entry whose name is NULL. */
extern const struct xbench_case xbench_baseline_cases[];
extern const struct xbench_case xbench_xnet_cases[];

/* ---- the individual measurements --------------------------------------- */

/* Shared-memory SPSC ring between two busy-polling processes pinned on
 * CPU[0] (producer) and CPU[1] (consumer); SIZE-byte packets copied in and
 * out, for DURATION_S. Fills packets/s and bytes/s. */
int xbench_spsc_run(const int cpu[2], size_t size, double duration_s,
		    double *pps, double *bps);
/* Cache-line round trip between CPU[0] and CPU[1] in ns (median of
 * batches). */
int xbench_pingpong_ns(const int cpu[2], double *rtt_ns);

/* veth pair between two namespaces, made on first use, removed by
 * xbench_cleanup(). */
int xbench_veth_iperf_tcp(const struct xbench_opts *o, double *gbps);
int xbench_veth_iperf_udp(const struct xbench_opts *o, size_t size, double *mpps);
int xbench_veth_ping(const struct xbench_opts *o, const double pcts[], size_t npct,
		     double *us);

/* iperf3 and ping between two namespaces (nsperf.c), as the veth baseline
 * and the full-stack figures run them: iperf3 server in NS_SRV bound to
 * ADDR_SRV and pinned to cpu[1], client in NS_CLI pinned to cpu[0], for
 * duration_s; ping from NS_CLI every 2 ms. */
struct xbench_ns_pair {
	const char *ns_srv, *addr_srv, *ns_cli;
};
int xbench_ns_iperf(const struct xbench_opts *o, const struct xbench_ns_pair *p,
		    char *const extra[], struct xbench_json **out);
int xbench_ns_tcp(const struct xbench_opts *o, const struct xbench_ns_pair *p, double *gbps);
/* SIZE: the Ethernet frame without FCS. Received packets per second. */
int xbench_ns_udp(const struct xbench_opts *o, const struct xbench_ns_pair *p, size_t size,
		  double *mpps);
int xbench_ns_ping(const struct xbench_opts *o, const struct xbench_ns_pair *p,
		   const double pcts[], size_t npct, double *us);

/* DPDK testpmd virtio-user → vhost-user, when dpdk-testpmd is installed. */
int xbench_dpdk_available(const char **why);
int xbench_dpdk_run(const struct xbench_opts *o, size_t size, double *pps);
#define XBENCH_NR_HUGE "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define XBENCH_HUGE_ORIG "nr_hugepages.orig"	/* in the DPDK run directory */

/* Remove what a killed earlier run left (sweep.c); see there. */
void xbench_sweep_stale(void);

/* ---- CPU cycles of the processes under test (cpu.c) ----------------------- */

#define XBENCH_CPU_MAX_PIDS 8
struct xbench_cpu {
	int n;
	pid_t pid[XBENCH_CPU_MAX_PIDS];
	double run_ns[XBENCH_CPU_MAX_PIDS];	/* CPU run time at start */
};
/* Start counting the CPU cycles of the N processes PIDS (all threads). */
int xbench_cpu_start(struct xbench_cpu *c, const pid_t *pids, int n);
/* Cycles they spent since start (CPU run time × the nominal clock); divide
 * by the packets moved for cycles per packet. The processes must still
 * exist. */
int xbench_cpu_stop(struct xbench_cpu *c, double *cycles);

/* ---- a session: interleaved runs, placement, results (session.c) ------- */


struct xbench_series {
	const struct xbench_case *c;
	bool available;
	const char *why;		/* when not available */
	int failures;
	int last_err;			/* -errno of the last failed run */
	struct xbench_sample *samples;
	size_t n;
};

struct xbench_session {
	struct xbench_opts o;
	struct xbench_series *series;
	size_t nseries;
	double *probes_ns;		/* every probe taken */
	size_t nprobes;
	FILE *progress;			/* one line per run; NULL: quiet */
};

/* Build a session over the cases of TABLES (NULL-terminated list of case
 * tables) whose name matches one of the comma-separated fnmatch patterns
 * of ONLY (NULL: all). Returns 0 or -errno (-ENOENT: nothing matched). */
int xbench_session_init(struct xbench_session *s, const struct xbench_opts *o,
			const struct xbench_case *const *tables, const char *only);
void xbench_session_free(struct xbench_session *s);
/* Run every available case o.runs times, in rounds; each round runs the
 * cases in a rotated order so ours and the baselines interleave, with a
 * placement probe before and after each run. */
void xbench_session_run(struct xbench_session *s);
/* Record one run (used by session_run and by tests). */
int xbench_series_add(struct xbench_series *sr, double value, double before_ns,
		      double after_ns, double near_ns);
/* The results: per series, one per placement that has runs (near, far,
 * mixed), or one "unavailable" entry; then the probe round trips. *OUT is
 * malloc'd; returns the count or -ENOMEM. */
ssize_t xbench_session_results(const struct xbench_session *s,
			       struct xbench_result **out);
/* Turn a series' runs into results; exposed for tests. Writes at most
 * XBENCH_NPLACE results into OUT and returns how many. */
size_t xbench_series_results(const struct xbench_session *s,
			      const struct xbench_series *sr,
			      struct xbench_result *out);

/* ---- output (report.c) -------------------------------------------------- */

void xbench_print_table(FILE *f, const struct xbench_session *s,
			const struct xbench_result *r, size_t n);
/* The same as a Markdown table, for the README. */
void xbench_print_markdown(FILE *f, const struct xbench_session *s,
			   const struct xbench_result *r, size_t n);
/* Plot the medians (min/max as error bars) per unit with gnuplot into PNG.
 * -ENOENT when gnuplot is not installed. */
int xbench_plot(const char *png, const struct xbench_result *r, size_t n);

/* ---- processes and cleanup (proc.c) ------------------------------------- */

/* Pin the calling thread to CPU. */
int xbench_pin(int cpu);
/* Find PROG in PATH; true if found. */
bool xbench_have(const char *prog);
/* Run ARGV (argv[0] looked up in PATH) with stdout captured into a malloc'd
 * string (*OUT, may be NULL to discard; stderr goes to /dev/null unless
 * VERBOSE), killing it after TIMEOUT_S. Returns the exit status (0..255),
 * -ETIMEDOUT, or -errno. */
int xbench_cmd(char *const argv[], double timeout_s, char **out);
/* Start ARGV in the background with stdout (and stderr) into the file
 * OUTFILE (NULL: /dev/null); the pid is remembered and killed by cleanup. */
pid_t xbench_spawn(char *const argv[], const char *outfile);
/* The same with its stdin a pipe: *IN gets the writing end. */
pid_t xbench_spawn_in(char *const argv[], const char *outfile, int *in);
/* fork() for helpers: the child resets the signal handlers and never runs
 * the parent's cleanup; it must end with _exit(). Returns pid or -errno. */
pid_t xbench_fork(void);
/* Stop a spawned process (SIGTERM, then SIGKILL after GRACE_S) and reap it.
 * Returns its exit status, or -errno. */
int xbench_stop(pid_t pid, int sig, double grace_s);
/* Wait for PID up to TIMEOUT_S; on timeout kill it. Exit status or -errno. */
int xbench_wait(pid_t pid, double timeout_s);

/* Cleanup registry: undo steps run in reverse order by xbench_cleanup(),
 * at exit and on SIGINT/SIGTERM/SIGHUP. A step is a command line (run with
 * fork+exec, so it is safe from a signal handler) or a file to restore. */
void xbench_cleanup_init(void);
/* Returns a handle (>= 0) to cancel the step later, or -ENOSPC. */
int xbench_on_cleanup_cmd(char *const argv[]);
int xbench_on_cleanup_write(const char *path, const char *content);
/* Run step H now and forget it. */
void xbench_cleanup_now(int h);
void xbench_cleanup(void);
void xbench_track_pid(pid_t pid);
void xbench_untrack_pid(pid_t pid);

double xbench_now(void);	/* CLOCK_MONOTONIC seconds */

#endif
