/*
 * store_int.h — internals shared by the files of xnet-simd's xenstore half:
 * the tree (store_tree.c), transactions (store_txn.c), watches
 * (store_watch.c), connections and the wire (store_conn.c), request
 * handlers (store_ops.c), domains (store_domain.c) and quotas
 * (store_quota.c). Semantics follow C xenstored; see each file.
 *
 * Internal convention: functions return 0 or a positive errno (the value
 * that goes on the wire as its name), as xenstored's handlers do.
 */
#ifndef SIM_STORE_INT_H
#define SIM_STORE_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>

#include "loop.h"
#include "store.h"

#define ST_DOMID_MAX		0x7FEFu	/* below DOMID_FIRST_RESERVED */
#define ST_IN_CAP		(16 * 1024)	/* buffered input per connection */
#define ST_OUT_MAX_PRIV		(64u << 20)	/* domain 0's output backlog bound */

/* ---- quotas (store_quota.c) --------------------------------------------- */

/* Limits for unprivileged domains; domain 0 is exempt, as in xenstored,
 * except for the output backlog, which bounds every connection (domain 0's
 * at least ST_OUT_MAX_PRIV). */
struct st_quota {
	unsigned nodes;		/* nodes owned per domain (ENOSPC) */
	unsigned value_size;	/* bytes in one value (ENOSPC) */
	unsigned watches;	/* watches per connection (E2BIG) */
	unsigned txns;		/* open transactions per connection (ENOSPC) */
	unsigned txn_nodes;	/* nodes one transaction may touch (ENOSPC) */
	unsigned perms;		/* entries in one SET_PERMS (ENOSPC) */
	unsigned outstanding;	/* unread replies before input pauses */
	unsigned conns;		/* connections per domain */
	unsigned out_bytes;	/* queued output before the connection drops */
};
void st_quota_defaults(struct st_quota *q);
/* Set quota NAME to VAL; 0 or EINVAL. */
int st_quota_set(struct st_quota *q, const char *name, const char *val);
/* Describe the quotas as "name value\n" lines into BUF. */
int st_quota_show(const struct st_quota *q, char *buf, size_t len);

/* ---- tree (store_tree.c) ------------------------------------------------- */

struct st_node {
	char *path;			/* canonical, the hash key */
	char *value;
	unsigned vlen;
	struct xs_permissions *perm;	/* perm[0]: owner + everyone else */
	unsigned nperm;
	char **kids;			/* child base names, in creation order */
	unsigned nkids, kcap;
	uint64_t gen;			/* store generation of the last change */
	struct st_node *hnext;
	/* Used only in a transaction's shadow copy: */
	bool exists;			/* false: the node is absent */
	bool dirty;			/* changed in the transaction */
	uint64_t base_gen;		/* gen in the tree when first seen (0: absent) */
};

struct st_table {
	struct st_node **b;
	size_t nb, count;
};

void st_table_init(struct st_table *t);
void st_table_free(struct st_table *t);	/* frees every node too */
struct st_node *st_table_get(const struct st_table *t, const char *path);
void st_table_put(struct st_table *t, struct st_node *n);
struct st_node *st_table_take(struct st_table *t, const char *path);

struct st_node *st_node_new(const char *path);
void st_node_free(struct st_node *n);
/* Deep copy of N's content under a new node for the same path. */
struct st_node *st_node_dup(const struct st_node *n);
void st_node_set_value(struct st_node *n, const char *v, unsigned len);
void st_node_set_perms(struct st_node *n, const struct xs_permissions *p,
		       unsigned np);
void st_node_add_kid(struct st_node *n, const char *base);
void st_node_del_kid(struct st_node *n, const char *base);

/* Where an operation reads and writes: the tree, or a transaction. */
struct st_conn;
struct st_txn;
struct st_view {
	struct sim_store *st;
	struct st_conn *conn;		/* NULL: the daemon itself (privileged) */
	unsigned domid;
	struct st_txn *txn;		/* NULL: straight to the tree */
};

/* Xen's permission rule: what DOMID may do with a node of these perms
 * (a domain given a target by SET_TARGET also has its target's rights). */
unsigned st_perm_for(struct sim_store *st, unsigned domid,
		     const struct xs_permissions *p, unsigned np);
/* Canonical form of PATH for DOMID (relative paths are under its home),
 * or EINVAL. SPECIAL allows @names. OUT gets a malloc'd string. */
int st_canonical(unsigned domid, const char *path, bool special, char **out);
/* "/a/b" → "/a" (malloc'd); "/a" → "/". */
char *st_parent(const char *path);
const char *st_basename(const char *path);
/* Is CHILD equal to PARENT or below it? */
bool st_is_child(const char *child, const char *parent);

const struct st_node *st_get(struct st_view *v, const char *path);
/* Look PATH up with WANT permission (XS_PERM_*), returning xenstored's
 * errno: ENOENT only if the caller may know, else EACCES. */
int st_access(struct st_view *v, const char *path, unsigned want,
	      const struct st_node **out);
/* Make an existing node writable in V (a shadow copy in a transaction). */
struct st_node *st_modify(struct st_view *v, const char *path);
/* Create PATH with VALUE and any missing parents (inheriting perms). */
int st_create(struct st_view *v, const char *path, const char *value,
	      unsigned vlen);
/* Give N (from st_modify on V) new permissions, keeping the per-owner
 * node counts right. */
void st_set_perms(struct st_view *v, struct st_node *n,
		  const struct xs_permissions *p, unsigned np);
/* Remove PATH and its subtree, firing watches on each node. */
int st_remove(struct st_view *v, const char *path);
/* Apply a committed change: SHADOW becomes the tree's node for its path. */
void st_tree_apply(struct sim_store *st, struct st_node *shadow);
/* Fire or (in a transaction) queue a watch event. */
void st_changed(struct st_view *v, const char *path, bool exact,
		const struct st_node *node, const struct st_node *old);

/* ---- watches (store_watch.c) --------------------------------------------- */

struct st_watch {
	char *path;		/* canonical */
	char *token;
	unsigned prefix;	/* bytes to strip for a relative watch */
	struct st_watch *next;
};

/* Fire PATH (exact: only watches on PATH itself; else watches on PATH or
 * an ancestor). NODE is the node as it is (NULL: look it up), OLDP its
 * permissions before a change (may be NULL). */
void st_watch_fire(struct sim_store *st, const char *path, bool exact,
		   const struct st_node *node, const struct xs_permissions *oldp,
		   unsigned nold);
/* Add a watch on PATH (as the client sent it); OUT gets it for the initial
 * event. 0, EINVAL, EEXIST or E2BIG (quota). */
int st_watch_add(struct st_conn *c, const char *path, const char *token,
		 struct st_watch **out);
/* Queue WATCH_EVENT for W on PATH (canonical) to C. */
void st_watch_event(struct st_conn *c, const struct st_watch *w,
		    const char *path);
int st_watch_del(struct st_conn *c, const char *path, const char *token);
void st_watch_clear(struct st_conn *c);
void st_special_fire(struct sim_store *st, const char *name);

/* ---- transactions (store_txn.c) ------------------------------------------ */

struct st_event {
	char *path;
	bool exact;
	struct xs_permissions *oldp;
	unsigned nold;
	struct st_event *next;
};

struct st_txn {
	uint32_t id;
	struct st_table shadow;
	struct st_event *ev, **ev_tail;
	struct st_txn *next;
};

int st_txn_start(struct st_conn *c, uint32_t *id);
struct st_txn *st_txn_find(struct st_conn *c, uint32_t id);
/* End ID: commit (EAGAIN on conflict) or abort; the transaction is gone
 * either way. */
int st_txn_end(struct st_conn *c, uint32_t id, bool commit);
void st_txn_clear(struct st_conn *c);
/* A shadow entry for PATH in T, copied from the tree on first use. */
struct st_node *st_txn_node(struct sim_store *st, struct st_txn *t,
			    const char *path);
void st_txn_queue(struct st_txn *t, const char *path, bool exact,
		  const struct st_node *old);

/* ---- connections (store_conn.c) ------------------------------------------ */

struct st_out {
	struct st_out *next;
	size_t len, off;
	bool reply;
	char data[];
};

struct st_conn {
	struct sim_store *st;
	int fd;
	unsigned domid;
	uint32_t events;		/* what the loop watches now */
	bool dead;
	/* input */
	char *in;
	size_t in_len;
	size_t discard;			/* payload bytes of an oversized message */
	/* output */
	struct st_out *out, **out_tail;
	size_t out_bytes;
	unsigned out_replies;
	bool on_dirty;
	struct st_conn *dirty_next;
	/* state */
	struct st_watch *watches, **watch_tail;
	unsigned nwatches;
	struct st_txn *txns;
	unsigned ntxns;
	struct st_conn *next, *prev;
};

struct st_listener {
	struct sim_store *st;
	int fd;
	unsigned domid;
	char *path;
	struct st_listener *next;
};

struct st_domain {
	unsigned domid;
	bool introduced;
	bool has_target;
	unsigned target;		/* SET_TARGET: acts for this domain */
	struct st_domain *next;
};

struct sim_store {
	struct sim_loop *loop;
	struct st_table tree;
	uint64_t gen;
	struct st_conn *conns;
	unsigned nconns;
	struct st_conn *dirty;		/* connections with output to flush */
	struct st_conn *graveyard;	/* closed, freed at a safe point */
	struct st_listener *listeners;
	struct st_domain *domains;
	uint32_t next_txid;
	struct st_quota quota;
	unsigned *owned;		/* nodes per owner domid */
	unsigned long long nreq;	/* requests served */
	bool accept_paused;		/* out of descriptors: listeners off */
};

bool st_conn_priv(const struct st_conn *c);
/* Queue a message to C (reply: counts against the outstanding quota). */
void st_send(struct st_conn *c, uint32_t type, uint32_t req_id,
	     uint32_t tx_id, const void *data, size_t len, bool reply);
void st_send_error(struct st_conn *c, const struct xsd_sockmsg *req, int err);
void st_conn_close(struct st_conn *c, const char *why);
/* Write what can be written to every connection with pending output, then
 * free closed connections. Call at the end of every entry point. */
void st_flush(struct sim_store *st);
int st_listen(struct sim_store *st, unsigned domid, const char *path);
void st_unlisten(struct sim_store *st, unsigned domid);
void st_close_domain_conns(struct sim_store *st, unsigned domid);

/* ---- requests (store_ops.c) ---------------------------------------------- */

/* Handle one complete request; BODY has LEN bytes plus a NUL after them. */
void st_dispatch(struct st_conn *c, const struct xsd_sockmsg *hdr, char *body);
const char *st_errname(int err);

/* ---- domains (store_domain.c) -------------------------------------------- */

struct st_domain *st_domain_find(struct sim_store *st, unsigned domid);
struct st_domain *st_domain_get(struct sim_store *st, unsigned domid);
void st_domain_free_all(struct sim_store *st);
/* Strict decimal domid (0..ST_DOMID_MAX); 0 or EINVAL. */
int st_parse_domid(const char *s, unsigned *out);
/* Tree as text, one "path = "value" (perms)" line a node, under ROOT. */
char *st_dump(struct sim_store *st, const char *root, size_t *len);

/* ---- small helpers (store_tree.c) ----------------------------------------- */

/* Allocation failure in the daemon is fatal: logged, then abort. */
void *st_xmalloc(size_t n);
void *st_xcalloc(size_t n, size_t m);
void *st_xrealloc(void *p, size_t n);
char *st_xstrdup(const char *s);

#endif
