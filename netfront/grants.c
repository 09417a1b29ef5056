/*
 * grants.c — ending our grants when the backend may still map the pages
 * (the class of XSA-396: Linux frontends took the end of a grant for
 * granted and reused pages a backend still mapped). The hypervisor refuses
 * to end a grant that is mapped or being copied; such a page is held: it is
 * never written again nor given back, it is tried again now and then (as
 * Linux's deferred gnttab_end_foreign_access), and at close, or when too
 * many are held, it is abandoned to the hypervisor (counted, logged): our
 * handle closes, the hypervisor ends the grant once the backend unmaps it.
 * On Xen, unsharing always succeeds (the kernel defers the end itself), so
 * nothing is ever held there.
 */
#include <errno.h>
#include <string.h>

#include "dev.h"
#include "xnx_log.h"

/* First delay before trying a held page again; it doubles up to the most. */
#define RETRY_FIRST_MS 50u
#define RETRY_MOST_MS 1000u

static void hold(struct xnf_dev *dev, void *page)
{
	struct xnf_held *h = &dev->held;

	if (h->n == XNF_HELD_MAX) {
		h->abandoned++;
		return;
	}
	h->page[h->n++] = page;
	if (!h->next_try) {
		h->delay_ms = RETRY_FIRST_MS;
		h->next_try = xnx_now_ns() + h->delay_ms * 1000000ull;
	}
}

int xnf_grants_end(struct xnf_dev *dev, void **region, uint32_t count)
{
	uint8_t *p = *region;
	unsigned held = 0;
	int err;

	if (!p)
		return 0;
	*region = NULL;
	if (xnx_gntshr_unshare(dev->gs, p, count) == 0)
		return 0;
	err = errno;
	/* One busy page refuses the whole region: end the others alone. */
	for (uint32_t i = 0; i < count; i++) {
		void *page = p + (size_t)i * XNF_PAGE_SIZE;

		if (count > 1 && err == EBUSY && xnx_gntshr_unshare(dev->gs, page, 1) == 0)
			continue;
		hold(dev, page);
		held++;
	}
	if (!held)
		return 0;	/* let go of meanwhile */
	/* Not a warning yet: a backend that is closing unmaps within
	 * milliseconds; release() warns about what it still maps after. */
	xnx_debug("vif %u: ending the grants of %u of our pages failed (%s): "
		  "held for now", dev->devid, held, strerror(err));
	return -EBUSY;
}

unsigned xnf_grants_retry(struct xnf_dev *dev, bool now)
{
	struct xnf_held *h = &dev->held;
	uint64_t t = xnx_now_ns();
	unsigned k = 0;

	if (!h->n || (!now && t < h->next_try))
		return h->n;
	for (unsigned i = 0; i < h->n; i++)
		if (xnx_gntshr_unshare(dev->gs, h->page[i], 1) < 0)
			h->page[k++] = h->page[i];
	if (k < h->n)
		xnx_info("vif %u: backend domain %u let go of %u held pages; %u still held",
			 dev->devid, dev->be_id, h->n - k, k);
	h->n = k;
	if (h->delay_ms < RETRY_MOST_MS)
		h->delay_ms *= 2;
	h->next_try = k ? t + h->delay_ms * 1000000ull : 0;
	return k;
}

void xnf_grants_abandon(struct xnf_dev *dev)
{
	struct xnf_held *h = &dev->held;

	if (!h->n)
		return;
	xnx_err("vif %u: backend domain %u still maps %u of our pages; giving up on "
		"them: left to the hypervisor, never used again", dev->devid,
		dev->be_id, h->n);
	h->abandoned += h->n;
	h->n = 0;
	h->next_try = 0;
}

unsigned xnf_pages_held(const struct xnf_dev *dev)
{
	return dev->held.n;
}

unsigned xnf_pages_abandoned(const struct xnf_dev *dev)
{
	return dev->held.abandoned;
}
