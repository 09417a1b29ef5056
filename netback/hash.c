/*
 * hash.c — the Toeplitz hash the frontend configures over the control ring:
 * which header fields of a frame are hashed (netif.h "Hash types"), the
 * hash itself (Microsoft RSS), the queue it selects and the extra-info slot
 * that carries it to the guest. Pure: no ring, no hypervisor.
 */
#include <string.h>

#include "xnb_ctrl.h"

#define ETH_HLEN_	14u
#define ETH_P_IP_	0x0800u
#define ETH_P_IPV6_	0x86ddu
#define ETH_P_8021Q_	0x8100u
#define PROTO_TCP	6u

static uint8_t key_at(const uint8_t *key, size_t keylen, size_t i)
{
	return i < keylen ? key[i] : 0;
}

/* A 32-bit window slides over the key one bit per input bit; every set
 * input bit XORs the window into the result. */
uint32_t xnb_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *buf, size_t len)
{
	uint32_t window = 0, result = 0;

	for (size_t i = 0; i < 4; i++)
		window = window << 8 | key_at(key, keylen, i);
	for (size_t i = 0; i < len; i++) {
		uint8_t next = key_at(key, keylen, i + 4);

		for (int bit = 7; bit >= 0; bit--) {
			if (buf[i] >> bit & 1)
				result ^= window;
			window = window << 1 | (uint32_t)(next >> bit & 1);
		}
	}
	return result;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Where the L3 header starts and its ethertype (one VLAN tag skipped). */
static size_t l3_start(const uint8_t *f, size_t len, uint16_t *proto)
{
	size_t off = 12;

	if (len < ETH_HLEN_)
		return 0;
	*proto = be16(f + off);
	if (*proto == ETH_P_8021Q_) {
		if (len < ETH_HLEN_ + 4)
			return 0;
		off += 4;
		*proto = be16(f + off);
	}
	return off + 2;
}

/* The hash input for IPv4 at IP: addresses, plus ports if TCP is wanted
 * and present (not a fragment). Returns its length, 0 if no type applies. */
static size_t input_v4(const uint8_t *ip, size_t len, uint32_t flags, uint8_t *in,
		       uint8_t *type)
{
	size_t ihl;
	bool frag;

	if (len < 20 || ip[0] >> 4 != 4)
		return 0;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < 20 || ihl > len)
		return 0;
	memcpy(in, ip + 12, 8);
	frag = (be16(ip + 6) & 0x3fff) != 0;	/* MF or an offset */
	if ((flags & XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP) && ip[9] == PROTO_TCP && !frag &&
	    len >= ihl + 20) {
		memcpy(in + 8, ip + ihl, 4);
		*type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
		return 12;
	}
	if (!(flags & XEN_NETIF_CTRL_HASH_TYPE_IPV4))
		return 0;
	*type = _XEN_NETIF_CTRL_HASH_TYPE_IPV4;
	return 8;
}

/* Same for IPv6 (TCP only directly after the fixed header, as netif.h's
 * "packet without options"). */
static size_t input_v6(const uint8_t *ip, size_t len, uint32_t flags, uint8_t *in,
		       uint8_t *type)
{
	if (len < 40 || ip[0] >> 4 != 6)
		return 0;
	memcpy(in, ip + 8, 32);
	if ((flags & XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP) && ip[6] == PROTO_TCP && len >= 60) {
		memcpy(in + 32, ip + 40, 4);
		*type = _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
		return 36;
	}
	if (!(flags & XEN_NETIF_CTRL_HASH_TYPE_IPV6))
		return 0;
	*type = _XEN_NETIF_CTRL_HASH_TYPE_IPV6;
	return 32;
}

bool xnb_hash_frame(const struct xnb_hash *h, const uint8_t *frame, size_t len,
		    uint32_t *hash, uint8_t *type)
{
	uint8_t in[36];
	uint16_t proto = 0;
	size_t l3, n = 0;

	if (h->alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ || h->flags == 0)
		return false;
	l3 = l3_start(frame, len, &proto);
	if (l3 == 0)
		return false;
	if (proto == ETH_P_IP_)
		n = input_v4(frame + l3, len - l3, h->flags, in, type);
	else if (proto == ETH_P_IPV6_)
		n = input_v6(frame + l3, len - l3, h->flags, in, type);
	if (n == 0)
		return false;
	*hash = xnb_toeplitz(h->key, sizeof(h->key), in, n);
	return true;
}

unsigned xnb_hash_queue(const struct xnb_hash *h, uint32_t hash, unsigned nqueues)
{
	unsigned q;

	if (nqueues == 0)
		return 0;
	q = h->size ? h->mapping[hash % h->size] : hash % nqueues;
	return q < nqueues ? q : 0;	/* entries were checked when set */
}

struct netif_extra_info xnb_hash_extra(uint32_t hash, uint8_t type)
{
	struct netif_extra_info ex;

	memset(&ex, 0, sizeof(ex));
	ex.type = XEN_NETIF_EXTRA_TYPE_HASH;
	ex.u.hash.type = type;
	ex.u.hash.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
	/* value: least significant octet first (netif.h) */
	for (int i = 0; i < 4; i++)
		ex.u.hash.value[i] = (uint8_t)(hash >> (8 * i));
	return ex;
}
