/*
 * policy.c — what a vif may send: the toolstack's `rate` limit as a credit
 * of bytes per time window (Linux netback's credit scheme: unused credit
 * carries over up to one window or 128 KiB, whichever is more, so a
 * maximum-size packet always gets through eventually).
 */
#include <errno.h>
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

/* A new window: add one window's credit, capped at the burst allowance. */
static void refill(struct xnb_credit *c, uint64_t now)
{
	uint64_t burst = c->bytes > MIN_BURST ? c->bytes : MIN_BURST;
	uint64_t r = c->remaining + c->bytes;

	c->window_start = now;
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
		next = now + c->usec * 1000u;
	}
	if (size > c->remaining) {
		*retry = next;
		return false;
	}
	c->remaining -= size;
	return true;
}
