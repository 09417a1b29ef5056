/* vnet.c — virtio-net header ↔ frame offload fields (see vnet.h). */
#include <errno.h>
#include <string.h>

#include "vnet.h"

#define ETH_HLEN_    14
#define ETH_P_IP_    0x0800
#define ETH_P_IPV6_  0x86dd
#define ETH_P_8021Q_ 0x8100
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_DSTOPTS_ 60
/* Extension headers walked before giving up (a chain is rarely > 2). */
#define IPV6_EXT_MAX 8

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* Offset of the IP header and its ethertype, past one VLAN tag. */
static int l3_locate(const uint8_t *f, size_t len, unsigned *off, unsigned *type)
{
	if (len < ETH_HLEN_)
		return -EINVAL;
	*type = be16(f + 12);
	*off = ETH_HLEN_;
	if (*type == ETH_P_8021Q_) {
		if (len < ETH_HLEN_ + 4)
			return -EINVAL;
		*type = be16(f + 16);
		*off += 4;
	}
	return 0;
}

/* Walk IPv6 extension headers that carry no payload of their own
 * (hop-by-hop, routing, destination options), as Linux's
 * skb_checksum_setup_ipv6 does, so a blank checksum behind them can still
 * be placed. A fragment header stops the walk: not completable. */
static int ipv6_skip_ext(const uint8_t *f, size_t len, unsigned *off,
			 uint8_t *proto)
{
	for (int n = 0; n < IPV6_EXT_MAX; n++) {
		if (*proto != IPPROTO_HOPOPTS_ && *proto != IPPROTO_ROUTING_ &&
		    *proto != IPPROTO_DSTOPTS_)
			return 0;
		if (len < *off + 8u)
			return -EINVAL;
		*proto = f[*off];
		*off += (f[*off + 1] + 1u) * 8u;
	}
	return -EINVAL;
}

bool xnf_frame_is_ipv6(const uint8_t *f, size_t len)
{
	unsigned off, type;

	return l3_locate(f, len, &off, &type) == 0 && type == ETH_P_IPV6_;
}

int xnf_l4_locate(const uint8_t *f, size_t len, unsigned *l4_off, uint8_t *proto)
{
	unsigned off, type;

	if (l3_locate(f, len, &off, &type) < 0)
		return -EINVAL;
	if (type == ETH_P_IP_) {
		unsigned ihl;

		if (len < off + 20 || (f[off] >> 4) != 4)
			return -EINVAL;
		ihl = (f[off] & 0xf) * 4u;
		if (ihl < 20 || len < off + ihl)
			return -EINVAL;
		*proto = f[off + 9];
		*l4_off = off + ihl;
		/* A later fragment has no L4 header to find. */
		if ((be16(f + off + 6) & 0x1fff) != 0)
			return -EINVAL;
	} else if (type == ETH_P_IPV6_) {
		if (len < off + 40 || (f[off] >> 4) != 6)
			return -EINVAL;
		*proto = f[off + 6];
		*l4_off = off + 40;
		if (ipv6_skip_ext(f, len, l4_off, proto) < 0 || *l4_off > len)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return *proto == IPPROTO_TCP_ || *proto == IPPROTO_UDP_ ? 0 : -EINVAL;
}

/* hdr_len of a TCP super-frame: up to the end of the TCP header. */
static int tcp_hdr_end(const uint8_t *f, size_t len, unsigned l4, unsigned *end)
{
	unsigned doff;

	if (len < l4 + 20)
		return -EINVAL;
	doff = (f[l4 + 12] >> 4) * 4u;
	if (doff < 20 || len < l4 + doff)
		return -EINVAL;
	*end = l4 + doff;
	return 0;
}

int xnf_vnet_from_frame(const struct xnf_frame *f, struct virtio_net_hdr *h)
{
	unsigned l4 = 0, end;
	uint8_t proto = 0;

	memset(h, 0, sizeof(*h));
	if (f->flags & XNF_F_CSUM_BLANK) {
		if (xnf_l4_locate(f->data, f->len, &l4, &proto) < 0)
			return -EINVAL;
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = (uint16_t)l4;
		h->csum_offset = proto == IPPROTO_TCP_ ? 16 : 6;
		if (f->len < l4 + h->csum_offset + 2u)
			return -EINVAL;
	} else if (f->flags & XNF_F_DATA_VALIDATED) {
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (f->gso_type == XNF_GSO_NONE)
		return 0;
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || proto != IPPROTO_TCP_ ||
	    tcp_hdr_end(f->data, f->len, l4, &end) < 0)
		return -EINVAL;
	h->gso_type = f->gso_type == XNF_GSO_TCPV4 ? VIRTIO_NET_HDR_GSO_TCPV4
						   : VIRTIO_NET_HDR_GSO_TCPV6;
	h->gso_size = f->gso_size;
	h->hdr_len = (uint16_t)end;
	return 0;
}

int xnf_vnet_to_frame(const struct virtio_net_hdr *h, struct xnf_frame *f)
{
	f->flags = 0;
	f->gso_type = XNF_GSO_NONE;
	f->gso_size = 0;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		f->flags |= XNF_F_CSUM_BLANK;
	if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		f->flags |= XNF_F_DATA_VALIDATED;
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		f->gso_type = XNF_GSO_TCPV4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		f->gso_type = XNF_GSO_TCPV6;
		break;
	default:
		return -EINVAL;
	}
	f->gso_size = h->gso_size;
	return 0;
}

/* One's-complement sum of LEN bytes at P added to SUM (not folded). */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += be16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The L4 length the IP header declares (not the Ethernet padding) and the
 * pseudo-header sum; -EINVAL if the frame is shorter than it says. */
static int pseudo_sum(const uint8_t *f, size_t len, unsigned l4, uint8_t proto,
		      uint32_t *sum, size_t *l4_len)
{
	unsigned l3, type;
	size_t end;

	if (l3_locate(f, len, &l3, &type) < 0)
		return -EINVAL;
	if (type == ETH_P_IP_) {
		end = l3 + be16(f + l3 + 2);
		*sum = sum16(f + l3 + 12, 8, 0);
	} else {
		end = l3 + 40 + be16(f + l3 + 4);
		*sum = sum16(f + l3 + 8, 32, 0);
	}
	if (end > len || end < l4)
		return -EINVAL;
	*l4_len = end - l4;
	*sum += proto + (uint32_t)(*l4_len >> 16) + (uint32_t)(*l4_len & 0xffff);
	return 0;
}

int xnf_csum_fill(uint8_t *f, size_t len)
{
	unsigned l4, field;
	uint8_t proto;
	uint32_t sum;
	size_t l4_len;
	uint16_t c;

	if (xnf_l4_locate(f, len, &l4, &proto) < 0 ||
	    pseudo_sum(f, len, l4, proto, &sum, &l4_len) < 0)
		return -EINVAL;
	field = l4 + (proto == IPPROTO_TCP_ ? 16 : 6);
	if (l4_len < field - l4 + 2)
		return -EINVAL;
	f[field] = f[field + 1] = 0;
	c = (uint16_t)~fold(sum16(f + l4, l4_len, sum));
	if (c == 0 && proto == IPPROTO_UDP_)
		c = 0xffff;	/* 0 means "no checksum" in UDP */
	f[field] = (uint8_t)(c >> 8);
	f[field + 1] = (uint8_t)c;
	return 0;
}
