/*
 * store.c — the xenstore half of xnet-simd (sim/store.h): creating and
 * freeing the store, and listening for a domain's clients. The protocol is
 * xen/io/xs_wire.h, served with C xenstored's semantics by store_*.c:
 *
 *   store_conn.c    sockets, framing, output queues, back-pressure
 *   store_ops.c     one handler per message type, error codes
 *   store_tree.c    nodes, permissions, paths, create/modify/remove
 *   store_watch.c   watches and who may see an event
 *   store_txn.c     transactions (shadow copies, generation checks)
 *   store_quota.c   quotas
 *   store_domain.c  introduce/release, the domain skeleton, dump
 *
 * What the sim chooses where Xen has no exact equivalent:
 *  - Identity is the socket: domain 0 on <dir>/xenstored.sock (privileged),
 *    domain N on <dir>/dom<N>/xenstored.sock. A socket serves its domain
 *    whether or not it is introduced.
 *  - INTRODUCE from domain 0 only marks a domain introduced and fires
 *    @introduceDomain (no ring page to map); RELEASE marks it released,
 *    drops its connections and fires @releaseDomain. The toolstack calls,
 *    sim_store_domain_introduce/_release, also write/remove the
 *    /local/domain/<id> skeleton and open/close its socket.
 *  - Quotas bind guests, as in xenstored (see store_quota.c); on top, each
 *    guest may hold 256 connections, and a connection whose unread output
 *    passes 1 MiB (64 MiB for domain 0) is dropped (until then no event is
 *    ever lost). A client
 *    with 20 unread replies (1024 for domain 0) is not read from until it
 *    catches up, which is how outstanding requests are bounded.
 *  - A message longer than XENSTORE_PAYLOAD_MAX gets E2BIG and its payload
 *    is skipped (xenstored drops the connection instead).
 *  - CONTROL: help, check, log [on|off|err|warn|info|debug], print,
 *    quota [NAME VALUE], dump [ROOT], dump-file FILE [ROOT].
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xnx_log.h"

/* The nodes xenstored starts with; all owned by domain 0, no one else. */
static void initial_tree(struct sim_store *st)
{
	static const char *const paths[] = {
		"/", "/tool", "/tool/xenstored", "@introduceDomain", "@releaseDomain",
	};
	const struct xs_permissions none = { .id = 0, .perms = XS_PERM_NONE };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct st_node *n = st_node_new(paths[i]);

		st_node_set_perms(n, &none, 1);
		n->gen = ++st->gen;
		st_table_put(&st->tree, n);
		st->owned[0]++;
	}
	st_node_add_kid(st_table_get(&st->tree, "/"), "tool");
	st_node_add_kid(st_table_get(&st->tree, "/tool"), "xenstored");
}

struct sim_store *sim_store_new(struct sim_loop *loop)
{
	struct sim_store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->owned = calloc(ST_DOMID_MAX + 1, sizeof(*st->owned));
	if (!st->owned) {
		free(st);
		errno = ENOMEM;
		return NULL;
	}
	st->loop = loop;
	st_quota_defaults(&st->quota);
	st_table_init(&st->tree);
	initial_tree(st);
	return st;
}

void sim_store_free(struct sim_store *st)
{
	if (!st)
		return;
	while (st->conns)
		st_conn_close(st->conns, "store shutting down");
	while (st->listeners)
		st_unlisten(st, st->listeners->domid);
	st_flush(st);
	st_domain_free_all(st);
	st_table_free(&st->tree);
	free(st->owned);
	free(st);
}

int sim_store_listen(struct sim_store *st, unsigned domid, const char *path)
{
	int rc;

	if (domid > ST_DOMID_MAX)
		return -EINVAL;
	rc = st_listen(st, domid, path);
	if (rc < 0)
		xnx_err("xenstore: cannot listen on %s: %s", path, strerror(-rc));
	else
		st_domain_get(st, domid);
	return rc;
}
