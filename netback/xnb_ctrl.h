/*
 * xnb_ctrl.h — xnetback's control ring (netif.h "Control ring"): the hash
 * state the frontend configures (algorithm, flags, Toeplitz key, mapping
 * table), the static grant tables (ADD/DEL_GREF_MAPPING), the request
 * handlers, and the Toeplitz hash over a frame (hash.c, pure).
 */
#ifndef XNB_CTRL_H
#define XNB_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xnb.h"

/* Longest Toeplitz key we take (the RSS key length; Linux netback's too). */
#define XNB_HASH_KEY_SIZE	40u
/* Most entries in the hash → queue mapping table (as Linux netback). */
#define XNB_HASH_MAPPING_SIZE	128u
/* Hash types we compute. */
#define XNB_HASH_TYPES (XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP | \
			XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)
/* Static grants kept mapped per queue (a full RX ring's worth). */
#define XNB_GREF_TABLE_SIZE	256u
/* Queues a vif may have (xnb_vif.h's XNB_MAX_QUEUES). */
#define XNB_CTRL_MAX_QUEUES	8u
/* Control requests served per round. */
#define XNB_CTRL_BUDGET		64

/* What the frontend asked for. Replaced whole (one assignment) on change. */
struct xnb_hash {
	uint32_t alg;		/* XEN_NETIF_CTRL_HASH_ALGORITHM_* */
	uint32_t flags;		/* XEN_NETIF_CTRL_HASH_TYPE_* enabled */
	uint8_t key[XNB_HASH_KEY_SIZE];	/* octets past the given size are 0 */
	uint32_t size;		/* mapping entries in use; 0 = hash % queues */
	uint32_t mapping[XNB_HASH_MAPPING_SIZE];
};

/* ---- hash.c (pure) -------------------------------------------------------- */

/* Toeplitz hash of BUF with KEY (octets past KEYLEN count as 0), as the
 * Microsoft RSS specification and netif.h define it. */
uint32_t xnb_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *buf, size_t len);

/* The hash of an Ethernet FRAME under H: true with *HASH and *TYPE (an
 * _XEN_NETIF_CTRL_HASH_TYPE_* bit number) when an enabled type applies (the
 * most specific one: TCP over the address-only type), false otherwise. */
bool xnb_hash_frame(const struct xnb_hash *h, const uint8_t *frame, size_t len,
		    uint32_t *hash, uint8_t *type);

/* The queue for HASH: mapping[hash % size], or hash % NQUEUES without a
 * table. */
unsigned xnb_hash_queue(const struct xnb_hash *h, uint32_t hash, unsigned nqueues);

/* The XEN_NETIF_EXTRA_TYPE_HASH extra for a Toeplitz HASH of TYPE. */
struct netif_extra_info xnb_hash_extra(uint32_t hash, uint8_t type);

/* ---- static grants (ctrl.c) ------------------------------------------------ */

struct xnb_gref {
	uint32_t ref;
	bool readonly;
	void *addr;		/* our mapping of the page */
};

/* Slots of a table's index by ref: twice its entries, a power of two. */
#define XNB_GREF_INDEX_SIZE	(2u * XNB_GREF_TABLE_SIZE)

/* One queue's table, sorted by ref, and an open-addressing index of it
 * (entry + 1 per slot, 0 empty; ref modulo the size, then the next slots)
 * rebuilt on every change: the data path looks a ref up for every slot,
 * and the refs a frontend grants are mostly consecutive, so the first
 * slot looked at is nearly always the one. */
struct xnb_gref_table {
	unsigned n;
	struct xnb_gref e[XNB_GREF_TABLE_SIZE];
	uint16_t index[XNB_GREF_INDEX_SIZE];
};

/* The mapping of REF, or NULL (also for a write to a read-only one). */
void *xnb_gref_lookup(const struct xnb_gref_table *t, uint32_t ref, bool write);

/* Serve by memcpy every segment of SEGS whose foreign gref (of DOMID) is in
 * T (status set), and gather the others' indices in REST. Returns how many
 * are left for a grant copy. */
unsigned xnb_gref_copy_local(const struct xnb_gref_table *t, uint32_t domid, unsigned n,
			     xengnttab_grant_copy_segment_t *segs, unsigned *rest);

/* ---- the control ring (ctrl.c) --------------------------------------------- */

/* How ctrl.c reaches the hypervisor; the daemon's glue fills it for real,
 * unit tests with fakes. CTX is passed back unchanged. */
struct xnb_ctrl_io {
	int (*grant_copy)(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs);
	void (*notify)(void *ctx, uint32_t port);
	void *(*map)(void *ctx, uint32_t ref, bool readonly);	/* NULL on failure */
	void (*unmap)(void *ctx, void *addr);
	void *ctx;
};

struct xnb_ctrl {
	xen_netif_ctrl_back_ring_t ring;
	uint32_t port;		/* local port of event-channel-ctrl */
	uint32_t domid;
	unsigned nqueues;
	const struct xnb_ctrl_io *io;
	struct xnb_queue *queues[XNB_CTRL_MAX_QUEUES];	/* for "in use"; may be NULL */
	struct xnb_hash hash;
	struct xnb_gref_table *grefs;	/* [nqueues] */
	uint64_t requests, refused;
	bool broken;
	char reason[XNB_REASON_MAX];
};

/* Set up C over the shared page SRING (initialised by the frontend). 0 or
 * -ENOMEM. */
int xnb_ctrl_init(struct xnb_ctrl *c, void *sring, uint32_t domid, unsigned nqueues,
		  const struct xnb_ctrl_io *io);
/* Unmap every static grant and free. */
void xnb_ctrl_fini(struct xnb_ctrl *c);
/* Answer one request (already copied off the ring). */
struct xen_netif_ctrl_response xnb_ctrl_handle(struct xnb_ctrl *c,
					       const struct xen_netif_ctrl_request *req);
/* One ring round: XNB_IDLE, XNB_MORE (budget used), XNB_BROKEN. */
enum xnb_work xnb_ctrl_run(struct xnb_ctrl *c);
/* Is REF named by a request of queue Q the frontend pushed and we have not
 * answered? */
bool xnb_ctrl_gref_busy(const struct xnb_ctrl *c, unsigned q, uint32_t ref);

/* ---- the daemon's side (ctrl.c): where interface.c calls in --------------- */

struct xnb_vif;
struct xnb_vq;
struct xnb_fe_conf;

/* Map the frontend's control ring and bind its channel, if CONF has one
 * (after the queues are connected). 0, or -errno with WHY. */
int xnb_vif_ctrl_connect(struct xnb_vif *vif, const struct xnb_fe_conf *conf, char *why,
			 size_t whylen);
/* Unmap every static grant and the ring, unbind, drop parked frames. */
void xnb_vif_ctrl_disconnect(struct xnb_vif *vif);
/* Has the frontend queued control requests (or is the ring broken)? */
bool xnb_vif_ctrl_pending(const struct xnb_vif *vif);
/* Serve the control ring (every queue lock held): XNB_BROKEN with
 * vif->broken set on a violation, XNB_MORE when the budget ran out. */
enum xnb_work xnb_vif_ctrl_run(struct xnb_vif *vif);
/* The queue's grant copy: static grants by memcpy (counted in
 * vq->static_segs), the rest in one call. 0 or -errno. */
int xnb_vq_grant_copy(struct xnb_vq *vq, unsigned n, xengnttab_grant_copy_segment_t *segs);
/* Where the frontend's REF is mapped as one of VQ's static grants (WRITE:
 * writable), or NULL. Stable until the queue's lock is released. */
void *xnb_vq_gref_page(struct xnb_vq *vq, uint32_t ref, bool write);
/* Read the next frame for VQ (virtio-net header first): frames parked for
 * it, else the TAP, passing on those the frontend's hash sends to another
 * queue. As readv(2); the frame's headers must fit in iov[0] (the hash
 * that steers it reads only there). Only with a control ring. */
ssize_t xnb_vq_tap_readv(struct xnb_vq *vq, const struct iovec *iov, int iovcnt);
/* Tag PKT with the hash extra when the frontend enabled hashing. */
void xnb_vq_rx_hash(struct xnb_vq *vq, struct xnb_rx_pkt *pkt);

#endif
