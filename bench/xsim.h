/*
 * xsim.h — internal to xnet's own figures (xnet_*.c): the xnet sim a
 * session measures on, set up as tests/integration/first_packets.sh does
 * (`xnet sim up` in a private XNET_SIM_DIR, guest domains made with `xnet
 * domain create`, vifs on a bridge named after our pid), made on first use
 * and torn down by the cleanup registry; and waits on the vifs' XenbusState
 * through libxenstore.
 *
 * Internal convention: functions return 0 or -errno.
 */
#ifndef XBENCH_XSIM_H
#define XBENCH_XSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bench/bench.h"

#define XSIM_BRIDGE_FMT  "xbbr%d%c"		/* the bridge: our pid, the tag */
#define XSIM_DIR_PREFIX  "/tmp/xnet-bench-sim."	/* + "<pid>.<tag>XXXXXX" */
#define XRING_DIR_PREFIX "/tmp/xnet-bench-ring."	/* the ring figures' sim */
#define XEVT_DIR_PREFIX  "/tmp/xnet-bench-evtchn."	/* the event channel figures' sim */

/* Path of xnet program NAME: $XNET_BIN/NAME, else next to this program.
 * -ENOENT when it is not there. */
int xsim_prog(const char *name, char *buf, size_t len);

/* A private xnet-simd alone (no other daemon) in a directory made from
 * DIR, a mkdtemp template changed in place; the directory goes at cleanup,
 * the daemon with the spawned processes. Waits until it answers. */
int xsim_simd_private(char *dir);

/* Two sims, so the control plane's xnetback serves only its own vifs:
 * every function below acts on the one chosen last (default: the stack's). */
#define XSIM_STACK   0	/* tag 's' */
#define XSIM_CONTROL 1	/* tag 'c' */
#define XSIM_NINST   2
void xsim_use(int which);

/* The chosen sim, started on first use (a failure is remembered). */
int xsim_up(void);
const char *xsim_dir(void);
const char *xsim_bridge(void);

/* Run `xnet ARGS...` against the session's sim; stdout into *OUT (may be
 * NULL). Exit status 0 → 0; else -EIO (or the -errno of the run). */
int xsim_xnet(char *const args[], double timeout_s, char **out);

/* `xnet domain create NAME`; its domain id in *DOMID. */
int xsim_domain(const char *name, unsigned *domid);
/* Pid from the sim directory's pid file FILE ("xnetback.pid",
 * "xnetfront-NAME.pid"); -ENOENT if there is none. */
int xsim_pid(const char *file, pid_t *pid);

/* A vif whose two ends we wait on. */
struct xsim_vif {
	unsigned domid, devid;
	bool be_up, fe_up;	/* state Connected seen */
};
/* Wait (bounded by TIMEOUT_S) until both ends of every one of the N vifs
 * are Connected; watches the state keys through libxenstore. -ETIMEDOUT
 * when some are not. */
int xsim_wait_connected(struct xsim_vif *v, size_t n, double timeout_s);

/* Resident set size of PID in bytes (VmRSS), or -errno. */
long long xsim_rss(pid_t pid);

/* Wait until the guest NS has eth0 (bounded), give it ADDR/24 and set it up. */
int xsim_guest_addr(const char *ns, const char *addr);
/* Bounded wait until NS reaches ADDR by ping. */
int xsim_wait_ping(const char *ns, const char *addr, double timeout_s);

/* ---- the figures' run and probe functions (xnet_*.c) -------------------- */

/* xnet_stack.c: two guests on a bridge; "xbs<pid>-1" is the client. */
int xbench_stack_probe(const struct xbench_opts *o, const struct xbench_case *c,
		       const char **why);
int xbench_stack_tcp(const struct xbench_opts *o, const struct xbench_case *c, double *value);
int xbench_stack_udp(const struct xbench_opts *o, const struct xbench_case *c, double *value);
int xbench_stack_ping(const struct xbench_opts *o, const struct xbench_case *c, double *value);
/* Guest I (0 client, 1 server) once the stack is up, else NULL. */
const char *xbench_stack_guest(int i);

/* xnet_control.c: attach → Connected, 1 and 100 vifs; RSS per vif. */
int xbench_ctl_attach(const struct xbench_opts *o, const struct xbench_case *c, double *value);
int xbench_ctl_attach100(const struct xbench_opts *o, const struct xbench_case *c,
			 double *value);
int xbench_ctl_mem(const struct xbench_opts *o, const struct xbench_case *c, double *value);

/* xnet_ring.c: libxnetfront <-> xnetback's data path, source/sink for the
 * TAP; the case's size, dir and unit (Mpps, Gbit/s, cycles/pkt). */
int xbench_ring_probe(const struct xbench_opts *o, const struct xbench_case *c,
		      const char **why);
int xbench_ring_run(const struct xbench_opts *o, const struct xbench_case *c, double *value);
/* The backend (BACKEND 1) or frontend helper of the QUEUES setup once up,
 * else -1. */
pid_t xbench_ring_pid(int queues, int backend);

/* xnet_evtchn.c: the sim's event channel alone, domain 0 ↔ a guest; round
 * trip percentile (the case's pct), or events per second / cycles per
 * event (by the case's unit). */
int xbench_evtchn_run(const struct xbench_opts *o, const struct xbench_case *c, double *value);

#endif
