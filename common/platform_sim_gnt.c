/*
 * platform_sim_gnt.c — the sim platform's grant tables: maps and unmaps
 * through xnet-simd, grant copy in-process over the peer's table and arena
 * (attached once), and sharing pages from this domain's arena.
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

#include "platform_sim.h"
#include "xnx_log.h"

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

/* Maps by address: a backend serving 100 vifs holds ~100 000 (one per
 * static grant), and a single list made each unmap a walk through them. */
#define MAP_BUCKETS 4096

struct sim_gnttab {
	struct xnx_gnttab base;
	struct xnx_simc_link link;
	struct mapping *maps[MAP_BUCKETS];
	/* Copy journal (xnx_simproto.h), from the first attach on. */
	struct xnx_simjournal *journal;
	/* Indexed by domid; filled once, read without the lock. */
	struct peer *peers[DOMID_FIRST_RESERVED];
};

xnx_gnttab *xnx_simc_gnttab_open(void)
{
	struct sim_gnttab *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_sim_ops;
	if (xnx_simc_link_open(&h->link) < 0) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	return &h->base;
}

static struct mapping **map_bucket(struct sim_gnttab *h, const void *start)
{
	return &h->maps[((uintptr_t)start / PAGE) % MAP_BUCKETS];
}

static void peer_free(struct peer *p)
{
	munmap(p->gt.arena, (size_t)p->gt.nr_pages * PAGE);
	munmap(p->gt_base, XNX_SIMGT_SIZE);
	free(p);
}

int xnx_simc_gnttab_close(xnx_gnttab *b)
{
	struct sim_gnttab *h = (struct sim_gnttab *)b;

	for (unsigned i = 0; i < MAP_BUCKETS; i++)
		while (h->maps[i]) {
			struct mapping *m = h->maps[i];

			h->maps[i] = m->next;
			munmap(m->start, (size_t)m->count * PAGE);
			free(m);
		}
	for (unsigned i = 0; i < DOMID_FIRST_RESERVED; i++)
		if (h->peers[i])
			peer_free(h->peers[i]);
	if (h->journal)
		munmap(h->journal, XNX_SIMJ_SIZE);
	xnx_simc_link_close(&h->link);
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
		rc = xnx_simc_call_simple(&h->link, XNX_SIMOP_GNT_ATTACH, domid, 0, &rsp, fds, 3);
		if (rc < 0) {
			*st = gntst_of(rc);
		} else {
			if (!h->journal && fds[2] >= 0)
				journal_map(h, fds[2]);
			p = fds[0] >= 0 && fds[1] >= 0 && h->journal ? peer_map(fds) : NULL;
			xnx_simc_close_fds(fds, 3);
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

int xnx_simc_grant_copy(xnx_gnttab *b, uint32_t count,
			  xengnttab_grant_copy_segment_t *segs)
{
	struct copy_ctx cx = { .h = (struct sim_gnttab *)b, .pair = -1,
			       .src = { .readonly = true }, .dst = { .readonly = false } };

	/* As Linux's gntdev: local-to-local copies are not grant copies. */
	for (uint32_t i = 0; i < count; i++)
		if (!(segs[i].flags & (GNTCOPY_source_gref | GNTCOPY_dest_gref)))
			return xnx_simc_fail(-EINVAL);
	for (uint32_t i = 0; i < count; i++)
		segs[i].status = (int16_t)copy_one(&cx, &segs[i]);
	side_release(&cx.src);
	side_release(&cx.dst);
	if (cx.pair >= 0)
		__atomic_store_n(&cx.h->journal->pair[cx.pair].owner, 0, __ATOMIC_RELEASE);
	return 0;
}

void *xnx_simc_map(xnx_gnttab *b, uint32_t count, uint32_t domid,
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
	req = xnx_simc_req_new(XNX_SIMOP_GNT_MAP, count);
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
	rc = xnx_simc_call(&h->link, req, rsp, rsp_max, &fd, 1);
	if (rc == 0 && (rsp->len != count * sizeof(uint32_t) || fd < 0))
		rc = -EPROTO;
	if (rc == 0) {
		addr = xnx_simc_map_frames(fd, rsp->data, count, prot);
		if (!addr) {
			struct xnx_simproto_rsp r2;
			rc = -errno;
			xnx_simc_call_simple(&h->link, XNX_SIMOP_GNT_UNMAP, rsp->val[2], 0, &r2, NULL, 0);
		}
	}
	if (addr) {
		struct mapping **head = map_bucket(h, addr);

		*m = (struct mapping){ .next = *head, .start = addr, .count = count,
				       .id = rsp->val[2] };
		*head = m;
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

int xnx_simc_unmap(xnx_gnttab *b, void *start, uint32_t count)
{
	struct sim_gnttab *h = (struct sim_gnttab *)b;
	struct xnx_simproto_rsp rsp;
	struct mapping **pp, *m = NULL;
	int rc;

	pthread_mutex_lock(&h->link.lock);
	for (pp = map_bucket(h, start); *pp; pp = &(*pp)->next) {
		if ((*pp)->start == start && (*pp)->count == count) {
			m = *pp;
			*pp = m->next;
			break;
		}
	}
	if (!m) {
		pthread_mutex_unlock(&h->link.lock);
		return xnx_simc_fail(-EINVAL);
	}
	/* Unmap before the pins drop, so the owner cannot reuse the page
	 * while it is still visible here. */
	munmap(m->start, (size_t)m->count * PAGE);
	rc = xnx_simc_call_simple(&h->link, XNX_SIMOP_GNT_UNMAP, m->id, 0, &rsp, NULL, 0);
	pthread_mutex_unlock(&h->link.lock);
	free(m);
	return rc < 0 ? xnx_simc_fail(rc) : 0;
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
	struct xnx_simc_link link;
	struct share *shares;
};

xnx_gntshr *xnx_simc_gntshr_open(void)
{
	struct sim_gntshr *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->base.ops = &xnx_platform_sim_ops;
	if (xnx_simc_link_open(&h->link) < 0) {
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

int xnx_simc_gntshr_close(xnx_gntshr *b)
{
	struct sim_gntshr *h = (struct sim_gntshr *)b;

	/* Closing the connection ends every grant of this handle (the daemon
	 * defers those still in use by a peer). */
	xnx_simc_link_close(&h->link);
	while (h->shares) {
		struct share *s = h->shares;
		h->shares = s->next;
		share_free(s);
	}
	free(h);
	return 0;
}

static int unshare_refs(struct xnx_simc_link *l, const uint32_t *refs, uint32_t count)
{
	struct xnx_simproto_req *req = xnx_simc_req_new(XNX_SIMOP_GNT_UNSHARE, count);
	struct xnx_simproto_rsp rsp;
	int rc;

	if (!req)
		return -ENOMEM;
	memcpy(req->data, refs, count * sizeof(uint32_t));
	rc = xnx_simc_call(l, req, &rsp, sizeof(rsp), NULL, 0);
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
	s->start = xnx_simc_map_frames(fd, frames, count, PROT_READ | PROT_WRITE);
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

void *xnx_simc_share(xnx_gntshr *b, uint32_t domid, int count, uint32_t *refs,
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
	rc = xnx_simc_call(&h->link, &req, rsp, rsp_max, &fd, 1);
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

int xnx_simc_unshare(xnx_gntshr *b, void *start, uint32_t count)
{
	struct sim_gntshr *h = (struct sim_gntshr *)b;
	struct share **link, *s;
	uint32_t first;
	int rc;

	if (count == 0)
		return xnx_simc_fail(-EINVAL);
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
	return rc < 0 ? xnx_simc_fail(rc) : 0;
}

