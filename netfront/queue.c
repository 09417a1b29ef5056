/* queue.c — setting up a ring pair, marking it broken, arming events. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "queue.h"
#include "xnx_log.h"

void xnf_queue_init(struct xnf_queue *q, void *tx_sring, void *rx_sring,
		    uint8_t *tx_pages, const grant_ref_t *tx_refs,
		    uint8_t *rx_pages, const grant_ref_t *rx_refs, bool sg)
{
	struct netif_tx_sring *txs = tx_sring;
	struct netif_rx_sring *rxs = rx_sring;

	memset(q, 0, sizeof(*q));
	SHARED_RING_INIT(txs);
	FRONT_RING_INIT(&q->tx, txs, XNF_PAGE_SIZE);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&q->rx, rxs, XNF_PAGE_SIZE);
	XNX_BUG_ON(RING_SIZE(&q->tx) != XNF_TX_RING_SIZE);
	XNX_BUG_ON(RING_SIZE(&q->rx) != XNF_RX_RING_SIZE);

	q->tx_pages = tx_pages;
	q->rx_pages = rx_pages;
	memcpy(q->tx_refs, tx_refs, sizeof(q->tx_refs));
	memcpy(q->rx_refs, rx_refs, sizeof(q->rx_refs));
	/* Free ids as a stack, lowest on top, so the first frames use pages
	 * 0, 1, 2, ... (easy to follow in a trace). */
	for (unsigned i = 0; i < XNF_TX_RING_SIZE; i++)
		q->tx_free[i] = (uint16_t)(XNF_TX_RING_SIZE - 1 - i);
	q->tx_nfree = XNF_TX_RING_SIZE;
	q->tx_ids = XNF_TX_RING_SIZE;
	q->rx_window = XNF_RX_RING_SIZE;
	q->sg = sg;
}

void xnf_queue_set_windows(struct xnf_queue *q, unsigned tx_ids,
			   unsigned rx_window)
{
	XNX_BUG_ON(q->rx.req_prod_pvt != 0 || q->tx.req_prod_pvt != 0);
	XNX_BUG_ON(rx_window == 0 || rx_window > XNF_RX_RING_SIZE ||
		   (rx_window & (rx_window - 1)) != 0);
	XNX_BUG_ON(tx_ids < XNF_MAX_SLOTS || tx_ids > XNF_TX_RING_SIZE);
	q->rx_window = rx_window;
	q->tx_ids = tx_ids;
	for (unsigned i = 0; i < tx_ids; i++)
		q->tx_free[i] = (uint16_t)(tx_ids - 1 - i);
	q->tx_nfree = tx_ids;
}

void xnf_queue_tx_grow(struct xnf_queue *q)
{
	/* Ids past tx_ids were never used: none can be pending. Lowest on
	 * top, as at init. */
	for (unsigned id = XNF_TX_RING_SIZE; id-- > q->tx_ids;)
		q->tx_free[q->tx_nfree++] = (uint16_t)id;
	q->tx_ids = XNF_TX_RING_SIZE;
}

void xnf_queue_break(struct xnf_queue *q, const char *fmt, ...)
{
	va_list ap;

	if (q->broken)
		return;
	q->broken = true;
	va_start(ap, fmt);
	vsnprintf(q->reason, sizeof(q->reason), fmt, ap);
	va_end(ap);
	xnx_err("backend broke the protocol: %s", q->reason);
}

int xnf_check_rsp_prod(struct xnf_queue *q, const char *ring,
		       RING_IDX rsp_prod, RING_IDX rsp_cons, RING_IDX req_prod)
{
	/* Unsigned differences: correct across index wrap-around. */
	if (rsp_prod - rsp_cons > req_prod - rsp_cons) {
		xnf_queue_break(q, "%s rsp_prod %u is %u ahead of rsp_cons %u, "
				"with only %u requests published", ring,
				rsp_prod, rsp_prod - rsp_cons, rsp_cons,
				req_prod - rsp_cons);
		return -EPIPE;
	}
	return 0;
}

bool xnf_queue_peek(const struct xnf_queue *q)
{
	/* Atomic loads: the backend moves rsp_prod while we look, and a
	 * plain read in a polling loop could be read once for all. */
	return q->broken ||
	       __atomic_load_n(&q->tx.sring->rsp_prod, __ATOMIC_RELAXED) != q->tx.rsp_cons ||
	       __atomic_load_n(&q->rx.sring->rsp_prod, __ATOMIC_RELAXED) != q->rx.rsp_cons;
}

bool xnf_queue_arm(struct xnf_queue *q)
{
	int tx_work, rx_work;

	if (q->broken)
		return false;
	/* Each macro stores rsp_event, then a full barrier, then re-reads
	 * rsp_prod: pairs with the backend's RING_PUSH_RESPONSES_AND_CHECK_
	 * NOTIFY (store rsp_prod, barrier, read rsp_event), so either we see
	 * its responses or it sees our event index and kicks. */
	RING_FINAL_CHECK_FOR_RESPONSES(&q->tx, tx_work);
	RING_FINAL_CHECK_FOR_RESPONSES(&q->rx, rx_work);
	return tx_work || rx_work;
}
