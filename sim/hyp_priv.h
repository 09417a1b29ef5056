/*
 * hyp_priv.h — internal to the hypervisor half of xnet-simd: domains,
 * client connections, and the grant (hyp_gnt.c) and event-channel
 * (hyp_evt.c) handlers that hyp.c dispatches to.
 */
#ifndef SIM_HYP_PRIV_H
#define SIM_HYP_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "hyp.h"
#include "xnx_log.h"
#include "xnx_simproto.h"

enum ref_state { REF_FREE = 0, REF_USED, REF_ORPHAN };

struct hyp_dom;
struct hyp_conn;
struct hyp_linger;

/* One map request of a connection: pins it holds in DOMID's table. */
struct hyp_map {
	struct hyp_map *next;
	uint32_t id;
	uint16_t domid;
	bool rw;
	uint32_t count;
	uint32_t refs[];
};

/* Maps of a connection by id: a backend with 100 vifs holds ~100 000 (one
 * per static grant); one list made each unmap a walk through all of them. */
#define HYP_MAP_BUCKETS 4096

struct hyp_conn {
	struct hyp_conn *next;		/* in dom->conns */
	struct sim_hyp *hyp;
	struct hyp_dom *dom;		/* the domain whose socket it came in on */
	int fd;
	struct hyp_map *maps[HYP_MAP_BUCKETS];	/* by id % HYP_MAP_BUCKETS */
	uint32_t next_map_id;
	uint32_t mapped;		/* refs pinned by maps */
	uint32_t shared;		/* refs shared by this connection */
	int journal_fd;			/* copy journal, once attached; or -1 */
	struct xnx_simjournal *journal;
	/* The handle's wake-up pipe (xnx_simproto.h), once it has one: our
	 * own writing end (for raises) and a reading end we hold so that a
	 * notifier never writes into a pipe nobody reads (SIGPIPE). -1: none. */
	int wake_w, wake_r;
};

/* One event channel: a page shared by the processes at its two ends. */
struct hyp_chan {
	int fd;
	struct xnx_simchan *page;
	struct {
		bool used;
		uint16_t dom;
		uint32_t port;
	} ends[2];
};

struct hyp_port {
	uint8_t state;			/* EVTCHNSTAT_closed/_unbound/_interdomain */
	uint8_t end;			/* our index in chan->ends */
	uint16_t remote_dom;
	uint32_t remote_port;		/* _interdomain only */
	struct hyp_conn *conn;		/* the handle it is bound through */
	struct hyp_chan *chan;
};

struct hyp_dom {
	struct sim_hyp *hyp;
	uint16_t domid;
	uint32_t flags;			/* XNX_SIM_DOM_* */
	char name[XNX_SIM_NAME_MAX];
	int listen_fd;
	bool listen_paused;		/* out of descriptors: retried on the timer */
	struct hyp_conn *conns;
	uint32_t nconns;

	int arena_fd, arena_ro_fd, gt_fd;
	void *gt_base;
	struct xnx_simgt gt;
	uint32_t pages_free;
	uint32_t norphans;
	uint8_t page_used[XNX_SIM_MAX_PAGES];
	uint8_t ref_state[XNX_SIM_MAX_REFS];
	struct hyp_conn *ref_owner[XNX_SIM_MAX_REFS];

	int gens_fd, gens_ro_fd;	/* port generations (xnx_simproto.h) */
	uint32_t *port_gen;
	struct hyp_port ports[XNX_SIM_MAX_PORTS];
};

struct sim_hyp {
	struct sim_loop *loop;
	struct sim_store *st;
	char dir[256];
	int timer_fd;
	uint32_t next_domid;
	uint32_t ndoms;
	struct hyp_dom *doms[DOMID_FIRST_RESERVED];
	struct xnx_ratelimit rl;	/* lines clients can provoke */
	/* Reading ends of closed handles' wake-up pipes, kept a timer tick
	 * or two (hyp_evt.c). */
	struct hyp_linger *linger;
	uint32_t nlinger, linger_cap;
	uint8_t buf[XNX_SIMPROTO_MSG_MAX + 64];
};

/* A response under construction. */
struct hyp_rsp {
	struct xnx_simproto_rsp *r;	/* header + data, XNX_SIMPROTO_MSG_MAX */
	int fds[3];
	int nfds;
	int tmp_fd[2];			/* closed once the response is sent */
};

#define hyp_log(h, ...) xnx_log_rl(&(h)->rl, XNX_LOG_WARN, __VA_ARGS__)

struct hyp_dom *hyp_dom_get(struct sim_hyp *h, uint32_t domid);
bool hyp_privileged(const struct hyp_dom *d);

/* Handlers: return 0 or -errno; fill RSP. REQ has been size-checked. */
int hyp_gnt_attach(struct hyp_conn *c, const struct xnx_simproto_req *req,
		   struct hyp_rsp *rsp);
int hyp_gnt_map(struct hyp_conn *c, const struct xnx_simproto_req *req,
		struct hyp_rsp *rsp);
int hyp_gnt_unmap(struct hyp_conn *c, const struct xnx_simproto_req *req,
		  struct hyp_rsp *rsp);
int hyp_gnt_share(struct hyp_conn *c, const struct xnx_simproto_req *req,
		  struct hyp_rsp *rsp);
int hyp_gnt_unshare(struct hyp_conn *c, const struct xnx_simproto_req *req,
		    struct hyp_rsp *rsp);
/* Drop everything connection C holds in the grant tables. */
void hyp_gnt_conn_gone(struct hyp_conn *c);
/* Try again to free grants whose owner went away while they were in use. */
void hyp_gnt_retry_orphans(struct hyp_dom *d);

int hyp_evt_open(struct hyp_conn *c, const struct xnx_simproto_req *req,
		 struct hyp_rsp *rsp);
int hyp_evt_alloc_unbound(struct hyp_conn *c, const struct xnx_simproto_req *req,
			  struct hyp_rsp *rsp);
int hyp_evt_bind_interdomain(struct hyp_conn *c, const struct xnx_simproto_req *req,
			     struct hyp_rsp *rsp);
int hyp_evt_peer(struct hyp_conn *c, const struct xnx_simproto_req *req,
		 struct hyp_rsp *rsp);
int hyp_evt_unbind(struct hyp_conn *c, const struct xnx_simproto_req *req,
		   struct hyp_rsp *rsp);
int hyp_evt_status(struct hyp_conn *c, const struct xnx_simproto_req *req,
		   struct hyp_rsp *rsp);
/* Close the ports bound through C (C == NULL: every port of D). */
void hyp_evt_close_ports(struct hyp_dom *d, struct hyp_conn *c);
/* C is going away: its wake-up pipe's reading end lingers a while. */
void hyp_evt_conn_gone(struct hyp_conn *c);
/* Once a timer tick: close the pipes whose time is up (ALL: every one). */
void hyp_evt_tick(struct sim_hyp *h, bool all);

#endif
