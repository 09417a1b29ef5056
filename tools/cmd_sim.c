/* cmd_sim.c — `xnet sim up|down|status`: the simulated hypervisor, and
 * xnetback and xnet-hotplugd in domain 0, started idempotently and stopped
 * with everything the sim made. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xnet.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define READY_MS 10000
#define STOP_MS 5000
#define MAX_DOMAINS 256
#define MADE_DIR ".xnet-made-dir"	/* sim up created the directory */
#define LOCK_FILE ".xnet-lock"		/* one sim up/down at a time */
#define XNT_DEFAULTS_FILE "/etc/default/xnet"	/* written by make install */

static const char sim_usage[] =
	"usage: xnet sim up|down|status\n"
	"  up      start xnet-simd, then xnetback and xnet-hotplugd in domain 0\n"
	"          (those that are installed and not running); wait until ready;\n"
	"          if xnet-simd died, first stop and remove what its run left\n"
	"          (its daemons, guests and TAPs), as after a host crash\n"
	"  down    destroy the sim's domains and namespaces, stop its daemons,\n"
	"          remove what the sim created\n"
	"  status  what runs, with pids, and where\n"
	"  The sim directory is $XNET_SIM_DIR (default " XNX_SIM_DIR_DEFAULT ");\n"
	"  programs are found in $XNET_BIN or next to xnet.\n";

enum ready_kind { READY_SOCKETS, READY_EXEC, READY_OWN_PIDFILE };

struct daemon {
	const char *prog;
	enum ready_kind ready;
	bool required;
	const char *verbose;	/* its -v option, or NULL */
};

/* Start order; stopped in reverse. */
static const struct daemon daemons[] = {
	{ "xnet-simd", READY_SOCKETS, true, NULL },
	/* xnetback gives no readiness signal: running its binary is it. Its
	 * log keeps a line per vif event (-v: info). */
	{ "xnetback", READY_EXEC, false, "-v" },
	/* xnet-hotplugd writes its pid file once its watch is in place. */
	{ "xnet-hotplugd", READY_OWN_PIDFILE, false, NULL },
};
#define NDAEMONS (int)(sizeof(daemons) / sizeof(daemons[0]))

static void daemon_files(const struct daemon *d, char *pidf, char *log,
			 size_t len)
{
	char f[64];

	snprintf(f, sizeof(f), "%s.pid", d->prog);
	xnt_sim_file(f, pidf, len);
	snprintf(f, sizeof(f), "%s.log", d->prog);
	xnt_sim_file(f, log, len);
}

/* The pid of daemon D if it runs, else 0. */
static pid_t daemon_pid(const struct daemon *d)
{
	char pidf[PATH_MAX], log[PATH_MAX];

	daemon_files(d, pidf, log, sizeof(pidf));
	return xnt_running(pidf, d->prog);
}

struct ready_arg {
	const struct daemon *d;
	pid_t pid;
	const char *pidf;
	bool died;
};

static bool sockets_answer(void)
{
	char a[PATH_MAX], b[PATH_MAX];

	return xnx_sim_store_path(0, a, sizeof(a)) == 0 &&
	       xnx_sim_hyp_path(0, b, sizeof(b)) == 0 &&
	       xnt_sock_answers(a) && xnt_sock_answers(b);
}

static bool is_ready(void *arg)
{
	struct ready_arg *r = arg;
	pid_t filed;

	if (!xnt_pid_alive(r->pid, NULL)) {
		r->died = true;
		return true;
	}
	if (!xnt_pid_alive(r->pid, r->d->prog))
		return false;	/* not exec'd yet */
	switch (r->d->ready) {
	case READY_SOCKETS: return sockets_answer();
	case READY_EXEC: return true;
	case READY_OWN_PIDFILE:
		return xnt_pidfile_read(r->pidf, &filed) == 0 && filed == r->pid;
	}
	return false;
}

static int start(const struct daemon *d)
{
	char prog[PATH_MAX], pidf[PATH_MAX], log[PATH_MAX], dir_env[PATH_MAX + 16];
	struct ready_arg r = { .d = d, .pidf = pidf };
	pid_t pid;

	daemon_files(d, pidf, log, sizeof(pidf));
	if ((pid = xnt_running(pidf, d->prog)) > 0) {
		printf("%s already running (pid %d)\n", d->prog, (int)pid);
		return 0;
	}
	if (xnt_prog_path(d->prog, prog, sizeof(prog)) < 0) {
		if (d->required)
			return xnt_fail("sim up: %s not found in %s", d->prog, xnt_bin_dir());
		printf("%s not installed; skipped\n", d->prog);
		return 0;
	}
	unlink(pidf);
	snprintf(dir_env, sizeof(dir_env), "XNET_SIM_DIR=%s", xnx_sim_dir());
	char *env[] = { dir_env, "XNET_DOMID=0", NULL };
	char *argv[] = { prog, "--foreground", (char *)d->verbose, NULL };
	if (xnt_spawn(argv, env, log, &pid) < 0)
		return xnt_fail("sim up: cannot start %s: %s", d->prog, strerror(errno));
	if (d->ready != READY_OWN_PIDFILE)
		xnt_pidfile_write(pidf, pid);
	r.pid = pid;
	if (xnt_wait_until(is_ready, &r, READY_MS) < 0) {
		xnt_stop(pid, d->prog, STOP_MS);
		unlink(pidf);
		return xnt_fail("sim up: %s not ready after %d s (log: %s)", d->prog,
				READY_MS / 1000, log);
	}
	if (r.died) {
		char last[200];

		unlink(pidf);
		xnt_last_line(log, last, sizeof(last));
		return xnt_fail("sim up: %s exited during start-up: %s (log: %s)", d->prog,
				last[0] ? last : "no message", log);
	}
	printf("%s started (pid %d)\n", d->prog, (int)pid);
	return 0;
}

/* mkdir -p for the sim directory; remembers whether we made it. */
static int make_sim_dir(void)
{
	const char *dir = xnx_sim_dir();
	char marker[PATH_MAX];
	struct stat st;

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	char *argv[] = { "mkdir", "-p", "-m", "0755", (char *)dir, NULL };
	if (xnt_run(argv, false) != 0)
		return -EIO;
	xnt_sim_file(MADE_DIR, marker, sizeof(marker));
	FILE *f = fopen(marker, "w");
	if (f)
		fclose(f);
	return 0;
}

/* Serialise sim up and down on the sim directory; the lock goes with the
 * process. Returns the fd or -errno. */
static int lock_sim(void)
{
	char path[PATH_MAX];
	int fd;

	xnt_sim_file(LOCK_FILE, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return -e;
		}
	return fd;
}

/* An installed tree keeps the scripts apart from the programs and says
 * where in /etc/default/xnet ($XNET_DEFAULTS; the systemd units read it
 * too): use that for
 * xnet-hotplugd unless XNET_SCRIPTS_DIR is set or the scripts are here. */
static void scripts_dir_from_defaults(void)
{
	char path[PATH_MAX], line[PATH_MAX + 32];
	const char *key = "XNET_SCRIPTS_DIR=";
	FILE *f;

	if (getenv("XNET_SCRIPTS_DIR") || xnt_prog_path("vif-bridge", path, sizeof(path)) == 0)
		return;
	f = fopen(getenv("XNET_DEFAULTS") ? getenv("XNET_DEFAULTS") : XNT_DEFAULTS_FILE, "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == '/') {
			setenv("XNET_SCRIPTS_DIR", line + strlen(key), 1);
			break;
		}
	}
	if (f)
		fclose(f);
}

/* If FILE is PREFIX<name>SUFFIX, copy the name to OUT. */
static bool record_name(const char *file, const char *prefix, const char *suffix,
			char *out, size_t len)
{
	size_t f = strlen(file), p = strlen(prefix), s = strlen(suffix);

	if (f <= p + s || f - p - s >= len || strncmp(file, prefix, p) ||
	    strcmp(file + f - s, suffix))
		return false;
	memcpy(out, file + p, f - p - s);
	out[f - p - s] = '\0';
	return xnt_name_ok(out);
}

/* If FILE records a guest (its namespace or its frontend's pid file), copy
 * the guest's name to OUT. */
static bool guest_record(const char *file, char *out, size_t len)
{
	return record_name(file, "netns-", "", out, len) ||
	       record_name(file, "xnetfront-", ".pid", out, len);
}

/* FILE is a domain's socket directory (dom<N>). */
static bool domain_dir(const char *file)
{
	unsigned id;
	char extra;

	return sscanf(file, "dom%u%c", &id, &extra) == 1;
}

/* Every domain but 0; then namespaces and frontends left over from domains
 * that are gone (their records in the sim directory). */
static int teardown_domains(void)
{
	struct xnx_sim_domain doms[MAX_DOMAINS];
	struct xs_handle *xs = sockets_answer() ? xnx_xs_open() : NULL;
	int n = xs ? xnx_sim_domain_list(doms, MAX_DOMAINS) : 0, rc = 0;
	DIR *dir;
	struct dirent *e;

	for (int i = 0; i < n && i < MAX_DOMAINS; i++)
		if (doms[i].domid != 0 &&
		    xnt_domain_teardown(xs, doms[i].name, true, doms[i].domid) < 0)
			rc = -EIO;
	if (xs)
		xs_close(xs);
	dir = opendir(xnx_sim_dir());
	while (dir && (e = readdir(dir)) != NULL) {
		char name[XNX_SIM_NAME_MAX + 16];
		if (guest_record(e->d_name, name, sizeof(name)))
			xnt_domain_teardown(NULL, name, false, 0);
	}
	if (dir)
		closedir(dir);
	return rc;
}

/* Remove the sockets, pid files and domains' socket directories of a run
 * whose daemons are stopped. */
static void remove_run_files(void)
{
	/* xnetback removes its stats socket; not if it was killed. */
	const char *names[] = { "xenstored.sock", "simd.sock", "xnetback.sock", NULL };
	char path[PATH_MAX];
	DIR *dir;
	struct dirent *e;

	for (int i = 0; names[i]; i++)
		if (xnt_sim_file(names[i], path, sizeof(path)) == 0)
			unlink(path);
	for (int i = 0; i < NDAEMONS; i++) {
		char pidf[PATH_MAX], log[PATH_MAX];
		daemon_files(&daemons[i], pidf, log, sizeof(pidf));
		unlink(pidf);
	}
	/* Per-domain socket directories of domains that are gone. */
	dir = opendir(xnx_sim_dir());
	while (dir && (e = readdir(dir)) != NULL) {
		if (!domain_dir(e->d_name))
			continue;
		char *argv[] = { "rm", "-rf", "--", path, NULL };
		snprintf(path, sizeof(path), "%s/%s", xnx_sim_dir(), e->d_name);
		xnt_run(argv, false);
	}
	if (dir)
		closedir(dir);
}

/* Remove the files the sim made; the directory too if sim up made it. */
static void remove_files(void)
{
	char path[PATH_MAX], marker[PATH_MAX];

	remove_run_files();
	for (int i = 0; i < NDAEMONS; i++) {
		char pidf[PATH_MAX], log[PATH_MAX];
		daemon_files(&daemons[i], pidf, log, sizeof(pidf));
		unlink(log);
	}
	xnt_sim_file(LOCK_FILE, path, sizeof(path));
	unlink(path);
	xnt_sim_file(MADE_DIR, marker, sizeof(marker));
	if (unlink(marker) == 0)
		rmdir(xnx_sim_dir());
}

/* Stop the daemons from FIRST on, in reverse start order. Returns -1 if
 * one would not stop. */
static int stop_daemons(int first)
{
	int rc = 0;

	for (int i = NDAEMONS - 1; i >= first; i--) {
		pid_t pid = daemon_pid(&daemons[i]);

		if (pid <= 0)
			continue;
		if (xnt_stop(pid, daemons[i].prog, STOP_MS) < 0)
			rc = -1;
		else
			printf("%s stopped (pid %d)\n", daemons[i].prog, (int)pid);
	}
	return rc;
}

/* True if the previous run left something: a domain's record, a domain's
 * socket directory, or a daemon of domain 0 still running. */
static bool leftovers(void)
{
	DIR *dir = opendir(xnx_sim_dir());
	struct dirent *e;
	bool found = false;

	while (dir && !found && (e = readdir(dir)) != NULL) {
		char name[XNX_SIM_NAME_MAX + 16];
		found = guest_record(e->d_name, name, sizeof(name)) ||
			domain_dir(e->d_name);
	}
	if (dir)
		closedir(dir);
	for (int i = 1; i < NDAEMONS && !found; i++)
		found = daemon_pid(&daemons[i]) > 0;
	return found;
}

/* xnet-simd is the machine: when it dies, every domain, grant and event
 * channel dies with it, and what it leaves running (xnetback, xnet-hotplugd,
 * the guests' xnetfront) holds connections to nothing. As after a host
 * crash, the sim starts again from nothing: stop the previous run's
 * daemons (their TAPs go with them), tear its guests down from their
 * records and remove its sockets. The logs stay. */
static int restart_after_crash(void)
{
	if (daemon_pid(&daemons[0]) > 0 || !leftovers())
		return 0;
	printf("xnet-simd is not running: its domains are gone (as after a host "
	       "crash); clearing what its run left\n");
	teardown_domains();
	if (stop_daemons(1) < 0)
		return xnt_fail("sim up: a daemon of the previous run would not stop");
	remove_run_files();
	return 0;
}

static int up(void)
{
	int rc = make_sim_dir(), lock;

	scripts_dir_from_defaults();
	/* The scripts find xnet-linkid through XNET_BIN (an installed tree
	 * keeps them apart from the programs). */
	setenv("XNET_BIN", xnt_bin_dir(), 0);

	if (rc < 0)
		return xnt_fail("sim up: cannot create %s: %s", xnx_sim_dir(), strerror(-rc));
	if ((lock = lock_sim()) < 0)
		return xnt_fail("sim up: cannot lock %s: %s", xnx_sim_dir(), strerror(-lock));
	rc = restart_after_crash();
	for (int i = 0; i < NDAEMONS && rc == 0; i++)
		rc = start(&daemons[i]);
	close(lock);
	if (rc == 0)
		printf("sim up in %s\n", xnx_sim_dir());
	return rc;
}

static int down(void)
{
	struct stat st;
	int rc, lock;

	if (stat(xnx_sim_dir(), &st) < 0) {
		printf("sim down: nothing in %s\n", xnx_sim_dir());
		return 0;
	}
	if ((lock = lock_sim()) < 0)
		return xnt_fail("sim down: cannot lock %s: %s", xnx_sim_dir(), strerror(-lock));
	rc = teardown_domains();
	if (stop_daemons(0) < 0) {
		close(lock);
		return xnt_fail("sim down: a daemon would not stop; files left in %s",
				xnx_sim_dir());
	}
	remove_files();
	close(lock);
	if (rc < 0)
		return xnt_fail("sim down: some domains were not cleanly destroyed");
	printf("sim down\n");
	return 0;
}

/* The sim's domains, if xnet-simd answers. */
static void status_domains(void)
{
	struct xnx_sim_domain doms[MAX_DOMAINS];
	int n = sockets_answer() ? xnx_sim_domain_list(doms, MAX_DOMAINS) : -1;

	if (n < 0)
		return;
	printf("domains:");
	for (int i = 0; i < n && i < MAX_DOMAINS; i++)
		printf(" %s(%u)", doms[i].name, doms[i].domid);
	printf("\n");
}

static int status(void)
{
	int up_count = 0;

	printf("sim dir: %s\n", xnx_sim_dir());
	for (int i = 0; i < NDAEMONS; i++) {
		char prog[PATH_MAX];
		pid_t pid;

		if ((pid = daemon_pid(&daemons[i])) > 0) {
			printf("%-14s running  pid %d\n", daemons[i].prog, (int)pid);
			up_count++;
		} else if (xnt_prog_path(daemons[i].prog, prog, sizeof(prog)) < 0) {
			printf("%-14s not installed\n", daemons[i].prog);
		} else {
			printf("%-14s stopped\n", daemons[i].prog);
		}
	}
	if (up_count)
		status_domains();
	return 0;
}

int xnt_cmd_sim(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || xnt_is_help(sub)) {
		fputs(sim_usage, sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	if (argc > 2 && xnt_is_help(argv[2])) {
		fputs(sim_usage, stdout);
		return 0;
	}
	if (argc != 2)
		return xnt_fail("sim %s: no arguments expected", sub);
	if (!strcmp(sub, "up"))
		return up();
	if (!strcmp(sub, "down"))
		return down();
	if (!strcmp(sub, "status"))
		return status();
	return xnt_fail("sim: unknown command '%s' (see xnet sim --help)", sub);
}
