/*
 * test_netfront_vnet.c — xnetfront's virtio-net header mapping (--offload):
 * locating the L4 header, headers for frames handed to the TAP, frame
 * fields for headers read from it. Table-driven.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "netfront/vnet.h"

/* Build an Ethernet frame: optional VLAN tag, then an IPv4 (IHL words) or
 * IPv6 header with PROTO, then a TCP header with DOFF words. */
static size_t build(uint8_t *f, int ipver, bool vlan, unsigned ihl,
		    uint8_t proto, unsigned doff, size_t len)
{
	size_t off = 12;

	memset(f, 0, len);
	if (vlan) {
		f[off++] = 0x81;
		f[off++] = 0x00;
		off += 2;
	}
	f[off++] = ipver == 4 ? 0x08 : ipver == 6 ? 0x86 : 0x08;
	f[off++] = ipver == 4 ? 0x00 : ipver == 6 ? 0xdd : 0x06;
	if (ipver == 4) {
		f[off] = (uint8_t)(0x40 | ihl);
		f[off + 9] = proto;
		off += ihl * 4;
	} else if (ipver == 6) {
		f[off] = 0x60;
		f[off + 6] = proto;
		off += 40;
	}
	if (off + 13 < len)
		f[off + 12] = (uint8_t)(doff << 4);
	return len;
}

static const struct l4_case {
	const char *name;
	int ipver;
	bool vlan;
	unsigned ihl;
	uint8_t proto;
	size_t len;
	int rc;
	unsigned off;
} l4_cases[] = {
	{ "ipv4 tcp", 4, false, 5, 6, 100, 0, 34 },
	{ "ipv4 options udp", 4, false, 6, 17, 100, 0, 38 },
	{ "vlan ipv4 udp", 4, true, 5, 17, 100, 0, 38 },
	{ "ipv6 tcp", 6, false, 0, 6, 100, 0, 54 },
	{ "vlan ipv6 udp", 6, true, 0, 17, 100, 0, 58 },
	{ "ipv6 endless extension headers", 6, false, 0, 0, 100, -EINVAL, 0 },
	{ "ipv4 icmp", 4, false, 5, 1, 100, -EINVAL, 0 },
	{ "ipv4 ihl too small", 4, false, 4, 6, 100, -EINVAL, 0 },
	{ "ipv4 cut short", 4, false, 5, 6, 30, -EINVAL, 0 },
	{ "ipv6 cut short", 6, false, 0, 6, 50, -EINVAL, 0 },
	{ "arp", 0, false, 0, 0, 60, -EINVAL, 0 },
	{ "runt", 4, false, 5, 6, 13, -EINVAL, 0 },
};

static void l4_locate_table(void)
{
	uint8_t f[128];

	for (size_t i = 0; i < sizeof(l4_cases) / sizeof(l4_cases[0]); i++) {
		const struct l4_case *c = &l4_cases[i];
		unsigned off = 0;
		uint8_t proto = 0;
		size_t len = build(f, c->ipver, c->vlan, c->ihl, c->proto, 5,
				   c->len > 13 ? c->len : 14);

		if (c->len < 14)
			len = c->len;
		int rc = xnf_l4_locate(f, len, &off, &proto);
		if (rc != c->rc)
			fprintf(stderr, "\n  case '%s': rc %d\n", c->name, rc);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (c->rc == 0) {
			CU_ASSERT_EQUAL(off, c->off);
			CU_ASSERT_EQUAL(proto, c->proto);
		}
	}
}

static const struct from_case {
	const char *name;
	int ipver;
	uint8_t proto;
	unsigned doff;
	uint32_t flags;
	uint16_t gso_type, gso_size;
	int rc;
	struct virtio_net_hdr want;
} from_cases[] = {
	{ "plain", 4, 6, 5, 0, 0, 0, 0, { 0 } },
	{ "validated", 4, 6, 5, XNF_F_DATA_VALIDATED, 0, 0, 0,
	  { .flags = VIRTIO_NET_HDR_F_DATA_VALID } },
	{ "blank tcp4", 4, 6, 5, XNF_F_CSUM_BLANK, 0, 0, 0,
	  { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 } },
	{ "blank udp6", 6, 17, 5, XNF_F_CSUM_BLANK | XNF_F_DATA_VALIDATED, 0, 0, 0,
	  { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 54, .csum_offset = 6 } },
	{ "gso tcp4", 4, 6, 8, XNF_F_CSUM_BLANK, XNF_GSO_TCPV4, 1448, 0,
	  { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
	    .hdr_len = 66, .gso_size = 1448, .csum_start = 34, .csum_offset = 16 } },
	{ "gso tcp6", 6, 6, 5, XNF_F_CSUM_BLANK, XNF_GSO_TCPV6, 1428, 0,
	  { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
	    .hdr_len = 74, .gso_size = 1428, .csum_start = 54, .csum_offset = 16 } },
	{ "gso without blank checksum", 4, 6, 5, 0, XNF_GSO_TCPV4, 1448, -EINVAL, { 0 } },
	{ "gso over udp", 4, 17, 5, XNF_F_CSUM_BLANK, XNF_GSO_TCPV4, 1448, -EINVAL, { 0 } },
	{ "gso tcp doff too small", 4, 6, 4, XNF_F_CSUM_BLANK, XNF_GSO_TCPV4, 1448,
	  -EINVAL, { 0 } },
	{ "blank icmp", 4, 1, 5, XNF_F_CSUM_BLANK, 0, 0, -EINVAL, { 0 } },
	{ "blank arp", 0, 0, 5, XNF_F_CSUM_BLANK, 0, 0, -EINVAL, { 0 } },
};

static void vnet_from_frame_table(void)
{
	uint8_t buf[200];

	for (size_t i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		const struct from_case *c = &from_cases[i];
		struct xnf_frame f = { .data = buf, .flags = c->flags,
				       .gso_type = c->gso_type, .gso_size = c->gso_size };
		struct virtio_net_hdr h;

		f.len = (uint32_t)build(buf, c->ipver, false, 5, c->proto, c->doff,
					sizeof(buf));
		int rc = xnf_vnet_from_frame(&f, &h);
		if (rc != c->rc)
			fprintf(stderr, "\n  case '%s': rc %d\n", c->name, rc);
		CU_ASSERT_EQUAL(rc, c->rc);
		if (rc == 0 && c->rc == 0)
			CU_ASSERT_EQUAL(memcmp(&h, &c->want, sizeof(h)), 0);
	}
}

/* A blank checksum whose field would lie past the frame's end. */
static void vnet_from_frame_short_frame(void)
{
	uint8_t buf[200];
	struct xnf_frame f = { .data = buf, .flags = XNF_F_CSUM_BLANK };
	struct virtio_net_hdr h;

	build(buf, 4, false, 5, 6, 5, sizeof(buf));
	f.len = 34 + 17;	/* TCP checksum at 50..51 */
	CU_ASSERT_EQUAL(xnf_vnet_from_frame(&f, &h), -EINVAL);
	f.len = 34 + 18;
	CU_ASSERT_EQUAL(xnf_vnet_from_frame(&f, &h), 0);
}

/* IPv6 extension headers are walked (hop-by-hop, routing, destination
 * options); a fragment header stops the walk; a later IPv4 fragment has
 * no L4 header. */
static void l4_locate_walks_extensions(void)
{
	uint8_t f[128];
	unsigned off = 0;
	uint8_t proto = 0;

	build(f, 6, false, 0, 0, 5, sizeof(f));	/* hop-by-hop at 54 */
	f[54] = 60;				/* → destination options */
	f[55] = 1;				/* 16 bytes */
	f[70] = 17;				/* → UDP at 78 */
	f[71] = 0;
	CU_ASSERT_EQUAL(xnf_l4_locate(f, sizeof(f), &off, &proto), 0);
	CU_ASSERT_EQUAL(off, 78);
	CU_ASSERT_EQUAL(proto, 17);
	f[71] = 255;				/* 2 KiB: ends past the frame */
	CU_ASSERT_EQUAL(xnf_l4_locate(f, sizeof(f), &off, &proto), -EINVAL);
	f[71] = 0;
	f[70] = 44;				/* → fragment header */
	CU_ASSERT_EQUAL(xnf_l4_locate(f, sizeof(f), &off, &proto), -EINVAL);
	CU_ASSERT_EQUAL(xnf_l4_locate(f, 60, &off, &proto), -EINVAL);

	build(f, 4, false, 5, 6, 5, sizeof(f));
	f[20] = 0x00;
	f[21] = 0xb9;				/* fragment offset 185 */
	CU_ASSERT_EQUAL(xnf_l4_locate(f, sizeof(f), &off, &proto), -EINVAL);
	f[20] = 0x20;				/* first fragment: MF, offset 0 */
	f[21] = 0;
	CU_ASSERT_EQUAL(xnf_l4_locate(f, sizeof(f), &off, &proto), 0);
}

/* Complete frames whose checksums were computed independently. */
static size_t ipv4_frame(uint8_t *f, uint8_t proto, const uint8_t *l4,
			 size_t l4_len, size_t pad)
{
	static const uint8_t ip[20] = { 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 0, 0, 0,
					198, 18, 0, 1, 198, 18, 0, 2 };

	memset(f, 0, 14);
	f[12] = 0x08;
	memcpy(f + 14, ip, 20);
	f[16] = (uint8_t)((20 + l4_len) >> 8);
	f[17] = (uint8_t)(20 + l4_len);
	f[23] = proto;
	memcpy(f + 34, l4, l4_len);
	memset(f + 34 + l4_len, 0xaa, pad);	/* Ethernet padding: not summed */
	return 34 + l4_len + pad;
}

static void csum_fill_table(void)
{
	static const uint8_t udp[11] = { 0x04, 0xd2, 0x16, 0x2e, 0, 11, 0x12, 0x34,
					 'h', 'i', '!' };
	static const uint8_t tcp[25] = { 0, 80, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 2,
					 0x50, 0x18, 0x03, 0xe8, 0x55, 0x55, 0, 0,
					 'd', 'a', 't', 'a', '!' };
	static const uint8_t udp6[12] = { 0x04, 0xd2, 0x16, 0x2e, 0, 12, 0, 0,
					  'a', 'b', 'c', 'd' };
	uint8_t f[128];
	size_t len;

	len = ipv4_frame(f, 17, udp, sizeof(udp), 10);
	CU_ASSERT_EQUAL(xnf_csum_fill(f, len), 0);
	CU_ASSERT_EQUAL(f[40] << 8 | f[41], 0xcf46);

	len = ipv4_frame(f, 6, tcp, sizeof(tcp), 0);
	CU_ASSERT_EQUAL(xnf_csum_fill(f, len), 0);
	CU_ASSERT_EQUAL(f[50] << 8 | f[51], 0x8961);

	build(f, 6, false, 0, 17, 5, sizeof(f));
	f[18] = 0;
	f[19] = sizeof(udp6);			/* payload length */
	for (int i = 0; i < 2; i++) {		/* 2001:db8::1 → 2001:db8::2 */
		uint8_t *a = f + 22 + 16 * i;
		memset(a, 0, 16);
		a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
		a[15] = (uint8_t)(1 + i);
	}
	memcpy(f + 54, udp6, sizeof(udp6));
	CU_ASSERT_EQUAL(xnf_csum_fill(f, 54 + sizeof(udp6)), 0);
	CU_ASSERT_EQUAL(f[60] << 8 | f[61], 0xc49a);

	/* Not completable: ICMP, an IP length past the frame's end, a
	 * checksum field past the L4 length. */
	len = ipv4_frame(f, 1, udp, sizeof(udp), 0);
	CU_ASSERT_EQUAL(xnf_csum_fill(f, len), -EINVAL);
	len = ipv4_frame(f, 17, udp, sizeof(udp), 0);
	CU_ASSERT_EQUAL(xnf_csum_fill(f, len - 1), -EINVAL);
	len = ipv4_frame(f, 6, tcp, 17, 20);
	CU_ASSERT_EQUAL(xnf_csum_fill(f, len), -EINVAL);
}

static void vnet_to_frame_table(void)
{
	static const struct {
		struct virtio_net_hdr h;
		int rc;
		uint32_t flags;
		uint16_t gso_type, gso_size;
	} cases[] = {
		{ { 0 }, 0, 0, XNF_GSO_NONE, 0 },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM }, 0, XNF_F_CSUM_BLANK, 0, 0 },
		{ { .flags = VIRTIO_NET_HDR_F_DATA_VALID }, 0, XNF_F_DATA_VALIDATED, 0, 0 },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		    .gso_size = 1448 }, 0, XNF_F_CSUM_BLANK, XNF_GSO_TCPV4, 1448 },
		{ { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		    .gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN,
		    .gso_size = 1428 }, 0, XNF_F_CSUM_BLANK, XNF_GSO_TCPV6, 1428 },
		{ { .gso_type = VIRTIO_NET_HDR_GSO_UDP, .gso_size = 1400 }, -EINVAL, 0, 0, 0 },
		{ { .gso_type = 5 }, -EINVAL, 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xnf_frame f = { .flags = 0xff, .gso_type = 9, .gso_size = 9 };
		int rc = xnf_vnet_to_frame(&cases[i].h, &f);

		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(f.flags, cases[i].flags);
			CU_ASSERT_EQUAL(f.gso_type, cases[i].gso_type);
			CU_ASSERT_EQUAL(f.gso_size, cases[i].gso_size);
		}
	}
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("netfront_vnet", NULL, NULL);
	CU_add_test(s, "l4_locate_table", l4_locate_table);
	CU_add_test(s, "l4_locate_walks_extensions", l4_locate_walks_extensions);
	CU_add_test(s, "csum_fill_table", csum_fill_table);
	CU_add_test(s, "vnet_from_frame_table", vnet_from_frame_table);
	CU_add_test(s, "vnet_from_frame_short_frame", vnet_from_frame_short_frame);
	CU_add_test(s, "vnet_to_frame_table", vnet_to_frame_table);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
