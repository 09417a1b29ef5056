/*
 * store_conn.c — xenstore connections: one listening unix socket per
 * domain (the socket a client came in on is its identity), non-blocking
 * client sockets, framing of xs_wire messages, per-connection output
 * queues.
 *
 * Nothing here ever blocks: replies and events are queued and written as
 * the socket takes them. A client that stops reading first stops being
 * served (its input pauses once it has quota.outstanding unread replies)
 * and, if its queue of events still grows past quota.out_bytes, is
 * dropped, so one slow reader costs everyone else nothing. A message
 * longer than XENSTORE_PAYLOAD_MAX gets E2BIG and its payload is skipped,
 * so the connection stays in step; a client that vanishes mid-message only
 * loses its own connection.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "store_int.h"
#include "xnx_log.h"

static struct xnx_ratelimit conn_rl = XNX_RATELIMIT_INIT(20, 5);

bool st_conn_priv(const struct st_conn *c)
{
	return c->domid == 0;
}

static unsigned outstanding_max(const struct st_conn *c)
{
	/* Domain 0 is exempt from the quota, but still paced. */
	return st_conn_priv(c) ? 1024 : c->st->quota.outstanding;
}

static size_t out_max(const struct st_conn *c)
{
	size_t q = c->st->quota.out_bytes;

	return st_conn_priv(c) && q < ST_OUT_MAX_PRIV ? ST_OUT_MAX_PRIV : q;
}

static bool paused(const struct st_conn *c)
{
	return c->out_replies >= outstanding_max(c);
}

static void set_events(struct st_conn *c)
{
	uint32_t ev = 0;

	if (c->dead)
		return;
	if (!paused(c))
		ev |= EPOLLIN;
	if (c->out)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		c->events = ev;
		sim_loop_mod(c->st->loop, c->fd, ev);
	}
}

static void mark_dirty(struct st_conn *c)
{
	if (!c->on_dirty) {
		c->on_dirty = true;
		c->dirty_next = c->st->dirty;
		c->st->dirty = c;
	}
}

void st_send(struct st_conn *c, uint32_t type, uint32_t req_id,
	     uint32_t tx_id, const void *data, size_t len, bool reply)
{
	struct xsd_sockmsg hdr = { .type = type, .req_id = req_id,
				   .tx_id = tx_id, .len = (uint32_t)len };
	struct st_out *o;

	if (c->dead)
		return;
	if (c->out_bytes + sizeof(hdr) + len > out_max(c)) {
		st_conn_close(c, "output backlog over quota (client not reading)");
		return;
	}
	o = st_xmalloc(sizeof(*o) + sizeof(hdr) + len);
	o->next = NULL;
	o->len = sizeof(hdr) + len;
	o->off = 0;
	o->reply = reply;
	memcpy(o->data, &hdr, sizeof(hdr));
	if (len)
		memcpy(o->data + sizeof(hdr), data, len);
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += o->len;
	if (reply)
		c->out_replies++;
	mark_dirty(c);
}

void st_send_error(struct st_conn *c, const struct xsd_sockmsg *req, int err)
{
	const char *name = st_errname(err);

	st_send(c, XS_ERROR, req->req_id, req->tx_id, name, strlen(name) + 1, true);
}

static void free_out(struct st_conn *c)
{
	while (c->out) {
		struct st_out *o = c->out;

		c->out = o->next;
		free(o);
	}
	c->out_tail = &c->out;
	c->out_bytes = 0;
	c->out_replies = 0;
}

static void on_listen(int fd, uint32_t events, void *arg);

/* Out of descriptors: stop accepting (a readable listener would spin the
 * loop) until a connection closes. */
static void pause_accept(struct sim_store *st)
{
	st->accept_paused = true;
	for (struct st_listener *l = st->listeners; l; l = l->next)
		sim_loop_mod(st->loop, l->fd, 0);
}

static void resume_accept(struct sim_store *st)
{
	st->accept_paused = false;
	for (struct st_listener *l = st->listeners; l; l = l->next)
		sim_loop_mod(st->loop, l->fd, EPOLLIN);
}

static unsigned domain_conns(struct sim_store *st, unsigned domid)
{
	unsigned n = 0;

	for (struct st_conn *c = st->conns; c; c = c->next)
		n += c->domid == domid;
	return n;
}

void st_conn_close(struct st_conn *c, const char *why)
{
	struct sim_store *st = c->st;

	if (c->dead)
		return;
	xnx_log_rl(&conn_rl, XNX_LOG_INFO, "xenstore: closing domain %u connection: %s",
		   c->domid, why);
	c->dead = true;
	sim_loop_del(st->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	st_watch_clear(c);
	st_txn_clear(c);
	free_out(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		st->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	st->nconns--;
	if (st->accept_paused)
		resume_accept(st);
	/* Freed later: a caller up the stack may still hold C. */
	c->next = st->graveyard;
	st->graveyard = c;
}

/* Write queued output; false if the connection broke. */
static bool write_out(struct st_conn *c)
{
	while (c->out) {
		struct st_out *o = c->out;
		ssize_t n = send(c->fd, o->data + o->off, o->len - o->off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0)
			return false;
		o->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (o->off < o->len)
			continue;
		c->out = o->next;
		if (!c->out)
			c->out_tail = &c->out;
		if (o->reply)
			c->out_replies--;
		free(o);
	}
	return true;
}

static void process_input(struct st_conn *c);

void st_flush(struct sim_store *st)
{
	/* Resuming a paused reader can queue more output: loop until quiet. */
	while (st->dirty) {
		struct st_conn *c = st->dirty;
		bool was_paused;

		st->dirty = c->dirty_next;
		c->on_dirty = false;
		if (c->dead)
			continue;
		was_paused = paused(c);
		if (!write_out(c)) {
			st_conn_close(c, "write failed");
			continue;
		}
		if (was_paused && !paused(c))
			process_input(c);
		set_events(c);
	}
	while (st->graveyard) {
		struct st_conn *c = st->graveyard;

		st->graveyard = c->next;
		free(c->in);
		free(c);
	}
}

/* Parse and handle every complete message buffered from C. */
static void process_input(struct st_conn *c)
{
	char body[XENSTORE_PAYLOAD_MAX + 1];
	size_t pos = 0;

	while (!c->dead && !paused(c)) {
		size_t avail = c->in_len - pos;
		struct xsd_sockmsg hdr;

		if (c->discard) {
			size_t d = avail < c->discard ? avail : c->discard;

			pos += d;
			c->discard -= d;
			if (c->discard)
				break;
			continue;
		}
		if (avail < sizeof(hdr))
			break;
		memcpy(&hdr, c->in + pos, sizeof(hdr));
		if (hdr.len > XENSTORE_PAYLOAD_MAX) {
			xnx_log_rl(&conn_rl, XNX_LOG_WARN,
				   "xenstore: domain %u sent a %u-byte payload "
				   "(limit %u); skipped", c->domid, hdr.len,
				   XENSTORE_PAYLOAD_MAX);
			pos += sizeof(hdr);
			c->discard = hdr.len;
			st_send_error(c, &hdr, E2BIG);
			continue;
		}
		if (avail < sizeof(hdr) + hdr.len)
			break;
		memcpy(body, c->in + pos + sizeof(hdr), hdr.len);
		body[hdr.len] = '\0';
		pos += sizeof(hdr) + hdr.len;
		c->st->nreq++;
		st_dispatch(c, &hdr, body);
	}
	if (c->dead)
		return;
	memmove(c->in, c->in + pos, c->in_len - pos);
	c->in_len -= pos;
}

static void on_conn(int fd, uint32_t events, void *arg)
{
	struct st_conn *c = arg;
	struct sim_store *st = c->st;

	if (events & EPOLLOUT)
		mark_dirty(c);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n;

		if (paused(c) || c->in_len == ST_IN_CAP) {
			/* Not reading now; a peer that hung up is gone. */
			if (events & (EPOLLHUP | EPOLLERR))
				st_conn_close(c, "peer closed");
			st_flush(st);
			return;
		}
		n = recv(fd, c->in + c->in_len, ST_IN_CAP - c->in_len, MSG_DONTWAIT);
		if (n > 0)
			c->in_len += (size_t)n;
		if (n == 0)
			st_conn_close(c, "peer closed");
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			st_conn_close(c, "read error");
		else
			process_input(c);
	}
	st_flush(st);
}

static void add_conn(struct st_listener *l, int fd)
{
	struct sim_store *st = l->st;
	struct st_conn *c;

	if (l->domid != 0 && domain_conns(st, l->domid) >= st->quota.conns) {
		xnx_log_rl(&conn_rl, XNX_LOG_WARN, "xenstore: domain %u is over "
			   "its %u connections; refused one", l->domid,
			   st->quota.conns);
		close(fd);
		return;
	}
	c = st_xcalloc(1, sizeof(*c));
	c->st = st;
	c->fd = fd;
	c->domid = l->domid;
	c->in = st_xmalloc(ST_IN_CAP);
	c->out_tail = &c->out;
	c->watch_tail = &c->watches;
	c->events = EPOLLIN;
	if (sim_loop_add(st->loop, fd, EPOLLIN, on_conn, c) < 0) {
		xnx_log_rl(&conn_rl, XNX_LOG_WARN, "xenstore: cannot watch a new connection");
		close(fd);
		free(c->in);
		free(c);
		return;
	}
	c->next = st->conns;
	if (st->conns)
		st->conns->prev = c;
	st->conns = c;
	st->nconns++;
}

static void on_listen(int fd, uint32_t events, void *arg)
{
	struct st_listener *l = arg;

	(void)events;
	if (l->st->accept_paused)
		return;
	for (int i = 0; i < 64; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				pause_accept(l->st);
			if (errno != EAGAIN && errno != EINTR)
				xnx_log_rl(&conn_rl, XNX_LOG_WARN,
					   "xenstore: accept on %s: %s", l->path,
					   strerror(errno));
			break;
		}
		add_conn(l, cfd);
	}
	st_flush(l->st);
}

/* Create PATH's directory if it is missing (one level, as dom<N>/). */
static void make_parent_dir(const char *path)
{
	char *dir = st_xstrdup(path), *slash = strrchr(dir, '/');

	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	free(dir);
}

int st_listen(struct sim_store *st, unsigned domid, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct st_listener *l;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	make_parent_dir(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);	/* a stale socket of an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	l = st_xcalloc(1, sizeof(*l));
	*l = (struct st_listener){ .st = st, .fd = fd, .domid = domid,
				   .path = st_xstrdup(path), .next = st->listeners };
	rc = sim_loop_add(st->loop, fd, EPOLLIN, on_listen, l);
	if (rc < 0) {
		close(fd);
		unlink(path);
		free(l->path);
		free(l);
		return rc;
	}
	st->listeners = l;
	return 0;
}

void st_unlisten(struct sim_store *st, unsigned domid)
{
	struct st_listener **p = &st->listeners;

	while (*p) {
		struct st_listener *l = *p;

		if (l->domid != domid) {
			p = &l->next;
			continue;
		}
		*p = l->next;
		sim_loop_del(st->loop, l->fd);
		close(l->fd);
		unlink(l->path);
		free(l->path);
		free(l);
	}
}

void st_close_domain_conns(struct sim_store *st, unsigned domid)
{
	struct st_conn *c = st->conns;

	while (c) {
		struct st_conn *next = c->next;

		if (c->domid == domid)
			st_conn_close(c, "domain released");
		c = next;
	}
}
