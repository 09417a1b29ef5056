/*
 * xnetfront.h — libxnetfront: the frontend half of a Xen virtual network
 * interface (vif) in user space. Opens device/vif/<devid> of the current
 * domain, negotiates with the backend over xenstore exactly as Linux
 * xen-netfront does, shares a netif_tx and a netif_rx ring page plus a
 * pool of data pages per queue (one, or up to 8 with multi-queue), and
 * moves Ethernet frames in bursts.
 *
 * Every function that can fail returns -1 (or NULL) and sets errno. A device
 * is used by one thread at a time (or a thread per queue: see
 * XNF_CFG_QUEUE_FDS).
 *
 * Life of a device:
 *
 *   dev = xnf_open(devid);           handshake starts (does not block)
 *   xnf_wait_connected(dev, 5000);   or poll xnf_fd() and call xnf_process()
 *   xnf_send_burst / xnf_recv_burst / xnf_wait
 *   xnf_close(dev);                  Closing → Closed, everything unshared
 *
 * The backend is not trusted: a response that breaks the protocol (bad id,
 * status or size, producer index beyond the ring) marks the device broken
 * (xnf_state() == XNF_BROKEN, reason in xnf_broken_reason()), logs the
 * reason, writes it to xenstore and takes the device to Closing. The process
 * is never harmed; the caller then closes the device.
 *
 * A backend that goes away (its event channel closes, it goes Closing or
 * Closed, or a restarted one starts over at Initialising/InitWait) closes
 * the device (XNF_CLOSED) by default. With XNF_CFG_RECONNECT the device
 * instead goes back to XNF_CONNECTING: xnf_process lets go of the old
 * rings, pages and channels once the backend has (or after 3 s: what it
 * still maps is then held, see xnf_pages_held), walks our state
 * Closing, Closed, Initialising, and connects again (features read anew)
 * when a backend reaches InitWait; xnf_process then reports XNF_CONNECTED
 * again. A backend whose `online` key is 0 (the toolstack unplugging the
 * vif) still closes the device.
 */
#ifndef XNETFRONT_H
#define XNETFRONT_H

#include <stddef.h>
#include <stdint.h>

struct xnf_dev;

/* Largest frame the library carries (the netif protocol's 16-bit size). */
#define XNF_FRAME_MAX 65535u
/* Smallest frame sent: an Ethernet header (backends drop shorter ones). */
#define XNF_FRAME_MIN 14u

/* struct xnf_frame flags, mapped to NETTXF_* / NETRXF_*. */
#define XNF_F_CSUM_BLANK     0x1	/* L4 checksum not filled in */
#define XNF_F_DATA_VALIDATED 0x2	/* checksum already verified */

/* struct xnf_frame gso_type: a TCP super-frame to cut into GSO_SIZE-byte
 * segments (the protocol's GSO extra-info). */
#define XNF_GSO_NONE  0
#define XNF_GSO_TCPV4 1
#define XNF_GSO_TCPV6 2

/* One Ethernet frame. Send: DATA/LEN, FLAGS and GSO_* are read. Receive:
 * DATA points to CAP bytes of caller memory; LEN, FLAGS and GSO_* are
 * filled in. A GSO frame always has XNF_F_CSUM_BLANK. */
struct xnf_frame {
	void *data;
	uint32_t len;
	uint32_t cap;
	uint32_t flags;
	uint16_t gso_type;
	uint16_t gso_size;
};

/* Offloads (struct xnf_config, xnf_backend_offloads). */
#define XNF_OFFLOAD_CSUM      0x1	/* frames may carry blank checksums */
#define XNF_OFFLOAD_GSO_TCPV4 0x2
#define XNF_OFFLOAD_GSO_TCPV6 0x4

/* struct xnf_config flags. */
#define XNF_CFG_MCAST_CONTROL 0x1	/* ask for multicast filtering, if
					 * offered: see xnf_mcast_add */
#define XNF_CFG_RECONNECT     0x2	/* outlive the backend: see below */
#define XNF_CFG_QUEUE_FDS     0x4	/* a thread per queue: see
					 * xnf_queue_fd */
#define XNF_CFG_POLL_US       0x8	/* poll_us is meant: see xnf_poll_us */

struct xnf_config {
	/* What we accept from the backend (published as feature keys);
	 * 0 = checksummed, segmented frames only (the default). */
	unsigned rx_offloads;
	unsigned flags;		/* XNF_CFG_*; 0 by default */
	/* Queues (ring pairs) wanted: 0 or 1 = one; the device uses
	 * min(this, 8, the backend's multi-queue-max-queues), as Linux
	 * netfront does with its CPU count. */
	unsigned max_queues;
	/* With XNF_CFG_POLL_US: how long to poll the rings before sleeping
	 * (0..XNF_POLL_US_MAX microseconds, 0 = never); see xnf_poll_us. */
	unsigned poll_us;
};

enum xnf_state {
	XNF_CONNECTING = 1,	/* handshake in progress */
	XNF_CONNECTED,		/* frames flow */
	XNF_CLOSED,		/* the backend went away or closed us */
	XNF_BROKEN,		/* the backend broke the protocol */
};

struct xnf_stats {
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_errors;	/* backend answered ERROR or DROPPED */
	uint64_t tx_dropped;	/* refused locally: too big for the backend */
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_errors;	/* backend delivered ERROR or DROPPED */
	uint64_t rx_dropped;	/* caller's buffer too small */
	uint64_t notify_tx, notify_rx;	/* event channel kicks sent */
	uint64_t tx_csum6_filled;	/* IPv6 checksums filled for a backend
					 * without IPv6 checksum offload */
	uint64_t polls;		/* xnf_wait/xnf_queue_poll polled the rings */
	uint64_t poll_hits;	/* ... and found work before sleeping */
};

/* Start the handshake for device/vif/DEVID of this domain. Needs the
 * `backend`, `backend-id` and `mac` keys the toolstack writes. A vif left
 * in another state than Initialising by a previous user (stopped or dead)
 * is first walked back to Initialising, the backend following each step
 * (this waits, 5 s at most). One user per vif. Errors: ENOENT (no such
 * vif), EINVAL (a key is malformed; logged), or the platform's. */
struct xnf_dev *xnf_open(unsigned devid);
/* xnf_open with a configuration (NULL: the defaults). */
struct xnf_dev *xnf_open_config(unsigned devid, const struct xnf_config *cfg);
/* What the backend accepts from us, XNF_OFFLOAD_*; known once connected
 * (0 before). Blank checksums are always accepted by a netif backend. */
unsigned xnf_backend_offloads(const struct xnf_dev *dev);

/* A file descriptor that becomes readable when the device needs
 * xnf_process(): an event from the backend or a xenstore change. */
int xnf_fd(const struct xnf_dev *dev);

/* Handle whatever made xnf_fd() readable: advance the handshake, collect
 * transmit completions. Never blocks. Returns the current state, or -1. */
int xnf_process(struct xnf_dev *dev);

enum xnf_state xnf_state(const struct xnf_dev *dev);
/* Why the device is broken or closed (static storage of DEV), or "". */
const char *xnf_broken_reason(const struct xnf_dev *dev);

/* Block until the device is connected, up to TIMEOUT_MS. 0, or -1 with
 * errno ETIMEDOUT, or ENOTCONN if it closed or broke instead. */
int xnf_wait_connected(struct xnf_dev *dev, int timeout_ms);

/* Queue up to N frames for transmission and kick the backend once if it
 * asked to be kicked. Returns how many frames were consumed from the front
 * of FRAMES: sent, or dropped and counted (too long for the backend, shorter
 * than XNF_FRAME_MIN, a GSO type the backend does not take). Fewer than N
 * means the ring is full: retry after xnf_wait(). -1 with ENOTCONN when the
 * device is not connected. */
int xnf_send_burst(struct xnf_dev *dev, const struct xnf_frame *frames,
		   unsigned n);

/* Receive up to N frames into BUFS. Returns how many were filled (0 when
 * none is waiting). A frame longer than its buffer's CAP is dropped and
 * counted. -1 with ENOTCONN when the device is not connected. */
int xnf_recv_burst(struct xnf_dev *dev, struct xnf_frame *bufs, unsigned n);

/* Ask to be woken for the next received frame or transmit completion, then
 * wait up to TIMEOUT_MS (-1: forever) and process what arrived. Returns 1
 * if there is work (or the state changed), 0 on timeout, -1 on error. */
int xnf_wait(struct xnf_dev *dev, int timeout_ms);

/* Adaptive polling. After a call that moved frames (xnf_send_burst,
 * xnf_recv_burst and their _queue variants), the next xnf_wait looks at
 * the rings' indices (transmit completions, received frames) for up to
 * xnf_poll_us() microseconds before it asks for events and sleeps: on
 * many machines a wake-up costs tens of microseconds, a look at an index
 * nanoseconds. It returns 1 as soon as the rings have work (events that
 * came meanwhile are taken at the next xnf_wait that sleeps, or by
 * xnf_process); after a call that moved nothing it never polls. The time
 * is xnf_config's poll_us with XNF_CFG_POLL_US, else XNETFRONT_POLL_US
 * from the environment (0..1000; anything else is logged and the default
 * used), else XNF_POLL_US_DEFAULT. 0: never poll (a core shared by more
 * busy threads than it has is better served sleeping). xnf_open_config
 * fails with EINVAL for a poll_us above XNF_POLL_US_MAX. */
#define XNF_POLL_US_DEFAULT 20u
#define XNF_POLL_US_MAX     1000u
unsigned xnf_poll_us(const struct xnf_dev *dev);

/* Multicast control (netif.h): with XNF_CFG_MCAST_CONTROL and a backend
 * that offers it, the device asks for it at connect
 * (request-multicast-control), and from then on
 * the backend delivers only the multicast groups added here (broadcast
 * always). xnf_mcast_filtering: 1 once connected so, else 0 (every
 * multicast frame comes). xnf_mcast_add / _del: tell the backend
 * to deliver, or stop delivering, frames to the multicast MAC address;
 * 0, or -1 with errno EOPNOTSUPP (not asked for, or the backend has no
 * multicast control),
 * EINVAL (not a multicast address), EAGAIN (ring full: retry after
 * xnf_wait), ENOTCONN. The backend forgets the list when it disconnects. */
int xnf_mcast_filtering(const struct xnf_dev *dev);
int xnf_mcast_add(struct xnf_dev *dev, const uint8_t mac[6]);
int xnf_mcast_del(struct xnf_dev *dev, const uint8_t mac[6]);

/* Whether the transmit ring has room for at least one full-size frame. */
int xnf_tx_ready(const struct xnf_dev *dev);

/* Multi-queue. The number of queues in use: fixed at connect (1 before).
 * xnf_send_burst and xnf_tx_ready use queue 0; xnf_recv_burst takes from
 * every queue in turn. The _queue variants name the queue (the backend
 * steers frames to the queue its hash says, when the device set one up
 * over the control ring); as their plain versions, plus EINVAL for a
 * queue not below xnf_queues(). */
unsigned xnf_queues(const struct xnf_dev *dev);
int xnf_send_burst_queue(struct xnf_dev *dev, unsigned queue,
			 const struct xnf_frame *frames, unsigned n);
int xnf_recv_burst_queue(struct xnf_dev *dev, unsigned queue,
			 struct xnf_frame *bufs, unsigned n);
int xnf_tx_ready_queue(const struct xnf_dev *dev, unsigned queue);

/* A thread per queue (XNF_CFG_QUEUE_FDS): each queue's event channels
 * are bound on a handle of their own, whose fd xnf_queue_fd gives (not
 * part of xnf_fd; anew at every connect). Queue K's thread may call
 * xnf_send_burst_queue, xnf_recv_burst_queue, xnf_tx_ready_queue,
 * xnf_queue_events and xnf_queue_rearm for K while the owner of the
 * device calls none of the device's functions (the caller's locking);
 * everything else stays with the owner. xnf_queue_events takes the
 * queue's pending events when its fd is readable: 1 when the owner
 * should call xnf_process (the queue broke, or an event brought no work:
 * the backend may have gone), else 0. xnf_queue_rearm collects transmit
 * completions and asks for events before the thread sleeps: 1 if work
 * came meanwhile (do not sleep); -1 with ENOTCONN also when the queue
 * broke (the owner's xnf_process tells). All three: -1 with errno
 * ENOTCONN, EINVAL. */
int xnf_queue_fd(const struct xnf_dev *dev, unsigned queue);
int xnf_queue_events(struct xnf_dev *dev, unsigned queue);
int xnf_queue_rearm(struct xnf_dev *dev, unsigned queue);
/* Queue K's thread, before it sleeps: if its last calls moved frames,
 * look at the queue's rings for up to xnf_poll_us(), and at the NFDS
 * descriptors FDS (struct pollfd, as poll(2); its other inputs: a TAP, a
 * wake-up) every few microseconds. 1 if work came (go round again), 0
 * when the thread may sleep; -1 with ENOTCONN, EINVAL as above. */
struct pollfd;
int xnf_queue_poll(struct xnf_dev *dev, unsigned queue, struct pollfd *fds,
		   unsigned nfds);

/* 1 unless the backend wrote `carrier`=0 in its directory (re-read at
 * every xnf_process after a change); 0 then. Frames still flow: a carrier
 * is advice for the interface above, as a NIC's link state. */
int xnf_carrier(const struct xnf_dev *dev);

unsigned xnf_devid(const struct xnf_dev *dev);
/* The MAC address from the vif's `mac` key. */
void xnf_mac(const struct xnf_dev *dev, uint8_t mac[6]);
/* The MTU from the vif's `mtu` key (1500 when absent). */
unsigned xnf_mtu(const struct xnf_dev *dev);
/* Counters since xnf_open, every connection's (see XNF_CFG_RECONNECT). */
void xnf_get_stats(const struct xnf_dev *dev, struct xnf_stats *out);
/* Queue QUEUE's counters alone: 0, or -1 with EINVAL for a queue number
 * not below XNF_MAX_QUEUES (8). */
int xnf_get_queue_stats(const struct xnf_dev *dev, unsigned queue,
			struct xnf_stats *out);
/* How often the backend went away and the device reconnected. */
unsigned xnf_reconnects(const struct xnf_dev *dev);
/* Pages whose grant the backend did not let us end when a connection
 * ended (it still maps them): held now (never used again, tried again now
 * and then, freed once it lets go), and abandoned (more than 1024 held).
 * A device does not connect again while 1024 are held or abandoned. */
unsigned xnf_pages_held(const struct xnf_dev *dev);
unsigned xnf_pages_abandoned(const struct xnf_dev *dev);

/* Close: while still connected, ask the backend to drop our static grants
 * (control ring; up to 0.5 s), then state Closing, wait (bounded, 5 s) for
 * the backend to let go of the pages, unshare them, unbind the channels, state Closed, free DEV.
 * Safe in every state, also after the vif was removed from xenstore.
 * Returns 0, or -1 with errno (EBUSY: the backend still maps pages; they
 * are given up on, logged, and left to the hypervisor, which ends their
 * grants once the backend unmaps them). DEV is freed either way. */
int xnf_close(struct xnf_dev *dev);

/* Closing without blocking, for callers serving other devices meanwhile:
 * xnf_shutdown goes Closing (state XNF_CLOSED unless broken); keep polling
 * xnf_fd() with xnf_process() until xnf_released() is 1 or your own
 * deadline passes; then xnf_close() finishes without waiting. Connected
 * with static grants, xnf_shutdown first waits (up to 0.5 s) for the
 * backend to drop them, as xnf_close does. */
int xnf_shutdown(struct xnf_dev *dev);
/* 1 once the backend has let go of our pages (Closing, Closed, gone, or its
 * channel closed), else 0. */
int xnf_released(struct xnf_dev *dev);

#endif
