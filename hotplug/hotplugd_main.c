/*
 * xnet-hotplugd — runs vif hotplug scripts from xenstore watches in the
 * backend's domain, as `xl devd` does in a Xen driver domain.
 *
 * usage: xnet-hotplugd [--foreground] [-v] [--pidfile FILE] [--timeout SEC]
 *                      [--scripts-only]
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hotplugd.h"
#include "xnx_log.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: xnet-hotplugd [--foreground] [-v] [--pidfile FILE] "
		   "[--timeout SECONDS] [--scripts-only]\n"
		   "  Watches backend/vif of this domain and runs each device's hotplug\n"
		   "  script (backend key 'script', default %s) online when it comes up\n"
		   "  and offline when it goes. A bare script name is looked up in\n"
		   "  $XNET_SCRIPTS_DIR, default the directory of this program.\n"
		   "  --pidfile FILE   written once the watch is in place (default on\n"
		   "                   the sim: $XNET_SIM_DIR/xnet-hotplugd.pid, in a\n"
		   "                   driver domain xnet-hotplugd-dom<N>.pid)\n"
		   "  --timeout SEC    kill a script after SEC seconds (default %d, or\n"
		   "                   $XNET_HOTPLUG_TIMEOUT)\n"
		   "  --scripts-only   run xnet's own vif-bridge as a script too (by\n"
		   "                   default the daemon does its work itself, the\n"
		   "                   same way and faster); also\n"
		   "                   $XNET_HOTPLUG_SCRIPTS_ONLY=1\n"
		   "  --foreground     log to stderr, do not daemonise\n"
		   "  -v, --verbose    more logging: -v info, -vv debug (default:\n"
		   "                   warnings and errors)\n",
		XHP_DEFAULT_SCRIPT, XHP_TIMEOUT_DEFAULT_S);
}

static int scripts_dir(char *out, size_t len)
{
	const char *env = getenv("XNET_SCRIPTS_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	snprintf(out, len, "%s", dirname(exe));
	return 0;
}

static int write_pidfile(const char *path)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return -errno;
	return 0;
}

/* Note the device a watch event names; a toolstack writes a dozen keys
 * at once, and each device is looked at once per batch (what it needs
 * is read then, not taken from the event). */
static void on_watch(const char *path, void *arg)
{
	struct xhp_ctx *c = arg;
	unsigned domid, devid;

	if (!xhp_parse_path(c, path, &domid, &devid)) {
		c->rescan = true;	/* a whole domain's directory, or the base */
		return;
	}
	for (unsigned i = 0; i < c->npending; i++)
		if (c->pending[i].domid == domid && c->pending[i].devid == devid)
			return;
	if (c->npending == XHP_MAX_PENDING)
		c->rescan = true;
	else
		c->pending[c->npending++] = (struct xhp_pending){ domid, devid };
}

static void run_pending(struct xhp_ctx *c)
{
	unsigned n = c->npending;

	c->npending = 0;
	if (c->rescan) {
		c->rescan = false;
		xhp_scan(c);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		xhp_check(c, c->pending[i].domid, c->pending[i].devid);
}

static void reap(struct xhp_ctx *c)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct xhp_dev *d = xhp_by_pid(c, pid);
		if (d)
			xhp_script_done(c, d, status);
	}
}

/* On the way out: no script outlives the daemon (each runs in its own
 * process group). */
static void kill_scripts(struct xhp_ctx *c)
{
	for (struct xhp_dev *d = c->devs; d; d = d->next)
		if (d->pid) {
			xnx_warn("%s: stopping %s (daemon exiting)", d->path, d->script);
			kill(-d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
			d->pid = 0;
		}
}

/* Returns 0 on SIGTERM/SIGINT, -errno on a broken xenstore connection. */
static int run(struct xhp_ctx *c, struct xnx_xs_watches *w, int sfd)
{
	for (;;) {
		xhp_native_reap(c);	/* before sleeping: they ended already */
		struct pollfd p[2] = { { .fd = xs_fileno(c->xs), .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		int timeout = xhp_expire(c);
		struct signalfd_siginfo si;

		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents & (POLLERR | POLLHUP))
			return -ECONNRESET;
		if (p[0].revents & POLLIN && xnx_xs_dispatch(w) < 0)
			return -ECONNRESET;
		run_pending(c);
		if (p[1].revents & POLLIN && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
				return 0;
			reap(c);
		}
	}
}

static int setup(struct xhp_ctx *c, struct xnx_xs_watches **w, int *sfd)
{
	sigset_t set;
	int self, rc;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	*sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (*sfd < 0)
		return -errno;
	if ((self = xnx_self_domid()) < 0)
		return -errno;
	c->self = (unsigned)self;
	snprintf(c->base, sizeof(c->base), "/local/domain/%u/backend/vif", c->self);
	if (!(c->xs = xnx_xs_open()))
		return -errno;
	if (!(*w = xnx_xs_watches_new(c->xs)))
		return -ENOMEM;
	if ((rc = xnx_xs_watch_add(*w, c->base, on_watch, c)) < 0)
		return rc;
	xhp_scan(c);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "scripts-only", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct xhp_ctx c = { .timeout_s = XHP_TIMEOUT_DEFAULT_S, .native = true };
	struct xnx_xs_watches *w = NULL;
	const char *pidfile = NULL, *tenv = getenv("XNET_HOTPLUG_TIMEOUT");
	const char *senv = getenv("XNET_HOTPLUG_SCRIPTS_ONLY");
	char defpid[PATH_MAX];
	unsigned long v;
	int fg = 0, verbose = 0, opt, sfd = -1, rc;

	/* Hold only what we open (see xnetback_main.c). */
	close_range(3, ~0u, 0);
	if (tenv && xnx_parse_uint(tenv, 1, 3600, &v) == 0)
		c.timeout_s = (unsigned)v;
	if (senv && *senv && strcmp(senv, "0"))
		c.native = false;
	while ((opt = getopt_long(argc, argv, "fvp:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': fg = 1; break;
		case 'v': verbose++; break;
		case 'p': pidfile = optarg; break;
		case 's': c.native = false; break;
		case 't':
			if (xnx_parse_uint(optarg, 1, 3600, &v) < 0) {
				fprintf(stderr, "xnet-hotplugd: --timeout: '%s' is not "
					"1..3600 seconds\n", optarg);
				return 2;
			}
			c.timeout_s = (unsigned)v;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	xnx_log_open("xnet-hotplugd", !fg, xnx_log_verbosity(verbose));
	if (scripts_dir(c.scripts_dir, sizeof(c.scripts_dir)) < 0) {
		fprintf(stderr, "xnet-hotplugd: cannot find the scripts directory\n");
		return 1;
	}
	if (!fg && daemon(0, 0) < 0) {
		fprintf(stderr, "xnet-hotplugd: daemon: %s\n", strerror(errno));
		return 1;
	}
	if ((rc = setup(&c, &w, &sfd)) < 0) {
		xnx_err("start-up failed: %s", strerror(-rc));
		return 1;
	}
	/* Who removes a finished device's directory: in Xen's dom0 libxl
	 * does (it runs its own offline and then reads the directory); on
	 * the sim and in a driver domain this daemon does, as xl devd. */
	c.remove_dirs = xnx_platform() == XNX_PLATFORM_SIM || c.self != 0;
	if (!pidfile && xnx_platform() == XNX_PLATFORM_SIM) {
		/* Domain 0's is the one `xnet sim up` starts; a driver domain's
		 * is named after it. */
		if (c.self == 0)
			snprintf(defpid, sizeof(defpid), "%s/xnet-hotplugd.pid", xnx_sim_dir());
		else
			snprintf(defpid, sizeof(defpid), "%s/xnet-hotplugd-dom%u.pid",
				 xnx_sim_dir(), c.self);
		pidfile = defpid;
	}
	if (pidfile && (rc = write_pidfile(pidfile)) < 0)
		xnx_warn("cannot write %s: %s", pidfile, strerror(-rc));
	xnx_info("watching %s; scripts in %s", c.base, c.scripts_dir);
	rc = run(&c, w, sfd);
	if (rc < 0)
		xnx_err("xenstore connection lost: %s", strerror(-rc));
	kill_scripts(&c);
	xnx_xs_watches_free(w);
	xs_close(c.xs);
	xhp_free_all(&c);
	close(sfd);
	return rc < 0 ? 1 : 0;
}
