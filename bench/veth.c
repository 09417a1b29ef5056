/*
 * veth.c — the kernel baseline: iperf3 (TCP, UDP small packets) and ping
 * over a plain veth pair between two network namespaces made for this run
 * (names carry our pid), created on first use and removed by the cleanup
 * registry at exit, on a signal, or when setup fails half-way.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"

#define ADDR_A "198.18.0.1"	/* RFC 2544 benchmarking range */
#define ADDR_B "198.18.0.2"
#define IPERF_PORT "5201"	/* inside our own namespace: no clash */
#define ETH_IP_UDP_HDR 42	/* Ethernet 14 + IPv4 20 + UDP 8 */

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

/* Bounded wait until the iperf3 server in A listens. */
static int wait_listen(void)
{
	double end = xbench_now() + 5.0;
	char *out = NULL;

	while (xbench_now() < end) {
		int r = xbench_cmd((char *[]){ "ip", "netns", "exec", ns_a, "ss", "-Hltn",
					   "sport = :" IPERF_PORT, NULL }, 3.0, &out);
		bool up = r == 0 && out && strstr(out, IPERF_PORT);

		free(out);
		out = NULL;
		if (up)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Run one iperf3 test with client ARGS (after -c ADDR); parse its JSON. */
static int iperf(const struct xbench_opts *o, char *const extra[],
		 struct xbench_json **out)
{
	char cpu_a[16], cpu_b[16], secs[16], err[128];
	char *argv[24], *text = NULL;
	int n = 0, r;
	pid_t srv;

	snprintf(cpu_a, sizeof(cpu_a), "%d", o->cpu[1]);
	snprintf(cpu_b, sizeof(cpu_b), "%d", o->cpu[0]);
	snprintf(secs, sizeof(secs), "%d", (int)fmax(1, round(o->duration_s)));
	srv = xbench_spawn((char *[]){ "ip", "netns", "exec", ns_a, "iperf3", "-s", "-1",
				       "-B", ADDR_A, "-p", IPERF_PORT, "-A", cpu_a, NULL },
			   NULL);
	if (srv < 0)
		return srv;
	r = wait_listen();
	if (r == 0) {
		char *const head[] = { "ip", "netns", "exec", ns_b, "iperf3", "-c", ADDR_A,
				       "-p", IPERF_PORT, "-A", cpu_b, "-t", secs, "-J" };

		for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
			argv[n++] = head[i];
		for (size_t i = 0; extra[i] && n < 23; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		r = xbench_cmd(argv, o->duration_s + 20.0, &text);
	}
	xbench_stop(srv, SIGTERM, 2.0);
	if (r != 0) {
		free(text);
		return r < 0 ? r : -EIO;
	}
	*out = xbench_json_parse(text, err, sizeof(err));
	free(text);
	return *out ? 0 : -EPROTO;
}

int xbench_veth_iperf_tcp(const struct xbench_opts *o, double *gbps)
{
	struct xbench_json *j = NULL;
	int r = veth_up();

	if (r == 0)
		r = iperf(o, (char *[]){ NULL }, &j);
	if (r < 0)
		return r;
	*gbps = xbench_json_num(xbench_json_path(j, "end.sum_received.bits_per_second")) / 1e9;
	xbench_json_free(j);
	return isfinite(*gbps) ? 0 : -EPROTO;
}

int xbench_veth_iperf_udp(const struct xbench_opts *o, size_t size, double *mpps)
{
	struct xbench_json *j = NULL;
	char len[24];
	const struct xbench_json *sum;
	int r = veth_up();

	/* SIZE is the Ethernet frame without FCS, as everywhere in the bench. */
	if (size < ETH_IP_UDP_HDR + 16 || size > 65535)
		return -EINVAL;
	snprintf(len, sizeof(len), "%zu", size - ETH_IP_UDP_HDR);
	if (r == 0)
		r = iperf(o, (char *[]){ "-u", "-b", "0", "-l", len, NULL }, &j);
	if (r < 0)
		return r;
	/* Received packets: sent minus what the server counted as lost. */
	sum = xbench_json_path(j, "end.sum");
	*mpps = (xbench_json_num(xbench_json_get(sum, "packets")) -
		 xbench_json_num(xbench_json_get(sum, "lost_packets"))) /
		xbench_json_num(xbench_json_get(sum, "seconds")) / 1e6;
	xbench_json_free(j);
	return isfinite(*mpps) && *mpps >= 0 ? 0 : -EPROTO;
}

/* Collect every "time=X ms" of ping's output, in microseconds. */
static size_t ping_times(const char *text, double *us, size_t max)
{
	size_t n = 0;

	for (const char *p = text; n < max && (p = strstr(p, "time=")); ) {
		char *end;
		double ms = strtod(p + 5, &end);

		if (end != p + 5 && ms >= 0)
			us[n++] = ms * 1000.0;
		p = end != p + 5 ? end : p + 5;
	}
	return n;
}

int xbench_veth_ping(const struct xbench_opts *o, const double pcts[], size_t npct,
		     double *us)
{
	int count = (int)fmin(2000, fmax(20, o->duration_s * 500));
	char cnt[16], *text = NULL;
	double *t;
	size_t n;
	int r = veth_up();

	if (r < 0)
		return r;
	snprintf(cnt, sizeof(cnt), "%d", count);
	r = xbench_cmd((char *[]){ "ip", "netns", "exec", ns_b, "ping", "-n", "-c", cnt,
				   "-i", "0.002", "-W", "1", ADDR_A, NULL },
		       count * 0.002 + 10.0, &text);
	if (r != 0) {
		free(text);
		return r < 0 ? r : -EIO;
	}
	t = malloc((size_t)count * sizeof(*t));
	n = t ? ping_times(text, t, (size_t)count) : 0;
	free(text);
	for (size_t i = 0; i < npct; i++)
		us[i] = xbench_percentile(t, n, pcts[i]);
	free(t);
	return n > 0 ? 0 : -EPROTO;
}
