/*
 * store_txn.c — xenstore transactions: each keeps a shadow copy of every
 * node it reads or writes (with the node's generation when first seen)
 * and a queue of the watch events its changes cause.
 *
 * Commit succeeds only if none of those nodes changed in the tree since
 * (same generation, or still absent); otherwise EAGAIN and the client
 * retries, as with C xenstored. Reads and writes inside see only the
 * transaction's own view; its events fire at commit, in order, and never
 * for an aborted or conflicting transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct st_node *st_txn_node(struct sim_store *st, struct st_txn *t,
			    const char *path)
{
	struct st_node *s = st_table_get(&t->shadow, path);
	const struct st_node *n;

	if (s)
		return s;
	n = st_table_get(&st->tree, path);
	if (n) {
		s = st_node_dup(n);
		s->base_gen = n->gen;
	} else {
		s = st_node_new(path);
		s->exists = false;
		s->base_gen = 0;
	}
	st_table_put(&t->shadow, s);
	return s;
}

void st_txn_queue(struct st_txn *t, const char *path, bool exact,
		  const struct st_node *old)
{
	struct st_event *e = st_xcalloc(1, sizeof(*e));

	e->path = st_xstrdup(path);
	e->exact = exact;
	if (old && old->nperm) {
		e->oldp = st_xmalloc(old->nperm * sizeof(*e->oldp));
		memcpy(e->oldp, old->perm, old->nperm * sizeof(*e->oldp));
		e->nold = old->nperm;
	}
	*t->ev_tail = e;
	t->ev_tail = &e->next;
}

static void free_events(struct st_event *e)
{
	while (e) {
		struct st_event *next = e->next;

		free(e->path);
		free(e->oldp);
		free(e);
		e = next;
	}
}

static void txn_free(struct st_txn *t)
{
	st_table_free(&t->shadow);
	free_events(t->ev);
	free(t);
}

int st_txn_start(struct st_conn *c, uint32_t *id)
{
	struct sim_store *st = c->st;
	struct st_txn *t;

	if (!st_conn_priv(c) && c->ntxns >= st->quota.txns)
		return ENOSPC;
	t = st_xcalloc(1, sizeof(*t));
	st_table_init(&t->shadow);
	t->ev_tail = &t->ev;
	do {
		t->id = ++st->next_txid;
	} while (t->id == 0 || st_txn_find(c, t->id));
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	*id = t->id;
	return 0;
}

struct st_txn *st_txn_find(struct st_conn *c, uint32_t id)
{
	for (struct st_txn *t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static bool conflicts(struct sim_store *st, struct st_txn *t)
{
	for (size_t i = 0; i < t->shadow.nb; i++) {
		for (struct st_node *s = t->shadow.b[i]; s; s = s->hnext) {
			const struct st_node *n = st_table_get(&st->tree, s->path);

			if ((n ? n->gen : 0) != s->base_gen)
				return true;
		}
	}
	return false;
}

static void commit(struct sim_store *st, struct st_txn *t)
{
	for (size_t i = 0; i < t->shadow.nb; i++)
		for (struct st_node *s = t->shadow.b[i]; s; s = s->hnext)
			if (s->dirty)
				st_tree_apply(st, s);
	for (struct st_event *e = t->ev; e; e = e->next)
		st_watch_fire(st, e->path, e->exact, NULL, e->oldp, e->nold);
}

int st_txn_end(struct st_conn *c, uint32_t id, bool do_commit)
{
	struct st_txn **p = &c->txns, *t;
	int rc = 0;

	while (*p && (*p)->id != id)
		p = &(*p)->next;
	if (!*p)
		return ENOENT;
	t = *p;
	*p = t->next;
	c->ntxns--;
	if (do_commit) {
		if (conflicts(c->st, t))
			rc = EAGAIN;
		else
			commit(c->st, t);
	}
	txn_free(t);
	return rc;
}

void st_txn_clear(struct st_conn *c)
{
	while (c->txns) {
		struct st_txn *t = c->txns;

		c->txns = t->next;
		txn_free(t);
	}
	c->ntxns = 0;
}
