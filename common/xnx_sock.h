/*
 * xnx_sock.h — the unix stream socket a daemon serves its counters on
 * (xnetback's and xnetfront's stats sockets): one way to take the path,
 * also from a predecessor that died without removing its socket file.
 */
#ifndef XNX_SOCK_H
#define XNX_SOCK_H

/* Listen on PATH (non-blocking, close-on-exec, mode 0660, BACKLOG
 * waiting clients). A socket file already at PATH is removed when no
 * server answers on it (its server died); one that answers gives
 * -EADDRINUSE, any other kind of file -EEXIST, a PATH too long for a
 * socket address -ENAMETOOLONG. The listening fd, or -errno. */
int xnx_sock_listen(const char *path, int backlog);

#endif
