/*
 * store_tree.c — the xenstore tree of xnet-simd: nodes in a hash table by
 * canonical path, Xen's permission rules, path canonicalisation, and the
 * create/modify/remove operations, done either on the tree or inside a
 * transaction's shadow copy (struct st_view).
 *
 * Semantics are C xenstored's: a new node inherits its parent's
 * permissions, and an unprivileged creator becomes its owner; creating
 * needs write permission on the nearest existing ancestor; a failed lookup
 * says ENOENT only to a caller who may read the nearest existing ancestor
 * (EACCES otherwise), so no one learns about nodes they cannot see.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xnx_log.h"

/* ---- allocation --------------------------------------------------------- */

static void *oom(void)
{
	xnx_err("xenstore: out of memory");
	abort();
}

void *st_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	return p ? p : oom();
}

void *st_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	return p ? p : oom();
}

void *st_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	return q ? q : oom();
}

char *st_xstrdup(const char *s)
{
	char *p = strdup(s);

	return p ? p : oom();
}

/* ---- hash table --------------------------------------------------------- */

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return (size_t)h;
}

void st_table_init(struct st_table *t)
{
	t->nb = 256;
	t->count = 0;
	t->b = st_xcalloc(t->nb, sizeof(*t->b));
}

void st_table_free(struct st_table *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct st_node *n = t->b[i];

		while (n) {
			struct st_node *next = n->hnext;
			st_node_free(n);
			n = next;
		}
	}
	free(t->b);
	t->b = NULL;
	t->nb = t->count = 0;
}

struct st_node *st_table_get(const struct st_table *t, const char *path)
{
	for (struct st_node *n = t->b[hash(path) & (t->nb - 1)]; n; n = n->hnext)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static void grow(struct st_table *t)
{
	size_t nb = t->nb * 2;
	struct st_node **b = st_xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < t->nb; i++) {
		struct st_node *n = t->b[i];

		while (n) {
			struct st_node *next = n->hnext;
			size_t k = hash(n->path) & (nb - 1);

			n->hnext = b[k];
			b[k] = n;
			n = next;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

void st_table_put(struct st_table *t, struct st_node *n)
{
	size_t k;

	if (t->count >= t->nb)
		grow(t);
	k = hash(n->path) & (t->nb - 1);
	n->hnext = t->b[k];
	t->b[k] = n;
	t->count++;
}

struct st_node *st_table_take(struct st_table *t, const char *path)
{
	struct st_node **p = &t->b[hash(path) & (t->nb - 1)];

	for (; *p; p = &(*p)->hnext) {
		if (strcmp((*p)->path, path) == 0) {
			struct st_node *n = *p;

			*p = n->hnext;
			n->hnext = NULL;
			t->count--;
			return n;
		}
	}
	return NULL;
}

/* ---- nodes -------------------------------------------------------------- */

struct st_node *st_node_new(const char *path)
{
	struct st_node *n = st_xcalloc(1, sizeof(*n));

	n->path = st_xstrdup(path);
	n->exists = true;
	return n;
}

static void free_content(struct st_node *n)
{
	for (unsigned i = 0; i < n->nkids; i++)
		free(n->kids[i]);
	free(n->kids);
	free(n->value);
	free(n->perm);
	n->kids = NULL;
	n->nkids = n->kcap = 0;
	n->value = NULL;
	n->vlen = 0;
	n->perm = NULL;
	n->nperm = 0;
}

void st_node_free(struct st_node *n)
{
	if (!n)
		return;
	free_content(n);
	free(n->path);
	free(n);
}

void st_node_set_value(struct st_node *n, const char *v, unsigned len)
{
	free(n->value);
	n->value = NULL;
	n->vlen = len;
	if (len) {
		n->value = st_xmalloc(len);
		memcpy(n->value, v, len);
	}
}

void st_node_set_perms(struct st_node *n, const struct xs_permissions *p,
		       unsigned np)
{
	free(n->perm);
	n->perm = st_xmalloc(np * sizeof(*p));
	memcpy(n->perm, p, np * sizeof(*p));
	n->nperm = np;
}

void st_node_add_kid(struct st_node *n, const char *base)
{
	if (n->nkids == n->kcap) {
		n->kcap = n->kcap ? n->kcap * 2 : 4;
		n->kids = st_xrealloc(n->kids, n->kcap * sizeof(*n->kids));
	}
	n->kids[n->nkids++] = st_xstrdup(base);
}

void st_node_del_kid(struct st_node *n, const char *base)
{
	unsigned i = n->nkids;

	/* Search from both ends: children tend to go oldest or newest
	 * first, and the order of the rest must stay creation order. */
	for (unsigned lo = 0, hi = n->nkids; lo < hi; lo++, hi--) {
		if (strcmp(n->kids[lo], base) == 0) {
			i = lo;
			break;
		}
		if (strcmp(n->kids[hi - 1], base) == 0) {
			i = hi - 1;
			break;
		}
	}
	if (i == n->nkids)
		return;
	free(n->kids[i]);
	memmove(&n->kids[i], &n->kids[i + 1], (n->nkids - i - 1) * sizeof(*n->kids));
	n->nkids--;
}

struct st_node *st_node_dup(const struct st_node *n)
{
	struct st_node *d = st_node_new(n->path);

	st_node_set_value(d, n->value, n->vlen);
	st_node_set_perms(d, n->perm, n->nperm);
	d->kids = st_xmalloc((n->nkids ? n->nkids : 1) * sizeof(*d->kids));
	d->kcap = n->nkids ? n->nkids : 1;
	for (unsigned i = 0; i < n->nkids; i++)
		d->kids[i] = st_xstrdup(n->kids[i]);
	d->nkids = n->nkids;
	d->gen = n->gen;
	return d;
}

/* ---- paths and permissions --------------------------------------------- */

unsigned st_perm_for(struct sim_store *st, unsigned domid,
		     const struct xs_permissions *p, unsigned np)
{
	const unsigned mask = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
	const struct st_domain *d = domid ? st_domain_find(st, domid) : NULL;
	unsigned target = d && d->has_target ? d->target : domid;

	if (domid == 0 || (np && (p[0].id == domid || p[0].id == target)))
		return mask;
	for (unsigned i = 1; i < np; i++)
		if (!(p[i].perms & XS_PERM_IGNORE) &&
		    (p[i].id == domid || p[i].id == target))
			return p[i].perms & mask;
	return np ? p[0].perms & mask : 0;
}

static bool valid_chars(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-/_@") == strlen(s);
}

/* Length of PATH below a "/local/domain/<n>/" prefix (xenstored limits
 * that part for guests). */
static size_t local_len(const char *path)
{
	unsigned d;
	int off = 0;

	if (sscanf(path, "/local/domain/%5u/%n", &d, &off) == 1 && off > 0)
		return strlen(path) - (size_t)off;
	return strlen(path);
}

int st_canonical(unsigned domid, const char *path, bool special, char **out)
{
	char *name;
	size_t len;

	*out = NULL;
	if (!path || !valid_chars(path) || (path[0] == '@' && !special))
		return EINVAL;
	if (path[0] != '/' && path[0] != '@') {
		if (asprintf(&name, "/local/domain/%u/%s", domid, path) < 0)
			oom();
	} else {
		name = st_xstrdup(path);
	}
	len = strlen(name);
	if ((len > 1 && name[len - 1] == '/') || strstr(name, "//") ||
	    len > XENSTORE_ABS_PATH_MAX ||
	    (domid != 0 && local_len(name) > XENSTORE_REL_PATH_MAX)) {
		free(name);
		return EINVAL;
	}
	*out = name;
	return 0;
}

char *st_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *p;

	if (!slash || slash == path)
		return st_xstrdup("/");
	p = st_xmalloc((size_t)(slash - path) + 1);
	memcpy(p, path, (size_t)(slash - path));
	p[slash - path] = '\0';
	return p;
}

const char *st_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

bool st_is_child(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return true;
	return strncmp(child, parent, len) == 0 &&
	       (child[len] == '/' || child[len] == '\0');
}

static char *child_path(const char *parent, const char *base)
{
	char *p;

	if (asprintf(&p, "%s/%s", strcmp(parent, "/") ? parent : "", base) < 0)
		oom();
	return p;
}

/* ---- views -------------------------------------------------------------- */

static bool view_priv(const struct st_view *v)
{
	return v->domid == 0;
}

const struct st_node *st_get(struct st_view *v, const char *path)
{
	struct st_node *n;

	if (!v->txn)
		return st_table_get(&v->st->tree, path);
	n = st_txn_node(v->st, v->txn, path);
	return n->exists ? n : NULL;
}

int st_access(struct st_view *v, const char *path, unsigned want,
	      const struct st_node **out)
{
	const struct st_node *n = st_get(v, path), *anc = NULL;
	int err = n ? EACCES : ENOENT;
	char *p;

	if (n && (st_perm_for(v->st, v->domid, n->perm, n->nperm) & want) == want) {
		*out = n;
		return 0;
	}
	*out = NULL;
	/* Not found or denied: tell only what the nearest ancestor allows. */
	p = st_parent(path);
	while (!(anc = st_get(v, p)) && strcmp(p, "/") != 0) {
		char *q = st_parent(p);
		free(p);
		p = q;
	}
	free(p);
	if (anc && (st_perm_for(v->st, v->domid, anc->perm, anc->nperm) & want))
		return err;
	return EACCES;
}

struct st_node *st_modify(struct st_view *v, const char *path)
{
	struct st_node *n;

	if (!v->txn) {
		n = st_table_get(&v->st->tree, path);
		if (n)
			n->gen = ++v->st->gen;
		return n;
	}
	n = st_txn_node(v->st, v->txn, path);
	if (!n->exists)
		return NULL;
	n->dirty = true;
	return n;
}

static unsigned owner_of(const struct st_node *n)
{
	return n->nperm ? n->perm[0].id : 0;
}

static void owned_add(struct sim_store *st, unsigned owner, int delta)
{
	if (owner <= ST_DOMID_MAX)
		st->owned[owner] += (unsigned)delta;
}

/* A new empty node at PATH under PARENT (already holding the new kid). */
static struct st_node *new_node(struct st_view *v, const char *path,
				const struct st_node *parent)
{
	struct st_node *n;

	if (v->txn) {
		n = st_txn_node(v->st, v->txn, path);
		n->exists = true;
		n->dirty = true;
	} else {
		n = st_node_new(path);
		n->gen = ++v->st->gen;
		st_table_put(&v->st->tree, n);
	}
	st_node_set_perms(n, parent->perm, parent->nperm);
	if (!view_priv(v) && n->nperm)
		n->perm[0].id = v->domid;
	if (!v->txn)
		owned_add(v->st, owner_of(n), 1);
	return n;
}

int st_create(struct st_view *v, const char *path, const char *value,
	      unsigned vlen)
{
	char **missing = NULL, *cur = st_xstrdup(path);
	unsigned nmissing = 0;
	struct st_node *n = NULL;
	int rc = 0;

	while (!st_get(v, cur)) {
		missing = st_xrealloc(missing, (nmissing + 1) * sizeof(*missing));
		missing[nmissing++] = cur;
		cur = st_parent(cur);
	}
	if (!view_priv(v) && v->domid <= ST_DOMID_MAX &&
	    v->st->owned[v->domid] + nmissing > v->st->quota.nodes) {
		rc = ENOSPC;
		goto out;
	}
	for (unsigned i = nmissing; i-- > 0;) {
		struct st_node *parent = st_modify(v, cur);

		st_node_add_kid(parent, st_basename(missing[i]));
		n = new_node(v, missing[i], parent);
		free(cur);
		cur = missing[i];
		missing[i] = NULL;
	}
	if (n)
		st_node_set_value(n, value, vlen);
out:
	for (unsigned i = 0; i < nmissing; i++)
		free(missing[i]);
	free(missing);
	free(cur);
	return rc;
}

void st_set_perms(struct st_view *v, struct st_node *n,
		  const struct xs_permissions *p, unsigned np)
{
	if (!v->txn)
		owned_add(v->st, owner_of(n), -1);
	st_node_set_perms(n, p, np);
	if (!v->txn)
		owned_add(v->st, owner_of(n), 1);
}

/* Remove PATH's subtree bottom-up; each node fires while still present
 * (the root of the removal for watches above it, the others exactly). */
static void remove_walk(struct st_view *v, const char *path, const char *root)
{
	const struct st_node *n = st_get(v, path);
	struct st_node *m;

	if (!n)
		return;
	/* Children first; N's kid list is not touched while we walk. */
	for (unsigned i = 0; i < n->nkids; i++) {
		char *c = child_path(path, n->kids[i]);

		remove_walk(v, c, root);
		free(c);
		n = st_get(v, path);	/* a shadow table may have grown */
	}
	st_changed(v, path, strcmp(path, root) != 0, n, NULL);
	if (v->txn) {
		m = st_txn_node(v->st, v->txn, path);
		free_content(m);
		m->exists = false;
		m->dirty = true;
		return;
	}
	m = st_table_take(&v->st->tree, path);
	owned_add(v->st, owner_of(m), -1);
	st_node_free(m);
}

int st_remove(struct st_view *v, const char *path)
{
	char *pp = st_parent(path);
	struct st_node *parent;

	remove_walk(v, path, path);
	parent = st_modify(v, pp);
	if (parent)
		st_node_del_kid(parent, st_basename(path));
	free(pp);
	return 0;
}

void st_changed(struct st_view *v, const char *path, bool exact,
		const struct st_node *node, const struct st_node *old)
{
	if (v->txn) {
		st_txn_queue(v->txn, path, exact, old ? old : node);
		return;
	}
	st_watch_fire(v->st, path, exact, node, old ? old->perm : NULL,
		      old ? old->nperm : 0);
}

void st_tree_apply(struct sim_store *st, struct st_node *s)
{
	struct st_node *n = st_table_get(&st->tree, s->path);

	if (!s->exists) {
		if (n) {
			st_table_take(&st->tree, s->path);
			owned_add(st, owner_of(n), -1);
			st_node_free(n);
		}
		return;
	}
	if (!n) {
		n = st_node_new(s->path);
		st_table_put(&st->tree, n);
	} else {
		owned_add(st, owner_of(n), -1);
		free_content(n);
	}
	/* Move the shadow's content into the tree. */
	n->value = s->value;
	n->vlen = s->vlen;
	n->perm = s->perm;
	n->nperm = s->nperm;
	n->kids = s->kids;
	n->nkids = s->nkids;
	n->kcap = s->kcap;
	s->value = NULL;
	s->perm = NULL;
	s->kids = NULL;
	s->vlen = s->nperm = s->nkids = s->kcap = 0;
	n->gen = ++st->gen;
	owned_add(st, owner_of(n), 1);
}
