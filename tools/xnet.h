/*
 * xnet.h — what the `xnet` command's files share: process helpers (spawn,
 * pid files, liveness, bounded waits), network namespaces, and the entry
 * point of each command group.
 *
 * Internal convention: functions return 0 or -errno unless said otherwise.
 */
#ifndef XNT_XNET_H
#define XNT_XNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <xenstore.h>

/* Command groups: ARGV[0] is the group name; return the exit status. */
int xnt_cmd_sim(int argc, char **argv);
int xnt_cmd_domain(int argc, char **argv);
int xnt_cmd_vif(int argc, char **argv);

/* Print "xnet: <reason>" on stderr; returns 1 (the exit status). */
int xnt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xnt_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* True if ARG is -h or --help. */
bool xnt_is_help(const char *arg);

/* ---- programs and processes (proc.c) ------------------------------------- */

/* Directory of xnet's programs: $XNET_BIN, else the directory of this
 * executable. */
const char *xnt_bin_dir(void);
/* BUF = <bin dir>/NAME; 0 if it is an executable file, -ENOENT if not. */
int xnt_prog_path(const char *name, char *buf, size_t len);
/* BUF = <sim dir>/NAME. */
int xnt_sim_file(const char *name, char *buf, size_t len);

int xnt_pidfile_read(const char *path, pid_t *pid);
int xnt_pidfile_write(const char *path, pid_t pid);
/* Is PID alive (not a zombie) and running program PROG (basename)? */
bool xnt_pid_alive(pid_t pid, const char *prog);
/* The pid in PIDFILE if that process is alive and runs PROG, else 0. */
pid_t xnt_running(const char *pidfile, const char *prog);

/* Start ARGV[0] in its own session, stdin from /dev/null, stdout and stderr
 * appended to LOG; XENSTORED_PATH is dropped from its environment, and the
 * NULL-terminated "NAME=VALUE" strings in ENV are added. */
int xnt_spawn(char *const argv[], char *const env[], const char *log,
	      pid_t *pid);
/* SIGTERM, wait up to TIMEOUT_MS for the exit, then SIGKILL. */
int xnt_stop(pid_t pid, const char *prog, int timeout_ms);
/* Run ARGV to completion, output to /dev/null unless VERBOSE; returns its
 * exit status (0..255) or -errno. */
int xnt_run(char *const argv[], bool verbose);

/* The last line of file PATH into BUF ("" if none). */
void xnt_last_line(const char *path, char *buf, size_t len);
/* Call COND(ARG) every few milliseconds until it returns true or TIMEOUT_MS
 * pass. 0 or -ETIMEDOUT. */
int xnt_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);
/* Does a unix socket at PATH accept a connection? */
bool xnt_sock_answers(const char *path);

/* ---- network namespaces (netns.c) ---------------------------------------- */

bool xnt_netns_exists(const char *name);
/* Create namespace NAME with lo up; record that the sim made it. */
int xnt_netns_create(const char *name);
/* Delete NAME if the sim made it (its record exists). */
int xnt_netns_delete(const char *name);
/* Valid as a namespace and domain name? */
bool xnt_name_ok(const char *name);

/* ---- domains (cmd_domain.c) --------------------------------------------- */

/* Tear down what `domain create NAME` made: its vifs (XS may be NULL), its
 * xnetfront, the sim domain (if HAVE_DOMID), its namespace. Best effort;
 * returns the first error. */
int xnt_domain_teardown(struct xs_handle *xs, const char *name, bool have_domid,
			unsigned domid);
#define XNT_FRONT_PROG "xnetfront"

/* ---- xenstore (vifxs.c) -------------------------------------------------- */

struct xnt_vifspec;
/* Resolve "name" or "id" to a domain id. */
int xnt_domain_id(const char *name, unsigned *domid);
/* Write the libxl vif layout for DOMID in one transaction; fills the chosen
 * DEVID and the backend interface name. */
int xnt_vif_add(struct xs_handle *xs, unsigned domid, unsigned bdomid,
		const struct xnt_vifspec *vs, const char *nic_linkid,
		unsigned *devid, char *ifname, size_t ifname_len);
/* Clean unplug (online=0, Closing, wait for Closed up to TIMEOUT_MS, remove);
 * *FORCED tells whether the timeout ran out. */
int xnt_vif_remove(struct xs_handle *xs, unsigned domid, unsigned devid,
		   int timeout_ms, bool *forced);
/* Devids of DOMID's vifs (frontend and libxl dirs); returns the count
 * (at most MAX) or -errno. */
int xnt_vif_devids(struct xs_handle *xs, unsigned domid, unsigned *out, int max);
/* What xenstore says about one vif (guest-written values made printable;
 * "-1" / "" where a key is missing, as xl prints them). */
struct xnt_vif_info {
	unsigned domid, devid;
	char be_id[16], mac[24], handle[16], state[8], evt[16], tx[16], rx[16];
	char be_path[256];	/* "-" if not found */
	char be_state[8];	/* the backend's state, "-1" if none */
	char vifname[32];	/* the backend's `vifname` */
	char hotplug[32];	/* hotplug-status */
	char be_error[256], hotplug_error[256], fe_error[256];	/* "" if none */
};
int xnt_vif_info(struct xs_handle *xs, unsigned domid, unsigned devid,
		 struct xnt_vif_info *out);
/* Print one line per vif of DOMID (xl network-list columns). */
int xnt_vif_print(struct xs_handle *xs, unsigned domid, const char *prefix);

/* ---- domains as xenstore lists them (domains.c) ---------------------------- */

struct xnt_domain { unsigned domid; char name[64]; };
/* /local/domain/<id> with its `name`, sorted by id; returns the count (at
 * most MAX) or -errno. Works on Xen and on the sim. */
int xnt_domains(struct xs_handle *xs, struct xnt_domain *out, int max);
/* The name of DOMID into BUF ("" if unknown). */
void xnt_domain_name(struct xs_handle *xs, unsigned domid, char *buf, size_t len);

/* ---- the backend's stats socket (statsc.c) ---------------------------------- */

#define XNT_MAX_COUNTERS 64
#define XNT_MAX_QUEUES 8
struct xnt_counter { char name[40]; unsigned long long v; };
struct xnt_counters { int n; struct xnt_counter c[XNT_MAX_COUNTERS]; };
struct xnt_vifstats {
	unsigned domid, devid;
	unsigned bdomid;		/* the backend's domain */
	char name[32];
	struct xnt_counters c;		/* also ifindex, state, connected, queues */
	unsigned nq;
	struct { unsigned id; struct xnt_counters c; } q[XNT_MAX_QUEUES];
};
#define XNT_MAX_BACKENDS 64	/* also frontends, one per guest */
struct xnt_backend {
	char socket[256];
	long pid;
	unsigned domain;
	char platform[16];
};
struct xnt_stats {
	char socket[256];		/* the first backend's, as below */
	long pid;
	unsigned domain;
	char platform[16];
	int nbackends;
	struct xnt_backend be[XNT_MAX_BACKENDS];
	int nvifs;
	struct xnt_vifstats *vif;	/* malloc'd */
};
/* The default socket: $XNET_STATS_SOCKET, else <run dir>/xnetback.sock. */
const char *xnt_stats_socket(void);
/* Ask the backend's stats socket at PATH. 0, or -errno (ECONNREFUSED /
 * ENOENT: no xnetback; EPROTO: a malformed answer, with WHY). */
int xnt_stats_fetch(const char *path, struct xnt_stats *out, char *why, size_t whylen);
/* Every backend's answer merged: SOCK if given, else $XNET_STATS_SOCKET if
 * set, else <run dir>/xnetback.sock and every xnetback-dom<N>.sock there
 * (driver domains); sockets that do not answer are skipped. -ENOENT if
 * none answers (WHY says which failed how). */
int xnt_stats_fetch_all(const char *sock, struct xnt_stats *out, char *why, size_t whylen);
/* Every frontend's answer merged (their xnetfront-dom<N>.sock in the run
 * dir; same form, "be" naming the frontends' sockets); those that do not
 * answer are skipped. Always 0 (none: OUT empty). */
int xnt_front_stats_fetch_all(struct xnt_stats *out);
void xnt_stats_free(struct xnt_stats *s);
/* Counter NAME of C (0 if absent). */
unsigned long long xnt_ctr(const struct xnt_counters *c, const char *name);
/* The vif of S for (DOMID, DEVID), or NULL. */
const struct xnt_vifstats *xnt_stats_find(const struct xnt_stats *s, unsigned domid,
					  unsigned devid);
/* Drops grouped by reason as the docs name them. */
enum xnt_drop_group { XNT_DG_RING_FULL, XNT_DG_BAD_REQUEST, XNT_DG_RATE_LIMITED,
		      XNT_DG_SPOOFED, XNT_DG_NO_RX_BUFFER, XNT_DG_FILTERED, XNT_DG_MAX };
const char *xnt_drop_group_name(enum xnt_drop_group g);
unsigned long long xnt_drop_group(const struct xnt_counters *c, enum xnt_drop_group g);
/* Every drop counter summed (rate-limited rounds are not drops). */
unsigned long long xnt_drops_total(const struct xnt_counters *c);

/* ---- JSON output (json.c) --------------------------------------------------- */

#define XNT_JSON_DEPTH 16
struct xnt_json { FILE *f; int depth; bool first[XNT_JSON_DEPTH]; };
void xnt_json_begin(struct xnt_json *j, FILE *f);
/* KEY is NULL inside arrays and for the outermost value. */
void xnt_json_obj(struct xnt_json *j, const char *key);
void xnt_json_arr(struct xnt_json *j, const char *key);
void xnt_json_end(struct xnt_json *j, char close);	/* '}' or ']' */
void xnt_json_str(struct xnt_json *j, const char *key, const char *v);	/* NULL: null */
void xnt_json_u64(struct xnt_json *j, const char *key, unsigned long long v);
void xnt_json_int(struct xnt_json *j, const char *key, long long v);
void xnt_json_bool(struct xnt_json *j, const char *key, bool v);
void xnt_json_quote(FILE *f, const char *s);

/* ---- more command groups ------------------------------------------------------ */

int xnt_cmd_stats(int argc, char **argv);
int xnt_cmd_top(int argc, char **argv);
int xnt_cmd_status(int argc, char **argv);

#endif
