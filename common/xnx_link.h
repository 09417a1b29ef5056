/*
 * xnx_link.h — link ids: the one helper that turns a link id (the kernel
 * ifindex of the driver domain) into the link's current name and back, over
 * rtnetlink, plus a watcher that reports links appearing, being renamed and
 * going away.
 *
 * xnet keeps links by link id and resolves the name only at the moment of
 * use, so a rename (`ip link set X name Y`) never puts the configuration out
 * of sync. Nothing here caches a name: every query asks the kernel.
 *
 * NETNS: every function taking NETNS acts in the network namespace named
 * NETNS (/run/netns/NETNS, as made by `ip netns add`), or in the calling
 * thread's own namespace when NETNS is NULL or "". The thread enters the
 * named namespace only to open its netlink socket and is back in its own
 * namespace before the function returns.
 *
 * Internal convention: functions return 0 (or a count) or -errno:
 *   -ENODEV  no such link (no link with that id, no link of that name)
 *   -EINVAL  not a valid link name, link id or namespace name
 *   -ERANGE  a number outside 1..XNX_LINK_ID_MAX given as a link id
 *   -ENOENT  no network namespace of that name
 *   others   from the kernel (-EPERM, -ENOMEM, ...)
 * Thread-safe: no global state; each call uses its own socket.
 */
#ifndef XNX_LINK_H
#define XNX_LINK_H

#include <stdint.h>

#define XNX_LINK_NAME_MAX 16		/* IFNAMSIZ: 15 characters and the NUL */
#define XNX_LINK_ID_MAX 2147483647u	/* ifindex is a positive int */
#define XNX_LINK_KIND_MAX 32
#define XNX_LINK_ADDR_MAX 32		/* MAX_ADDR_LEN */

/* What the kernel says about one link right now. */
struct xnx_link_info {
	unsigned id;			/* link id (ifindex) */
	char name[XNX_LINK_NAME_MAX];	/* its current name */
	char kind[XNX_LINK_KIND_MAX];	/* "bridge", "veth", "tun", ...; "" for
					 * a physical link */
	unsigned master;		/* link id of its master (bridge, bond), 0
					 * if none */
	uint8_t addr[XNX_LINK_ADDR_MAX]; /* hardware address (the MAC) */
	unsigned addr_len;		/* 0 if the link has none */
	unsigned mtu;
	unsigned flags;			/* IFF_* */
	uint8_t operstate;		/* IF_OPER_* (RFC 2863) */
};

/* Strictly parse a link id: digits only, 1..XNX_LINK_ID_MAX. 0, -EINVAL
 * (not a number), -ERANGE. */
int xnx_link_parse_id(const char *s, unsigned *id);

/* Is NAME a name the kernel accepts for a link (1..15 characters, not "."
 * or "..", no '/', ':' or white space)? 1 or 0. */
int xnx_link_name_ok(const char *name);

/* NAME → link id. -EINVAL for an invalid name, -ENODEV if no link has it. */
int xnx_link_id(const char *netns, const char *name, unsigned *id);

/* Link id → the link's current name (NAME gets XNX_LINK_NAME_MAX bytes).
 * -EINVAL for id 0 or above XNX_LINK_ID_MAX, -ENODEV if no link has it. */
int xnx_link_name(const char *netns, unsigned id, char *name);

/* LINK is a link id when made only of digits, else a name: → its link id,
 * after checking the link exists (-ENODEV if not). A link whose name is all
 * digits can only be reached by its id. */
int xnx_link_resolve(const char *netns, const char *link, unsigned *id);

/* Everything above about the link with link id ID (-ENODEV if none). */
int xnx_link_get(const char *netns, unsigned id, struct xnx_link_info *info);

/* The link id of ID's master (e.g. the bridge it is a port of); 0 if none. */
int xnx_link_master(const char *netns, unsigned id, unsigned *master);

/* "up", "down", "lowerlayerdown", ...; "unknown" for anything else. */
const char *xnx_link_operstate_name(uint8_t operstate);

/* Give link ID a single pfifo_fast root qdisc in place of the kernel's
 * default, as `tc qdisc replace dev ID root pfifo_fast`. Why: a multi-queue
 * link (a TAP made with IFF_MULTI_QUEUE has 256 TX queues) otherwise gets an
 * `mq` root with one pfifo_fast per TX queue, built at every up: ~10 ms of
 * kernel time and ~6 MiB per TAP. A TAP never stops its queues, so the
 * qdisc holds no frames either way; frames wait in the TAP's own queue
 * (tx_queue_len) until the reader takes them. Best done while the link is
 * down (it then stays through the up). */
int xnx_link_single_qdisc(const char *netns, unsigned id);

/* Format ADDR (LEN bytes) as "aa:bb:cc:...", "" for LEN 0, into BUF of
 * SIZE bytes (3 * XNX_LINK_ADDR_MAX is always enough). -ENOSPC if short. */
int xnx_link_addr_str(const uint8_t *addr, unsigned len, char *buf, unsigned size);

/*
 * One rtnetlink socket bound to one namespace, for callers that ask often
 * (the namespace stays the one it was opened in, even if its /run/netns
 * name goes). Not to be shared between threads without a lock.
 */
struct xnx_link_nl;
int xnx_link_nl_open(const char *netns, struct xnx_link_nl **out);
void xnx_link_nl_close(struct xnx_link_nl *nl);
/* Its descriptor (e.g. to join multicast groups, as the watcher does). */
int xnx_link_nl_fd(const struct xnx_link_nl *nl);
/* The link with link id ID, or (ID 0) the link named NAME. */
int xnx_link_nl_get(struct xnx_link_nl *nl, unsigned id, const char *name,
		    struct xnx_link_info *info);
/* Change a link as `ip link set dev ID [mtu M] [master B|nomaster]
 * [up|down]` does, in one acknowledged request. */
struct xnx_link_set {
	unsigned mtu;		/* 0: leave it */
	int master;		/* link id of the new master; 0 none; -1 leave it */
	int up;			/* 1 up, 0 down, -1 leave it */
};
int xnx_link_nl_set(struct xnx_link_nl *nl, unsigned id, const struct xnx_link_set *s);
/* Make a bridge called NAME, as `ip link add name NAME type bridge`
 * (-EEXIST if a link already has that name). */
int xnx_link_nl_add_bridge(struct xnx_link_nl *nl, const char *name);
/* Call FN for every link of the namespace; FN returns 0 to go on or -errno
 * to stop (that error is returned). */
typedef int (*xnx_link_dump_fn)(const struct xnx_link_info *info, void *arg);
int xnx_link_nl_dump(struct xnx_link_nl *nl, xnx_link_dump_fn fn, void *arg);

/*
 * The watcher: a subscription to the namespace's link events (RTNLGRP_LINK).
 * Poll xnx_link_watch_fd() for input, then call xnx_link_watch_dispatch().
 *
 * It reports changes against its own view of the namespace, which it takes
 * when it opens (silently) and keeps current by asking the kernel about
 * every link an event mentions — so stale or repeated kernel messages never
 * yield a false rename, and each transition is reported once:
 *   XNX_LINK_NEW      a link appeared (created, or moved into the namespace)
 *   XNX_LINK_RENAMED  a link's name changed: OLD_NAME → NAME
 *   XNX_LINK_DELETED  a link went (deleted, or moved out); NAME is the last
 *                     name the watcher knew
 * If the kernel drops events (the socket overflowed), the watcher notices,
 * takes a fresh view and reports the differences, so the view is always
 * right in the end; intermediate steps (a link renamed twice) may then be
 * reported as one.
 *
 * A link made and renamed before the watcher looked at it is reported once,
 * as NEW under its current name: to follow a link's name, treat NEW and
 * RENAMED alike (EV->name is the name now). Links that exist when the
 * watcher opens are not reported; read their names with xnx_link_name().
 */
enum xnx_link_change { XNX_LINK_NEW = 1, XNX_LINK_RENAMED, XNX_LINK_DELETED };

struct xnx_link_event {
	enum xnx_link_change change;
	unsigned id;
	char name[XNX_LINK_NAME_MAX];
	char old_name[XNX_LINK_NAME_MAX];	/* RENAMED only, else "" */
};

/* Called once per change; must not close the watcher. */
typedef void (*xnx_link_event_fn)(const struct xnx_link_event *ev, void *arg);

struct xnx_link_watch;

/* Subscribe in NETNS and take the first view. *OUT on success. */
int xnx_link_watch_open(const char *netns, struct xnx_link_watch **out);
void xnx_link_watch_close(struct xnx_link_watch *w);

/* The pollable (non-blocking) descriptor; readable when events wait. */
int xnx_link_watch_fd(const struct xnx_link_watch *w);

/* Read what is queued without blocking (at most a bounded batch: poll again
 * while the descriptor stays readable) and call FN for every change. Returns
 * the number of changes reported, or -errno. */
int xnx_link_watch_dispatch(struct xnx_link_watch *w, xnx_link_event_fn fn, void *arg);

/* Take a fresh view of the namespace now and report how it differs from
 * the last one (FN may be NULL: just refresh). Returns the number of changes
 * reported, or -errno. */
int xnx_link_watch_resync(struct xnx_link_watch *w, xnx_link_event_fn fn, void *arg);

#endif
