/*
 * loop.h — xnet-simd's single-threaded epoll loop, shared by the hypervisor
 * half (grant tables, event channels, domains) and the xenstore half.
 */
#ifndef SIM_LOOP_H
#define SIM_LOOP_H

#include <stdint.h>

struct sim_loop;
/* Called with the epoll events that fired for FD. */
typedef void (*sim_loop_fn)(int fd, uint32_t events, void *arg);

struct sim_loop *sim_loop_new(void);
void sim_loop_free(struct sim_loop *l);
/* Watch FD for EVENTS (EPOLLIN, ...). 0 or -errno. */
int sim_loop_add(struct sim_loop *l, int fd, uint32_t events, sim_loop_fn fn,
		 void *arg);
int sim_loop_mod(struct sim_loop *l, int fd, uint32_t events);
/* Stop watching FD (does not close it). Safe from inside a callback, also
 * for an fd whose event is still queued in the same round. */
int sim_loop_del(struct sim_loop *l, int fd);
/* Run until sim_loop_stop; returns 0 or -errno. */
int sim_loop_run(struct sim_loop *l);
void sim_loop_stop(struct sim_loop *l);

#endif
