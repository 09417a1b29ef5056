/*
 * test_hostile_netfront.c — a hostile backend against libxnetfront on the
 * simulated hypervisor. A child process is the guest (xnf_open, send,
 * receive, close); this process is the toolstack and a backend driven by
 * hand that answers badly in one way per case: response ids out of range or
 * repeated, statuses out of range, sizes larger than the posted buffer,
 * response producers beyond the ring, event storms, its directory vanishing
 * mid-connection. Asserted: the device broken (or closed) with the reason in
 * the guest's error node and the frontend Closing/Closed, the guest process
 * alive and closing cleanly; that the TX pages granted to the backend
 * hold nothing of the guest's beyond the frame they carry; and that pages
 * the backend keeps mapped after a connection ends are never used again
 * (held, counted, bounded), nothing sent later showing in them.
 *
 * Needs xnet-simd from $XNET_BIN (default build/bin).
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cunit_run.h"
#include "netfront/queue.h"	/* before other Xen headers: interface version */
#include "netfront/xnetfront.h"
#include <xen/io/xenbus.h>
#include "xnx_log.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define TIMEOUT_MS 5000
#define PAGE XNF_PAGE_SIZE
#define S(x) (1u << XenbusState##x)

static char sim_dir[64];
static bool sim_started;
static uint32_t guest;
static struct xs_handle *xs;
static char fe[128], be[128];
static unsigned next_devid;

/* ---- the simulated host and the toolstack ------------------------------------ */

static int suite_init(void)
{
	const char *bin = getenv("XNET_BIN");
	char cmd[512], name[32];

	snprintf(sim_dir, sizeof(sim_dir), "/tmp/xnet-hosnf-XXXXXX");
	if (!mkdtemp(sim_dir))
		return -1;
	setenv("XNET_SIM_DIR", sim_dir, 1);
	setenv("XNET_PLATFORM", "sim", 1);
	unsetenv("XNET_DOMID");
	unsetenv("XENSTORED_PATH");
	/* xnet-simd daemonises once its sockets accept connections. */
	snprintf(cmd, sizeof(cmd), "'%s/xnet-simd' --dir '%s'", bin && *bin ? bin : "build/bin",
		 sim_dir);
	if (system(cmd) != 0)
		return -1;
	sim_started = true;
	snprintf(name, sizeof(name), "hosnf%d", (int)getpid());
	if (xnx_sim_domain_create(name, 0, &guest) < 0)
		return -1;
	xs = xnx_xs_open();
	return xs ? 0 : -1;
}

static int suite_clean(void)
{
	char path[128];
	FILE *f;
	int pid = 0;

	if (xs)
		xs_close(xs);
	snprintf(path, sizeof(path), "%s/xnet-simd.pid", sim_dir);
	f = sim_started ? fopen(path, "r") : NULL;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 300 && kill(pid, 0) == 0; i++)
			usleep(10000);
		if (kill(pid, 0) == 0)
			kill(pid, SIGKILL);
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", sim_dir);
	return system(path) == 0 ? 0 : 1;
}

static void w(const char *dir, const char *key, const char *val)
{
	CU_ASSERT_EQUAL(xnx_xs_printf(xs, XBT_NULL, dir, key, "%s", val), 0);
}

static void perms(const char *path, unsigned owner, unsigned reader)
{
	struct xs_permissions p[2] = {
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};

	CU_ASSERT_TRUE(xs_set_permissions(xs, XBT_NULL, path, p, 2));
}

/* A new vif with its backend already in InitWait (as after Linux probe). */
static unsigned add_vif(void)
{
	unsigned devid = next_devid++;
	char v[64];

	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%u", guest, devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%u", guest, devid);
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
	w(be, "state", "2");
	return devid;
}

/* Poll (bounded) until DIR/state is in MASK. */
static bool wait_state(const char *dir, unsigned mask)
{
	for (int t = 0; t < TIMEOUT_MS; t += 10) {
		unsigned long s;

		if (xnx_xs_read_uint(xs, XBT_NULL, dir, "state", 0, 8, &s) == 0 && (mask & (1u << s)))
			return true;
		usleep(10000);
	}
	return false;
}

/* ---- the hand-driven backend ---------------------------------------------------- */

struct back {
	xnx_gnttab *gt;
	xnx_evtchn *ev;
	void *txs, *rxs;
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	int port;
};

static bool back_connect(struct back *b)
{
	unsigned long txref, rxref, port;

	memset(b, 0, sizeof(*b));
	b->port = -1;
	if (!wait_state(fe, S(Initialised) | S(Connected)) ||
	    xnx_xs_read_uint(xs, XBT_NULL, fe, "tx-ring-ref", 0, UINT32_MAX, &txref) < 0 ||
	    xnx_xs_read_uint(xs, XBT_NULL, fe, "rx-ring-ref", 0, UINT32_MAX, &rxref) < 0 ||
	    xnx_xs_read_uint(xs, XBT_NULL, fe, "event-channel", 0, UINT32_MAX, &port) < 0)
		return false;
	b->gt = xnx_gnttab_open();
	b->ev = xnx_evtchn_open();
	if (!b->gt || !b->ev)
		return false;
	b->txs = xnx_gnttab_map_grant_ref(b->gt, guest, (uint32_t)txref, PROT_READ | PROT_WRITE);
	b->rxs = xnx_gnttab_map_grant_ref(b->gt, guest, (uint32_t)rxref, PROT_READ | PROT_WRITE);
	if (!b->txs || !b->rxs)
		return false;
	BACK_RING_INIT(&b->tx, (netif_tx_sring_t *)b->txs, PAGE);
	BACK_RING_INIT(&b->rx, (netif_rx_sring_t *)b->rxs, PAGE);
	b->port = xnx_evtchn_bind_interdomain(b->ev, guest, (evtchn_port_t)port);
	if (b->port < 0)
		return false;
	w(be, "state", "4");
	return wait_state(fe, S(Connected) | S(Closing) | S(Closed));
}

static void back_close(struct back *b)
{
	if (b->txs)
		xnx_gnttab_unmap(b->gt, b->txs, 1);
	if (b->rxs)
		xnx_gnttab_unmap(b->gt, b->rxs, 1);
	if (b->ev && b->port >= 0)
		xnx_evtchn_unbind(b->ev, (evtchn_port_t)b->port);
	if (b->ev)
		xnx_evtchn_close(b->ev);
	if (b->gt)
		xnx_gnttab_close(b->gt);
	xnx_xs_printf(xs, XBT_NULL, be, "state", "5");
	wait_state(fe, S(Closed));
	xnx_xs_printf(xs, XBT_NULL, be, "state", "6");
}

static void kick(struct back *b)
{
	xnx_evtchn_notify(b->ev, (evtchn_port_t)b->port);
}

/* Wait (bounded) until the frontend has N unconsumed TX requests. */
static bool wait_tx(struct back *b, RING_IDX n)
{
	for (int t = 0; t < TIMEOUT_MS; t += 2) {
		xenevtchn_port_or_error_t p;

		if (__atomic_load_n(&b->tx.sring->req_prod, __ATOMIC_ACQUIRE) - b->tx.req_cons >= n)
			return true;
		while ((p = xnx_evtchn_pending(b->ev)) >= 0)
			xnx_evtchn_unmask(b->ev, (evtchn_port_t)p);
		usleep(2000);
	}
	return false;
}

static netif_tx_request_t take_tx(struct back *b)
{
	netif_tx_request_t r;

	RING_COPY_REQUEST(&b->tx, b->tx.req_cons, &r);
	b->tx.req_cons++;
	return r;
}

static void answer_tx(struct back *b, uint16_t id, int16_t status)
{
	*RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt) =
		(netif_tx_response_t){ .id = id, .status = status };
	b->tx.rsp_prod_pvt++;
}

static void push_tx(struct back *b)
{
	int notify;

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->tx, notify);
	(void)notify;
	kick(b);
}

static void answer_rx(struct back *b, uint16_t id, uint16_t off, int16_t status)
{
	int notify;

	*RING_GET_RESPONSE(&b->rx, b->rx.rsp_prod_pvt) =
		(netif_rx_response_t){ .id = id, .offset = off, .status = status };
	b->rx.rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->rx, notify);
	(void)notify;
	kick(b);
}

/* ---- the guest (child) ------------------------------------------------------------ */

struct gcase {
	const char *name;
	unsigned nframes;	/* sent at once after connecting */
	unsigned len;
	enum xnf_state want;	/* XNF_BROKEN, XNF_CLOSED, or XNF_CONNECTED (survives) */
	const char *reason;	/* part of the broken reason, or NULL */
};

#define GFAIL(...) do { fprintf(stderr, "\n  guest: " __VA_ARGS__); \
			fprintf(stderr, "\n"); _exit(1); } while (0)

/* Guest: write hostile-survived, for the backend to go on. */
static void guest_survived(unsigned devid)
{
	struct xs_handle *h = xnx_xs_open();
	char dir[96];

	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif/%u", guest, devid);
	if (!h || xnx_xs_printf(h, XBT_NULL, dir, "hostile-survived", "1") < 0)
		GFAIL("writing hostile-survived");
	xs_close(h);
}

static void guest_run(unsigned devid, const struct gcase *c)
{
	char id[16];
	static uint8_t buf[2048];
	struct xnf_frame f = { .data = buf, .len = c->len };
	struct xnf_dev *dev;
	uint64_t end;

	snprintf(id, sizeof(id), "%u", guest);
	setenv("XNET_DOMID", id, 1);
	dev = xnf_open(devid);
	if (!dev || xnf_wait_connected(dev, TIMEOUT_MS) < 0)
		GFAIL("not connected: %s", strerror(errno));
	memset(buf, 0x5a, sizeof(buf));
	for (unsigned i = 0; i < c->nframes; i++)
		if (xnf_send_burst(dev, &f, 1) != 1)
			GFAIL("send %u refused", i);
	end = xnx_now_ns() + (c->want == XNF_CONNECTED ? 1000 : TIMEOUT_MS) * 1000000ull;
	while (xnf_state(dev) == XNF_CONNECTED && xnx_now_ns() < end) {
		struct xnf_frame in = { .data = buf, .cap = sizeof(buf) };

		xnf_wait(dev, 50);
		if (xnf_state(dev) == XNF_CONNECTED)
			xnf_recv_burst(dev, &in, 1);
	}
	if (xnf_state(dev) != c->want)
		GFAIL("%s: state %d, want %d (%s)", c->name, xnf_state(dev), c->want,
		      xnf_broken_reason(dev));
	if (c->reason && !strstr(xnf_broken_reason(dev), c->reason))
		GFAIL("%s: reason '%s', want '%s'", c->name, xnf_broken_reason(dev), c->reason);
	if (c->want != XNF_CONNECTED && xnf_send_burst(dev, &f, 1) != -1)
		GFAIL("%s: a broken device still sends", c->name);
	/* Tell the backend we came through, so it closes only now. */
	if (c->want == XNF_CONNECTED)
		guest_survived(devid);
	xnf_close(dev);
	_exit(0);
}

static pid_t spawn_guest(unsigned devid, const struct gcase *c)
{
	pid_t pid = fork();

	if (pid == 0)
		guest_run(devid, c);
	return pid;
}

static bool guest_ok(pid_t pid)
{
	int st;

	for (int t = 0; t < 3 * TIMEOUT_MS; t += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return false;
}

/* The reason in the guest's error node contains WANT (waited for, bounded). */
static bool error_node_has(unsigned devid, const char *want)
{
	char dir[96];
	char *e = NULL;
	bool ok = false;

	snprintf(dir, sizeof(dir), "/local/domain/%u/error/device/vif/%u", guest, devid);
	for (int t = 0; t < TIMEOUT_MS && !ok; t += 10) {
		free(e);
		e = xnx_xs_read(xs, XBT_NULL, dir, "error");
		ok = e && (!want || strstr(e, want));
		if (!ok)
			usleep(10000);
	}
	if (!ok)
		printf("\n  error node: '%s', want '%s'\n", e ? e : "(none)", want ? want : "*");
	free(e);
	return ok;
}

/* ---- the cases -------------------------------------------------------------------- */

typedef void (*misbehave_fn)(struct back *b);

static void tx_id_out_of_range(struct back *b)
{
	if (wait_tx(b, 1)) {
		take_tx(b);
		answer_tx(b, 0xffff, NETIF_RSP_OKAY);
		push_tx(b);
	}
}

static void tx_id_repeated(struct back *b)
{
	if (wait_tx(b, 2)) {
		netif_tx_request_t r = take_tx(b);

		take_tx(b);
		answer_tx(b, r.id, NETIF_RSP_OKAY);
		answer_tx(b, r.id, NETIF_RSP_OKAY);
		push_tx(b);
	}
}

static void tx_status_out_of_range(struct back *b)
{
	if (wait_tx(b, 1)) {
		answer_tx(b, take_tx(b).id, 77);
		push_tx(b);
	}
}

static void tx_rsp_prod_beyond_ring(struct back *b)
{
	if (wait_tx(b, 1)) {
		take_tx(b);
		b->tx.sring->rsp_prod = b->tx.rsp_prod_pvt + 3 * XNF_TX_RING_SIZE;
		kick(b);
	}
}

/* Wait (bounded) until the frontend has posted N RX buffers not taken. */
static bool wait_rx(struct back *b, RING_IDX n)
{
	for (int t = 0; t < TIMEOUT_MS; t += 10) {
		if (__atomic_load_n(&b->rx.sring->req_prod, __ATOMIC_ACQUIRE) - b->rx.req_cons >= n)
			return true;
		usleep(10000);
	}
	return false;
}

static netif_rx_request_t take_rx(struct back *b)
{
	netif_rx_request_t r;

	RING_COPY_REQUEST(&b->rx, b->rx.req_cons, &r);
	b->rx.req_cons++;
	return r;
}

/* An RX response for the first posted buffer, with SIZE bytes at OFF. */
static void rx_bad(struct back *b, int id_delta, uint16_t off, int16_t size)
{
	if (wait_rx(b, 1))
		answer_rx(b, (uint16_t)(take_rx(b).id + id_delta), off, size);
}

static void rx_size_beyond_buffer(struct back *b) { rx_bad(b, 0, 0, 5000); }
static void rx_offset_size_past_page(struct back *b) { rx_bad(b, 0, 4000, 200); }
static void rx_id_out_of_range(struct back *b) { rx_bad(b, 4000, 0, 60); }
static void rx_status_out_of_range(struct back *b) { rx_bad(b, 0, 0, -77); }

/* Two buffers taken, both answered with the first one's id. */
static void rx_id_repeated(struct back *b)
{
	if (wait_rx(b, 2)) {
		netif_rx_request_t r = take_rx(b);

		take_rx(b);
		answer_rx(b, r.id, 0, 60);
		answer_rx(b, r.id, 0, 60);
	}
}

static void rx_rsp_prod_beyond_ring(struct back *b)
{
	b->rx.sring->rsp_prod = b->rx.rsp_prod_pvt + 5 * XNF_RX_RING_SIZE;
	kick(b);
}

/* 20000 events with nothing behind them, then a proper answer. */
static void event_storm(struct back *b)
{
	for (int i = 0; i < 20000; i++)
		kick(b);
	if (wait_tx(b, 1)) {
		answer_tx(b, take_tx(b).id, NETIF_RSP_OKAY);
		push_tx(b);
	}
}

/* The backend directory disappears while connected. */
static void backend_vanishes(struct back *b)
{
	if (wait_tx(b, 1))	/* the guest is connected and sending */
		xnx_xs_rm(xs, XBT_NULL, be, NULL);
}

struct hcase {
	struct gcase g;
	misbehave_fn fn;
};

static const struct hcase hcases[] = {
	{ { "tx_id_out_of_range", 1, 60, XNF_BROKEN, "out of range" }, tx_id_out_of_range },
	{ { "tx_id_repeated", 2, 60, XNF_BROKEN, NULL }, tx_id_repeated },
	{ { "tx_status_out_of_range", 1, 60, XNF_BROKEN, NULL }, tx_status_out_of_range },
	{ { "tx_rsp_prod_beyond_ring", 1, 60, XNF_BROKEN, NULL }, tx_rsp_prod_beyond_ring },
	{ { "rx_size_beyond_buffer", 0, 60, XNF_BROKEN, NULL }, rx_size_beyond_buffer },
	{ { "rx_offset_size_past_page", 0, 60, XNF_BROKEN, NULL }, rx_offset_size_past_page },
	{ { "rx_id_out_of_range", 0, 60, XNF_BROKEN, NULL }, rx_id_out_of_range },
	{ { "rx_status_out_of_range", 0, 60, XNF_BROKEN, NULL }, rx_status_out_of_range },
	{ { "rx_id_repeated", 0, 60, XNF_BROKEN, NULL }, rx_id_repeated },
	{ { "rx_rsp_prod_beyond_ring", 0, 60, XNF_BROKEN, NULL }, rx_rsp_prod_beyond_ring },
	{ { "event_storm", 1, 60, XNF_CONNECTED, NULL }, event_storm },
	{ { "backend_vanishes", 1, 60, XNF_CLOSED, NULL }, backend_vanishes },
};

/* Wait (bounded) for the guest's hostile-survived key. */
static bool guest_said_survived(void)
{
	for (int t = 0; t < 3 * TIMEOUT_MS; t += 10) {
		char *v = xnx_xs_read(xs, XBT_NULL, fe, "hostile-survived");
		bool done = v && strcmp(v, "1") == 0;

		free(v);
		if (done)
			return true;
		usleep(10000);
	}
	return false;
}

static void run_case(const struct hcase *c)
{
	unsigned devid = add_vif();
	pid_t pid = spawn_guest(devid, &c->g);
	struct back b;

	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b)) {
		CU_FAIL("handshake with the guest failed");
		kill(pid, SIGKILL);
		guest_ok(pid);
		back_close(&b);
		return;
	}
	c->fn(&b);
	if (c->g.want == XNF_BROKEN) {
		CU_ASSERT(wait_state(fe, S(Closing) | S(Closed)));
		CU_ASSERT(error_node_has(devid, c->g.reason));
	} else if (c->g.want == XNF_CLOSED) {
		CU_ASSERT(wait_state(fe, S(Closing) | S(Closed)));
	} else {
		/* it was still Connected after the storm */
		CU_ASSERT(guest_said_survived());
	}
	back_close(&b);	/* let go of its pages so that it can unshare them */
	CU_ASSERT(guest_ok(pid));
}

#define HCASE(i) static void test_##i(void) { run_case(&hcases[i]); }
HCASE(0) HCASE(1) HCASE(2) HCASE(3) HCASE(4) HCASE(5) HCASE(6) HCASE(7) HCASE(8)
HCASE(9) HCASE(10) HCASE(11)

/* ---- no leftovers in the pages granted to the backend ------------------------------ */

#define LONG_FRAMES 300
#define SHORT_FRAMES 300

/* Guest: open DEVID with CFG and wait until connected. */
static struct xnf_dev *guest_connect(unsigned devid, const struct xnf_config *cfg)
{
	char id[16];
	struct xnf_dev *dev;

	snprintf(id, sizeof(id), "%u", guest);
	setenv("XNET_DOMID", id, 1);
	dev = xnf_open_config(devid, cfg);
	if (!dev || xnf_wait_connected(dev, TIMEOUT_MS) < 0)
		GFAIL("not connected");
	return dev;
}

/* Guest: send frame I of LEN bytes of BYTE, waiting for room (bounded). */
static void guest_send(struct xnf_dev *dev, unsigned i, unsigned len, uint8_t byte)
{
	static uint8_t buf[1514];
	struct xnf_frame f = { .data = buf, .len = len };
	uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;

	memset(buf, byte, sizeof(buf));
	while (xnf_send_burst(dev, &f, 1) != 1) {
		if (xnf_state(dev) != XNF_CONNECTED || xnx_now_ns() > end)
			GFAIL("send %u: state %d", i, xnf_state(dev));
		xnf_wait(dev, 20);
	}
}

/* Guest: LONG_FRAMES frames of 1514 bytes filled with 0xA5, then
 * SHORT_FRAMES of 60 bytes of 0x3C, each after the previous completed. */
static void guest_long_then_short(unsigned devid)
{
	struct xnf_dev *dev = guest_connect(devid, NULL);

	for (unsigned i = 0; i < LONG_FRAMES + SHORT_FRAMES; i++) {
		bool lng = i < LONG_FRAMES;

		guest_send(dev, i, lng ? 1514 : 60, lng ? 0xa5 : 0x3c);
	}
	for (uint64_t end = xnx_now_ns() + TIMEOUT_MS * 1000000ull;
	     xnf_state(dev) == XNF_CONNECTED && xnx_now_ns() < end;)
		xnf_wait(dev, 50);	/* until the backend closes us */
	xnf_close(dev);
	_exit(0);
}

/* Bytes of the TX page of R outside the frame that are not zero. */
static unsigned leftovers(struct back *b, const netif_tx_request_t *r)
{
	uint8_t *p = xnx_gnttab_map_grant_ref(b->gt, guest, r->gref, PROT_READ);
	unsigned n = 0;

	if (!p)
		return 0;	/* not granted (any more): nothing exposed */
	for (unsigned i = 0; i < PAGE; i++)
		if ((i < r->offset || i >= (unsigned)r->offset + r->size) && p[i] != 0)
			n++;
	xnx_gnttab_unmap(b->gt, p, 1);
	return n;
}

static void test_tx_pages_hold_only_the_frame(void)
{
	unsigned devid = add_vif();
	pid_t pid = fork();
	unsigned bad = 0, bad_frames = 0, seen = 0;
	struct back b;

	if (pid == 0)
		guest_long_then_short(devid);
	CU_ASSERT_FATAL(pid > 0);
	if (!back_connect(&b)) {
		CU_FAIL("handshake with the guest failed");
		kill(pid, SIGKILL);
		guest_ok(pid);
		back_close(&b);
		return;
	}
	while (seen < LONG_FRAMES + SHORT_FRAMES && wait_tx(&b, 1)) {
		netif_tx_request_t r = take_tx(&b);
		unsigned n = leftovers(&b, &r);

		bad += n;
		bad_frames += n != 0;
		answer_tx(&b, r.id, NETIF_RSP_OKAY);
		push_tx(&b);
		seen++;
	}
	printf("\n  %u frames, %u with bytes outside the frame (%u bytes)\n", seen, bad_frames,
	       bad);
	CU_ASSERT_EQUAL(seen, LONG_FRAMES + SHORT_FRAMES);
	/* XSA-403 class: a bounce page must not show the backend what an
	 * earlier, longer frame left in it. */
	CU_ASSERT_EQUAL(bad, 0);
	back_close(&b);
	CU_ASSERT(guest_ok(pid));
}


/* ---- pages the backend keeps mapped (the XSA-396 class) ----------------------------- */

#define KEPT_FRAMES (2 * XNF_TX_RING_SIZE)
#define OLD_BYTE 0xa1		/* the frame the backend keeps the page of */
#define NEW_BYTE 0xb2		/* what the guest sends after the reconnect */
#define MARK_BYTE 0x77		/* the backend's writes to the new RX buffers */

/* Guest: (bounded) xnf_wait until COND holds. */
#define GUEST_UNTIL(dev, cond)                                                   \
	for (uint64_t end_ = xnx_now_ns() + 3ull * TIMEOUT_MS * 1000000ull;          \
	     !(cond) && xnx_now_ns() < end_;)                                         \
		xnf_wait(dev, 20)

/* Guest: wait (bounded) for the device to close, then shut it down and
 * close it: xnf_close must answer WANT_ERR (0: none) at once. */
static void guest_close_now(struct xnf_dev *dev, int want_err)
{
	uint64_t t0;
	int rc;

	GUEST_UNTIL(dev, xnf_state(dev) == XNF_CLOSED || xnf_state(dev) == XNF_BROKEN);
	xnf_shutdown(dev);
	t0 = xnx_now_ns();
	errno = 0;
	rc = xnf_close(dev);
	if (want_err ? rc != -1 || errno != want_err : rc != 0)
		GFAIL("close: %d (%s), want error %d", rc, strerror(errno), want_err);
	if (xnx_now_ns() - t0 > TIMEOUT_MS * 1000000ull)
		GFAIL("close after shutdown waited %llu ms for the pages",
		      (unsigned long long)((xnx_now_ns() - t0) / 1000000));
}

/* Guest of grant_kept_mapped: a frame of OLD_BYTE; after the reconnect
 * the two pages the backend kept are held and KEPT_FRAMES frames of
 * NEW_BYTE go; once the backend lets go of one, only the other is held;
 * closing with it still mapped gives it up at once (EBUSY). */
static void guest_kept(unsigned devid)
{
	const struct xnf_config cfg = { .flags = XNF_CFG_RECONNECT };
	struct xnf_dev *dev = guest_connect(devid, &cfg);

	guest_send(dev, 0, 1514, OLD_BYTE);
	GUEST_UNTIL(dev, xnf_reconnects(dev) == 1 && xnf_state(dev) == XNF_CONNECTED);
	if (xnf_state(dev) != XNF_CONNECTED)
		GFAIL("not connected again: state %d", xnf_state(dev));
	if (xnf_pages_held(dev) != 2)
		GFAIL("%u pages held after the reconnect, want the 2 the backend maps",
		      xnf_pages_held(dev));
	for (unsigned i = 0; i < KEPT_FRAMES; i++)
		guest_send(dev, i, 1514, NEW_BYTE);
	GUEST_UNTIL(dev, xnf_pages_held(dev) == 1);
	if (xnf_pages_held(dev) != 1 || xnf_pages_abandoned(dev) != 0)
		GFAIL("%u held, %u abandoned once the backend let go of one page, want 1, 0",
		      xnf_pages_held(dev), xnf_pages_abandoned(dev));
	guest_survived(devid);
	guest_close_now(dev, EBUSY);
	_exit(0);
}

/* Bytes of PAGE that differ from a page holding only R's frame of BYTE. */
static unsigned not_the_frame(const uint8_t *page, const netif_tx_request_t *r, uint8_t byte)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PAGE; i++) {
		bool in = i >= r->offset && i < (unsigned)r->offset + r->size;

		n += page[i] != (in ? byte : 0);
	}
	return n;
}

static unsigned count_byte(const uint8_t *page, uint8_t byte)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PAGE; i++)
		n += page[i] == byte;
	return n;
}

/* Write MARK_BYTE over every RX buffer posted and not taken. */
static void mark_rx_buffers(struct back *b)
{
	RING_IDX prod = __atomic_load_n(&b->rx.sring->req_prod, __ATOMIC_ACQUIRE);

	for (RING_IDX i = b->rx.req_cons; i != prod; i++) {
		netif_rx_request_t r;
		uint8_t *p;

		RING_COPY_REQUEST(&b->rx, i, &r);
		p = xnx_gnttab_map_grant_ref(b->gt, guest, r.gref, PROT_READ | PROT_WRITE);
		CU_ASSERT(p != NULL);
		if (p) {
			memset(p, MARK_BYTE, PAGE);
			xnx_gnttab_unmap(b->gt, p, 1);
		}
	}
}

/* The backend maps a TX page and an RX buffer of the first connection on a
 * handle of its own and keeps them through a reconnect and the close: the
 * guest must hold those pages (never reuse them), connect again with new
 * ones, free one once it is let go, give the other up at close, and nothing
 * it sends later may show in either (read through the kept mappings). */
static void test_grant_kept_mapped(void)
{
	unsigned devid = add_vif(), seen = 0;
	xnx_gnttab *kg = xnx_gnttab_open();
	pid_t pid = fork();
	netif_tx_request_t r = { 0 };
	uint8_t *ktx = NULL, *krx = NULL;
	struct back b;

	if (pid == 0)
		guest_kept(devid);
	CU_ASSERT_FATAL(pid > 0 && kg);
	if (back_connect(&b) && wait_tx(&b, 1) && wait_rx(&b, 1)) {
		netif_rx_request_t rr = take_rx(&b);

		r = take_tx(&b);
		ktx = xnx_gnttab_map_grant_ref(kg, guest, r.gref, PROT_READ);
		krx = xnx_gnttab_map_grant_ref(kg, guest, rr.gref, PROT_READ | PROT_WRITE);
		answer_tx(&b, r.id, NETIF_RSP_OKAY);
		push_tx(&b);
	}
	CU_ASSERT(ktx && krx);
	if (ktx && krx) {
		CU_ASSERT_EQUAL(not_the_frame(ktx, &r, OLD_BYTE), 0);
		/* The first connection ends with both pages still mapped. */
		back_close(&b);
		w(be, "state", "2");
		CU_ASSERT(back_connect(&b));
		while (seen < KEPT_FRAMES && wait_tx(&b, 1)) {
			answer_tx(&b, take_tx(&b).id, NETIF_RSP_OKAY);
			push_tx(&b);
			seen++;
		}
		CU_ASSERT_EQUAL(seen, KEPT_FRAMES);
		mark_rx_buffers(&b);
		/* Neither page was used again: the old frame alone in one,
		 * nothing sent or received since in the other. */
		CU_ASSERT_EQUAL(not_the_frame(ktx, &r, OLD_BYTE), 0);
		CU_ASSERT_EQUAL(count_byte(krx, NEW_BYTE) + count_byte(krx, MARK_BYTE), 0);
		xnx_gnttab_unmap(kg, krx, 1);
		CU_ASSERT(guest_said_survived());
		/* Unplugged with the TX page still mapped. */
		w(be, "online", "0");
		w(be, "state", "5");
	}
	CU_ASSERT(guest_ok(pid));
	if (ktx) {
		/* The guest is gone; the page is still only the old frame. */
		CU_ASSERT_EQUAL(not_the_frame(ktx, &r, OLD_BYTE), 0);
		xnx_gnttab_unmap(kg, ktx, 1);
	}
	xnx_gnttab_close(kg);
	back_close(&b);
}

/* Guest of backend_restarts_holding_rings: reconnected in spite of the
 * backend holding on to the old rings (2 held), a frame goes; once the
 * backend lets go of them, nothing is held and the close is clean. */
static void guest_rings_held(unsigned devid)
{
	const struct xnf_config cfg = { .flags = XNF_CFG_RECONNECT };
	struct xnf_dev *dev = guest_connect(devid, &cfg);

	guest_send(dev, 0, 60, OLD_BYTE);	/* tells the backend we are connected */
	GUEST_UNTIL(dev, xnf_reconnects(dev) == 1 && xnf_state(dev) == XNF_CONNECTED);
	if (xnf_state(dev) != XNF_CONNECTED || xnf_pages_held(dev) != 2)
		GFAIL("state %d, %u pages held after the reconnect, want connected and the "
		      "2 rings", xnf_state(dev), xnf_pages_held(dev));
	guest_send(dev, 0, 60, NEW_BYTE);
	GUEST_UNTIL(dev, xnf_pages_held(dev) == 0);
	if (xnf_pages_held(dev) != 0)
		GFAIL("%u pages still held after the backend let go", xnf_pages_held(dev));
	guest_survived(devid);
	guest_close_now(dev, 0);
	_exit(0);
}

/* The backend starts over (InitWait) while still mapping the rings and
 * bound to the channel, and never leaves: the guest waits for it a bounded
 * time only, holds the rings, connects anew. */
static void test_backend_restarts_holding_rings(void)
{
	unsigned devid = add_vif();
	pid_t pid = fork();
	struct back b, old;
	bool ok;

	if (pid == 0)
		guest_rings_held(devid);
	CU_ASSERT_FATAL(pid > 0);
	ok = back_connect(&old) && wait_tx(&old, 1);
	CU_ASSERT(ok);
	if (ok) {
		w(be, "state", "2");
		CU_ASSERT(wait_state(fe, S(Closing) | S(Closed)));
		CU_ASSERT(back_connect(&b));
		if (wait_tx(&b, 1)) {
			answer_tx(&b, take_tx(&b).id, NETIF_RSP_OKAY);
			push_tx(&b);
		}
		xnx_gnttab_unmap(old.gt, old.txs, 1);
		xnx_gnttab_unmap(old.gt, old.rxs, 1);
		old.txs = old.rxs = NULL;
		CU_ASSERT(guest_said_survived());
		w(be, "online", "0");
		back_close(&b);
	}
	CU_ASSERT(guest_ok(pid));
	back_close(&old);
}

/* Guest of backend_keeps_every_page: two connections' pages all kept by
 * the backend; the third connection is refused, the count bounded. */
static void guest_every_page_kept(unsigned devid)
{
	const struct xnf_config cfg = { .flags = XNF_CFG_RECONNECT };
	struct xnf_dev *dev = guest_connect(devid, &cfg);
	unsigned per = 2 + XNF_TX_RING_SIZE + XNF_RX_RING_SIZE;

	GUEST_UNTIL(dev, xnf_state(dev) == XNF_BROKEN);
	if (xnf_state(dev) != XNF_BROKEN || !strstr(xnf_broken_reason(dev), "still maps"))
		GFAIL("state %d (%s), want broken: the backend keeps our pages",
		      xnf_state(dev), xnf_broken_reason(dev));
	if (xnf_reconnects(dev) != 2 || xnf_pages_held(dev) != 1024 ||
	    xnf_pages_abandoned(dev) != 2 * per - 1024)
		GFAIL("%u reconnects, %u held, %u abandoned; want 2, 1024, %u",
		      xnf_reconnects(dev), xnf_pages_held(dev), xnf_pages_abandoned(dev),
		      2 * per - 1024);
	guest_close_now(dev, EBUSY);
	_exit(0);
}

/* Map, read-only on K, every grant of the guest's that is ours to map:
 * a backend may try any reference. Returns how many. */
static unsigned map_every_grant(xnx_gnttab *k, void **maps, unsigned max)
{
	unsigned n = 0;

	for (uint32_t ref = 1; ref < 16384 && n < max; ref++) {
		void *p = xnx_gnttab_map_grant_ref(k, guest, ref, PROT_READ);

		if (p)
			maps[n++] = p;
	}
	return n;
}

/* Twice the backend connects, maps every page granted to it and keeps them
 * all through the close; it then offers InitWait a third time. */
static void test_backend_keeps_every_page(void)
{
	static void *maps[4096];
	unsigned devid = add_vif(), n = 0;
	xnx_gnttab *k = xnx_gnttab_open();
	pid_t pid = fork();
	struct back b;

	if (pid == 0)
		guest_every_page_kept(devid);
	CU_ASSERT_FATAL(pid > 0 && k);
	for (int round = 0; round < 2; round++) {
		unsigned before = n;

		if (!back_connect(&b)) {
			CU_FAIL("handshake with the guest failed");
			break;
		}
		n += map_every_grant(k, maps + n, 4096 - n);
		/* At least this connection's rings and pools (and the first
		 * connection's pages, still mapped, again). */
		CU_ASSERT(n - before >= 2 + XNF_TX_RING_SIZE + XNF_RX_RING_SIZE);
		back_close(&b);
		w(be, "state", "2");
	}
	CU_ASSERT(error_node_has(devid, "still maps"));
	CU_ASSERT(guest_ok(pid));
	for (unsigned i = 0; i < n; i++)
		xnx_gnttab_unmap(k, maps[i], 1);
	xnx_gnttab_close(k);
	xnx_xs_printf(xs, XBT_NULL, be, "state", "6");
}

#define C(i) { hcases[i].g.name, test_##i }
int main(void)
{
	/* Not static: the names are read from hcases at run time. */
	const struct cunit_case tests[] = {
		C(0), C(1), C(2), C(3), C(4), C(5), C(6), C(7), C(8), C(9), C(10), C(11),
		{ "tx_pages_hold_only_the_frame", test_tx_pages_hold_only_the_frame },
		{ "grant_kept_mapped", test_grant_kept_mapped },
		{ "backend_restarts_holding_rings", test_backend_restarts_holding_rings },
		{ "backend_keeps_every_page", test_backend_keeps_every_page },
	};

	xnx_log_open("test_hostile_netfront", 0, XNX_LOG_WARN);
	return CUNIT_RUN("hostile_netfront", suite_init, suite_clean, tests);
}
