/*
 * xnet-simd — the simulated hypervisor and xenstored for hosts without Xen.
 *
 * usage: xnet-simd [--foreground] [-v...] [--dir DIR]
 *
 * Without --foreground it detaches once its sockets accept connections (the
 * starting command returns only then) and logs to syslog. It writes
 * DIR/xnet-simd.pid, and on SIGTERM or SIGINT removes its sockets, the
 * domains' directories and the pid file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyp.h"
#include "loop.h"
#include "store.h"
#include "xnx_log.h"
#include "xnx_sim.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: xnet-simd [--foreground] [-v] [--dir DIR]\n"
		   "  Simulated Xen hypervisor and xenstored.\n"
		   "  --dir DIR      run directory (default $XNET_SIM_DIR or %s)\n"
		   "  --foreground   log to stderr, do not daemonise\n"
		   "  -v, --verbose  more logging: -v info, -vv debug (default:\n"
		   "                 warnings and errors)\n",
		XNX_SIM_DIR_DEFAULT);
}

static int pid_path(char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/xnet-simd.pid", xnx_sim_dir());

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int write_pidfile(void)
{
	char path[PATH_MAX];
	FILE *f;

	if (pid_path(path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) == 0 ? 0 : -errno;
}

static void remove_pidfile(void)
{
	char path[PATH_MAX];

	if (pid_path(path, sizeof(path)) == 0)
		unlink(path);
}

/* Make the run directory exist and be absolute (we chdir to / later). */
static int prepare_dir(const char *dir)
{
	char abs[PATH_MAX];

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "xnet-simd: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (!realpath(dir, abs)) {
		fprintf(stderr, "xnet-simd: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	setenv("XNET_SIM_DIR", abs, 1);
	return 0;
}

/* Detach; the parent exits once the child reports it is serving (or exits
 * itself). Returns in the child with the write end of the readiness pipe,
 * or -1. Before the loop is built: a signalfd only wakes epoll for signals
 * of the process that created it. */
static int detach(void)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 && c == 'y' ? 0 : 1);
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0)
		return -1;
	return p[1];
}

/* Serving: drop the terminal and tell the waiting parent. */
static void report_ready(int ready)
{
	int null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	xnx_log_open("xnet-simd", 1, xnx_log_get_level());
	if (write(ready, "y", 1) != 1)
		xnx_warn("cannot report readiness: %s", strerror(errno));
	close(ready);
}

static void on_signal(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		xnx_info("signal %u: shutting down", si.ssi_signo);
		sim_loop_stop(arg);
	}
}

/* SIGTERM and SIGINT arrive through the loop, so shutdown never races it. */
static int signals(struct sim_loop *loop)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return sim_loop_add(loop, fd, EPOLLIN, on_signal, loop);
}

/* Every port and handle costs the daemon a descriptor: allow many (beyond
 * the hard limit when we may). */
static void raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want = 1u << 20;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	struct rlimit more = { want, want };
	if (rl.rlim_max < want && setrlimit(RLIMIT_NOFILE, &more) == 0)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "dir", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int fg = 0, verbose = 0, ready = -1, c, rc;

	/* Hold only what we open (see xnetback_main.c). */
	close_range(3, ~0u, 0);
	while ((c = getopt_long(argc, argv, "fvd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': fg = 1; break;
		case 'v': verbose++; break;
		case 'd': setenv("XNET_SIM_DIR", optarg, 1); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (prepare_dir(xnx_sim_dir()) < 0)
		return 1;
	xnx_log_open("xnet-simd", 0, xnx_log_verbosity(verbose));
	raise_nofile();

	if (!fg) {
		ready = detach();
		if (ready < 0) {
			fprintf(stderr, "xnet-simd: cannot detach: %s\n", strerror(errno));
			return 1;
		}
	}
	struct sim_loop *loop = sim_loop_new();
	struct sim_store *st = loop ? sim_store_new(loop) : NULL;
	struct sim_hyp *hyp = NULL;
	if (st && signals(loop) == 0)
		hyp = sim_hyp_new(loop, st, xnx_sim_dir());
	if (!hyp) {
		fprintf(stderr, "xnet-simd: start-up in %s failed: %s\n", xnx_sim_dir(),
			errno == EADDRINUSE ? "another xnet-simd serves this directory"
					    : strerror(errno));
		sim_store_free(st);
		sim_loop_free(loop);
		return 1;
	}
	rc = write_pidfile();
	if (rc < 0)
		xnx_warn("pid file: %s", strerror(-rc));
	if (ready >= 0)
		report_ready(ready);
	xnx_info("serving %s", xnx_sim_dir());
	rc = sim_loop_run(loop);
	sim_hyp_free(hyp);
	sim_store_free(st);
	sim_loop_free(loop);
	remove_pidfile();
	return rc < 0 ? 1 : 0;
}
