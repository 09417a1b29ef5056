/*
 * baselines.c — the table of baseline measurements run alongside xnet's
 * own: the plain shared-memory ring (the physical limit), the kernel's veth
 * with iperf3 and ping, and DPDK virtio-user ↔ vhost-user when installed.
 * Packet sizes are Ethernet frames without FCS.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "bench/bench.h"

static int run_spsc(const struct xbench_opts *o, const struct xbench_case *c,
		    double *value)
{
	double pps = 0, bps = 0;
	int r = xbench_spsc_run(o->cpu, c->size, o->duration_s, &pps, &bps);

	if (r == 0)
		*value = strcmp(c->unit, XBENCH_MPPS) == 0 ? pps / 1e6 : bps / 1e9;
	return r;
}

static int probe_veth(const struct xbench_opts *o, const struct xbench_case *c,
		      const char **why)
{
	static const char *const tools[] = { "ip", "iperf3", "ping", "ss" };

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!xbench_have(tools[i])) {
			*why = "iperf3, ping or iproute2 not installed";
			return -ENOENT;
		}
	return 0;
}

static int run_tcp(const struct xbench_opts *o, const struct xbench_case *c,
		   double *value)
{
	return xbench_veth_iperf_tcp(o, value);
}

static int run_udp(const struct xbench_opts *o, const struct xbench_case *c,
		   double *value)
{
	return xbench_veth_iperf_udp(o, c->size, value);
}

static int run_ping(const struct xbench_opts *o, const struct xbench_case *c,
		    double *value)
{
	double p = c->pct;

	return xbench_veth_ping(o, &p, 1, value);
}

static int probe_dpdk(const struct xbench_opts *o, const struct xbench_case *c,
		      const char **why)
{
	return xbench_dpdk_available(why);
}

static int run_dpdk(const struct xbench_opts *o, const struct xbench_case *c,
		    double *value)
{
	double pps = 0;
	int r = xbench_dpdk_run(o, c->size, &pps);

	if (r == 0)
		*value = strcmp(c->unit, XBENCH_MPPS) == 0 ? pps / 1e6
						: pps * (double)c->size * 8 / 1e9;
	return r;
}

const struct xbench_case xbench_baseline_cases[] = {
	{ .name = "spsc.64B", .unit = XBENCH_MPPS, .group = "baseline",
	  .desc = "shared-memory SPSC ring, 64 B", .run = run_spsc, .size = 64 },
	{ .name = "spsc.1500B", .unit = XBENCH_GBPS, .group = "baseline",
	  .desc = "shared-memory SPSC ring, 1500 B", .run = run_spsc, .size = 1500 },
	{ .name = "spsc.64KiB", .unit = XBENCH_GBPS, .group = "baseline",
	  .desc = "shared-memory SPSC ring, 64 KiB", .run = run_spsc, .size = 65536 },
	{ .name = "veth.tcp", .unit = XBENCH_GBPS, .group = "baseline",
	  .desc = "veth pair, iperf3 TCP", .run = run_tcp, .probe = probe_veth },
	{ .name = "veth.udp.64B", .unit = XBENCH_MPPS, .group = "baseline",
	  .desc = "veth pair, iperf3 UDP 64 B", .run = run_udp, .probe = probe_veth,
	  .size = 64 },
	{ .name = "veth.ping.p50", .unit = XBENCH_US, .group = "baseline",
	  .desc = "veth pair, ping p50", .run = run_ping, .probe = probe_veth, .pct = 50 },
	{ .name = "veth.ping.p99", .unit = XBENCH_US, .group = "baseline",
	  .desc = "veth pair, ping p99", .run = run_ping, .probe = probe_veth, .pct = 99 },
	{ .name = "dpdk.vhost.64B", .unit = XBENCH_MPPS, .group = "baseline",
	  .desc = "DPDK virtio-user -> vhost-user, 64 B", .run = run_dpdk,
	  .probe = probe_dpdk, .size = 64 },
	{ .name = "dpdk.vhost.1500B", .unit = XBENCH_GBPS, .group = "baseline",
	  .desc = "DPDK virtio-user -> vhost-user, 1500 B", .run = run_dpdk,
	  .probe = probe_dpdk, .size = 1500 },
	{ .name = NULL },
};
