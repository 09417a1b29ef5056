/*
 * hyp_gnt.c — grant tables in xnet-simd: sharing pages (allocating arena
 * pages and grant entries), ending access (refused while a peer maps or
 * copies), maps on behalf of privileged clients (pins released when the
 * client unmaps or goes away), and handing a domain's table and arena to
 * the privileged clients that copy in-process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hyp_priv.h"

/* Maptrack limit: refs one connection may hold mapped at a time. */
#define MAX_MAPPED_PER_CONN (4u * XNX_SIM_MAX_REFS)

#define REF_MARK 0x80			/* ref_state: seen in this request */

static int map_errno(int st)
{
	switch (st) {
	case GNTST_bad_domain: return ESRCH;
	case GNTST_bad_gntref: return EINVAL;
	case GNTST_permission_denied: return EPERM;
	case GNTST_no_device_space: return ENOSPC;
	default: return EACCES;
	}
}

/* The connection's copy journal, made on its first attach. */
static int journal_get(struct hyp_conn *c)
{
	void *j;

	if (c->journal)
		return 0;
	c->journal_fd = memfd_create("xnet-journal", MFD_CLOEXEC);
	if (c->journal_fd < 0)
		return -errno;
	if (ftruncate(c->journal_fd, XNX_SIMJ_SIZE) < 0 ||
	    (j = mmap(NULL, XNX_SIMJ_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		      c->journal_fd, 0)) == MAP_FAILED) {
		int e = errno;
		close(c->journal_fd);
		c->journal_fd = -1;
		return -e;
	}
	c->journal = j;
	return 0;
}

/* The client is gone: give back the pins its copies held. */
static void journal_recover(struct hyp_conn *c)
{
	if (!c->journal)
		return;
	for (unsigned i = 0; i < XNX_SIMJ_PAIRS; i++) {
		for (unsigned k = 0; k < 2; k++) {
			const struct xnx_simj_side *j = &c->journal->pair[i].side[k];
			struct hyp_dom *d;

			if (!j->active && !j->committed)
				continue;
			d = hyp_dom_get(c->hyp, j->domid);
			if (d) {
				xnx_simgt_recover(&d->gt, j);
				if (d->norphans)
					hyp_gnt_retry_orphans(d);
			}
		}
	}
	munmap(c->journal, XNX_SIMJ_SIZE);
	close(c->journal_fd);
	c->journal = NULL;
}

int hyp_gnt_attach(struct hyp_conn *c, const struct xnx_simproto_req *req,
		   struct hyp_rsp *rsp)
{
	int rc;

	struct hyp_dom *d = hyp_dom_get(c->hyp, req->arg[0]);

	/* The table holds the pin words and locks: never for a guest, not
	 * even its own, or it could wedge its backend's copies. */
	if (!d)
		return -ESRCH;
	if (!hyp_privileged(c->dom))
		return -EPERM;
	rc = journal_get(c);
	if (rc < 0)
		return rc;
	rsp->fds[0] = d->arena_fd;
	rsp->fds[1] = d->gt_fd;
	rsp->fds[2] = c->journal_fd;
	rsp->nfds = 3;
	return 0;
}

static void release_refs(struct hyp_dom *d, const uint32_t *refs, uint32_t n, bool rw)
{
	for (uint32_t i = 0; i < n; i++)
		xnx_simgt_release(&d->gt, refs[i], !rw, XNX_SIMGT_SPIN_DAEMON, NULL);
}

int hyp_gnt_map(struct hyp_conn *c, const struct xnx_simproto_req *req,
		struct hyp_rsp *rsp)
{
	struct hyp_dom *d = req->arg[0] == DOMID_SELF ? c->dom : hyp_dom_get(c->hyp, req->arg[0]);
	uint32_t n = req->count, *frames = rsp->r->data;
	bool rw = req->arg[1] != 0;
	struct hyp_map *m;
	int st = GNTST_okay;

	if (n == 0 || n > XNX_SIM_MAX_BATCH)
		return -EINVAL;
	if (!d)
		st = GNTST_bad_domain;
	else if (d != c->dom && !hyp_privileged(c->dom))
		st = GNTST_permission_denied;
	else if (c->mapped + n > MAX_MAPPED_PER_CONN)
		st = GNTST_no_device_space;
	for (uint32_t i = 0; st == GNTST_okay && i < n; i++) {
		st = xnx_simgt_acquire(&d->gt, req->data[i], c->dom->domid, !rw,
				       XNX_SIMGT_SPIN_DAEMON, &frames[i], NULL);
		if (st != GNTST_okay) {
			release_refs(d, req->data, i, rw);
			rsp->r->val[1] = i;
		}
	}
	rsp->r->val[0] = (uint32_t)st;
	if (st != GNTST_okay)
		return -map_errno(st);
	m = malloc(sizeof(*m) + n * sizeof(uint32_t));
	if (!m) {
		release_refs(d, req->data, n, rw);
		return -ENOMEM;
	}
	*m = (struct hyp_map){ .id = c->next_map_id++, .domid = d->domid,
			       .rw = rw, .count = n };
	memcpy(m->refs, req->data, n * sizeof(uint32_t));
	m->next = c->maps[m->id % HYP_MAP_BUCKETS];
	c->maps[m->id % HYP_MAP_BUCKETS] = m;
	c->mapped += n;
	rsp->r->val[2] = m->id;
	rsp->r->len = n * sizeof(uint32_t);
	rsp->fds[0] = rw ? d->arena_fd : d->arena_ro_fd;
	rsp->nfds = 1;
	return 0;
}

/* Drop map M of C (the client has already unmapped the memory). */
static void map_drop(struct hyp_conn *c, struct hyp_map *m)
{
	struct hyp_dom *d = hyp_dom_get(c->hyp, m->domid);

	/* A destroyed domain's table is gone: nothing left to unpin. */
	if (d) {
		release_refs(d, m->refs, m->count, m->rw);
		if (d->norphans)
			hyp_gnt_retry_orphans(d);
	}
	c->mapped -= m->count;
	free(m);
}

int hyp_gnt_unmap(struct hyp_conn *c, const struct xnx_simproto_req *req,
		  struct hyp_rsp *rsp)
{
	for (struct hyp_map **pp = &c->maps[req->arg[0] % HYP_MAP_BUCKETS]; *pp;
	     pp = &(*pp)->next) {
		struct hyp_map *m = *pp;

		if (m->id == req->arg[0]) {
			*pp = m->next;
			map_drop(c, m);
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- sharing ------------------------------------------------------------ */

static uint32_t alloc_ref(struct hyp_dom *d, uint32_t from)
{
	for (uint32_t r = from; r < XNX_SIM_MAX_REFS; r++)
		if (d->ref_state[r] == REF_FREE)
			return r;
	return 0;
}

/* Fill PAGES with N free page indexes, one run if there is one. */
static int alloc_pages(struct hyp_dom *d, uint32_t n, uint32_t *pages)
{
	uint32_t run = 0, k = 0;

	if (d->pages_free < n)
		return -ENOMEM;
	for (uint32_t p = 0; p < XNX_SIM_MAX_PAGES && run < n; p++) {
		run = d->page_used[p] ? 0 : run + 1;
		if (run == n) {
			for (uint32_t i = 0; i < n; i++)
				pages[i] = p + 1 - n + i;
			return 0;
		}
	}
	for (uint32_t p = 0; p < XNX_SIM_MAX_PAGES && k < n; p++)
		if (!d->page_used[p])
			pages[k++] = p;
	return 0;
}

/* Clear REF (locked, unused) and give its page back, zeroed. */
static void free_ref(struct hyp_dom *d, uint32_t ref)
{
	grant_entry_v1_t *e = &d->gt.entries[ref];
	uint32_t page = e->frame;

	__atomic_store_n(&e->flags, 0, __ATOMIC_RELEASE);
	e->domid = 0;
	e->frame = 0;
	if (page < XNX_SIM_MAX_PAGES && d->page_used[page]) {
		/* Punching the hole frees the memory and zeroes the page for
		 * its next user. */
		fallocate(d->arena_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  (off_t)page * XNX_SIM_PAGE_SIZE, XNX_SIM_PAGE_SIZE);
		d->page_used[page] = 0;
		d->pages_free++;
	}
	if (d->ref_state[ref] == REF_ORPHAN)
		d->norphans--;
	d->ref_state[ref] = REF_FREE;
	d->ref_owner[ref] = NULL;
}

static bool in_use(const struct hyp_dom *d, uint32_t ref, uint32_t pins)
{
	uint16_t flags = __atomic_load_n(&d->gt.entries[ref].flags, __ATOMIC_ACQUIRE);

	return pins || (flags & (GTF_reading | GTF_writing));
}

/* End access to REF if nobody maps or copies it: true if freed. */
static bool try_end(struct hyp_dom *d, uint32_t ref)
{
	uint32_t pins;
	bool busy;

	if (xnx_simgt_lock(&d->gt, ref, XNX_SIMGT_SPIN_DAEMON, &pins) < 0)
		return false;
	busy = in_use(d, ref, pins);
	if (!busy)
		free_ref(d, ref);
	xnx_simgt_unlock(&d->gt, ref, pins);
	return !busy;
}

int hyp_gnt_share(struct hyp_conn *c, const struct xnx_simproto_req *req,
		  struct hyp_rsp *rsp)
{
	struct hyp_dom *d = c->dom;
	uint32_t n = req->arg[2], *out = rsp->r->data;
	uint32_t pages[XNX_SIM_MAX_BATCH], ref = XNX_SIM_FIRST_REF;
	uint16_t flags = GTF_permit_access | (req->arg[1] ? 0 : GTF_readonly);

	if (n == 0 || n > XNX_SIM_MAX_BATCH || req->arg[0] >= DOMID_FIRST_RESERVED)
		return -EINVAL;
	if (d->norphans)
		hyp_gnt_retry_orphans(d);
	if (alloc_pages(d, n, pages) < 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++, ref++) {
		ref = alloc_ref(d, ref);
		if (!ref)
			return -ENOSPC;	/* nothing was written yet */
		out[2 * i] = ref;
	}
	for (uint32_t i = 0; i < n; i++) {
		grant_entry_v1_t *e = &d->gt.entries[out[2 * i]];

		e->frame = pages[i];
		e->domid = (domid_t)req->arg[0];
		/* Frame and domid before the flags that make them valid, as
		 * a guest's gnttab_grant_foreign_access does. */
		__atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);
		d->page_used[pages[i]] = 1;
		d->ref_state[out[2 * i]] = REF_USED;
		d->ref_owner[out[2 * i]] = c;
		out[2 * i + 1] = pages[i];
	}
	d->pages_free -= n;
	c->shared += n;
	rsp->r->len = 2 * n * sizeof(uint32_t);
	rsp->fds[0] = d->arena_fd;
	rsp->nfds = 1;
	return 0;
}

static void unlock_refs(struct hyp_dom *d, const uint32_t *refs, const uint32_t *pins,
			uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		xnx_simgt_unlock(&d->gt, refs[i], pins[i]);
}

/* Every ref is C's own, once. Marks are cleared before returning. */
static int check_owned(struct hyp_conn *c, const uint32_t *refs, uint32_t n)
{
	struct hyp_dom *d = c->dom;
	int rc = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		uint32_t r = refs[i];

		if (r >= XNX_SIM_MAX_REFS || d->ref_state[r] != REF_USED ||
		    d->ref_owner[r] != c) {
			rc = -EINVAL;
			break;
		}
		d->ref_state[r] |= REF_MARK;
	}
	while (i--)
		d->ref_state[refs[i]] &= (uint8_t)~REF_MARK;
	return rc;
}

int hyp_gnt_unshare(struct hyp_conn *c, const struct xnx_simproto_req *req,
		    struct hyp_rsp *rsp)
{
	struct hyp_dom *d = c->dom;
	uint32_t n = req->count, pins[XNX_SIM_MAX_BATCH], i;
	int rc = 0;

	if (n == 0 || n > XNX_SIM_MAX_BATCH)
		return -EINVAL;
	rc = check_owned(c, req->data, n);
	if (rc < 0)
		return rc;
	/* All or nothing: lock every entry, then look. */
	for (i = 0; i < n; i++) {
		if (xnx_simgt_lock(&d->gt, req->data[i], XNX_SIMGT_SPIN_DAEMON, &pins[i]) < 0) {
			rc = -EBUSY;
			break;
		}
		if (in_use(d, req->data[i], pins[i])) {
			i++;		/* this one is locked too */
			rc = -EBUSY;
			break;
		}
	}
	if (rc < 0) {
		unlock_refs(d, req->data, pins, i);
		return rc;
	}
	for (i = 0; i < n; i++)
		free_ref(d, req->data[i]);
	unlock_refs(d, req->data, pins, n);
	c->shared -= n;
	return 0;
}

void hyp_gnt_retry_orphans(struct hyp_dom *d)
{
	for (uint32_t r = XNX_SIM_FIRST_REF; r < XNX_SIM_MAX_REFS && d->norphans; r++)
		if (d->ref_state[r] == REF_ORPHAN)
			try_end(d, r);
}

void hyp_gnt_conn_gone(struct hyp_conn *c)
{
	struct hyp_dom *d = c->dom;

	journal_recover(c);
	for (unsigned b = 0; b < HYP_MAP_BUCKETS; b++)
		while (c->maps[b]) {
			struct hyp_map *m = c->maps[b];

			c->maps[b] = m->next;
			map_drop(c, m);
		}
	for (uint32_t r = XNX_SIM_FIRST_REF; c->shared && r < XNX_SIM_MAX_REFS; r++) {
		if (d->ref_owner[r] != c)
			continue;
		c->shared--;
		if (!try_end(d, r)) {
			/* Still mapped or copied by a peer: free it later,
			 * as Linux defers gnttab_end_foreign_access. */
			d->ref_state[r] = REF_ORPHAN;
			d->ref_owner[r] = NULL;
			d->norphans++;
		}
	}
}
