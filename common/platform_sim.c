/*
 * platform_sim.c — the sim platform: grant tables and event channels served
 * by xnet-simd (protocol in xnx_simproto.h). Setup calls (map, share, bind)
 * are one request to the daemon; the data path is not: grant copy runs in
 * this process over the peer's grant table and arena, mapped once, and an
 * event-channel notify is one eventfd write to the peer's handle.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform_ops.h"
#include "xnx_log.h"
#include "xnx_simproto.h"

#define PAGE XNX_SIM_PAGE_SIZE

/* ---- common ------------------------------------------------------------ */

/* The domain this process acts as: XNET_DOMID, strictly parsed. */
static int sim_self_domid(void)
{
	const char *v = getenv("XNET_DOMID");
	char *end;
	unsigned long id;

	if (!v || !*v)
		return 0;
	errno = 0;
	id = strtoul(v, &end, 10);
	if (*end || errno || id >= DOMID_FIRST_RESERVED || v[0] < '0' || v[0] > '9') {
		xnx_err("XNET_DOMID=%s: expected a domain id below %u", v,
			(unsigned)DOMID_FIRST_RESERVED);
		errno = EINVAL;
		return -1;
	}
	return (int)id;
}

/* A connection to our domain's hypervisor socket, one per handle. */
struct link {
	int fd;
	uint16_t domid;
	pthread_mutex_t lock;		/* one request at a time; handle state */
};

static int link_open(struct link *l)
{
	int dom = sim_self_domid();
	char path[256];

	if (dom < 0)
		return -1;
	l->fd = xnx_simproto_connect((unsigned)dom);
	if (l->fd < 0) {
		int e = -l->fd;
		xnx_sim_hyp_path((unsigned)dom, path, sizeof(path));
		xnx_err("platform sim: cannot reach xnet-simd for domain %d at %s: %s",
			dom, path, strerror(e));
		errno = e;
		return -1;
	}
	/* One round trip now, so a refused connection fails here. */
	struct xnx_simproto_req req = { .op = XNX_SIMOP_WHOAMI };
	struct xnx_simproto_rsp rsp;
	int rc = xnx_simproto_call(l->fd, &req, &rsp, sizeof(rsp), NULL, 0);
	if (rc == 0 && rsp.val[0] != (uint32_t)dom)
		rc = -EPROTO;
	if (rc < 0) {
		xnx_err("platform sim: xnet-simd refused a handle for domain %d: %s",
			dom, strerror(-rc));
		close(l->fd);
		errno = -rc;
		return -1;
	}
	l->domid = (uint16_t)dom;
	pthread_mutex_init(&l->lock, NULL);
	return 0;
}

static void link_close(struct link *l)
{
	close(l->fd);
	pthread_mutex_destroy(&l->lock);
}

/* A request with room for COUNT data words. */
static struct xnx_simproto_req *req_new(uint32_t op, uint32_t count)
{
	struct xnx_simproto_req *r = calloc(1, sizeof(*r) + count * sizeof(uint32_t));

	if (r) {
		r->op = op;
		r->count = count;
	}
	return r;
}

/* A round trip with LINK's lock held by the caller. 0 or -errno. */
static int call(struct link *l, const struct xnx_simproto_req *req,
		struct xnx_simproto_rsp *rsp, size_t rsp_max, int *fds, int nfds)
{
	return xnx_simproto_call(l->fd, req, rsp, rsp_max, fds, nfds);
}

/* Small requests without data and responses without data. */
static int call_simple(struct link *l, uint32_t op, uint32_t a0, uint32_t a1,
		       struct xnx_simproto_rsp *rsp, int *fds, int nfds)
{
	struct xnx_simproto_req req = { .op = op, .arg = { a0, a1 } };

	return call(l, &req, rsp, sizeof(*rsp), fds, nfds);
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Map FRAMES[0..COUNT) of the arena FD contiguously (runs of consecutive
 * frames in one mmap each). NULL with errno. */
static void *map_frames(int fd, const uint32_t *frames, uint32_t count, int prot)
{
	uint8_t *base = mmap(NULL, (size_t)count * PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	for (uint32_t i = 0; i < count;) {
		uint32_t run = 1;

		while (i + run < count && frames[i + run] == frames[i] + run)
			run++;
		if (mmap(base + (size_t)i * PAGE, (size_t)run * PAGE, prot,
			 MAP_SHARED | MAP_FIXED, fd, (off_t)frames[i] * PAGE) == MAP_FAILED) {
			int e = errno;
			munmap(base, (size_t)count * PAGE);
			errno = e;
			return NULL;
		}
		i += run;
	}
	return base;
}

/* errno for a failed map or share whose daemon status was GNTST. */
static int fail(int rc)
{
	errno = -rc;
	return -1;
}

/* ---- grant tables: mapping and copying ---------------------------------- */

/* Another domain's grant table and arena, attached for copying. */
struct peer {
	struct xnx_simgt gt;
	void *gt_base;
};

struct mapping {
	struct mapping *next;
	void *start;
	uint32_t count;
	uint32_t id;			/* the daemon's map id */
};

struct sim_gnttab {
	struct xnx_gnttab base;
	struct link link;
	struct mapping *maps;
	/* Copy journal (xnx_simproto.h), from the first attach on. */
	struct xnx_simjournal *journal;
	/* Indexed by domid; filled once, read without the lock. */
	struct peer *peers[DOMID_FIRST_RESERVED];
};

static xnx_gnttab *sim_gnttab_open(void)
{
	struct sim_gnttab *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_sim_ops;
	if (link_open(&h->link) < 0) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	return &h->base;
}

static void peer_free(struct peer *p)
{
	munmap(p->gt.arena, (size_t)p->gt.nr_pages * PAGE);
	munmap(p->gt_base, XNX_SIMGT_SIZE);
	free(p);
}

static int sim_gnttab_close(xnx_gnttab *b)
{
	struct sim_gnttab *h = (struct sim_gnttab *)b;

	while (h->maps) {
		struct mapping *m = h->maps;
		h->maps = m->next;
		munmap(m->start, (size_t)m->count * PAGE);
		free(m);
	}
	for (unsigned i = 0; i < DOMID_FIRST_RESERVED; i++)
		if (h->peers[i])
			peer_free(h->peers[i]);
	if (h->journal)
		munmap(h->journal, XNX_SIMJ_SIZE);
	link_close(&h->link);
	free(h);
	return 0;
}

/* GNTST code for a daemon error on attach or map. */
static int gntst_of(int err)
{
	switch (err) {
	case -EPERM: return GNTST_permission_denied;
	case -ESRCH: return GNTST_bad_domain;
	case -EINVAL: return GNTST_bad_gntref;
	default: return GNTST_general_error;
	}
}

static struct peer *peer_map(int fds[2])
{
	struct peer *p = calloc(1, sizeof(*p));
	void *gt = MAP_FAILED, *arena = MAP_FAILED;
	struct xnx_simgt_hdr hdr;

	if (!p || pread(fds[1], &hdr, sizeof(hdr), 0) != sizeof(hdr) ||
	    hdr.nr_pages > XNX_SIM_MAX_PAGES)
		goto err;
	gt = mmap(NULL, XNX_SIMGT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
	arena = mmap(NULL, (size_t)hdr.nr_pages * PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED, fds[0], 0);
	if (gt == MAP_FAILED || arena == MAP_FAILED ||
	    xnx_simgt_init(&p->gt, gt, arena) < 0 || p->gt.nr_pages != hdr.nr_pages)
		goto err;
	p->gt_base = gt;
	return p;
err:
	if (gt != MAP_FAILED)
		munmap(gt, XNX_SIMGT_SIZE);
	if (arena != MAP_FAILED)
		munmap(arena, (size_t)hdr.nr_pages * PAGE);
	free(p);
	return NULL;
}

static void journal_map(struct sim_gnttab *h, int fd)
{
	void *j = mmap(NULL, XNX_SIMJ_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	/* Published before any peer: a pin is only taken through a peer. */
	if (j != MAP_FAILED)
		__atomic_store_n(&h->journal, j, __ATOMIC_RELEASE);
}

/* The attached table of DOMID, attaching on first use; NULL with *ST set. */
static struct peer *peer_get(struct sim_gnttab *h, uint16_t domid, int *st)
{
	struct peer *p;
	struct xnx_simproto_rsp rsp;
	int fds[3], rc;

	if (domid == DOMID_SELF)
		domid = h->link.domid;
	if (domid >= DOMID_FIRST_RESERVED) {
		*st = GNTST_bad_domain;
		return NULL;
	}
	p = __atomic_load_n(&h->peers[domid], __ATOMIC_ACQUIRE);
	if (p)
		return p;
	pthread_mutex_lock(&h->link.lock);
	p = h->peers[domid];
	if (!p) {
		rc = call_simple(&h->link, XNX_SIMOP_GNT_ATTACH, domid, 0, &rsp, fds, 3);
		if (rc < 0) {
			*st = gntst_of(rc);
		} else {
			if (!h->journal && fds[2] >= 0)
				journal_map(h, fds[2]);
			p = fds[0] >= 0 && fds[1] >= 0 && h->journal ? peer_map(fds) : NULL;
			close_fds(fds, 3);
			if (!p)
				*st = GNTST_general_error;
			/* Pairs with the acquire load above. */
			__atomic_store_n(&h->peers[domid], p, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&h->link.lock);
	return p;
}

/* One side of a copy. A pinned grant stays pinned while the following
 * segments use the same one, as Xen keeps its copy buffers. */
struct side {
	struct peer *peer;		/* pinned grant's table, or NULL */
	uint32_t ref;
	uint8_t *page;			/* the pinned page in the peer's arena */
	bool readonly;
	struct xnx_simj_side *j;	/* its journal entry */
};

/* One copy call: its two sides and journal pair (claimed on first pin). */
struct copy_ctx {
	struct sim_gnttab *h;
	int pair;
	struct side src, dst;
};

static struct xnx_simj_side *journal_side(struct copy_ctx *cx, unsigned k)
{
	struct xnx_simjournal *jr = __atomic_load_n(&cx->h->journal, __ATOMIC_ACQUIRE);

	while (cx->pair < 0) {
		for (int i = 0; i < (int)XNX_SIMJ_PAIRS && cx->pair < 0; i++) {
			uint32_t free_ = 0;

			if (__atomic_compare_exchange_n(&jr->pair[i].owner, &free_, 1, 0,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				cx->pair = i;
		}
		if (cx->pair < 0)
			sched_yield();	/* more concurrent copies than pairs */
	}
	return &jr->pair[cx->pair].side[k];
}

static void side_release(struct side *s)
{
	if (s->peer)
		xnx_simgt_release(&s->peer->gt, s->ref, s->readonly, XNX_SIMGT_SPIN_CLIENT, s->j);
	s->peer = NULL;
}

/* Make S the grant REF of domain DOMID (pinning it unless it already is);
 * GNTST code. */
static int side_grant(struct copy_ctx *cx, struct side *s, uint16_t domid, uint32_t ref)
{
	struct peer *p;
	uint32_t frame;
	int st = GNTST_okay;

	p = peer_get(cx->h, domid, &st);
	if (!p)
		return st;
	if (s->peer == p && s->ref == ref)
		return GNTST_okay;
	side_release(s);
	s->j = journal_side(cx, s->readonly ? 0 : 1);
	st = xnx_simgt_acquire(&p->gt, ref, cx->h->link.domid, s->readonly,
			       XNX_SIMGT_SPIN_CLIENT, &frame, s->j);
	if (st != GNTST_okay)
		return st;
	s->peer = p;
	s->ref = ref;
	s->page = p->gt.arena + (size_t)frame * PAGE;
	return GNTST_okay;
}

/* One segment, checked in Xen's order: domains and grants (source, then
 * destination), then the bounds. */
static int copy_one(struct copy_ctx *cx, const xengnttab_grant_copy_segment_t *seg)
{
	bool sg = seg->flags & GNTCOPY_source_gref, dg = seg->flags & GNTCOPY_dest_gref;
	int rc = GNTST_okay;

	if (!sg)
		side_release(&cx->src);
	if (!dg)
		side_release(&cx->dst);
	if (sg)
		rc = side_grant(cx, &cx->src, seg->source.foreign.domid, seg->source.foreign.ref);
	if (rc == GNTST_okay && dg)
		rc = side_grant(cx, &cx->dst, seg->dest.foreign.domid, seg->dest.foreign.ref);
	if (rc == GNTST_okay &&
	    ((sg && seg->source.foreign.offset + seg->len > PAGE) ||
	     (dg && seg->dest.foreign.offset + seg->len > PAGE)))
		rc = GNTST_bad_copy_arg;
	if (rc != GNTST_okay) {
		side_release(&cx->src);
		side_release(&cx->dst);
		return rc;
	}
	memmove(dg ? cx->dst.page + seg->dest.foreign.offset : (uint8_t *)seg->dest.virt,
		sg ? cx->src.page + seg->source.foreign.offset : (uint8_t *)seg->source.virt,
		seg->len);
	return GNTST_okay;
}

static int sim_grant_copy(xnx_gnttab *b, uint32_t count,
			  xengnttab_grant_copy_segment_t *segs)
{
	struct copy_ctx cx = { .h = (struct sim_gnttab *)b, .pair = -1,
			       .src = { .readonly = true }, .dst = { .readonly = false } };

	/* As Linux's gntdev: local-to-local copies are not grant copies. */
	for (uint32_t i = 0; i < count; i++)
		if (!(segs[i].flags & (GNTCOPY_source_gref | GNTCOPY_dest_gref)))
			return fail(-EINVAL);
	for (uint32_t i = 0; i < count; i++)
		segs[i].status = (int16_t)copy_one(&cx, &segs[i]);
	side_release(&cx.src);
	side_release(&cx.dst);
	if (cx.pair >= 0)
		__atomic_store_n(&cx.h->journal->pair[cx.pair].owner, 0, __ATOMIC_RELEASE);
	return 0;
}

static void *sim_map(xnx_gnttab *b, uint32_t count, uint32_t domid,
		     const uint32_t *refs, int prot)
{
	struct sim_gnttab *h = (struct sim_gnttab *)b;
	size_t rsp_max = sizeof(struct xnx_simproto_rsp) + count * sizeof(uint32_t);
	struct xnx_simproto_req *req = NULL;
	struct xnx_simproto_rsp *rsp = NULL;
	struct mapping *m = NULL;
	bool rw = prot & PROT_WRITE;
	void *addr = NULL;
	int fd = -1, rc;

	if (count == 0 || count > XNX_SIM_MAX_BATCH || !(prot & PROT_READ) ||
	    (prot & ~(PROT_READ | PROT_WRITE))) {
		errno = EINVAL;
		return NULL;
	}
	req = req_new(XNX_SIMOP_GNT_MAP, count);
	rsp = malloc(rsp_max);
	m = calloc(1, sizeof(*m));
	if (!req || !rsp || !m) {
		rc = -ENOMEM;
		goto out;
	}
	req->arg[0] = domid;
	req->arg[1] = rw;
	memcpy(req->data, refs, count * sizeof(uint32_t));
	pthread_mutex_lock(&h->link.lock);
	rc = call(&h->link, req, rsp, rsp_max, &fd, 1);
	if (rc == 0 && (rsp->len != count * sizeof(uint32_t) || fd < 0))
		rc = -EPROTO;
	if (rc == 0) {
		addr = map_frames(fd, rsp->data, count, prot);
		if (!addr) {
			struct xnx_simproto_rsp r2;
			rc = -errno;
			call_simple(&h->link, XNX_SIMOP_GNT_UNMAP, rsp->val[2], 0, &r2, NULL, 0);
		}
	}
	if (addr) {
		*m = (struct mapping){ .next = h->maps, .start = addr, .count = count,
				       .id = rsp->val[2] };
		h->maps = m;
		m = NULL;
	}
	pthread_mutex_unlock(&h->link.lock);
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(rsp);
	free(m);
	if (rc < 0)
		errno = -rc;
	return addr;
}

static int sim_unmap(xnx_gnttab *b, void *start, uint32_t count)
{
	struct sim_gnttab *h = (struct sim_gnttab *)b;
	struct xnx_simproto_rsp rsp;
	struct mapping **pp, *m = NULL;
	int rc;

	pthread_mutex_lock(&h->link.lock);
	for (pp = &h->maps; *pp; pp = &(*pp)->next) {
		if ((*pp)->start == start && (*pp)->count == count) {
			m = *pp;
			*pp = m->next;
			break;
		}
	}
	if (!m) {
		pthread_mutex_unlock(&h->link.lock);
		return fail(-EINVAL);
	}
	/* Unmap before the pins drop, so the owner cannot reuse the page
	 * while it is still visible here. */
	munmap(m->start, (size_t)m->count * PAGE);
	rc = call_simple(&h->link, XNX_SIMOP_GNT_UNMAP, m->id, 0, &rsp, NULL, 0);
	pthread_mutex_unlock(&h->link.lock);
	free(m);
	return rc < 0 ? fail(rc) : 0;
}

/* ---- grant sharing ------------------------------------------------------ */

struct share {
	struct share *next;
	uint8_t *start;
	uint32_t count;
	uint32_t live;			/* pages not unshared yet */
	uint32_t *refs;			/* 0: unshared */
};

struct sim_gntshr {
	struct xnx_gntshr base;
	struct link link;
	struct share *shares;
};

static xnx_gntshr *sim_gntshr_open(void)
{
	struct sim_gntshr *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_sim_ops;
	if (link_open(&h->link) < 0) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	return &h->base;
}

static void share_free(struct share *s)
{
	for (uint32_t i = 0; i < s->count; i++)
		if (s->refs[i])
			munmap(s->start + (size_t)i * PAGE, PAGE);
	free(s->refs);
	free(s);
}

static int sim_gntshr_close(xnx_gntshr *b)
{
	struct sim_gntshr *h = (struct sim_gntshr *)b;

	/* Closing the connection ends every grant of this handle (the daemon
	 * defers those still in use by a peer). */
	link_close(&h->link);
	while (h->shares) {
		struct share *s = h->shares;
		h->shares = s->next;
		share_free(s);
	}
	free(h);
	return 0;
}

static int unshare_refs(struct link *l, const uint32_t *refs, uint32_t count)
{
	struct xnx_simproto_req *req = req_new(XNX_SIMOP_GNT_UNSHARE, count);
	struct xnx_simproto_rsp rsp;
	int rc;

	if (!req)
		return -ENOMEM;
	memcpy(req->data, refs, count * sizeof(uint32_t));
	rc = call(l, req, &rsp, sizeof(rsp), NULL, 0);
	free(req);
	return rc;
}

/* Map the pages the daemon allocated; fills REFS and the share record. */
static struct share *share_map(int fd, const uint32_t *pairs, uint32_t count,
			       uint32_t *refs)
{
	struct share *s = calloc(1, sizeof(*s));
	uint32_t *frames = malloc(count * sizeof(uint32_t));

	if (s)
		s->refs = malloc(count * sizeof(uint32_t));
	if (!s || !frames || !s->refs)
		goto err;
	for (uint32_t i = 0; i < count; i++) {
		refs[i] = s->refs[i] = pairs[2 * i];
		frames[i] = pairs[2 * i + 1];
	}
	s->start = map_frames(fd, frames, count, PROT_READ | PROT_WRITE);
	if (!s->start)
		goto err;
	s->count = s->live = count;
	free(frames);
	return s;
err:
	if (s)
		free(s->refs);
	free(s);
	free(frames);
	return NULL;
}

static void *sim_share(xnx_gntshr *b, uint32_t domid, int count, uint32_t *refs,
		       int writable)
{
	struct sim_gntshr *h = (struct sim_gntshr *)b;
	size_t rsp_max = sizeof(struct xnx_simproto_rsp) + 2 * (size_t)count * sizeof(uint32_t);
	struct xnx_simproto_req req = { .op = XNX_SIMOP_GNT_SHARE,
					.arg = { domid, !!writable, (uint32_t)count } };
	struct xnx_simproto_rsp *rsp;
	struct share *s = NULL;
	int fd = -1, rc;

	if (count <= 0 || (uint32_t)count > XNX_SIM_MAX_BATCH || !refs) {
		errno = EINVAL;
		return NULL;
	}
	rsp = malloc(rsp_max);
	if (!rsp)
		return NULL;
	pthread_mutex_lock(&h->link.lock);
	rc = call(&h->link, &req, rsp, rsp_max, &fd, 1);
	if (rc == 0 && (rsp->len != 2 * (uint32_t)count * sizeof(uint32_t) || fd < 0))
		rc = -EPROTO;
	if (rc == 0) {
		s = share_map(fd, rsp->data, (uint32_t)count, refs);
		if (!s) {
			rc = errno ? -errno : -ENOMEM;
			for (int i = 0; i < count; i++)
				refs[i] = rsp->data[2 * i];
			unshare_refs(&h->link, refs, (uint32_t)count);
		} else {
			s->next = h->shares;
			h->shares = s;
		}
	}
	pthread_mutex_unlock(&h->link.lock);
	if (fd >= 0)
		close(fd);
	free(rsp);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return s->start;
}

static struct share *share_find(struct sim_gntshr *h, uint8_t *p, uint32_t count,
				struct share ***link)
{
	for (struct share **pp = &h->shares; *pp; pp = &(*pp)->next) {
		struct share *s = *pp;

		if (p >= s->start && p < s->start + (size_t)s->count * PAGE) {
			size_t first = (size_t)(p - s->start);

			if (first % PAGE || first / PAGE + count > s->count)
				return NULL;
			*link = pp;
			return s;
		}
	}
	return NULL;
}

static int sim_unshare(xnx_gntshr *b, void *start, uint32_t count)
{
	struct sim_gntshr *h = (struct sim_gntshr *)b;
	struct share **link, *s;
	uint32_t first;
	int rc;

	if (count == 0)
		return fail(-EINVAL);
	pthread_mutex_lock(&h->link.lock);
	s = share_find(h, start, count, &link);
	first = s ? (uint32_t)(((uint8_t *)start - s->start) / PAGE) : 0;
	rc = s ? 0 : -EINVAL;
	for (uint32_t i = 0; rc == 0 && i < count; i++)
		if (!s->refs[first + i])
			rc = -EINVAL;
	if (rc == 0)
		rc = unshare_refs(&h->link, s->refs + first, count);
	if (rc == 0) {
		munmap(start, (size_t)count * PAGE);
		memset(s->refs + first, 0, count * sizeof(uint32_t));
		s->live -= count;
		if (s->live == 0) {
			*link = s->next;
			share_free(s);
		}
	}
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? fail(rc) : 0;
}

/* ---- event channels ------------------------------------------------------ */

/*
 * Each port has a datagram socket pair made by the daemon: we hold the
 * receiving end, in this handle's epoll set; the peer's notifier holds the
 * sending end. Every send and receive uses MSG_DONTWAIT, so a peer playing
 * with the flags of a shared descriptor can block nobody, and it can only
 * ever disturb its own channel. Self-wakes (unmask, events left over) go
 * through a private eventfd in the same epoll set.
 */

#define SELF_WAKE UINT64_MAX
#define DRAIN_BATCH 64
#define DRAIN_ROUNDS 16

/* A port bound through this handle. */
struct port {
	struct xnx_simchan *chan;	/* the channel page */
	unsigned me;			/* our end in chan->end[] */
	bool known;			/* gen/connected/peer_fd are current */
	bool connected;
	uint32_t gen;
	int wake_fd;			/* our receiving end, or -1 once hung up */
	int peer_fd;			/* the peer port's sending end, or -1 */
	uint32_t slot;			/* index in bound[] */
};

struct sim_evtchn {
	struct xnx_evtchn base;
	struct link link;
	int epfd;			/* what xnx_evtchn_fd returns */
	const uint32_t *gens;		/* the domain's port generations (ro) */
	int self_fd;			/* private eventfd for self-wakes */
	uint32_t nbound, scan;
	evtchn_port_t bound[XNX_SIM_MAX_PORTS];
	struct port *ports[XNX_SIM_MAX_PORTS];
};

static int epoll_add(int epfd, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int gens_map(struct sim_evtchn *h)
{
	struct xnx_simproto_rsp rsp;
	int fd = -1, rc;
	void *g;

	rc = call_simple(&h->link, XNX_SIMOP_EVT_OPEN, 0, 0, &rsp, &fd, 1);
	if (rc < 0)
		return rc;
	if (fd < 0)
		return -EPROTO;
	g = mmap(NULL, XNX_SIMGENS_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (g == MAP_FAILED)
		return -errno;
	h->gens = g;
	return 0;
}

static xnx_evtchn *sim_evtchn_open(void)
{
	struct sim_evtchn *h = calloc(1, sizeof(*h));
	int rc = -ENOMEM;

	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_sim_ops;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->self_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->epfd < 0 || h->self_fd < 0)
		rc = -errno;
	else
		rc = epoll_add(h->epfd, h->self_fd, SELF_WAKE);
	if (rc == 0 && link_open(&h->link) < 0)
		rc = -errno;
	else if (rc == 0 && (rc = gens_map(h)) < 0)
		link_close(&h->link);
	if (rc == 0)
		return &h->base;
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->self_fd >= 0)
		close(h->self_fd);
	free(h);
	errno = -rc;
	return NULL;
}

static void port_drop(struct sim_evtchn *h, evtchn_port_t port)
{
	struct port *p = h->ports[port];
	evtchn_port_t last = h->bound[--h->nbound];

	h->bound[p->slot] = last;
	h->ports[last]->slot = p->slot;
	h->ports[port] = NULL;
	munmap(p->chan, XNX_SIMCHAN_SIZE);
	if (p->wake_fd >= 0)
		close(p->wake_fd);	/* leaves the epoll set with it */
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	free(p);
}

static int sim_evtchn_close(xnx_evtchn *b)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;

	/* The daemon closes every port of this connection. */
	link_close(&h->link);
	while (h->nbound)
		port_drop(h, h->bound[h->nbound - 1]);
	close(h->epfd);
	close(h->self_fd);
	munmap((void *)h->gens, XNX_SIMGENS_SIZE);
	free(h);
	return 0;
}

static int sim_evtchn_fd(xnx_evtchn *b) { return ((struct sim_evtchn *)b)->epfd; }

static void self_wake(struct sim_evtchn *h)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is huge, we are readable anyway. */
	if (write(h->self_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		xnx_debug("evtchn: self wake: %s", strerror(errno));
}

static struct port *port_get(struct sim_evtchn *h, evtchn_port_t port)
{
	return port < XNX_SIM_MAX_PORTS ? h->ports[port] : NULL;
}

/* Learn who is at the other end now (the daemon bumped gen). */
static int refresh(struct sim_evtchn *h, evtchn_port_t port, struct port *p)
{
	struct xnx_simproto_rsp rsp;
	int fd = -1;
	int rc = call_simple(&h->link, XNX_SIMOP_EVT_PEER, port, 0, &rsp, &fd, 1);

	if (rc < 0)
		return rc;
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	p->peer_fd = fd;
	p->gen = rsp.val[0];
	p->connected = rsp.val[1] && fd >= 0;
	p->known = true;
	return 0;
}

static int sim_notify(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct port *p;
	int rc = 0;

	pthread_mutex_lock(&h->link.lock);
	p = port_get(h, port);
	if (!p) {
		rc = -ENOTCONN;
	} else {
		/* Acquire pairs with the daemon's release of gen after it
		 * rebinds the channel. */
		uint32_t gen = __atomic_load_n(&h->gens[port], __ATOMIC_ACQUIRE);

		if (!p->known || gen != p->gen)
			rc = refresh(h, port, p);
		if (rc == 0 && p->connected) {
			unsigned peer = 1 - p->me;
			/* Full barriers: pairs with sim_unmask's mask store and
			 * pending load, so one of the two wakes the peer. */
			if (!__atomic_exchange_n(&p->chan->end[peer].pending, 1, __ATOMIC_SEQ_CST) &&
			    !__atomic_load_n(&p->chan->end[peer].mask, __ATOMIC_SEQ_CST) &&
			    send(p->peer_fd, "!", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
			    errno != EAGAIN)
				xnx_debug("evtchn %u: wake-up: %s", port, strerror(errno));
		}
	}
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? fail(rc) : 0;
}

/* A new port from the daemon: val[0] port, val[1] our end, FDS the channel
 * page and our wake-up socket. */
static xenevtchn_port_or_error_t port_add(struct sim_evtchn *h,
					  const struct xnx_simproto_rsp *rsp, int fds[2])
{
	evtchn_port_t port = rsp->val[0];
	struct port *p = calloc(1, sizeof(*p));
	void *chan = MAP_FAILED;

	if (p && port > 0 && port < XNX_SIM_MAX_PORTS && !h->ports[port] && rsp->val[1] < 2)
		chan = mmap(NULL, XNX_SIMCHAN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	close(fds[0]);
	if (chan != MAP_FAILED && epoll_add(h->epfd, fds[1], port) < 0) {
		munmap(chan, XNX_SIMCHAN_SIZE);
		chan = MAP_FAILED;
	}
	if (chan == MAP_FAILED) {
		struct xnx_simproto_rsp r2;
		close(fds[1]);
		free(p);
		call_simple(&h->link, XNX_SIMOP_EVT_UNBIND, port, 0, &r2, NULL, 0);
		return fail(-EPROTO);
	}
	*p = (struct port){ .chan = chan, .me = rsp->val[1], .wake_fd = fds[1],
			    .peer_fd = -1, .slot = h->nbound };
	h->ports[port] = p;
	h->bound[h->nbound++] = port;
	return (xenevtchn_port_or_error_t)port;
}

static xenevtchn_port_or_error_t bind_common(struct sim_evtchn *h, uint32_t op,
					     uint32_t domid, uint32_t remote_port)
{
	struct xnx_simproto_rsp rsp;
	xenevtchn_port_or_error_t port;
	int fds[2], rc;

	pthread_mutex_lock(&h->link.lock);
	rc = call_simple(&h->link, op, domid, remote_port, &rsp, fds, 2);
	if (rc == 0 && (fds[0] < 0 || fds[1] < 0)) {
		close_fds(fds, 2);
		rc = -EPROTO;
	}
	port = rc < 0 ? fail(rc) : port_add(h, &rsp, fds);
	pthread_mutex_unlock(&h->link.lock);
	return port;
}

static xenevtchn_port_or_error_t sim_bind_unbound(xnx_evtchn *b, uint32_t domid)
{
	return bind_common((struct sim_evtchn *)b, XNX_SIMOP_EVT_ALLOC_UNBOUND, domid, 0);
}

static xenevtchn_port_or_error_t sim_bind_interdomain(xnx_evtchn *b, uint32_t domid,
						      evtchn_port_t remote_port)
{
	return bind_common((struct sim_evtchn *)b, XNX_SIMOP_EVT_BIND_INTERDOMAIN,
			   domid, remote_port);
}

static int sim_unbind(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct xnx_simproto_rsp rsp;
	int rc;

	pthread_mutex_lock(&h->link.lock);
	if (!port_get(h, port)) {
		rc = -ENOTCONN;
	} else {
		rc = call_simple(&h->link, XNX_SIMOP_EVT_UNBIND, port, 0, &rsp, NULL, 0);
		port_drop(h, port);
	}
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? fail(rc) : 0;
}

/* Empty a port's wake-up socket. A hang-up (every sending end closed or
 * shut down) would keep it readable for ever: take it out of the set; the
 * port's pending bit still counts. */
static void drain_port(struct sim_evtchn *h, struct port *p, uint32_t events)
{
	char buf[DRAIN_BATCH];
	struct iovec iov[DRAIN_BATCH];
	struct mmsghdr msgs[DRAIN_BATCH];
	int n;

	for (int i = 0; i < DRAIN_BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = &buf[i], .iov_len = 1 };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	/* Bounded: a peer flooding its channel costs us a few calls, then
	 * the rest waits for the next round. */
	for (int round = 0; round < DRAIN_ROUNDS; round++) {
		n = recvmmsg(p->wake_fd, msgs, DRAIN_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++)
			if (msgs[i].msg_len == 0)
				events |= EPOLLHUP;
		if (n < DRAIN_BATCH)
			break;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, p->wake_fd, NULL);
		close(p->wake_fd);
		p->wake_fd = -1;
	}
}

/* Empty every readable descriptor of the set, so the set polls readable
 * again only for what comes later. */
static void drain(struct sim_evtchn *h)
{
	struct epoll_event evs[DRAIN_BATCH];
	uint64_t v;
	int n = epoll_wait(h->epfd, evs, DRAIN_BATCH, 0);

	for (int i = 0; i < n; i++) {
		struct port *p;

		if (evs[i].data.u64 == SELF_WAKE) {
			if (read(h->self_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				xnx_debug("evtchn: self wake read: %s", strerror(errno));
		} else if ((p = port_get(h, (evtchn_port_t)evs[i].data.u64)) && p->wake_fd >= 0) {
			drain_port(h, p, evs[i].events);
		}
	}
	/* More than a batch was readable: look again next time. */
	if (n == DRAIN_BATCH)
		self_wake(h);
}

/* Take P's event if it is pending and unmasked: mask it, clear pending. */
static bool take_event(struct port *p)
{
	typeof(p->chan->end[0]) *e = &p->chan->end[p->me];

	if (!__atomic_load_n(&e->pending, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&e->mask, __ATOMIC_SEQ_CST))
		return false;
	/* Mask first: a notify between the two stores folds into this event;
	 * one after them stays pending behind the mask until unmask. */
	__atomic_store_n(&e->mask, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e->pending, 0, __ATOMIC_SEQ_CST);
	return true;
}

static bool has_event(const struct port *p)
{
	return __atomic_load_n(&p->chan->end[p->me].pending, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&p->chan->end[p->me].mask, __ATOMIC_SEQ_CST);
}

static xenevtchn_port_or_error_t sim_pending(xnx_evtchn *b)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	xenevtchn_port_or_error_t found = -1;
	bool more = false;

	pthread_mutex_lock(&h->link.lock);
	/* Drain first: any notify after this wakes the set again. */
	drain(h);
	for (uint32_t i = 0, start = h->scan; i < h->nbound; i++) {
		uint32_t k = (start + i) % h->nbound;
		struct port *p = h->ports[h->bound[k]];

		if (found < 0 && take_event(p)) {
			found = (xenevtchn_port_or_error_t)h->bound[k];
			h->scan = k + 1;
		} else if (found >= 0 && has_event(p)) {
			more = true;
			break;
		}
	}
	/* Others are still pending: keep the fd readable for them. */
	if (more)
		self_wake(h);
	pthread_mutex_unlock(&h->link.lock);
	if (found < 0)
		errno = EAGAIN;
	return found;
}

static int sim_unmask(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct port *p;

	pthread_mutex_lock(&h->link.lock);
	p = port_get(h, port);
	if (p) {
		typeof(p->chan->end[0]) *e = &p->chan->end[p->me];

		/* Pairs with sim_notify's exchange and mask load. */
		__atomic_store_n(&e->mask, 0, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&e->pending, __ATOMIC_SEQ_CST))
			self_wake(h);
	}
	pthread_mutex_unlock(&h->link.lock);
	/* Like Linux's evtchn device, a port not bound here is ignored. */
	return 0;
}

static int sim_status(xnx_evtchn *b, evtchn_port_t port)
{
	struct sim_evtchn *h = (struct sim_evtchn *)b;
	struct xnx_simproto_rsp rsp;
	int rc;

	pthread_mutex_lock(&h->link.lock);
	rc = call_simple(&h->link, XNX_SIMOP_EVT_STATUS, port, 0, &rsp, NULL, 0);
	pthread_mutex_unlock(&h->link.lock);
	return rc < 0 ? fail(rc) : (int)rsp.val[0];
}

const struct xnx_platform_ops xnx_platform_sim_ops = {
	.kind = XNX_PLATFORM_SIM,
	.name = "sim",
	.self_domid = sim_self_domid,
	.gnttab_open = sim_gnttab_open,
	.gnttab_close = sim_gnttab_close,
	.map_grant_refs = sim_map,
	.unmap = sim_unmap,
	.grant_copy = sim_grant_copy,
	.gntshr_open = sim_gntshr_open,
	.gntshr_close = sim_gntshr_close,
	.share_pages = sim_share,
	.unshare = sim_unshare,
	.evtchn_open = sim_evtchn_open,
	.evtchn_close = sim_evtchn_close,
	.evtchn_fd = sim_evtchn_fd,
	.notify = sim_notify,
	.bind_unbound_port = sim_bind_unbound,
	.bind_interdomain = sim_bind_interdomain,
	.unbind = sim_unbind,
	.pending = sim_pending,
	.unmask = sim_unmask,
	.status = sim_status,
};
