/*
 * tap.h — the guest side of a vif as xnetfront exposes it: a TAP interface
 * (no packet-info header) with the vif's MAC and MTU, brought up.
 */
#ifndef XNF_TAP_H
#define XNF_TAP_H

#include <stdint.h>

/* Create TAP NAME (non-blocking, close-on-exec), set MAC and MTU, bring it
 * up. Returns the fd, or -errno (logged, naming the step that failed). The
 * interface disappears when the fd is closed. */
int xnf_tap_open(const char *name, const uint8_t mac[6], unsigned mtu);

#endif
