/*
 * xnx_simproto.h — the protocol between the platform layer (sim client) and
 * xnet-simd's hypervisor half, and the layouts of the memory they share.
 *
 * Transport: one SOCK_SEQPACKET unix socket per handle, connected to the
 * socket of the caller's domain (<dir>/simd.sock for domain 0,
 * <dir>/dom<N>/simd.sock for domain N); the socket a client connected to is
 * its identity. Every request gets exactly one response; file descriptors
 * travel with responses as SCM_RIGHTS. A handle's resources (maps, shared
 * pages, event-channel ports) live as long as its connection.
 *
 * Shared memory, per domain D (all memfds created by the daemon):
 *   arena    D's pages (XNX_SIM_MAX_PAGES of them); gntshr pages of D are
 *            allocated here, grant entries' `frame` is a page index into it.
 *            D gets it read-write; mappers get it read-only or read-write.
 *   gnttab   header + grant_entry_v1_t[XNX_SIM_MAX_REFS] + pin words.
 *            Never given to a non-privileged domain, not even D itself
 *            (only to domain 0 and driver domains, which copy in-process),
 *            so the pin counts and locks are out of guests' reach.
 * and per event channel one page (struct xnx_simchan) shared by the two
 * ends' processes.
 *
 * Event-channel wake-ups: every event-channel handle (connection) has a
 * pipe made by the daemon. The handle gets its reading end and a writing
 * end for its own self-wakes with EVT_OPEN; a notifier gets a writing end
 * of the peer port's handle's pipe with EVT_PEER. Each end handed out is an
 * open file description of its own (reopened through /proc), so its flags
 * are its holder's alone: a peer making its end blocking blocks only
 * itself, and nobody but the handle holds an end it could read. The pipe
 * only says "look": the pending bits in the channel pages are the truth,
 * and a notify writes one byte only when it sets an unmasked port pending.
 * A peer flooding the pipe fills it (one page) and costs the handle a few
 * reads; the other ports' pending bits are still seen. The daemon holds a
 * reading end of each pipe while the connection lives and one to two timer
 * ticks after it closed, so a notifier that looked at the port's
 * generation just before the close never writes into a pipe without
 * readers.
 */
#ifndef XNX_SIMPROTO_H
#define XNX_SIMPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/grant_table.h>

#include "xnx_sim.h"

/* ---- limits ------------------------------------------------------------ */

#define XNX_SIM_PAGE_SIZE	4096u
#define XNX_SIM_MAX_PAGES	16384u	/* arena pages per domain (64 MiB) */
#define XNX_SIM_MAX_REFS	16384u	/* grant refs per domain */
#define XNX_SIM_FIRST_REF	GNTTAB_NR_RESERVED_ENTRIES /* refs 0..7 reserved */
#define XNX_SIM_MAX_PORTS	4096u	/* event-channel ports per privileged domain
					 * (domain 0, driver domains); 0 unused */
#define XNX_SIM_MAX_PORTS_GUEST	512u	/* ... per other domain */
#define XNX_SIM_MAX_CONNS_GUEST	64u	/* open handles per non-privileged domain */
#define XNX_SIM_MAX_DOMAINS	256u	/* live domains incl. domain 0 */
#define XNX_SIM_MAX_BATCH	1024u	/* refs per map/share request */
#define XNX_SIMPROTO_MSG_MAX	(64u * 1024u)

/* ---- wire messages ------------------------------------------------------- */

enum xnx_simproto_op {
	XNX_SIMOP_WHOAMI = 1,		/* → val[0] domid, val[1] flags */
	XNX_SIMOP_DOM_CREATE,		/* name, arg[0] flags → val[0] domid */
	XNX_SIMOP_DOM_DESTROY,		/* arg[0] domid */
	XNX_SIMOP_DOM_LOOKUP,		/* name → data: struct xnx_sim_domain */
	XNX_SIMOP_DOM_LIST,		/* → data: struct xnx_sim_domain[] */
	XNX_SIMOP_GNT_ATTACH,		/* arg[0] domid → fds arena(rw), gnttab,
					 * this connection's copy journal */
	XNX_SIMOP_GNT_MAP,		/* arg[0] domid, arg[1] writable,
					 * data refs[count] → val[0] GNTST,
					 * val[1] bad index, val[2] map id,
					 * data frames[count], fd arena */
	XNX_SIMOP_GNT_UNMAP,		/* arg[0] map id */
	XNX_SIMOP_GNT_SHARE,		/* arg[0] peer, arg[1] writable,
					 * arg[2] count → data (ref, frame)[count],
					 * fd own arena */
	XNX_SIMOP_GNT_UNSHARE,		/* data refs[count] */
	XNX_SIMOP_EVT_OPEN,		/* → fds: the domain's port generations
					 * (read-only, XNX_SIMGENS_SIZE), the
					 * handle's wake-up pipe's reading end
					 * and a writing end for self-wakes */
	XNX_SIMOP_EVT_ALLOC_UNBOUND,	/* arg[0] remote dom → val[0] port,
					 * val[1] end, fd channel page */
	XNX_SIMOP_EVT_BIND_INTERDOMAIN,	/* arg[0] remote dom, arg[1] remote
					 * port → like ALLOC_UNBOUND */
	XNX_SIMOP_EVT_PEER,		/* arg[0] port → val[0] gen,
					 * val[1] connected, fd: a writing end
					 * of the remote port's handle's
					 * wake-up pipe */
	XNX_SIMOP_EVT_UNBIND,		/* arg[0] port */
	XNX_SIMOP_EVT_STATUS,		/* arg[0] port → val[0] EVTCHNSTAT_*,
					 * val[1] remote dom, val[2] remote port */
	XNX_SIMOP_MAX
};

struct xnx_simproto_req {
	uint32_t op;			/* enum xnx_simproto_op */
	uint32_t count;			/* uint32_t words in data[] */
	uint32_t arg[4];
	char name[XNX_SIM_NAME_MAX];	/* NUL-terminated, domain ops only */
	uint32_t data[];
};

struct xnx_simproto_rsp {
	int32_t err;			/* 0 or -errno */
	uint32_t len;			/* bytes in data[] */
	uint32_t val[4];
	uint32_t data[];
};

/* ---- shared grant table -------------------------------------------------- */

#define XNX_SIMGT_MAGIC 0x78676e74u	/* "xgnt" */

/* Written by the daemon only. */
struct xnx_simgt_hdr {
	uint32_t magic;
	uint32_t domid;
	uint32_t nr_refs;
	uint32_t nr_pages;
	uint32_t dead;			/* set once the domain is destroyed */
};

#define XNX_SIMGT_ENTRIES_OFF	XNX_SIM_PAGE_SIZE
#define XNX_SIMGT_PINS_OFF	(XNX_SIMGT_ENTRIES_OFF + \
				 XNX_SIM_MAX_REFS * sizeof(grant_entry_v1_t))
#define XNX_SIMGT_SIZE		(XNX_SIMGT_PINS_OFF + XNX_SIM_MAX_REFS * 4u)

/* Pin word per ref, Xen's active entry squeezed into 32 bits:
 * bits 0-14 read pins, bits 15-29 write pins, bit 31 the entry lock. A copy
 * or map pins while it uses the page; the GTF_reading/GTF_writing bits of
 * the shared entry follow the pins as in Xen. */
#define XNX_SIMGT_PIN_RD	0x00000001u
#define XNX_SIMGT_PIN_RD_MASK	0x00007fffu
#define XNX_SIMGT_PIN_WR	0x00008000u
#define XNX_SIMGT_PIN_WR_MASK	0x3fff8000u
#define XNX_SIMGT_PIN_LOCK	0x80000000u

/* One domain's grant table as mapped by a process. */
struct xnx_simgt {
	struct xnx_simgt_hdr *hdr;
	grant_entry_v1_t *entries;
	uint32_t *pins;
	uint8_t *arena;			/* may be NULL (daemon) */
	uint32_t domid;
	uint32_t nr_refs;
	uint32_t nr_pages;
};

/* Spin budget for the entry lock: clients may wait, the daemon may not. */
#define XNX_SIMGT_SPIN_CLIENT	(1u << 20)
#define XNX_SIMGT_SPIN_DAEMON	(1u << 12)

/*
 * Copy journal: one page per privileged connection, written by the client's
 * copies, read by the daemon when the client dies, so pins of a copy cut
 * short by SIGKILL are given back. A side records the entry before it locks
 * it; `intent` changes inside the entry lock, the pin word's unlock store
 * commits it, `committed` follows after. So if the entry is still locked
 * (the client died inside), `committed` is the truth, else `intent` is.
 */
struct xnx_simj_side {
	uint32_t active;		/* between recording and `committed` */
	uint32_t intent;		/* 1: holds a pin (as of the critical section) */
	uint32_t committed;		/* 1: holds a pin (after the commit) */
	uint32_t ref;
	uint16_t domid;
	uint16_t readonly;
};

#define XNX_SIMJ_PAIRS 64		/* concurrent copy calls per handle */

struct xnx_simjournal {
	struct {
		uint32_t owner;		/* 1: a copy call uses this pair */
		uint32_t pad;
		struct xnx_simj_side side[2];	/* source, destination */
	} pair[XNX_SIMJ_PAIRS];
};
#define XNX_SIMJ_SIZE XNX_SIM_PAGE_SIZE

/* Fill T from a mapping of XNX_SIMGT_SIZE bytes. 0 or -EINVAL (bad header). */
int xnx_simgt_init(struct xnx_simgt *t, void *base, uint8_t *arena);
/* Lock REF's pin word; returns the unlocked value in *PINS. 0 or -EDEADLK
 * after SPINS attempts (a holder died, or the table is abused). */
int xnx_simgt_lock(const struct xnx_simgt *t, uint32_t ref, unsigned spins,
		   uint32_t *pins);
void xnx_simgt_unlock(const struct xnx_simgt *t, uint32_t ref, uint32_t pins);
/* Pin REF for LDOM as Xen's acquire_grant_for_copy/map_grant_ref do:
 * GNTST_okay with the page index in *FRAME, or GNTST_bad_gntref,
 * GNTST_general_error (not granted to LDOM, type not permit_access, write
 * to a read-only grant, unstable entry), GNTST_bad_domain (dead),
 * GNTST_bad_page (frame outside the arena). */
int xnx_simgt_acquire(const struct xnx_simgt *t, uint32_t ref, uint16_t ldom,
		      bool readonly, unsigned spins, uint32_t *frame,
		      struct xnx_simj_side *j);
/* Drop one pin taken by xnx_simgt_acquire (J: the same journal side). */
void xnx_simgt_release(const struct xnx_simgt *t, uint32_t ref, bool readonly,
		       unsigned spins, struct xnx_simj_side *j);
/* Daemon, after the client that wrote J died: give back its pin, if it
 * held one, and free the entry lock if the client died holding it. */
void xnx_simgt_recover(const struct xnx_simgt *t, const struct xnx_simj_side *j);

/* ---- event channel page -------------------------------------------------- */

/* One page per channel, written by both ends' processes: each end's
 * pending is set by the peer's notify and cleared by the end's own process,
 * which also sets and clears its mask. A peer can only disturb this one
 * channel through it. */
struct xnx_simchan {
	struct {
		uint32_t pending;
		uint32_t mask;
	} end[2];
};
#define XNX_SIMCHAN_SIZE XNX_SIM_PAGE_SIZE

/* Per domain, written by the daemon only, mapped read-only by the domain's
 * event-channel handles: gen[port] changes (release order) whenever the
 * port's status or its other end does (allocated, bound, either end
 * closed, also by a domain's destruction), telling a notifier to ask who
 * is there now and a handle that a status it remembers is stale. */
#define XNX_SIMGENS_SIZE (XNX_SIM_MAX_PORTS * sizeof(uint32_t))

/* ---- client transport (common/sim_client.c) ------------------------------ */

/* Connect to domain DOMID's hypervisor socket. fd or -errno. */
int xnx_simproto_connect(unsigned domid);
/* Send REQ (with REQ->count data words), wait for the response into RSP
 * (RSP_MAX bytes) and up to MAXFDS descriptors into FDS (unused slots -1).
 * Returns RSP->err (0 or -errno), or -errno when the transport failed. */
int xnx_simproto_call(int fd, const struct xnx_simproto_req *req,
		      struct xnx_simproto_rsp *rsp, size_t rsp_max, int *fds,
		      int maxfds);

#endif
