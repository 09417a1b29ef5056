/*
 * dev.h — internal to libxnetfront: the per-vif state shared by the
 * xenstore side (xenbus.c: keys, features, XenbusState) and the resource
 * side (dev.c: shared pages, event channels, the public API). They meet in
 * xnf_dev_connect / xnf_dev_disconnect only.
 */
#ifndef XNF_DEV_H
#define XNF_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "queue.h"
#include "xnetfront.h"
#include "xnx_platform.h"

#define XNF_PATH_MAX 256

/* Most queues a vif uses (Linux netback offers at most 8 too). */
#define XNF_MAX_QUEUES 8u

/* One queue's shared resources: its two ring pages, its data pools and
 * their grant refs, its event channel(s) and the ring logic over them. */
struct xnf_qres {
	void *tx_sring, *rx_sring;
	grant_ref_t tx_ring_ref, rx_ring_ref;
	uint8_t *tx_pool, *rx_pool;
	grant_ref_t tx_refs[XNF_TX_RING_SIZE], rx_refs[XNF_RX_RING_SIZE];
	int port_tx, port_rx;		/* -1 unbound; equal unless split */
	/* The handle the ports are bound on: the device's, or with
	 * XNF_CFG_QUEUE_FDS the queue's own (its thread waits on it). */
	xnx_evtchn *ev;
	bool look;			/* an event with no work: see peer_gone
					 * (atomic: set by the queue's thread) */
	bool worked;			/* frames moved since the last poll
					 * (atomic: the queue's thread) */
	struct xnf_queue *q;		/* set while rings are shared */
};

/* Pages of the control ring's data area (granted to the backend). */
enum { XNF_CTRL_KEY, XNF_CTRL_MAPPING, XNF_CTRL_GREFS, XNF_CTRL_PAGES };
/* Static grants offered per queue when the backend has a control ring: half
 * bounce pages, half receive buffers, so xnetback's 256 hold them all. */
#define XNF_STATIC_TX 128u
#define XNF_STATIC_RX 128u

/* The control ring as the frontend (ctrl.c): one request outstanding at a
 * time, a fixed sequence of steps after the backend connects. */
struct xnf_ctrl {
	struct xen_netif_ctrl_front_ring ring;
	void *sring;
	grant_ref_t ring_ref;
	uint8_t *data;				/* XNF_CTRL_PAGES pages */
	grant_ref_t data_refs[XNF_CTRL_PAGES];
	int port;				/* -1 unbound */
	int step;				/* the request outstanding, or
						 * where the sequence stopped */
	bool waiting;				/* a request is outstanding */
	uint16_t next_id;
	uint32_t gref_size;			/* GET_GREF_MAPPING_SIZE */
	unsigned queue;				/* of the GREF request outstanding */
	unsigned grefs_sent;			/* entries in that request */
	unsigned grefs_added[XNF_MAX_QUEUES];	/* entries ADD took, per queue */
	unsigned grefs_left;			/* after DEL: still mapped */
	bool hashing;				/* Toeplitz configured */
};

/* Pages whose grant the backend would not let us end (grants.c): never
 * used again; at most XNF_HELD_MAX (more are abandoned at once), and no
 * new connection while that many are held or abandoned. */
#define XNF_HELD_MAX 1024u

struct xnf_held {
	void *page[XNF_HELD_MAX];
	unsigned n;
	unsigned abandoned;		/* given up on (full) */
	unsigned delay_ms;		/* between tries, doubling */
	uint64_t next_try;		/* ns; 0 when nothing is held */
};

/* What the backend offers, read once when it reaches InitWait. */
struct xnf_features {
	bool rx_copy;		/* feature-rx-copy: required */
	bool sg;		/* feature-sg */
	bool split_evtchn;	/* feature-split-event-channels */
	unsigned max_queues;	/* multi-queue-max-queues; 0 absent */
	bool gso_tcpv4;		/* feature-gso-tcpv4 */
	bool gso_tcpv6;		/* feature-gso-tcpv6 */
	bool ipv6_csum;		/* feature-ipv6-csum-offload */
	bool ctrl_ring;		/* feature-ctrl-ring */
	bool mcast;		/* feature-multicast-control or -dynamic- */
};

struct xnf_dev {
	unsigned devid;
	unsigned self;			/* our domid */
	unsigned be_id;			/* backend-id */
	char fe_path[XNF_PATH_MAX];	/* /local/domain/<self>/device/vif/<devid> */
	char be_path[XNF_PATH_MAX];	/* the `backend` key */
	uint8_t mac[6];
	unsigned mtu;
	struct xnf_config cfg;
	unsigned poll_us;		/* see xnf_poll_us */

	struct xs_handle *xs;
	struct xnx_xs_watches *watches;
	bool xs_changed;		/* a watch fired: re-read the states */
	enum xenbus_state fe_state;	/* as we last wrote it */
	enum xnf_state state;
	char reason[256];

	struct xnf_features feat;
	xnx_gntshr *gs;
	xnx_evtchn *ev;
	int epfd;			/* xnf_fd(): xenstore + event channel */
	struct xnf_qres qs[XNF_MAX_QUEUES];	/* [0, nqueues) in use */
	unsigned rx_next;		/* queue xnf_recv_burst starts at */
	bool published;			/* the backend may have mapped our pages */
	bool shutdown;			/* xnf_shutdown was called */
	bool carrier_off;		/* the backend wrote carrier=0 */
	struct xnf_ctrl ctrl;		/* used when feat.ctrl_ring */
	unsigned nqueues;		/* queues in use (1 until connect) */
	int reconnect;			/* XNF_RC_*: where a reconnect is */
	uint64_t release_by;		/* XNF_RC_RELEASE: stop waiting (ns) */
	struct xnf_held held;
	int timer_fd;			/* in epfd: held pages, release_by */
	uint64_t timer_at;		/* when it fires (ns); 0 disarmed */
	unsigned reconnects;		/* backends lost and reconnected to */
	/* Counters of the queues freed by earlier connections, per queue. */
	struct xnf_stats past[XNF_MAX_QUEUES];
};

/* Reconnecting after the backend went away (XNF_CFG_RECONNECT). */
enum {
	XNF_RC_NONE,		/* not reconnecting */
	XNF_RC_RELEASE,		/* Closing: waiting for the backend to let go */
	XNF_RC_WAIT,		/* Closed, old rings released: waiting for a
				 * backend to start over */
};

/* xenbus.c */
int xnf_xb_read_config(struct xnf_dev *dev);
int xnf_xb_watch(struct xnf_dev *dev);
int xnf_xb_read_features(struct xnf_dev *dev);
int xnf_xb_publish(struct xnf_dev *dev);
int xnf_xb_set_state(struct xnf_dev *dev, enum xenbus_state target);
/* The backend's state; a missing backend reads as Closed. -EINVAL for a
 * value that is not a XenbusState. */
int xnf_xb_backend_state(struct xnf_dev *dev, enum xenbus_state *out);
bool xnf_xb_vif_exists(struct xnf_dev *dev);
/* The backend's optional `carrier` key: false only for "0". */
bool xnf_xb_carrier(struct xnf_dev *dev);
/* The backend's `online` key: false only for "0" (toolstack unplugging). */
bool xnf_xb_backend_online(struct xnf_dev *dev);
void xnf_xb_write_error(struct xnf_dev *dev, int err, const char *reason);
/* Parse "aa:bb:cc:dd:ee:ff" strictly. 0 or -EINVAL. */
int xnf_parse_mac(const char *s, uint8_t mac[6]);

/* ctrl.c */
/* Share the ring and data pages, bind the channel (feat.ctrl_ring only). */
int xnf_ctrl_setup(struct xnf_dev *dev);
/* The backend is Connected: start the request sequence. */
void xnf_ctrl_start(struct xnf_dev *dev);
/* Take responses, send the next step. 0, or -EPROTO with dev->reason set. */
int xnf_ctrl_poll(struct xnf_dev *dev);
/* Ask the backend to drop our static grants, waiting (bounded) for the
 * answer; silently nothing when there are none. */
void xnf_ctrl_release_grants(struct xnf_dev *dev, int timeout_ms);
/* Unbind and unshare what xnf_ctrl_setup made; -EBUSY if the backend still
 * maps a page (held: grants.c). */
int xnf_ctrl_teardown(struct xnf_dev *dev);

/* grants.c */
/* End our grants of the COUNT pages at *REGION (NULLed): the pages the
 * backend still maps are held. 0, or -EBUSY when some are held. */
int xnf_grants_end(struct xnf_dev *dev, void **region, uint32_t count);
/* Try to end the held pages' grants, when due or NOW: how many stay held. */
unsigned xnf_grants_retry(struct xnf_dev *dev, bool now);
/* Give up on the held pages (closing): counted, logged. */
void xnf_grants_abandon(struct xnf_dev *dev);

/* poll.c */
/* dev->poll_us from the config or the environment; 0 or -EINVAL. */
int xnf_poll_setup(struct xnf_dev *dev);
/* xnf_wait's polling: true if a ring got work while we looked. */
bool xnf_poll_rings(struct xnf_dev *dev);

/* dev.c */
int xnf_dev_connect(struct xnf_dev *dev);
void xnf_dev_disconnect(struct xnf_dev *dev);

#endif
