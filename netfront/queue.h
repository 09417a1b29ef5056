/*
 * queue.h — libxnetfront's data path: one netif_tx/netif_rx ring pair with
 * its pool of granted data pages. Pure ring logic: no xenstore, no event
 * channel calls (the caller kicks when a function says so), so unit tests
 * drive it with the backend end of the same pages in their hands.
 *
 * Internal convention: functions return 0 (or a count) or -errno.
 */
#ifndef XNF_QUEUE_H
#define XNF_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <xenctrl.h>		/* xen_mb/xen_rmb/xen_wmb used by ring.h */
#include <xen/grant_table.h>
#include <xen/io/netif.h>

#include "xnetfront.h"

#define XNF_PAGE_SIZE    XC_PAGE_SIZE
#define XNF_TX_RING_SIZE __CONST_RING_SIZE(netif_tx, XC_PAGE_SIZE)
#define XNF_RX_RING_SIZE __CONST_RING_SIZE(netif_rx, XC_PAGE_SIZE)
/* Most slots one frame may use, either way (the protocol's guaranteed
 * minimum; a 64 KiB frame needs 17). */
#define XNF_MAX_SLOTS    XEN_NETIF_NR_SLOTS_MIN
/* Responses handled per call before giving the caller control back. */
#define XNF_RSP_BUDGET   (2 * (int)XNF_TX_RING_SIZE)

/* Pages a largest frame (XNF_FRAME_MAX) fills. */
#define XNF_TX_SPACE_PAGES ((XNF_FRAME_MAX + XNF_PAGE_SIZE - 1) / XNF_PAGE_SIZE)
_Static_assert(XNF_TX_SPACE_PAGES <= XNF_MAX_SLOTS, "a largest frame fits the slots");

/* Free slots taken for a frame to be read straight into their pages
 * (xnf_tx_reserve): ID[k]'s page is IOV[k], in the order xnf_tx_put
 * would fill them. */
struct xnf_tx_space {
	uint16_t id[XNF_TX_SPACE_PAGES];
	struct iovec iov[XNF_TX_SPACE_PAGES];
	unsigned n;
};

/* Spans of a received frame: data slots plus, per extra type, an
 * extra-info slot (which has no data). */
#define XNF_RX_SPANS (XNF_MAX_SLOTS + XEN_NETIF_EXTRA_TYPE_MAX)

/* A received frame in place (xnf_rx_take): F's length and offload fields
 * (F.data NULL), its data as N spans of the receive pages. */
struct xnf_rx_view {
	struct xnf_frame f;
	struct iovec iov[XNF_RX_SPANS];
	unsigned n;
};

/* A received slot, copied off the ring once and validated. */
struct xnf_rx_slot {
	bool extra;			/* holds an extra-info, no data */
	union {
		struct netif_rx_response rsp;	/* !extra */
		struct netif_extra_info ex;	/* extra */
	} u;
};

struct xnf_queue {
	/* Transmit: tx_pages holds XNF_TX_RING_SIZE read-only-granted bounce
	 * pages; the request id is the page index. */
	struct netif_tx_front_ring tx;
	uint8_t *tx_pages;
	grant_ref_t tx_refs[XNF_TX_RING_SIZE];
	uint16_t tx_free[XNF_TX_RING_SIZE];	/* stack of free ids */
	unsigned tx_nfree;
	bool tx_pending[XNF_TX_RING_SIZE];	/* id awaits a response */
	uint16_t tx_used[XNF_TX_RING_SIZE];	/* bytes of page id not zero */
	unsigned tx_extras;			/* extra-info slots unanswered */
	RING_IDX tx_published;			/* req_prod as we last pushed it */
	bool sg;				/* backend has feature-sg */
	unsigned gso;				/* XNF_OFFLOAD_GSO_* the backend takes */
	bool no_csum6;				/* backend lacks IPv6 checksum offload */

	/* Receive: one writable page per ring slot; the request posted at
	 * ring index i has id i % size and uses page id, as Linux does, so a
	 * response must come back in the slot of its request. Buffers of
	 * slots [rx_done, rx.rsp_cons) are copied off the ring but their
	 * frames not yet delivered. */
	struct netif_rx_front_ring rx;
	uint8_t *rx_pages;
	grant_ref_t rx_refs[XNF_RX_RING_SIZE];
	bool rx_posted[XNF_RX_RING_SIZE];
	struct xnf_rx_slot rx_slot[XNF_RX_RING_SIZE];
	RING_IDX rx_done;
	RING_IDX rx_published;			/* req_prod as we last pushed it */
	bool rx_want_extra;			/* next slot is an extra-info */
	/* Buffers in use: at most rx_window requests outstanding, and the
	 * request at ring index i uses page i % rx_window (a power of two,
	 * so the outstanding ones never share a page). XNF_RX_RING_SIZE
	 * unless set smaller before the first refill, to fit a backend's
	 * static grant table. */
	unsigned rx_window;
	unsigned tx_ids;			/* ids [0, tx_ids) in circulation */

	bool broken;
	char reason[160];
	struct xnf_stats stats;
};

/* Set up Q on two zeroed ring pages and the data pools (XNF_TX_RING_SIZE and
 * XNF_RX_RING_SIZE pages with their grant refs). Initialises the shared
 * rings, as the frontend must. */
void xnf_queue_init(struct xnf_queue *q, void *tx_sring, void *rx_sring,
		    uint8_t *tx_pages, const grant_ref_t *tx_refs,
		    uint8_t *rx_pages, const grant_ref_t *rx_refs, bool sg);

/* Use only the first TX_IDS bounce pages and RX_WINDOW receive buffers (a
 * power of two); before the first refill. */
void xnf_queue_set_windows(struct xnf_queue *q, unsigned tx_ids,
			   unsigned rx_window);
/* Put every bounce page in circulation again (any time). */
void xnf_queue_tx_grow(struct xnf_queue *q);

/* Mark Q broken with a reason (first one wins) and log it. */
void xnf_queue_break(struct xnf_queue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Check a producer index read once from the shared page: a backend cannot
 * answer more requests than we published (REQ_PROD: our own record of the
 * req_prod we pushed, never the shared one). 0, or -EPIPE (Q broken). */
int xnf_check_rsp_prod(struct xnf_queue *q, const char *ring,
		       RING_IDX rsp_prod, RING_IDX rsp_cons, RING_IDX req_prod);

/* Slots a frame of LEN bytes needs. */
unsigned xnf_tx_slots(size_t len);
/* Copy FRAME into bounce pages and build its requests (not yet pushed):
 * the first slot, its GSO extra-info if any, the other slots. 0, -EAGAIN
 * (no room: retry after responses), -EMSGSIZE (longer than the protocol
 * or, without feature-sg, a page), -EINVAL (shorter than an Ethernet
 * header, or a GSO type the backend does not take), -EPIPE (Q broken). */
int xnf_tx_put(struct xnf_queue *q, const struct xnf_frame *frame);
/* Take the free slots a largest frame (without feature-sg: a page) may
 * use, so that the caller reads a frame straight into their pages (SP's
 * iovecs). 0, -EAGAIN (no room for a largest frame and its GSO extra:
 * retry after responses), -EPIPE. Then xnf_tx_commit or xnf_tx_cancel. */
int xnf_tx_reserve(struct xnf_queue *q, struct xnf_tx_space *sp);
/* The frame in SP's pages: META's length, flags and GSO fields (its data
 * is ignored). Builds its requests (not yet pushed), as xnf_tx_put does,
 * and gives the slots it did not fill back. The same errors as
 * xnf_tx_put but -EAGAIN (plus -EMSGSIZE when longer than SP's pages);
 * on error the pages are wiped and given back (xnf_tx_cancel). */
int xnf_tx_commit(struct xnf_queue *q, struct xnf_tx_space *sp,
		  const struct xnf_frame *meta);
/* Nothing to send after all: WRITTEN bytes were stored into SP's pages
 * from the first on; they are zeroed (the backend can read a granted page
 * at any time) and the slots given back. */
void xnf_tx_cancel(struct xnf_queue *q, struct xnf_tx_space *sp, size_t written);
/* Queue a multicast filter change: a dummy empty request carrying an
 * XEN_NETIF_EXTRA_TYPE_MCAST_ADD or _DEL extra (TYPE) for MAC, as netif.h
 * says. 0, -EAGAIN (no room), -EINVAL (not a multicast address or type),
 * -EPIPE. */
int xnf_tx_put_mcast(struct xnf_queue *q, uint8_t type, const uint8_t mac[6]);
/* Publish queued requests; *NOTIFY says whether the backend asked for an
 * event (req_event). */
void xnf_tx_push(struct xnf_queue *q, bool *notify);
/* Collect transmit responses, freeing their pages for reuse, and re-arm
 * rsp_event. Returns the number collected or -EPIPE (Q broken by a bad
 * response). */
int xnf_tx_gc(struct xnf_queue *q);
/* Room for a frame of LEN bytes (and a GSO extra, if the backend does GSO)
 * right now? */
bool xnf_tx_room(const struct xnf_queue *q, size_t len);

/* Post a request for every free buffer; *NOTIFY as for tx. */
void xnf_rx_refill(struct xnf_queue *q, bool *notify);
/* Copy new responses off the ring and validate them. Returns the number of
 * slots taken or -EPIPE. */
int xnf_rx_pull(struct xnf_queue *q);
/* Deliver the next complete frame into OUT: 1 delivered, 0 none complete,
 * -ENOBUFS (a frame was dropped: too long for OUT or errored by the backend;
 * counted; call again), -EPIPE. The frame's buffers become free. */
int xnf_rx_next(struct xnf_queue *q, struct xnf_frame *out);

/* As xnf_rx_next without copying: V describes the next complete frame in
 * the receive pages (checked as xnf_rx_next checks it; dropped when longer
 * than CAP). The spans stay valid until the next xnf_rx_refill, which the
 * caller holds back until it is done with them. */
int xnf_rx_take(struct xnf_queue *q, struct xnf_rx_view *v, size_t cap);
/* Copy the first LEN bytes (at most V's length) of V's frame to DST. */
void xnf_rx_view_copy(const struct xnf_rx_view *v, void *dst, size_t len);
/* V's spans past the first SKIP bytes into OUT (room for XNF_RX_SPANS):
 * how many. */
unsigned xnf_rx_view_tail(const struct xnf_rx_view *v, size_t skip,
			  struct iovec *out);

/* Is a whole frame waiting in slots already pulled? */
bool xnf_rx_ready(struct xnf_queue *q);

/* Have responses arrived on either ring (a look at the indices, nothing
 * taken or checked; a broken Q counts as work, for the caller to find)? */
bool xnf_queue_peek(const struct xnf_queue *q);

/* Before sleeping: set rsp_event on both rings (RING_FINAL_CHECK_FOR_
 * RESPONSES). True if responses are already waiting. */
bool xnf_queue_arm(struct xnf_queue *q);

#endif
