/*
 * platform_simgnt.c — pinning and unpinning entries of a simulated grant
 * table, shared by xnet-simd (maps, unshare) and privileged clients (grant
 * copy done in-process). Follows Xen's v1 rules: the GTF_reading and
 * GTF_writing bits of the shared entry are set with cmpxchg on the combined
 * flags+domid word while pins exist, and the pin counts live in a pin word
 * the granting domain cannot write.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "xnx_simproto.h"

/* The flags and domid of an entry are updated as one 32-bit word. */
union combo {
	uint32_t raw;
	struct {
		uint16_t flags;
		domid_t domid;
	};
};

/* A guest racing our cmpxchg gets a few retries, then the entry counts as
 * unstable (Xen allows five). */
#define SET_STATUS_RETRIES 4

int xnx_simgt_init(struct xnx_simgt *t, void *base, uint8_t *arena)
{
	struct xnx_simgt_hdr *hdr = base;

	if (hdr->magic != XNX_SIMGT_MAGIC || hdr->nr_refs > XNX_SIM_MAX_REFS ||
	    hdr->nr_pages > XNX_SIM_MAX_PAGES)
		return -EINVAL;
	*t = (struct xnx_simgt){
		.hdr = hdr,
		.entries = (grant_entry_v1_t *)((uint8_t *)base + XNX_SIMGT_ENTRIES_OFF),
		.pins = (uint32_t *)((uint8_t *)base + XNX_SIMGT_PINS_OFF),
		.arena = arena,
		.domid = hdr->domid,
		.nr_refs = hdr->nr_refs,
		.nr_pages = hdr->nr_pages,
	};
	return 0;
}

int xnx_simgt_lock(const struct xnx_simgt *t, uint32_t ref, unsigned spins,
		   uint32_t *pins)
{
	uint32_t *w = &t->pins[ref];

	for (unsigned i = 0; i < spins; i++) {
		uint32_t v = __atomic_load_n(w, __ATOMIC_RELAXED);

		/* Acquire pairs with the release store in xnx_simgt_unlock. */
		if (!(v & XNX_SIMGT_PIN_LOCK) &&
		    __atomic_compare_exchange_n(w, &v, v | XNX_SIMGT_PIN_LOCK, 1,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			*pins = v;
			return 0;
		}
		if (i >= 64)
			sched_yield();
	}
	return -EDEADLK;
}

void xnx_simgt_unlock(const struct xnx_simgt *t, uint32_t ref, uint32_t pins)
{
	/* Release: entry and pin updates are visible before the unlock. */
	__atomic_store_n(&t->pins[ref], pins & ~XNX_SIMGT_PIN_LOCK, __ATOMIC_RELEASE);
}

static uint32_t *combo_word(const struct xnx_simgt *t, uint32_t ref)
{
	return (uint32_t *)&t->entries[ref];
}

/* Set GTF_reading (and GTF_writing) on the shared entry, checking type and
 * domid when nothing is pinned yet; Xen's _set_status_v1. */
static int set_status(const struct xnx_simgt *t, uint32_t ref, uint16_t ldom,
		      bool readonly, uint32_t pins)
{
	uint32_t *raw = combo_word(t, ref);
	union combo cur = { .raw = __atomic_load_n(raw, __ATOMIC_ACQUIRE) };

	for (int retries = 0;; retries++) {
		union combo next = cur;

		if (!pins && ((cur.flags & (GTF_type_mask | GTF_sub_page)) != GTF_permit_access ||
			      cur.domid != ldom))
			return GNTST_general_error;
		next.flags |= GTF_reading;
		if (!readonly) {
			if (cur.flags & GTF_readonly)
				return GNTST_general_error;
			next.flags |= GTF_writing;
		}
		if (__atomic_compare_exchange_n(raw, &cur.raw, next.raw, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return GNTST_okay;
		if (retries == SET_STATUS_RETRIES)
			return GNTST_general_error;
	}
}

static void clear_flags(const struct xnx_simgt *t, uint32_t ref, uint32_t pins,
			bool readonly)
{
	uint16_t clear = 0;

	if (!readonly && !(pins & XNX_SIMGT_PIN_WR_MASK))
		clear |= GTF_writing;
	if (!(pins & (XNX_SIMGT_PIN_RD_MASK | XNX_SIMGT_PIN_WR_MASK)))
		clear |= GTF_reading;
	if (clear)
		__atomic_fetch_and(&t->entries[ref].flags, (uint16_t)~clear,
				   __ATOMIC_ACQ_REL);
}

/* Checks under the entry lock; returns a GNTST code. */
static int pin_locked(const struct xnx_simgt *t, uint32_t ref, uint16_t ldom,
		      bool readonly, uint32_t pins, uint32_t *frame)
{
	uint32_t full = readonly ? XNX_SIMGT_PIN_RD_MASK : XNX_SIMGT_PIN_WR_MASK;
	int rc;

	if (pins) {
		union combo cur = { .raw = __atomic_load_n(combo_word(t, ref),
							   __ATOMIC_ACQUIRE) };
		/* Pinned already: only the domain it was granted to, and no
		 * counter overflow. */
		if (cur.domid != ldom || (pins & full) == full)
			return GNTST_general_error;
	}
	if (!pins || (!readonly && !(pins & XNX_SIMGT_PIN_WR_MASK))) {
		rc = set_status(t, ref, ldom, readonly, pins);
		if (rc != GNTST_okay)
			return rc;
	}
	*frame = __atomic_load_n(&t->entries[ref].frame, __ATOMIC_RELAXED);
	if (*frame >= t->nr_pages) {
		clear_flags(t, ref, pins, readonly);
		return GNTST_bad_page;
	}
	return GNTST_okay;
}

/* Journal stores: plain release stores, read by the daemon only after the
 * writer is dead. */
static void jset(uint32_t *field, uint32_t v)
{
	__atomic_store_n(field, v, __ATOMIC_RELEASE);
}

int xnx_simgt_acquire(const struct xnx_simgt *t, uint32_t ref, uint16_t ldom,
		      bool readonly, unsigned spins, uint32_t *frame,
		      struct xnx_simj_side *j)
{
	uint32_t pins;
	int rc;

	if (ref >= t->nr_refs)
		return GNTST_bad_gntref;
	if (__atomic_load_n(&t->hdr->dead, __ATOMIC_ACQUIRE))
		return GNTST_bad_domain;
	if (j) {
		j->ref = ref;
		j->domid = (uint16_t)t->domid;
		j->readonly = readonly;
		jset(&j->active, 1);
	}
	if (xnx_simgt_lock(t, ref, spins, &pins) < 0) {
		rc = GNTST_general_error;
		goto out;
	}
	rc = pin_locked(t, ref, ldom, readonly, pins, frame);
	if (rc == GNTST_okay) {
		pins += readonly ? XNX_SIMGT_PIN_RD : XNX_SIMGT_PIN_WR;
		if (j)
			jset(&j->intent, 1);
	}
	xnx_simgt_unlock(t, ref, pins);		/* commit */
	if (j && rc == GNTST_okay)
		jset(&j->committed, 1);
out:
	if (j)
		jset(&j->active, 0);
	return rc;
}

/* Drop a pin with the entry locked. */
static void unpin_locked(const struct xnx_simgt *t, uint32_t ref, bool readonly,
			 uint32_t *pins)
{
	if (!(*pins & (readonly ? XNX_SIMGT_PIN_RD_MASK : XNX_SIMGT_PIN_WR_MASK)))
		return;			/* not ours to drop */
	*pins -= readonly ? XNX_SIMGT_PIN_RD : XNX_SIMGT_PIN_WR;
	clear_flags(t, ref, *pins, readonly);
}

void xnx_simgt_release(const struct xnx_simgt *t, uint32_t ref, bool readonly,
		       unsigned spins, struct xnx_simj_side *j)
{
	uint32_t pins;

	if (ref >= t->nr_refs)
		return;
	if (j)
		jset(&j->active, 1);
	if (xnx_simgt_lock(t, ref, spins, &pins) == 0) {
		if (j)
			jset(&j->intent, 0);
		unpin_locked(t, ref, readonly, &pins);
		xnx_simgt_unlock(t, ref, pins);	/* commit */
		if (j)
			jset(&j->committed, 0);
	}
	if (j)
		jset(&j->active, 0);
}

/* Is REF's lock held by someone who does not let go? */
static bool lock_stuck(const struct xnx_simgt *t, uint32_t ref)
{
	for (unsigned i = 0; i < XNX_SIMGT_SPIN_DAEMON; i++) {
		if (!(__atomic_load_n(&t->pins[ref], __ATOMIC_ACQUIRE) & XNX_SIMGT_PIN_LOCK))
			return false;
		sched_yield();
	}
	return true;
}

void xnx_simgt_recover(const struct xnx_simgt *t, const struct xnx_simj_side *j)
{
	uint32_t ref = j->ref, pins;
	bool held = j->committed;

	if (ref >= t->nr_refs)
		return;
	if (j->active) {
		if (lock_stuck(t, ref)) {
			/* Died inside: nothing of that section was committed.
			 * Free the lock and make the flags match the pins. */
			pins = __atomic_load_n(&t->pins[ref], __ATOMIC_ACQUIRE) & ~XNX_SIMGT_PIN_LOCK;
			clear_flags(t, ref, pins, false);
			xnx_simgt_unlock(t, ref, pins);
		} else {
			held = j->intent;
		}
	}
	if (held)
		xnx_simgt_release(t, ref, j->readonly, XNX_SIMGT_SPIN_DAEMON, NULL);
}
