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
/* Print one line per vif of DOMID (xl network-list columns). */
int xnt_vif_print(struct xs_handle *xs, unsigned domid, const char *prefix);

#endif
