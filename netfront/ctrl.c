/*
 * ctrl.c — the control ring as the frontend (netif.h "Control ring"): once
 * the backend is Connected, offer our data pages as static grants
 * (GET_GREF_MAPPING_SIZE, ADD_GREF_MAPPING) so the backend copies with
 * memcpy instead of grant copies, and with more than one queue set
 * Toeplitz hashing with a key and a mapping spreading the queues. One
 * request outstanding at a time; every answer is checked against it. A
 * backend that refuses a step is not an error: that feature stays off.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "dev.h"
#include "xnx_log.h"

/* The steps, in the order they are sent. */
enum {
	STEP_GREF_SIZE,
	STEP_GREF_ADD,
	STEP_HASH_ALGORITHM,
	STEP_HASH_FLAGS,
	STEP_HASH_KEY,
	STEP_HASH_MAPPING_SIZE,
	STEP_HASH_MAPPING,
	STEP_DONE,
	STEP_GREF_DEL,			/* only from xnf_ctrl_release_grants */
	STEP_RELEASED,
};

/* Entries of the hash mapping table we set (netback keeps up to 128). */
#define HASH_MAPPING_SIZE 128u
#define HASH_TYPES (XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP | \
		    XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)

/* The RSS key of Microsoft's RSS verification suite: well known, so a test
 * can predict where a flow goes. */
static const uint8_t toeplitz_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The request type of each step (STEP_DONE and STEP_RELEASED send none). */
static const uint16_t step_type[] = {
	[STEP_GREF_SIZE] = XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE,
	[STEP_GREF_ADD] = XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING,
	[STEP_HASH_ALGORITHM] = XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
	[STEP_HASH_FLAGS] = XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS,
	[STEP_HASH_KEY] = XEN_NETIF_CTRL_TYPE_SET_HASH_KEY,
	[STEP_HASH_MAPPING_SIZE] = XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE,
	[STEP_HASH_MAPPING] = XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING,
	[STEP_DONE] = XEN_NETIF_CTRL_TYPE_INVALID,
	[STEP_GREF_DEL] = XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING,
	[STEP_RELEASED] = XEN_NETIF_CTRL_TYPE_INVALID,
};

static const char *step_name(int step)
{
	static const char *const names[] = {
		"GET_GREF_MAPPING_SIZE", "ADD_GREF_MAPPING", "SET_HASH_ALGORITHM",
		"SET_HASH_FLAGS", "SET_HASH_KEY", "SET_HASH_MAPPING_SIZE",
		"SET_HASH_MAPPING", "done", "DEL_GREF_MAPPING", "released",
	};

	return step >= 0 && step <= STEP_RELEASED ? names[step] : "?";
}

int xnf_ctrl_setup(struct xnf_dev *dev)
{
	struct xnf_ctrl *c = &dev->ctrl;

	c->sring = xnx_gntshr_share_pages(dev->gs, dev->be_id, 1, &c->ring_ref, 1);
	if (!c->sring)
		return -errno;
	c->data = xnx_gntshr_share_pages(dev->gs, dev->be_id, XNF_CTRL_PAGES,
					 c->data_refs, 1);
	if (!c->data)
		return -errno;
	c->port = xnx_evtchn_bind_unbound_port(dev->ev, dev->be_id);
	if (c->port < 0)
		return -errno;
	memset(c->sring, 0, XNF_PAGE_SIZE);
	SHARED_RING_INIT((struct xen_netif_ctrl_sring *)c->sring);
	FRONT_RING_INIT(&c->ring, (struct xen_netif_ctrl_sring *)c->sring,
			XNF_PAGE_SIZE);
	/* From the start, also after a reconnect. */
	c->step = STEP_GREF_SIZE;
	c->waiting = c->hashing = false;
	c->gref_size = c->grefs_sent = c->grefs_left = 0;
	return 0;
}

static uint8_t *page(struct xnf_ctrl *c, int which)
{
	return c->data + (size_t)which * XNF_PAGE_SIZE;
}

/* Queue QI's static grant list: the receive buffers in use (writable),
 * then the bounce pages in use (read-only), as many as the backend keeps. */
static unsigned fill_gref_list(struct xnf_dev *dev, unsigned qi)
{
	struct xen_netif_gref *e = (struct xen_netif_gref *)page(&dev->ctrl, XNF_CTRL_GREFS);
	const struct xnf_queue *q = dev->qs[qi].q;
	unsigned n = 0, max = dev->ctrl.gref_size;

	if (max > XNF_PAGE_SIZE / sizeof(*e))
		max = XNF_PAGE_SIZE / sizeof(*e);
	for (unsigned i = 0; i < q->rx_window && n < max; i++)
		e[n++] = (struct xen_netif_gref){ .ref = q->rx_refs[i] };
	for (unsigned i = 0; i < q->tx_ids && n < max; i++)
		e[n++] = (struct xen_netif_gref){ .ref = q->tx_refs[i],
			.flags = XEN_NETIF_CTRLF_GREF_readonly };
	return n;
}

/* The next queue from FROM on with static grants added, or nqueues. */
static unsigned next_added(const struct xnf_dev *dev, unsigned from)
{
	while (from < dev->nqueues && dev->ctrl.grefs_added[from] == 0)
		from++;
	return from;
}

static void grow_all(struct xnf_dev *dev)
{
	for (unsigned i = 0; i < dev->nqueues; i++)
		xnf_queue_tx_grow(dev->qs[i].q);
}

/* The request for STEP, built locally and stored in one assignment. */
static struct xen_netif_ctrl_request build(struct xnf_dev *dev, int step)
{
	struct xnf_ctrl *c = &dev->ctrl;
	struct xen_netif_ctrl_request r = { .id = c->next_id, .type = step_type[step] };
	uint32_t *map = (uint32_t *)page(c, XNF_CTRL_MAPPING);

	switch (step) {
	case STEP_GREF_SIZE:
		break;
	case STEP_GREF_ADD:
	case STEP_GREF_DEL:
		/* DEL: the same list ADD sent for that queue. */
		c->grefs_sent = fill_gref_list(dev, c->queue);
		r.data[0] = c->queue;
		r.data[1] = c->data_refs[XNF_CTRL_GREFS];
		r.data[2] = step == STEP_GREF_ADD ? c->grefs_sent : c->grefs_added[c->queue];
		break;
	case STEP_HASH_ALGORITHM:
		r.data[0] = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
		break;
	case STEP_HASH_FLAGS:
		r.data[0] = HASH_TYPES;
		break;
	case STEP_HASH_KEY:
		memcpy(page(c, XNF_CTRL_KEY), toeplitz_key, sizeof(toeplitz_key));
		r.data[0] = c->data_refs[XNF_CTRL_KEY];
		r.data[1] = sizeof(toeplitz_key);
		break;
	case STEP_HASH_MAPPING_SIZE:
		r.data[0] = HASH_MAPPING_SIZE;
		break;
	case STEP_HASH_MAPPING:
		/* Queues round-robin over the table: each gets an equal share
		 * of the hash space. */
		for (unsigned i = 0; i < HASH_MAPPING_SIZE; i++)
			map[i] = i % dev->nqueues;
		r.data[0] = c->data_refs[XNF_CTRL_MAPPING];
		r.data[1] = HASH_MAPPING_SIZE;
		break;
	default:
		XNX_BUG_ON(1);
	}
	return r;
}

static void send_step(struct xnf_dev *dev, int step)
{
	struct xnf_ctrl *c = &dev->ctrl;
	int notify;

	c->step = step;
	if (step == STEP_DONE || step == STEP_RELEASED)
		return;
	*RING_GET_REQUEST(&c->ring, c->ring.req_prod_pvt) = build(dev, step);
	c->ring.req_prod_pvt++;
	c->waiting = true;
	/* Request before req_prod, req_prod before req_event (the macro's
	 * barriers); pairs with the backend's RING_FINAL_CHECK_FOR_REQUESTS. */
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&c->ring, notify);
	if (notify && xnx_evtchn_notify(dev->ev, (evtchn_port_t)c->port) < 0)
		xnx_warn("vif %u: notify control port %d: %s", dev->devid,
			 c->port, strerror(errno));
}

void xnf_ctrl_start(struct xnf_dev *dev)
{
	if (dev->feat.ctrl_ring && dev->ctrl.port >= 0 &&
	    dev->ctrl.step == STEP_GREF_SIZE && !dev->ctrl.waiting)
		send_step(dev, STEP_GREF_SIZE);
}

/* Where to go after STEP was answered with RSP. */
static int next_step(struct xnf_dev *dev, int step,
		     const struct xen_netif_ctrl_response *rsp)
{
	struct xnf_ctrl *c = &dev->ctrl;
	bool ok = rsp->status == XEN_NETIF_CTRL_STATUS_SUCCESS;
	int hash = dev->nqueues > 1 ? STEP_HASH_ALGORITHM : STEP_DONE;

	if (!ok && step != STEP_GREF_DEL)
		xnx_info("vif %u: backend answered %s with status %u; going on "
			 "without it", dev->devid, step_name(step), rsp->status);
	switch (step) {
	case STEP_GREF_SIZE:
		/* Queue 0's size; the backend keeps as many for each queue. */
		c->gref_size = ok ? rsp->data : 0;
		c->queue = 0;
		if (c->gref_size > 0)
			return STEP_GREF_ADD;
		grow_all(dev);			/* no static grants: use all */
		return hash;
	case STEP_GREF_ADD:
		if (ok) {
			c->grefs_added[c->queue] = c->grefs_sent;
			xnx_info("vif %u: queue %u: %u static grants in the backend",
				 dev->devid, c->queue, c->grefs_sent);
		} else {
			xnf_queue_tx_grow(dev->qs[c->queue].q);
		}
		if (++c->queue < dev->nqueues)
			return STEP_GREF_ADD;
		return hash;
	case STEP_HASH_MAPPING:
		c->hashing = ok;
		if (ok)
			xnx_info("vif %u: Toeplitz hashing over %u queues",
				 dev->devid, dev->nqueues);
		return STEP_DONE;
	case STEP_GREF_DEL: {
		unsigned added = c->grefs_added[c->queue];

		c->grefs_left += ok && rsp->data <= added ? added - rsp->data : added;
		c->grefs_added[c->queue] = 0;
		c->queue = next_added(dev, c->queue);
		if (c->queue < dev->nqueues)
			return STEP_GREF_DEL;
		if (c->grefs_left)
			xnx_info("vif %u: backend keeps %u static grants until "
				 "it disconnects", dev->devid, c->grefs_left);
		return STEP_RELEASED;
	}
	default:
		return ok ? step + 1 : STEP_DONE;
	}
}

/* Check one response against the request outstanding. */
static int check_rsp(struct xnf_dev *dev, const struct xen_netif_ctrl_response *rsp)
{
	struct xnf_ctrl *c = &dev->ctrl;

	if (!c->waiting || rsp->id != c->next_id || rsp->type != step_type[c->step]) {
		snprintf(dev->reason, sizeof(dev->reason), "control response id %u "
			 "type %u does not answer the request outstanding (%s)",
			 rsp->id, rsp->type, c->waiting ? step_name(c->step) : "none");
		return -EPROTO;
	}
	return 0;
}

int xnf_ctrl_poll(struct xnf_dev *dev)
{
	struct xnf_ctrl *c = &dev->ctrl;
	RING_IDX prod, cons;
	int more;

	if (!c->sring)
		return 0;
	do {
		prod = __atomic_load_n(&c->ring.sring->rsp_prod, __ATOMIC_RELAXED);
		cons = c->ring.rsp_cons;
		if (prod - cons > c->ring.req_prod_pvt - cons) {
			snprintf(dev->reason, sizeof(dev->reason), "control rsp_prod "
				 "%u is ahead of the %u requests made", prod,
				 c->ring.req_prod_pvt);
			return -EPROTO;
		}
		/* Responses after rsp_prod: pairs with the backend's push. */
		xen_rmb();
		for (; cons != prod; cons++) {
			struct xen_netif_ctrl_response rsp;

			RING_COPY_RESPONSE(&c->ring, cons, &rsp);
			if (check_rsp(dev, &rsp) < 0)
				return -EPROTO;
			c->ring.rsp_cons = cons + 1;
			c->waiting = false;
			c->next_id++;
			send_step(dev, next_step(dev, c->step, &rsp));
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&c->ring, more);
	} while (more);
	return 0;
}

/* Poll the event channel until the control request is answered. */
static void wait_answer(struct xnf_dev *dev, uint64_t deadline)
{
	while (dev->ctrl.waiting) {
		struct pollfd p = { .fd = xnx_evtchn_fd(dev->ev), .events = POLLIN };
		uint64_t now = xnx_now_ns();
		xenevtchn_port_or_error_t port;

		if (xnf_ctrl_poll(dev) < 0 || !dev->ctrl.waiting || now >= deadline)
			return;
		if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) < 0 &&
		    errno != EINTR)
			return;
		/* Events for the data rings too: they only mean "look", and
		 * the next xnf_process looks anyway. */
		while ((port = xnx_evtchn_pending(dev->ev)) >= 0)
			xnx_evtchn_unmask(dev->ev, (evtchn_port_t)port);
	}
}

void xnf_ctrl_release_grants(struct xnf_dev *dev, int timeout_ms)
{
	struct xnf_ctrl *c = &dev->ctrl;
	uint64_t deadline = xnx_now_ns() + (uint64_t)timeout_ms * 1000000u;

	if (!c->sring || c->port < 0)
		return;
	wait_answer(dev, deadline);
	c->queue = next_added(dev, 0);
	if (c->waiting || c->queue == dev->nqueues)
		return;
	/* Each answer sends the next queue's DEL: wait for them all. */
	send_step(dev, STEP_GREF_DEL);
	wait_answer(dev, deadline);
}

int xnf_ctrl_teardown(struct xnf_dev *dev)
{
	struct xnf_ctrl *c = &dev->ctrl;
	int rc = 0;

	if (c->port >= 0)
		xnx_evtchn_unbind(dev->ev, (evtchn_port_t)c->port);
	c->port = -1;
	if (xnf_grants_end(dev, &c->sring, 1) < 0)
		rc = -EBUSY;
	if (xnf_grants_end(dev, (void **)&c->data, XNF_CTRL_PAGES) < 0)
		rc = -EBUSY;
	c->waiting = false;
	memset(c->grefs_added, 0, sizeof(c->grefs_added));
	return rc;
}
