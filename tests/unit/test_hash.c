/*
 * test_hash.c — netback/hash.c: the Toeplitz hash against the Microsoft RSS
 * verification suite (its 40-octet key, IPv4 and IPv6, with and without
 * TCP), the header fields each enabled hash type takes from a frame, queue
 * selection and the hash extra-info slot.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include "cunit_run.h"

#include "netback/xnb_ctrl.h"

static const uint8_t rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The verification suite: destination and source address/port, the hash
 * over the addresses only and over addresses and TCP ports. */
static const struct vec {
	int af;
	const char *dst, *src;
	uint16_t dport, sport;
	uint32_t ip, tcp;
} vecs[] = {
	{ AF_INET, "161.142.100.80", "66.9.149.187", 1766, 2794, 0x323e8fc2, 0x51ccc178 },
	{ AF_INET, "65.69.140.83", "199.92.111.2", 4739, 14230, 0xd718262a, 0xc626b0ea },
	{ AF_INET, "12.22.207.184", "24.19.198.95", 38024, 12898, 0xd2d0a5de, 0x5c2b394a },
	{ AF_INET, "209.142.163.6", "38.27.205.30", 2217, 48228, 0x82989176, 0xafc7327f },
	{ AF_INET, "202.188.127.2", "153.39.163.191", 1303, 44251, 0x5d1809c5, 0x10e828a2 },
	{ AF_INET6, "3ffe:2501:200:3::1", "3ffe:2501:200:1fff::7", 1766, 2794,
	  0x2cc18cd5, 0x40207d3d },
	{ AF_INET6, "ff02::1", "3ffe:501:8::260:97ff:fe40:efab", 4739, 14230,
	  0x0f0c461c, 0xdde51bbf },
	{ AF_INET6, "fe80::200:f8ff:fe21:67cf", "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 38024,
	  44251, 0x4b61e985, 0x02d1feef },
};
#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

static struct xnb_hash rss_hash(uint32_t flags)
{
	struct xnb_hash h;

	memset(&h, 0, sizeof(h));
	h.alg = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	h.flags = flags;
	memcpy(h.key, rss_key, sizeof(rss_key));
	return h;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An Ethernet frame carrying V's addresses and ports over PROTO. */
static size_t build_frame(const struct vec *v, uint8_t proto, uint8_t *f)
{
	size_t alen = v->af == AF_INET ? 4 : 16, l3 = 14, l4;

	memset(f, 0, 128);
	memset(f, 0xff, 6);
	f[6] = 0x02;
	if (v->af == AF_INET) {
		put16(f + 12, 0x0800);
		f[l3] = 0x45;
		put16(f + l3 + 2, 40);
		f[l3 + 9] = proto;
		inet_pton(AF_INET, v->src, f + l3 + 12);
		inet_pton(AF_INET, v->dst, f + l3 + 16);
		l4 = l3 + 20;
	} else {
		put16(f + 12, 0x86dd);
		f[l3] = 0x60;
		put16(f + l3 + 4, 20);
		f[l3 + 6] = proto;
		inet_pton(AF_INET6, v->src, f + l3 + 8);
		inet_pton(AF_INET6, v->dst, f + l3 + 8 + alen);
		l4 = l3 + 40;
	}
	put16(f + l4, v->sport);
	put16(f + l4 + 2, v->dport);
	return l4 + 20;
}

/* Straight over the input buffer: source, destination, ports. */
static void test_toeplitz_rss_vectors(void)
{
	for (size_t i = 0; i < NVECS; i++) {
		const struct vec *v = &vecs[i];
		size_t alen = v->af == AF_INET ? 4 : 16;
		uint8_t in[36];

		inet_pton(v->af, v->src, in);
		inet_pton(v->af, v->dst, in + alen);
		put16(in + 2 * alen, v->sport);
		put16(in + 2 * alen + 2, v->dport);
		CU_ASSERT_EQUAL(xnb_toeplitz(rss_key, sizeof(rss_key), in, 2 * alen), v->ip);
		CU_ASSERT_EQUAL(xnb_toeplitz(rss_key, sizeof(rss_key), in, 2 * alen + 4), v->tcp);
	}
}

/* The same vectors through frames: the flags pick the input. */
static void test_hash_frame_types(void)
{
	const uint32_t all = XNB_HASH_TYPES;
	uint8_t f[128];

	for (size_t i = 0; i < NVECS; i++) {
		const struct vec *v = &vecs[i];
		bool v4 = v->af == AF_INET;
		struct xnb_hash h_all = rss_hash(all);
		struct xnb_hash h_ip = rss_hash(v4 ? XEN_NETIF_CTRL_HASH_TYPE_IPV4 :
						XEN_NETIF_CTRL_HASH_TYPE_IPV6);
		struct xnb_hash h_tcp = rss_hash(v4 ? XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP :
						 XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
		struct xnb_hash h_other = rss_hash(v4 ? XEN_NETIF_CTRL_HASH_TYPE_IPV6 |
						   XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP :
						   XEN_NETIF_CTRL_HASH_TYPE_IPV4 |
						   XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
		size_t tcp_len = build_frame(v, 6, f);
		uint32_t hash = 0;
		uint8_t type = 0xff;

		/* TCP with both types on: the TCP type wins. */
		CU_ASSERT_TRUE(xnb_hash_frame(&h_all, f, tcp_len, &hash, &type));
		CU_ASSERT_EQUAL(hash, v->tcp);
		CU_ASSERT_EQUAL(type, v4 ? _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP :
				_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
		/* TCP with only the address type: addresses only. */
		CU_ASSERT_TRUE(xnb_hash_frame(&h_ip, f, tcp_len, &hash, &type));
		CU_ASSERT_EQUAL(hash, v->ip);
		CU_ASSERT_EQUAL(type, v4 ? _XEN_NETIF_CTRL_HASH_TYPE_IPV4 :
				_XEN_NETIF_CTRL_HASH_TYPE_IPV6);
		CU_ASSERT_FALSE(xnb_hash_frame(&h_other, f, tcp_len, &hash, &type));
		/* UDP: never the TCP type. */
		build_frame(v, 17, f);
		CU_ASSERT_TRUE(xnb_hash_frame(&h_all, f, tcp_len, &hash, &type));
		CU_ASSERT_EQUAL(hash, v->ip);
		CU_ASSERT_FALSE(xnb_hash_frame(&h_tcp, f, tcp_len, &hash, &type));
	}
}

static void test_hash_frame_refused(void)
{
	struct xnb_hash h = rss_hash(XNB_HASH_TYPES);
	uint8_t f[128];
	uint32_t hash;
	uint8_t type;
	size_t n = build_frame(&vecs[0], 6, f);

	/* Algorithm NONE or no flags: no hash. */
	h.alg = XEN_NETIF_CTRL_HASH_ALGORITHM_NONE;
	CU_ASSERT_FALSE(xnb_hash_frame(&h, f, n, &hash, &type));
	h = rss_hash(0);
	CU_ASSERT_FALSE(xnb_hash_frame(&h, f, n, &hash, &type));
	h = rss_hash(XNB_HASH_TYPES);
	/* Cut short: no header, or no ports (address hash only). */
	CU_ASSERT_FALSE(xnb_hash_frame(&h, f, 13, &hash, &type));
	CU_ASSERT_FALSE(xnb_hash_frame(&h, f, 14 + 19, &hash, &type));
	CU_ASSERT_TRUE(xnb_hash_frame(&h, f, 14 + 20 + 3, &hash, &type));
	CU_ASSERT_EQUAL(hash, vecs[0].ip);
	/* A fragment has no ports to hash. */
	f[14 + 6] = 0x20;	/* MF */
	CU_ASSERT_TRUE(xnb_hash_frame(&h, f, n, &hash, &type));
	CU_ASSERT_EQUAL(type, _XEN_NETIF_CTRL_HASH_TYPE_IPV4);
	/* Not IP. */
	f[12] = 0x08;
	f[13] = 0x06;
	CU_ASSERT_FALSE(xnb_hash_frame(&h, f, n, &hash, &type));
}

/* A VLAN tag is looked through. */
static void test_hash_frame_vlan(void)
{
	struct xnb_hash h = rss_hash(XNB_HASH_TYPES);
	uint8_t f[132], g[132];
	size_t n = build_frame(&vecs[1], 6, f);
	uint32_t hash = 0;
	uint8_t type;

	memcpy(g, f, 12);
	g[12] = 0x81;
	g[13] = 0x00;
	g[14] = 0x00;
	g[15] = 0x05;
	memcpy(g + 16, f + 12, n - 12);
	CU_ASSERT_TRUE(xnb_hash_frame(&h, g, n + 4, &hash, &type));
	CU_ASSERT_EQUAL(hash, vecs[1].tcp);
}

/* A key shorter than 40 octets is zero-padded; an empty key hashes to 0. */
static void test_toeplitz_short_key(void)
{
	uint8_t padded[40] = { 0 }, in[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

	memcpy(padded, rss_key, 10);
	CU_ASSERT_EQUAL(xnb_toeplitz(rss_key, 10, in, sizeof(in)),
			xnb_toeplitz(padded, sizeof(padded), in, sizeof(in)));
	CU_ASSERT_EQUAL(xnb_toeplitz(rss_key, 0, in, sizeof(in)), 0);
}

static void test_hash_queue_select(void)
{
	struct xnb_hash h = rss_hash(XNB_HASH_TYPES);

	CU_ASSERT_EQUAL(xnb_hash_queue(&h, 7, 2), 1);	/* no table: modulo */
	CU_ASSERT_EQUAL(xnb_hash_queue(&h, 8, 2), 0);
	h.size = 4;
	h.mapping[0] = 1;
	h.mapping[1] = 0;
	h.mapping[2] = 0;
	h.mapping[3] = 1;
	CU_ASSERT_EQUAL(xnb_hash_queue(&h, 4, 2), 1);
	CU_ASSERT_EQUAL(xnb_hash_queue(&h, 5, 2), 0);
	CU_ASSERT_EQUAL(xnb_hash_queue(&h, 7, 2), 1);
	CU_ASSERT_EQUAL(xnb_hash_queue(&h, 7, 0), 0);
	h.mapping[3] = 9;	/* cannot happen (checked when set): stays in range */
	CU_ASSERT_EQUAL(xnb_hash_queue(&h, 7, 2), 0);
}

static void test_hash_extra_layout(void)
{
	struct netif_extra_info ex = xnb_hash_extra(0x51ccc178, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	const uint8_t *b = (const uint8_t *)&ex;

	CU_ASSERT_EQUAL(b[0], XEN_NETIF_EXTRA_TYPE_HASH);
	CU_ASSERT_EQUAL(b[1], 0);
	CU_ASSERT_EQUAL(b[2], _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	CU_ASSERT_EQUAL(b[3], XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ);
	CU_ASSERT_EQUAL(b[4], 0x78);	/* LSB first */
	CU_ASSERT_EQUAL(b[7], 0x51);
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "toeplitz_rss_vectors", test_toeplitz_rss_vectors },
		{ "toeplitz_short_key", test_toeplitz_short_key },
		{ "hash_frame_types", test_hash_frame_types },
		{ "hash_frame_refused", test_hash_frame_refused },
		{ "hash_frame_vlan", test_hash_frame_vlan },
		{ "hash_queue_select", test_hash_queue_select },
		{ "hash_extra_layout", test_hash_extra_layout },
	};

	return CUNIT_RUN("hash", NULL, NULL, tests);
}
