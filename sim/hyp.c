/*
 * hyp.c — the hypervisor half of xnet-simd: domains (create, destroy,
 * lookup, list), one hypervisor socket per domain, client connections and
 * the dispatch of their requests to the grant and event-channel handlers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/epoll.h>
#include <sys/un.h>
#include <unistd.h>

#include "hyp_priv.h"
#include "xnx_sim.h"

#define LISTEN_BACKLOG 64
#define ORPHAN_RETRY_SEC 1

struct hyp_dom *hyp_dom_get(struct sim_hyp *h, uint32_t domid)
{
	return domid < DOMID_FIRST_RESERVED ? h->doms[domid] : NULL;
}

bool hyp_privileged(const struct hyp_dom *d)
{
	return d->domid == 0 || (d->flags & XNX_SIM_DOM_DRIVER);
}

/* ---- sockets --------------------------------------------------------- */

/* Is somebody already serving PATH? */
static bool sock_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool alive;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	alive = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return alive;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if (sock_alive(path))
		return -EADDRINUSE;
	unlink(path);			/* stale, from a daemon that died */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* ---- responses -------------------------------------------------------- */

static void send_rsp(struct hyp_conn *c, struct hyp_rsp *rsp)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = rsp->r, .iov_len = sizeof(*rsp->r) + rsp->r->len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (rsp->nfds) {
		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = CMSG_SPACE(rsp->nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(rsp->nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), rsp->fds, rsp->nfds * sizeof(int));
	}
	/* A client that does not read its responses is disconnected by the
	 * EAGAIN path of its next request's read. */
	if (sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		xnx_debug("dom%u: response lost: %s", c->dom->domid, strerror(errno));
}

/* ---- domains ------------------------------------------------------------ */

static void conn_close(struct hyp_conn *c);
static void on_listen(int fd, uint32_t events, void *arg);

static int dom_dir(const struct sim_hyp *h, unsigned domid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/dom%u", h->dir, domid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The domain's memory: arena (rw and ro descriptors) and grant table. */
static int dom_memory(struct hyp_dom *d)
{
	char proc[64];
	struct xnx_simgt_hdr *hdr;

	d->arena_fd = memfd_create("xnet-arena", MFD_CLOEXEC);
	d->gt_fd = memfd_create("xnet-gnttab", MFD_CLOEXEC);
	if (d->arena_fd < 0 || d->gt_fd < 0 ||
	    ftruncate(d->arena_fd, (off_t)XNX_SIM_MAX_PAGES * XNX_SIM_PAGE_SIZE) < 0 ||
	    ftruncate(d->gt_fd, XNX_SIMGT_SIZE) < 0)
		return -errno;
	/* A read-only descriptor of the same memory, for read-only maps. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", d->arena_fd);
	d->arena_ro_fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (d->arena_ro_fd < 0)
		return -errno;
	d->gt_base = mmap(NULL, XNX_SIMGT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  d->gt_fd, 0);
	if (d->gt_base == MAP_FAILED) {
		d->gt_base = NULL;
		return -errno;
	}
	hdr = d->gt_base;
	*hdr = (struct xnx_simgt_hdr){ .magic = XNX_SIMGT_MAGIC, .domid = d->domid,
				       .nr_refs = XNX_SIM_MAX_REFS,
				       .nr_pages = XNX_SIM_MAX_PAGES };
	d->pages_free = XNX_SIM_MAX_PAGES;
	d->gens_fd = memfd_create("xnet-evtgen", MFD_CLOEXEC);
	if (d->gens_fd < 0 || ftruncate(d->gens_fd, XNX_SIMGENS_SIZE) < 0)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", d->gens_fd);
	d->gens_ro_fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (d->gens_ro_fd < 0)
		return -errno;
	d->port_gen = mmap(NULL, XNX_SIMGENS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   d->gens_fd, 0);
	if (d->port_gen == MAP_FAILED) {
		d->port_gen = NULL;
		return -errno;
	}
	return xnx_simgt_init(&d->gt, d->gt_base, NULL);
}

static void dom_free(struct hyp_dom *d)
{
	if (d->listen_fd >= 0) {
		sim_loop_del(d->hyp->loop, d->listen_fd);
		close(d->listen_fd);
	}
	if (d->gt_base)
		munmap(d->gt_base, XNX_SIMGT_SIZE);
	if (d->arena_fd >= 0)
		close(d->arena_fd);
	if (d->arena_ro_fd >= 0)
		close(d->arena_ro_fd);
	if (d->gt_fd >= 0)
		close(d->gt_fd);
	if (d->port_gen)
		munmap(d->port_gen, XNX_SIMGENS_SIZE);
	if (d->gens_fd >= 0)
		close(d->gens_fd);
	if (d->gens_ro_fd >= 0)
		close(d->gens_ro_fd);
	free(d);
}

/* Remove the domain's sockets and directory. */
static void dom_unlink(struct sim_hyp *h, unsigned domid)
{
	char path[512];

	if (xnx_sim_hyp_path(domid, path, sizeof(path)) == 0)
		unlink(path);
	if (xnx_sim_store_path(domid, path, sizeof(path)) == 0)
		unlink(path);
	if (domid && dom_dir(h, domid, path, sizeof(path)) == 0)
		rmdir(path);
}

static int dom_listen(struct hyp_dom *d)
{
	struct sim_hyp *h = d->hyp;
	char path[512];
	int rc;

	if (d->domid && dom_dir(h, d->domid, path, sizeof(path)) == 0 &&
	    mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	rc = xnx_sim_hyp_path(d->domid, path, sizeof(path));
	if (rc < 0)
		return rc;
	d->listen_fd = listen_on(path);
	if (d->listen_fd < 0)
		return d->listen_fd;
	rc = sim_loop_add(h->loop, d->listen_fd, EPOLLIN, on_listen, d);
	if (rc < 0)
		return rc;
	rc = xnx_sim_store_path(d->domid, path, sizeof(path));
	if (rc == 0)
		rc = sim_store_listen(h->st, d->domid, path);
	if (rc == -ENOSYS)		/* no xenstore half in this build */
		rc = 0;
	return rc;
}

static int dom_new(struct sim_hyp *h, uint32_t domid, const char *name,
		   uint32_t flags, struct hyp_dom **out)
{
	struct hyp_dom *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	*d = (struct hyp_dom){ .hyp = h, .domid = (uint16_t)domid, .flags = flags,
			       .listen_fd = -1, .arena_fd = -1, .arena_ro_fd = -1,
			       .gt_fd = -1, .gens_fd = -1, .gens_ro_fd = -1 };
	snprintf(d->name, sizeof(d->name), "%s", name);
	rc = dom_memory(d);
	if (rc == 0)
		rc = dom_listen(d);
	if (rc < 0) {
		/* Remove only what this daemon created: the sockets may be
		 * another daemon's. */
		bool ours = d->listen_fd >= 0;
		dom_free(d);
		if (ours)
			dom_unlink(h, domid);
		return rc;
	}
	h->doms[domid] = d;
	h->ndoms++;
	rc = sim_store_domain_introduce(h->st, domid, d->name);
	if (rc < 0 && rc != -ENOSYS)
		xnx_warn("dom%u: xenstore introduce failed: %s", domid, strerror(-rc));
	xnx_info("dom%u '%s' created%s", domid, d->name,
		 (flags & XNX_SIM_DOM_DRIVER) ? " (driver domain)" : "");
	*out = d;
	return 0;
}

/* Revoke everything D granted or bound, disconnect its clients, tell the
 * store, and forget it. Peers keep their existing mappings (the memory
 * lives until they unmap), but no new map or copy of its grants works. */
static void dom_destroy(struct hyp_dom *d)
{
	struct sim_hyp *h = d->hyp;
	unsigned domid = d->domid;
	int rc;

	__atomic_store_n(&d->gt.hdr->dead, 1, __ATOMIC_RELEASE);
	hyp_evt_close_ports(d, NULL);
	while (d->conns)
		conn_close(d->conns);
	rc = sim_store_domain_release(h->st, domid);
	if (rc < 0 && rc != -ENOSYS)
		xnx_warn("dom%u: xenstore release failed: %s", domid, strerror(-rc));
	h->doms[domid] = NULL;
	h->ndoms--;
	dom_free(d);
	dom_unlink(h, domid);
	xnx_info("dom%u destroyed", domid);
}

static bool name_ok(const char *name)
{
	size_t n = strnlen(name, XNX_SIM_NAME_MAX);

	if (n == 0 || n == XNX_SIM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~' || name[i] == '/')
			return false;
	return true;
}

static struct hyp_dom *dom_by_name(struct sim_hyp *h, const char *name)
{
	for (unsigned i = 0; i < DOMID_FIRST_RESERVED; i++)
		if (h->doms[i] && strcmp(h->doms[i]->name, name) == 0)
			return h->doms[i];
	return NULL;
}

static void dom_info(const struct hyp_dom *d, struct xnx_sim_domain *out)
{
	memset(out, 0, sizeof(*out));
	out->domid = d->domid;
	out->flags = d->flags;
	snprintf(out->name, sizeof(out->name), "%s", d->name);
}

static int op_dom_create(struct hyp_conn *c, const struct xnx_simproto_req *req,
			 struct hyp_rsp *rsp)
{
	struct sim_hyp *h = c->hyp;
	struct hyp_dom *d;
	int rc;

	if (!name_ok(req->name) || (req->arg[0] & ~XNX_SIM_DOM_DRIVER))
		return -EINVAL;
	if (dom_by_name(h, req->name))
		return -EEXIST;
	if (h->ndoms >= XNX_SIM_MAX_DOMAINS || h->next_domid >= DOMID_FIRST_RESERVED)
		return -ENOSPC;
	rc = dom_new(h, h->next_domid, req->name, req->arg[0], &d);
	if (rc < 0)
		return rc;
	h->next_domid++;
	rsp->r->val[0] = d->domid;
	return 0;
}

static int op_dom_destroy(struct hyp_conn *c, const struct xnx_simproto_req *req,
			  struct hyp_rsp *rsp)
{
	struct hyp_dom *d = hyp_dom_get(c->hyp, req->arg[0]);

	if (!d)
		return -ENOENT;
	if (d->domid == 0)
		return -EPERM;
	dom_destroy(d);
	return 0;
}

static int op_dom_lookup(struct hyp_conn *c, const struct xnx_simproto_req *req,
			 struct hyp_rsp *rsp)
{
	struct hyp_dom *d;

	if (strnlen(req->name, XNX_SIM_NAME_MAX) == XNX_SIM_NAME_MAX)
		return -EINVAL;
	d = dom_by_name(c->hyp, req->name);
	if (!d)
		return -ENOENT;
	dom_info(d, (struct xnx_sim_domain *)rsp->r->data);
	rsp->r->len = sizeof(struct xnx_sim_domain);
	return 0;
}

static int op_dom_list(struct hyp_conn *c, const struct xnx_simproto_req *req,
		       struct hyp_rsp *rsp)
{
	struct xnx_sim_domain *out = (struct xnx_sim_domain *)rsp->r->data;
	uint32_t n = 0;

	for (unsigned i = 0; i < DOMID_FIRST_RESERVED && n < XNX_SIM_MAX_DOMAINS; i++)
		if (c->hyp->doms[i])
			dom_info(c->hyp->doms[i], &out[n++]);
	rsp->r->len = n * sizeof(*out);
	return 0;
}

static int op_whoami(struct hyp_conn *c, const struct xnx_simproto_req *req,
		     struct hyp_rsp *rsp)
{
	rsp->r->val[0] = c->dom->domid;
	rsp->r->val[1] = c->dom->flags;
	return 0;
}

/* ---- connections ------------------------------------------------------- */

typedef int (*op_fn)(struct hyp_conn *c, const struct xnx_simproto_req *req,
		     struct hyp_rsp *rsp);

static const struct {
	op_fn fn;
	bool control;			/* domain 0's socket only */
} ops[XNX_SIMOP_MAX] = {
	[XNX_SIMOP_WHOAMI] = { op_whoami, false },
	[XNX_SIMOP_DOM_CREATE] = { op_dom_create, true },
	[XNX_SIMOP_DOM_DESTROY] = { op_dom_destroy, true },
	[XNX_SIMOP_DOM_LOOKUP] = { op_dom_lookup, true },
	[XNX_SIMOP_DOM_LIST] = { op_dom_list, true },
	[XNX_SIMOP_GNT_ATTACH] = { hyp_gnt_attach, false },
	[XNX_SIMOP_GNT_MAP] = { hyp_gnt_map, false },
	[XNX_SIMOP_GNT_UNMAP] = { hyp_gnt_unmap, false },
	[XNX_SIMOP_GNT_SHARE] = { hyp_gnt_share, false },
	[XNX_SIMOP_GNT_UNSHARE] = { hyp_gnt_unshare, false },
	[XNX_SIMOP_EVT_OPEN] = { hyp_evt_open, false },
	[XNX_SIMOP_EVT_ALLOC_UNBOUND] = { hyp_evt_alloc_unbound, false },
	[XNX_SIMOP_EVT_BIND_INTERDOMAIN] = { hyp_evt_bind_interdomain, false },
	[XNX_SIMOP_EVT_PEER] = { hyp_evt_peer, false },
	[XNX_SIMOP_EVT_UNBIND] = { hyp_evt_unbind, false },
	[XNX_SIMOP_EVT_STATUS] = { hyp_evt_status, false },
};

static void conn_close(struct hyp_conn *c)
{
	struct hyp_dom *d = c->dom;

	hyp_evt_close_ports(d, c);
	hyp_evt_conn_gone(c);
	hyp_gnt_conn_gone(c);
	for (struct hyp_conn **pp = &d->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			d->nconns--;
			break;
		}
	}
	sim_loop_del(c->hyp->loop, c->fd);
	close(c->fd);
	free(c);
}

/* Size checks of a request of N bytes; 0 or -EPROTO. */
static int req_check(const struct xnx_simproto_req *req, size_t n)
{
	if (n < sizeof(*req) || (n - sizeof(*req)) % sizeof(uint32_t) ||
	    req->count != (n - sizeof(*req)) / sizeof(uint32_t) ||
	    req->op == 0 || req->op >= XNX_SIMOP_MAX)
		return -EPROTO;
	return 0;
}

static int dispatch(struct hyp_conn *c, const struct xnx_simproto_req *req,
		    size_t n, struct hyp_rsp *rsp)
{
	int rc = req_check(req, n);

	if (rc < 0) {
		hyp_log(c->hyp, "dom%u: malformed request (%zu bytes, op %u)",
			c->dom->domid, n, n >= sizeof(uint32_t) ? req->op : 0);
		return rc;
	}
	if (ops[req->op].control && c->dom->domid != 0)
		return -EPERM;
	return ops[req->op].fn(c, req, rsp);
}

static void on_conn(int fd, uint32_t events, void *arg)
{
	struct hyp_conn *c = arg;
	struct sim_hyp *h = c->hyp;
	uint8_t rspbuf[XNX_SIMPROTO_MSG_MAX];
	struct hyp_rsp rsp = { .r = (struct xnx_simproto_rsp *)rspbuf, .tmp_fd = { -1, -1 } };
	ssize_t n;

	n = recv(fd, h->buf, sizeof(h->buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);		/* the client went away: release all */
		return;
	}
	memset(rsp.r, 0, sizeof(*rsp.r));
	if ((size_t)n > sizeof(h->buf))
		rsp.r->err = -EMSGSIZE;
	else
		rsp.r->err = dispatch(c, (struct xnx_simproto_req *)h->buf, (size_t)n, &rsp);
	if (rsp.r->err < 0) {
		rsp.r->len = 0;
		rsp.nfds = 0;
	}
	send_rsp(c, &rsp);
	for (int i = 0; i < 2; i++)
		if (rsp.tmp_fd[i] >= 0)
			close(rsp.tmp_fd[i]);
}

static void on_listen(int fd, uint32_t events, void *arg)
{
	struct hyp_dom *d = arg;
	struct hyp_conn *c;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0 && (errno == EMFILE || errno == ENFILE)) {
		/* The pending connection would wake us again at once: stop
		 * listening until the timer looks again. */
		hyp_log(d->hyp, "dom%u: out of descriptors, not accepting for now", d->domid);
		sim_loop_mod(d->hyp->loop, fd, 0);
		d->listen_paused = true;
		return;
	}
	if (cfd < 0)
		return;
	if (!hyp_privileged(d) && d->nconns >= XNX_SIM_MAX_CONNS_GUEST) {
		hyp_log(d->hyp, "dom%u: more than %u handles open, refusing one",
			d->domid, XNX_SIM_MAX_CONNS_GUEST);
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || sim_loop_add(d->hyp->loop, cfd, EPOLLIN, on_conn, c) < 0) {
		xnx_warn("dom%u: cannot accept a client", d->domid);
		free(c);
		close(cfd);
		return;
	}
	*c = (struct hyp_conn){ .next = d->conns, .hyp = d->hyp, .dom = d, .fd = cfd,
				.next_map_id = 1, .journal_fd = -1, .wake_w = -1, .wake_r = -1 };
	d->conns = c;
	d->nconns++;
}

static void on_timer(int fd, uint32_t events, void *arg)
{
	struct sim_hyp *h = arg;
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	hyp_evt_tick(h, false);
	for (unsigned i = 0; i < DOMID_FIRST_RESERVED; i++) {
		struct hyp_dom *d = h->doms[i];

		if (d && d->norphans)
			hyp_gnt_retry_orphans(d);
		if (d && d->listen_paused) {
			d->listen_paused = false;
			sim_loop_mod(h->loop, d->listen_fd, EPOLLIN);
		}
	}
}

static int timer_start(struct sim_hyp *h)
{
	struct itimerspec its = { .it_interval = { ORPHAN_RETRY_SEC, 0 },
				  .it_value = { ORPHAN_RETRY_SEC, 0 } };

	h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (h->timer_fd < 0 || timerfd_settime(h->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	return sim_loop_add(h->loop, h->timer_fd, EPOLLIN, on_timer, h);
}

struct sim_hyp *sim_hyp_new(struct sim_loop *loop, struct sim_store *st,
			    const char *dir)
{
	struct sim_hyp *h = calloc(1, sizeof(*h));
	struct hyp_dom *d0;
	int rc;

	if (!h)
		return NULL;
	h->loop = loop;
	h->st = st;
	h->timer_fd = -1;
	h->next_domid = 1;
	h->rl = (struct xnx_ratelimit)XNX_RATELIMIT_INIT(20, 5);
	if (snprintf(h->dir, sizeof(h->dir), "%s", dir) >= (int)sizeof(h->dir)) {
		rc = -ENAMETOOLONG;
		goto err;
	}
	rc = timer_start(h);
	if (rc == 0)
		rc = dom_new(h, 0, "Domain-0", 0, &d0);
	if (rc == 0)
		return h;
err:
	if (h->timer_fd >= 0) {
		sim_loop_del(loop, h->timer_fd);
		close(h->timer_fd);
	}
	free(h);
	errno = -rc;
	return NULL;
}

void sim_hyp_free(struct sim_hyp *h)
{
	if (!h)
		return;
	for (unsigned i = DOMID_FIRST_RESERVED; i-- > 1;)
		if (h->doms[i])
			dom_destroy(h->doms[i]);
	if (h->doms[0]) {
		struct hyp_dom *d0 = h->doms[0];
		__atomic_store_n(&d0->gt.hdr->dead, 1, __ATOMIC_RELEASE);
		hyp_evt_close_ports(d0, NULL);
		while (d0->conns)
			conn_close(d0->conns);
		dom_free(d0);
		dom_unlink(h, 0);
	}
	hyp_evt_tick(h, true);
	free(h->linger);
	sim_loop_del(h->loop, h->timer_fd);
	close(h->timer_fd);
	free(h);
}
