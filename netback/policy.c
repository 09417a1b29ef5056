/*
 * policy.c — what a vif may send: the toolstack's `rate` limit as a credit
 * of bytes per time window (Linux netback's credit scheme: unused credit
 * carries over up to one window or 128 KiB, whichever is more, so a
 * maximum-size packet always gets through eventually); and the frontend's
 * multicast filter (netif.h "feature-multicast-control").
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "xnb.h"
#include "xnx_xs.h"

#define MIN_BURST 131072u

int xnb_parse_rate(const char *s, uint64_t *bytes, uint64_t *usec)
{
	char buf[48], *comma;
	unsigned long b, u;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	comma = strchr(buf, ',');
	if (!comma)
		return -EINVAL;
	*comma = '\0';
	if (xnx_parse_uint(buf, 1, ~0ul, &b) < 0 || xnx_parse_uint(comma + 1, 1, ~0ul, &u) < 0)
		return -EINVAL;
	*bytes = b;
	*usec = u;
	return 0;
}

void xnb_credit_set(struct xnb_credit *c, uint64_t bytes, uint64_t usec, uint64_t now)
{
	c->bytes = bytes;
	c->usec = usec;
	c->remaining = bytes;
	c->window_start = now;
}

/* A new window: add one window's credit, capped at the burst allowance.
 * The window starts where the last one ended (the latest window boundary
 * at or before NOW), not when the loop woke up: as Linux's credit timer
 * starts it at the scheduled time, so a late wake-up costs no credit. */
static void refill(struct xnb_credit *c, uint64_t now)
{
	uint64_t burst = c->bytes > MIN_BURST ? c->bytes : MIN_BURST;
	uint64_t r = c->remaining + c->bytes, win = c->usec * 1000u;

	c->window_start += (now - c->window_start) / win * win;
	c->remaining = r < c->remaining || r > burst ? burst : r;
}

bool xnb_credit_take(struct xnb_credit *c, uint32_t size, uint64_t now, uint64_t *retry)
{
	uint64_t next;

	if (c->bytes == 0)
		return true;	/* unlimited */
	next = c->window_start + c->usec * 1000u;
	if (size > c->remaining && now >= next) {
		refill(c, now);
		next = c->window_start + c->usec * 1000u;
	}
	if (size > c->remaining) {
		*retry = next;
		return false;
	}
	c->remaining -= size;
	return true;
}

/* ---- multicast filter ----------------------------------------------------- */

static bool is_multicast(const uint8_t a[6])
{
	return a[0] & 1;
}

static bool is_broadcast(const uint8_t a[6])
{
	return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5]) == 0xff;
}

/* The list is shared by the vif's queues: one queue's worker changes it
 * (TX extras) while another's reads it (RX). */
int xnb_mcast_add(struct xnb_mcast *m, const uint8_t addr[6])
{
	int rc = 0;

	if (!is_multicast(addr))
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (m->n == XNB_MCAST_MAX)
		rc = -ENOSPC;
	else
		memcpy(m->addr[m->n++], addr, 6);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void xnb_mcast_del(struct xnb_mcast *m, const uint8_t addr[6])
{
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->n; i++) {
		if (memcmp(m->addr[i], addr, 6) == 0) {
			memmove(m->addr[i], m->addr[i + 1], (m->n - i - 1) * 6u);
			m->n--;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
}

bool xnb_mcast_pass(struct xnb_mcast *m, const uint8_t dest[6])
{
	bool pass = false;

	/* Unicast and broadcast without a lock: the common case. */
	if (!m || !is_multicast(dest) || is_broadcast(dest) ||
	    !__atomic_load_n(&m->enabled, __ATOMIC_RELAXED))
		return true;
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->n && !pass; i++)
		pass = memcmp(m->addr[i], dest, 6) == 0;
	pthread_mutex_unlock(&m->lock);
	return pass;
}
