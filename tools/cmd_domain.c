/* cmd_domain.c — `xnet domain create|destroy|list`: a sim domain, its
 * network namespace and the guest's xnetfront inside it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xnet.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define MAX_DOMAINS 256
#define MAX_VIFS 256
#define FRONT_STOP_MS 5000
#define TEARDOWN_VIF_MS 3000	/* frontend may be dead: do not wait long */

static const char domain_usage[] =
	"usage: xnet domain create [--driver] NAME\n"
	"       xnet domain destroy NAME\n"
	"       xnet domain list\n"
	"  create   a sim domain NAME, a network namespace NAME (lo up) and,\n"
	"           if installed, the guest's xnetfront inside it; --driver\n"
	"           makes it a driver domain (it may map other domains' grants)\n"
	"  destroy  stop its xnetfront, detach its vifs, destroy the domain,\n"
	"           delete the namespace\n"
	"  list     Name, ID, namespace and xnetfront pid of each domain\n";

static void front_files(const char *name, char *pidf, char *log, size_t len)
{
	char f[XNX_SIM_NAME_MAX + 32];

	snprintf(f, sizeof(f), "xnetfront-%s.pid", name);
	xnt_sim_file(f, pidf, len);
	snprintf(f, sizeof(f), "xnetfront-%s.log", name);
	xnt_sim_file(f, log, len);
}

#define FRONT_START_MS 5000

/* Has PID become xnetfront (through ip and env), or died? */
static bool front_started(void *arg)
{
	pid_t pid = *(pid_t *)arg;

	return !xnt_pid_alive(pid, NULL) || xnt_pid_alive(pid, XNT_FRONT_PROG);
}

/* `ip netns exec NAME env XNET_DOMID=... XNET_SIM_DIR=... xnetfront`. */
static int start_front(const char *name, unsigned domid, char *why, size_t wlen)
{
	char prog[PATH_MAX], pidf[PATH_MAX], log[PATH_MAX];
	char dom_env[32], dir_env[PATH_MAX + 16];
	pid_t pid;
	int rc;

	if (xnt_prog_path(XNT_FRONT_PROG, prog, sizeof(prog)) < 0)
		return 0;	/* not built: nothing to start */
	front_files(name, pidf, log, sizeof(pidf));
	snprintf(dom_env, sizeof(dom_env), "XNET_DOMID=%u", domid);
	snprintf(dir_env, sizeof(dir_env), "XNET_SIM_DIR=%s", xnx_sim_dir());
	char *argv[] = { "/usr/sbin/ip", "netns", "exec", (char *)name, "/usr/bin/env",
			 dom_env, dir_env, prog, "--foreground", NULL };
	if (access(argv[0], X_OK) < 0)
		argv[0] = "/sbin/ip";
	rc = xnt_spawn(argv, NULL, log, &pid);
	if (rc == 0)
		rc = xnt_pidfile_write(pidf, pid);
	if (rc == 0 && (xnt_wait_until(front_started, &pid, FRONT_START_MS) < 0 ||
			!xnt_pid_alive(pid, XNT_FRONT_PROG))) {
		xnt_last_line(log, why, wlen);
		rc = -ECHILD;
	}
	return rc;
}

static int stop_front(const char *name)
{
	char pidf[PATH_MAX], log[PATH_MAX];
	pid_t pid;
	int rc = 0;

	front_files(name, pidf, log, sizeof(pidf));
	/* The pid is ip's, which became env, then xnetfront: check the name
	 * only if it got that far. */
	if (xnt_pidfile_read(pidf, &pid) == 0 && xnt_pid_alive(pid, NULL))
		rc = xnt_stop(pid, NULL, FRONT_STOP_MS);
	unlink(pidf);
	unlink(log);
	return rc;
}

int xnt_domain_teardown(struct xs_handle *xs, const char *name, bool have_domid,
			unsigned domid)
{
	unsigned ids[MAX_VIFS];
	int n, rc = 0, r;
	bool forced;

	/* Vifs first, while the frontend can still answer Closing. */
	n = xs && have_domid ? xnt_vif_devids(xs, domid, ids, MAX_VIFS) : 0;
	for (int i = 0; i < n; i++) {
		r = xnt_vif_remove(xs, domid, ids[i], TEARDOWN_VIF_MS, &forced);
		if (r < 0 && r != -ENOENT && !rc)
			rc = r;
	}
	if ((r = stop_front(name)) < 0 && !rc)
		rc = r;
	if (have_domid && xnx_sim_domain_destroy(domid) < 0 && errno != ENOENT && !rc)
		rc = -errno;
	if ((r = xnt_netns_delete(name)) < 0 && r != -ENOENT && !rc)
		rc = r;
	return rc;
}

static int create(const char *name, uint32_t flags)
{
	uint32_t domid;
	char why[200] = "";
	int rc;

	if (!xnt_name_ok(name))
		return xnt_fail("domain create: '%s' is not a valid name (letters, "
				"digits, '_', '-', '.', at most %d)", name,
				XNX_SIM_NAME_MAX - 1);
	if (xnt_netns_exists(name))
		return xnt_fail("domain create: network namespace '%s' already exists",
				name);
	if (xnx_sim_domain_create(name, flags, &domid) < 0)
		return xnt_fail("domain create: %s: %s", name,
				errno == EEXIST ? "domain exists"
				: errno == ECONNREFUSED || errno == ENOENT
				? "xnet-simd is not running (xnet sim up)" : strerror(errno));
	rc = xnt_netns_create(name);
	if (rc == 0)
		rc = start_front(name, domid, why, sizeof(why));
	if (rc < 0) {
		xnt_domain_teardown(NULL, name, true, domid);
		if (rc == -ECHILD)
			return xnt_fail("domain create: %s: its xnetfront failed to start: %s",
					name, why[0] ? why : "no message");
		return xnt_fail("domain create: %s: %s", name,
				rc == -EEXIST ? "network namespace exists"
					      : "cannot set up its network namespace");
	}
	printf("%s %u\n", name, domid);
	return 0;
}

static int destroy(const char *name)
{
	struct xnx_sim_domain d;
	struct xs_handle *xs;
	bool have = xnx_sim_domain_lookup(name, &d) == 0;
	int rc;

	if (!have && errno != ENOENT)
		return xnt_fail("domain destroy: %s: %s", name, strerror(errno));
	if (have && d.domid == 0)
		return xnt_fail("domain destroy: %s is domain 0", name);
	xs = have ? xnx_xs_open() : NULL;
	rc = xnt_domain_teardown(xs, name, have, have ? d.domid : 0);
	if (xs)
		xs_close(xs);
	if (!have)
		return xnt_fail("domain destroy: no domain '%s'", name);
	if (rc < 0)
		return xnt_fail("domain destroy: %s: %s", name, strerror(-rc));
	return 0;
}

static int list(void)
{
	struct xnx_sim_domain doms[MAX_DOMAINS];
	int n = xnx_sim_domain_list(doms, MAX_DOMAINS);

	if (n < 0)
		return xnt_fail("domain list: %s", errno == ECONNREFUSED || errno == ENOENT
				? "xnet-simd is not running" : strerror(errno));
	printf("%-32s %5s %-6s %-5s %s\n", "Name", "ID", "Flags", "Netns", "xnetfront");
	for (int i = 0; i < n && i < MAX_DOMAINS; i++) {
		char pidf[PATH_MAX], log[PATH_MAX], front[32] = "-";
		pid_t pid;

		front_files(doms[i].name, pidf, log, sizeof(pidf));
		if (xnt_pidfile_read(pidf, &pid) == 0 && xnt_pid_alive(pid, NULL))
			snprintf(front, sizeof(front), "%d", (int)pid);
		printf("%-32s %5u %-6s %-5s %s\n", doms[i].name, doms[i].domid,
		       doms[i].flags & XNX_SIM_DOM_DRIVER ? "driver" : "-",
		       doms[i].domid && xnt_netns_exists(doms[i].name) ? "yes" : "-",
		       front);
	}
	return 0;
}

int xnt_cmd_domain(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || xnt_is_help(sub)) {
		fputs(domain_usage, sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	if (argc > 2 && xnt_is_help(argv[2])) {
		fputs(domain_usage, stdout);
		return 0;
	}
	if (!strcmp(sub, "list"))
		return argc == 2 ? list() : xnt_fail("domain list: no arguments");
	if (strcmp(sub, "create") && strcmp(sub, "destroy"))
		return xnt_fail("domain: unknown command '%s' (see xnet domain --help)", sub);
	if (!strcmp(sub, "create") && argc == 4 && !strcmp(argv[2], "--driver"))
		return create(argv[3], XNX_SIM_DOM_DRIVER);
	if (argc != 3)
		return xnt_fail("domain %s: need one NAME", sub);
	return !strcmp(sub, "create") ? create(argv[2], 0) : destroy(argv[2]);
}
