/*
 * test_netback_tap.c — xnetback's TAP side against the real kernel, in a
 * private network namespace (so nothing is left behind and no name clashes
 * with other runs): create/close, address and MTU, offloads, and frames
 * through the TX and RX rounds with a packet socket as the host's stack.
 * Grant copies go to a fake grant table; the rings are driven by hand.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>

#include <CUnit/Basic.h>

#include "netback/xnb_vif.h"

#define DOMID 5
#define NGRANTS 8

static bool have_netns;
static uint8_t grant_page[NGRANTS][XNB_PAGE_SIZE];
static struct xnb_tap tap = { .fd = -1 };

static int fake_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	for (unsigned i = 0; i < n; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[i];

		if (g->flags & GNTCOPY_source_gref)
			memcpy(g->dest.virt, grant_page[g->source.foreign.ref] + g->source.foreign.offset, g->len);
		else
			memcpy(grant_page[g->dest.foreign.ref] + g->dest.foreign.offset, g->source.virt, g->len);
		g->status = GNTST_okay;
	}
	return 0;
}

static void fake_notify(void *ctx, uint32_t port) { }

static ssize_t real_write(void *ctx, const struct iovec *iov, int n)
{
	return xnb_tap_write(&tap, iov, n);
}

static ssize_t real_read(void *ctx, void *buf, size_t len)
{
	return xnb_tap_read(&tap, buf, len);
}

static const struct xnb_io io = {
	.grant_copy = fake_copy, .notify = fake_notify,
	.tap_write = real_write, .tap_read = real_read,
};

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int rc = ioctl(s, req, ifr);

	close(s);
	return rc;
}

static int suite_init(void)
{
	have_netns = unshare(CLONE_NEWNET) == 0;
	if (!have_netns)
		printf("\n  (no private network namespace: %s; TAP tests skipped)\n", strerror(errno));
	return 0;
}

static void test_tap_open_name_too_long(void)
{
	struct xnb_tap t;

	CU_ASSERT_EQUAL(xnb_tap_open(&t, "vif12345.67890123", 0), -ENAMETOOLONG);
}

static void test_tap_open_sets_link(void)
{
	struct ifreq ifr;
	static const uint8_t dummy[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (!have_netns)
		return;
	CU_ASSERT_EQUAL_FATAL(xnb_tap_open(&tap, "vif5.0", 1400), 0);
	CU_ASSERT_STRING_EQUAL(tap.name, "vif5.0");
	CU_ASSERT(tap.ifindex > 0);
	CU_ASSERT_EQUAL((unsigned)tap.ifindex, if_nametoindex("vif5.0"));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vif5.0");
	CU_ASSERT_EQUAL(if_ioctl(SIOCGIFMTU, &ifr), 0);
	CU_ASSERT_EQUAL(ifr.ifr_mtu, 1400);
	CU_ASSERT_EQUAL(if_ioctl(SIOCGIFHWADDR, &ifr), 0);
	CU_ASSERT_EQUAL(memcmp(ifr.ifr_hwaddr.sa_data, dummy, 6), 0);
	ifr.ifr_flags = IFF_UP;
	CU_ASSERT_EQUAL(if_ioctl(SIOCSIFFLAGS, &ifr), 0);
}

static void test_tap_open_existing_name(void)
{
	struct xnb_tap t;

	if (!have_netns || tap.fd < 0)
		return;
	CU_ASSERT_EQUAL(xnb_tap_open(&t, "vif5.0", 0), -EEXIST);
	CU_ASSERT_EQUAL(xnb_tap_open(&t, "lo", 0), -EEXIST);
}

static void test_tap_set_offload(void)
{
	struct xnb_feat all = { .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true,
				.ip_csum = true, .ipv6_csum = true };
	struct xnb_feat none = { 0 };

	if (!have_netns || tap.fd < 0)
		return;
	CU_ASSERT_EQUAL(xnb_tap_set_offload(&tap, &all), 0);
	CU_ASSERT_EQUAL(xnb_tap_set_offload(&tap, &none), 0);
}

static int packet_socket(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = tap.ifindex };
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	if (s >= 0 && bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* A broadcast frame with an unused ethertype, so the stack leaves it alone. */
static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x00\x16\x3e\x00\x00\x05", 6);
	f[12] = 0x88;
	f[13] = 0xb5;	/* local experimental */
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
}

/* Wait (bounded) until FD is readable. */
static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static struct xnb_queue *new_queue(void *txp, void *rxp)
{
	static struct xnb_stats stats;
	struct xnb_feat f = { .sg = true, .rx_notify = true };
	struct xnb_queue *q = calloc(1, sizeof(*q));

	SHARED_RING_INIT((netif_tx_sring_t *)txp);
	SHARED_RING_INIT((netif_rx_sring_t *)rxp);
	if (q && xnb_queue_init(q, 0, DOMID, txp, rxp, &f, &io, &stats) < 0) {
		free(q);
		q = NULL;
	}
	return q;
}

/* Guest → host: a TX request's frame comes out of the interface. */
static void test_tx_frame_reaches_host(void)
{
	static _Alignas(4096) uint8_t txp[XNB_PAGE_SIZE], rxp[XNB_PAGE_SIZE];
	netif_tx_front_ring_t front;
	netif_tx_request_t *r;
	uint8_t got[2048];
	struct xnb_queue *q;
	int s, notify;
	ssize_t n = -1;

	if (!have_netns || tap.fd < 0)
		return;
	s = packet_socket();
	CU_ASSERT_FATAL(s >= 0);
	q = new_queue(txp, rxp);
	CU_ASSERT_FATAL(q != NULL);
	FRONT_RING_INIT(&front, (netif_tx_sring_t *)txp, XNB_PAGE_SIZE);
	make_frame(grant_page[1] + 100, 300, 7);
	r = RING_GET_REQUEST(&front, front.req_prod_pvt++);
	*r = (netif_tx_request_t){ .gref = 1, .offset = 100, .flags = 0, .id = 3, .size = 300 };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
	(void)notify;
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(q->stats->tx_packets, 1);
	/* Other frames (IPv6 autoconf) may come first: look for ours. */
	for (int i = 0; i < 10 && readable(s, 2000); i++) {
		n = recv(s, got, sizeof(got), 0);
		if (n == 300 && got[12] == 0x88 && got[13] == 0xb5)
			break;
	}
	CU_ASSERT_EQUAL(n, 300);
	CU_ASSERT_EQUAL(memcmp(got, grant_page[1] + 100, 300), 0);
	xnb_queue_fini(q);
	free(q);
	close(s);
}

/* An Ethernet + IPv4 + TCP frame of LEN bytes across BUF (no options). */
static void make_tcp4(uint8_t *f, size_t len)
{
	size_t ip_len = len - 14;

	memset(f, 0, len);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x00\x16\x3e\x00\x00\x05\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (uint8_t)(ip_len >> 8);
	f[17] = (uint8_t)ip_len;
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	f[34] = 0x30; f[35] = 0x39;	/* ports 12345 -> 80 */
	f[37] = 80;
	f[46] = 5 << 4;
	f[47] = 0x10;	/* ACK */
}

/* Guest → host: a GSO packet with a blank checksum becomes a virtio-net
 * header the kernel accepts, and arrives as one frame. */
static void test_tx_gso_frame_accepted(void)
{
	static _Alignas(4096) uint8_t txp[XNB_PAGE_SIZE], rxp[XNB_PAGE_SIZE];
	uint8_t frame[3000], got[4096];
	netif_tx_front_ring_t front;
	struct netif_extra_info ex = { .type = XEN_NETIF_EXTRA_TYPE_GSO };
	uint64_t sent, tap_drops, csum_drops;
	struct xnb_queue *q;
	int s, notify;
	ssize_t n = -1;

	if (!have_netns || tap.fd < 0)
		return;
	s = packet_socket();
	CU_ASSERT_FATAL(s >= 0);
	q = new_queue(txp, rxp);
	CU_ASSERT_FATAL(q != NULL);
	sent = q->stats->tx_packets;
	tap_drops = q->stats->drops[XNB_DROP_TX_TAP];
	csum_drops = q->stats->drops[XNB_DROP_TX_CSUM];
	make_tcp4(frame, sizeof(frame));
	memcpy(grant_page[2], frame, 2000);
	memcpy(grant_page[3], frame + 2000, 1000);
	FRONT_RING_INIT(&front, (netif_tx_sring_t *)txp, XNB_PAGE_SIZE);
	*RING_GET_REQUEST(&front, front.req_prod_pvt++) = (netif_tx_request_t){
		.gref = 2, .size = 3000, .id = 1,
		.flags = NETTXF_csum_blank | NETTXF_data_validated | NETTXF_more_data |
			 NETTXF_extra_info };
	ex.u.gso.size = 1448;
	ex.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	memcpy(RING_GET_REQUEST(&front, front.req_prod_pvt++), &ex, sizeof(ex));
	*RING_GET_REQUEST(&front, front.req_prod_pvt++) =
		(netif_tx_request_t){ .gref = 3, .size = 1000, .id = 2 };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
	(void)notify;
	CU_ASSERT_EQUAL(xnb_tx_run(q), XNB_IDLE);
	CU_ASSERT_EQUAL(q->stats->tx_packets, sent + 1);
	CU_ASSERT_EQUAL(q->stats->drops[XNB_DROP_TX_TAP], tap_drops);	/* kernel took it */
	CU_ASSERT_EQUAL(q->stats->drops[XNB_DROP_TX_CSUM], csum_drops);
	for (int i = 0; i < 10 && readable(s, 2000); i++) {
		n = recv(s, got, sizeof(got), 0);
		if (n == 3000 && got[12] == 0x08 && got[23] == 6)
			break;
	}
	CU_ASSERT_EQUAL(n, 3000);
	xnb_queue_fini(q);
	free(q);
	close(s);
}

/* Host → guest: a frame sent out of the interface lands in a posted buffer. */
static void test_rx_frame_reaches_guest(void)
{
	static _Alignas(4096) uint8_t txp[XNB_PAGE_SIZE], rxp[XNB_PAGE_SIZE];
	netif_rx_front_ring_t front;
	netif_rx_response_t rsp;
	uint8_t frame[500];
	struct xnb_queue *q;
	int s, notify;
	bool found = false;

	if (!have_netns || tap.fd < 0)
		return;
	s = packet_socket();
	CU_ASSERT_FATAL(s >= 0);
	q = new_queue(txp, rxp);
	CU_ASSERT_FATAL(q != NULL);
	FRONT_RING_INIT(&front, (netif_rx_sring_t *)rxp, XNB_PAGE_SIZE);
	for (uint16_t i = 0; i < 4; i++)
		*RING_GET_REQUEST(&front, front.req_prod_pvt++) =
			(netif_rx_request_t){ .id = i, .gref = 2u + i };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
	(void)notify;
	make_frame(frame, sizeof(frame), 42);
	CU_ASSERT_EQUAL_FATAL(send(s, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	/* Rounds until our frame shows up (the stack may send its own first). */
	for (int round = 0; round < 10 && !found && readable(tap.fd, 2000); round++) {
		RING_IDX from = front.sring->rsp_prod;

		xnb_rx_run(q);
		for (RING_IDX i = from; i != front.sring->rsp_prod; i++) {
			RING_COPY_RESPONSE(&front, i, &rsp);
			if (rsp.status == (int16_t)sizeof(frame) &&
			    memcmp(grant_page[2 + (rsp.id % 4)], frame, sizeof(frame)) == 0)
				found = true;
		}
	}
	CU_ASSERT(found);
	xnb_queue_fini(q);
	free(q);
	close(s);
}

/* The output of shell command CMD, in BUF; its length or -1. */
static int cmd_output(const char *cmd, char *buf, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	return pclose(f) == 0 ? (int)n : -1;
}

/* One root qdisc for the multi-queue TAP, not mq with one per TX queue. */
static void test_tap_open_one_root_qdisc(void)
{
	char out[4096], *nl;

	if (!have_netns || tap.fd < 0)
		return;
	CU_ASSERT_FATAL(cmd_output("tc qdisc show dev vif5.0", out, sizeof(out)) > 0);
	nl = strchr(out, '\n');
	CU_ASSERT(nl != NULL && nl[1] == '\0');	/* exactly one qdisc */
	CU_ASSERT(strncmp(out, "qdisc pfifo_fast ", 17) == 0);
	CU_ASSERT(strstr(out, " root ") != NULL);
}

/* Frames sent while nobody reads wait in the TAP up to its queue length
 * (tx_queue_len); the rest are dropped. */
static void test_slow_reader_gets_a_full_queue(void)
{
	struct ifreq ifr = { .ifr_name = "vif5.0" };
	uint8_t frame[200];
	unsigned long qlen, got = 0;
	int s;

	if (!have_netns || tap.fd < 0)
		return;
	CU_ASSERT_FATAL(if_ioctl(SIOCGIFTXQLEN, &ifr) == 0);
	qlen = (unsigned long)ifr.ifr_qlen;
	CU_ASSERT_FATAL(qlen > 0 && qlen < 100000);
	while (xnb_tap_read(&tap, frame, sizeof(frame)) > 0)
		;	/* what earlier tests left */
	s = packet_socket();
	CU_ASSERT_FATAL(s >= 0);
	make_frame(frame, sizeof(frame), 9);
	for (unsigned long i = 0; i < qlen + qlen / 2; i++)
		CU_ASSERT_EQUAL(send(s, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	while (xnb_tap_read(&tap, frame, sizeof(frame)) > 0)
		got++;
	/* Nearly all of the queue: the kernel reuses a read slot only once a
	 * batch of them has been read, so a few may still be taken. */
	CU_ASSERT(got >= qlen - qlen / 10);
	CU_ASSERT(got < qlen + qlen / 2);
	close(s);
}

static void test_tap_close_removes_interface(void)
{
	if (!have_netns || tap.fd < 0)
		return;
	xnb_tap_close(&tap);
	CU_ASSERT_EQUAL(tap.fd, -1);
	CU_ASSERT_EQUAL(if_nametoindex("vif5.0"), 0);
}

int main(void)
{
	CU_pSuite s;
	int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("netback_tap", suite_init, NULL);
	CU_add_test(s, "tap_open_name_too_long", test_tap_open_name_too_long);
	CU_add_test(s, "tap_open_sets_link", test_tap_open_sets_link);
	CU_add_test(s, "tap_open_existing_name", test_tap_open_existing_name);
	CU_add_test(s, "tap_set_offload", test_tap_set_offload);
	CU_add_test(s, "tx_frame_reaches_host", test_tx_frame_reaches_host);
	CU_add_test(s, "tx_gso_frame_accepted", test_tx_gso_frame_accepted);
	CU_add_test(s, "rx_frame_reaches_guest", test_rx_frame_reaches_guest);
	CU_add_test(s, "tap_open_one_root_qdisc", test_tap_open_one_root_qdisc);
	CU_add_test(s, "slow_reader_gets_a_full_queue", test_slow_reader_gets_a_full_queue);
	CU_add_test(s, "tap_close_removes_interface", test_tap_close_removes_interface);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() || CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
