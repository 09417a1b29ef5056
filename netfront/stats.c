/*
 * stats.c — a frontend's stats socket: a unix stream socket (xnetfront's is
 * <run dir>/xnetfront-dom<N>.sock). A client connects and reads the
 * counters of every vif of the domain until EOF; it sends nothing. The
 * answer has the form of xnetback's (netback/stats_sock.c), so one client
 * reads both, one "key value" line each:
 *
 *   xnetfront 1                 format version
 *   pid N / domain N / platform sim|xen
 *   vif DOMID DEVID             starts a vif; its keys follow
 *   name IF / state N / connected 0|1 / queues N / reconnects N
 *   pages_held N / pages_abandoned N   pages the backend kept mapped when a
 *                               connection ended (see xnf_pages_held)
 *   tx_packets N ...            totals since the vif was opened (tx: guest
 *                               to backend, rx: backend to guest)
 *   queue I                     starts queue I of that vif
 *   tx_packets N ...            the queue's own counters
 *   end                         last line
 *
 * The answer is rendered at once and handed to the socket in one send with
 * a send buffer large enough for it, so a slow client never holds up the
 * caller's loop; one that does not take it gets it cut short (no "end").
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stats.h"
#include "xnx_log.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_sock.h"

#define FORMAT_VERSION 1
#define BACKLOG 16

int xnf_stats_default_path(unsigned domid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/xnetfront-dom%u.sock", xnx_sim_dir(), domid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xnf_stats_listen(const char *path)
{
	return xnx_sock_listen(path, BACKLOG);
}

static void put_counters(FILE *f, const struct xnf_stats *s)
{
	fprintf(f, "tx_packets %llu\ntx_bytes %llu\ntx_errors %llu\ntx_dropped %llu\n"
		"rx_packets %llu\nrx_bytes %llu\nrx_errors %llu\nrx_dropped %llu\n"
		"notify_tx %llu\nnotify_rx %llu\ntx_csum6_filled %llu\n"
		"polls %llu\npoll_hits %llu\n",
		(unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
		(unsigned long long)s->tx_errors, (unsigned long long)s->tx_dropped,
		(unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes,
		(unsigned long long)s->rx_errors, (unsigned long long)s->rx_dropped,
		(unsigned long long)s->notify_tx, (unsigned long long)s->notify_rx,
		(unsigned long long)s->tx_csum6_filled,
		(unsigned long long)s->polls, (unsigned long long)s->poll_hits);
}

void xnf_stats_put_header(FILE *f)
{
	fprintf(f, "xnetfront %d\npid %d\ndomain %d\nplatform %s\n", FORMAT_VERSION,
		(int)getpid(), xnx_self_domid(), xnx_platform_name());
}

void xnf_stats_put_dev(FILE *f, const struct xnf_dev *dev, const char *ifname)
{
	struct xnf_stats st;
	bool up = xnf_state(dev) == XNF_CONNECTED;
	unsigned nq = up ? xnf_queues(dev) : 0;

	xnf_get_stats(dev, &st);
	fprintf(f, "vif %d %u\nname %s\nstate %d\nconnected %d\nqueues %u\n"
		"reconnects %u\npages_held %u\npages_abandoned %u\n", xnx_self_domid(),
		xnf_devid(dev), ifname[0] ? ifname : "-", (int)xnf_state(dev), up, nq,
		xnf_reconnects(dev), xnf_pages_held(dev), xnf_pages_abandoned(dev));
	put_counters(f, &st);
}

void xnf_stats_put_queues(FILE *f, const struct xnf_dev *dev, const int *tids)
{
	struct xnf_stats st;
	unsigned nq = xnf_state(dev) == XNF_CONNECTED ? xnf_queues(dev) : 0;

	for (unsigned i = 0; i < nq; i++) {
		xnf_get_queue_stats(dev, i, &st);
		fprintf(f, "queue %u\n", i);
		put_counters(f, &st);
		if (tids)
			fprintf(f, "worker_tid %d\n", tids[i]);
	}
}

/* Let the socket take the whole answer at once. */
static void room(int fd, size_t len)
{
	int sz = len < (1u << 22) ? (int)(2 * len + 65536) : (1 << 23);

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

/* Send BUF to FD without waiting; a short send is logged (debug). */
static void answer(int fd, const char *buf, size_t len)
{
	size_t off = 0;

	room(fd, len);
	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xnx_debug("stats client: %s", n < 0 ? strerror(errno) : "closed");
			return;
		}
		off += (size_t)n;
	}
}

int xnf_stats_serve(int lfd, void (*write)(FILE *f, void *arg), void *arg)
{
	int served = 0;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		char *buf = NULL;
		size_t len = 0;
		FILE *f;

		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			return errno == EAGAIN ? served : -errno;
		f = open_memstream(&buf, &len);
		if (f) {
			write(f, arg);
			fputs("end\n", f);
		}
		if (f && fclose(f) == 0)
			answer(fd, buf, len);
		free(buf);
		close(fd);
		served++;
	}
}
