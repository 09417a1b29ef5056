/*
 * queue.c — set up and fail one ring pair; the names of the drop counters.
 * Mapping the pages and binding the channels is interface.c's job.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "xnb.h"
#include "xnx_log.h"

const char *xnb_drop_name(enum xnb_drop d)
{
	static const char *const names[XNB_DROP_MAX] = {
		[XNB_DROP_TX_BAD_SIZE] = "tx_bad_size",
		[XNB_DROP_TX_COPY] = "tx_copy_error",
		[XNB_DROP_TX_CSUM] = "tx_csum_setup",
		[XNB_DROP_TX_MCAST] = "tx_mcast_refused",
		[XNB_DROP_TX_TAP] = "tx_tap_full",
		[XNB_DROP_RX_TOO_BIG] = "rx_too_big",
		[XNB_DROP_RX_COPY] = "rx_copy_error",
		[XNB_DROP_RX_BAD_HDR] = "rx_bad_vnet_hdr",
		[XNB_DROP_RX_MCAST] = "rx_mcast_filtered",
		[XNB_DROP_TX_SPOOF_MAC] = "tx_spoofed_mac",
		[XNB_DROP_TX_SPOOF_IP] = "tx_spoofed_ip",
		[XNB_DROP_TX_VLAN] = "tx_vlan_tagged",
		[XNB_DROP_TX_MTU] = "tx_over_mtu",
		[XNB_DROP_RX_VLAN] = "rx_wrong_vlan",
		[XNB_DROP_RX_NO_BUF] = "rx_no_buffer",
	};

	return (unsigned)d < XNB_DROP_MAX ? names[d] : "unknown";
}

int xnb_queue_init(struct xnb_queue *q, unsigned id, uint32_t domid,
		   void *tx_sring, void *rx_sring, const struct xnb_feat *feat,
		   const struct xnb_io *io, struct xnb_stats *stats)
{
	memset(q, 0, sizeof(*q));
	q->id = id;
	q->domid = domid;
	q->feat = *feat;
	q->io = io;
	q->stats = stats;
	q->tx_stage = malloc(XNB_STAGE_BYTES);
	q->rx_stage = malloc(XNB_STAGE_BYTES);
	if (!q->tx_stage || !q->rx_stage) {
		xnb_queue_fini(q);
		return -ENOMEM;
	}
	/* The frontend initialised the shared rings (SHARED_RING_INIT); we only
	 * set up our private indices. */
	BACK_RING_INIT(&q->tx, (netif_tx_sring_t *)tx_sring, XNB_PAGE_SIZE);
	BACK_RING_INIT(&q->rx, (netif_rx_sring_t *)rx_sring, XNB_PAGE_SIZE);
	return 0;
}

void xnb_queue_fini(struct xnb_queue *q)
{
	free(q->tx_stage);
	free(q->rx_stage);
	q->tx_stage = q->rx_stage = NULL;
}

void xnb_queue_fail(struct xnb_queue *q, const char *fmt, ...)
{
	va_list ap;

	if (q->broken)
		return;
	q->broken = true;
	va_start(ap, fmt);
	vsnprintf(q->reason, sizeof(q->reason), fmt, ap);
	va_end(ap);
	xnx_err("queue %u: protocol violation: %s", q->id, q->reason);
}

/* One "name value" line per counter: what the stats socket will serve. */
int xnb_stats_format(const struct xnb_stats *s, char *buf, size_t len)
{
	const struct { const char *name; uint64_t v; } c[] = {
		{ "tx_packets", s->tx_packets }, { "tx_bytes", s->tx_bytes },
		{ "rx_packets", s->rx_packets }, { "rx_bytes", s->rx_bytes },
		{ "tx_gso", s->tx_gso }, { "rx_gso", s->rx_gso },
		{ "rx_stalls", s->rx_stalls }, { "tx_throttled", s->tx_throttled },
		{ "notify_sent", s->notify_sent },
		{ "notify_suppressed", s->notify_suppressed },
		{ "rx_zerocopy", s->rx_zerocopy },
	};
	size_t off = 0;
	int n;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]) + XNB_DROP_MAX; i++) {
		bool drop = i >= sizeof(c) / sizeof(c[0]);
		size_t d = i - sizeof(c) / sizeof(c[0]);

		n = snprintf(buf + off, len - off, "%s%s %llu\n", drop ? "drop_" : "",
			     drop ? xnb_drop_name((enum xnb_drop)d) : c[i].name,
			     (unsigned long long)(drop ? s->drops[d] : c[i].v));
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}
