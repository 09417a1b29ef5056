/*
 * policy_frame.c — the per-packet policy of a vif as pure functions over one
 * frame: the guest's source MAC and IP/ARP/IPv6 sender addresses
 * (anti-spoofing), its size against the MTU, and the 802.1Q tag added on the
 * way to the host and required (then stripped) on the way back. Everything
 * they compare against was parsed at connect (struct xnb_policy).
 */
#include <errno.h>
#include <string.h>

#include <linux/if_ether.h>

#include "xnb.h"

#define IPPROTO_UDP_	17
#define IPPROTO_ICMPV6_	58
#define VH_LEN		sizeof(struct virtio_net_hdr)

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool is_tag(uint16_t type)
{
	return type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ1;	/* pre-standard outer tag */
}

static bool all_zero(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return false;
	return true;
}

static bool prefix_match(const struct xnb_prefix *x, const uint8_t *a)
{
	unsigned full = x->len / 8u, rest = x->len % 8u;

	if (memcmp(x->addr, a, full) != 0)
		return false;
	return rest == 0 || ((a[full] ^ x->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* Is ADDR (of FAMILY 4 or 6) inside one of the vif's prefixes? */
static bool addr_allowed(const struct xnb_policy *p, uint8_t family, const uint8_t *addr)
{
	for (unsigned i = 0; i < p->nip; i++)
		if (p->ip[i].family == family && prefix_match(&p->ip[i], addr))
			return true;
	return false;
}

/* IPv4: a listed source, or a DHCP client that has no address yet
 * (0.0.0.0, UDP 68 → 67, unfragmented), as Xen's vif scripts allow. */
static bool ipv4_ok(const struct xnb_policy *p, const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + ETH_HLEN;
	unsigned ihl;

	if (len < ETH_HLEN + 20u || ip[0] >> 4 != 4)
		return false;
	if (addr_allowed(p, 4, ip + 12))
		return true;
	ihl = (ip[0] & 15u) * 4u;
	if (!all_zero(ip + 12, 4) || ip[9] != IPPROTO_UDP_ || ihl < 20 ||
	    (be16(ip + 6) & 0x1fff) != 0 || len < ETH_HLEN + ihl + 4)
		return false;
	return be16(ip + ihl) == 68 && be16(ip + ihl + 2) == 67;
}

/* IPv6: a listed source; or, for ICMPv6 only (directly or behind a
 * hop-by-hop header, as MLD sends it), the link-local or unspecified
 * source that neighbour discovery, DAD and MLD need before any listed
 * address can be used. */
static bool ipv6_ok(const struct xnb_policy *p, const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + ETH_HLEN;
	uint8_t nh;

	if (len < ETH_HLEN + 40 || ip[0] >> 4 != 6)
		return false;
	if (addr_allowed(p, 6, ip + 8))
		return true;
	if (!all_zero(ip + 8, 16) && !(ip[8] == 0xfe && (ip[9] & 0xc0) == 0x80))
		return false;
	nh = ip[6];
	if (nh == 0 && len >= ETH_HLEN + 40 + 8)
		nh = ip[40];
	return nh == IPPROTO_ICMPV6_;
}

/* ARP (Ethernet/IPv4 only): the sender MAC must be the vif's; with `ip`
 * set, the sender address must be listed or 0.0.0.0 (an RFC 5227 probe). */
static int arp_check(const struct xnb_policy *p, const uint8_t *f, uint32_t len,
		     enum xnb_drop *why)
{
	const uint8_t *a = f + ETH_HLEN;

	if (len < ETH_HLEN + 28 || be16(a) != 1 || be16(a + 2) != ETH_P_IP || a[4] != 6 ||
	    a[5] != 4) {
		*why = XNB_DROP_TX_SPOOF_IP;
		return p->ip_filter ? -EPERM : 0;
	}
	if (memcmp(a + 8, p->mac, 6) != 0) {
		*why = XNB_DROP_TX_SPOOF_MAC;
		return -EPERM;
	}
	if (p->ip_filter && !all_zero(a + 14, 4) && !addr_allowed(p, 4, a + 14)) {
		*why = XNB_DROP_TX_SPOOF_IP;
		return -EPERM;
	}
	return 0;
}

/* Larger than the MTU? A GSO packet is cut into segments of gso_size bytes
 * behind its hdr_len bytes of headers: each segment must fit. */
static bool too_big(const struct xnb_policy *p, uint32_t len, const struct virtio_net_hdr *vh)
{
	if (p->mtu == 0)
		return false;
	if ((vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE)
		return len > p->mtu + ETH_HLEN;
	return vh->hdr_len < ETH_HLEN ||
	       (unsigned)vh->hdr_len - ETH_HLEN + vh->gso_size > p->mtu;
}

static int deny(enum xnb_drop *why, enum xnb_drop reason)
{
	*why = reason;
	return -EPERM;
}

int xnb_policy_tx(const struct xnb_policy *p, const uint8_t *frame, uint32_t len,
		  const struct virtio_net_hdr *vh, enum xnb_drop *why)
{
	uint16_t type;

	if (len < ETH_HLEN || memcmp(frame + 6, p->mac, 6) != 0)
		return deny(why, XNB_DROP_TX_SPOOF_MAC);
	if (too_big(p, len, vh))
		return deny(why, XNB_DROP_TX_MTU);
	type = be16(frame + 12);
	/* The guest's own tag would take it out of its VLAN, or hide the
	 * addresses the filter must see. */
	if (is_tag(type))
		return p->vlan || p->ip_filter ? deny(why, XNB_DROP_TX_VLAN) : 0;
	if (type == ETH_P_ARP)
		return arp_check(p, frame, len, why);
	if (!p->ip_filter)
		return 0;
	if ((type == ETH_P_IP && !ipv4_ok(p, frame, len)) ||
	    (type == ETH_P_IPV6 && !ipv6_ok(p, frame, len)))
		return deny(why, XNB_DROP_TX_SPOOF_IP);
	return 0;
}

int xnb_policy_tx_iov(const struct xnb_policy *p, struct virtio_net_hdr *vh, uint8_t *frame,
		      uint32_t len, uint8_t tag[XNB_VLAN_HLEN], struct iovec iov[4])
{
	iov[0] = (struct iovec){ .iov_base = vh, .iov_len = VH_LEN };
	if (!p || !p->vlan || len < 12) {
		iov[1] = (struct iovec){ .iov_base = frame, .iov_len = len };
		return 2;
	}
	tag[0] = ETH_P_8021Q >> 8;
	tag[1] = ETH_P_8021Q & 0xff;
	tag[2] = (uint8_t)(p->vlan >> 8 & 0x0f);	/* priority 0, DEI 0 */
	tag[3] = (uint8_t)(p->vlan & 0xff);
	/* The kernel reads csum_start and hdr_len from the frame's start: the
	 * tag moves everything after the MAC addresses 4 bytes on. */
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		vh->csum_start = (uint16_t)(vh->csum_start + XNB_VLAN_HLEN);
	if (vh->hdr_len)
		vh->hdr_len = (uint16_t)(vh->hdr_len + XNB_VLAN_HLEN);
	iov[1] = (struct iovec){ .iov_base = frame, .iov_len = 12 };
	iov[2] = (struct iovec){ .iov_base = tag, .iov_len = XNB_VLAN_HLEN };
	iov[3] = (struct iovec){ .iov_base = frame + 12, .iov_len = len - 12 };
	return 4;
}

int xnb_policy_rx_vlan(const struct xnb_policy *p, uint8_t *buf, size_t len)
{
	const uint8_t *f = buf + VH_LEN;
	struct virtio_net_hdr vh;

	if (!p || !p->vlan)
		return 0;
	if (len < VH_LEN + ETH_HLEN + XNB_VLAN_HLEN || be16(f + 12) != ETH_P_8021Q ||
	    (be16(f + 14) & 0x0fff) != p->vlan)
		return -EPERM;
	memcpy(&vh, buf, VH_LEN);
	if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (vh.csum_start < ETH_HLEN + XNB_VLAN_HLEN)
			return -EPERM;	/* a checksum inside the tag: nonsense */
		vh.csum_start = (uint16_t)(vh.csum_start - XNB_VLAN_HLEN);
	}
	if (vh.hdr_len >= ETH_HLEN + XNB_VLAN_HLEN)
		vh.hdr_len = (uint16_t)(vh.hdr_len - XNB_VLAN_HLEN);
	/* Move the header and the MAC addresses over the tag (28 bytes, not
	 * the whole frame). */
	memmove(buf + XNB_VLAN_HLEN, buf, VH_LEN + 12);
	memcpy(buf + XNB_VLAN_HLEN, &vh, VH_LEN);
	return (int)XNB_VLAN_HLEN;
}
