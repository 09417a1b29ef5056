/*
 * fuzz_netfront_vnet.c — xnetfront's offload helpers (netfront/vnet.h) on
 * frames a backend hands over and headers a TAP hands over: locating the
 * L4 header (VLAN tag, IPv4 options, IPv6 extension headers), completing a
 * blank checksum in place, and mapping offload fields to and from a
 * virtio-net header.
 *
 * Invariants checked besides "no crash, UB or leak" (the frame is an
 * exact-size allocation, so a read or write past it is caught):
 *  - a located L4 header does not start past the frame's end, and is TCP
 *    or UDP;
 *  - a completed checksum verifies: the one's-complement sum over the
 *    pseudo-header and the L4 bytes the IP header declares is 0xffff;
 *  - a header made for a blank checksum points at a field inside the
 *    frame, a GSO header's hdr_len lies inside it;
 *  - a TAP header maps to known frame flags and GSO types only.
 *
 * Input: byte 0 = frame flags (XNF_F_*) and GSO type (bits 4-5); u16
 * gso_size; a 10-byte virtio-net header; then the frame.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfront/vnet.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_netfront_vnet: invariant broken: %s\n", what);
	abort();
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t sum_bytes(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += be16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* Recompute, independently, whether the L4 checksum at L4 verifies. */
static void check_csum(const uint8_t *f, size_t len, unsigned l4, uint8_t proto)
{
	unsigned l3 = be16(f + 12) == 0x8100 ? 18 : 14;
	bool v4 = (f[l3] >> 4) == 4;
	size_t end = v4 ? l3 + be16(f + l3 + 2) : l3 + 40 + be16(f + l3 + 4);
	uint32_t s;

	if (end > len || end < l4)
		fail("checksum completed over bytes the frame does not have");
	s = v4 ? sum_bytes(f + l3 + 12, 8, 0) : sum_bytes(f + l3 + 8, 32, 0);
	s += proto + (uint32_t)((end - l4) >> 16) + (uint32_t)((end - l4) & 0xffff);
	s = sum_bytes(f + l4, end - l4, s);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	if (s != 0xffff)
		fail("completed checksum does not verify");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_net_hdr vh, out;
	struct xnf_frame f;
	uint16_t gso_size;
	unsigned l4 = 0;
	uint8_t proto = 0, *frame;
	size_t len;

	if (size < 3 + sizeof(vh))
		return 0;
	memcpy(&gso_size, data + 1, 2);
	memcpy(&vh, data + 3, sizeof(vh));
	len = size - 3 - sizeof(vh);
	frame = malloc(len ? len : 1);
	if (!frame)
		abort();
	memcpy(frame, data + 3 + sizeof(vh), len);

	if (xnf_l4_locate(frame, len, &l4, &proto) == 0) {
		if (l4 > len)
			fail("L4 header located past the end of the frame");
		if (proto != 6 && proto != 17)
			fail("located a header that is neither TCP nor UDP");
	}
	f = (struct xnf_frame){ .data = frame, .len = (uint32_t)len, .cap = (uint32_t)len,
				.flags = data[0] & 3u, .gso_type = (data[0] >> 4) & 3u,
				.gso_size = gso_size };
	if (xnf_vnet_from_frame(&f, &out) == 0) {
		if ((out.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    (size_t)out.csum_start + out.csum_offset + 2 > len)
			fail("checksum field outside the frame");
		if (out.gso_type != VIRTIO_NET_HDR_GSO_NONE && out.hdr_len > len)
			fail("GSO hdr_len outside the frame");
	}
	if (xnf_csum_fill(frame, len) == 0) {
		if (xnf_l4_locate(frame, len, &l4, &proto) != 0)
			fail("a completed frame's L4 header is gone");
		check_csum(frame, len, l4, proto);
	}
	if (xnf_vnet_to_frame(&vh, &f) == 0 &&
	    ((f.flags & ~(unsigned)(XNF_F_CSUM_BLANK | XNF_F_DATA_VALIDATED)) ||
	     f.gso_type > XNF_GSO_TCPV6))
		fail("TAP header mapped to unknown flags or GSO type");
	free(frame);
	return 0;
}
