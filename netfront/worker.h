/*
 * worker.h — xnetfront's data path (worker.c): a thread per ring queue
 * moving frames between the queue and its TAP queue (TX: TAP -> ring, RX:
 * ring -> TAP) and taking the queue's events. The main thread keeps
 * xenstore, reconnects, the stats socket and failover; it holds a queue's
 * lock (xnf_pump_lock) whenever it touches the device, and stops and joins
 * the workers before the device's queues change or go.
 */
#ifndef XNF_WORKER_H
#define XNF_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "netfront/queue.h"
#include "xnetfront.h"

#define XNF_PUMP_BURST 32

struct xnf_pump {
	/* Set by the main thread while the worker is stopped. */
	struct xnf_dev *dev;
	unsigned queue;
	int tap_fd;		/* this queue's TAP queue: -1 none */
	int out_fd;		/* where received frames go (a TAP queue) */
	bool offload;		/* TAP queues carry a virtio-net header */
	int main_wake;		/* eventfd: the device needs xnf_process */
	/* Frames taken off the RX ring, in its pages, and a buffer for one
	 * whose checksum is completed here. */
	struct xnf_rx_view rx[XNF_PUMP_BURST];
	uint8_t *rx_buf;
	/* Counters and the multicast hint: read under the lock. */
	uint64_t tap_drops;
	uint64_t csum_filled;		/* blank checksums completed here */
	uint64_t csum_unplaceable;	/* blank, L4 header not found: dropped */
	bool mc_dirty;			/* an IGMP/MLD frame went out */
	/* The thread. */
	pthread_t thread;
	pthread_mutex_t lock;	/* held by the worker for each round */
	int wake;		/* eventfd: look at STOP */
	bool stop;
	bool running;
	int tid;		/* the worker's thread id (atomic); 0: none */
};

struct xnf_pump *xnf_pump_new(void);
void xnf_pump_free(struct xnf_pump *p);
/* Start P's worker (its fields set); 0 or -errno. */
int xnf_pump_start(struct xnf_pump *p);
/* Tell the worker to stop at its next round (call with P locked). */
void xnf_pump_stop_locked(struct xnf_pump *p);
/* Stop and join the worker, if running. */
void xnf_pump_join(struct xnf_pump *p);
void xnf_pump_lock(struct xnf_pump *p);
void xnf_pump_unlock(struct xnf_pump *p);

#endif
