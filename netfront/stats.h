/*
 * stats.h — a frontend's stats socket (stats.c): listen, answer every
 * waiting client with the counters of the caller's vifs, in the line format
 * of xnetback's stats socket. Internal convention: 0 / fd / count or -errno.
 */
#ifndef XNF_STATS_H
#define XNF_STATS_H

#include <stdio.h>

#include "xnetfront.h"

/* <run dir>/xnetfront-dom<DOMID>.sock into BUF. */
int xnf_stats_default_path(unsigned domid, char *buf, size_t len);
/* A listening, non-blocking socket at PATH (a stale file is replaced; a
 * live server there: -EADDRINUSE). The fd, or -errno. */
int xnf_stats_listen(const char *path);
/* The answer's header lines; one vif's keys and totals (IFNAME: its
 * interface), after which the caller may add counters of its own; then
 * that vif's queues (TIDS: each queue's worker thread id, 0 none; or
 * NULL). */
void xnf_stats_put_header(FILE *f);
void xnf_stats_put_dev(FILE *f, const struct xnf_dev *dev, const char *ifname);
void xnf_stats_put_queues(FILE *f, const struct xnf_dev *dev, const int *tids);
/* Accept every waiting client on LFD and send each what WRITE puts (the
 * header and vifs), then "end". Never blocks. Clients served, or -errno. */
int xnf_stats_serve(int lfd, void (*write)(FILE *f, void *arg), void *arg);

#endif
