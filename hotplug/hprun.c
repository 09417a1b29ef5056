/* hprun.c — run a hotplug script as libxl does (argv "online"/"offline",
 * "type_if=vif"; XENBUS_PATH, vif, script, ... in the environment), kill it
 * at its deadline, and write a failure to xenstore. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotplugd.h"
#include "xnx_log.h"
#include "xnx_xs.h"

int xhp_resolve_script(const char *dir, const char *value, char *out, size_t len)
{
	int n;

	if (!value[0] || !strcmp(value, ".") || !strcmp(value, ".."))
		return -EINVAL;
	if (value[0] == '/')
		n = snprintf(out, len, "%s", value);
	else if (strchr(value, '/'))
		return -EINVAL;		/* relative paths: whose directory? */
	else
		n = snprintf(out, len, "%s/%s", dir, value);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* In the child: own process group (so a timeout kills its children too),
 * the environment libxl gives scripts, exec. */
static void child(const struct xhp_ctx *c, const struct xhp_dev *d,
		  const char *action)
{
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	if (null >= 0)
		dup2(null, 0);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	setenv("script", d->script, 1);
	setenv("XENBUS_TYPE", "vif", 1);
	setenv("XENBUS_PATH", d->path, 1);
	setenv("XENBUS_BASE_PATH", "backend", 1);
	setenv("netdev", d->netdev, 1);
	setenv("vif", d->ifname, 1);
	if (d->ifindex) {
		/* Scripts hold the interface by this, not by its name. */
		char id[16];
		snprintf(id, sizeof(id), "%u", d->ifindex);
		setenv("XNET_VIF_LINKID", id, 1);
	} else {
		unsetenv("XNET_VIF_LINKID");
	}
	execl(d->script, d->script, action, "type_if=vif", (char *)NULL);
	fprintf(stderr, "xnet-hotplugd: cannot run %s: %s\n", d->script, strerror(errno));
	_exit(127);
	(void)c;
}

int xhp_run(struct xhp_ctx *c, struct xhp_dev *d, const char *action)
{
	pid_t pid;

	xnx_info("%s: running %s %s (vif %s)", d->path, d->script, action, d->ifname);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(c, d, action);
	setpgid(pid, pid);	/* also here: no race with the kill below */
	d->pid = pid;
	d->timed_out = false;
	d->deadline_ns = xnx_now_ns() + (uint64_t)c->timeout_s * 1000000000ull;
	return 0;
}

int xhp_expire(struct xhp_ctx *c)
{
	uint64_t now = xnx_now_ns(), next = 0;

	for (struct xhp_dev *d = c->devs; d; d = d->next) {
		if (!d->pid || d->timed_out)
			continue;
		if (d->deadline_ns <= now) {
			xnx_warn("%s: %s timed out after %u s; killing it", d->path,
				 d->script, c->timeout_s);
			d->timed_out = true;
			kill(-d->pid, SIGKILL);
			continue;
		}
		if (!next || d->deadline_ns < next)
			next = d->deadline_ns;
	}
	return next ? (int)((next - now) / 1000000ull) + 1 : -1;
}

struct report { const char *path, *reason; };

static int report_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct report *r = arg;
	char *dir = xnx_xs_read(xs, t, r->path, NULL);
	char *st;
	int rc;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;	/* gone: never recreate */
	free(dir);
	st = xnx_xs_read(xs, t, r->path, "hotplug-status");
	rc = st && !strcmp(st, "error") ? 0 : 1;	/* the script's own reason wins */
	free(st);
	if (rc == 0)
		return 0;
	if ((rc = xnx_xs_printf(xs, t, r->path, "hotplug-error", "%s", r->reason)) < 0)
		return rc;
	return xnx_xs_printf(xs, t, r->path, "hotplug-status", "error");
}

void xhp_report_error(struct xhp_ctx *c, struct xhp_dev *d, const char *reason)
{
	struct report r = { d->path, reason };
	int rc = xnx_xs_transact(c->xs, report_txn, &r);

	xnx_warn("%s: %s", d->path, reason);
	if (rc < 0)
		xnx_err("%s: cannot write hotplug-status: %s", d->path, strerror(-rc));
}
