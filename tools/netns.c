/* netns.c — the network namespaces of sim domains, made and removed with
 * ip(8); a record file in the sim directory marks the ones the sim made so
 * that nothing else is ever deleted. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xnet.h"
#include "xnx_sim.h"

#define NETNS_RUN_DIR "/run/netns"

bool xnt_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= XNX_SIM_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_.-") == n;
}

bool xnt_netns_exists(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
	return stat(path, &st) == 0;
}

static int record_path(const char *name, char *buf, size_t len)
{
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "netns-%s", name);
	return xnt_sim_file(file, buf, len);
}

int xnt_netns_create(const char *name)
{
	char rec[PATH_MAX];
	char *add[] = { "ip", "netns", "add", (char *)name, NULL };
	char *lo[] = { "ip", "-n", (char *)name, "link", "set", "lo", "up", NULL };
	FILE *f;
	int rc;

	if (xnt_netns_exists(name))
		return -EEXIST;
	if ((rc = record_path(name, rec, sizeof(rec))) < 0)
		return rc;
	if (xnt_run(add, false) != 0)
		return -EIO;
	/* Recorded right away, so that a failure below still cleans it up. */
	f = fopen(rec, "w");
	if (f)
		fclose(f);
	if (!f || xnt_run(lo, false) != 0) {
		xnt_netns_delete(name);
		return -EIO;
	}
	return 0;
}

int xnt_netns_delete(const char *name)
{
	char rec[PATH_MAX];
	char *del[] = { "ip", "netns", "del", (char *)name, NULL };
	int rc;

	if ((rc = record_path(name, rec, sizeof(rec))) < 0)
		return rc;
	if (access(rec, F_OK) < 0)
		return -ENOENT;		/* not ours: leave it alone */
	if (xnt_netns_exists(name) && xnt_run(del, false) != 0)
		return -EIO;
	unlink(rec);
	return 0;
}
