/*
 * direct.h — internal to libxnetfront and xnetfront: frames moved between
 * a file (the TAP) and a queue's own granted pages, with no copy of ours
 * in between — the caller readv()s a frame into the bounce pages of free
 * slots and writev()s a received frame from the receive pages. The public
 * xnf_send_burst* / xnf_recv_burst* copy frames in and out instead.
 *
 * Same rules as the _queue functions of xnetfront.h (a thread per queue
 * with XNF_CFG_QUEUE_FDS); each returns -1 with errno ENOTCONN or EINVAL
 * as they do.
 */
#ifndef XNF_DIRECT_H
#define XNF_DIRECT_H

#include "queue.h"

/* Collect completions, then take free slots for one frame of any size
 * (xnf_tx_reserve): 0, or -1 with EAGAIN when there is no room for a
 * largest frame (wait for completions: xnf_tx_ready_queue). Then exactly
 * one of xnf_tx_commit_queue or xnf_tx_cancel_queue. */
int xnf_tx_reserve_queue(struct xnf_dev *dev, unsigned queue,
			 struct xnf_tx_space *sp);
/* Send the frame read into SP's pages (META: its length and offload
 * fields) and kick the backend if it asked: 1 sent, 0 dropped and counted
 * (as xnf_send_burst drops), -1 with ENOTCONN when the queue broke. */
int xnf_tx_commit_queue(struct xnf_dev *dev, unsigned queue,
			struct xnf_tx_space *sp, const struct xnf_frame *meta);
/* Give SP's slots back, WRITTEN bytes having been stored into its pages. */
void xnf_tx_cancel_queue(struct xnf_dev *dev, unsigned queue,
			 struct xnf_tx_space *sp, size_t written);

/* Up to N received frames as spans of the receive pages (xnf_rx_take,
 * frames longer than CAP dropped and counted): how many. The spans stay
 * valid until xnf_rx_done_queue. */
int xnf_rx_take_queue(struct xnf_dev *dev, unsigned queue,
		      struct xnf_rx_view *views, unsigned n, size_t cap);
/* Done with the frames taken: their buffers are posted again. */
void xnf_rx_done_queue(struct xnf_dev *dev, unsigned queue);

#endif
