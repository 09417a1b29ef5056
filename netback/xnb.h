/*
 * xnb.h — xnetback's internal interface: per-vif and per-queue state, the
 * packet structs the data path passes between its small functions, the
 * counters, and the I/O hooks through which tx.c/rx.c reach the hypervisor
 * and the TAP (so unit tests can drive the data path without either).
 */
#ifndef XNB_H
#define XNB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <xenctrl.h>		/* xen_mb/xen_rmb/xen_wmb, XC_PAGE_SIZE */
#include <xengnttab.h>
#include <xen/io/netif.h>
#include <linux/virtio_net.h>

/* One load of a field the peer may change under us. */
#define XNB_READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

#define XNB_PAGE_SIZE	  4096u
#define XNB_TX_RING_SIZE  __CONST_RING_SIZE(netif_tx, XNB_PAGE_SIZE)
#define XNB_RX_RING_SIZE  __CONST_RING_SIZE(netif_rx, XNB_PAGE_SIZE)

/* Data slots one TX packet may use: netif.h's minimum every backend must
 * accept; more is a protocol violation (we do not negotiate a larger one). */
#define XNB_TX_MAX_SLOTS  XEN_NETIF_NR_SLOTS_MIN
/* Extra-info slots one packet may carry: each type at most once. */
#define XNB_MAX_EXTRAS	  (XEN_NETIF_EXTRA_TYPE_MAX - 1)
#define XNB_MIN_FRAME	  14u	/* ETH_HLEN: anything shorter is no frame */
#define XNB_MAX_FRAME	  65535u	/* XEN_NETIF_MAX_TX_SIZE: a guest TX frame */
/* A frame from the TAP: a 64 KiB GSO packet plus Ethernet and VLAN headers. */
#define XNB_RX_MAX_FRAME  (65535u + 18u)
/* Ring slots one RX packet may use: its pages plus the GSO extra. */
#define XNB_RX_MAX_SLOTS  ((XNB_RX_MAX_FRAME + XNB_PAGE_SIZE - 1) / XNB_PAGE_SIZE + 1)
/* ... plus the hash extra, for a frontend that enabled hashing (ctrl.c). */
#define XNB_RX_MAX_PKT_SLOTS (XNB_RX_MAX_SLOTS + 1)

/* Budgets: packets handled per ring round before yielding to other vifs. */
#define XNB_TX_BUDGET	  64
#define XNB_RX_BUDGET	  64
/* A frame read from the TAP straight into the guest's static grants: the
 * virtio-net header and the first XNB_RX_HDR_COPY bytes are read into our
 * memory (every decision is taken on them; the hash reads at most 98
 * bytes) and copied to the guest's page after. */
#define XNB_RX_HDR_COPY	  128u
/* Bytes staged per round (grant copy destination / TAP read buffer). */
#define XNB_STAGE_BYTES	  (8u * (XNB_RX_MAX_FRAME + 64u))

/* memcpy for one frame's share of a page. Most frames are small: those
 * go 16 bytes at a time (the last move overlapping), as the compiler's
 * inline `rep movs` for a length it does not know costs more than the
 * copy itself at that size. DST and SRC do not overlap. */
static inline void xnb_copy(void *dst, const void *src, size_t len)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (len < 16 || len > 256) {
		memcpy(d, s, len);
		return;
	}
	for (size_t at = 0; at + 16 < len; at += 16)
		memcpy(d + at, s + at, 16);
	memcpy(d + len - 16, s + len - 16, 16);
}

/* ---- counters ------------------------------------------------------------ */

/* Why a packet was dropped; xnb_drop_name() gives the stats key. */
enum xnb_drop {
	XNB_DROP_TX_BAD_SIZE,	/* < ETH_HLEN, or first slot's total < frags */
	XNB_DROP_TX_COPY,	/* grant copy failed (bad gref, ...) */
	XNB_DROP_TX_CSUM,	/* checksum/GSO setup impossible */
	XNB_DROP_TX_MCAST,	/* multicast filter request refused (list full) */
	XNB_DROP_TX_TAP,	/* TAP write failed (full, down) */
	XNB_DROP_RX_TOO_BIG,	/* frame needs more slots than the peer takes */
	XNB_DROP_RX_COPY,	/* grant copy into the guest failed */
	XNB_DROP_RX_BAD_HDR,	/* TAP gave an unusable virtio-net header */
	XNB_DROP_RX_MCAST,	/* multicast the frontend did not subscribe to */
	XNB_DROP_TX_SPOOF_MAC,	/* source (or ARP sender) MAC is not the vif's `mac` */
	XNB_DROP_TX_SPOOF_IP,	/* source / ARP sender address not in `ip` */
	XNB_DROP_TX_VLAN,	/* guest sent its own VLAN tag where policy forbids */
	XNB_DROP_TX_MTU,	/* larger than `mtu` (GSO: a segment larger) */
	XNB_DROP_RX_VLAN,	/* from the host without the vif's VLAN tag */
	XNB_DROP_RX_NO_BUF,	/* the guest posted no buffer in time (drained) */
	XNB_DROP_MAX
};

/* Per-vif counters. tx = guest → host, rx = host → guest (the guest's view,
 * as in Linux netback). Read by the stats socket later: plain integers,
 * written only by the thread serving the vif. */
struct xnb_stats {
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_gso, rx_gso;
	uint64_t drops[XNB_DROP_MAX];
	uint64_t rx_stalls;	/* rounds that found no buffer posted */
	uint64_t tx_throttled;	/* TX rounds cut short by the rate limit */
	uint64_t notify_sent, notify_suppressed;
	uint64_t rx_zerocopy;	/* frames read from the TAP into static grants */
};

const char *xnb_drop_name(enum xnb_drop d);
/* Format S as "name value" lines into BUF (for the stats socket). Returns
 * the length, or -ENOSPC. */
int xnb_stats_format(const struct xnb_stats *s, char *buf, size_t len);

/* ---- features negotiated with the frontend -------------------------------- */

struct xnb_feat {
	bool sg;		/* frontend takes multi-slot RX packets */
	bool gso_tcpv4, gso_tcpv6;	/* frontend takes GSO RX packets */
	bool ip_csum;		/* !feature-no-csum-offload */
	bool ipv6_csum;		/* feature-ipv6-csum-offload */
	bool rx_notify;		/* frontend kicks us when it posts RX buffers */
};

/* ---- rate limit (policy.c) ------------------------------------------------ */

/* The toolstack's `rate`: BYTES per USEC window; BYTES 0 = unlimited. */
struct xnb_credit {
	uint64_t bytes, usec;
	uint64_t remaining;
	uint64_t window_start;	/* ns, CLOCK_MONOTONIC */
};

/* "bytes,usec", both positive decimals. 0 or -EINVAL. */
int xnb_parse_rate(const char *s, uint64_t *bytes, uint64_t *usec);
void xnb_credit_set(struct xnb_credit *c, uint64_t bytes, uint64_t usec, uint64_t now);
/* May SIZE bytes go at NOW? If so they are taken; if not, *RETRY says when
 * there will be credit again. */
bool xnb_credit_take(struct xnb_credit *c, uint32_t size, uint64_t now, uint64_t *retry);

/* ---- multicast filter (policy.c) -------------------------------------------- */

#define XNB_MCAST_MAX 64	/* as Linux netback */

/* The frontend's multicast list, filled by MCAST_ADD/DEL extras on TX and
 * applied to RX while `request-multicast-control` is set. */
struct xnb_mcast {
	bool enabled;
	pthread_mutex_t lock;	/* n and addr: zeroed is initialised (glibc) */
	unsigned n;
	uint8_t addr[XNB_MCAST_MAX][6];
};

/* Add / remove ADDR: 0, or -ENOSPC when the list is full (add) / -EINVAL
 * for an address that is not multicast. Removing an absent one is fine. */
int xnb_mcast_add(struct xnb_mcast *m, const uint8_t addr[6]);
void xnb_mcast_del(struct xnb_mcast *m, const uint8_t addr[6]);
/* Should a frame to DEST reach the frontend? Unicast and broadcast always;
 * multicast only if the filter is off or DEST is on the list. */
bool xnb_mcast_pass(struct xnb_mcast *m, const uint8_t dest[6]);

/* ---- per-vif policy: anti-spoofing, VLAN, MTU, RX stall (policy_*.c) ------- */

#define XNB_IP_MAX	 32	/* addresses (or prefixes) in `ip` */
#define XNB_VLAN_HLEN	 4u	/* an 802.1Q tag */

struct xnb_prefix {
	uint8_t family;		/* 4 or 6 */
	uint8_t len;		/* prefix length in bits */
	uint8_t addr[16];	/* masked to LEN bits */
};

/* What the vif's guest may send and how its frames are tagged, parsed once
 * at connect so that the data path only compares. */
struct xnb_policy {
	uint8_t mac[6];		/* `mac`: the only source MAC the guest may use */
	uint16_t vlan;		/* `vlan` 1..4094; 0: frames stay untagged */
	unsigned mtu;		/* `mtu` (default 1500): largest L3 packet from the guest */
	bool ip_filter;		/* `ip` given: sources must be in ip[] */
	unsigned nip;
	struct xnb_prefix ip[XNB_IP_MAX];
	uint64_t rx_drain_ns;	/* a frame waits this long for buffers, then is dropped */
	uint64_t rx_stall_ns;	/* no buffer posted this long: queue stalled */
};

/* Strictly parse `ip` (IPv4/IPv6 addresses, each optionally "/PREFIX",
 * separated by single spaces) into P->ip. 0, or -EINVAL with WHY. */
int xnb_parse_iplist(const char *s, struct xnb_policy *p, char *why, size_t whylen);
/* May the guest send FRAME (LEN bytes, its virtio-net header VH)? 0, or
 * -EPERM with the drop reason in *WHY. */
int xnb_policy_tx(const struct xnb_policy *p, const uint8_t *frame, uint32_t len,
		  const struct virtio_net_hdr *vh, enum xnb_drop *why);
/* The iovec for the TAP: VH, then FRAME with P's VLAN tag (built in TAG)
 * inserted after the MAC addresses, VH's offsets shifted to match. P may
 * be NULL. Returns the iovec count (2 or 4). */
int xnb_policy_tx_iov(const struct xnb_policy *p, struct virtio_net_hdr *vh, uint8_t *frame,
		      uint32_t len, uint8_t tag[XNB_VLAN_HLEN], struct iovec iov[4]);
/* A frame from the TAP (BUF: virtio-net header + frame, LEN bytes): with a
 * VLAN set it must carry that tag, which is stripped by moving the header
 * and MAC addresses 4 bytes up. Returns how far the start moved (0 or 4),
 * or -EPERM (drop). P may be NULL. */
int xnb_policy_rx_vlan(const struct xnb_policy *p, uint8_t *buf, size_t len);

/* ---- packets ------------------------------------------------------------- */

/* One guest TX packet, copied off the ring and validated. */
struct xnb_tx_pkt {
	unsigned nslots;	/* data slots */
	unsigned nextras;	/* extra-info slots (right after slot[0]) */
	netif_tx_request_t slot[XNB_TX_MAX_SLOTS];
	uint16_t len[XNB_TX_MAX_SLOTS];	/* bytes taken from each data slot */
	uint32_t size;		/* whole frame */
	uint16_t flags;		/* slot[0].flags: NETTXF_* */
	bool has_gso, has_mcast;
	struct netif_extra_info gso;
	struct netif_extra_info mcast;	/* MCAST_ADD or MCAST_DEL */
	int16_t status;		/* NETIF_RSP_OKAY until something fails */
	enum xnb_drop why;	/* valid when status != OKAY */
	uint8_t *data;		/* where grant copy puts the frame */
	unsigned first_seg, nsegs;	/* its grant ops in the batch */
};

/* One frame from the TAP on its way to the guest. */
struct xnb_rx_pkt {
	struct virtio_net_hdr vh;
	uint8_t *data;
	uint32_t size;
	unsigned nslots;	/* data slots it needs */
	unsigned first_req;	/* its requests in queue->rx_reqs */
	unsigned first_seg, nsegs;	/* its grant ops in the batch */
	bool has_gso;
	struct netif_extra_info gso;
	bool has_hash;		/* the frontend's Toeplitz hash (ctrl.c) */
	struct netif_extra_info hash;
	uint16_t flags;		/* NETRXF_* for the first response */
	bool zc;		/* read straight into the guest's buffers */
};

/* ---- queues and vifs ------------------------------------------------------ */

/* How tx.c/rx.c reach the outside world; interface.c fills it for real,
 * unit tests with fakes. CTX is passed back unchanged. */
struct xnb_io {
	/* Batched grant copy: 0 (look at each status) or -errno. */
	int (*grant_copy)(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs);
	/* Kick the frontend on PORT. */
	void (*notify)(void *ctx, uint32_t port);
	/* Deliver a frame to the host (iov[0] is the virtio-net header). */
	ssize_t (*tap_write)(void *ctx, const struct iovec *iov, int iovcnt);
	/* Read one frame (virtio-net header first); -1/EAGAIN when none. */
	ssize_t (*tap_read)(void *ctx, void *buf, size_t len);
	/* The same into IOV (as readv(2)); NULL: RX never reads into the
	 * guest's pages. */
	ssize_t (*tap_readv)(void *ctx, const struct iovec *iov, int iovcnt);
	/* The clock for rate limiting (ns); NULL: CLOCK_MONOTONIC. */
	uint64_t (*now_ns)(void *ctx);
	/* The TAP's carrier (RX stall detection); NULL: none to change. */
	void (*carrier)(void *ctx, bool on);
	/* Where the frontend's REF is mapped for the rest of this round (a
	 * static grant; WRITE: a writable one), or NULL: use grant copy.
	 * NULL hook: never. */
	void *(*gref_page)(void *ctx, uint32_t ref, bool write);
	/* TX or RX copied N segments itself from or to static grants
	 * (gref_page), as grant_copy would have; CALL: and the round made no
	 * grant_copy call. For the counters; NULL: not counted. */
	void (*copied_static)(void *ctx, unsigned n, bool call);
	/* Add the hash extra to PKT if the frontend asked; NULL: never. */
	void (*rx_hash)(void *ctx, struct xnb_rx_pkt *pkt);
	void *ctx;
};

/* Why a queue stopped: set once, on a protocol violation. */
#define XNB_REASON_MAX 160

/* One TX/RX ring pair with its event channel(s). */
struct xnb_queue {
	unsigned id;
	uint32_t domid;		/* the frontend's domain */
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	uint32_t tx_port, rx_port;	/* local ports (equal unless split) */
	struct xnb_feat feat;
	const struct xnb_io *io;
	struct xnb_stats *stats;	/* the vif's */
	struct xnb_mcast *mcast;	/* the vif's; NULL: no filtering */
	const struct xnb_policy *policy;	/* the vif's; NULL: no checks */

	/* TX batch: packets, their grant ops, the staging area they land in. */
	struct xnb_tx_pkt tx_pkts[XNB_TX_BUDGET];
	xengnttab_grant_copy_segment_t tx_segs[XNB_TX_BUDGET * XNB_TX_MAX_SLOTS];
	uint8_t *tx_stage;

	/* RX batch. A frame that found no room in the guest's buffers waits in
	 * rx_held (at the start of rx_stage) for the next round. */
	struct xnb_rx_pkt rx_pkts[XNB_RX_BUDGET];
	xengnttab_grant_copy_segment_t rx_segs[XNB_RX_BUDGET * XNB_RX_MAX_SLOTS];
	netif_rx_request_t rx_reqs[XNB_RX_BUDGET * XNB_RX_MAX_PKT_SLOTS];
	uint8_t *rx_stage;
	bool rx_held;
	size_t rx_held_len;
	unsigned rx_held_need;	/* slots it needs */
	/* Zero-copy RX guesses the next frame's layout from the last one's:
	 * more than one page (else no zero copy), and how many extra slots
	 * follow the first. */
	bool rx_zc_big;
	unsigned rx_zc_extras;

	/* TX's request event: with tx_defer_arm an idle round leaves it
	 * unarmed (tx_unarmed) for the caller to arm with xnb_tx_arm() once it
	 * stops polling the ring. */
	bool tx_defer_arm, tx_unarmed;

	/* Rate limit on guest TX; while throttled, TX waits until tx_retry_ns. */
	struct xnb_credit credit;
	uint64_t tx_retry_ns;

	/* RX stall detection (policy_stall.c), after Linux netback: a frame
	 * that waited rx_drain_ns for buffers is dropped and later ones that
	 * find none too (draining); no buffer for rx_stall_ns: stalled,
	 * carrier off, until the guest posts again. */
	uint64_t rx_held_since;	/* ns the held frame first waited; 0: none */
	uint64_t rx_last_ns;	/* last frame placed (or recovery, or start) */
	uint64_t rx_deadline_ns;	/* wake RX then even without events; 0: none */
	bool rx_draining, rx_stalled;

	bool broken;		/* protocol violation seen: serve no more */
	char reason[XNB_REASON_MAX];
};

/* Result of one ring round. */
enum xnb_work {
	XNB_IDLE = 0,		/* nothing left; event index set */
	XNB_MORE = 1,		/* budget used up: call again soon */
	XNB_WAIT = 2,		/* RX: a frame waits for buffers */
	XNB_THROTTLED = 3,	/* TX: out of rate credit until tx_retry_ns */
	XNB_BROKEN = -1,	/* protocol violation: see queue->reason */
};

/* queue.c */
int xnb_queue_init(struct xnb_queue *q, unsigned id, uint32_t domid,
		   void *tx_sring, void *rx_sring, const struct xnb_feat *feat,
		   const struct xnb_io *io, struct xnb_stats *stats);
void xnb_queue_fini(struct xnb_queue *q);
void xnb_queue_fail(struct xnb_queue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* tx.c — pure pieces first, then the ring round. */

/* Copy one packet's slots off the ring (from req_cons, not past PROD) and
 * validate them. Returns the number of slots consumed (pkt->status says
 * whether the packet is good), or -EPROTO with WHY filled for a protocol
 * violation. Does not move req_cons. */
int xnb_tx_ring_to_packet(const netif_tx_back_ring_t *ring, RING_IDX prod,
			  struct xnb_tx_pkt *pkt, char *why, size_t whylen);
/* Grant ops that copy PKT's slots from DOMID into pkt->data. Returns the
 * number written to SEGS (at most XNB_TX_MAX_SLOTS). */
unsigned xnb_tx_packet_to_grant_ops(const struct xnb_tx_pkt *pkt, uint32_t domid,
				    xengnttab_grant_copy_segment_t *segs);
/* The responses for PKT in ring order (one per consumed slot). Returns how
 * many were written to RSP. */
unsigned xnb_tx_packet_to_responses(const struct xnb_tx_pkt *pkt,
				    netif_tx_response_t *rsp);
/* The virtio-net header for a copied packet: 0, or -EINVAL when its
 * checksum/GSO request cannot be expressed (the packet is dropped). */
int xnb_tx_packet_to_vnet_hdr(const struct xnb_tx_pkt *pkt, struct virtio_net_hdr *vh);
/* One TX round on Q. */
enum xnb_work xnb_tx_run(struct xnb_queue *q);
/* After an idle round that left the request event unarmed: ask the
 * frontend to kick us for its next request. True if requests came in
 * meanwhile (run again instead of sleeping). */
bool xnb_tx_arm(struct xnb_queue *q);

/* rx.c */

/* Describe a frame read from the TAP (BUF = header + frame, LEN bytes) for
 * a frontend with features F. 0, or -EMSGSIZE (needs more slots than the
 * frontend takes) / -EINVAL (bad header). The multicast filter is applied
 * by the caller. */
int xnb_rx_frame_to_packet(const uint8_t *buf, size_t len, const struct xnb_feat *f,
			   struct xnb_rx_pkt *pkt);
/* Ring slots PKT uses (data + extra). */
unsigned xnb_rx_packet_slots(const struct xnb_rx_pkt *pkt);
/* Grant ops copying PKT into the guest buffers REQS (one per data slot, in
 * ring order; extra slots' entries are skipped). Returns the op count. */
unsigned xnb_rx_packet_to_grant_ops(const struct xnb_rx_pkt *pkt, uint32_t domid,
				    const netif_rx_request_t *reqs,
				    xengnttab_grant_copy_segment_t *segs);
/* The responses for PKT, one per slot it used, in ring order; OK says
 * whether its copies succeeded. Returns the number written. */
unsigned xnb_rx_packet_to_responses(const struct xnb_rx_pkt *pkt,
				    const netif_rx_request_t *reqs, bool ok,
				    netif_rx_response_t *rsp);
/* One RX round on Q: TAP → guest. */
enum xnb_work xnb_rx_run(struct xnb_queue *q);

/* policy_stall.c — RX stall detection and draining (see struct xnb_queue). */
uint64_t xnb_queue_now(const struct xnb_queue *q);
/* Start of an RX round (PROD: the guest's producer index): drop a held
 * frame that waited too long, notice a stall or the end of one. */
void xnb_rx_stall_begin(struct xnb_queue *q, RING_IDX prod, uint64_t now);
/* A frame found buffers (placed) or must wait for them (held). */
void xnb_rx_stall_placed(struct xnb_queue *q, uint64_t now);
void xnb_rx_stall_held(struct xnb_queue *q, uint64_t now);
/* End of an RX round: sets q->rx_deadline_ns; true if RX should run again
 * at once (the guest posted while we looked). */
bool xnb_rx_stall_end(struct xnb_queue *q, uint64_t now);

/* csum.c — where the L4 header and its checksum field are in a frame. */
struct xnb_l4 {
	uint16_t l3_proto;	/* ETH_P_IP / ETH_P_IPV6 */
	uint8_t l4_proto;	/* IPPROTO_TCP / IPPROTO_UDP */
	uint16_t l4_off;	/* from the frame start */
	uint16_t csum_off;	/* from l4_off */
	uint16_t hdr_len;	/* through the L4 header */
};
int xnb_parse_l4(const uint8_t *frame, size_t len, struct xnb_l4 *out);

#endif
