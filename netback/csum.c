/*
 * csum.c — find the L4 header of an Ethernet frame and its checksum field,
 * so a guest's "checksum blank" / GSO request can become a virtio-net header
 * for the TAP. Reads only the private copy of the frame.
 */
#include <errno.h>

#include "xnb.h"

#define ETH_HLEN_	14
#define ETH_P_IP_	0x0800
#define ETH_P_IPV6_	0x86dd
#define ETH_P_8021Q_	0x8100
#define PROTO_TCP	6
#define PROTO_UDP	17

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* IPv4 at OFF: the L4 offset and protocol; fragments have no L4 header to
 * checksum. 0 or -EINVAL. */
static int ipv4(const uint8_t *f, size_t len, size_t off, struct xnb_l4 *out)
{
	size_t ihl;

	if (len < off + 20 || (f[off] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(f[off] & 0xf) * 4;
	if (ihl < 20 || len < off + ihl)
		return -EINVAL;
	if (be16(f + off + 6) & 0x3fff)	/* MF or a fragment offset */
		return -EINVAL;
	out->l4_proto = f[off + 9];
	out->l4_off = (uint16_t)(off + ihl);
	return 0;
}

/* IPv6 at OFF, skipping hop-by-hop, routing and destination options. */
static int ipv6(const uint8_t *f, size_t len, size_t off, struct xnb_l4 *out)
{
	uint8_t next;

	if (len < off + 40 || (f[off] >> 4) != 6)
		return -EINVAL;
	next = f[off + 6];
	off += 40;
	for (int i = 0; i < 8 && (next == 0 || next == 43 || next == 60); i++) {
		if (len < off + 8)
			return -EINVAL;
		next = f[off];
		off += ((size_t)f[off + 1] + 1) * 8;
	}
	if (off > len)
		return -EINVAL;
	out->l4_proto = next;
	out->l4_off = (uint16_t)off;
	return 0;
}

int xnb_parse_l4(const uint8_t *frame, size_t len, struct xnb_l4 *out)
{
	size_t off = ETH_HLEN_;
	int rc;

	if (len < ETH_HLEN_)
		return -EINVAL;
	out->l3_proto = be16(frame + 12);
	if (out->l3_proto == ETH_P_8021Q_) {
		if (len < ETH_HLEN_ + 4)
			return -EINVAL;
		out->l3_proto = be16(frame + 16);
		off += 4;
	}
	if (out->l3_proto == ETH_P_IP_)
		rc = ipv4(frame, len, off, out);
	else if (out->l3_proto == ETH_P_IPV6_)
		rc = ipv6(frame, len, off, out);
	else
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	if (out->l4_proto == PROTO_TCP) {
		if (len < (size_t)out->l4_off + 20)
			return -EINVAL;
		out->csum_off = 16;
		out->hdr_len = (uint16_t)(out->l4_off + (frame[out->l4_off + 12] >> 4) * 4);
		return out->hdr_len >= out->l4_off + 20 && out->hdr_len <= len ? 0 : -EINVAL;
	}
	if (out->l4_proto == PROTO_UDP) {
		if (len < (size_t)out->l4_off + 8)
			return -EINVAL;
		out->csum_off = 6;
		out->hdr_len = (uint16_t)(out->l4_off + 8);
		return 0;
	}
	return -EINVAL;
}
