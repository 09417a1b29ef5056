/*
 * xnet-store-bench — throughput and watch latency of xnet-simd's xenstore.
 *
 * Starts its own store daemon (a child process serving domain 0 on a
 * socket in a temp dir), then drives it with real libxenstore from N
 * client threads: reads/s, writes/s, and the latency from a write to the
 * matching WATCH_EVENT while the other clients keep reading.
 *
 * usage: xnet-store-bench [-c CLIENTS] [-t SECONDS] [-n EVENTS]
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xenstore.h>

#include "loop.h"
#include "store.h"
#include "xnx_log.h"

#define KEYS 1000

static struct sim_loop *child_loop;
static char sock[256];
static atomic_int stop;

static void on_term(int sig)
{
	(void)sig;
	if (child_loop)
		sim_loop_stop(child_loop);
}

/* The daemon: a store on its own loop until SIGTERM. */
static int run_daemon(void)
{
	struct sim_store *st;
	int rc;

	xnx_log_open("xnet-store-bench", 0, XNX_LOG_WARN);
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	child_loop = sim_loop_new();
	st = child_loop ? sim_store_new(child_loop) : NULL;
	if (!st || sim_store_listen(st, 0, sock) < 0 ||
	    sim_store_domain_introduce(st, 0, "Domain-0") < 0)
		return 1;
	rc = sim_loop_run(child_loop);
	sim_store_free(st);
	sim_loop_free(child_loop);
	return rc < 0;
}

static struct xs_handle *client(void)
{
	return xs_open(XS_OPEN_SOCKETONLY);
}

struct worker {
	pthread_t th;
	int id;
	bool write;
	unsigned long ops;
	bool failed;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct xs_handle *xs = client();
	char path[64];
	unsigned len, i = (unsigned)w->id * 7919u;

	if (!xs) {
		w->failed = true;
		return NULL;
	}
	while (!atomic_load(&stop)) {
		i++;
		if (w->write) {
			snprintf(path, sizeof(path), "/bench/w%d/k%u", w->id, i % 100);
			if (!xs_write(xs, XBT_NULL, path, "value", 5))
				w->failed = true;
		} else {
			char *v;

			snprintf(path, sizeof(path), "/bench/r/k%u", i % KEYS);
			v = xs_read(xs, XBT_NULL, path, &len);
			if (!v)
				w->failed = true;
			free(v);
		}
		w->ops++;
	}
	xs_close(xs);
	return NULL;
}

/* Run N workers (writers or readers) for SECS seconds; ops/s or -1. */
static double phase(int n, bool write, int secs)
{
	struct worker *w = calloc((size_t)n, sizeof(*w));
	unsigned long total = 0;
	uint64_t t0, t1;
	bool failed = false;

	if (!w)
		return -1;
	atomic_store(&stop, 0);
	t0 = xnx_now_ns();
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){ .id = i, .write = write };
		pthread_create(&w[i].th, NULL, work, &w[i]);
	}
	sleep((unsigned)secs);
	atomic_store(&stop, 1);
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].ops;
		failed |= w[i].failed;
	}
	t1 = xnx_now_ns();
	free(w);
	return failed ? -1 : (double)total * 1e9 / (double)(t1 - t0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Wait (bounded) for the next event on XS. */
static bool next_event(struct xs_handle *xs)
{
	struct pollfd p = { .fd = xs_fileno(xs), .events = POLLIN };
	char **ev;

	for (int tries = 0; tries < 100; tries++) {
		ev = xs_check_watch(xs);
		if (ev) {
			free(ev);
			return true;
		}
		poll(&p, 1, 50);
	}
	return false;
}

/* Latency from just before a write to the arrival of its watch event,
 * COUNT times, while N-1 readers keep the daemon busy. */
static int latency(int n, int count, uint64_t *lat)
{
	struct xs_handle *writer = client(), *watcher = client();
	struct worker *w = calloc((size_t)(n > 1 ? n - 1 : 1), sizeof(*w));
	int rc = -1, got = 0;

	if (!writer || !watcher || !w ||
	    !xs_watch(watcher, "/bench/lat", "lat") || !next_event(watcher))
		goto out;
	atomic_store(&stop, 0);
	for (int i = 0; i < n - 1; i++) {
		w[i] = (struct worker){ .id = i };
		pthread_create(&w[i].th, NULL, work, &w[i]);
	}
	for (; got < count; got++) {
		uint64_t t0 = xnx_now_ns();

		if (!xs_write(writer, XBT_NULL, "/bench/lat/x", "1", 1) ||
		    !next_event(watcher))
			break;
		lat[got] = xnx_now_ns() - t0;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < n - 1; i++)
		pthread_join(w[i].th, NULL);
	rc = got == count ? 0 : -1;
out:
	free(w);
	if (writer)
		xs_close(writer);
	if (watcher)
		xs_close(watcher);
	return rc;
}

static int populate(void)
{
	struct xs_handle *xs = client();
	char path[64];
	bool ok = xs != NULL;

	for (int i = 0; ok && i < KEYS; i++) {
		snprintf(path, sizeof(path), "/bench/r/k%d", i);
		ok = xs_write(xs, XBT_NULL, path, "some value", 10);
	}
	if (xs)
		xs_close(xs);
	return ok ? 0 : -1;
}

static int wait_socket(void)
{
	struct stat sb;

	for (int i = 0; i < 200; i++) {
		struct xs_handle *xs;

		if (stat(sock, &sb) == 0 && (xs = client())) {
			xs_close(xs);
			return 0;
		}
		usleep(25000);
	}
	return -1;
}

static int bench(int n, int secs, int count)
{
	uint64_t *lat = calloc((size_t)count, sizeof(*lat));
	double r, w;

	if (!lat || wait_socket() || populate()) {
		fprintf(stderr, "xnet-store-bench: cannot reach the store daemon\n");
		free(lat);
		return 1;
	}
	printf("xnet-store-bench: %d clients, %d s per phase\n", n, secs);
	r = phase(n, false, secs);
	w = phase(n, true, secs);
	if (r < 0 || w < 0 || latency(n, count, lat)) {
		fprintf(stderr, "xnet-store-bench: a request failed\n");
		free(lat);
		return 1;
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp_u64);
	printf("reads/s: %.0f\n", r);
	printf("writes/s: %.0f\n", w);
	printf("watch latency us: p50 %.1f p99 %.1f max %.1f (%d events, %d readers)\n",
	       (double)lat[count / 2] / 1e3, (double)lat[count * 99 / 100] / 1e3,
	       (double)lat[count - 1] / 1e3, count, n - 1);
	free(lat);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xnet-store-bench [-c CLIENTS] [-t SECONDS] [-n EVENTS]\n"
		   "  Starts its own xenstore daemon in a temp dir and measures\n"
		   "  reads/s, writes/s and watch-event latency with CLIENTS clients\n"
		   "  (default 4 clients, 2 s per phase, 1000 events).\n");
}

static int arg(const char *s, int min, int max, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s < '0' || *s > '9' || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/xnet-store-bench.XXXXXX";
	int n = 4, secs = 2, count = 1000, c, status = 0, rc;
	pid_t pid;

	while ((c = getopt(argc, argv, "c:t:n:h")) != -1) {
		switch (c) {
		case 'c': if (arg(optarg, 1, 500, &n)) goto bad; break;
		case 't': if (arg(optarg, 1, 600, &secs)) goto bad; break;
		case 'n': if (arg(optarg, 10, 1000000, &count)) goto bad; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (!mkdtemp(dir)) {
		perror("xnet-store-bench: mkdtemp");
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/xenstored.sock", dir);
	setenv("XENSTORED_PATH", sock, 1);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(run_daemon());
	rc = pid < 0 ? 1 : bench(n, secs, count);
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "xnet-store-bench: daemon exited badly (status %d)\n",
				status);
			rc = 1;
		}
	}
	unlink(sock);
	rmdir(dir);
	return rc;
bad:
	usage(stderr);
	return 2;
}
