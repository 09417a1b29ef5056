/*
 * sweep.c — removes what an earlier xnet-bench left behind when it was
 * killed outright (SIGKILL skips every cleanup): its namespaces, and its
 * DPDK directory with the hugetlbfs mount and the hugepage reservation,
 * and the xnet sim of the full-stack figures (its daemons, guests, bridge
 * and directory).
 * Only leftovers named after a process that no longer exists are touched.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/xsim.h"

/* Gone, or a zombie nobody has reaped yet. */
static bool dead(long pid)
{
	char path[64], state = 0;
	FILE *f;

	if (pid <= 0)
		return false;
	if (kill((pid_t)pid, 0) < 0)
		return errno == ESRCH;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	/* "pid (comm) S ...": the state follows the last ')'. */
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	fclose(f);
	return state == 'Z';
}

static void sweep_netns(void)
{
	char *out = NULL, *line, *save = NULL;

	if (xbench_cmd((char *[]){ "ip", "netns", "list", NULL }, 10, &out) != 0 || !out) {
		free(out);
		return;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], side;
		long pid;
		int len = 0;

		/* "xbench-<pid>-<a|b>", maybe followed by " (id: N)". */
		if (sscanf(line, "xbench-%ld-%c%n", &pid, &side, &len) != 2 ||
		    (side != 'a' && side != 'b') || (line[len] && line[len] != ' ') ||
		    !dead(pid))
			continue;
		snprintf(name, sizeof(name), "xbench-%ld-%c", pid, side);
		xbench_cmd((char *[]){ "ip", "netns", "del", name, NULL }, 10, NULL);
	}
	free(out);
}

static void sweep_dpdk_dir(const char *dir, long pid)
{
	char path[400], buf[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/huge", dir);
	umount2(path, MNT_DETACH);
	snprintf(path, sizeof(path), "%s/" XBENCH_HUGE_ORIG, dir);
	f = fopen(path, "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			FILE *w = fopen(XBENCH_NR_HUGE, "w");

			if (w) {
				fputs(buf, w);
				fclose(w);
			}
		}
		fclose(f);
	}
	xbench_cmd((char *[]){ "rm", "-rf", (char *)dir, NULL }, 10, NULL);
	for (const char *side = "uv"; *side; side++) {
		snprintf(path, sizeof(path), "/var/run/dpdk/xbench-%c%ld", *side, pid);
		xbench_cmd((char *[]){ "rm", "-rf", path, NULL }, 10, NULL);
	}
}

static void sweep_dpdk(void)
{
	DIR *d = opendir("/tmp");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char dir[300], tail;
		long pid;

		if (sscanf(e->d_name, "xnet-bench-dpdk.%ld%c", &pid, &tail) != 1 || !dead(pid))
			continue;
		snprintf(dir, sizeof(dir), "/tmp/%s", e->d_name);
		sweep_dpdk_dir(dir, pid);
	}
	closedir(d);
}

/* An xnet sim we started: `xnet sim down` stops its daemons and removes
 * its guests; then its bridge and directory go. */
static void sweep_sim_dir(const char *dir, long pid)
{
	char xnet[4096], env[400], br[32];

	snprintf(env, sizeof(env), "XNET_SIM_DIR=%s", dir);
	if (xsim_prog("xnet", xnet, sizeof(xnet)) == 0)
		xbench_cmd((char *[]){ "env", env, xnet, "sim", "down", NULL }, 60, NULL);
	/* ".../xnet-bench-sim.<pid>.<tag>XXXXXX": the bridge carries the tag. */
	snprintf(br, sizeof(br), XSIM_BRIDGE_FMT, (int)pid, strrchr(dir, '.')[1]);
	xbench_cmd((char *[]){ "ip", "link", "del", br, NULL }, 10, NULL);
	xbench_cmd((char *[]){ "rm", "-rf", (char *)dir, NULL }, 10, NULL);
}

/* Directories in /tmp named PREFIX<pid>.* of a dead pid: FN(dir, pid). */
static void sweep_dirs(const char *prefix, void (*fn)(const char *dir, long pid))
{
	const char *base = strrchr(prefix, '/') + 1;
	DIR *d = opendir("/tmp");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char dir[300];
		long pid;
		int len = 0;

		if (strncmp(e->d_name, base, strlen(base)) != 0 ||
		    sscanf(e->d_name + strlen(base), "%ld.%n", &pid, &len) != 1 || len == 0 ||
		    !dead(pid))
			continue;
		snprintf(dir, sizeof(dir), "/tmp/%s", e->d_name);
		fn(dir, pid);
	}
	closedir(d);
}

/* The ring and event channel figures' sims: their processes died with us; the directory is left. */
static void sweep_ring_dir(const char *dir, long pid)
{
	xbench_cmd((char *[]){ "rm", "-rf", (char *)dir, NULL }, 10, NULL);
}

void xbench_sweep_stale(void)
{
	if (geteuid() != 0)
		return;
	if (xbench_have("ip"))
		sweep_netns();
	sweep_dpdk();
	if (xbench_have("ip"))
		sweep_dirs(XSIM_DIR_PREFIX, sweep_sim_dir);
	sweep_dirs(XRING_DIR_PREFIX, sweep_ring_dir);
	sweep_dirs(XEVT_DIR_PREFIX, sweep_ring_dir);
}
