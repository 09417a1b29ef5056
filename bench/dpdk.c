/*
 * dpdk.c — the optional user-space baseline: DPDK testpmd over virtio-user
 * ↔ vhost-user (txonly → rxonly), one forwarding core each, used when
 * dpdk-testpmd is installed (Debian package dpdk-dev).
 *
 * vhost-user needs 2 MiB hugepages and --single-file-segments (without it:
 * "Too many memory regions"). 1 GiB of hugepages is reserved and a private
 * hugetlbfs mounted for the run; both are given back by the cleanup
 * registry, as are the testpmd processes and their runtime directories.
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
#define WARMUP_S 1		/* stats periods dropped at the start */

static char dir[64];		/* private temp dir: hugetlbfs, socket, logs */
static int dpdk_state;		/* 0 not tried, 1 ready, <0 failed */

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

static int dpdk_up(void)
{
	if (dpdk_state == 0) {
		int r = dpdk_setup();

		dpdk_state = r < 0 ? r : 1;
	}
	return dpdk_state < 0 ? dpdk_state : 0;
}

/* Start one testpmd: MAIN is its (mostly sleeping) main core, FWD its
 * forwarding core; VDEV the device; the rest testpmd's own options. */
static pid_t testpmd(int main_cpu, int fwd_cpu, const char *prefix, const char *vdev,
		     const char *mode, const char *txpkts, const char *log)
{
	char lcores[32], mainc[16], huge[96], runtime[96];

	snprintf(lcores, sizeof(lcores), "%d,%d", main_cpu, fwd_cpu);
	snprintf(mainc, sizeof(mainc), "%d", main_cpu);
	snprintf(huge, sizeof(huge), "%s/huge", dir);
	snprintf(runtime, sizeof(runtime), "/var/run/dpdk/%s", prefix);
	if (access(runtime, F_OK) < 0)	/* first use of this prefix */
		/* EAL keeps a runtime directory per file prefix. */
		xbench_on_cleanup_cmd((char *[]){ "rm", "-rf", runtime, NULL });
	return xbench_spawn((char *[]){ TESTPMD, "-l", lcores, "--main-lcore", mainc,
					"--no-pci", "--file-prefix", (char *)prefix,
					"--huge-dir", huge, "--single-file-segments",
					"--vdev", (char *)vdev, "--",
					"--forward-mode", (char *)mode, "--txpkts", (char *)txpkts,
					"--total-num-mbufs", MBUFS, "--stats-period", "1",
					NULL }, log);
}

/* Bounded wait for PATH to appear. */
static int wait_file(const char *path, double timeout_s)
{
	double end = xbench_now() + timeout_s;
	struct stat st;

	while (stat(path, &st) < 0) {
		if (xbench_now() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return 0;
}

/* Median of the Rx-pps lines in testpmd's log, after the warm-up ones. */
static double rx_pps(const char *log)
{
	FILE *f = fopen(log, "r");
	double v[256];
	size_t n = 0, seen = 0;
	char line[256];

	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f) && n < 256) {
		const char *p = strstr(line, "Rx-pps:");

		/* testpmd prints zero until the peer connects: skip those. */
		if (p && (seen || strtod(p + 7, NULL) > 0) && seen++ >= WARMUP_S)
			v[n++] = strtod(p + 7, NULL);
	}
	fclose(f);
	return xbench_percentile(v, n, 50);
}

int xbench_dpdk_run(const struct xbench_opts *o, size_t size, double *pps)
{
	char sock[96], vhost[160], virtio[160], vlog[96], ulog[96], pfx[2][32], len[16];
	int secs = (int)fmax(3, ceil(o->duration_s)) + WARMUP_S;
	pid_t rx, tx = -1;
	int r = dpdk_up();

	if (r < 0)
		return r;
	snprintf(sock, sizeof(sock), "%s/vhost.sock", dir);
	unlink(sock);
	snprintf(vhost, sizeof(vhost), "net_vhost0,iface=%s,queues=1", sock);
	snprintf(virtio, sizeof(virtio), "net_virtio_user0,path=%s,queues=1", sock);
	snprintf(vlog, sizeof(vlog), "%s/vhost.log", dir);
	snprintf(ulog, sizeof(ulog), "%s/virtio.log", dir);
	snprintf(pfx[0], sizeof(pfx[0]), "xbench-v%d", (int)getpid());
	snprintf(pfx[1], sizeof(pfx[1]), "xbench-u%d", (int)getpid());
	snprintf(len, sizeof(len), "%zu", size);
	/* Receiver (vhost-user, the socket's server) forwards on cpu[1], the
	 * sender (virtio-user) on cpu[0], as the other baselines. */
	rx = testpmd(o->cpu[0], o->cpu[1], pfx[0], vhost, "rxonly", len, vlog);
	if (rx < 0)
		return rx;
	r = wait_file(sock, 20.0);
	if (r == 0) {
		tx = testpmd(o->cpu[1], o->cpu[0], pfx[1], virtio, "txonly", len, ulog);
		if (tx < 0)
			r = tx;
	}
	if (r == 0) {
		struct timespec ts = { .tv_sec = secs + 2 };	/* + EAL start-up */

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (tx > 0)
		xbench_stop(tx, SIGINT, 10.0);
	xbench_stop(rx, SIGINT, 10.0);
	if (r < 0)
		return r;
	*pps = rx_pps(vlog);
	return isfinite(*pps) && *pps > 0 ? 0 : -EIO;
}
