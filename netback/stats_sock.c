/*
 * stats_sock.c — xnetback's stats socket: a unix stream socket in the run
 * directory, served from the daemon's epoll loop. A client connects and
 * reads the counters of every vif until EOF; it sends nothing.
 *
 * Answer, one "key value" line each (values never contain a newline):
 *
 *   xnetback 1                  format version
 *   pid N / domain N / platform sim|xen
 *   vif DOMID DEVID             starts a vif; its keys follow
 *   name IF / ifindex N / state N / connected 0|1 / queues N
 *   tx_packets N ...            totals since the vif was created
 *   queue I                     starts queue I of that vif (this connection)
 *   tx_packets N ...            the queue's own counters, ring occupancy
 *   end                         last line
 *
 * No locks: the loop that writes the counters is the one reading them, and
 * shared ring indices are read once and clamped (the guest may write
 * anything there; it is only shown).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xnb_vif.h"
#include "xnx_log.h"
#include "xnx_sim.h"
#include "xnx_sock.h"

#define MAX_CLIENTS 16		/* answers still being sent; more are refused */
#define FORMAT_VERSION 1

struct client {
	struct xnb_ep ep;	/* first: the loop hands us &ep */
	struct client *next;
	int fd;
	char *buf;
	size_t len, off;
};

struct xnb_stats_sock {
	struct xnb_ep ep;	/* first: the listener's */
	int fd;
	struct sockaddr_un addr;
	dev_t dev;
	ino_t ino;		/* so we only ever remove our own file */
	struct client *clients;
	unsigned nclients;
};

static struct xnx_ratelimit stats_rl = XNX_RATELIMIT_INIT(5, 1);

int xnb_stats_sock_default(unsigned self, char *buf, size_t len)
{
	int n = self == 0 ? snprintf(buf, len, "%s/xnetback.sock", xnx_sim_dir())
			  : snprintf(buf, len, "%s/xnetback-dom%u.sock", xnx_sim_dir(), self);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void xnb_stats_add(struct xnb_stats *to, const struct xnb_stats *from)
{
	to->tx_packets += from->tx_packets;
	to->tx_bytes += from->tx_bytes;
	to->rx_packets += from->rx_packets;
	to->rx_bytes += from->rx_bytes;
	to->tx_gso += from->tx_gso;
	to->rx_gso += from->rx_gso;
	for (int i = 0; i < XNB_DROP_MAX; i++)
		to->drops[i] += from->drops[i];
	to->rx_stalls += from->rx_stalls;
	to->tx_throttled += from->tx_throttled;
	to->notify_sent += from->notify_sent;
	to->notify_suppressed += from->notify_suppressed;
	to->rx_zerocopy += from->rx_zerocopy;
}

/* ---- the answer ------------------------------------------------------------ */

static void put_counters(FILE *f, const struct xnb_stats *s)
{
	char buf[2048];

	if (xnb_stats_format(s, buf, sizeof(buf)) >= 0)
		fputs(buf, f);
}

/* Requests or buffers between two indices, as the peer published them:
 * read once, and never more than the ring holds. */
static unsigned occupancy(RING_IDX prod, RING_IDX cons, unsigned size)
{
	RING_IDX n = prod - cons;

	return n > size ? size : n;
}

/* One queue's lines; its worker is held between two rounds meanwhile. */
static void put_queue(FILE *f, struct xnb_vq *vq)
{
	const struct xnb_queue *q = vq->q;

	pthread_mutex_lock(&vq->lock);
	RING_IDX tx_prod = XNB_READ_ONCE(q->tx.sring->req_prod);
	RING_IDX rx_prod = XNB_READ_ONCE(q->rx.sring->req_prod);

	fprintf(f, "queue %u\n", vq->idx);
	put_counters(f, &vq->stats);
	fprintf(f, "notify_received %llu\n", (unsigned long long)vq->notify_received);
	fprintf(f, "grant_copy_calls %llu\n", (unsigned long long)vq->copy_calls);
	fprintf(f, "grant_copy_segs %llu\n", (unsigned long long)vq->copy_segs);
	fprintf(f, "static_grant_segs %llu\n", (unsigned long long)vq->static_segs);
	fprintf(f, "grant_maps %u\n", (vq->tx_map != NULL) + (vq->rx_map != NULL));
	fprintf(f, "tx_ring_size %u\n", (unsigned)RING_SIZE(&q->tx));
	fprintf(f, "rx_ring_size %u\n", (unsigned)RING_SIZE(&q->rx));
	/* TX: requests the guest queued that we have not taken yet. */
	fprintf(f, "tx_ring_pending %u\n", occupancy(tx_prod, q->tx.req_cons, RING_SIZE(&q->tx)));
	/* RX: buffers the guest posted that we have not filled yet. */
	fprintf(f, "rx_ring_posted %u\n", occupancy(rx_prod, q->rx.req_cons, RING_SIZE(&q->rx)));
	fprintf(f, "tx_port %u\nrx_port %u\n", q->tx_port, q->rx_port);
	fprintf(f, "throttled %d\nrx_stalled %d\n", vq->tx_throttled, q->rx_stalled);
	fprintf(f, "worker_tid %d\n", __atomic_load_n(&vq->tid, __ATOMIC_ACQUIRE));
	fprintf(f, "polls %llu\npoll_hits %llu\n", (unsigned long long)vq->spins,
		(unsigned long long)vq->spin_hits);
	pthread_mutex_unlock(&vq->lock);
}

static void put_vif(FILE *f, struct xnb_vif *v)
{
	struct xnb_stats total = v->stats;
	uint64_t kicks = 0, calls = 0, segs = 0, statics = 0;
	char name[IF_NAMESIZE] = "";

	/* The name now, by link id: it may have been renamed since. */
	if (v->tap.ifindex <= 0 || !if_indextoname((unsigned)v->tap.ifindex, name))
		snprintf(name, sizeof(name), "%s", v->tap.name[0] ? v->tap.name : "-");
	if (v->connected)
		xnb_vif_lock_queues(v);	/* one consistent sum */
	for (unsigned i = 0; v->connected && i < v->nqueues; i++) {
		xnb_stats_add(&total, &v->vq[i].stats);
		kicks += v->vq[i].notify_received;
		calls += v->vq[i].copy_calls;
		segs += v->vq[i].copy_segs;
		statics += v->vq[i].static_segs;
	}
	if (v->connected)
		xnb_vif_unlock_queues(v);
	fprintf(f, "vif %u %u\n", v->domid, v->devid);
	fprintf(f, "name %s\nifindex %d\nstate %d\nconnected %d\nqueues %u\n", name,
		v->tap.ifindex, (int)v->state, v->connected, v->connected ? v->nqueues : 0);
	put_counters(f, &total);
	fprintf(f, "notify_received %llu\ngrant_copy_calls %llu\ngrant_copy_segs %llu\n",
		(unsigned long long)kicks, (unsigned long long)calls,
		(unsigned long long)segs);
	fprintf(f, "static_grant_segs %llu\n", (unsigned long long)statics);
	for (unsigned i = 0; v->connected && i < v->nqueues; i++)
		put_queue(f, &v->vq[i]);
}

int xnb_stats_write(const struct xnb_backend *be, FILE *f)
{
	fprintf(f, "xnetback %d\npid %d\ndomain %u\nplatform %s\n", FORMAT_VERSION,
		(int)getpid(), be->self, xnx_platform_name());
	for (struct xnb_vif *v = be->vifs; v; v = v->next)
		if (!v->dead)
			put_vif(f, v);
	fputs("end\n", f);
	return ferror(f) ? -EIO : 0;
}

/* ---- clients --------------------------------------------------------------- */

static void drop_client(struct xnb_backend *be, struct client *c)
{
	struct xnb_stats_sock *s = be->stats_sock;

	for (struct client **p = &s->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	epoll_ctl(be->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
	s->nclients--;
}

/* Send what the socket takes now; done (or failed) → drop the client. */
static void flush_client(struct xnb_backend *be, struct client *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;	/* EPOLLOUT brings us back */
		if (n <= 0) {
			xnx_log_rl(&stats_rl, XNX_LOG_DEBUG, "stats client: %s", strerror(errno));
			break;
		}
		c->off += (size_t)n;
	}
	drop_client(be, c);
}

/* Let the socket take the whole answer at once, so a client that reads
 * normally never waits in our list. */
static void room(int fd, size_t len)
{
	int sz = len < (1u << 22) ? (int)(2 * len + 65536) : (1 << 23);

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

/* Render the answer for a new client and start sending it. */
static void serve(struct xnb_backend *be, int fd)
{
	struct xnb_stats_sock *s = be->stats_sock;
	struct epoll_event ev = { .events = EPOLLOUT };
	struct client *c = calloc(1, sizeof(*c));
	FILE *f = NULL;

	if (c)
		f = open_memstream(&c->buf, &c->len);
	if (!c || !f || xnb_stats_write(be, f) < 0 || fclose(f) != 0) {
		xnx_log_rl(&stats_rl, XNX_LOG_WARN, "stats: out of memory for an answer");
		if (c)
			free(c->buf);
		free(c);
		close(fd);
		return;
	}
	if (s->nclients >= MAX_CLIENTS) {
		/* Refused, not evicted: an evicted client's event may still be
		 * queued in this loop turn. */
		xnx_log_rl(&stats_rl, XNX_LOG_WARN, "stats: %u clients not reading; "
			   "refusing another", s->nclients);
		free(c->buf);
		free(c);
		close(fd);
		return;
	}
	room(fd, c->len);
	c->ep = (struct xnb_ep){ .kind = XNB_EP_STATS };
	c->fd = fd;
	ev.data.ptr = &c->ep;
	if (epoll_ctl(be->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		xnx_log_rl(&stats_rl, XNX_LOG_WARN, "stats: epoll: %s", strerror(errno));
		free(c->buf);
		free(c);
		close(fd);
		return;
	}
	c->next = s->clients;
	s->clients = c;
	s->nclients++;
	flush_client(be, c);
}

static void accept_all(struct xnb_backend *be)
{
	for (;;) {
		int fd = accept4(be->stats_sock->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				xnx_log_rl(&stats_rl, XNX_LOG_WARN, "stats: accept: %s",
					   strerror(errno));
			if (errno != EINTR)
				return;
			continue;
		}
		serve(be, fd);
	}
}

void xnb_stats_sock_event(struct xnb_backend *be, struct xnb_ep *ep, uint32_t events)
{
	struct xnb_stats_sock *s = be->stats_sock;

	if (!s)
		return;
	if (ep == &s->ep) {
		accept_all(be);
		return;
	}
	/* Clients only ever wait for EPOLLOUT; an error or hang-up ends them. */
	struct client *c = (struct client *)ep;
	if (events & (EPOLLERR | EPOLLHUP))
		drop_client(be, c);
	else
		flush_client(be, c);
}

/* ---- the listener ---------------------------------------------------------- */

static int listen_on(struct xnb_stats_sock *s, const char *path)
{
	struct stat st;
	int rc;

	s->addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(s->addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(s->addr.sun_path, path);
	if ((rc = xnx_sock_listen(path, MAX_CLIENTS)) < 0)
		return rc;
	s->fd = rc;
	if (stat(path, &st) < 0) {
		rc = -errno;
		close(s->fd);
		s->fd = -1;
		return rc;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

int xnb_stats_sock_open(struct xnb_backend *be, const char *path)
{
	struct xnb_stats_sock *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	if ((rc = listen_on(s, path)) < 0)
		goto err_free;
	s->ep = (struct xnb_ep){ .kind = XNB_EP_STATS };
	ev.data.ptr = &s->ep;
	if (epoll_ctl(be->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
		rc = -errno;
		goto err_close;
	}
	be->stats_sock = s;
	xnx_info("stats socket %s", path);
	return 0;

err_close:
	close(s->fd);
	unlink(path);
err_free:
	free(s);
	return rc;
}

void xnb_stats_sock_close(struct xnb_backend *be)
{
	struct xnb_stats_sock *s = be->stats_sock;
	struct stat st;

	if (!s)
		return;
	while (s->clients)
		drop_client(be, s->clients);
	epoll_ctl(be->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	/* Remove the file only if it is still ours (not a successor's). */
	if (stat(s->addr.sun_path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->addr.sun_path);
	free(s);
	be->stats_sock = NULL;
}
