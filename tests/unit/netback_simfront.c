/*
 * netback_simfront.c — shared scaffolding of the xnetback-on-the-sim tests
 * (see netback_simfront.h): the sim's daemons, child processes and bounded
 * waits. Needs nothing beyond the libraries every unit test links.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netback_simfront.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

void nbsf_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

bool nbsf_wait_until(bool (*cond)(const void *), const void *arg, int ms)
{
	for (int t = 0; t < ms; t += 10) {
		if (cond(arg))
			return true;
		nbsf_sleep_ms(10);
	}
	return cond(arg);
}

pid_t nbsf_spawn(char *const argv[], const char *log, const char *domid)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	unsetenv("XENSTORED_PATH");	/* each process finds its own socket */
	setenv("XNET_DOMID", domid, 1);
	if (log) {
		FILE *f = freopen(log, "a", stderr);
		(void)f;
	}
	execv(argv[0], argv);
	_exit(127);
}

int nbsf_wait_child(pid_t pid, int ms)
{
	int st;

	for (int t = 0; t < ms; t += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		nbsf_sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -2;
}

bool nbsf_alive(pid_t pid)
{
	int st;

	return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

void nbsf_stop(pid_t *pid, int ms)
{
	int st;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	for (int t = 0; t < ms && waitpid(*pid, &st, WNOHANG) != *pid; t += 10)
		nbsf_sleep_ms(10);
	if (kill(*pid, 0) == 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &st, 0);
	}
	*pid = -1;
}

int nbsf_self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

bool nbsf_have_bins(struct nbsf_sim *s)
{
	const char *b = getenv("XNET_BIN");
	char simd[PATH_MAX + 16], nb[PATH_MAX + 16];

	snprintf(s->bindir, sizeof(s->bindir), "%s", b && *b ? b : "build/bin");
	snprintf(simd, sizeof(simd), "%s/xnet-simd", s->bindir);
	snprintf(nb, sizeof(nb), "%s/xnetback", s->bindir);
	return access(simd, X_OK) == 0 && access(nb, X_OK) == 0;
}

/* Domain 0's xenstore socket accepts a connection. */
static bool sock_answers(const void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ok;

	(void)arg;
	if (xnx_sim_store_path(0, sa.sun_path, sizeof(sa.sun_path)) < 0)
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

pid_t nbsf_start_netback(const struct nbsf_sim *s)
{
	char nb[PATH_MAX + 16], log[128];

	snprintf(nb, sizeof(nb), "%s/xnetback", s->bindir);
	snprintf(log, sizeof(log), "%s/xnetback.log", s->dir);
	char *argv[] = { nb, "--foreground", "-v", NULL };
	return nbsf_spawn(argv, log, "0");
}

int nbsf_start(struct nbsf_sim *s, const char *template, int ms)
{
	char simd[PATH_MAX + 16], log[128];

	s->simd_pid = s->nb_pid = -1;
	s->xs = NULL;
	snprintf(simd, sizeof(simd), "%s/xnet-simd", s->bindir);
	snprintf(s->dir, sizeof(s->dir), "%s", template);
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return -1;
	}
	setenv("XNET_SIM_DIR", s->dir, 1);
	setenv("XNET_DOMID", "0", 1);
	setenv("XNET_PLATFORM", "sim", 1);
	snprintf(log, sizeof(log), "%s/xnet-simd.log", s->dir);
	char *sargv[] = { simd, "--foreground", "--dir", s->dir, NULL };
	s->simd_pid = nbsf_spawn(sargv, log, "0");
	if (!nbsf_wait_until(sock_answers, NULL, ms))
		return -1;
	s->nb_pid = nbsf_start_netback(s);
	s->xs = xnx_xs_open();
	return s->xs ? 0 : -1;
}

int nbsf_clean(struct nbsf_sim *s, int ms)
{
	char cmd[128];

	if (s->xs)
		xs_close(s->xs);
	s->xs = NULL;
	nbsf_stop(&s->nb_pid, ms);
	nbsf_stop(&s->simd_pid, ms);
	if (s->dir[0] && getenv("NB_KEEP_LOGS") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			return -1;
	} else if (s->dir[0]) {
		printf("\n  logs kept in %s\n", s->dir);
	}
	return 0;
}

bool nbsf_key_is(struct xs_handle *h, const char *dir, const char *key, const char *val)
{
	char *v = xnx_xs_read(h, XBT_NULL, dir, key);
	bool ok = v && strcmp(v, val) == 0;

	free(v);
	return ok;
}

struct want { struct xs_handle *h; const char *dir, *key, *val; };

static bool want_met(const void *arg)
{
	const struct want *w = arg;

	return nbsf_key_is(w->h, w->dir, w->key, w->val);
}

bool nbsf_wait_key(struct xs_handle *h, const char *dir, const char *key, const char *val,
		   int ms)
{
	struct want w = { h, dir, key, val };

	return nbsf_wait_until(want_met, &w, ms);
}

int nbsf_set_perms(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned owner,
		   unsigned reader)
{
	struct xs_permissions p[2] = {
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};

	return xs_set_permissions(h, t, path, p, 2) ? 0 : -errno;
}

int nbsf_write_vif(struct xs_handle *h, xs_transaction_t t, unsigned domid, const char *be,
		   const char *fe, const char *mac, const char *vifname)
{
	int rc;

	if ((rc = xnx_xs_printf(h, t, be, NULL, "%s", "")) < 0 ||
	    (rc = nbsf_set_perms(h, t, be, 0, domid)) < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, NULL, "%s", "")) < 0 ||
	    (rc = nbsf_set_perms(h, t, fe, domid, 0)) < 0)
		return rc;
	if ((rc = xnx_xs_printf(h, t, fe, "backend", "%s", be)) < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, "backend-id", "0")) < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, "handle", "0")) < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, "mac", "%s", mac)) < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, "state", "1")) < 0)
		return rc;
	if ((rc = xnx_xs_printf(h, t, be, "frontend", "%s", fe)) < 0 ||
	    (rc = xnx_xs_printf(h, t, be, "frontend-id", "%u", domid)) < 0 ||
	    (rc = xnx_xs_printf(h, t, be, "online", "1")) < 0 ||
	    (rc = xnx_xs_printf(h, t, be, "handle", "0")) < 0 ||
	    (rc = xnx_xs_printf(h, t, be, "mac", "%s", mac)) < 0 ||
	    (rc = xnx_xs_printf(h, t, be, "vifname", "%s", vifname)) < 0)
		return rc;
	return xnx_xs_printf(h, t, be, "hotplug-status", "%s", "");
}
