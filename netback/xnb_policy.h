/*
 * xnb_policy.h — the control side of a vif's policy (policy_xs.c): reading
 * `mac`, `ip`, `vlan` and `mtu` at connect into a struct xnb_policy (see
 * xnb.h), the TAP's carrier, and the counters summary logged at disconnect.
 */
#ifndef XNB_POLICY_H
#define XNB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore.h>

#include "xnb.h"

/* Defaults of the RX timeouts (Linux netback's); the environment variables
 * XNET_RX_DRAIN_MS and XNET_RX_STALL_MS override them (0 turns one off). */
#define XNB_RX_DRAIN_MS_DEFAULT 10000u
#define XNB_RX_STALL_MS_DEFAULT 60000u

/* Fill P for the backend directory DIR: MAC (already parsed from `mac`),
 * MTU (the `mtu` key; 0 = absent, meaning 1500), `vlan` (1..4094) and `ip`.
 * Fails closed: a malformed `vlan` or `ip` is -EINVAL with WHY naming the
 * key and the problem, and the vif must not connect. */
int xnb_policy_load(struct xs_handle *xs, const char *dir, const uint8_t mac[6],
		    unsigned mtu, struct xnb_policy *p, char *why, size_t whylen);

/* Turn the carrier of the TAP behind FD on or off. 0 or -errno. */
int xnb_tap_carrier(int fd, bool on);

/* Log PATH's non-zero counters on one line (at disconnect). */
void xnb_policy_log_stats(const char *path, const struct xnb_stats *s);

#endif
