/*
 * netback_simfront.h — what the xnetback-on-the-sim tests share: starting
 * and stopping xnet-simd and xnetback in a private sim directory, spawning
 * the hand-driven frontend (this program re-executed), bounded waits on a
 * condition, a xenstore key or a child, and the toolstack's permissions.
 * Linked into every unit test program; only the sim tests call it.
 */
#ifndef NETBACK_SIMFRONT_H
#define NETBACK_SIMFRONT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <xenstore.h>

/* One running sim: its directory, the two daemons serving it and the
 * toolstack's (domain 0's) xenstore connection. */
struct nbsf_sim {
	char bindir[PATH_MAX];
	char dir[64];
	pid_t simd_pid, nb_pid;
	struct xs_handle *xs;
};

void nbsf_sleep_ms(int ms);
/* Poll COND every 10 ms for at most MS; true if it held. */
bool nbsf_wait_until(bool (*cond)(const void *), const void *arg, int ms);
/* Fork and exec ARGV as domain DOMID, stderr appended to LOG (if set). */
pid_t nbsf_spawn(char *const argv[], const char *log, const char *domid);
/* The child's exit status (128 if killed by a signal), or -2 if it did not
 * finish within MS (it is killed then). */
int nbsf_wait_child(pid_t pid, int ms);
/* True while PID (our child) has not exited. */
bool nbsf_alive(pid_t pid);
/* Signal PID, wait for it (SIGKILL after MS); *PID becomes -1. */
void nbsf_stop(pid_t *pid, int ms);

/* This program's own path (for re-executing it as the frontend); 0 or -1. */
int nbsf_self_exe(char *buf, size_t len);

/* Whether xnet-simd and xnetback are in $XNET_BIN (default build/bin);
 * fills S->bindir either way. */
bool nbsf_have_bins(struct nbsf_sim *s);
/* Make a sim directory from TEMPLATE (mkdtemp), point XNET_SIM_DIR, XNET_DOMID
 * and XNET_PLATFORM at it, start xnet-simd, wait up to MS for its xenstore
 * socket, then start xnetback and open S->xs. Logs go to <dir>/<program>.log.
 * 0 or -1. */
int nbsf_start(struct nbsf_sim *s, const char *template, int ms);
/* Start xnetback (-v) for S's sim, its log appended to <dir>/xnetback.log
 * (as nbsf_start does; again after it was killed). Its pid, or -1. */
pid_t nbsf_start_netback(const struct nbsf_sim *s);
/* Close S->xs, stop both daemons and remove the directory (kept, and named, when
 * NB_KEEP_LOGS is set). 0 or -1. */
int nbsf_clean(struct nbsf_sim *s, int ms);

/* KEY under DIR reads VAL. */
bool nbsf_key_is(struct xs_handle *h, const char *dir, const char *key, const char *val);
/* Wait up to MS for KEY under DIR to read VAL. */
bool nbsf_wait_key(struct xs_handle *h, const char *dir, const char *key, const char *val,
		   int ms);
/* Within T: vif 0 of DOMID as libxl lays it out, reduced to what a backend
 * reads: both directories with their permissions, the frontend's keys
 * (state 1) and the backend's, all but its state, which the caller writes
 * last after any keys of its own. 0 or -errno. */
int nbsf_write_vif(struct xs_handle *h, xs_transaction_t t, unsigned domid, const char *be,
		   const char *fe, const char *mac, const char *vifname);
/* PATH owned by OWNER, readable by READER (libxl's device layout). 0 or -errno. */
int nbsf_set_perms(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned owner,
		   unsigned reader);

#endif
