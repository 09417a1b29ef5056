/*
 * fuzz_netback_policy.c — xnetback's per-vif policy (netback/policy_*.c):
 * the `ip` list parser, and the checks every guest frame passes (source
 * MAC and IP anti-spoofing, MTU, VLAN) plus the 802.1Q tagging both ways.
 *
 * Invariants checked besides "no crash, UB or leak":
 *  - an accepted `ip` list has at most XNB_IP_MAX prefixes of family 4 or
 *    6, each no longer than its address and with no bit set past it; a
 *    refused one says why;
 *  - a frame the policy lets through has the vif's source MAC, is not a
 *    tagged frame when a VLAN or an IP filter is set, fits the MTU (not
 *    GSO), and with an IP filter its IPv4 or ARP sender address is listed
 *    (or 0.0.0.0); a refused one has a drop reason;
 *  - tagging adds exactly the vif's tag after the MAC addresses; untagging
 *    accepts only the vif's VLAN and keeps the MAC addresses.
 *
 * Input: byte 0 = flags (1 VLAN, 2 `ip` list, 4 MTU); u16 vlan; u16 mtu;
 * u8 length + the `ip` text; then a virtio-net header and the frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "netback/xnb.h"
#include "xnx_log.h"

#define VH_LEN sizeof(struct virtio_net_hdr)

static const uint8_t vif_mac[6] = { 0x00, 0x16, 0x3e, 0x01, 0x02, 0x03 };

struct input { const uint8_t *p; size_t left; };

static bool take(struct input *in, void *out, size_t n)
{
	if (in->left < n)
		return false;
	memcpy(out, in->p, n);
	in->p += n;
	in->left -= n;
	return true;
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_netback_policy: invariant broken: %s\n", what);
	abort();
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* An independent prefix test: bit by bit. */
static bool listed(const struct xnb_policy *p, uint8_t family, const uint8_t *a)
{
	for (unsigned i = 0; i < p->nip; i++) {
		const struct xnb_prefix *x = &p->ip[i];
		unsigned b = 0;

		if (x->family != family)
			continue;
		while (b < x->len && ((a[b / 8] ^ x->addr[b / 8]) & (0x80 >> (b % 8))) == 0)
			b++;
		if (b == x->len)
			return true;
	}
	return false;
}

static void check_iplist(int rc, const struct xnb_policy *p, const char *why)
{
	if (rc < 0) {
		if (rc != -EINVAL || !why[0])
			fail("ip list refused without a reason");
		return;
	}
	if (p->nip > XNB_IP_MAX)
		fail("more prefixes than XNB_IP_MAX");
	for (unsigned i = 0; i < p->nip; i++) {
		const struct xnb_prefix *x = &p->ip[i];
		unsigned bits = x->family == 4 ? 32 : 128;

		if ((x->family != 4 && x->family != 6) || x->len > bits)
			fail("prefix of an unknown family or longer than its address");
		for (unsigned b = x->len; b < bits; b++)
			if (x->addr[b / 8] & (0x80 >> (b % 8)))
				fail("prefix with a bit set past its length");
	}
}

/* What a frame let through must satisfy. */
static void check_passed(const struct xnb_policy *p, const uint8_t *f, uint32_t len,
			 const struct virtio_net_hdr *vh)
{
	uint16_t type;

	if (len < 14 || memcmp(f + 6, p->mac, 6))
		fail("frame with another source MAC let through");
	type = be16(f + 12);
	if ((p->vlan || p->ip_filter) && (type == 0x8100 || type == 0x88a8))
		fail("tagged frame let through with a VLAN or IP filter set");
	if (p->mtu && (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE &&
	    len > p->mtu + 14)
		fail("frame over the MTU let through");
	if (!p->ip_filter)
		return;
	if (type == 0x0800 && len >= 34 && (f[14] >> 4) == 4 &&
	    (be16(f + 26) | be16(f + 28)) && !listed(p, 4, f + 26))
		fail("IPv4 frame from an address not listed let through");
	if (type == 0x0806 && len >= 42 && be16(f + 14) == 1 && be16(f + 16) == 0x0800 &&
	    f[18] == 6 && f[19] == 4 && (be16(f + 28) | be16(f + 30)) && !listed(p, 4, f + 28))
		fail("ARP from an address not listed let through");
}

static void check_tag(const struct xnb_policy *p, struct virtio_net_hdr vh, uint8_t *f,
		      uint32_t len)
{
	uint8_t tag[XNB_VLAN_HLEN];
	struct iovec iov[4];
	size_t total = 0;
	int n = xnb_policy_tx_iov(p, &vh, f, len, tag, iov);

	if (n != 2 && n != 4)
		fail("iovec count not 2 or 4");
	for (int i = 1; i < n; i++)
		total += iov[i].iov_len;
	if (total != len + (n == 4 ? XNB_VLAN_HLEN : 0))
		fail("tagging changed the frame's length by other than a tag");
	if (n == 4 && (iov[1].iov_len != 12 || be16(tag) != 0x8100 ||
		       (be16(tag + 2) & 0x0fff) != p->vlan))
		fail("tag is not the vif's, or not after the MAC addresses");
}

static void check_untag(const struct xnb_policy *p, const uint8_t *vh_frame, size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	if (!buf)
		abort();
	memcpy(buf, vh_frame, len);
	rc = xnb_policy_rx_vlan(p, buf, len);
	if (rc != 0 && rc != (int)XNB_VLAN_HLEN && rc != -EPERM)
		fail("untagging returned something else than 0, 4 or -EPERM");
	if (!p->vlan && rc != 0)
		fail("untagging without a VLAN set");
	if (rc == (int)XNB_VLAN_HLEN &&
	    (memcmp(buf + rc + VH_LEN, vh_frame + VH_LEN, 12) ||
	     (be16(vh_frame + VH_LEN + 14) & 0x0fff) != p->vlan))
		fail("untagged a frame of another VLAN, or lost its MAC addresses");
	free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xnx_log_set_level(XNX_LOG_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct xnb_policy p;
	struct virtio_net_hdr vh;
	char ip[256], why[160] = "";
	uint8_t flags = 0, iplen = 0, *frame;
	uint16_t vlan = 0, mtu = 0;
	enum xnb_drop drop = XNB_DROP_MAX;
	uint32_t len;

	take(&in, &flags, 1);
	take(&in, &vlan, 2);
	take(&in, &mtu, 2);
	take(&in, &iplen, 1);
	if (!take(&in, ip, iplen))
		return 0;
	ip[iplen] = '\0';
	memset(&p, 0, sizeof(p));
	memcpy(p.mac, vif_mac, 6);
	p.vlan = flags & 1 ? (uint16_t)(vlan % 4094 + 1) : 0;
	p.mtu = flags & 4 ? mtu : 0;
	if (flags & 2)
		check_iplist(xnb_parse_iplist(ip, &p, why, sizeof(why)), &p, why);
	if (!take(&in, &vh, sizeof(vh)))
		return 0;
	len = (uint32_t)in.left;
	frame = malloc(len ? len : 1);	/* exact size: reads past it are caught */
	if (!frame)
		abort();
	memcpy(frame, in.p, len);
	if (xnb_policy_tx(&p, frame, len, &vh, &drop) == 0)
		check_passed(&p, frame, len, &vh);
	else if (drop >= XNB_DROP_MAX)
		fail("frame refused without a drop reason");
	check_tag(&p, vh, frame, len);
	check_untag(&p, data + (size - len - sizeof(vh)), len + sizeof(vh));
	free(frame);
	return 0;
}
