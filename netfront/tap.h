/*
 * tap.h — the guest side of a vif as xnetfront exposes it: a TAP interface
 * (no packet-info header, multi-queue) with the vif's MAC and MTU, brought
 * up.
 */
#ifndef XNF_TAP_H
#define XNF_TAP_H

#include <stdint.h>

/* Create TAP NAME (non-blocking, close-on-exec), set MAC and MTU, bring it
 * up. With VNET_HDR every frame read or written is preceded by a struct
 * virtio_net_hdr. Returns the fd, or -errno (logged, naming the step that
 * failed). The interface disappears when the fd is closed. */
int xnf_tap_open(const char *name, const uint8_t mac[6], unsigned mtu,
		 int vnet_hdr);

/* Another queue of the TAP NAME (multi-queue: every fd from xnf_tap_open
 * and this is one queue), with the same VNET_HDR. fd or -errno (logged). */
int xnf_tap_attach_queue(const char *name, int vnet_hdr);

/* What the kernel may hand us on FD: TUN_F_* from linux/if_tun.h. 0 or
 * -errno (logged). */
int xnf_tap_set_offload(int fd, const char *name, unsigned tun_flags);

/* Cap the size of the GSO frames the kernel builds for interface NAME (a
 * netif frame holds at most 64 KiB - 1, headers included). 0 or -errno. */
int xnf_tap_set_gso_max_size(const char *name, unsigned size);

/* Link carrier of the TAP on FD (TUNSETCARRIER): ON 1 or 0. 0 or -errno
 * (logged). */
int xnf_tap_set_carrier(int fd, const char *name, int on);

#endif
