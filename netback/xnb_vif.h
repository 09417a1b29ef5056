/*
 * xnb_vif.h — xnetback's control side: the daemon (backend.c), one device
 * per (domid, devid) with its XenbusState handshake (xenbus.c), its TAP
 * (vif.c), and the connect/disconnect pair that joins xenstore to the rings
 * (interface.c).
 */
#ifndef XNB_VIF_H
#define XNB_VIF_H

#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <xen/io/xenbus.h>
#include <xenstore.h>

#include "xnb.h"
#include "xnx_platform.h"
#include "xnx_xs.h"

struct xnb_tap {
	int fd;
	char name[IFNAMSIZ];
	int ifindex;
};

/* Most queues we offer (multi-queue-max-queues): the CPUs, up to this. */
#define XNB_MAX_QUEUES 8

/* What the frontend published for one queue, read at connect time. */
struct xnb_fe_queue {
	uint32_t tx_ring_ref, rx_ring_ref;
	uint32_t evtchn_tx, evtchn_rx;	/* equal unless split */
	bool split;
};

struct xnb_fe_conf {
	unsigned nqueues;
	struct xnb_fe_queue q[XNB_MAX_QUEUES];
	struct xnb_feat feat;
	bool ctrl;		/* ctrl-ring-ref + event-channel-ctrl given */
	uint32_t ctrl_ring_ref, evtchn_ctrl;
};

/* What an epoll event belongs to. */
enum xnb_ep_kind {
	XNB_EP_XS = 1, XNB_EP_EVTCHN, XNB_EP_TAP, XNB_EP_STATS, XNB_EP_LINK,
	XNB_EP_WAKE,		/* a queue's worker asks the main loop to look */
};
struct xnb_ep {
	enum xnb_ep_kind kind;
	struct xnb_vq *vq;
};

struct xnb_vif;

/* One queue of a connected vif: its rings, its TAP queue, its event
 * channel handle and the worker thread that serves them (worker.c). The
 * fields below `lock` are the worker's; other threads (the control ring,
 * the stats socket, a rate change) take `lock` to look at or change them. */
struct xnb_vq {
	struct xnb_vif *vif;
	unsigned idx;
	struct xnb_queue *q;
	void *tx_map, *rx_map;
	int tap_fd;		/* queue 0: the vif's TAP fd; others their own */
	int rx_fd;		/* readable when frames wait: the TAP's, or the hook's */
	xnx_evtchn *evt;	/* this queue's own handle: its ports, its kicks */
	struct xnb_ep ep;
	struct xnb_io io;
	/* The worker: its thread, epoll set and wake-up eventfd. */
	pthread_t thread;
	bool started;
	int epfd, wake_fd;
	struct xnb_ep evt_ep, wake_ep;
	int stop;		/* atomic: the worker is to return */
	int failed;		/* atomic: q->reason says why (main loop acts) */
	int tid;		/* atomic: the worker's thread id, once running */
	pthread_mutex_t lock;	/* held by the worker for each round */
	bool tx_pending, rx_pending, rx_waiting, tap_paused, tx_throttled;
	uint64_t spins, spin_hits;	/* polling rounds; those that found work */
	/* This connection's counters (q->stats points here); folded into the
	 * vif's on disconnect. Read as they are by the stats socket. */
	struct xnb_stats stats;
	uint64_t notify_received;	/* kicks on this queue's port(s) */
	uint64_t copy_calls, copy_segs;	/* batched grant copies, segments */
	uint64_t static_segs;	/* of those, served from static grants by memcpy */
};

struct xnb_backend;
struct xnb_vif_ctrl;

/* One device: backend/vif/<domid>/<devid>. */
struct xnb_vif {
	struct xnb_backend *be;
	struct xnb_vif *next;
	uint32_t domid, devid;
	char path[96];		/* our backend directory */
	char fe_path[96];	/* the frontend's directory */
	char fe_state_path[104];
	enum xenbus_state state;	/* ours, as last written */
	int fe_logged;		/* frontend state last logged, -1 none */
	bool online, hotplug_ok, hotplug_failed, watching_fe;
	bool fe_seen;		/* the frontend's state node existed once */
	bool failed;		/* fatal error: down until the frontend restarts */
	bool reattach;		/* recovered: attach to the rings as they are */
	bool dead;		/* to be freed at the end of this loop turn */
	unsigned mtu;
	struct xnb_tap tap;
	unsigned max_queues;	/* what we offered */
	/* Data side, valid while connected. */
	bool connected;
	bool workers;		/* the queues' workers run (interface.c) */
	struct xnb_fe_conf conf;
	unsigned nqueues;
	struct xnb_vq vq[XNB_MAX_QUEUES];
	const char *broken;	/* the violation that stopped a queue */
	struct xnb_mcast mcast;	/* shared by the queues */
	struct xnb_policy policy;	/* read at connect (policy_xs.c) */
	char fe_mcast_path[128];	/* watched: request-multicast-control */
	bool watching_mcast;
	uint64_t rate_bytes, rate_usec;	/* the toolstack's `rate`; 0 = none */
	bool rate_bad;		/* warned about a bad `rate` already */
	struct xnb_vif_ctrl *ctrl;	/* the control ring (ctrl.c); NULL: none */
	struct xnb_stats stats;
};

/* Devices whose backend directory changed during one batch of watch
 * events, each looked at once when the batch is read (backend.c). */
#define XNB_MAX_PENDING 128
struct xnb_pending {
	uint32_t domid, devid;
};

/* Lets a program that embeds xnetback (the ring benchmark) move a vif's
 * frames to and from something other than its TAP. */
struct xnb_io_hook {
	/* Called for each queue as it connects, with IO set up for the TAP:
	 * may replace tap_write/tap_read/tap_readv (they get IO's ctx, the
	 * queue; tap_readv is NULL when called: reading into the guest's
	 * pages stays off unless the hook gives one) and set *RX_FD to the descriptor whose readability means frames are
	 * waiting (default: the TAP queue's). */
	void (*connect)(void *arg, struct xnb_vq *vq, struct xnb_io *io, int *rx_fd);
	void *arg;
};

struct xnb_backend {
	struct xs_handle *xs;
	struct xnx_xs_watches *watches;
	xnx_gnttab *gnt;
	xnx_evtchn *evt;
	int epfd;
	unsigned self;
	char root[64];		/* /local/domain/<self>/backend/vif */
	struct xnb_vif *vifs;
	struct xnb_ep xs_ep, evt_ep;
	struct xnb_stats_sock *stats_sock;	/* NULL: none (stats_sock.c) */
	struct xnb_rename *rename;	/* link watch (rename.c); NULL: none */
	struct xnb_pending pending[XNB_MAX_PENDING];
	unsigned npending;
	bool rescan;		/* look at every device (the root changed, or too many) */
	struct xnb_io_hook hook;	/* connect == NULL: the TAP */
	unsigned poll_us;	/* workers poll their rings this long before sleeping */
	int wake_fd;		/* workers wake the main loop (worker.c) */
	struct xnb_ep wake_ep;
	volatile int stop;
};

/* worker.c — one thread per connected queue. */
/* Default for be->poll_us; XNETBACK_POLL_US overrides it. */
#define XNB_POLL_US_DEFAULT 20
/* The main loop's wake-up eventfd (in BE's epoll set), poll_us. 0 or -errno. */
int xnb_workers_open(struct xnb_backend *be);
void xnb_workers_close(struct xnb_backend *be);
/* Wake BE's main loop (from any thread). */
void xnb_backend_wake(struct xnb_backend *be);
/* The main loop was woken: clear the wake-up. */
void xnb_backend_woken(struct xnb_backend *be);
/* Start a worker for each of VIF's first N queues (fully set up): 0, or
 * -errno with none left running. Stop and join them. */
int xnb_workers_start(struct xnb_vif *vif, unsigned n);
void xnb_workers_stop(struct xnb_vif *vif, unsigned n);
/* Wake VQ's worker to look at its pending flags and inbox (any thread). */
void xnb_worker_kick(struct xnb_vq *vq);
/* Take / release every queue lock of VIF, in queue order. */
void xnb_vif_lock_queues(struct xnb_vif *vif);
void xnb_vif_unlock_queues(struct xnb_vif *vif);

/* backend.c */
int xnb_backend_open(struct xnb_backend *be);
int xnb_backend_run(struct xnb_backend *be);
void xnb_backend_close(struct xnb_backend *be);
struct xnb_vif *xnb_backend_find(struct xnb_backend *be, uint32_t domid, uint32_t devid);

/* rename.c — follow renames of our TAPs (vifname, vif-linkid in xenstore). */
struct xnb_rename;
/* Watch the namespace's links from BE's loop. 0 or -errno (then renames
 * are not followed; the data path does not need it). */
int xnb_rename_open(struct xnb_backend *be);
/* The link watch is readable: handle what it reports. */
void xnb_rename_event(struct xnb_backend *be);
void xnb_rename_close(struct xnb_backend *be);
/* Write the vif's current vifname and vif-linkid. 0 or -errno. */
int xnb_rename_record(struct xnb_vif *vif);
/* Write vif-linkid only (a new vif: vifname is the toolstack's to set). */
int xnb_rename_record_linkid(struct xnb_vif *vif);

/* stats_sock.c — the stats socket, served from the epoll loop. */
struct xnb_stats_sock;
/* Listen on PATH (a stale socket there is replaced; a live one is
 * -EADDRINUSE) and register with BE's loop. 0 or -errno. */
int xnb_stats_sock_open(struct xnb_backend *be, const char *path);
/* An epoll event on the stats socket or one of its clients. */
void xnb_stats_sock_event(struct xnb_backend *be, struct xnb_ep *ep, uint32_t events);
/* Close the listener and every client, remove the socket file. */
void xnb_stats_sock_close(struct xnb_backend *be);
/* The default path: <run dir>/xnetback.sock, or xnetback-dom<N>.sock in
 * driver domain N. */
int xnb_stats_sock_default(unsigned self, char *buf, size_t len);
/* TO += FROM, counter by counter. */
void xnb_stats_add(struct xnb_stats *to, const struct xnb_stats *from);
/* Write every vif's counters as text (the socket's answer) to F. */
int xnb_stats_write(const struct xnb_backend *be, FILE *f);

/* parse.c */
/* Parse "<domid>/<devid>[/...]" relative to the backend root. 0 or -EINVAL. */
int xnb_parse_dev_path(const char *rel, uint32_t *domid, uint32_t *devid);
/* Strict "xx:xx:xx:xx:xx:xx". 0 or -EINVAL. */
int xnb_parse_mac(const char *s, uint8_t mac[6]);

/* xenbus.c — never touches a ring. */
/* A backend-side event for (DOMID, DEVID): probe, update or remove. */
void xnb_xenbus_backend_event(struct xnb_backend *be, uint32_t domid, uint32_t devid);
void xnb_xenbus_frontend_event(struct xnb_vif *vif);
/* The frontend's domain may be gone: check and tear down. */
void xnb_xenbus_release_check(struct xnb_vif *vif);
/* A protocol violation or setup failure: error node, disconnect, Closing. */
void xnb_xenbus_fatal(struct xnb_vif *vif, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Daemon shutdown: disconnect, tell the frontend (Closing), forget. */
void xnb_xenbus_shutdown(struct xnb_vif *vif);
/* Free a vif (already disconnected and unwatched). */
void xnb_vif_free(struct xnb_vif *vif);

/* interface.c — the one place where xenstore's values meet the rings. */
int xnb_vif_connect(struct xnb_vif *vif, const struct xnb_fe_conf *c, char *why,
		    size_t whylen);
void xnb_vif_disconnect(struct xnb_vif *vif);
/* The main loop's share of a connected vif: its control ring, and
 * XNB_BROKEN (see vif->broken) when a queue's worker found a violation. */
enum xnb_work xnb_vif_run(struct xnb_vif *vif);
/* One round of VQ's pending work (its worker, with vq->lock held). */
enum xnb_work xnb_vq_run(struct xnb_vq *vq);
/* Apply the toolstack's rate (BYTES per USEC; 0 = unlimited) now or at
 * connect. */
void xnb_vif_set_rate(struct xnb_vif *vif, uint64_t bytes, uint64_t usec);

/* vif.c */
int xnb_tap_open(struct xnb_tap *t, const char *name, unsigned mtu);
/* One more queue of T (multi-queue): a new fd, or -errno. */
int xnb_tap_attach_queue(const struct xnb_tap *t);
void xnb_tap_close(struct xnb_tap *t);
/* TUN_F_* offloads for a frontend with features F. */
unsigned xnb_tap_offloads(const struct xnb_feat *f);
int xnb_tap_set_offload(struct xnb_tap *t, const struct xnb_feat *f);
ssize_t xnb_tap_write(struct xnb_tap *t, const struct iovec *iov, int iovcnt);
ssize_t xnb_tap_read(struct xnb_tap *t, void *buf, size_t len);
ssize_t xnb_tap_readv(struct xnb_tap *t, const struct iovec *iov, int iovcnt);

#endif
