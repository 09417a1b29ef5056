/*
 * proc.c — running helper programs with bounded waits, and the cleanup
 * registry that undoes everything a benchmark creates (namespaces,
 * hugepage reservations, mounts, processes) at exit and on a fatal signal.
 *
 * Cleanup runs from a signal handler too, so a step only uses
 * async-signal-safe calls: kill, fork, execve, waitpid, open, write, rmdir.
 * Everything it needs (absolute program paths, argv) is prepared when the
 * step is registered.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define MAX_STEPS 32
#define MAX_ARGS 12
#define MAX_PIDS 32

enum step_kind { STEP_FREE = 0, STEP_CMD, STEP_WRITE };

struct step {
	enum step_kind kind;
	char *argv[MAX_ARGS + 1];	/* STEP_CMD: argv[0] an absolute path */
	char *path, *content;		/* STEP_WRITE */
};

static struct step steps[MAX_STEPS];
static int nsteps;
static volatile pid_t pids[MAX_PIDS];
static volatile sig_atomic_t cleaning;

double xbench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int xbench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

/* Absolute path of PROG from PATH into BUF; 0 or -ENOENT. */
static int which(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	const char *dirs = path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

	if (strchr(prog, '/')) {
		snprintf(buf, len, "%s", prog);
		return access(buf, X_OK) == 0 ? 0 : -ENOENT;
	}
	while (*dirs) {
		size_t n = strcspn(dirs, ":");

		if ((size_t)snprintf(buf, len, "%.*s/%s", (int)n, dirs, prog) < len &&
		    access(buf, X_OK) == 0)
			return 0;
		dirs += n;
		if (*dirs == ':')
			dirs++;
	}
	return -ENOENT;
}

bool xbench_have(const char *prog)
{
	char buf[4096];

	return which(prog, buf, sizeof(buf)) == 0;
}

void xbench_track_pid(pid_t pid)
{
	for (int i = 0; i < MAX_PIDS; i++)
		if (pids[i] == 0) {
			pids[i] = pid;
			return;
		}
}

void xbench_untrack_pid(pid_t pid)
{
	for (int i = 0; i < MAX_PIDS; i++)
		if (pids[i] == pid)
			pids[i] = 0;
}

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int xbench_wait(pid_t pid, double timeout_s)
{
	int fd = pidfd_open_(pid), status;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double end = xbench_now() + timeout_s;

	if (fd >= 0) {
		for (;;) {
			double left = end - xbench_now();
			int r;

			if (left <= 0)
				break;
			r = poll(&pfd, 1, (int)ceil(left * 1000));
			if (r > 0 || (r < 0 && errno != EINTR))
				break;
		}
		close(fd);
	}
	if (waitpid(pid, &status, WNOHANG) == 0) {
		/* Still running after the deadline: it is stuck. */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		xbench_untrack_pid(pid);
		return -ETIMEDOUT;
	}
	xbench_untrack_pid(pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int xbench_stop(pid_t pid, int sig, double grace_s)
{
	int r;

	if (pid <= 0)
		return -EINVAL;
	kill(pid, sig);
	r = xbench_wait(pid, grace_s);
	return r;
}

static bool verbose(void)
{
	const char *v = getenv("XNET_BENCH_VERBOSE");

	return v && *v && strcmp(v, "0") != 0;
}

pid_t xbench_fork(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Dies with us, even if we are SIGKILLed: a busy-polling
		 * helper must never outlive the benchmark. Survives exec. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		/* The child owns none of the parent's cleanup steps. */
		cleaning = 1;
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
	}
	return pid;
}

/* In the child: stdin from /dev/null, stdout to OUT_FD (or /dev/null),
 * stderr to ERR_FD (or /dev/null), or left alone when verbose. Then exec.
 * Never returns. */
static void child_exec(char *const argv[], int in_fd, int out_fd, int err_fd)
{
	int null = open("/dev/null", O_RDWR);

	dup2(in_fd >= 0 ? in_fd : null, 0);
	dup2(out_fd >= 0 ? out_fd : null, 1);
	if (!verbose())
		dup2(err_fd >= 0 ? err_fd : null, 2);
	execvp(argv[0], argv);
	_exit(127);
}

/* Read all of FD into a growing buffer until EOF or END (monotonic). */
static int slurp(int fd, double end, char **out)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (!buf)
		return -ENOMEM;
	for (;;) {
		double left = end - xbench_now();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)ceil(left * 1000)) == 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		if (n + 1024 > cap) {
			char *b = realloc(buf, cap *= 2);

			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (out)
		*out = buf;
	else
		free(buf);
	return 0;
}

int xbench_cmd(char *const argv[], double timeout_s, char **out)
{
	int pfd[2], r;
	double end = xbench_now() + timeout_s;
	pid_t pid;

	if (out)
		*out = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = xbench_fork();
	if (pid < 0) {
		r = pid;
		close(pfd[0]);
		close(pfd[1]);
		return r;
	}
	if (pid == 0)
		child_exec(argv, -1, pfd[1], -1);	/* stderr kept out of the output */
	xbench_track_pid(pid);
	close(pfd[1]);
	r = slurp(pfd[0], end, out);
	close(pfd[0]);
	if (r < 0) {
		xbench_stop(pid, SIGKILL, 1);
		return r;
	}
	return xbench_wait(pid, end - xbench_now() + 0.5);
}

pid_t xbench_spawn_in(char *const argv[], const char *outfile, int *in)
{
	int fd = -1, pfd[2] = { -1, -1 };
	pid_t pid;

	if (in && pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	if (outfile)
		fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid = fd < 0 && outfile ? -errno : xbench_fork();
	if (pid == 0)
		child_exec(argv, pfd[0], fd, fd);	/* one log with both */
	if (fd >= 0)
		close(fd);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pid < 0) {
		if (pfd[1] >= 0)
			close(pfd[1]);
		return pid;
	}
	if (in)
		*in = pfd[1];
	xbench_track_pid(pid);
	return pid;
}

pid_t xbench_spawn(char *const argv[], const char *outfile)
{
	return xbench_spawn_in(argv, outfile, NULL);
}

/* ---- cleanup registry ----------------------------------------------------- */

static int free_slot(void)
{
	for (int i = 0; i < MAX_STEPS; i++)
		if (steps[i].kind == STEP_FREE) {
			if (i >= nsteps)
				nsteps = i + 1;
			return i;
		}
	return -ENOSPC;
}

int xbench_on_cleanup_cmd(char *const argv[])
{
	char path[4096];
	int h = free_slot(), i;

	if (h < 0)
		return h;
	if (which(argv[0], path, sizeof(path)) < 0)
		return -ENOENT;
	steps[h].argv[0] = strdup(path);
	for (i = 1; argv[i] && i < MAX_ARGS; i++)
		steps[h].argv[i] = strdup(argv[i]);
	steps[h].argv[i] = NULL;
	steps[h].kind = STEP_CMD;
	return h;
}

int xbench_on_cleanup_write(const char *path, const char *content)
{
	int h = free_slot();

	if (h < 0)
		return h;
	steps[h].path = strdup(path);
	steps[h].content = strdup(content);
	steps[h].kind = STEP_WRITE;
	return h;
}

/* Async-signal-safe: run one step. */
static void run_step(struct step *s)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	pid_t pid;
	int fd;

	if (s->kind == STEP_CMD) {
		pid = fork();
		if (pid == 0) {
			fd = open("/dev/null", O_RDWR);
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			execve(s->argv[0], s->argv, env);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	} else if (s->kind == STEP_WRITE) {
		fd = open(s->path, O_WRONLY | O_TRUNC);
		if (fd >= 0) {
			ssize_t w = write(fd, s->content, strlen(s->content));

			(void)w;
			close(fd);
		}
	}
}

static void forget_step(struct step *s)
{
	for (int i = 0; i < MAX_ARGS + 1; i++) {
		free(s->argv[i]);
		s->argv[i] = NULL;
	}
	free(s->path);
	free(s->content);
	s->path = s->content = NULL;
	s->kind = STEP_FREE;
}

void xbench_cleanup_now(int h)
{
	if (h < 0 || h >= MAX_STEPS || steps[h].kind == STEP_FREE)
		return;
	run_step(&steps[h]);
	forget_step(&steps[h]);
}

/* Kill every tracked process and run every step, newest first. */
static void cleanup_all(bool can_free)
{
	for (int i = 0; i < MAX_PIDS; i++) {
		pid_t p = pids[i];

		if (p > 0) {
			kill(p, SIGKILL);
			waitpid(p, NULL, 0);
			pids[i] = 0;
		}
	}
	for (int i = nsteps - 1; i >= 0; i--) {
		if (steps[i].kind == STEP_FREE)
			continue;
		run_step(&steps[i]);
		if (can_free)
			forget_step(&steps[i]);
		else
			steps[i].kind = STEP_FREE;
	}
}

void xbench_cleanup(void)
{
	if (cleaning)
		return;
	cleaning = 1;
	cleanup_all(true);
	cleaning = 0;
}

static void on_signal(int sig)
{
	if (!cleaning) {
		cleaning = 1;
		cleanup_all(false);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void xbench_cleanup_init(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = on_signal };

	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(xbench_cleanup);
}
