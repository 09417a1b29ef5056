/*
 * nsperf.c — iperf3 and ping between two network namespaces, shared by the
 * veth baseline and xnet's full-stack figures so both are measured by the
 * very same commands: server pinned to cpu[1], client to cpu[0], same
 * length, same parsing of iperf3's JSON and ping's output.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"

#define IPERF_PORT "5201"	/* inside the server's own namespace: no clash */
#define ETH_IP_UDP_HDR 42	/* Ethernet 14 + IPv4 20 + UDP 8 */

/* Bounded wait until the iperf3 server in NS listens. */
static int wait_listen(const char *ns)
{
	double end = xbench_now() + 5.0;
	char *out = NULL;

	while (xbench_now() < end) {
		int r = xbench_cmd((char *[]){ "ip", "netns", "exec", (char *)ns, "ss", "-Hltn",
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

int xbench_ns_iperf(const struct xbench_opts *o, const struct xbench_ns_pair *p,
		    char *const extra[], struct xbench_json **out)
{
	char cpu_a[16], cpu_b[16], secs[16], err[128];
	char *argv[24], *text = NULL;
	int n = 0, r;
	pid_t srv;

	snprintf(cpu_a, sizeof(cpu_a), "%d", o->cpu[1]);
	snprintf(cpu_b, sizeof(cpu_b), "%d", o->cpu[0]);
	snprintf(secs, sizeof(secs), "%d", (int)fmax(1, round(o->duration_s)));
	srv = xbench_spawn((char *[]){ "ip", "netns", "exec", (char *)p->ns_srv, "iperf3",
				       "-s", "-1", "-B", (char *)p->addr_srv, "-p", IPERF_PORT,
				       "-A", cpu_a, NULL }, NULL);
	if (srv < 0)
		return srv;
	r = wait_listen(p->ns_srv);
	if (r == 0) {
		char *const head[] = { "ip", "netns", "exec", (char *)p->ns_cli, "iperf3", "-c",
				       (char *)p->addr_srv, "-p", IPERF_PORT, "-A", cpu_b,
				       "-t", secs, "-J" };

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

int xbench_ns_tcp(const struct xbench_opts *o, const struct xbench_ns_pair *p, double *gbps)
{
	struct xbench_json *j = NULL;
	int r = xbench_ns_iperf(o, p, (char *[]){ NULL }, &j);

	if (r < 0)
		return r;
	*gbps = xbench_json_num(xbench_json_path(j, "end.sum_received.bits_per_second")) / 1e9;
	xbench_json_free(j);
	return isfinite(*gbps) ? 0 : -EPROTO;
}

int xbench_ns_udp(const struct xbench_opts *o, const struct xbench_ns_pair *p, size_t size,
		  double *mpps)
{
	struct xbench_json *j = NULL;
	const struct xbench_json *sum;
	char len[24];
	int r;

	/* SIZE is the Ethernet frame without FCS, as everywhere in the bench. */
	if (size < ETH_IP_UDP_HDR + 16 || size > 65535)
		return -EINVAL;
	snprintf(len, sizeof(len), "%zu", size - ETH_IP_UDP_HDR);
	r = xbench_ns_iperf(o, p, (char *[]){ "-u", "-b", "0", "-l", len, NULL }, &j);
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

int xbench_ns_ping(const struct xbench_opts *o, const struct xbench_ns_pair *p,
		   const double pcts[], size_t npct, double *us)
{
	int count = (int)fmin(2000, fmax(20, o->duration_s * 500));
	char cnt[16], *text = NULL;
	double *t;
	size_t n;
	int r;

	snprintf(cnt, sizeof(cnt), "%d", count);
	r = xbench_cmd((char *[]){ "ip", "netns", "exec", (char *)p->ns_cli, "ping", "-n",
				   "-c", cnt, "-i", "0.002", "-W", "1", (char *)p->addr_srv,
				   NULL }, count * 0.002 + 10.0, &text);
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
