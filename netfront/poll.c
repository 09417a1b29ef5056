/*
 * poll.c — adaptive polling: after calls that moved frames, look at the
 * rings' indices for a short while before asking for events and sleeping.
 * On the machines this runs on a wake-up costs tens of microseconds and a
 * look at an index nanoseconds, so a peer that answers within the window
 * is met awake; a ring that stays idle costs one window, then the usual
 * sleep. Nothing polls after calls that moved nothing.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "dev.h"
#include "xnx_log.h"
#include "xnx_xs.h"

/* Ring looks between two reads of the clock (and of the caller's
 * descriptors, a syscall): about a microsecond. */
#define LOOKS 16

static unsigned poll_us_from_env(void)
{
	const char *s = getenv("XNETFRONT_POLL_US");
	unsigned long v;

	if (!s || !*s)
		return XNF_POLL_US_DEFAULT;
	if (xnx_parse_uint(s, 0, XNF_POLL_US_MAX, &v) < 0) {
		xnx_warn("XNETFRONT_POLL_US=%s: not a number of microseconds from "
			 "0 to %u; using %u", s, XNF_POLL_US_MAX, XNF_POLL_US_DEFAULT);
		return XNF_POLL_US_DEFAULT;
	}
	return (unsigned)v;
}

int xnf_poll_setup(struct xnf_dev *dev)
{
	if (!(dev->cfg.flags & XNF_CFG_POLL_US)) {
		dev->poll_us = poll_us_from_env();
		return 0;
	}
	if (dev->cfg.poll_us > XNF_POLL_US_MAX) {
		xnx_err("xnf_config poll_us %u: more than %u microseconds",
			dev->cfg.poll_us, XNF_POLL_US_MAX);
		return -EINVAL;
	}
	dev->poll_us = dev->cfg.poll_us;
	return 0;
}

unsigned xnf_poll_us(const struct xnf_dev *dev)
{
	return dev->poll_us;
}

/* Did queue I move frames since the last look (and forget it)? */
static bool worked(struct xnf_dev *dev, unsigned i)
{
	return __atomic_exchange_n(&dev->qs[i].worked, false, __ATOMIC_RELAXED);
}

/* Look at queues [FIRST, FIRST + COUNT) until one has work, one of FDS is
 * readable, or poll_us passed. True if something came. */
static bool spin(struct xnf_dev *dev, unsigned first, unsigned count,
		 struct pollfd *fds, unsigned nfds)
{
	uint64_t end = xnx_now_ns() + (uint64_t)dev->poll_us * 1000u;
	struct xnf_stats *st = &dev->qs[first].q->stats;

	st->polls++;
	for (unsigned turn = 1;; turn++) {
		for (unsigned i = first; i < first + count; i++)
			if (xnf_queue_peek(dev->qs[i].q))
				goto hit;
		if (turn % LOOKS == 0) {
			if (nfds && poll(fds, nfds, 0) > 0)
				goto hit;
			if (xnx_now_ns() >= end)
				return false;
		}
		__builtin_ia32_pause();
	}
hit:
	st->poll_hits++;
	return true;
}

/* xnf_wait's: every queue, no descriptor (what xnf_fd brings besides
 * ring events — xenstore, the control ring, the timer — waits the few
 * microseconds; the ring events are what we look at). Not with a thread
 * per queue: those threads poll their own rings (xnf_queue_poll). */
bool xnf_poll_rings(struct xnf_dev *dev)
{
	bool moved = false;

	if (dev->cfg.flags & XNF_CFG_QUEUE_FDS)
		return false;
	for (unsigned i = 0; i < dev->nqueues; i++)
		moved |= worked(dev, i);
	return moved && dev->poll_us && dev->state == XNF_CONNECTED &&
	       spin(dev, 0, dev->nqueues, NULL, 0);
}

int xnf_queue_poll(struct xnf_dev *dev, unsigned qi, struct pollfd *fds, unsigned nfds)
{
	if (dev->state != XNF_CONNECTED || qi >= dev->nqueues) {
		errno = dev->state != XNF_CONNECTED ? ENOTCONN : EINVAL;
		return -1;
	}
	return worked(dev, qi) && dev->poll_us && spin(dev, qi, 1, fds, nfds);
}
