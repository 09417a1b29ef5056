/*
 * sweep.c — removes what an earlier xnet-bench left behind when it was
 * killed outright (SIGKILL skips every cleanup): its namespaces, and its
 * DPDK directory with the hugetlbfs mount and the hugepage reservation.
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

void xbench_sweep_stale(void)
{
	if (geteuid() != 0)
		return;
	if (xbench_have("ip"))
		sweep_netns();
	sweep_dpdk();
}
