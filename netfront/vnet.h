/*
 * vnet.h — mapping between a TAP's virtio-net header (IFF_VNET_HDR) and the
 * offload fields of a frame (blank checksum, GSO), for xnetfront's
 * offloads (on unless --no-offload).
 * Pure functions: the netif protocol does not carry checksum positions, so
 * for frames from the backend they are found by parsing the headers.
 */
#ifndef XNF_VNET_H
#define XNF_VNET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xnetfront.h"

/* Where the TCP/UDP header of an Ethernet frame starts (after an optional
 * 802.1Q tag and an IPv4 header — not a later fragment — or an IPv6
 * header with any hop-by-hop, routing and destination-options headers) and which protocol it is (6 or 17). 0 or -EINVAL. */
int xnf_l4_locate(const uint8_t *frame, size_t len, unsigned *l4_off,
		  uint8_t *proto);

/* Complete a blank TCP/UDP checksum in software (pseudo-header included,
 * over the length the IP header declares). 0, or -EINVAL when the L4
 * header cannot be located or the frame is shorter than its IP header
 * says. */
int xnf_csum_fill(uint8_t *frame, size_t len);

/* Is FRAME an IPv6 packet (past one VLAN tag)? */
bool xnf_frame_is_ipv6(const uint8_t *frame, size_t len);

/* The header to write before frame F into the TAP. 0, or -EINVAL when a
 * blank checksum cannot be located (not TCP/UDP, or headers cut short):
 * the frame cannot be handed on. */
int xnf_vnet_from_frame(const struct xnf_frame *f, struct virtio_net_hdr *h);

/* The frame fields for a header read from the TAP. 0, or -EINVAL for a GSO
 * type the netif protocol has no name for. */
int xnf_vnet_to_frame(const struct virtio_net_hdr *h, struct xnf_frame *f);

#endif
