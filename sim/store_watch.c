/*
 * store_watch.c — xenstore watches: per-connection (path, token) pairs,
 * matched by prefix, delivered as WATCH_EVENT in the order changes happen.
 *
 * Who gets an event follows C xenstored's watch_permitted(): the watcher
 * must be able to read the node, or could read it before a permission
 * change or removal, or can read its parent. An event carries only the
 * path and the token, never a value, so a watcher that can see the parent
 * learns that something changed and nothing more. Special events
 * (@introduceDomain, @releaseDomain) go to watchers allowed to read the
 * special node: domain 0 unless its permissions were changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static bool permitted(struct st_conn *c, const char *path,
		      const struct st_node *node,
		      const struct xs_permissions *oldp, unsigned nold)
{
	struct sim_store *st = c->st;
	const struct st_node *parent;
	char *pp;

	if (oldp && (st_perm_for(st, c->domid, oldp, nold) & XS_PERM_READ))
		return true;
	if (!node)
		node = st_table_get(&st->tree, path);
	if (!node)
		return false;
	if (st_perm_for(st, c->domid, node->perm, node->nperm) & XS_PERM_READ)
		return true;
	pp = st_parent(path);
	parent = st_table_get(&st->tree, pp);
	free(pp);
	return parent &&
	       (st_perm_for(st, c->domid, parent->perm, parent->nperm) & XS_PERM_READ);
}

void st_watch_event(struct st_conn *c, const struct st_watch *w,
		    const char *path)
{
	const char *rel = path + (strlen(path) >= w->prefix ? w->prefix : 0);
	size_t plen = strlen(rel) + 1, tlen = strlen(w->token) + 1;
	char buf[XENSTORE_PAYLOAD_MAX];

	/* Like xenstored, an event too long for one message is not sent. */
	if (plen + tlen > sizeof(buf))
		return;
	memcpy(buf, rel, plen);
	memcpy(buf + plen, w->token, tlen);
	st_send(c, XS_WATCH_EVENT, 0, 0, buf, plen + tlen, false);
}

void st_watch_fire(struct sim_store *st, const char *path, bool exact,
		   const struct st_node *node, const struct xs_permissions *oldp,
		   unsigned nold)
{
	struct st_conn *next;

	for (struct st_conn *c = st->conns; c; c = next) {
		int ok = -1;	/* not yet checked */

		next = c->next;	/* C may be closed below */
		if (c->dead || !c->watches)
			continue;
		for (struct st_watch *w = c->watches; w; w = w->next) {
			bool match = exact ? strcmp(path, w->path) == 0
					   : st_is_child(path, w->path);

			if (!match)
				continue;
			if (ok < 0)
				ok = permitted(c, path, node, oldp, nold);
			if (!ok)
				break;
			st_watch_event(c, w, path);
			if (c->dead)
				break;	/* dropped for its backlog: W is gone */
		}
	}
}

void st_special_fire(struct sim_store *st, const char *name)
{
	st_watch_fire(st, name, true, NULL, NULL, 0);
}

int st_watch_add(struct st_conn *c, const char *path, const char *token,
		 struct st_watch **out)
{
	bool relative = path[0] != '/' && path[0] != '@';
	struct st_watch *w;
	char *canon;
	int rc = st_canonical(c->domid, path, true, &canon);

	if (rc)
		return rc;
	for (w = c->watches; w; w = w->next) {
		if (strcmp(w->path, canon) == 0 && strcmp(w->token, token) == 0) {
			free(canon);
			return EEXIST;
		}
	}
	if (!st_conn_priv(c) && c->nwatches >= c->st->quota.watches) {
		free(canon);
		return E2BIG;
	}
	w = st_xcalloc(1, sizeof(*w));
	w->path = canon;
	w->token = st_xstrdup(token);
	if (relative) {
		char home[40];

		w->prefix = (unsigned)snprintf(home, sizeof(home),
					       "/local/domain/%u", c->domid) + 1;
	}
	*c->watch_tail = w;
	c->watch_tail = &w->next;
	c->nwatches++;
	*out = w;
	return 0;
}

static void watch_free(struct st_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

int st_watch_del(struct st_conn *c, const char *path, const char *token)
{
	char *canon;
	int rc = st_canonical(c->domid, path, true, &canon);

	if (rc)
		return rc;
	rc = ENOENT;
	for (struct st_watch **p = &c->watches; *p; p = &(*p)->next) {
		struct st_watch *w = *p;

		if (strcmp(w->path, canon) || strcmp(w->token, token))
			continue;
		*p = w->next;
		if (c->watch_tail == &w->next)
			c->watch_tail = p;
		watch_free(w);
		c->nwatches--;
		rc = 0;
		break;
	}
	free(canon);
	return rc;
}

void st_watch_clear(struct st_conn *c)
{
	while (c->watches) {
		struct st_watch *w = c->watches;

		c->watches = w->next;
		watch_free(w);
	}
	c->watch_tail = &c->watches;
	c->nwatches = 0;
}
