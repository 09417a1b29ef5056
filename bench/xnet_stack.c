/*
 * xnet_stack.c — xnet's full-stack figures: two sim guests on a bridge,
 * guest netns TAP → xnetfront → rings → xnetback → TAP → bridge → TAP →
 * xnetback → rings → xnetfront → guest netns, measured with the very
 * commands the veth baseline uses (nsperf.c): iperf3 TCP, iperf3 UDP 64 B,
 * ping p50/p99. The guests are made on first use and kept for the session;
 * the sim's teardown (xnet_sim.c) removes them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/xsim.h"

#define ADDR_1 "198.18.0.11"	/* RFC 2544 benchmarking range */
#define ADDR_2 "198.18.0.12"

static int stack_state;		/* 0 not tried, 1 up, <0 failed (-errno) */
static char guest[2][32];

const char *xbench_stack_guest(int i)
{
	return stack_state == 1 && (i == 0 || i == 1) ? guest[i] : NULL;
}

static int attach(int i)
{
	char spec[160];

	/* Named after us: other sims' vif<domid>.0 share the namespace. */
	snprintf(spec, sizeof(spec), "mac=00:16:3e:5b:00:%02x,bridge=%s,devid=0,vifname=xs%d.%d",
		 i + 1, xsim_bridge(), (int)getpid(), i + 1);
	return xsim_xnet((char *[]){ "vif", "attach", guest[i], spec, NULL }, 30, NULL);
}

static int stack_setup(void)
{
	struct xsim_vif v[2] = { { 0 } };
	static const char *const addr[2] = { ADDR_1, ADDR_2 };
	int r = xsim_up();

	for (int i = 0; i < 2 && r == 0; i++) {
		snprintf(guest[i], sizeof(guest[i]), "xbs%d-%d", (int)getpid(), i + 1);
		r = xsim_domain(guest[i], &v[i].domid);
		if (r == 0)
			r = attach(i);
	}
	if (r == 0)
		r = xsim_wait_connected(v, 2, 20);
	for (int i = 0; i < 2 && r == 0; i++)
		r = xsim_guest_addr(guest[i], addr[i]);
	if (r == 0)
		r = xsim_wait_ping(guest[0], ADDR_2, 20);
	return r;
}

static int stack_up(const struct xbench_ns_pair **p)
{
	static struct xbench_ns_pair pair;

	xsim_use(XSIM_STACK);
	if (stack_state == 0) {
		int r = stack_setup();

		stack_state = r < 0 ? r : 1;
	}
	pair = (struct xbench_ns_pair){ .ns_srv = guest[1], .addr_srv = ADDR_2,
					.ns_cli = guest[0] };
	*p = &pair;
	return stack_state < 0 ? stack_state : 0;
}

int xbench_stack_probe(const struct xbench_opts *o, const struct xbench_case *c,
		       const char **why)
{
	static const char *const tools[] = { "ip", "iperf3", "ping", "ss" };
	char p[4096];

	if (geteuid() != 0) {
		*why = "needs root (namespaces, TAPs, a bridge)";
		return -EPERM;
	}
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!xbench_have(tools[i])) {
			*why = "iperf3, ping or iproute2 not installed";
			return -ENOENT;
		}
	if (xsim_prog("xnet", p, sizeof(p)) < 0 || xsim_prog("xnetback", p, sizeof(p)) < 0 ||
	    xsim_prog("xnetfront", p, sizeof(p)) < 0) {
		*why = "xnet programs not built (XNET_BIN)";
		return -ENOENT;
	}
	return 0;
}

int xbench_stack_tcp(const struct xbench_opts *o, const struct xbench_case *c, double *value)
{
	const struct xbench_ns_pair *p;
	int r = stack_up(&p);

	return r < 0 ? r : xbench_ns_tcp(o, p, value);
}

int xbench_stack_udp(const struct xbench_opts *o, const struct xbench_case *c, double *value)
{
	const struct xbench_ns_pair *p;
	int r = stack_up(&p);

	return r < 0 ? r : xbench_ns_udp(o, p, c->size, value);
}

int xbench_stack_ping(const struct xbench_opts *o, const struct xbench_case *c, double *value)
{
	const struct xbench_ns_pair *p;
	double pct = c->pct;
	int r = stack_up(&p);

	return r < 0 ? r : xbench_ns_ping(o, p, &pct, 1, value);
}
