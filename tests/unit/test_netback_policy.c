/*
 * test_netback_policy.c — xnetback's per-vif policy as pure functions:
 * the `ip` parser, the anti-spoofing and MTU checks on frames built here,
 * the 802.1Q tag added toward the host (with the virtio-net offsets shifted)
 * and required then stripped from it, and RX stall detection / draining
 * driven through xnb_rx_run with a fake TAP and clock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include "cunit_run.h"

#include "netback/xnb.h"

#define VH_LEN sizeof(struct virtio_net_hdr)

static const uint8_t guest_mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
static const uint8_t other_mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x99 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- the `ip` parser --------------------------------------------------------- */

static void test_parse_iplist_table(void)
{
	static const struct { const char *s; int rc; unsigned n; } cases[] = {
		{ "10.0.0.2", 0, 1 },
		{ "10.0.0.2 192.168.1.0/24", 0, 2 },
		{ "2001:db8::5 10.0.0.2/32 fe80::1/64", 0, 3 },
		{ "0.0.0.0/0", 0, 1 },
		{ "", -EINVAL, 0 },
		{ " 10.0.0.2", -EINVAL, 0 },
		{ "10.0.0.2 ", -EINVAL, 0 },
		{ "10.0.0.2  10.0.0.3", -EINVAL, 0 },
		{ "10.0.0.2,10.0.0.3", -EINVAL, 0 },
		{ "10.0.0.256", -EINVAL, 0 },
		{ "10.0.0", -EINVAL, 0 },
		{ "10.0.0.2/33", -EINVAL, 0 },
		{ "10.0.0.2/", -EINVAL, 0 },
		{ "10.0.0.2/-1", -EINVAL, 0 },
		{ "10.0.0.2/24x", -EINVAL, 0 },
		{ "2001:db8::/129", -EINVAL, 0 },
		{ "2001:db8:::1", -EINVAL, 0 },
		{ "host.example", -EINVAL, 0 },
	};
	struct xnb_policy p;
	char why[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		memset(&p, 0, sizeof(p));
		why[0] = '\0';
		rc = xnb_parse_iplist(cases[i].s, &p, why, sizeof(why));
		if (rc != cases[i].rc)
			printf("\n  '%s': rc %d (%s)\n", cases[i].s, rc, why);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT(p.ip_filter);
			CU_ASSERT_EQUAL(p.nip, cases[i].n);
		} else {
			CU_ASSERT_FALSE(p.ip_filter);
			CU_ASSERT(why[0] != '\0');	/* the reason is given */
		}
	}
}

static void test_parse_iplist_masks_and_limit(void)
{
	struct xnb_policy p;
	char why[160], big[40 * 12];
	size_t off = 0;

	CU_ASSERT_EQUAL(xnb_parse_iplist("192.168.1.77/24 2001:db8:1:2:3::9/50", &p, why,
					 sizeof(why)), 0);
	CU_ASSERT_EQUAL(p.ip[0].family, 4);
	CU_ASSERT_EQUAL(p.ip[0].len, 24);
	CU_ASSERT_EQUAL(p.ip[0].addr[3], 0);	/* host bits cleared */
	CU_ASSERT_EQUAL(p.ip[1].family, 6);
	CU_ASSERT_EQUAL(p.ip[1].len, 50);
	CU_ASSERT_EQUAL(p.ip[1].addr[5], 0x01);	/* within the prefix: kept */
	CU_ASSERT_EQUAL(p.ip[1].addr[6], 0x00);
	CU_ASSERT_EQUAL(p.ip[1].addr[7], 0x00);	/* the 0x02 past bit 50: cleared */

	for (int i = 0; i <= XNB_IP_MAX; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off, "%s10.0.%d.1", i ? " " : "", i);
	CU_ASSERT_EQUAL(xnb_parse_iplist(big, &p, why, sizeof(why)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "more than"));
}

/* ---- frames ------------------------------------------------------------------- */

struct fr { uint8_t b[2048]; uint32_t len; };

static void eth(struct fr *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->b, dst, 6);
	memcpy(f->b + 6, src, 6);
	f->b[12] = (uint8_t)(type >> 8);
	f->b[13] = (uint8_t)type;
	f->len = 60;
}

static void ipv4(struct fr *f, const uint8_t *src_mac, const char *src, uint8_t proto,
		 uint16_t sport, uint16_t dport)
{
	uint8_t *ip = f->b + 14;

	eth(f, bcast, src_mac, 0x0800);
	ip[0] = 0x45;
	ip[9] = proto;
	CU_ASSERT_FATAL(sscanf(src, "%hhu.%hhu.%hhu.%hhu", &ip[12], &ip[13], &ip[14], &ip[15]) == 4);
	ip[16] = 10;
	ip[20] = (uint8_t)(sport >> 8);
	ip[21] = (uint8_t)sport;
	ip[22] = (uint8_t)(dport >> 8);
	ip[23] = (uint8_t)dport;
	f->len = 14 + 20 + 8 + 20;
}

static void arp(struct fr *f, const uint8_t *src_mac, const uint8_t *sha, const char *spa)
{
	uint8_t *a = f->b + 14;

	eth(f, bcast, src_mac, 0x0806);
	a[1] = 1;		/* Ethernet */
	a[2] = 0x08;		/* IPv4 */
	a[4] = 6;
	a[5] = 4;
	a[7] = 1;		/* request */
	memcpy(a + 8, sha, 6);
	CU_ASSERT_FATAL(sscanf(spa, "%hhu.%hhu.%hhu.%hhu", &a[14], &a[15], &a[16], &a[17]) == 4);
	f->len = 60;
}

static void ipv6(struct fr *f, const uint8_t *src_mac, const uint8_t src[16], uint8_t nh,
		 uint8_t nh2)
{
	uint8_t *ip = f->b + 14;

	eth(f, bcast, src_mac, 0x86dd);
	ip[0] = 0x60;
	ip[6] = nh;
	memcpy(ip + 8, src, 16);
	ip[24] = 0xff;		/* ff02::1 */
	ip[25] = 0x02;
	ip[39] = 1;
	ip[40] = nh2;		/* next header of a hop-by-hop header */
	f->len = 14 + 40 + 8 + 24;
}

static const uint8_t v6_listed[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 5 };
static const uint8_t v6_in_prefix[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x42 };
static const uint8_t v6_other[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 5 };
static const uint8_t v6_ll[16] = { 0xfe, 0x80, [15] = 7 };
static const uint8_t v6_unspec[16] = { 0 };

enum kind {
	K_V4, K_V4_DHCP, K_ARP, K_V6, K_TAGGED, K_OTHER, K_BIG, K_GSO,
};

struct tx_case {
	const char *name;
	enum kind kind;
	const uint8_t *mac;	/* Ethernet source */
	const char *v4;		/* IPv4 source / ARP sender */
	const uint8_t *sha;	/* ARP sender MAC */
	const uint8_t *v6;
	uint8_t nh, nh2;
	uint32_t size;		/* K_BIG: frame length; K_GSO: gso_size */
	bool ip_filter;
	uint16_t vlan;
	int rc;
	enum xnb_drop why;
};

static const struct tx_case tx_cases[] = {
	{ "good_v4", K_V4, guest_mac, "10.0.0.2", .ip_filter = true, .rc = 0 },
	{ "good_v4_prefix", K_V4, guest_mac, "192.168.1.200", .ip_filter = true, .rc = 0 },
	{ "spoofed_mac", K_V4, other_mac, "10.0.0.2", .ip_filter = true, .rc = -EPERM,
	  .why = XNB_DROP_TX_SPOOF_MAC },
	{ "spoofed_mac_no_ip_filter", K_OTHER, other_mac, .rc = -EPERM,
	  .why = XNB_DROP_TX_SPOOF_MAC },
	{ "spoofed_v4", K_V4, guest_mac, "10.0.0.3", .ip_filter = true, .rc = -EPERM,
	  .why = XNB_DROP_TX_SPOOF_IP },
	{ "v4_any_without_ip_key", K_V4, guest_mac, "10.9.9.9", .rc = 0 },
	{ "dhcp_discover", K_V4_DHCP, guest_mac, "0.0.0.0", .ip_filter = true, .rc = 0 },
	{ "zero_src_not_dhcp", K_V4, guest_mac, "0.0.0.0", .ip_filter = true, .rc = -EPERM,
	  .why = XNB_DROP_TX_SPOOF_IP },
	{ "arp_good", K_ARP, guest_mac, "10.0.0.2", guest_mac, .ip_filter = true, .rc = 0 },
	{ "arp_probe", K_ARP, guest_mac, "0.0.0.0", guest_mac, .ip_filter = true, .rc = 0 },
	{ "arp_spoofed_sender_ip", K_ARP, guest_mac, "10.0.0.9", guest_mac, .ip_filter = true,
	  .rc = -EPERM, .why = XNB_DROP_TX_SPOOF_IP },
	{ "arp_spoofed_sender_mac", K_ARP, guest_mac, "10.0.0.2", other_mac, .rc = -EPERM,
	  .why = XNB_DROP_TX_SPOOF_MAC },
	{ "v6_listed", K_V6, guest_mac, .v6 = v6_listed, .nh = 17, .ip_filter = true, .rc = 0 },
	{ "v6_in_prefix", K_V6, guest_mac, .v6 = v6_in_prefix, .nh = 6, .ip_filter = true,
	  .rc = 0 },
	{ "v6_spoofed", K_V6, guest_mac, .v6 = v6_other, .nh = 17, .ip_filter = true,
	  .rc = -EPERM, .why = XNB_DROP_TX_SPOOF_IP },
	{ "v6_link_local_nd", K_V6, guest_mac, .v6 = v6_ll, .nh = 58, .ip_filter = true,
	  .rc = 0 },
	{ "v6_dad_unspecified", K_V6, guest_mac, .v6 = v6_unspec, .nh = 58, .ip_filter = true,
	  .rc = 0 },
	{ "v6_mld_hop_by_hop", K_V6, guest_mac, .v6 = v6_unspec, .nh = 0, .nh2 = 58,
	  .ip_filter = true, .rc = 0 },
	{ "v6_link_local_udp", K_V6, guest_mac, .v6 = v6_ll, .nh = 17, .ip_filter = true,
	  .rc = -EPERM, .why = XNB_DROP_TX_SPOOF_IP },
	{ "tagged_with_vlan", K_TAGGED, guest_mac, .vlan = 42, .rc = -EPERM,
	  .why = XNB_DROP_TX_VLAN },
	{ "tagged_with_ip_filter", K_TAGGED, guest_mac, .ip_filter = true, .rc = -EPERM,
	  .why = XNB_DROP_TX_VLAN },
	{ "tagged_no_policy", K_TAGGED, guest_mac, .rc = 0 },
	{ "other_type_with_ip_filter", K_OTHER, guest_mac, .ip_filter = true, .rc = 0 },
	{ "mtu_exact", K_BIG, guest_mac, .size = 1514, .rc = 0 },
	{ "mtu_over", K_BIG, guest_mac, .size = 1515, .rc = -EPERM, .why = XNB_DROP_TX_MTU },
	{ "gso_segment_fits", K_GSO, guest_mac, .size = 1460, .rc = 0 },
	{ "gso_segment_too_big", K_GSO, guest_mac, .size = 1461, .rc = -EPERM,
	  .why = XNB_DROP_TX_MTU },
};

static void policy_fill(struct xnb_policy *p, bool ip_filter, uint16_t vlan)
{
	char why[160];

	memset(p, 0, sizeof(*p));
	memcpy(p->mac, guest_mac, 6);
	p->mtu = 1500;
	p->vlan = vlan;
	if (ip_filter)
		CU_ASSERT_FATAL(xnb_parse_iplist("10.0.0.2 192.168.1.0/24 2001:db8::5 "
						 "2001:db8:1::/64", p, why, sizeof(why)) == 0);
}

static void build(const struct tx_case *c, struct fr *f, struct virtio_net_hdr *vh)
{
	memset(vh, 0, sizeof(*vh));
	switch (c->kind) {
	case K_V4:
		ipv4(f, c->mac, c->v4, 6, 1234, 80);
		break;
	case K_V4_DHCP:
		ipv4(f, c->mac, c->v4, 17, 68, 67);
		break;
	case K_ARP:
		arp(f, c->mac, c->sha, c->v4);
		break;
	case K_V6:
		ipv6(f, c->mac, c->v6, c->nh, c->nh2);
		break;
	case K_TAGGED:
		eth(f, bcast, c->mac, 0x8100);
		f->b[15] = 7;
		break;
	case K_OTHER:
		eth(f, bcast, c->mac, 0x88b5);
		break;
	case K_BIG:
		eth(f, bcast, c->mac, 0x88b5);
		f->len = c->size;
		break;
	case K_GSO:
		ipv4(f, c->mac, "10.0.0.2", 6, 1234, 80);
		f->len = 2000;
		vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh->hdr_len = 14 + 20 + 20;
		vh->gso_size = (uint16_t)c->size;
		vh->csum_start = 34;
		vh->csum_offset = 16;
		break;
	}
}

static void test_policy_tx_table(void)
{
	for (size_t i = 0; i < sizeof(tx_cases) / sizeof(tx_cases[0]); i++) {
		const struct tx_case *c = &tx_cases[i];
		struct xnb_policy p;
		struct virtio_net_hdr vh;
		enum xnb_drop why = XNB_DROP_MAX;
		struct fr f;
		int rc;

		policy_fill(&p, c->ip_filter, c->vlan);
		build(c, &f, &vh);
		rc = xnb_policy_tx(&p, f.b, f.len, &vh, &why);
		if (rc != c->rc || (rc && why != c->why))
			printf("\n  %s: rc %d why %s\n", c->name, rc,
			       why < XNB_DROP_MAX ? xnb_drop_name(why) : "-");
		CU_ASSERT_EQUAL(rc, c->rc);
		if (c->rc)
			CU_ASSERT_EQUAL(why, c->why);
	}
}

/* ---- VLAN: tag on the way out ------------------------------------------------- */

static size_t gather(const struct iovec *iov, int n, uint8_t *out)
{
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	return len;
}

static void test_vlan_tx_iov_tags_and_shifts_offsets(void)
{
	struct xnb_policy p;
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54, .gso_size = 1448, .csum_start = 34, .csum_offset = 16,
	};
	uint8_t tag[XNB_VLAN_HLEN], out[2200];
	struct iovec iov[4];
	struct virtio_net_hdr got;
	struct fr f;
	size_t len;
	int n;

	policy_fill(&p, false, 0x123);
	ipv4(&f, guest_mac, "10.0.0.2", 6, 1, 2);
	n = xnb_policy_tx_iov(&p, &vh, f.b, f.len, tag, iov);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	len = gather(iov, n, out);
	CU_ASSERT_EQUAL(len, VH_LEN + f.len + 4);
	memcpy(&got, out, VH_LEN);
	CU_ASSERT_EQUAL(got.csum_start, 38);	/* L4 header 4 bytes later */
	CU_ASSERT_EQUAL(got.csum_offset, 16);	/* relative to csum_start: unchanged */
	CU_ASSERT_EQUAL(got.hdr_len, 58);
	CU_ASSERT_EQUAL(got.gso_size, 1448);
	CU_ASSERT_EQUAL(memcmp(out + VH_LEN, f.b, 12), 0);	/* MACs first */
	CU_ASSERT_EQUAL(out[VH_LEN + 12], 0x81);
	CU_ASSERT_EQUAL(out[VH_LEN + 13], 0x00);
	CU_ASSERT_EQUAL(out[VH_LEN + 14], 0x01);	/* PCP 0, VID 0x123 */
	CU_ASSERT_EQUAL(out[VH_LEN + 15], 0x23);
	CU_ASSERT_EQUAL(memcmp(out + VH_LEN + 16, f.b + 12, f.len - 12), 0);

	/* No VLAN (or no policy): header and frame untouched. */
	vh.csum_start = 34;
	vh.hdr_len = 54;
	policy_fill(&p, false, 0);
	CU_ASSERT_EQUAL(xnb_policy_tx_iov(&p, &vh, f.b, f.len, tag, iov), 2);
	CU_ASSERT_EQUAL(xnb_policy_tx_iov(NULL, &vh, f.b, f.len, tag, iov), 2);
	CU_ASSERT_EQUAL(vh.csum_start, 34);
	CU_ASSERT_EQUAL(vh.hdr_len, 54);
	CU_ASSERT_EQUAL(iov[1].iov_len, f.len);
}

/* ---- VLAN: required and stripped on the way in -------------------------------- */

/* BUF = virtio-net header + tagged (TCI) or untagged (TCI < 0) frame. */
static size_t host_frame(uint8_t *buf, int tci, const struct virtio_net_hdr *vh)
{
	uint8_t *f = buf + VH_LEN;
	size_t off = 12;

	memcpy(buf, vh, VH_LEN);
	memcpy(f, guest_mac, 6);
	memcpy(f + 6, other_mac, 6);
	if (tci >= 0) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = (uint8_t)(tci >> 8);
		f[15] = (uint8_t)tci;
		off = 16;
	}
	f[off] = 0x08;
	f[off + 1] = 0x00;
	for (size_t i = off + 2; i < off + 100; i++)
		f[i] = (uint8_t)(i - off);
	return VH_LEN + off + 100;
}

static void test_vlan_rx_table(void)
{
	static const struct { const char *name; uint16_t vlan; int tci; int rc; } cases[] = {
		{ "tagged_ours", 42, 42, 4 },
		{ "tagged_ours_with_priority", 42, (5 << 13) | 42, 4 },
		{ "untagged", 42, -1, -EPERM },
		{ "other_vlan", 42, 43, -EPERM },
		{ "no_vlan_untagged", 0, -1, 0 },
		{ "no_vlan_tagged_passes", 0, 43, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					     .csum_start = 38, .csum_offset = 16,
					     .hdr_len = 58 };
		uint8_t buf[512], want[512];
		struct xnb_policy p;
		size_t len, wlen;
		int rc;

		policy_fill(&p, false, cases[i].vlan);
		len = host_frame(buf, cases[i].tci, &vh);
		rc = xnb_policy_rx_vlan(&p, buf, len);
		if (rc != cases[i].rc)
			printf("\n  %s: rc %d\n", cases[i].name, rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc != 4)
			continue;
		/* What the guest sees: the untagged frame, offsets 4 earlier. */
		vh.csum_start = 34;
		vh.hdr_len = 54;
		wlen = host_frame(want, -1, &vh);
		CU_ASSERT_EQUAL(len - 4, wlen);
		CU_ASSERT_EQUAL(memcmp(buf + 4, want, wlen), 0);
	}
}

static void test_vlan_rx_short_and_bad_csum_start(void)
{
	struct virtio_net_hdr vh = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 14 };
	uint8_t buf[512];
	struct xnb_policy p;
	size_t len;

	policy_fill(&p, false, 42);
	len = host_frame(buf, 42, &vh);
	CU_ASSERT_EQUAL(xnb_policy_rx_vlan(&p, buf, len), -EPERM);	/* csum inside the tag */
	CU_ASSERT_EQUAL(xnb_policy_rx_vlan(&p, buf, VH_LEN + 17), -EPERM);
	CU_ASSERT_EQUAL(xnb_policy_rx_vlan(NULL, buf, len), 0);
}

/* ---- RX stall detection through xnb_rx_run ------------------------------------- */

static _Alignas(4096) uint8_t rx_page[XNB_PAGE_SIZE];
static _Alignas(4096) uint8_t tx_page[XNB_PAGE_SIZE];
static uint8_t gpage[8][XNB_PAGE_SIZE];
static uint64_t fake_now;
static int frames_left, carrier_calls;
static bool carrier_on = true;
static size_t frame_len = 200;
static int tap_reads;

static int fake_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t ref = segs[i].dest.foreign.ref;

		segs[i].status = ref < 8 ? GNTST_okay : GNTST_bad_gntref;
		if (ref < 8)
			memcpy(gpage[ref], segs[i].source.virt, segs[i].len);
	}
	return 0;
}

static void fake_notify(void *ctx, uint32_t port)
{
}

static ssize_t fake_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	return 0;
}

/* An endless host: FRAMES_LEFT untagged frames to the guest. */
static ssize_t fake_read(void *ctx, void *buf, size_t len)
{
	struct virtio_net_hdr vh = { 0 };

	tap_reads++;
	if (frames_left == 0) {
		errno = EAGAIN;
		return -1;
	}
	frames_left--;
	memset(buf, 0, frame_len);
	memcpy(buf, &vh, VH_LEN);
	memcpy((uint8_t *)buf + VH_LEN, guest_mac, 6);
	return (ssize_t)frame_len;
}

static uint64_t fake_clock(void *ctx)
{
	return fake_now;
}

static void fake_carrier(void *ctx, bool on)
{
	carrier_calls++;
	carrier_on = on;
}

static const struct xnb_io io = {
	.grant_copy = fake_copy, .notify = fake_notify, .tap_write = fake_write,
	.tap_read = fake_read, .now_ns = fake_clock, .carrier = fake_carrier,
};

#define MS 1000000ull

static struct xnb_queue *q;
static struct xnb_stats stats;
static struct xnb_policy pol;
static netif_rx_front_ring_t rxf;

static void stall_setup(void)
{
	static const struct xnb_feat feat = { .rx_notify = true };

	memset(rx_page, 0, sizeof(rx_page));
	SHARED_RING_INIT((netif_rx_sring_t *)rx_page);
	SHARED_RING_INIT((netif_tx_sring_t *)tx_page);
	FRONT_RING_INIT(&rxf, (netif_rx_sring_t *)rx_page, XNB_PAGE_SIZE);
	memset(&stats, 0, sizeof(stats));
	if (!q)
		q = calloc(1, sizeof(*q));
	else
		xnb_queue_fini(q);
	CU_ASSERT_FATAL(xnb_queue_init(q, 0, 3, tx_page, rx_page, &feat, &io, &stats) == 0);
	policy_fill(&pol, false, 0);
	pol.rx_drain_ns = 100 * MS;
	pol.rx_stall_ns = 1000 * MS;
	q->policy = &pol;
	fake_now = 5000 * MS;
	carrier_on = true;
	carrier_calls = frames_left = tap_reads = 0;
}

static void post_buffers(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		netif_rx_request_t *r = RING_GET_REQUEST(&rxf, rxf.req_prod_pvt);

		r->id = (uint16_t)(rxf.req_prod_pvt & 7);
		r->gref = rxf.req_prod_pvt & 7;
		rxf.req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(&rxf);
}

static void test_rx_stall_drain_then_recover(void)
{
	enum xnb_work w;

	stall_setup();
	/* A frame arrives; the guest posted nothing: it waits. */
	frames_left = 1;
	w = xnb_rx_run(q);
	CU_ASSERT_EQUAL(w, XNB_WAIT);
	CU_ASSERT(q->rx_held);
	CU_ASSERT_EQUAL(q->rx_deadline_ns, fake_now + 100 * MS);	/* the drain time */

	/* Before the drain time nothing changes. */
	fake_now += 99 * MS;
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_NO_BUF], 0);

	/* After it, the frame is dropped and the TAP drained without holding
	 * anything: 500 more frames are read and dropped, none kept. */
	fake_now += 1 * MS;
	frames_left = 500;
	for (int i = 0; i < 20 && frames_left; i++) {
		w = xnb_rx_run(q);
		CU_ASSERT(w == XNB_MORE || w == XNB_IDLE);
		CU_ASSERT_FALSE(q->rx_held);
	}
	CU_ASSERT_EQUAL(frames_left, 0);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_NO_BUF], 501);
	CU_ASSERT(q->rx_draining);
	CU_ASSERT_FALSE(q->rx_stalled);
	CU_ASSERT(carrier_on);

	/* No buffer for the stall time (counted from the start): stalled,
	 * carrier off, and the guest is asked to kick on its first buffer. */
	CU_ASSERT(q->rx_deadline_ns != 0);
	fake_now = q->rx_deadline_ns;
	xnb_rx_run(q);
	CU_ASSERT(q->rx_stalled);
	CU_ASSERT_FALSE(carrier_on);
	CU_ASSERT_EQUAL(((netif_rx_sring_t *)rx_page)->req_event, q->rx.req_cons + 1);
	CU_ASSERT_EQUAL(q->rx_deadline_ns, 0);	/* the guest's kick wakes us */

	/* The guest posts again: ready, carrier on, frames delivered. */
	post_buffers(4);
	fake_now += 10 * MS;
	frames_left = 2;
	xnb_rx_run(q);
	CU_ASSERT_FALSE(q->rx_stalled);
	CU_ASSERT_FALSE(q->rx_draining);
	CU_ASSERT(carrier_on);
	CU_ASSERT_EQUAL(stats.rx_packets, 2);
	CU_ASSERT_EQUAL(carrier_calls, 2);
}

static void test_rx_stall_needs_no_buffers_posted(void)
{
	stall_setup();
	post_buffers(2);
	xnb_rx_run(q);				/* idle, buffers posted */
	CU_ASSERT_EQUAL(q->rx_deadline_ns, 0);	/* nothing to time */
	fake_now += 5000 * MS;
	xnb_rx_run(q);
	CU_ASSERT_FALSE(q->rx_stalled);		/* an idle guest with buffers is fine */

	/* Frames keep arriving and fit: never stalls, never drains. */
	frames_left = 2;
	xnb_rx_run(q);
	CU_ASSERT_EQUAL(stats.rx_packets, 2);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_NO_BUF], 0);
	/* Ring now empty: the stall clock runs from the last delivery. */
	CU_ASSERT_EQUAL(q->rx_deadline_ns, fake_now + 1000 * MS);
	CU_ASSERT(carrier_on);
	CU_ASSERT_EQUAL(carrier_calls, 0);
}

static void test_rx_no_policy_no_stall_logic(void)
{
	stall_setup();
	q->policy = NULL;
	frames_left = 1;
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);
	fake_now += 100000 * MS;
	CU_ASSERT_EQUAL(xnb_rx_run(q), XNB_WAIT);	/* waits forever, as before */
	CU_ASSERT_EQUAL(q->rx_deadline_ns, 0);
	CU_ASSERT_EQUAL(carrier_calls, 0);
}

/* VLAN through the ring: a tagged frame reaches the guest untagged. */
static ssize_t tagged_read(void *ctx, void *buf, size_t len)
{
	static const struct virtio_net_hdr vh = { 0 };
	uint8_t *f = (uint8_t *)buf + VH_LEN;

	if (frames_left == 0) {
		errno = EAGAIN;
		return -1;
	}
	frames_left--;
	memset(buf, 0, 100 + VH_LEN);
	memcpy(buf, &vh, VH_LEN);
	memcpy(f, guest_mac, 6);
	memcpy(f + 6, other_mac, 6);
	f[12] = 0x81;
	f[14] = 0;
	f[15] = (uint8_t)(frames_left == 1 ? 9 : 42);	/* the middle one: VLAN 9 */
	f[16] = 0x88;
	f[17] = 0xb5;
	f[18] = 0xab;
	return (ssize_t)(VH_LEN + 100);
}

static void test_rx_vlan_strip_through_ring(void)
{
	struct xnb_io tio = io;
	netif_rx_response_t rsp;

	stall_setup();
	tio.tap_read = tagged_read;
	q->io = &tio;
	pol.vlan = 42;
	post_buffers(4);
	frames_left = 3;
	xnb_rx_run(q);
	CU_ASSERT_EQUAL(stats.rx_packets, 2);
	CU_ASSERT_EQUAL(stats.drops[XNB_DROP_RX_VLAN], 1);
	RING_COPY_RESPONSE(&rxf, 0, &rsp);
	CU_ASSERT_EQUAL(rsp.status, 96);		/* 100 minus the tag */
	CU_ASSERT_EQUAL(gpage[rsp.id][12], 0x88);	/* the inner type, untagged */
	CU_ASSERT_EQUAL(gpage[rsp.id][13], 0xb5);
	CU_ASSERT_EQUAL(gpage[rsp.id][14], 0xab);
	CU_ASSERT_EQUAL(memcmp(gpage[rsp.id] + 6, other_mac, 6), 0);
	q->io = &io;
}

static void test_drop_names(void)
{
	CU_ASSERT_STRING_EQUAL(xnb_drop_name(XNB_DROP_TX_SPOOF_MAC), "tx_spoofed_mac");
	CU_ASSERT_STRING_EQUAL(xnb_drop_name(XNB_DROP_TX_SPOOF_IP), "tx_spoofed_ip");
	CU_ASSERT_STRING_EQUAL(xnb_drop_name(XNB_DROP_RX_VLAN), "rx_wrong_vlan");
	CU_ASSERT_STRING_EQUAL(xnb_drop_name(XNB_DROP_RX_NO_BUF), "rx_no_buffer");
	for (int d = 0; d < XNB_DROP_MAX; d++)
		CU_ASSERT(strcmp(xnb_drop_name((enum xnb_drop)d), "unknown") != 0);
}

int main(void)
{
	int rc;
	static const struct cunit_case tests[] = {
		{ "parse_iplist_table", test_parse_iplist_table },
		{ "parse_iplist_masks_and_limit", test_parse_iplist_masks_and_limit },
		{ "policy_tx_table", test_policy_tx_table },
		{ "vlan_tx_iov_tags_and_shifts_offsets", test_vlan_tx_iov_tags_and_shifts_offsets },
		{ "vlan_rx_table", test_vlan_rx_table },
		{ "vlan_rx_short_and_bad_csum_start", test_vlan_rx_short_and_bad_csum_start },
		{ "rx_stall_drain_then_recover", test_rx_stall_drain_then_recover },
		{ "rx_stall_needs_no_buffers_posted", test_rx_stall_needs_no_buffers_posted },
		{ "rx_no_policy_no_stall_logic", test_rx_no_policy_no_stall_logic },
		{ "rx_vlan_strip_through_ring", test_rx_vlan_strip_through_ring },
		{ "drop_names", test_drop_names },
	};

	rc = CUNIT_RUN("netback_policy", NULL, NULL, tests);
	if (q) {
		xnb_queue_fini(q);
		free(q);
	}
	return rc;
}
