/*
 * test_store_harness.h — an in-process xenstore for the store tests: a
 * sim_store on its own sim_loop in a thread, listening for domains 0, 1
 * and 2 on sockets in a temp dir, with helpers to connect as a domain
 * (real libxenstore or a raw socket), wait for watch events with a bound,
 * and run a function on the loop thread (the store is single-threaded).
 */
#ifndef TEST_STORE_HARNESS_H
#define TEST_STORE_HARNESS_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>
#include <CUnit/Basic.h>

#include "sim/loop.h"
#include "xnx_log.h"
#include "sim/store.h"

#define H_TIMEOUT_MS 5000

static struct {
	char dir[64];
	struct sim_loop *loop;
	struct sim_store *st;
	pthread_t thread;
	int pipe[2];
	void (*fn)(void *);
	void *arg;
	sem_t done;
} H;

static inline void h_sock(unsigned domid, char *buf, size_t len)
{
	snprintf(buf, len, "%s/dom%u.sock", H.dir, domid);
}

static inline void h_on_pipe(int fd, uint32_t events, void *arg)
{
	char b;

	(void)events;
	(void)arg;
	if (read(fd, &b, 1) == 1) {
		H.fn(H.arg);
		sem_post(&H.done);
	}
}

/* Run FN(ARG) on the loop thread and wait for it. */
static inline void h_call(void (*fn)(void *), void *arg)
{
	H.fn = fn;
	H.arg = arg;
	if (write(H.pipe[1], "x", 1) != 1)
		abort();
	while (sem_wait(&H.done) < 0 && errno == EINTR)
		;
}

static inline void *h_run(void *arg)
{
	(void)arg;
	sim_loop_run(H.loop);
	return NULL;
}

static inline void h_stop_loop(void *arg)
{
	(void)arg;
	sim_loop_stop(H.loop);
}

/* Killed mid-run (a timeout, ^C): still leave no temp dir behind. Only
 * async-signal-safe calls; the paths are made before the handler is set. */
static char h_paths[5][128];

static inline void h_on_signal(int sig)
{
	for (int i = 0; i < 5; i++)
		unlink(h_paths[i]);
	rmdir(H.dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline int h_start(void)
{
	char path[128];

	struct rlimit rl;

	/* Client and daemon sockets of hundreds of connections share this
	 * process: use the whole descriptor allowance. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	xnx_log_set_level(XNX_LOG_WARN);
	strcpy(H.dir, "/tmp/xnet-store-test.XXXXXX");
	if (!mkdtemp(H.dir))
		return -1;
	for (unsigned d = 0; d < 5; d++)
		h_sock(d, h_paths[d], sizeof(h_paths[d]));
	signal(SIGTERM, h_on_signal);
	signal(SIGINT, h_on_signal);
	H.loop = sim_loop_new();
	H.st = H.loop ? sim_store_new(H.loop) : NULL;
	if (!H.st || pipe(H.pipe) < 0 || sem_init(&H.done, 0, 0) < 0)
		return -1;
	for (unsigned d = 0; d < 3; d++) {
		h_sock(d, path, sizeof(path));
		if (sim_store_listen(H.st, d, path) < 0)
			return -1;
	}
	sim_store_domain_introduce(H.st, 0, "Domain-0");
	sim_store_domain_introduce(H.st, 1, "guest1");
	sim_store_domain_introduce(H.st, 2, "guest2");
	if (sim_loop_add(H.loop, H.pipe[0], EPOLLIN, h_on_pipe, NULL) < 0)
		return -1;
	return pthread_create(&H.thread, NULL, h_run, NULL) ? -1 : 0;
}

static inline int h_stop(void)
{
	char path[128];

	h_call(h_stop_loop, NULL);
	pthread_join(H.thread, NULL);
	sim_store_free(H.st);
	sim_loop_free(H.loop);
	close(H.pipe[0]);
	close(H.pipe[1]);
	sem_destroy(&H.done);
	for (unsigned d = 0; d < 3; d++) {
		h_sock(d, path, sizeof(path));
		unlink(path);
	}
	return rmdir(H.dir);
}

/* A libxenstore connection as domain DOMID. */
static inline struct xs_handle *h_open(unsigned domid)
{
	char path[128];

	h_sock(domid, path, sizeof(path));
	setenv("XENSTORED_PATH", path, 1);
	return xs_open(XS_OPEN_SOCKETONLY);
}

/* Next watch event on XS within the timeout: 1 and PATH/TOKEN filled
 * (malloc'd, caller frees), or 0. */
static inline int h_event(struct xs_handle *xs, char **path, char **token)
{
	uint64_t waited = 0;

	for (;;) {
		char **ev = xs_check_watch(xs);
		struct pollfd p = { .fd = xs_fileno(xs), .events = POLLIN };

		if (ev) {
			*path = strdup(ev[XS_WATCH_PATH]);
			*token = strdup(ev[XS_WATCH_TOKEN]);
			free(ev);
			return 1;
		}
		if (waited >= H_TIMEOUT_MS)
			return 0;
		poll(&p, 1, 50);
		waited += 50;
	}
}

/* Assert the next event on XS is exactly PATH with TOKEN. */
static inline int h_expect(struct xs_handle *xs, const char *path, const char *token)
{
	char *p = NULL, *t = NULL;
	int ok = h_event(xs, &p, &t) && !strcmp(p, path) && !strcmp(t, token);

	if (!ok)
		fprintf(stderr, "expected event %s/%s, got %s/%s\n", path, token,
			p ? p : "(none)", t ? t : "(none)");
	free(p);
	free(t);
	return ok;
}

/* Prove that XS has no event queued before a fresh one: watch a sentinel
 * path, have domain 0 (DOM0) write it, and require the sentinel's events
 * to be the next ones. Events are ordered, so anything queued earlier
 * would show up first. */
static inline int h_no_event(struct xs_handle *xs, struct xs_handle *dom0)
{
	static int n;
	char path[64], tok[32];
	int ok;

	snprintf(path, sizeof(path), "/sentinel/s%d", ++n);
	snprintf(tok, sizeof(tok), "sentinel%d", n);
	/* Let the watcher see it whoever it is. */
	xs_write(dom0, XBT_NULL, path, "", 0);
	struct xs_permissions p = { .id = 0, .perms = XS_PERM_READ };
	xs_set_permissions(dom0, XBT_NULL, path, &p, 1);
	if (!xs_watch(xs, path, tok))
		return 0;
	ok = h_expect(xs, path, tok);
	xs_write(dom0, XBT_NULL, path, "1", 1);
	ok = ok && h_expect(xs, path, tok);
	xs_unwatch(xs, path, tok);
	return ok;
}

/* ---- raw sockets --------------------------------------------------------- */

static inline int h_raw(unsigned domid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	h_sock(domid, sa.sun_path, sizeof(sa.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static inline int h_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *body, uint32_t len)
{
	struct xsd_sockmsg m = { .type = type, .req_id = req_id, .tx_id = tx_id,
				 .len = len };

	if (write(fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
		return -1;
	return len && write(fd, body, len) != (ssize_t)len ? -1 : 0;
}

static inline int h_readn(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, H_TIMEOUT_MS) != 1)
			return -1;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Read one message: header into M, payload (NUL-terminated) into BUF. */
static inline int h_recv(int fd, struct xsd_sockmsg *m, char *buf, size_t len)
{
	if (h_readn(fd, m, sizeof(*m)) || m->len >= len ||
	    h_readn(fd, buf, m->len))
		return -1;
	buf[m->len] = '\0';
	return 0;
}

#endif
