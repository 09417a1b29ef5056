/*
 * xnet_cases.c — xnet's own figures, each compared with a baseline run in
 * the same session on the same cores.
 *
 * Ring level: xnet_ring.c; the sim's event channel: xnet_evtchn.c; full stack: xnet_stack.c; control plane:
 * xnet_control.c (the last two on the sim of xnet_sim.c). A new figure gets
 * its run function (signature xbench_run_fn in bench.h) in its own file in
 * bench/ and its entry below. A run function measures once and
 * stores one number in the entry's unit; it reads what it needs from the
 * entry (size, queues, dir, pct) and the options (cpu[0], cpu[1],
 * duration_s). Anything it sets up (xnet-simd with its own XNET_SIM_DIR,
 * domains, namespaces) is registered with xbench_on_cleanup_cmd() or torn
 * down before it returns; processes it starts go through xbench_spawn() so
 * they are killed on any exit. Return -ENOSYS while a figure cannot be
 * measured yet: it is then reported as "not available yet", never as a
 * number.
 */
#include <errno.h>
#include <stddef.h>

#include "bench/bench.h"
#include "bench/xsim.h"

/* Ring level: libxnetfront ↔ xnetback with a packet source/sink in place
 * of the TAP. Throughput at SZ in UNIT, direction DIR, Q queues. */
#define RING(id, unit_, sz, dir_, q, desc_, b1, b2)                           \
	{ .name = "ring." id, .unit = unit_, .group = "ring",                 \
	  .desc = desc_, .run = xbench_ring_run, .probe = xbench_ring_probe,  \
	  .size = sz, .dir = dir_, .queues = q, .baselines = { b1, b2, NULL } }

#define RING_SIZES(d, dname, q)                                               \
	RING(dname ".64B." #q "q", XBENCH_MPPS, 64, d, q, "xnet rings " dname " 64 B, " #q "q",             \
	     "dpdk.vhost.64B", "spsc.64B"),                                   \
	RING(dname ".1500B." #q "q", XBENCH_GBPS, 1500, d, q, "xnet rings " dname " 1500 B, " #q "q",       \
	     "dpdk.vhost.1500B", "spsc.1500B"),                               \
	RING(dname ".64KiB." #q "q", XBENCH_GBPS, 65536, d, q, "xnet rings " dname " 64 KiB, " #q "q",      \
	     "spsc.64KiB", NULL),                                             \
	{ .name = "ring." dname ".64B." #q "q.cycles", .unit = XBENCH_CYCLES,   \
	  .group = "ring", .desc = "xnet rings " dname " 64 B, " #q "q, CPU",        \
	  .run = xbench_ring_run, .probe = xbench_ring_probe, .size = 64,     \
	  .dir = d, .queues = q }

const struct xbench_case xbench_xnet_cases[] = {
	RING_SIZES(XBENCH_TX, "tx", 1),
	RING_SIZES(XBENCH_RX, "rx", 1),
	RING_SIZES(XBENCH_TX, "tx", 2),
	RING_SIZES(XBENCH_RX, "rx", 2),

	/* Full stack: guest netns TAP → xnetfront → rings → xnetback → TAP →
	 * bridge → ... → the other guest. */
	{ .name = "stack.tcp", .unit = XBENCH_GBPS, .group = "stack",
	  .desc = "xnet guest to guest, iperf3 TCP", .run = xbench_stack_tcp,
	  .probe = xbench_stack_probe,
	  .baselines = { "veth.tcp", NULL } },
	{ .name = "stack.udp.64B", .unit = XBENCH_MPPS, .group = "stack",
	  .desc = "xnet guest to guest, iperf3 UDP 64 B", .run = xbench_stack_udp,
	  .probe = xbench_stack_probe,
	  .size = 64, .baselines = { "veth.udp.64B", NULL } },
	{ .name = "stack.ping.p50", .unit = XBENCH_US, .group = "stack",
	  .desc = "xnet guest to guest, ping p50", .run = xbench_stack_ping,
	  .probe = xbench_stack_probe, .pct = 50,
	  .baselines = { "veth.ping.p50", NULL } },
	{ .name = "stack.ping.p99", .unit = XBENCH_US, .group = "stack",
	  .desc = "xnet guest to guest, ping p99", .run = xbench_stack_ping,
	  .probe = xbench_stack_probe, .pct = 99,
	  .baselines = { "veth.ping.p99", NULL } },

	/* The sim's event channel alone (xnet_evtchn.c): what each notify and
	 * wake-up in the figures above costs. */
	{ .name = "evtchn.rtt.p50", .unit = XBENCH_US, .group = "evtchn",
	  .desc = "sim event channel, notify-wake round trip p50", .run = xbench_evtchn_run,
	  .pct = 50 },
	{ .name = "evtchn.rtt.p99", .unit = XBENCH_US, .group = "evtchn",
	  .desc = "sim event channel, notify-wake round trip p99", .run = xbench_evtchn_run,
	  .pct = 99 },
	{ .name = "evtchn.events", .unit = XBENCH_MEVS, .group = "evtchn",
	  .desc = "sim event channel, events taken, sender flat out", .run = xbench_evtchn_run },
	{ .name = "evtchn.events.cycles", .unit = XBENCH_CYCLES_EVENT, .group = "evtchn",
	  .desc = "sim event channel, receiver CPU per event", .run = xbench_evtchn_run },

	/* Control plane. */
	{ .name = "control.attach", .unit = XBENCH_MS, .group = "control",
	  .desc = "vif attach to Connected", .run = xbench_ctl_attach,
	  .probe = xbench_stack_probe },
	{ .name = "control.attach.100vifs", .unit = XBENCH_MS, .group = "control",
	  .desc = "100 vifs attached to all Connected", .run = xbench_ctl_attach100,
	  .probe = xbench_stack_probe },
	{ .name = "control.mem_per_vif", .unit = XBENCH_MIB, .group = "control",
	  .desc = "xnetback + xnetfront RSS per vif (100 vifs)", .run = xbench_ctl_mem,
	  .probe = xbench_stack_probe },
	{ .name = NULL },
};
