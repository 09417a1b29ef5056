/* proc.c — the xnet command's process helpers: program lookup, pid files,
 * liveness, spawning daemons, stopping them, bounded waits. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xnet.h"
#include "xnx_log.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define POLL_STEP_MS 10

int xnt_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("xnet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

void xnt_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("xnet: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool xnt_is_help(const char *arg)
{
	return arg && (!strcmp(arg, "-h") || !strcmp(arg, "--help"));
}

const char *xnt_bin_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("XNET_BIN");
	ssize_t n;

	if (env && *env)
		return env;
	if (!dir[0]) {
		n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		if (n <= 0)
			return ".";
		dir[n] = '\0';
		/* dirname() may return a static string: copy through a buffer. */
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s", dirname(dir));
		snprintf(dir, sizeof(dir), "%s", tmp);
	}
	return dir;
}

int xnt_prog_path(const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", xnt_bin_dir(), name);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

int xnt_sim_file(const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", xnx_sim_dir(), name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xnt_pidfile_read(const char *path, pid_t *pid)
{
	char buf[32];
	unsigned long v;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (xnx_parse_uint(buf, 1, INT_MAX, &v) < 0)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int xnt_pidfile_write(const char *path, pid_t pid)
{
	char tmp[PATH_MAX];
	FILE *f;

	/* Write then rename, so a reader never sees half a pid. */
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)pid);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

/* The process's state letter from /proc/PID/stat, or 0 if it is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the command name may contain anything */
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Does PID run PROG? Compares the basename of /proc/PID/exe. */
static bool runs(pid_t pid, const char *prog)
{
	char path[64], exe[PATH_MAX], *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	/* A rebuilt binary shows as "path (deleted)". */
	if ((base = strstr(exe, " (deleted)")) != NULL)
		*base = '\0';
	base = strrchr(exe, '/');
	return strcmp(base ? base + 1 : exe, prog) == 0;
}

bool xnt_pid_alive(pid_t pid, const char *prog)
{
	char st;

	if (pid <= 0)
		return false;
	st = proc_state(pid);
	if (st == 0 || st == 'Z' || st == 'X')
		return false;
	return !prog || runs(pid, prog);
}

pid_t xnt_running(const char *pidfile, const char *prog)
{
	pid_t pid;

	if (xnt_pidfile_read(pidfile, &pid) < 0)
		return 0;
	return xnt_pid_alive(pid, prog) ? pid : 0;
}

/* The last line of file PATH into BUF ("" if none). */
void xnt_last_line(const char *path, char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		snprintf(buf, len, "%.*s", (int)strcspn(line, "\n"), line);
	if (f)
		fclose(f);
}

/* In the child: detach, redirect, fix the environment, exec. Never returns. */
static void child_exec(char *const argv[], char *const env[], const char *log)
{
	int in = open("/dev/null", O_RDONLY);
	int out = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)
		      : open("/dev/null", O_WRONLY);

	setsid();
	if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0)
		_exit(127);
	/* Nothing else of ours goes with it: a daemon that kept a descriptor
	 * the caller holds (a lock file, a pipe) would hold it for its whole
	 * life. */
	closefrom(3);
	/* xnet's own xenstore socket is the privileged one; a daemon finds
	 * its domain's socket itself. */
	unsetenv("XENSTORED_PATH");
	for (int i = 0; env && env[i]; i++)
		putenv(env[i]);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], argv);
	fprintf(stderr, "xnet: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int xnt_spawn(char *const argv[], char *const env[], const char *log,
	      pid_t *pid)
{
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p < 0)
		return -errno;
	if (p == 0)
		child_exec(argv, env, log);
	*pid = p;
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Reap PID if it is our child, so that a dead child does not linger as a
 * zombie. */
static void reap(pid_t pid)
{
	waitpid(pid, NULL, WNOHANG);
}

struct gone_arg { pid_t pid; const char *prog; };

static bool gone(void *arg)
{
	struct gone_arg *g = arg;

	reap(g->pid);
	return !xnt_pid_alive(g->pid, g->prog);
}

int xnt_stop(pid_t pid, const char *prog, int timeout_ms)
{
	struct gone_arg g = { pid, prog };

	if (gone(&g))
		return 0;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return -errno;
	if (xnt_wait_until(gone, &g, timeout_ms) == 0)
		return 0;
	xnt_warn("%s (pid %d) did not stop in %d ms; killing it", prog,
		 (int)pid, timeout_ms);
	kill(pid, SIGKILL);
	return xnt_wait_until(gone, &g, 2000);
}

int xnt_run(char *const argv[], bool verbose)
{
	int status;
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		if (!verbose) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		unsetenv("XENSTORED_PATH");
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(p, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int xnt_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	uint64_t end = xnx_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		if (cond(arg))
			return 0;
		if (xnx_now_ns() >= end)
			return -ETIMEDOUT;
		sleep_ms(POLL_STEP_MS);
	}
}

/* Connect to PATH with a socket of TYPE: 0 or -errno. */
static int try_connect(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

bool xnt_sock_answers(const char *path)
{
	/* The xenstore socket is a stream; the hypervisor's may be packets. */
	int rc = try_connect(path, SOCK_STREAM);

	if (rc == -EPROTOTYPE)
		rc = try_connect(path, SOCK_SEQPACKET);
	return rc == 0;
}
