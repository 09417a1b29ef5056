/*
 * test_netfront_sim.c — xnetfront against the real xnetback on the
 * simulated hypervisor: two guests (namespaces, each with its xnetfront, as
 * `xnet domain create` starts it) on a bridge of their own. TCP through
 * iperf3 with GSO on both ends (offloads are xnetfront's default), the
 * control ring's static grants added and deleted with nothing refused, a
 * multicast group joined and left as the backend's filter sees it, and
 * kept across a restart of the backend.
 *
 * Needs the programs in $XNET_BIN (default build/bin under the cwd), iperf3
 * and root. Runs its own xnet-simd in a temporary XNET_SIM_DIR; names every
 * domain, vif and bridge after its pid; removes them all at the end.
 */
#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xen/io/xenbus.h>

#define WAIT_S 20

static char xnet[256], dir[64], g1[32], g2[32], br[32], v1[16], v2[16];
static bool up;
static pid_t g2_front;	/* G2's xnetfront, started by us with options */

/* Run a shell command (output to the run's log); its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024], full[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "(%s) >>%s/test.log 2>&1", cmd, dir);
	return system(full);
}

/* The first line a shell command prints, in OUT. */
static bool sh_out(char *out, size_t len, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	bool ok;

	if (!p)
		return false;
	ok = fgets(out, (int)len, p) != NULL;
	pclose(p);
	if (ok)
		out[strcspn(out, "\n")] = 0;
	return ok;
}

/* Retry CMD (bounded, WAIT_S) until it succeeds. */
static bool until(const char *cmd)
{
	for (int i = 0; i < WAIT_S * 10; i++) {
		if (sh("%s", cmd) == 0)
			return true;
		usleep(100000);
	}
	return false;
}

static int suite_init(void)
{
	const char *bin = getenv("XNET_BIN");
	char cwd[200];

	if (!bin || !*bin) {
		if (!getcwd(cwd, sizeof(cwd)))
			return -1;
		snprintf(xnet, sizeof(xnet), "%s/build/bin/xnet", cwd);
	} else {
		snprintf(xnet, sizeof(xnet), "%s/xnet", bin);
	}
	snprintf(dir, sizeof(dir), "/tmp/xnet-nfsim.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	setenv("XNET_SIM_DIR", dir, 1);
	snprintf(g1, sizeof(g1), "nfs1-%d", (int)getpid());
	snprintf(g2, sizeof(g2), "nfs2-%d", (int)getpid());
	snprintf(br, sizeof(br), "nfsbr%d", (int)getpid());
	snprintf(v1, sizeof(v1), "nfa%d", (int)getpid());
	snprintf(v2, sizeof(v2), "nfb%d", (int)getpid());
	if (sh("%s sim up", xnet) != 0)
		return -1;
	up = true;
	return 0;
}

static bool own_front_stop(void);

static int suite_clean(void)
{
	own_front_stop();
	sh("%s domain destroy %s", xnet, g1);
	sh("%s domain destroy %s", xnet, g2);
	if (CU_get_number_of_failures())	/* what the backend saw */
		system("grep -h 'control ring\\|counters' \"$XNET_SIM_DIR\"/xnetback.log >&2");
	if (up)
		sh("%s sim down", xnet);
	sh("ip link del %s", br);
	if (getenv("XNET_TEST_KEEP"))
		fprintf(stderr, "kept %s\n", dir);
	else
		sh("rm -rf %s", dir);
	return 0;
}

static bool front_stop(const char *name);

/* Replace the xnetfront `xnet domain create` started in NAME by one with
 * --multicast-control (off by default), before the vif exists. */
static bool own_front(const char *name)
{
	char cmd[400], id[32], dom[48], sim[96], path[300], log[120];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s domain list | awk '$1 == \"%s\" { print $2 }'",
		 xnet, name);
	if (!front_stop(name) || !sh_out(id, sizeof(id), cmd) || !id[0])
		return false;
	snprintf(dom, sizeof(dom), "XNET_DOMID=%s", id);
	snprintf(sim, sizeof(sim), "XNET_SIM_DIR=%s", dir);
	snprintf(path, sizeof(path), "%s", xnet);
	snprintf(strrchr(path, '/') + 1, sizeof(path) - (size_t)(strrchr(path, '/') + 1 - path),
		 "xnetfront");
	snprintf(log, sizeof(log), "%s/own-xnetfront.log", dir);
	g2_front = fork();
	if (g2_front == 0) {
		f = freopen(log, "a", stderr);
		(void)f;
		execlp("ip", "ip", "netns", "exec", name, "env", dom, sim, path,
		       "--foreground", "--multicast-control", (char *)NULL);
		_exit(127);
	}
	return g2_front > 0;
}

/* SIGTERM our own xnetfront, wait (bounded) for it; false if it was not
 * running or did not stop. */
static bool own_front_stop(void)
{
	int st;

	if (g2_front <= 0)
		return false;
	kill(g2_front, SIGTERM);
	for (int i = 0; i < WAIT_S * 10; i++) {
		if (waitpid(g2_front, &st, WNOHANG) == g2_front) {
			g2_front = 0;
			return true;
		}
		usleep(100000);
	}
	kill(g2_front, SIGKILL);
	waitpid(g2_front, &st, 0);
	g2_front = 0;
	return false;
}

/* A guest NAME with one vif (IFNAME on the host) and address .N; with
 * OWN, its xnetfront asks for multicast control. */
static bool guest_up(const char *name, const char *ifname, int n, bool own)
{
	char cmd[256];

	if (sh("%s domain create %s", xnet, name) != 0 || (own && !own_front(name)) ||
	    sh("%s vif attach %s mac=00:16:3e:00:f1:0%d,bridge=%s,vifname=%s",
	       xnet, name, n, br, ifname) != 0)
		return false;
	snprintf(cmd, sizeof(cmd), "ip netns exec %s ip link show eth0", name);
	if (!until(cmd))
		return false;
	return sh("ip netns exec %s ip addr add 198.18.0.%d/24 dev eth0", name, n) == 0;
}

/* A counter out of `xnet stats VIF` text: "  tx (guest to host): N packets,
 * M bytes, K GSO" → K for which "tx" or "rx". */
static long long gso_count(const char *vif, const char *which)
{
	char cmd[600], out[256];
	long long k = -1;

	snprintf(cmd, sizeof(cmd), "%s stats %s | grep '^  %s ' | sed 's/.* \\([0-9]*\\) GSO.*/\\1/'",
		 xnet, vif, which);
	if (sh_out(out, sizeof(out), cmd))
		k = atoll(out);
	return k;
}

static int cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* The queues of VIF as `xnet stats` reports them ("..., N queue(s)"). */
static int queues(const char *vif)
{
	char cmd[400], out[32];

	snprintf(cmd, sizeof(cmd), "%s stats %s | sed -n 's/.* \\([0-9]*\\) queue(s).*/\\1/p'",
		 xnet, vif);
	return sh_out(out, sizeof(out), cmd) ? atoi(out) : -1;
}

/* Bytes moved by an iperf3 run from G1 to G2 (what the server received). */
static long long iperf_bytes(const char *size)
{
	char cmd[600], out[64];

	if (sh("ip netns exec %s iperf3 -s -1 -D -B 198.18.0.2", g2) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "ip netns exec %s ss -Hltn 'sport = :5201' | grep -q 5201", g2);
	if (!until(cmd))
		return -1;
	snprintf(cmd, sizeof(cmd), "ip netns exec %s iperf3 -c 198.18.0.2 -n %s -J | "
		 "awk '/\"sum_received\"/ { f = 1 } f && /\"bytes\"/ { gsub(/[^0-9]/, \"\"); print; exit }'",
		 g1, size);
	return sh_out(out, sizeof(out), cmd) ? atoll(out) : -1;
}

/* Lines of the backend's log with STR. */
static int log_count(const char *str)
{
	char cmd[400], out[32];

	snprintf(cmd, sizeof(cmd), "grep -c '%s' %s/xnetback.log", str, dir);
	return sh_out(out, sizeof(out), cmd) ? atoi(out) : -1;
}

/* SIGTERM the xnetfront of guest NAME; wait (bounded) until it is gone. */
static bool front_stop(const char *name)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "kill -TERM $(cat %s/xnetfront-%s.pid)", dir, name);
	if (sh("%s", cmd) != 0)
		return false;
	snprintf(cmd, sizeof(cmd), "! kill -0 $(cat %s/xnetfront-%s.pid)", dir, name);
	return until(cmd);
}

static bool guests_ready;

/* Both guests on the bridge, pinging each other (once per run). */
static bool guests(void)
{
	char cmd[256];

	if (guests_ready)
		return true;
	if (sh("ip link add %s type bridge && ip link set %s up", br, br) != 0 ||
	    !guest_up(g1, v1, 1, false) || !guest_up(g2, v2, 2, true))
		return false;
	snprintf(cmd, sizeof(cmd), "ip netns exec %s ping -c1 -W1 198.18.0.2", g1);
	guests_ready = until(cmd);
	return guests_ready;
}

/* The backend's count of frames for VIF its multicast filter dropped. */
static long long mcast_filtered(const char *vif)
{
	char cmd[400], out[64];

	snprintf(cmd, sizeof(cmd), "%s stats --json %s | grep -o "
		 "'\"drop_rx_mcast_filtered\": *[0-9]*' | head -1 | grep -o '[0-9]*$' "
		 "|| echo 0", xnet, vif);
	return sh_out(out, sizeof(out), cmd) ? atoll(out) : -1;
}

/* G1 pings 239.1.2.3 once; true if a member answered. */
static bool mcast_ping(void)
{
	return sh("ip netns exec %s ping -c1 -W1 239.1.2.3", g1) == 0;
}

/* xnetfront --multicast-control (G2's) mirrors the guest's multicast
 * groups into the backend's filter: before G2 joins 239.1.2.3 the backend drops G1's pings to it
 * (counted), once G2 joins they reach G2 (it answers), once it leaves
 * they are dropped again. */
static void sim_multicast_join_leave(void)
{
	long long before;
	bool joined = false, dropped = false;

	CU_ASSERT_FATAL(guests());
	CU_ASSERT_FATAL(sh("ip netns exec %s ip route add 224.0.0.0/4 dev eth0", g1) == 0);
	CU_ASSERT_FATAL(sh("ip netns exec %s sysctl -qw "
			   "net.ipv4.icmp_echo_ignore_broadcasts=0", g2) == 0);
	before = mcast_filtered(v2);
	CU_ASSERT_FALSE(mcast_ping());
	CU_ASSERT(mcast_filtered(v2) > before);
	CU_ASSERT_FATAL(sh("ip netns exec %s ip addr add 239.1.2.3/32 dev eth0 "
			   "autojoin", g2) == 0);
	for (int i = 0; i < 10 && !joined; i++)
		joined = mcast_ping();
	CU_ASSERT_TRUE(joined);
	CU_ASSERT_FATAL(sh("ip netns exec %s ip addr del 239.1.2.3/32 dev eth0", g2) == 0);
	for (int i = 0; i < 10 && !dropped; i++) {
		before = mcast_filtered(v2);
		mcast_ping();
		dropped = mcast_filtered(v2) > before;
		if (!dropped)
			usleep(300000);
	}
	CU_ASSERT_TRUE(dropped);
}

/* Guest NAME's vif 0 is in XenbusState STATE (its frontend's key). */
static bool fe_state_until(const char *name, int state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "XENSTORED_PATH=%s/xenstored.sock xenstore-read "
		 "/local/domain/$(%s domain list | awk '$1 == \"%s\" { print $2 }')"
		 "/device/vif/0/state | grep -qx %d", dir, xnet, name, state);
	return until(cmd);
}

/* xnetback is killed while G2 is a member of 239.1.2.3 and started again:
 * the new backend's filter starts empty, so xnetfront must give it G2's
 * groups again (it does not know which it still has) — G1's pings to the
 * group are answered again once the vifs are Connected. */
static void sim_multicast_after_reconnect(void)
{
	bool joined = false;

	CU_ASSERT_FATAL(guests());
	CU_ASSERT_FATAL(sh("ip netns exec %s ip addr add 239.1.2.3/32 dev eth0 "
			   "autojoin", g2) == 0);
	for (int i = 0; i < 10 && !joined; i++)
		joined = mcast_ping();
	CU_ASSERT_FATAL(joined);
	CU_ASSERT_FATAL(sh("kill -9 $(%s sim status | awk '$1 == \"xnetback\" && "
			   "$2 == \"running\" { print $4 }')", xnet) == 0);
	CU_ASSERT_TRUE(fe_state_until(g1, XenbusStateClosed));
	CU_ASSERT_TRUE(fe_state_until(g2, XenbusStateClosed));
	CU_ASSERT_FATAL(sh("%s sim up", xnet) == 0);
	/* The new backend's TAPs are new links: put them on the bridge. */
	for (int i = 0; i < 2; i++) {
		const char *v = i ? v2 : v1;
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "ip link show %s", v);
		CU_ASSERT_TRUE(until(cmd));
		sh("ip link set %s master %s && ip link set %s up", v, br, v);
	}
	CU_ASSERT_TRUE(fe_state_until(g1, XenbusStateConnected));
	CU_ASSERT_TRUE(fe_state_until(g2, XenbusStateConnected));
	joined = false;
	for (int i = 0; i < 10 && !joined; i++)
		joined = mcast_ping();
	CU_ASSERT_TRUE(joined);
	sh("ip netns exec %s ip addr del 239.1.2.3/32 dev eth0", g2);
}

/* The key and table xnetfront sets (netfront/ctrl.c): Microsoft's RSS
 * verification key, entry i naming queue i % queues. */
static const uint8_t rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* Toeplitz over IN: for each input bit set, XOR in the 32 key bits
 * starting at that bit. */
static uint32_t toeplitz(const uint8_t *in, size_t len)
{
	uint32_t h = 0;

	for (size_t i = 0; i < len * 8; i++) {
		uint32_t w = 0;

		if (!(in[i / 8] & (0x80 >> (i % 8))))
			continue;
		for (size_t b = 0; b < 32; b++)
			if (rss_key[(i + b) / 8] & (0x80 >> ((i + b) % 8)))
				w |= 1u << (31 - b);
		h ^= w;
	}
	return h;
}

/* The queue a TCP segment 198.18.0.1:SPORT → 198.18.0.2:9 goes to. */
static unsigned tcp_queue(unsigned sport, unsigned nq)
{
	uint8_t in[12] = { 198, 18, 0, 1, 198, 18, 0, 2, (uint8_t)(sport >> 8),
			   (uint8_t)sport, 0, 9 };

	return (toeplitz(in, sizeof(in)) % 128) % nq;
}

/* Frames the backend put on queue Q of VIF. */
static long long queue_rx(const char *vif, unsigned q)
{
	char cmd[400], out[32];

	snprintf(cmd, sizeof(cmd), "%s stats %s | sed -n 's/^  queue %u: tx [0-9]* "
		 "pkts [0-9]* B, rx \\([0-9]*\\) pkts.*/\\1/p'", xnet, vif, q);
	return sh_out(out, sizeof(out), cmd) ? atoll(out) : -1;
}

/* With more than one queue, xnetfront sets Toeplitz over the control
 * ring and the backend steers each flow from the host to the queue the
 * hash names: 20 SYNs from a source port the hash gives queue Q land on
 * G2's queue Q (the others see at most stray frames). */
static void sim_flows_follow_the_hash(void)
{
	int nq;

	CU_ASSERT_FATAL(guests());
	nq = queues(v2);
	if (nq < 2) {
		fprintf(stderr, "\n  one queue (one CPU): nothing to steer\n");
		return;
	}
	for (unsigned want = 0; want < 2; want++) {
		long long before[2], after[2];
		unsigned port = 40000;

		while (tcp_queue(port, (unsigned)nq) != want)
			port++;
		for (unsigned q = 0; q < 2; q++)
			before[q] = queue_rx(v2, q);
		CU_ASSERT_EQUAL(sh("ip netns exec %s perl -MIO::Socket::INET -e "
				   "'for (1..20) { IO::Socket::INET->new(PeerAddr => \"198.18.0.2\", "
				   "PeerPort => 9, LocalPort => %u, ReuseAddr => 1, Proto => \"tcp\", "
				   "Timeout => 1) }'", g1, port), 0);
		for (unsigned q = 0; q < 2; q++)
			after[q] = queue_rx(v2, q);
		fprintf(stderr, "\n  port %u (queue %u): queue 0 +%lld, queue 1 +%lld",
			port, want, after[0] - before[0], after[1] - before[1]);
		CU_ASSERT(after[want] - before[want] >= 20);
		CU_ASSERT(after[!want] - before[!want] < 20);
	}
}

/* TCP both ways through the real backend, with GSO frames each way; the
 * vifs' static grants: added (GET_GREF_MAPPING_SIZE, ADD) and deleted
 * (DEL) with no request refused, as the backend logs at disconnect. */
static void sim_iperf_gso_and_static_grants(void)
{
	char cmd[256], want[80];
	long long bytes;
	int nq;

	CU_ASSERT_FATAL(guests());
	bytes = iperf_bytes("200M");
	fprintf(stderr, "\n  iperf3: %lld bytes\n", bytes);
	CU_ASSERT(bytes >= 200000000);
	/* The sender's super-frames went to the backend as GSO; the
	 * receiver got them as GSO. */
	CU_ASSERT(gso_count(v1, "tx") > 0);
	CU_ASSERT(gso_count(v2, "rx") > 0);
	/* xnetfront stopping (SIGTERM) deletes its static grants while the
	 * backend is still connected. (`xnet domain destroy` detaches the
	 * vifs first: the backend then drops them at disconnect.) The
	 * requests: GET_GREF_MAPPING_SIZE, an ADD and a DEL per queue, and
	 * with more than one queue the five that set up Toeplitz. */
	/* Both ends default to the CPUs online (at most 8). */
	nq = queues(v1);
	CU_ASSERT_EQUAL(nq, cpus());
	CU_ASSERT_TRUE(front_stop(g1));
	CU_ASSERT_TRUE(own_front_stop());
	snprintf(cmd, sizeof(cmd), "test $(grep -c 'control ring: ' %s/xnetback.log) -ge 2", dir);
	CU_ASSERT_TRUE(until(cmd));
	snprintf(want, sizeof(want), "control ring: %d requests (0 refused)",
		 1 + 2 * nq + (nq > 1 ? 5 : 0));
	CU_ASSERT_EQUAL(log_count(want), 2);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("netfront_sim", suite_init, suite_clean);
	CU_add_test(s, "sim_multicast_join_leave", sim_multicast_join_leave);
	CU_add_test(s, "sim_flows_follow_the_hash", sim_flows_follow_the_hash);
	CU_add_test(s, "sim_multicast_after_reconnect", sim_multicast_after_reconnect);
	/* Last: it stops the guests' xnetfronts. */
	CU_add_test(s, "sim_iperf_gso_and_static_grants", sim_iperf_gso_and_static_grants);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
			 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
