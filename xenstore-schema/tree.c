/*
 * tree.c — an in-memory copy of the store parts the checker reads: built
 * from a table by tests, or snapshotted from a live store in one read-only
 * transaction so the checker sees one consistent state.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "xsc_int.h"

#define NODES_MAX 200000	/* bounds a snapshot of a hostile store */
#define DEPTH_MAX 16		/* levels below a device directory */
#define PATH_BUF 4096
#define SNAP_RETRIES 16

struct xsc_tree *xsc_tree_new(void)
{
	struct xsc_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->root.name = strdup("");
	t->root.value = strdup("");
	if (!t->root.name || !t->root.value) {
		xsc_tree_free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

static void node_free(struct xsc_node *n)
{
	while (n) {
		struct xsc_node *next = n->next;
		node_free(n->child);
		free(n->name);
		free(n->value);
		free(n);
		n = next;
	}
}

void xsc_tree_free(struct xsc_tree *t)
{
	if (!t)
		return;
	node_free(t->root.child);
	free(t->root.name);
	free(t->root.value);
	free(t);
}

/* The child NAME (LEN bytes) of P; created (sorted in) when CREATE. */
static struct xsc_node *child(struct xsc_tree *t, struct xsc_node *p,
			      const char *name, size_t len, bool create)
{
	struct xsc_node **pp = &p->child, *n;

	for (; *pp; pp = &(*pp)->next) {
		int c = strncmp((*pp)->name, name, len);
		if (c == 0 && (*pp)->name[len] == '\0')
			return *pp;
		if (c > 0 || (c == 0 && (*pp)->name[len] != '\0'))
			break;
	}
	if (!create)
		return NULL;
	if (t->nodes >= NODES_MAX) {
		errno = E2BIG;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strndup(name, len)) || !(n->value = strdup(""))) {
		if (n)
			free(n->name);
		free(n);
		errno = ENOMEM;
		return NULL;
	}
	n->next = *pp;
	*pp = n;
	t->nodes++;
	return n;
}

/* Walk PATH ("/a/b"); segments must be non-empty. */
static struct xsc_node *walk(struct xsc_tree *t, const char *path, bool create)
{
	struct xsc_node *n = &t->root;

	if (!path || path[0] != '/') {
		errno = EINVAL;
		return NULL;
	}
	for (const char *s = path + 1; *s;) {
		size_t l = strcspn(s, "/");
		if (l == 0) {
			errno = EINVAL;
			return NULL;
		}
		n = child(t, n, s, l, create);
		if (!n) {
			if (!create)
				errno = ENOENT;
			return NULL;
		}
		s += l;
		if (*s == '/' && *++s == '\0') {
			errno = EINVAL;
			return NULL;
		}
	}
	return n;
}

int xsc_tree_setn(struct xsc_tree *t, const char *path, const char *value,
		  size_t len)
{
	struct xsc_node *n = walk(t, path, true);
	char *v;

	if (!n)
		return -1;
	v = malloc(len + 1);
	if (!v) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(v, value, len);
	v[len] = '\0';
	free(n->value);
	n->value = v;
	n->len = len;
	return 0;
}

int xsc_tree_set(struct xsc_tree *t, const char *path, const char *value)
{
	return xsc_tree_setn(t, path, value, strlen(value));
}

const struct xsc_node *xsc_tree_node(const struct xsc_tree *t, const char *path)
{
	return walk((struct xsc_tree *)t, path, false);
}

const char *xsc_tree_get(const struct xsc_tree *t, const char *path)
{
	const struct xsc_node *n = xsc_tree_node(t, path);

	return n ? n->value : NULL;
}

/* ---- snapshot of a live store -------------------------------------------- */

struct snap {
	struct xs_handle *xs;
	xs_transaction_t t;
	struct xsc_tree *tree;
};

/* Append "/NAME" to PATH (length *LEN). */
static int push(char *path, size_t *len, const char *name, size_t nlen)
{
	if (*len + 1 + nlen >= PATH_BUF)
		return -ENAMETOOLONG;
	path[(*len)++] = '/';
	memcpy(path + *len, name, nlen);
	*len += nlen;
	path[*len] = '\0';
	return 0;
}

static int snap_subtree(struct snap *s, char *path, size_t len, int depth)
{
	unsigned int vlen, n;
	char *v = xs_read(s->xs, s->t, path, &vlen);
	char **kids;
	int rc = 0;

	if (!v)
		return errno == ENOENT ? 0 : -errno;
	rc = xsc_tree_setn(s->tree, path, v, vlen) < 0 ? -errno : 0;
	free(v);
	if (rc < 0 || depth >= DEPTH_MAX)
		return rc;
	kids = xs_directory(s->xs, s->t, path, &n);
	if (!kids)
		return errno == ENOENT ? 0 : -errno;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		size_t l = len;
		rc = push(path, &l, kids[i], strlen(kids[i]));
		if (rc == 0)
			rc = snap_subtree(s, path, l, depth + 1);
		path[len] = '\0';
	}
	free(kids);
	return rc;
}

/* Follow PAT (the rest of a dir pattern, "" or "/seg/..."): literals
 * descend, variables list every child. */
static int snap_pattern(struct snap *s, char *path, size_t len, const char *pat)
{
	size_t sl;
	unsigned int n;
	char **kids;
	int rc = 0;

	if (!*pat)
		return snap_subtree(s, path, len, 0);
	pat++;
	sl = strcspn(pat, "/");
	if (pat[0] != '<') {
		size_t l = len;
		rc = push(path, &l, pat, sl);
		if (rc == 0)
			rc = snap_pattern(s, path, l, pat + sl);
		path[len] = '\0';
		return rc;
	}
	kids = xs_directory(s->xs, s->t, len ? path : "/", &n);
	if (!kids)
		return errno == ENOENT ? 0 : -errno;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		size_t l = len;
		rc = push(path, &l, kids[i], strlen(kids[i]));
		if (rc == 0)
			rc = snap_pattern(s, path, l, pat + sl);
		path[len] = '\0';
	}
	free(kids);
	return rc;
}

static int snap_once(struct snap *s, const struct xsc_schema *sc)
{
	char path[PATH_BUF];
	int rc = 0;

	path[0] = '\0';
	for (int side = 0; side < 2 && rc == 0; side++)
		rc = snap_pattern(s, path, 0, sc->dir[side]);
	return rc;
}

struct xsc_tree *xsc_tree_from_store(struct xs_handle *xs,
				     const struct xsc_schema *sc)
{
	struct snap s = { .xs = xs };

	for (int i = 0; i < SNAP_RETRIES; i++) {
		int rc;
		s.tree = xsc_tree_new();
		if (!s.tree)
			return NULL;
		s.t = xs_transaction_start(xs);
		if (s.t == XBT_NULL) {
			rc = -errno;
			goto fail;
		}
		rc = snap_once(&s, sc);
		if (rc < 0) {
			xs_transaction_end(xs, s.t, true);
			goto fail;
		}
		if (xs_transaction_end(xs, s.t, false))
			return s.tree;
		rc = -errno;
		if (rc != -EAGAIN)
			goto fail;
		xsc_tree_free(s.tree);
		continue;
fail:
		xsc_tree_free(s.tree);
		errno = -rc;
		return NULL;
	}
	errno = EAGAIN;
	return NULL;
}
