/*
 * policy_stall.c — a guest that stops posting RX buffers, after Linux
 * netback (rx_drain_timeout, rx_stall_timeout): a frame that has waited
 * rx_drain_ns for buffers is dropped and so is every later frame that finds
 * none (draining), so the TAP keeps being emptied into one staging buffer
 * instead of piling up; no buffer at all for rx_stall_ns marks the queue
 * stalled and turns the TAP's carrier off, so the host stops sending; the
 * first buffer posted afterwards ends it. Called by rx.c around each round.
 */
#include <errno.h>

#include "xnb.h"
#include "xnx_log.h"

/* Without feature-rx-notify a stalled guest is looked at this often. */
#define STALL_POLL_NS (10u * 1000000u)

uint64_t xnb_queue_now(const struct xnb_queue *q)
{
	return q->io && q->io->now_ns ? q->io->now_ns(q->io->ctx) : xnx_now_ns();
}

static void set_carrier(struct xnb_queue *q, bool on)
{
	if (q->io && q->io->carrier)
		q->io->carrier(q->io->ctx, on);
}

static uint64_t earlier(uint64_t a, uint64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

static unsigned long long ms(uint64_t ns)
{
	return (unsigned long long)(ns / 1000000u);
}

void xnb_rx_stall_begin(struct xnb_queue *q, RING_IDX prod, uint64_t now)
{
	const struct xnb_policy *p = q->policy;

	if (!p)
		return;
	if (q->rx_last_ns == 0)
		q->rx_last_ns = now;
	if (q->rx_held && p->rx_drain_ns && now - q->rx_held_since >= p->rx_drain_ns) {
		q->rx_held = false;
		q->rx_held_since = 0;
		q->stats->drops[XNB_DROP_RX_NO_BUF]++;
		if (!q->rx_draining)
			xnx_info("queue %u: a frame waited %llu ms for rx buffers: "
				 "dropping frames that find none", q->id,
				 ms(p->rx_drain_ns));
		q->rx_draining = true;
	}
	if (q->rx_stalled) {
		if (prod != q->rx.req_cons) {
			/* Atomic: the other queues' workers read it (carrier). */
			__atomic_store_n(&q->rx_stalled, false, __ATOMIC_RELAXED);
			q->rx_last_ns = now;
			xnx_info("queue %u: guest rx ready again", q->id);
			set_carrier(q, true);
		}
		return;
	}
	if (p->rx_stall_ns && prod == q->rx.req_cons && now - q->rx_last_ns >= p->rx_stall_ns) {
		q->rx_draining = true;
		/* Atomic: the other queues' workers read it (carrier). */
		__atomic_store_n(&q->rx_stalled, true, __ATOMIC_RELAXED);
		xnx_warn("queue %u: guest rx stalled (no buffer for %llu ms): carrier off",
			 q->id, ms(now - q->rx_last_ns));
		set_carrier(q, false);
	}
}

void xnb_rx_stall_placed(struct xnb_queue *q, uint64_t now)
{
	q->rx_held_since = 0;
	q->rx_last_ns = now;
	q->rx_draining = false;
}

void xnb_rx_stall_held(struct xnb_queue *q, uint64_t now)
{
	if (q->rx_held_since == 0)
		q->rx_held_since = now;
}

bool xnb_rx_stall_end(struct xnb_queue *q, uint64_t now)
{
	const struct xnb_policy *p = q->policy;
	uint64_t d = 0;

	q->rx_deadline_ns = 0;
	if (!p)
		return false;
	if (q->rx_held && !q->rx_draining && p->rx_drain_ns)
		d = q->rx_held_since + p->rx_drain_ns;
	if (!q->rx_stalled && p->rx_stall_ns &&
	    XNB_READ_ONCE(q->rx.sring->req_prod) == q->rx.req_cons)
		d = earlier(d, q->rx_last_ns + p->rx_stall_ns);
	if (q->rx_stalled) {
		/* Be told of the first buffer posted. */
		q->rx.sring->req_event = q->rx.req_cons + 1;
		xen_mb(); /* req_event before re-reading req_prod: pairs with the mb in
			   * the frontend's RING_PUSH_REQUESTS_AND_CHECK_NOTIFY */
		if (XNB_READ_ONCE(q->rx.sring->req_prod) != q->rx.req_cons)
			return true;
		if (!q->feat.rx_notify)
			d = earlier(d, now + STALL_POLL_NS);
	}
	q->rx_deadline_ns = d;
	return false;
}
