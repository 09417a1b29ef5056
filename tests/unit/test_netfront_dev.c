/*
 * test_netfront_dev.c — libxnetfront's public API against the simulated
 * hypervisor: a child process is the guest (XNET_DOMID) using xnf_open /
 * send / recv / close; this process is the toolstack and a backend driven by
 * hand (grant maps, interdomain channels, ring.h macros). Checks the keys
 * the frontend publishes, frames both ways, a hostile response closing the
 * device with an error node, the backend closing, and a clean close.
 *
 * Needs xnet-simd from $XNET_BIN (default build/bin under the cwd); runs it
 * in its own temporary XNET_SIM_DIR and stops it at the end.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netfront/queue.h"	/* before other Xen headers: interface version */
#include "netfront/xnetfront.h"
#include <xen/io/xenbus.h>
#include "xnx_log.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define TIMEOUT_MS 5000
#define PAGE XNF_PAGE_SIZE

static char sim_dir[64];
static uint32_t guest;			/* the guest's domid */
static struct xs_handle *xs;		/* dom0: toolstack and backend */
static char fe[128], be[128];		/* the vif's two directories */
static unsigned next_devid;
/* What a daemon test set up, so that a failed assertion that ends the test
 * early still has it removed at suite cleanup. */
static char netns[32];
static pid_t daemon_pid;

/* Remove the daemon test's namespace and daemon, if still there. */
static void daemon_cleanup(void)
{
	char cmd[96];
	int st;

	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, &st, 0);
		daemon_pid = 0;
	}
	if (netns[0]) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s", netns);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot delete namespace %s\n", netns);
		netns[0] = 0;
	}
}

/* ---- the simulated host ----------------------------------------------------- */

static int run_simd(void)
{
	const char *bin = getenv("XNET_BIN");
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "'%s/xnet-simd' --dir '%s'",
		 bin && *bin ? bin : "build/bin", sim_dir);
	/* xnet-simd returns once its sockets accept connections. */
	return system(cmd) == 0 ? 0 : -1;
}

static void stop_simd(void)
{
	char path[128];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/xnet-simd.pid", sim_dir);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		/* Bounded wait for it to go; it is not our child to reap. */
		for (int i = 0; i < 300 && kill(pid, 0) == 0; i++)
			usleep(10000);
		if (kill(pid, 0) == 0) {
			fprintf(stderr, "xnet-simd ignored SIGTERM; killing it\n");
			kill(pid, SIGKILL);
		}
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", sim_dir);
	if (system(path) != 0)
		fprintf(stderr, "cannot remove %s\n", sim_dir);
}

static int suite_init(void)
{
	char name[32];

	snprintf(sim_dir, sizeof(sim_dir), "/tmp/xnet-nfdev-XXXXXX");
	if (!mkdtemp(sim_dir))
		return -1;
	setenv("XNET_SIM_DIR", sim_dir, 1);
	setenv("XNET_PLATFORM", "sim", 1);
	unsetenv("XNET_DOMID");
	unsetenv("XENSTORED_PATH");
	if (run_simd() < 0) {
		fprintf(stderr, "cannot start xnet-simd (XNET_BIN?)\n");
		return -1;
	}
	snprintf(name, sizeof(name), "nfdev%d", (int)getpid());
	if (xnx_sim_domain_create(name, 0, &guest) < 0)
		return -1;
	xs = xnx_xs_open();
	return xs ? 0 : -1;
}

static int suite_clean(void)
{
	daemon_cleanup();
	if (xs)
		xs_close(xs);
	stop_simd();
	return 0;
}

/* ---- toolstack -------------------------------------------------------------- */

static void w(const char *dir, const char *key, const char *val)
{
	CU_ASSERT_EQUAL(xnx_xs_printf(xs, XBT_NULL, dir, key, "%s", val), 0);
}

static char *r(const char *dir, const char *key)
{
	return xnx_xs_read(xs, XBT_NULL, dir, key);
}

/* Does DIR/KEY hold exactly WANT? */
static bool is(const char *dir, const char *key, const char *want)
{
	char *v = r(dir, key);
	bool ok = v && strcmp(v, want) == 0;

	if (!ok)
		fprintf(stderr, "\n  %s/%s = '%s', want '%s'\n", dir, key,
			v ? v : "(missing)", want);
	free(v);
	return ok;
}

static void perms(const char *path, unsigned owner, unsigned reader)
{
	struct xs_permissions p[2] = {
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};

	CU_ASSERT_TRUE(xs_set_permissions(xs, XBT_NULL, path, p, 2));
}

/* What a toolstack writes for a new vif, backend already in InitWait with
 * the given features (as Linux netback after probe). */
static unsigned add_vif(bool split)
{
	unsigned devid = next_devid++;
	char v[64];

	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%u", guest, devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%u", guest, devid);
	/* Directories first, with their permissions, so the keys written
	 * below inherit them (as libxl does). */
	w(fe, NULL, "");
	perms(fe, guest, 0);
	w(be, NULL, "");
	perms(be, 0, guest);
	w(fe, "backend", be);
	w(fe, "backend-id", "0");
	w(fe, "mac", "00:16:3e:00:00:01");
	snprintf(v, sizeof(v), "%u", devid);
	w(fe, "handle", v);
	w(fe, "state", "1");
	w(be, "frontend", fe);
	snprintf(v, sizeof(v), "%u", guest);
	w(be, "frontend-id", v);
	w(be, "online", "1");
	w(be, "feature-rx-copy", "1");
	w(be, "feature-rx-flip", "0");
	w(be, "feature-sg", "1");
	w(be, "feature-split-event-channels", split ? "1" : "0");
	w(be, "state", "2");
	return devid;
}

/* Wait (bounded, on a watch) until DIR/state is one of the states in MASK. */
static bool wait_state(const char *dir, unsigned mask)
{
	char path[160];
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/state", dir);
	xs_watch(xs, path, "t");
	while (xnx_now_ns() < end) {
		unsigned long s;
		struct pollfd p = { .fd = xs_fileno(xs), .events = POLLIN };

		if (xnx_xs_read_uint(xs, XBT_NULL, dir, "state", 0, 8, &s) == 0 &&
		    (mask & (1u << s))) {
			ok = true;
			break;
		}
		poll(&p, 1, 100);
		free(xs_check_watch(xs));
	}
	xs_unwatch(xs, path, "t");
	for (char **ev; (ev = xs_check_watch(xs)) != NULL;)
		free(ev);
	return ok;
}

#define S(x) (1u << XenbusState##x)

/* ---- the hand-driven backend ------------------------------------------------- */

struct back {
	xnx_gnttab *gt;
	xnx_evtchn *ev;
	void *txs, *rxs;
	struct netif_tx_back_ring tx;
	struct netif_rx_back_ring rx;
	int port_tx, port_rx;
};

static int read_key(const char *key, unsigned long *out)
{
	return xnx_xs_read_uint(xs, XBT_NULL, fe, key, 0, 0xffffffffu, out);
}

/* The frontend under test asks for every offload (xnetfront's default). */
static bool expect_offload;
/* The backend under test offers feature-ctrl-ring. */
static bool offer_ctrl;

/* Frontend published (Initialised, then at once Connected, as Linux
 * netfront does): check its keys, map, bind, go Connected. */
static bool back_connect(struct back *b, bool split)
{
	unsigned long txref, rxref, p1, p2 = 0;

	memset(b, 0, sizeof(*b));
	if (!wait_state(fe, S(Initialised) | S(Connected)))
		return false;
	CU_ASSERT_TRUE(is(fe, "request-rx-copy", "1"));
	CU_ASSERT_TRUE(is(fe, "feature-rx-notify", "1"));
	CU_ASSERT_TRUE(is(fe, "feature-sg", "1"));
	if (expect_offload) {
		CU_ASSERT_TRUE(is(fe, "feature-gso-tcpv4", "1"));
		CU_ASSERT_TRUE(is(fe, "feature-gso-tcpv6", "1"));
		CU_ASSERT_TRUE(is(fe, "feature-ipv6-csum-offload", "1"));
		CU_ASSERT_FALSE(is(fe, "feature-no-csum-offload", "1"));
	} else {
		CU_ASSERT_TRUE(is(fe, "feature-no-csum-offload", "1"));
	}
	if (!offer_ctrl) {
		unsigned long v;
		CU_ASSERT_EQUAL(read_key("ctrl-ring-ref", &v), -ENOENT);
		CU_ASSERT_EQUAL(read_key("event-channel-ctrl", &v), -ENOENT);
	}
	if (read_key("tx-ring-ref", &txref) || read_key("rx-ring-ref", &rxref))
		return false;
	if (split) {
		CU_ASSERT_EQUAL(read_key("event-channel", &p1), -ENOENT);
		if (read_key("event-channel-tx", &p1) || read_key("event-channel-rx", &p2))
			return false;
	} else if (read_key("event-channel", &p1)) {
		return false;
	}
	b->gt = xnx_gnttab_open();
	b->ev = xnx_evtchn_open();
	if (!b->gt || !b->ev)
		return false;
	b->txs = xnx_gnttab_map_grant_ref(b->gt, guest, (uint32_t)txref,
					  PROT_READ | PROT_WRITE);
	b->rxs = xnx_gnttab_map_grant_ref(b->gt, guest, (uint32_t)rxref,
					  PROT_READ | PROT_WRITE);
	if (!b->txs || !b->rxs)
		return false;
	BACK_RING_INIT(&b->tx, (struct netif_tx_sring *)b->txs, PAGE);
	BACK_RING_INIT(&b->rx, (struct netif_rx_sring *)b->rxs, PAGE);
	b->port_tx = xnx_evtchn_bind_interdomain(b->ev, guest, (evtchn_port_t)p1);
	b->port_rx = split ? xnx_evtchn_bind_interdomain(b->ev, guest,
							 (evtchn_port_t)p2)
			   : b->port_tx;
	if (b->port_tx < 0 || b->port_rx < 0)
		return false;
	w(be, "state", "4");
	/* A guest may be past Connected already, closing again. */
	return wait_state(fe, S(Connected) | S(Closing) | S(Closed));
}

/* Backend's side of the close: unmap, unbind, Closing; Closed once the
 * frontend is. */
static void back_close(struct back *b, bool wait_fe_closing)
{
	if (wait_fe_closing)
		CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
	if (b->txs)
		xnx_gnttab_unmap(b->gt, b->txs, 1);
	if (b->rxs)
		xnx_gnttab_unmap(b->gt, b->rxs, 1);
	if (b->ev && b->port_rx >= 0 && b->port_rx != b->port_tx)
		xnx_evtchn_unbind(b->ev, (evtchn_port_t)b->port_rx);
	if (b->ev && b->port_tx > 0)
		xnx_evtchn_unbind(b->ev, (evtchn_port_t)b->port_tx);
	w(be, "state", "5");
	CU_ASSERT_TRUE(wait_state(fe, S(Closed)));
	w(be, "state", "6");
	if (b->ev)
		xnx_evtchn_close(b->ev);
	if (b->gt)
		xnx_gnttab_close(b->gt);
}

/* Wait (bounded) until the frontend has published at least N tx requests. */
static bool back_wait_tx(struct back *b, RING_IDX n)
{
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	while (__atomic_load_n(&b->tx.sring->req_prod, __ATOMIC_ACQUIRE) -
	       b->tx.req_cons < n) {
		struct pollfd p = { .fd = xnx_evtchn_fd(b->ev), .events = POLLIN };
		xenevtchn_port_or_error_t port;

		if (xnx_now_ns() >= end)
			return false;
		poll(&p, 1, 50);
		while ((port = xnx_evtchn_pending(b->ev)) >= 0)
			xnx_evtchn_unmask(b->ev, (evtchn_port_t)port);
	}
	return true;
}

static void back_push_tx(struct back *b)
{
	int notify;

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->tx, notify);
	if (notify)
		xnx_evtchn_notify(b->ev, (evtchn_port_t)b->port_tx);
}

/* Take one single-slot tx frame, compare its bytes, answer with ID/STATUS. */
static void back_take_tx(struct back *b, const uint8_t *want, size_t len,
			 int id_override, int16_t status)
{
	struct netif_tx_request req;
	struct netif_tx_response rsp;
	uint8_t *page;

	RING_COPY_REQUEST(&b->tx, b->tx.req_cons, &req);
	b->tx.req_cons++;
	CU_ASSERT_EQUAL(req.size, len);
	CU_ASSERT_EQUAL(req.flags, 0);
	page = xnx_gnttab_map_grant_ref(b->gt, guest, req.gref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL(page);
	if (page) {
		CU_ASSERT_EQUAL(memcmp(page + req.offset, want, len), 0);
		xnx_gnttab_unmap(b->gt, page, 1);
	}
	/* A bounce page is granted read-only: a writable map is refused. */
	page = xnx_gnttab_map_grant_ref(b->gt, guest, req.gref,
					PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NULL(page);
	if (page)
		xnx_gnttab_unmap(b->gt, page, 1);
	rsp = (struct netif_tx_response){
		.id = id_override >= 0 ? (uint16_t)id_override : req.id,
		.status = status,
	};
	*RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt) = rsp;
	b->tx.rsp_prod_pvt++;
}

/* Put one frame into the next posted rx buffer. */
static void back_give_rx(struct back *b, const uint8_t *data, size_t len)
{
	struct netif_rx_request req;
	struct netif_rx_response rsp;
	uint8_t *page;

	CU_ASSERT_FATAL(b->rx.sring->req_prod != b->rx.req_cons);
	RING_COPY_REQUEST(&b->rx, b->rx.req_cons, &req);
	b->rx.req_cons++;
	page = xnx_gnttab_map_grant_ref(b->gt, guest, req.gref,
					PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(page);
	memcpy(page, data, len);
	xnx_gnttab_unmap(b->gt, page, 1);
	rsp = (struct netif_rx_response){ .id = req.id, .status = (int16_t)len };
	*RING_GET_RESPONSE(&b->rx, b->rx.rsp_prod_pvt) = rsp;
	b->rx.rsp_prod_pvt++;
}

static void back_push_rx(struct back *b)
{
	int notify;

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->rx, notify);
	if (notify)
		xnx_evtchn_notify(b->ev, (evtchn_port_t)b->port_rx);
}

/* The handshake failed: stop the guest, drop what was set up. */
static void back_abort(struct back *b, pid_t pid)
{
	int st;

	CU_FAIL("handshake with the guest failed");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (b->gt && b->txs)
		xnx_gnttab_unmap(b->gt, b->txs, 1);
	if (b->gt && b->rxs)
		xnx_gnttab_unmap(b->gt, b->rxs, 1);
	if (b->ev)
		xnx_evtchn_close(b->ev);
	if (b->gt)
		xnx_gnttab_close(b->gt);
}

/* ---- the guest (child process) --------------------------------------------- */

static void frame(uint8_t *b, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed ^ (i * 13));
}

#define FAIL(...) do { fprintf(stderr, "\n  guest: " __VA_ARGS__); \
		       fprintf(stderr, "\n"); _exit(1); } while (0)

/* Open with CFG (NULL: the defaults) and wait until connected. */
/* From here on this process acts as the guest domain. */
static void as_guest(void)
{
	char id[16];

	snprintf(id, sizeof(id), "%u", guest);
	setenv("XNET_DOMID", id, 1);
	unsetenv("XENSTORED_PATH");
}

static struct xnf_dev *guest_open_config(unsigned devid, const struct xnf_config *cfg)
{
	struct xnf_dev *dev;

	as_guest();
	if (getenv("XNET_TEST_DEBUG"))
		xnx_log_set_level(XNX_LOG_DEBUG);
	dev = xnf_open_config(devid, cfg);
	if (!dev)
		FAIL("xnf_open: %s", strerror(errno));
	if (xnf_wait_connected(dev, TIMEOUT_MS) < 0)
		FAIL("not connected: %s (%s)", strerror(errno), xnf_broken_reason(dev));
	return dev;
}

static struct xnf_dev *guest_open(unsigned devid)
{
	return guest_open_config(devid, NULL);
}

/* The polling the guests of dev_traffic_poll* use: their config's
 * (XNF_CFG_POLL_US) when poll_cfg >= 0, else XNETFRONT_POLL_US (set by the
 * test) or the default. */
static int poll_cfg = -1;

/* After the frames moved, an xnf_wait polls the rings (counted) if the
 * device polls at all; the next one, after nothing moved, never does.
 * Whatever the backend did meanwhile: the count says, not the clock. */
static void guest_check_polls(struct xnf_dev *dev)
{
	struct xnf_stats st;
	uint64_t want = xnf_poll_us(dev) ? 1 : 0;

	if (xnf_wait(dev, 0) < 0)
		FAIL("xnf_wait: %s", strerror(errno));
	xnf_get_stats(dev, &st);
	if (st.polls != want || st.poll_hits > st.polls)
		FAIL("poll_us %u: %llu polls (%llu hits) after a send, not %llu",
		     xnf_poll_us(dev), (unsigned long long)st.polls,
		     (unsigned long long)st.poll_hits, (unsigned long long)want);
	xnf_wait(dev, 0);
	xnf_get_stats(dev, &st);
	if (st.polls != want)
		FAIL("polled again after a wait that moved nothing");
}

/* Send two frames, receive two, close. */
static void guest_traffic(unsigned devid)
{
	struct xnf_config cfg = { .flags = XNF_CFG_POLL_US,
				  .poll_us = poll_cfg < 0 ? 0 : (unsigned)poll_cfg };
	struct xnf_dev *dev = guest_open_config(devid, poll_cfg < 0 ? NULL : &cfg);
	uint8_t a[60], b[1514], in[2][2048];
	struct xnf_frame out[2] = { { .data = a, .len = 60 }, { .data = b, .len = 1514 } };
	struct xnf_frame got[2] = { { .data = in[0], .cap = 2048 },
				    { .data = in[1], .cap = 2048 } };
	int n = 0;

	frame(a, sizeof(a), 1);
	frame(b, sizeof(b), 2);
	if (xnf_send_burst(dev, out, 2) != 2)
		FAIL("send_burst did not take 2 frames");
	guest_check_polls(dev);
	for (uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;
	     n < 2 && xnx_now_ns() < end;) {
		int k = xnf_recv_burst(dev, &got[n], 2 - (unsigned)n);
		if (k < 0)
			FAIL("recv_burst: %s", strerror(errno));
		n += k;
		if (n < 2)
			xnf_wait(dev, 100);
	}
	if (n != 2 || got[0].len != 1514 || got[1].len != 60 ||
	    memcmp(in[0], b, 1514) || memcmp(in[1], a, 60))
		FAIL("received %d frames, not the two sent back", n);
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* Send one frame; the backend answers with a bad id: broken, closed. */
static void guest_hostile(unsigned devid)
{
	struct xnf_dev *dev = guest_open(devid);
	uint8_t a[60];
	struct xnf_frame out = { .data = a, .len = 60 };
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	frame(a, sizeof(a), 3);
	if (xnf_send_burst(dev, &out, 1) != 1)
		FAIL("send_burst did not take the frame");
	while (xnf_state(dev) == XNF_CONNECTED && xnx_now_ns() < end)
		xnf_wait(dev, 100);
	if (xnf_state(dev) != XNF_BROKEN ||
	    !strstr(xnf_broken_reason(dev), "id 300 out of range"))
		FAIL("state %d, reason '%s'", xnf_state(dev), xnf_broken_reason(dev));
	if (xnf_send_burst(dev, &out, 1) != -1 || errno != ENOTCONN)
		FAIL("a broken device still sends");
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* Wait for the backend to close us. */
/* Open without waiting for Connected: a watch event may bring the
 * backend's Connected and what it did next in one xnf_process. */
static struct xnf_dev *guest_open_nowait(unsigned devid)
{
	struct xnf_dev *dev;

	as_guest();
	dev = xnf_open(devid);
	if (!dev)
		FAIL("xnf_open: %s", strerror(errno));
	return dev;
}

static void guest_closed_by_backend(unsigned devid)
{
	struct xnf_dev *dev = guest_open_nowait(devid);
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	/* It may be closed before we even see Connected. */
	while ((xnf_state(dev) == XNF_CONNECTING || xnf_state(dev) == XNF_CONNECTED) &&
	       xnx_now_ns() < end)
		xnf_wait(dev, 100);
	if (xnf_state(dev) != XNF_CLOSED)
		FAIL("state %d after the backend closed", xnf_state(dev));
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

#define BULK 3000

static void put_seq(uint8_t *f, uint32_t seq)
{
	memset(f, 0xab, 14);
	memcpy(f + 14, &seq, 4);
}

static uint32_t get_seq(const uint8_t *f)
{
	uint32_t seq;

	memcpy(&seq, f + 14, 4);
	return seq;
}

/* BULK frames out, then BULK in, in bursts, sleeping only in xnf_wait:
 * the rings fill, notifications are suppressed and re-armed; one phase at a
 * time so each direction's kicks are needed on their own. */
static void guest_bulk(unsigned devid)
{
	struct xnf_dev *dev = guest_open(devid);
	static uint8_t out[16][128], in[16][2048];
	struct xnf_frame of[16], inf[16];
	uint32_t sent = 0, got = 0;
	unsigned timeouts = 0;
	uint64_t end = xnx_now_ns() + 4ull * TIMEOUT_MS * 1000000ull;

	for (int i = 0; i < 16; i++) {
		of[i] = (struct xnf_frame){ .data = out[i], .len = 128 };
		inf[i] = (struct xnf_frame){ .data = in[i], .cap = 2048 };
	}
	while (sent < BULK && xnx_now_ns() < end) {
		unsigned n = BULK - sent < 16 ? BULK - sent : 16;
		for (unsigned i = 0; i < n; i++)
			put_seq(out[i], sent + i);
		int k = xnf_send_burst(dev, of, n);
		if (k < 0)
			FAIL("send_burst: %s", strerror(errno));
		sent += (uint32_t)k;
		if (k == 0 && xnf_wait(dev, 1000) == 0)
			timeouts++;
	}
	while (got < BULK && xnx_now_ns() < end) {
		int r = xnf_recv_burst(dev, inf, 16);
		if (r < 0)
			FAIL("recv_burst: %s", strerror(errno));
		for (int i = 0; i < r; i++, got++)
			if (inf[i].len != 100 || get_seq(in[i]) != got)
				FAIL("rx frame %u: len %u seq %u", got, inf[i].len,
				     get_seq(in[i]));
		if (r == 0 && xnf_wait(dev, 1000) == 0)
			timeouts++;
	}
	if (sent != BULK || got != BULK)
		FAIL("sent %u, received %u of %u", sent, got, BULK);
	/* Each wait that ran out is a kick that never came. */
	if (timeouts > 0)
		FAIL("%u waits timed out: a notification was lost", timeouts);
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* The reason the next guest_expect_broken must find. */
static const char *expect_reason;

/* Open a vif whose backend wrote garbage: broken with a reason naming the
 * key, never connected, closed cleanly. */
static void guest_expect_broken(unsigned devid)
{
	char id[16];
	struct xnf_dev *dev;

	snprintf(id, sizeof(id), "%u", guest);
	setenv("XNET_DOMID", id, 1);
	unsetenv("XENSTORED_PATH");
	dev = xnf_open(devid);
	if (!dev)
		FAIL("xnf_open: %s", strerror(errno));
	if (xnf_wait_connected(dev, TIMEOUT_MS) == 0 || errno != ENOTCONN)
		FAIL("connected (or timed out) despite '%s'", expect_reason);
	if (xnf_state(dev) != XNF_BROKEN ||
	    !strstr(xnf_broken_reason(dev), expect_reason))
		FAIL("state %d, reason '%s', want '%s'", xnf_state(dev),
		     xnf_broken_reason(dev), expect_reason);
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* The backend unbinds its channel without a word in xenstore. */
static void guest_peer_vanishes(unsigned devid)
{
	char id[16];
	struct xnf_dev *dev;
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	snprintf(id, sizeof(id), "%u", guest);
	setenv("XNET_DOMID", id, 1);
	unsetenv("XENSTORED_PATH");
	dev = xnf_open(devid);
	if (!dev)
		FAIL("xnf_open: %s", strerror(errno));
	/* It may be gone before we even see Connected: either way, closed. */
	while ((xnf_state(dev) == XNF_CONNECTING || xnf_state(dev) == XNF_CONNECTED) &&
	       xnx_now_ns() < end)
		xnf_wait(dev, 100);
	if (xnf_state(dev) != XNF_CLOSED ||
	    !strstr(xnf_broken_reason(dev), "event channel"))
		FAIL("state %d, reason '%s'", xnf_state(dev), xnf_broken_reason(dev));
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* Ask for every offload; see what the backend takes. */
static void guest_offloads(unsigned devid)
{
	char id[16];
	struct xnf_config cfg = { .rx_offloads = XNF_OFFLOAD_GSO_TCPV4 |
						 XNF_OFFLOAD_GSO_TCPV6 };
	struct xnf_dev *dev;

	snprintf(id, sizeof(id), "%u", guest);
	setenv("XNET_DOMID", id, 1);
	unsetenv("XENSTORED_PATH");
	dev = xnf_open_config(devid, &cfg);
	if (!dev)
		FAIL("xnf_open_config: %s", strerror(errno));
	if (xnf_backend_offloads(dev) != 0)
		FAIL("offloads known before connecting");
	if (xnf_wait_connected(dev, TIMEOUT_MS) < 0)
		FAIL("not connected: %s", strerror(errno));
	if (xnf_backend_offloads(dev) != (XNF_OFFLOAD_CSUM | XNF_OFFLOAD_GSO_TCPV6))
		FAIL("backend offloads 0x%x", xnf_backend_offloads(dev));
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* Connect, close: one user of a vif after another. */
static void guest_open_close(unsigned devid)
{
	struct xnf_dev *dev = guest_open(devid);

	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* Connect, then stay until killed: a frontend that dies. */
static void guest_open_hang(unsigned devid)
{
	struct xnf_dev *dev = guest_open(devid);

	for (;;)
		xnf_wait(dev, 1000);
}

static pid_t spawn(void (*fn)(unsigned), unsigned devid)
{
	pid_t pid = fork();

	if (pid == 0)
		fn(devid);
	return pid;
}

/* Reap the guest (bounded); true if it exited 0. */
static bool guest_ok(pid_t pid)
{
	int st;

	for (int i = 0; i < TIMEOUT_MS / 10; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return false;
}

/* ---- tests -------------------------------------------------------------------- */

static void dev_traffic(bool split)
{
	unsigned devid = add_vif(split);
	pid_t pid = spawn(guest_traffic, devid);
	struct back b;
	uint8_t a[60], f2[1514];

	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, split)) {
		back_abort(&b, pid);
		return;
	}
	CU_ASSERT_TRUE(is(fe, "state", "4"));
	frame(a, sizeof(a), 1);
	frame(f2, sizeof(f2), 2);
	if (back_wait_tx(&b, 2)) {
		back_take_tx(&b, a, 60, -1, NETIF_RSP_OKAY);
		back_take_tx(&b, f2, 1514, -1, NETIF_RSP_OKAY);
		back_push_tx(&b);
	} else {
		CU_FAIL("no tx requests");
	}
	back_give_rx(&b, f2, 1514);
	back_give_rx(&b, a, 60);
	back_push_rx(&b);
	back_close(&b, true);
	CU_ASSERT_TRUE(guest_ok(pid));
}

static void dev_traffic_one_channel(void) { dev_traffic(false); }
static void dev_traffic_split_channels(void) { dev_traffic(true); }

/* The traffic test with polling set by the environment or the config:
 * guest_check_polls sees it used, or not at all. */
static void dev_traffic_poll(const char *env, int cfg)
{
	if (env)
		setenv("XNETFRONT_POLL_US", env, 1);
	poll_cfg = cfg;
	dev_traffic(false);
	poll_cfg = -1;
	unsetenv("XNETFRONT_POLL_US");
}

static void dev_traffic_poll_env(void) { dev_traffic_poll("1000", -1); }
static void dev_traffic_poll_env_off(void) { dev_traffic_poll("0", -1); }
static void dev_traffic_poll_default(void) { dev_traffic_poll(NULL, -1); }
/* the config wins over the environment */
static void dev_traffic_poll_cfg_off(void) { dev_traffic_poll("1000", 0); }

/* Open (not connect) vif DEVID as the guest with poll_cfg: print the poll
 * time; exit 100 if the open failed with EINVAL. */
static void guest_poll_setting(unsigned devid)
{
	struct xnf_dev *dev;

	as_guest();
	dev = xnf_open_config(devid, poll_cfg < 0 ? NULL :
			      &(struct xnf_config){ .flags = XNF_CFG_POLL_US,
						    .poll_us = (unsigned)poll_cfg });
	if (!dev)
		_exit(errno == EINVAL ? 100 : 101);
	printf("%u\n", xnf_poll_us(dev));
	fflush(stdout);
	xnf_close(dev);
	_exit(0);
}

/* What a guest opening with ENV and CFG got: *US the poll time, *LOG its
 * stderr; the child's exit status. */
static int poll_setting(const char *env, int cfg, unsigned *us, char *log, size_t len)
{
	char out[] = "/tmp/xnf-poll-out.XXXXXX", err[] = "/tmp/xnf-poll-err.XXXXXX";
	int ofd = mkstemp(out), efd = mkstemp(err), st = -1;
	unsigned devid = add_vif(false);
	pid_t pid;

	CU_ASSERT_FATAL(ofd >= 0 && efd >= 0);
	if (env)
		setenv("XNETFRONT_POLL_US", env, 1);
	poll_cfg = cfg;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		guest_poll_setting(devid);
	}
	poll_cfg = -1;
	unsetenv("XNETFRONT_POLL_US");
	if (pid > 0 && waitpid(pid, &st, 0) == pid)
		st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	ssize_t n = pread(efd, log, len - 1, 0);
	log[n > 0 ? n : 0] = '\0';
	char num[16] = "";
	n = pread(ofd, num, sizeof(num) - 1, 0);
	*us = n > 0 ? (unsigned)strtoul(num, NULL, 10) : ~0u;
	close(ofd);
	close(efd);
	unlink(out);
	unlink(err);
	return st;
}

static void dev_poll_setting(void)
{
	static const struct {
		const char *env;
		int cfg;
		int status;		/* 0 opened, 100 EINVAL */
		unsigned us;
		const char *log;	/* in its stderr, or NULL: nothing said */
	} cases[] = {
		{ NULL, -1, 0, XNF_POLL_US_DEFAULT, NULL },
		{ "37", -1, 0, 37, NULL },
		{ "0", -1, 0, 0, NULL },
		{ "1000", -1, 0, 1000, NULL },
		{ "1001", -1, 0, XNF_POLL_US_DEFAULT, "XNETFRONT_POLL_US=1001: not a number" },
		{ "20us", -1, 0, XNF_POLL_US_DEFAULT, "XNETFRONT_POLL_US=20us: not a number" },
		{ "-5", -1, 0, XNF_POLL_US_DEFAULT, "XNETFRONT_POLL_US=-5" },
		{ "banana", 0, 0, 0, NULL },	/* the config wins, env unread */
		{ NULL, 250, 0, 250, NULL },
		{ NULL, 1001, 100, 0, "poll_us 1001: more than 1000" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char log[4096];
		unsigned us;
		int st = poll_setting(cases[i].env, cases[i].cfg, &us, log, sizeof(log));

		CU_ASSERT_EQUAL(st, cases[i].status);
		if (cases[i].status == 0)
			CU_ASSERT_EQUAL(us, cases[i].us);
		if (cases[i].log) {
			CU_ASSERT_PTR_NOT_NULL(strstr(log, cases[i].log));
		} else {
			CU_ASSERT_PTR_NULL(strstr(log, "POLL_US"));
		}
		if (st != cases[i].status || (cases[i].status == 0 && us != cases[i].us))
			fprintf(stderr, "\n  case %zu (%s, %d): status %d, %u us, log: %s\n",
				i, cases[i].env ? cases[i].env : "-", cases[i].cfg, st, us, log);
	}
}

/* Backend half of the bulk test: answer tx, fill rx, sleep on the event
 * channel only after re-arming both rings. */
static void back_bulk(struct back *b)
{
	uint32_t tx_seen = 0, rx_sent = 0;
	unsigned timeouts = 0;
	uint64_t end = xnx_now_ns() + 4ull * TIMEOUT_MS * 1000000ull;
	uint8_t f[100];

	while ((tx_seen < BULK || rx_sent < BULK) && xnx_now_ns() < end) {
		bool progress = false;
		int more_tx, more_rx;

		while (RING_HAS_UNCONSUMED_REQUESTS(&b->tx)) {
			struct netif_tx_request req;
			RING_COPY_REQUEST(&b->tx, b->tx.req_cons, &req);
			b->tx.req_cons++;
			uint8_t *page = xnx_gnttab_map_grant_ref(b->gt, guest, req.gref,
								 PROT_READ);
			CU_ASSERT_PTR_NOT_NULL_FATAL(page);
			if (get_seq(page + req.offset) != tx_seen)
				CU_FAIL("tx frames out of order");
			xnx_gnttab_unmap(b->gt, page, 1);
			tx_seen++;
			*RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt) =
				(struct netif_tx_response){ .id = req.id };
			b->tx.rsp_prod_pvt++;
			progress = true;
		}
		if (progress)
			back_push_tx(b);
		bool gave = false;
		while (tx_seen == BULK && rx_sent < BULK &&
		       RING_HAS_UNCONSUMED_REQUESTS(&b->rx)) {
			put_seq(f, rx_sent++);
			back_give_rx(b, f, sizeof(f));
			gave = true;
		}
		if (gave)
			back_push_rx(b);
		if (progress || gave)
			continue;
		RING_FINAL_CHECK_FOR_REQUESTS(&b->tx, more_tx);
		RING_FINAL_CHECK_FOR_REQUESTS(&b->rx, more_rx);
		if (more_tx || (more_rx && tx_seen == BULK && rx_sent < BULK))
			continue;
		struct pollfd p = { .fd = xnx_evtchn_fd(b->ev), .events = POLLIN };
		xenevtchn_port_or_error_t port;
		if (poll(&p, 1, 1000) == 0)
			timeouts++;	/* a kick from the frontend never came */
		while ((port = xnx_evtchn_pending(b->ev)) >= 0)
			xnx_evtchn_unmask(b->ev, (evtchn_port_t)port);
	}
	CU_ASSERT_EQUAL(timeouts, 0);
	CU_ASSERT_EQUAL(tx_seen, BULK);
	CU_ASSERT_EQUAL(rx_sent, BULK);
}

static void dev_bulk_both_ways(void)
{
	unsigned devid = add_vif(true);
	pid_t pid = spawn(guest_bulk, devid);
	struct back b;

	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, true)) {
		back_abort(&b, pid);
		return;
	}
	back_bulk(&b);
	back_close(&b, true);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* Offloads asked for are published as Linux netfront spells them (GSO
 * implies checksum offload); the backend's are read (TCPv6 GSO only with
 * its IPv6 checksum offload). */
static void dev_offload_keys(void)
{
	unsigned devid = add_vif(false);
	struct back b;
	pid_t pid;

	/* TCPv6 GSO needs the backend's IPv6 checksum offload too. */
	w(be, "feature-gso-tcpv6", "1");
	w(be, "feature-ipv6-csum-offload", "1");
	pid = spawn(guest_offloads, devid);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE(wait_state(fe, S(Initialised) | S(Connected)));
	CU_ASSERT_TRUE(is(fe, "feature-gso-tcpv4", "1"));
	CU_ASSERT_TRUE(is(fe, "feature-gso-tcpv6", "1"));
	CU_ASSERT_TRUE(is(fe, "feature-ipv6-csum-offload", "1"));
	char *no = r(fe, "feature-no-csum-offload");
	CU_ASSERT_PTR_NULL(no);
	free(no);
	/* back_connect checks feature-no-csum-offload=1: do it by hand. */
	unsigned long txref, rxref, port;
	memset(&b, 0, sizeof(b));
	b.gt = xnx_gnttab_open();
	b.ev = xnx_evtchn_open();
	CU_ASSERT_FATAL(b.gt && b.ev);
	CU_ASSERT_FATAL(read_key("tx-ring-ref", &txref) == 0 &&
			read_key("rx-ring-ref", &rxref) == 0 &&
			read_key("event-channel", &port) == 0);
	b.txs = xnx_gnttab_map_grant_ref(b.gt, guest, (uint32_t)txref,
					 PROT_READ | PROT_WRITE);
	b.rxs = xnx_gnttab_map_grant_ref(b.gt, guest, (uint32_t)rxref,
					 PROT_READ | PROT_WRITE);
	b.port_tx = b.port_rx = xnx_evtchn_bind_interdomain(b.ev, guest,
							    (evtchn_port_t)port);
	w(be, "state", "4");
	CU_ASSERT_TRUE(wait_state(fe, S(Connected) | S(Closing) | S(Closed)));
	back_close(&b, true);
	CU_ASSERT_TRUE(guest_ok(pid));
}

static void dev_hostile_response_breaks_device(void)
{
	unsigned devid = add_vif(false);
	pid_t pid = spawn(guest_hostile, devid);
	struct back b;
	uint8_t a[60];
	char err[160];

	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false)) {
		back_abort(&b, pid);
		return;
	}
	frame(a, sizeof(a), 3);
	CU_ASSERT_TRUE(back_wait_tx(&b, 1));
	back_take_tx(&b, a, 60, 300, NETIF_RSP_OKAY);
	back_push_tx(&b);
	CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
	snprintf(err, sizeof(err), "/local/domain/%u/error/device/vif/%u",
		 guest, devid);
	char *e = r(err, "error");
	CU_ASSERT_PTR_NOT_NULL(e);
	if (e)
		CU_ASSERT_PTR_NOT_NULL(strstr(e, "id 300 out of range"));
	free(e);
	back_close(&b, false);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* ---- control ring: the backend's end, by hand ------------------------------ */

struct back_ctrl {
	void *page;
	struct xen_netif_ctrl_back_ring ring;
	int port;
};

static bool back_ctrl_map(struct back *b, struct back_ctrl *c)
{
	unsigned long ref, port;

	memset(c, 0, sizeof(*c));
	if (read_key("ctrl-ring-ref", &ref) || read_key("event-channel-ctrl", &port))
		return false;
	c->page = xnx_gnttab_map_grant_ref(b->gt, guest, (uint32_t)ref,
					   PROT_READ | PROT_WRITE);
	if (!c->page)
		return false;
	BACK_RING_INIT(&c->ring, (struct xen_netif_ctrl_sring *)c->page, PAGE);
	c->port = xnx_evtchn_bind_interdomain(b->ev, guest, (evtchn_port_t)port);
	return c->port >= 0;
}

static void back_ctrl_unmap(struct back *b, struct back_ctrl *c)
{
	if (c->port >= 0)
		xnx_evtchn_unbind(b->ev, (evtchn_port_t)c->port);
	if (c->page)
		xnx_gnttab_unmap(b->gt, c->page, 1);
}

/* Wait (bounded) for the next control request. */
static bool back_ctrl_req(struct back *b, struct back_ctrl *c,
			  struct xen_netif_ctrl_request *req)
{
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	while (__atomic_load_n(&c->ring.sring->req_prod, __ATOMIC_ACQUIRE) ==
	       c->ring.req_cons) {
		struct pollfd p = { .fd = xnx_evtchn_fd(b->ev), .events = POLLIN };
		xenevtchn_port_or_error_t port;

		if (xnx_now_ns() >= end)
			return false;
		poll(&p, 1, 50);
		while ((port = xnx_evtchn_pending(b->ev)) >= 0)
			xnx_evtchn_unmask(b->ev, (evtchn_port_t)port);
	}
	RING_COPY_REQUEST(&c->ring, c->ring.req_cons, req);
	c->ring.req_cons++;
	return true;
}

static void back_ctrl_answer(struct back *b, struct back_ctrl *c,
			     const struct xen_netif_ctrl_request *req, int id_delta,
			     uint32_t status, uint32_t data)
{
	int notify;

	*RING_GET_RESPONSE(&c->ring, c->ring.rsp_prod_pvt) =
		(struct xen_netif_ctrl_response){ .id = (uint16_t)(req->id + id_delta),
			.type = req->type, .status = status, .data = data };
	c->ring.rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&c->ring, notify);
	if (notify)
		xnx_evtchn_notify(b->ev, (evtchn_port_t)c->port);
}

/* How many frames of 200 the guest's one burst must get onto the ring. */
static unsigned expect_taken;

/* Wait for one frame (after it the control answers are in), then send 200
 * single-slot frames in one burst: as many are taken as bounce pages are
 * in circulation. Close (static grants are given back first). */
static void guest_ctrl(unsigned devid)
{
	struct xnf_dev *dev = guest_open(devid);
	static uint8_t a[60], in[2048];
	struct xnf_frame out[200], got = { .data = in, .cap = sizeof(in) };
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;
	int n = 0;

	while (n == 0 && xnx_now_ns() < end) {
		n = xnf_recv_burst(dev, &got, 1);
		if (n < 0)
			FAIL("recv_burst: %s", strerror(errno));
		if (n == 0)
			xnf_wait(dev, 100);
	}
	if (n != 1)
		FAIL("no frame from the backend");
	xnf_process(dev);
	frame(a, sizeof(a), 9);
	for (int i = 0; i < 200; i++)
		out[i] = (struct xnf_frame){ .data = a, .len = sizeof(a) };
	n = xnf_send_burst(dev, out, 200);
	if (n != (int)expect_taken)
		FAIL("burst took %d frames, want %u", n, expect_taken);
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* Is REF in entries [from, to) of the gref list with FLAGS? */
static bool in_list(const struct xen_netif_gref *e, unsigned from, unsigned to,
		    grant_ref_t ref, uint16_t flags)
{
	for (unsigned i = from; i < to; i++)
		if (e[i].ref == ref && e[i].flags == flags)
			return true;
	return false;
}

/* The ADD request: 128 receive buffers (writable) then 128 bounce pages
 * (read-only); every receive request posted names one of the former. */
static bool back_check_add(struct back *b, const struct xen_netif_ctrl_request *req,
			   struct xen_netif_gref *list)
{
	const struct xen_netif_gref *e;
	bool ok = true;

	CU_ASSERT_EQUAL(req->type, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING);
	CU_ASSERT_EQUAL(req->data[0], 0);
	CU_ASSERT_EQUAL(req->data[2], 256);
	e = xnx_gnttab_map_grant_ref(b->gt, guest, req->data[1], PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	memcpy(list, e, 256 * sizeof(*list));
	xnx_gnttab_unmap(b->gt, (void *)e, 1);
	for (unsigned i = 0; i < 128; i++)
		ok &= list[i].flags == 0 &&
		      list[128 + i].flags == XEN_NETIF_CTRLF_GREF_readonly;
	CU_ASSERT_TRUE(ok);
	/* The receive window: 128 buffers posted, each one listed. */
	CU_ASSERT_EQUAL(b->rx.sring->req_prod - b->rx.req_cons, 128);
	for (RING_IDX i = b->rx.req_cons; i != b->rx.sring->req_prod; i++) {
		struct netif_rx_request r;
		RING_COPY_REQUEST(&b->rx, i, &r);
		ok &= in_list(list, 0, 128, r.gref, 0);
	}
	CU_ASSERT_TRUE(ok);
	return ok;
}

/* Take N transmit requests; each names a listed bounce page if LIST. */
static void back_take_n(struct back *b, unsigned n, const struct xen_netif_gref *list)
{
	bool ok = true;

	CU_ASSERT_TRUE_FATAL(back_wait_tx(b, n));
	for (unsigned i = 0; i < n; i++) {
		struct netif_tx_request req;

		RING_COPY_REQUEST(&b->tx, b->tx.req_cons, &req);
		b->tx.req_cons++;
		if (list)
			ok &= in_list(list, 128, 256, req.gref,
				      XEN_NETIF_CTRLF_GREF_readonly);
		*RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt) =
			(struct netif_tx_response){ .id = req.id, .status = 0 };
		b->tx.rsp_prod_pvt++;
	}
	CU_ASSERT_TRUE(ok);
	back_push_tx(b);
}

/* A backend with a control ring keeping 256 static grants: the frontend
 * asks for the size, adds its 128 receive buffers and 128 bounce pages,
 * uses only those (a burst stops at 128 frames), and deletes them all
 * before it closes. */
static void dev_ctrl_static_grants(void)
{
	unsigned devid = add_vif(false);
	struct xen_netif_ctrl_request req;
	static struct xen_netif_gref list[256];
	struct back_ctrl c = { .port = -1 };
	struct back b;
	uint8_t a[60];
	pid_t pid;

	w(be, "feature-ctrl-ring", "1");
	offer_ctrl = true;
	expect_taken = 128;
	pid = spawn(guest_ctrl, devid);
	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false) || !back_ctrl_map(&b, &c)) {
		CU_FAIL("no control ring");
		back_abort(&b, pid);
		offer_ctrl = false;
		return;
	}
	offer_ctrl = false;
	CU_ASSERT_TRUE_FATAL(back_ctrl_req(&b, &c, &req));
	CU_ASSERT_EQUAL(req.type, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE);
	CU_ASSERT_EQUAL(req.data[0], 0);
	back_ctrl_answer(&b, &c, &req, 0, XEN_NETIF_CTRL_STATUS_SUCCESS, 256);
	CU_ASSERT_TRUE_FATAL(back_ctrl_req(&b, &c, &req));
	back_check_add(&b, &req, list);
	back_ctrl_answer(&b, &c, &req, 0, XEN_NETIF_CTRL_STATUS_SUCCESS, 0);
	frame(a, sizeof(a), 4);
	back_give_rx(&b, a, sizeof(a));
	back_push_rx(&b);
	back_take_n(&b, 128, list);
	/* Closing: the same list comes back for deletion, then Closing. */
	CU_ASSERT_TRUE(back_ctrl_req(&b, &c, &req));
	CU_ASSERT_EQUAL(req.type, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING);
	CU_ASSERT_EQUAL(req.data[2], 256);
	back_ctrl_answer(&b, &c, &req, 0, XEN_NETIF_CTRL_STATUS_SUCCESS, 256);
	CU_ASSERT_EQUAL(b.tx.sring->req_prod, 128);	/* nothing past the window */
	CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
	back_ctrl_unmap(&b, &c);
	back_close(&b, false);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* A backend whose control ring does not do static grants (Linux netback
 * answers NOT_SUPPORTED): the frontend carries on with every bounce page
 * (200 frames in one burst), and sends nothing more. */
static void dev_ctrl_static_grants_refused(void)
{
	unsigned devid = add_vif(false);
	struct xen_netif_ctrl_request req;
	struct back_ctrl c = { .port = -1 };
	struct back b;
	uint8_t a[60];
	pid_t pid;

	w(be, "feature-ctrl-ring", "1");
	offer_ctrl = true;
	expect_taken = 200;
	pid = spawn(guest_ctrl, devid);
	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false) || !back_ctrl_map(&b, &c)) {
		CU_FAIL("no control ring");
		back_abort(&b, pid);
		offer_ctrl = false;
		return;
	}
	offer_ctrl = false;
	CU_ASSERT_TRUE_FATAL(back_ctrl_req(&b, &c, &req));
	CU_ASSERT_EQUAL(req.type, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE);
	back_ctrl_answer(&b, &c, &req, 0, XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED, 0);
	frame(a, sizeof(a), 4);
	back_give_rx(&b, a, sizeof(a));
	back_push_rx(&b);
	back_take_n(&b, 200, NULL);
	CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
	CU_ASSERT_EQUAL(c.ring.sring->req_prod, 1);
	back_ctrl_unmap(&b, &c);
	back_close(&b, false);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* Wait (bounded) until the backend breaks the device (it may do so in the
 * same turn as it connects). */
static void guest_until_broken(unsigned devid)
{
	struct xnf_dev *dev = guest_open_nowait(devid);
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	while ((xnf_state(dev) == XNF_CONNECTING || xnf_state(dev) == XNF_CONNECTED) &&
	       xnx_now_ns() < end)
		xnf_wait(dev, 100);
	if (xnf_state(dev) != XNF_BROKEN ||
	    !strstr(xnf_broken_reason(dev), "does not answer the request"))
		FAIL("state %d, reason '%s'", xnf_state(dev), xnf_broken_reason(dev));
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* A backend that does not know the control ring (no feature-ctrl-ring):
 * no ctrl-ring-ref / event-channel-ctrl keys (back_connect checks), and
 * every bounce page in use from the start. */
static void dev_ctrl_not_offered(void)
{
	unsigned devid = add_vif(false);
	struct back b;
	uint8_t a[60];
	pid_t pid;

	expect_taken = 200;
	pid = spawn(guest_ctrl, devid);
	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false)) {
		back_abort(&b, pid);
		return;
	}
	frame(a, sizeof(a), 4);
	back_give_rx(&b, a, sizeof(a));
	back_push_rx(&b);
	back_take_n(&b, 200, NULL);
	CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
	back_close(&b, false);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* A control response that answers nothing outstanding breaks the device. */
static void dev_ctrl_bad_response_breaks_device(void)
{
	unsigned devid = add_vif(false);
	struct xen_netif_ctrl_request req;
	struct back_ctrl c = { .port = -1 };
	struct back b;
	pid_t pid;

	w(be, "feature-ctrl-ring", "1");
	offer_ctrl = true;
	pid = spawn(guest_until_broken, devid);
	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false) || !back_ctrl_map(&b, &c)) {
		CU_FAIL("no control ring");
		back_abort(&b, pid);
		offer_ctrl = false;
		return;
	}
	offer_ctrl = false;
	CU_ASSERT_TRUE_FATAL(back_ctrl_req(&b, &c, &req));
	back_ctrl_answer(&b, &c, &req, 5, XEN_NETIF_CTRL_STATUS_SUCCESS, 256);
	CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
	char err[160], *e;
	snprintf(err, sizeof(err), "/local/domain/%u/error/device/vif/%u",
		 guest, devid);
	e = r(err, "error");
	CU_ASSERT_PTR_NOT_NULL(e);
	if (e)
		CU_ASSERT_PTR_NOT_NULL(strstr(e, "does not answer the request outstanding"));
	free(e);
	back_ctrl_unmap(&b, &c);
	back_close(&b, false);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* ---- multicast control ------------------------------------------------------ */

static const struct mcast_case {
	const char *name;
	const char *feature;	/* backend key written = 1, or NULL */
	unsigned flags;		/* xnf_config.flags */
	bool requested;		/* request-multicast-control = 1 */
	int err;		/* errno of xnf_mcast_add, 0: it works */
} mcast_cases[] = {
	{ "dynamic control offered and asked for",
	  "feature-dynamic-multicast-control", XNF_CFG_MCAST_CONTROL, true, 0 },
	{ "static control offered and asked for",
	  "feature-multicast-control", XNF_CFG_MCAST_CONTROL, true, 0 },
	{ "offered, not asked for", "feature-dynamic-multicast-control", 0,
	  false, EOPNOTSUPP },
	{ "a backend that does not know it", NULL, XNF_CFG_MCAST_CONTROL, false,
	  EOPNOTSUPP },
};
static const struct mcast_case *mc_case;
static const uint8_t mc_group[6] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 };

static void guest_mcast(unsigned devid)
{
	struct xnf_config cfg = { .flags = mc_case->flags };
	char id[16];
	struct xnf_dev *dev;
	int rc;

	snprintf(id, sizeof(id), "%u", guest);
	setenv("XNET_DOMID", id, 1);
	unsetenv("XENSTORED_PATH");
	dev = xnf_open_config(devid, &cfg);
	if (!dev || xnf_wait_connected(dev, TIMEOUT_MS) < 0)
		FAIL("not connected: %s", strerror(errno));
	if (xnf_mcast_filtering(dev) != (mc_case->err == 0))
		FAIL("filtering %d", xnf_mcast_filtering(dev));
	rc = xnf_mcast_add(dev, mc_group);
	if (mc_case->err ? rc != -1 || errno != mc_case->err : rc != 0)
		FAIL("mcast_add: %d (%s)", rc, strerror(errno));
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* The backend takes the dummy request and its MCAST_ADD extra. */
static void back_take_mcast(struct back *b)
{
	struct netif_tx_request req, raw;
	struct netif_extra_info ex;

	CU_ASSERT_TRUE_FATAL(back_wait_tx(b, 2));
	RING_COPY_REQUEST(&b->tx, b->tx.req_cons, &req);
	RING_COPY_REQUEST(&b->tx, b->tx.req_cons + 1, &raw);
	b->tx.req_cons += 2;
	memcpy(&ex, &raw, sizeof(ex));
	CU_ASSERT_EQUAL(req.size, 0);
	CU_ASSERT_EQUAL(req.flags, NETTXF_extra_info);
	CU_ASSERT_EQUAL(ex.type, XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
	CU_ASSERT_EQUAL(memcmp(ex.u.mcast.addr, mc_group, 6), 0);
	*RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt) =
		(struct netif_tx_response){ .id = req.id, .status = NETIF_RSP_OKAY };
	*RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt + 1) =
		(struct netif_tx_response){ .status = NETIF_RSP_NULL };
	b->tx.rsp_prod_pvt += 2;
	back_push_tx(b);
}

static void dev_mcast_control_table(void)
{
	for (size_t i = 0; i < sizeof(mcast_cases) / sizeof(mcast_cases[0]); i++) {
		unsigned devid = add_vif(false);
		struct back b;
		unsigned long v;
		pid_t pid;

		mc_case = &mcast_cases[i];
		fprintf(stderr, "\n  case '%s'", mc_case->name);
		if (mc_case->feature)
			w(be, mc_case->feature, "1");
		pid = spawn(guest_mcast, devid);
		CU_ASSERT_FATAL(pid > 0);
		if (!back_connect(&b, false)) {
			back_abort(&b, pid);
			continue;
		}
		if (mc_case->requested) {
			CU_ASSERT_TRUE(is(fe, "request-multicast-control", "1"));
		} else {
			CU_ASSERT_EQUAL(read_key("request-multicast-control", &v), -ENOENT);
		}
		if (mc_case->err == 0)
			back_take_mcast(&b);
		/* The guest is closing: nothing else was sent. */
		CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
		CU_ASSERT_EQUAL(b.tx.sring->req_prod, mc_case->err ? 0 : 2);
		back_close(&b, false);
		CU_ASSERT_TRUE(guest_ok(pid));
	}
}

/* ---- multi-queue --------------------------------------------------------------- */

/* Map the rings and bind the channels whose keys are in QDIR. */
static bool back_map_queue(struct back *b, const char *qdir)
{
	unsigned long txref, rxref, p1, p2;

	memset(b, 0, sizeof(*b));
	if (xnx_xs_read_uint(xs, XBT_NULL, qdir, "tx-ring-ref", 0, ~0u, &txref) ||
	    xnx_xs_read_uint(xs, XBT_NULL, qdir, "rx-ring-ref", 0, ~0u, &rxref) ||
	    xnx_xs_read_uint(xs, XBT_NULL, qdir, "event-channel-tx", 0, ~0u, &p1) ||
	    xnx_xs_read_uint(xs, XBT_NULL, qdir, "event-channel-rx", 0, ~0u, &p2))
		return false;
	b->gt = xnx_gnttab_open();
	b->ev = xnx_evtchn_open();
	if (!b->gt || !b->ev)
		return false;
	b->txs = xnx_gnttab_map_grant_ref(b->gt, guest, (uint32_t)txref,
					  PROT_READ | PROT_WRITE);
	b->rxs = xnx_gnttab_map_grant_ref(b->gt, guest, (uint32_t)rxref,
					  PROT_READ | PROT_WRITE);
	if (!b->txs || !b->rxs)
		return false;
	BACK_RING_INIT(&b->tx, (struct netif_tx_sring *)b->txs, PAGE);
	BACK_RING_INIT(&b->rx, (struct netif_rx_sring *)b->rxs, PAGE);
	b->port_tx = xnx_evtchn_bind_interdomain(b->ev, guest, (evtchn_port_t)p1);
	b->port_rx = xnx_evtchn_bind_interdomain(b->ev, guest, (evtchn_port_t)p2);
	return b->port_tx >= 0 && b->port_rx >= 0;
}

static void back_unmap_queue(struct back *b)
{
	if (b->txs)
		xnx_gnttab_unmap(b->gt, b->txs, 1);
	if (b->rxs)
		xnx_gnttab_unmap(b->gt, b->rxs, 1);
	if (b->ev)
		xnx_evtchn_close(b->ev);
	if (b->gt)
		xnx_gnttab_close(b->gt);
}

static unsigned mq_expect;	/* queues the guest must end up with */

/* Ask for 4 queues; with 2, send a frame on queue 1 and receive one there. */
static void guest_mq(unsigned devid)
{
	struct xnf_config cfg = { .max_queues = 4 };
	uint8_t a[60], in[2048];
	struct xnf_frame out = { .data = a, .len = sizeof(a) };
	struct xnf_frame got = { .data = in, .cap = sizeof(in) };
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;
	char id[16];
	struct xnf_dev *dev;
	int n = 0;

	snprintf(id, sizeof(id), "%u", guest);
	setenv("XNET_DOMID", id, 1);
	unsetenv("XENSTORED_PATH");
	dev = xnf_open_config(devid, &cfg);
	if (!dev || xnf_wait_connected(dev, TIMEOUT_MS) < 0)
		FAIL("not connected: %s", strerror(errno));
	if (xnf_queues(dev) != mq_expect)
		FAIL("%u queues, want %u", xnf_queues(dev), mq_expect);
	if (mq_expect == 2) {
		frame(a, sizeof(a), 7);
		if (xnf_send_burst_queue(dev, 1, &out, 1) != 1)
			FAIL("send on queue 1");
		if (xnf_send_burst_queue(dev, 2, &out, 1) != -1 || errno != EINVAL)
			FAIL("send on queue 2 not refused");
		while (n == 0 && xnx_now_ns() < end) {
			n = xnf_recv_burst_queue(dev, 1, &got, 1);
			if (n == 0)
				xnf_wait(dev, 100);
		}
		if (n != 1 || got.len != 60 || memcmp(in, a, 60))
			FAIL("no frame on queue 1");
	}
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* The backend offers 2 queues, the guest wants 4: multi-queue-num-queues
 * 2, each queue's rings and (split) channels under queue-N/ and no flat
 * ring keys (an earlier connection's flat keys and queue-3/ removed); a
 * frame each way on queue 1. */
static void dev_multi_queue(void)
{
	unsigned devid = add_vif(true);
	char q0[160], q1[160];
	struct back b0, b1;
	unsigned long v;
	uint8_t a[60];
	pid_t pid;

	w(be, "multi-queue-max-queues", "2");
	w(fe, "tx-ring-ref", "9");
	w(fe, "event-channel", "9");
	w(fe, "queue-3/tx-ring-ref", "9");
	mq_expect = 2;
	pid = spawn(guest_mq, devid);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(wait_state(fe, S(Initialised) | S(Connected)));
	CU_ASSERT_TRUE(is(fe, "multi-queue-num-queues", "2"));
	CU_ASSERT_EQUAL(read_key("tx-ring-ref", &v), -ENOENT);
	CU_ASSERT_EQUAL(read_key("event-channel", &v), -ENOENT);
	CU_ASSERT_EQUAL(read_key("queue-3/tx-ring-ref", &v), -ENOENT);
	snprintf(q0, sizeof(q0), "%s/queue-0", fe);
	snprintf(q1, sizeof(q1), "%s/queue-1", fe);
	CU_ASSERT_TRUE(back_map_queue(&b0, q0));
	CU_ASSERT_TRUE(back_map_queue(&b1, q1));
	CU_ASSERT_NOT_EQUAL(b0.port_tx, b1.port_tx);
	w(be, "state", "4");
	frame(a, sizeof(a), 7);
	if (b1.txs && back_wait_tx(&b1, 1)) {
		back_take_tx(&b1, a, 60, -1, NETIF_RSP_OKAY);
		back_push_tx(&b1);
		back_give_rx(&b1, a, sizeof(a));
		back_push_rx(&b1);
	} else {
		CU_FAIL("no frame on queue 1");
	}
	CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
	if (b0.txs)
		CU_ASSERT_EQUAL(b0.tx.sring->req_prod, 0);	/* all on queue 1 */
	back_unmap_queue(&b0);
	back_unmap_queue(&b1);
	w(be, "state", "5");
	CU_ASSERT_TRUE(wait_state(fe, S(Closed)));
	w(be, "state", "6");
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* A backend that does not know multi-queue (no multi-queue-max-queues):
 * one queue with flat keys and no multi-queue-num-queues, whatever the
 * guest wanted; one that offers it with a guest wanting 1: the key says 1,
 * the ring keys stay flat (Linux netfront does the same). */
static void dev_multi_queue_fallback(void)
{
	for (int offered = 0; offered < 2; offered++) {
		unsigned devid = add_vif(false);
		struct back b;
		unsigned long v;
		pid_t pid;

		if (offered)
			w(be, "multi-queue-max-queues", "1");
		w(fe, "queue-0/tx-ring-ref", "9");	/* an earlier connection's */
		mq_expect = 1;
		pid = spawn(guest_mq, devid);
		CU_ASSERT_FATAL(pid > 0);
		if (!back_connect(&b, false)) {
			back_abort(&b, pid);
			continue;
		}
		CU_ASSERT_EQUAL(read_key("queue-0/tx-ring-ref", &v), -ENOENT);
		if (offered) {
			CU_ASSERT_TRUE(is(fe, "multi-queue-num-queues", "1"));
		} else {
			CU_ASSERT_EQUAL(read_key("multi-queue-num-queues", &v), -ENOENT);
		}
		back_close(&b, true);
		CU_ASSERT_TRUE(guest_ok(pid));
	}
}

static const struct garbage_case {
	const char *key, *value, *reason;
} garbage_cases[] = {
	{ "feature-sg", "yes", "feature-sg = 'yes' is not a number in [0, 1]" },
	{ "feature-split-event-channels", "2",
	  "feature-split-event-channels = '2' is not a number" },
	{ "feature-rx-copy", "0", "does not offer feature-rx-copy" },
	{ "feature-rx-copy", " 1", "feature-rx-copy = ' 1'" },
	{ "multi-queue-max-queues", "0", "multi-queue-max-queues = '0'" },
	{ "state", "banana", "state = 'banana' is not a XenbusState" },
	{ "state", "9", "state = '9' is not a XenbusState" },
};

/* Garbage from the backend in xenstore: that vif fails with the key named
 * in the log, the error node and the reason; nothing else is touched. */
static void dev_garbage_backend_values(void)
{
	for (size_t i = 0; i < sizeof(garbage_cases) / sizeof(garbage_cases[0]); i++) {
		const struct garbage_case *c = &garbage_cases[i];
		unsigned devid = add_vif(false);
		char err[160];
		pid_t pid;

		w(be, c->key, c->value);
		expect_reason = c->reason;
		pid = spawn(guest_expect_broken, devid);
		CU_ASSERT_FATAL(pid > 0);
		CU_ASSERT_TRUE(guest_ok(pid));
		CU_ASSERT_TRUE(is(fe, "state", "6"));
		snprintf(err, sizeof(err), "/local/domain/%u/error/device/vif/%u",
			 guest, devid);
		char *e = r(err, "error");
		CU_ASSERT_TRUE(e && strstr(e, c->reason));
		free(e);
		/* Nothing was published for a backend we could not trust. */
		char *ref = r(fe, "tx-ring-ref");
		CU_ASSERT_PTR_NULL(ref);
		free(ref);
	}
}

static void dev_backend_unbinding_closes_device(void)
{
	unsigned devid = add_vif(false);
	pid_t pid = spawn(guest_peer_vanishes, devid);
	struct back b;

	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false)) {
		back_abort(&b, pid);
		return;
	}
	xnx_evtchn_unbind(b.ev, (evtchn_port_t)b.port_tx);
	b.port_tx = b.port_rx = -1;
	CU_ASSERT_TRUE(wait_state(fe, S(Closing) | S(Closed)));
	back_close(&b, false);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* The next user of a vif the last one closed, or left Connected when it
 * died, walks it back to Initialising (backend following) and connects. */
static void dev_reopen(bool crash)
{
	unsigned devid = add_vif(false);
	pid_t pid = spawn(crash ? guest_open_hang : guest_open_close, devid);
	struct back b;
	int st;

	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false)) {
		back_abort(&b, pid);
		return;
	}
	if (crash) {
		kill(pid, SIGKILL);
		CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
		CU_ASSERT_TRUE(is(fe, "state", "4"));
		pid = spawn(guest_open_close, devid);
		CU_ASSERT_FATAL(pid > 0);
		back_close(&b, true);		/* follows Closing, Closed */
	} else {
		back_close(&b, true);
		CU_ASSERT_TRUE(guest_ok(pid));	/* the first user is done */
		CU_ASSERT_TRUE(is(fe, "state", "6"));
		pid = spawn(guest_open_close, devid);
		CU_ASSERT_FATAL(pid > 0);
	}
	/* Frontend Initialising again: the backend offers itself anew. */
	CU_ASSERT_TRUE(wait_state(fe, S(Initialising)));
	w(be, "state", "2");
	if (!back_connect(&b, false)) {
		back_abort(&b, pid);
		return;
	}
	back_close(&b, true);
	CU_ASSERT_TRUE(guest_ok(pid));
}

static void dev_reopen_after_close(void) { dev_reopen(false); }
static void dev_reopen_after_crash(void) { dev_reopen(true); }

static void dev_backend_closing_closes_device(void)
{
	unsigned devid = add_vif(false);
	pid_t pid = spawn(guest_closed_by_backend, devid);
	struct back b;

	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false)) {
		back_abort(&b, pid);
		return;
	}
	back_close(&b, false);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* Open files of this process (on the sim, every bound port holds some). */
static int count_fds(void)
{
	int n = 0;
	char path[64];

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* Wait (bounded) until DEV is in state WANT. */
static bool guest_until(struct xnf_dev *dev, enum xnf_state want)
{
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	while (xnf_state(dev) != want && xnx_now_ns() < end)
		xnf_wait(dev, 100);
	return xnf_state(dev) == want;
}

/* The backend goes away and comes back: with XNF_CFG_RECONNECT the device
 * goes back to connecting, then connected on new rings, holding no more
 * than before (old ports unbound), and a frame goes through. */
static void guest_reconnects(unsigned devid)
{
	struct xnf_config cfg = { .flags = XNF_CFG_RECONNECT };
	uint8_t a[60];
	struct xnf_frame out = { .data = a, .len = 60 };
	struct xnf_dev *dev = guest_open_config(devid, &cfg);
	int fds = count_fds();

	/* The whole reconnect may pass within one xnf_wait: count it rather
	 * than hope to see the device in between. */
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	while (xnf_reconnects(dev) == 0 && xnx_now_ns() < end)
		xnf_wait(dev, 100);
	if (xnf_reconnects(dev) != 1)
		FAIL("%u reconnects after the backend went away (state %d)",
		     xnf_reconnects(dev), xnf_state(dev));
	if (!guest_until(dev, XNF_CONNECTED))
		FAIL("state %d (%s): not connected again", xnf_state(dev),
		     xnf_broken_reason(dev));
	if (count_fds() != fds)
		FAIL("%d open files after reconnecting, %d before", count_fds(), fds);
	frame(a, sizeof(a), 7);
	if (xnf_send_burst(dev, &out, 1) != 1)
		FAIL("send_burst after reconnecting");
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

/* How the backend goes away in dev_reconnect_table. */
static const struct reconnect_case {
	const char *name;
	bool dies;		/* unmaps and unbinds, says nothing */
} reconnect_cases[] = {
	{ "killed: channel closed, state left Connected", true },
	{ "closed: Closing, Closed, then InitWait again", false },
};

/* The backend's side of one case: gone, then back at InitWait. */
static void back_lose(struct back *b, const struct reconnect_case *c)
{
	if (!c->dies) {
		back_close(b, false);	/* Closing; Closed once the guest is */
		CU_ASSERT_TRUE(wait_state(fe, S(Initialising)));
	} else {
		xnx_gnttab_unmap(b->gt, b->txs, 1);
		xnx_gnttab_unmap(b->gt, b->rxs, 1);
		xnx_evtchn_close(b->ev);
		xnx_gnttab_close(b->gt);
		CU_ASSERT_TRUE(wait_state(fe, S(Closed)));
		CU_ASSERT_TRUE(is(be, "state", "4"));
		w(be, "state", "1");	/* as a restarted xnetback does */
	}
	w(be, "state", "2");
}

static void dev_reconnect_table(void)
{
	for (size_t i = 0; i < sizeof(reconnect_cases) / sizeof(reconnect_cases[0]); i++) {
		const struct reconnect_case *c = &reconnect_cases[i];
		unsigned devid = add_vif(false);
		pid_t pid = spawn(guest_reconnects, devid);
		uint8_t a[60];
		struct back b;

		CU_ASSERT_FATAL(pid > 0);
		if (!back_connect(&b, false)) {
			back_abort(&b, pid);
			return;
		}
		back_lose(&b, c);
		if (!back_connect(&b, false)) {
			fprintf(stderr, "\n  case '%s': no second handshake", c->name);
			back_abort(&b, pid);
			return;
		}
		frame(a, sizeof(a), 7);
		if (back_wait_tx(&b, 1)) {
			back_take_tx(&b, a, 60, -1, NETIF_RSP_OKAY);
			back_push_tx(&b);
		}
		back_close(&b, true);
		CU_ASSERT_TRUE(guest_ok(pid));
	}
}

/* The toolstack unplugging the vif (online=0, Closing) still closes a
 * device that would reconnect. */
static void guest_reconnect_offline(unsigned devid)
{
	struct xnf_config cfg = { .flags = XNF_CFG_RECONNECT };
	uint8_t a[60];
	struct xnf_frame out = { .data = a, .len = 60 };
	struct xnf_dev *dev = guest_open_config(devid, &cfg);

	/* One frame tells the backend we are connected: it unplugs after. */
	frame(a, sizeof(a), 7);
	if (xnf_send_burst(dev, &out, 1) != 1)
		FAIL("send_burst");
	if (!guest_until(dev, XNF_CLOSED))
		FAIL("state %d after an unplug", xnf_state(dev));
	if (xnf_close(dev) < 0)
		FAIL("close: %s", strerror(errno));
	_exit(0);
}

static void dev_reconnect_not_when_unplugged(void)
{
	unsigned devid = add_vif(false);
	pid_t pid = spawn(guest_reconnect_offline, devid);
	uint8_t a[60];
	struct back b;

	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b, false)) {
		back_abort(&b, pid);
		return;
	}
	frame(a, sizeof(a), 7);
	CU_ASSERT_TRUE(back_wait_tx(&b, 1));
	back_take_tx(&b, a, 60, -1, NETIF_RSP_OKAY);
	back_push_tx(&b);
	w(be, "online", "0");
	back_close(&b, false);
	CU_ASSERT_TRUE(guest_ok(pid));
}

/* A vif with a malformed mac is refused at open, naming the key. */
static void dev_open_rejects_bad_mac(void)
{
	unsigned devid = add_vif(false);
	pid_t pid;
	int st;

	w(fe, "mac", "00:16:3e:00:00");
	pid = fork();
	if (pid == 0) {
		char id[16];
		snprintf(id, sizeof(id), "%u", guest);
		setenv("XNET_DOMID", id, 1);
		unsetenv("XENSTORED_PATH");
		_exit(xnf_open(devid) == NULL && errno == EINVAL ? 0 : 1);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_TRUE(is(fe, "state", "1"));
}

/* ---- the xnetfront daemon ------------------------------------------------------ */


/* Run a shell command inside the test's namespace; its exit status. */
static int in_ns(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int in_ns(const char *fmt, ...)
{
	char cmd[512], inner[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inner, sizeof(inner), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s sh -c '%s' >/dev/null 2>&1",
		 netns, inner);
	return system(cmd);
}

/* Poll (bounded) until a command in the namespace succeeds. */
static bool ns_until(const char *cmd)
{
	for (int i = 0; i < TIMEOUT_MS / 20; i++) {
		if (in_ns("%s", cmd) == 0)
			return true;
		usleep(20000);
	}
	return false;
}

static pid_t start_daemon(void)
{
	const char *bin = getenv("XNET_BIN");
	char path[256], id[16];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/xnetfront", bin && *bin ? bin : "build/bin");
	snprintf(id, sizeof(id), "%u", guest);
	pid = fork();
	if (pid == 0) {
		setenv("XNET_DOMID", id, 1);
		unsetenv("XENSTORED_PATH");
		execlp("ip", "ip", "netns", "exec", netns, path, "--foreground",
		       "-v", expect_offload ? "--offload" : "--no-offload", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Take tx frames (bounded) until one is an ARP from MAC; answer all OKAY. */
static bool back_find_arp(struct back *b, const uint8_t mac[6])
{
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	while (xnx_now_ns() < end) {
		struct netif_tx_request req;
		bool arp = false;

		if (!back_wait_tx(b, 1))
			return false;
		RING_COPY_REQUEST(&b->tx, b->tx.req_cons, &req);
		b->tx.req_cons++;
		uint8_t *page = xnx_gnttab_map_grant_ref(b->gt, guest, req.gref,
							 PROT_READ);
		if (page && req.size >= 14 && req.offset + 14u <= PAGE) {
			const uint8_t *f = page + req.offset;
			arp = memcmp(f + 6, mac, 6) == 0 && f[12] == 0x08 && f[13] == 0x06;
		}
		if (page)
			xnx_gnttab_unmap(b->gt, page, 1);
		*RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt) =
			(struct netif_tx_response){ .id = req.id, .status = 0 };
		b->tx.rsp_prod_pvt++;
		back_push_tx(b);
		if (arp)
			return true;
	}
	return false;
}

/* An ARP reply 198.18.0.1 (02:00:00:00:00:01) → 198.18.0.2 (MAC). */
static size_t arp_reply(uint8_t *f, const uint8_t mac[6])
{
	static const uint8_t peer[6] = { 2, 0, 0, 0, 0, 1 };
	static const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 2 };
	static const uint8_t ip_peer[4] = { 198, 18, 0, 1 }, ip_me[4] = { 198, 18, 0, 2 };

	memset(f, 0, 60);
	memcpy(f, mac, 6);
	memcpy(f + 6, peer, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, hdr, 8);
	memcpy(f + 22, peer, 6);
	memcpy(f + 28, ip_peer, 4);
	memcpy(f + 32, mac, 6);
	memcpy(f + 38, ip_me, 4);
	return 60;
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A UDP datagram 198.18.0.1 → 198.18.0.2 port 9 whose checksum field holds
 * junk: the backend says it is blank (NETRXF_csum_blank). */
static size_t udp_blank(uint8_t *f, const uint8_t mac[6])
{
	static const uint8_t ip[20] = { 0x45, 0, 0, 36, 0, 1, 0x40, 0, 64, 17, 0, 0,
					198, 18, 0, 1, 198, 18, 0, 2 };
	uint16_t c;

	memset(f, 0, 60);
	memcpy(f, mac, 6);
	f[6] = 2;
	f[11] = 1;
	f[12] = 0x08;
	memcpy(f + 14, ip, 20);
	c = ip_csum(f + 14, 20);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	f[34] = 0x30;			/* source port 12345 */
	f[35] = 0x39;
	f[37] = 9;			/* discard */
	f[39] = 16;			/* UDP length */
	f[40] = 0xde;			/* junk checksum */
	f[41] = 0xad;
	memcpy(f + 42, "blank sum", 8);
	return 60;
}

/* Put a frame with flags into the next posted rx buffer. */
static void back_give_rx_flags(struct back *b, const uint8_t *data, size_t len,
			       uint16_t flags)
{
	back_give_rx(b, data, len);
	b->rx.rsp_prod_pvt--;
	RING_GET_RESPONSE(&b->rx, b->rx.rsp_prod_pvt)->flags = flags;
	b->rx.rsp_prod_pvt++;
}

/* A blank checksum from the backend reaches the guest's UDP as a good
 * datagram: with offloads as a partial checksum for the kernel, without
 * them completed by xnetfront. The port is closed, so the kernel counts
 * it in UdpNoPorts after checking the checksum (a bad one would land in
 * UdpInCsumErrors instead). The backend's `carrier` key drives eth0's. */
static void daemon_checksum_and_carrier(struct back *b, const uint8_t mac[6])
{
	uint8_t f[60];

	back_give_rx_flags(b, f, udp_blank(f, mac), NETRXF_csum_blank);
	back_push_rx(b);
	CU_ASSERT_TRUE(ns_until("nstat -asz UdpNoPorts | grep -Eq \"UdpNoPorts +1 \""));
	CU_ASSERT_EQUAL(in_ns("nstat -asz UdpInCsumErrors | grep -Eq \"Errors +0 \""), 0);
	w(be, "carrier", "0");
	CU_ASSERT_TRUE(ns_until("grep -qx 0 /sys/class/net/eth0/carrier"));
	w(be, "carrier", "1");
	CU_ASSERT_TRUE(ns_until("grep -qx 1 /sys/class/net/eth0/carrier"));
}

static void daemon_scenario(pid_t daemon)
{
	static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
	struct back b;
	uint8_t reply[60];

	if (!back_connect(&b, false)) {
		CU_FAIL("xnetfront did not connect");
		return;
	}
	CU_ASSERT_TRUE(ns_until("grep -qx 00:16:3e:00:00:01 /sys/class/net/eth0/address"));
	CU_ASSERT_TRUE(ns_until("ip -o link show eth0 | grep -q \"<.*UP\""));
	/* Guest → backend: the kernel's ARP request for 198.18.0.1. */
	CU_ASSERT_EQUAL(in_ns("ip addr add 198.18.0.2/24 dev eth0"), 0);
	CU_ASSERT_EQUAL(in_ns("ping -c 1 -W 2 198.18.0.1 </dev/null & exit 0"), 0);
	CU_ASSERT_TRUE(back_find_arp(&b, mac));
	/* Backend → guest: the reply lands in the guest's neighbour table. */
	back_give_rx(&b, reply, arp_reply(reply, mac));
	back_push_rx(&b);
	CU_ASSERT_TRUE(ns_until("ip neigh show 198.18.0.1 | grep -q 02:00:00:00:00:01"));
	daemon_checksum_and_carrier(&b, mac);
	/* The toolstack unplugs the vif (online=0, the backend closes): the
	 * vif closes, eth0 disappears, the daemon keeps running. (A backend
	 * that closes while online is reconnected to: front_reconnect.sh.) */
	w(be, "online", "0");
	back_close(&b, false);
	CU_ASSERT_TRUE(ns_until("! ip link show eth0"));
	CU_ASSERT_EQUAL(kill(daemon, 0), 0);
}

static void daemon_pumps_frames(bool offload)
{
	char name[32], cmd[96];
	uint32_t saved = guest;
	pid_t daemon;

	snprintf(name, sizeof(name), "nfdevd%d", (int)getpid());
	CU_ASSERT_FATAL(xnx_sim_domain_create(name, 0, &guest) == 0);
	snprintf(netns, sizeof(netns), "nfd%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s", netns);
	CU_ASSERT_FATAL(system(cmd) == 0);
	add_vif(false);
	expect_offload = offload;
	daemon = daemon_pid = start_daemon();
	if (daemon > 0) {
		daemon_scenario(daemon);
		kill(daemon, SIGTERM);
		CU_ASSERT_TRUE(guest_ok(daemon));	/* clean exit on SIGTERM */
		daemon_pid = 0;
	}
	daemon_cleanup();
	xnx_sim_domain_destroy(guest);
	guest = saved;
	expect_offload = false;
}

/* xnetfront by default (offloads on) and with --no-offload. */
static void daemon_pumps_frames_and_tears_down(void) { daemon_pumps_frames(true); }
static void daemon_no_offload(void) { daemon_pumps_frames(false); }

/* Two vifs; the first leaves xenstore while its backend sits Connected and
 * keeps its pages mapped. Closing it waits for that backend, but not at the
 * expense of the second vif, which keeps carrying frames meanwhile. */
static void daemon_serves_others_while_one_closes(void)
{
	static const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };
	char name[32], cmd[96], fe_a[128], be_a[128];
	uint32_t saved = guest;
	struct back a, b;
	uint8_t reply[60];
	pid_t daemon;

	snprintf(name, sizeof(name), "nfdeve%d", (int)getpid());
	CU_ASSERT_FATAL(xnx_sim_domain_create(name, 0, &guest) == 0);
	snprintf(netns, sizeof(netns), "nfe%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s", netns);
	CU_ASSERT_FATAL(system(cmd) == 0);
	add_vif(false);
	snprintf(fe_a, sizeof(fe_a), "%s", fe);
	snprintf(be_a, sizeof(be_a), "%s", be);
	add_vif(false);
	daemon = daemon_pid = start_daemon();
	CU_ASSERT_FATAL(daemon > 0);
	bool up_b = back_connect(&b, false);
	snprintf(fe, sizeof(fe), "%s", fe_a);
	snprintf(be, sizeof(be), "%s", be_a);
	bool up_a = back_connect(&a, false);
	CU_ASSERT_TRUE(up_a && up_b);
	if (up_a && up_b) {
		CU_ASSERT_TRUE(ns_until("ip link show eth1"));
		CU_ASSERT_TRUE(xs_rm(xs, XBT_NULL, fe_a));
		uint64_t t0 = xnx_now_ns();
		CU_ASSERT_TRUE(ns_until("! ip link show eth0"));
		CU_ASSERT_EQUAL(in_ns("ip addr add 198.18.0.2/24 dev eth1"), 0);
		CU_ASSERT_EQUAL(in_ns("ping -c 1 -W 2 198.18.0.1 </dev/null & exit 0"), 0);
		CU_ASSERT_TRUE(back_find_arp(&b, mac));
		back_give_rx(&b, reply, arp_reply(reply, mac));
		back_push_rx(&b);
		CU_ASSERT_TRUE(ns_until("ip neigh show 198.18.0.1 | grep -q 02:00:00:00:00:01"));
		/* Well inside the 5 s the daemon gives the first backend. */
		CU_ASSERT(xnx_now_ns() - t0 < 4000000000ull);
	}
	/* Let the first backend go; the daemon is still fine. */
	if (up_a) {
		xnx_gnttab_unmap(a.gt, a.txs, 1);
		xnx_gnttab_unmap(a.gt, a.rxs, 1);
		xnx_evtchn_close(a.ev);
		xnx_gnttab_close(a.gt);
	}
	CU_ASSERT_EQUAL(kill(daemon, 0), 0);
	if (up_b) {
		xnx_gnttab_unmap(b.gt, b.txs, 1);
		xnx_gnttab_unmap(b.gt, b.rxs, 1);
		xnx_evtchn_close(b.ev);
		xnx_gnttab_close(b.gt);
	}
	kill(daemon, SIGTERM);
	CU_ASSERT_TRUE(guest_ok(daemon));
	daemon_pid = 0;
	daemon_cleanup();
	xnx_sim_domain_destroy(guest);
	guest = saved;
}

int main(void)
{
	CU_pSuite s;

	xnx_log_open("test_netfront_dev", 0, XNX_LOG_WARN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("netfront_dev", suite_init, suite_clean);
	CU_add_test(s, "dev_traffic_one_channel", dev_traffic_one_channel);
	CU_add_test(s, "dev_traffic_split_channels", dev_traffic_split_channels);
	CU_add_test(s, "dev_traffic_poll_env", dev_traffic_poll_env);
	CU_add_test(s, "dev_traffic_poll_env_off", dev_traffic_poll_env_off);
	CU_add_test(s, "dev_traffic_poll_default", dev_traffic_poll_default);
	CU_add_test(s, "dev_traffic_poll_cfg_off", dev_traffic_poll_cfg_off);
	CU_add_test(s, "dev_poll_setting", dev_poll_setting);
	CU_add_test(s, "dev_bulk_both_ways", dev_bulk_both_ways);
	CU_add_test(s, "dev_offload_keys", dev_offload_keys);
	CU_add_test(s, "dev_hostile_response_breaks_device",
		    dev_hostile_response_breaks_device);
	CU_add_test(s, "dev_backend_closing_closes_device",
		    dev_backend_closing_closes_device);
	CU_add_test(s, "dev_backend_unbinding_closes_device",
		    dev_backend_unbinding_closes_device);
	CU_add_test(s, "dev_reconnect_table", dev_reconnect_table);
	CU_add_test(s, "dev_reconnect_not_when_unplugged",
		    dev_reconnect_not_when_unplugged);
	CU_add_test(s, "dev_reopen_after_close", dev_reopen_after_close);
	CU_add_test(s, "dev_reopen_after_crash", dev_reopen_after_crash);
	CU_add_test(s, "dev_open_rejects_bad_mac", dev_open_rejects_bad_mac);
	CU_add_test(s, "dev_garbage_backend_values", dev_garbage_backend_values);
	CU_add_test(s, "dev_ctrl_static_grants", dev_ctrl_static_grants);
	CU_add_test(s, "dev_ctrl_static_grants_refused", dev_ctrl_static_grants_refused);
	CU_add_test(s, "dev_ctrl_not_offered", dev_ctrl_not_offered);
	CU_add_test(s, "dev_ctrl_bad_response_breaks_device",
		    dev_ctrl_bad_response_breaks_device);
	CU_add_test(s, "dev_mcast_control_table", dev_mcast_control_table);
	CU_add_test(s, "dev_multi_queue", dev_multi_queue);
	CU_add_test(s, "dev_multi_queue_fallback", dev_multi_queue_fallback);
	CU_add_test(s, "daemon_no_offload", daemon_no_offload);
	CU_add_test(s, "daemon_pumps_frames_and_tears_down",
		    daemon_pumps_frames_and_tears_down);
	CU_add_test(s, "daemon_serves_others_while_one_closes",
		    daemon_serves_others_while_one_closes);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	/* A suite whose init failed runs no test: count that as a failure. */
	if (CU_get_number_of_suites_failed())
		fails++;
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
