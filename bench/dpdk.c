/*
 * dpdk.c — the optional user-space baseline: DPDK testpmd over virtio-user
 * ↔ vhost-user (txonly → rxonly), one forwarding core each, used when
 * dpdk-testpmd is installed (Debian package dpdk-dev).
 *
 * vhost-user needs 2 MiB hugepages and --single-file-segments (without it:
 * "Too many memory regions"). 1 GiB of hugepages is reserved and a private
 * hugetlbfs mounted for the run; both are given back by the cleanup
 * registry, as are the testpmd processes and their runtime directories.
 *
 * The two testpmd processes are started once, in interactive mode, and
 * driven through their stdin: each run is "start" ... "stop", timed by us,
 * with the forwarding cores idle in between, so the placement probes around
 * a run see quiet cores and the measured window is exactly the run.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define TESTPMD "dpdk-testpmd"
#define NR_HUGE XBENCH_NR_HUGE
#define FREE_HUGE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define HUGE_PAGES 512		/* 1 GiB of 2 MiB pages */
#define MBUFS "16384"		/* per process: well inside the reservation */
#define START_S 60.0		/* bound on EAL start-up and connection */

static char dir[64];		/* private temp dir: hugetlbfs, socket, logs */
static int dpdk_state;		/* 0 not tried, 1 ready, <0 failed */

/* One testpmd: its pid, the pipe to its command line, its log. */
struct pmd {
	pid_t pid;
	int in;
	char log[96];
};
static struct pmd rx_pmd = { .in = -1 }, tx_pmd = { .in = -1 };

int xbench_dpdk_available(const char **why)
{
	if (!xbench_have(TESTPMD)) {
		*why = "dpdk-testpmd not installed (xnet-bench --install-deps)";
		return -ENOENT;
	}
	if (access(NR_HUGE, W_OK) < 0) {
		*why = "cannot reserve 2 MiB hugepages";
		return -EACCES;
	}
	return 0;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int r;

	if (!f)
		return -errno;
	r = fprintf(f, "%ld\n", v) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Reserve HUGE_PAGES more pages; the old count is restored by cleanup. */
static int reserve_hugepages(void)
{
	long old = read_long(NR_HUGE);
	char oldbuf[32], path[128];
	FILE *f;
	bool bad;

	if (old < 0)
		return -EIO;
	snprintf(oldbuf, sizeof(oldbuf), "%ld\n", old);
	if (xbench_on_cleanup_write(NR_HUGE, oldbuf) < 0)
		return -ENOSPC;
	/* For the sweep of a later run, should this one be SIGKILLed. */
	snprintf(path, sizeof(path), "%s/" XBENCH_HUGE_ORIG, dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	bad = fputs(oldbuf, f) < 0;
	if (fclose(f) != 0 || bad)
		return -EIO;
	write_long(NR_HUGE, old + HUGE_PAGES);
	if (read_long(FREE_HUGE) < HUGE_PAGES)
		return -ENOMEM;		/* memory too fragmented or too small */
	return 0;
}

static int dpdk_setup(void)
{
	char huge[96];
	int r;

	/* Each undo step is registered before its action: a signal may
	 * come at any point. */
	snprintf(dir, sizeof(dir), "/tmp/xnet-bench-dpdk.%d", (int)getpid());
	if (xbench_on_cleanup_cmd((char *[]){ "rm", "-rf", dir, NULL }) < 0)
		return -ENOSPC;
	if (mkdir(dir, 0700) < 0)
		return -errno;
	if ((r = reserve_hugepages()) < 0)
		return r;
	snprintf(huge, sizeof(huge), "%s/huge", dir);
	if (mkdir(huge, 0700) < 0)
		return -errno;
	if (xbench_on_cleanup_cmd((char *[]){ "umount", huge, NULL }) < 0)
		return -ENOSPC;
	if (mount("nodev", huge, "hugetlbfs", 0, "pagesize=2M") < 0)
		return -errno;
	return 0;
}

/* Start one interactive testpmd: MAIN is its main core (it only reads
 * commands), FWD its forwarding core, VDEV the device. */
static int testpmd(struct pmd *p, int main_cpu, int fwd_cpu, const char *prefix,
		   const char *vdev, const char *mode, const char *name)
{
	char lcores[32], mainc[16], huge[96], runtime[96];

	snprintf(lcores, sizeof(lcores), "%d,%d", main_cpu, fwd_cpu);
	snprintf(mainc, sizeof(mainc), "%d", main_cpu);
	snprintf(huge, sizeof(huge), "%s/huge", dir);
	snprintf(p->log, sizeof(p->log), "%s/%s.log", dir, name);
	/* EAL keeps a runtime directory per file prefix. */
	snprintf(runtime, sizeof(runtime), "/var/run/dpdk/%s", prefix);
	if (xbench_on_cleanup_cmd((char *[]){ "rm", "-rf", runtime, NULL }) < 0)
		return -ENOSPC;
	/* Unbuffered: we read its prompt and statistics from the log as
	 * they come. */
	p->pid = xbench_spawn_in((char *[]){ "stdbuf", "-o0", TESTPMD, "-l", lcores, "--main-lcore", mainc,
					     "--no-pci", "--file-prefix", (char *)prefix,
					     "--huge-dir", huge, "--single-file-segments",
					     "--vdev", (char *)vdev, "--", "-i",
					     "--forward-mode", (char *)mode,
					     "--total-num-mbufs", MBUFS, NULL },
				 p->log, &p->in);
	return p->pid < 0 ? (int)p->pid : 0;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : (long)st.st_size;
}

/* Bounded wait until LOG, from byte FROM on, contains NEEDLE. Returns the
 * offset just past it, or -ETIMEDOUT (-ECHILD if testpmd died). */
static long wait_log(const struct pmd *p, long from, const char *needle, double timeout_s)
{
	double end = xbench_now() + timeout_s;

	for (;;) {
		FILE *f = fopen(p->log, "r");
		char *buf = NULL;
		size_t len = 0;
		ssize_t n;
		long at = -1;

		if (f && fseek(f, from, SEEK_SET) == 0 &&
		    (n = getdelim(&buf, &len, '\0', f)) > 0) {
			char *hit = strstr(buf, needle);

			if (hit)
				at = from + (hit - buf) + (long)strlen(needle);
		}
		free(buf);
		if (f)
			fclose(f);
		if (at >= 0)
			return at;
		if (kill(p->pid, 0) < 0)
			return -ECHILD;
		if (xbench_now() > end)
			return -ETIMEDOUT;
		usleep(20000);
	}
}

static int cmd(const struct pmd *p, const char *line)
{
	size_t len = strlen(line);

	return write(p->in, line, len) == (ssize_t)len ? 0 : -EPIPE;
}

static int start_pmds(const struct xbench_opts *o)
{
	char sock[96], vhost[160], virtio[160], pfx[2][32];
	int r;

	snprintf(sock, sizeof(sock), "%s/vhost.sock", dir);
	snprintf(vhost, sizeof(vhost), "net_vhost0,iface=%s,queues=1", sock);
	snprintf(virtio, sizeof(virtio), "net_virtio_user0,path=%s,queues=1", sock);
	snprintf(pfx[0], sizeof(pfx[0]), "xbench-v%d", (int)getpid());
	snprintf(pfx[1], sizeof(pfx[1]), "xbench-u%d", (int)getpid());
	/* Receiver (vhost-user, the socket's server) forwards on cpu[1], the
	 * sender (virtio-user) on cpu[0], as in the other baselines. */
	if ((r = testpmd(&rx_pmd, o->cpu[0], o->cpu[1], pfx[0], vhost, "rxonly", "vhost")) < 0)
		return r;
	if ((r = (int)wait_log(&rx_pmd, 0, "testpmd> ", START_S)) < 0)
		return r;
	if ((r = testpmd(&tx_pmd, o->cpu[1], o->cpu[0], pfx[1], virtio, "txonly", "virtio")) < 0)
		return r;
	if ((r = (int)wait_log(&tx_pmd, 0, "testpmd> ", START_S)) < 0)
		return r;
	return 0;
}

static int dpdk_up(const struct xbench_opts *o)
{
	if (dpdk_state == 0) {
		int r = dpdk_setup();

		if (r == 0)
			r = start_pmds(o);
		dpdk_state = r < 0 ? r : 1;
	}
	return dpdk_state < 0 ? dpdk_state : 0;
}

/* "stop" on P and the packet count of its forward statistics. */
static int stop_and_count(const struct pmd *p, const char *field, double *packets)
{
	long from = file_size(p->log), at;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (from < 0 || cmd(p, "stop\n") < 0)
		return -EIO;
	at = wait_log(p, from, "Forward statistics for port 0", 10.0);
	if (at < 0 || (at = wait_log(p, at, "Done.", 10.0)) < 0)
		return at < 0 ? (int)at : -ETIMEDOUT;
	f = fopen(p->log, "r");
	*packets = NAN;
	if (f && fseek(f, from, SEEK_SET) == 0 && getdelim(&buf, &len, '\0', f) > 0) {
		const char *hit = strstr(strstr(buf, "Forward statistics for port 0"), field);

		if (hit)
			*packets = strtod(hit + strlen(field), NULL);
	}
	free(buf);
	if (f)
		fclose(f);
	return isfinite(*packets) ? 0 : -EPROTO;
}

int xbench_dpdk_run(const struct xbench_opts *o, size_t size, double *pps)
{
	char setlen[48];
	struct timespec ts = { .tv_sec = (time_t)o->duration_s,
			       .tv_nsec = (long)(fmod(o->duration_s, 1.0) * 1e9) };
	double t0, t1, rx = NAN, tx = NAN;
	int r = dpdk_up(o);

	if (r < 0)
		return r;
	snprintf(setlen, sizeof(setlen), "set txpkts %zu\n", size);
	if (cmd(&tx_pmd, setlen) < 0 || cmd(&rx_pmd, "start\n") < 0)
		return -EIO;
	t0 = xbench_now();
	if (cmd(&tx_pmd, "start\n") < 0)
		return -EIO;
	/* The measured window itself. */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	r = stop_and_count(&tx_pmd, "TX-packets:", &tx);
	t1 = xbench_now();
	if (r == 0)
		r = stop_and_count(&rx_pmd, "RX-packets:", &rx);
	if (r < 0)
		return r;
	*pps = rx / (t1 - t0);
	return isfinite(*pps) && *pps > 0 ? 0 : -EIO;
}
