/*
 * veth.c — the kernel baseline: iperf3 (TCP, UDP small packets) and ping
 * over a plain veth pair between two network namespaces made for this run
 * (names carry our pid), created on first use and removed by the cleanup
 * registry at exit, on a signal, or when setup fails half-way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"

#define ADDR_A "198.18.0.1"	/* RFC 2544 benchmarking range */
#define ADDR_B "198.18.0.2"

static char ns_a[32], ns_b[32];
static int veth_state;		/* 0 not tried, 1 up, <0 failed (-errno) */

static int ip(char *const argv[])
{
	int r = xbench_cmd(argv, 10.0, NULL);

	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

static int add_ns(const char *name)
{
	/* Registered first: a signal may come while `ip netns add` runs. */
	if (xbench_on_cleanup_cmd((char *[]){ "ip", "netns", "del", (char *)name, NULL }) < 0)
		return -ENOSPC;
	return ip((char *[]){ "ip", "netns", "add", (char *)name, NULL });
}

/* Bounded wait for the pair to pass traffic: one ping, retried. */
static int wait_link(void)
{
	double end = xbench_now() + 5.0;

	while (xbench_now() < end)
		if (xbench_cmd((char *[]){ "ip", "netns", "exec", ns_b, "ping", "-c1",
					   "-W1", "-q", ADDR_A, NULL }, 3.0, NULL) == 0)
			return 0;
	return -ETIMEDOUT;
}

static int veth_setup(void)
{
	int r;

	snprintf(ns_a, sizeof(ns_a), "xbench-%d-a", (int)getpid());
	snprintf(ns_b, sizeof(ns_b), "xbench-%d-b", (int)getpid());
	if ((r = add_ns(ns_a)) < 0 || (r = add_ns(ns_b)) < 0)
		return r;
	/* Made inside namespace A with its peer moved straight into B, so no
	 * link ever exists in the namespace we were started in. */
	char *const cmds[][12] = {
		{ "ip", "-n", ns_a, "link", "add", "xb0", "type", "veth", "peer",
		  "name", "xb1", NULL },
		{ "ip", "-n", ns_a, "link", "set", "xb1", "netns", ns_b, NULL },
		{ "ip", "-n", ns_a, "addr", "add", ADDR_A "/30", "dev", "xb0", NULL },
		{ "ip", "-n", ns_b, "addr", "add", ADDR_B "/30", "dev", "xb1", NULL },
		{ "ip", "-n", ns_a, "link", "set", "lo", "up", NULL },
		{ "ip", "-n", ns_b, "link", "set", "lo", "up", NULL },
		{ "ip", "-n", ns_a, "link", "set", "xb0", "up", NULL },
		{ "ip", "-n", ns_b, "link", "set", "xb1", "up", NULL },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if ((r = ip(cmds[i])) < 0)
			return r;
	return wait_link();
}

static int veth_up(void)
{
	if (veth_state == 0) {
		if (!xbench_have("ip"))
			veth_state = -ENOENT;
		else {
			int r = veth_setup();

			veth_state = r < 0 ? r : 1;
		}
	}
	return veth_state < 0 ? veth_state : 0;
}

static const struct xbench_ns_pair *pair(void)
{
	static struct xbench_ns_pair p;

	p = (struct xbench_ns_pair){ .ns_srv = ns_a, .addr_srv = ADDR_A, .ns_cli = ns_b };
	return &p;
}

int xbench_veth_iperf_tcp(const struct xbench_opts *o, double *gbps)
{
	int r = veth_up();

	return r < 0 ? r : xbench_ns_tcp(o, pair(), gbps);
}

int xbench_veth_iperf_udp(const struct xbench_opts *o, size_t size, double *mpps)
{
	int r = veth_up();

	return r < 0 ? r : xbench_ns_udp(o, pair(), size, mpps);
}

int xbench_veth_ping(const struct xbench_opts *o, const double pcts[], size_t npct,
		     double *us)
{
	int r = veth_up();

	return r < 0 ? r : xbench_ns_ping(o, pair(), pcts, npct, us);
}
