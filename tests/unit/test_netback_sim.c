/*
 * test_netback_sim.c — xnetback as a process on the simulated hypervisor,
 * with a frontend driven by hand: the handshake and feature keys, a good
 * packet answered, one worker thread per queue, a protocol violation that
 * closes only the offending vif (error node, Closing) while the daemon and
 * the other vif carry on, and teardown when a guest domain is destroyed.
 *
 * Needs xnet-simd and xnetback in $XNET_BIN (default build/bin); skips if
 * they are missing. The frontend is this program re-executed with
 * --frontend, so that it acts as the guest's domain (XNET_DOMID).
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "netback/xnb.h"
#include "netback_simfront.h"
#include "tools/xnet.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define WAIT_MS 10000

static struct nbsf_sim sim;
static struct xs_handle *xs;
static bool ready;

/* ---- small helpers ---------------------------------------------------------- */

static char *rd(const char *dir, const char *key)
{
	return xnx_xs_read(xs, XBT_NULL, dir, key);
}

static bool wait_key(const char *dir, const char *key, const char *val)
{
	return nbsf_wait_key(xs, dir, key, val, WAIT_MS);
}

/* ---- the toolstack's part --------------------------------------------------- */

struct guest {
	const char *tag;
	uint32_t domid;
	char be[128], fe[128], vifname[IFNAMSIZ];
};

/* libxl's layout, reduced to what a backend reads. */
static int add_vif(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct guest *g = arg;
	char mac[18];
	int rc;

	snprintf(mac, sizeof(mac), "00:16:3e:00:00:%02x", g->domid);
	if ((rc = nbsf_write_vif(h, t, g->domid, g->be, g->fe, mac, g->vifname)) < 0 ||
	    (rc = xnx_xs_printf(h, t, g->be, "script", "vif-bridge")) < 0 ||
	    (rc = xnx_xs_printf(h, t, g->be, "type", "vif")) < 0)
		return rc;
	return xnx_xs_printf(h, t, g->be, "state", "1");
}

static int make_guest(struct guest *g, const char *tag)
{
	char name[64];

	g->tag = tag;
	snprintf(name, sizeof(name), "nbt-%d-%s", (int)getpid(), tag);
	if (xnx_sim_domain_create(name, 0, &g->domid) < 0)
		return -errno;
	snprintf(g->be, sizeof(g->be), "/local/domain/0/backend/vif/%u/0", g->domid);
	snprintf(g->fe, sizeof(g->fe), "/local/domain/%u/device/vif/0", g->domid);
	snprintf(g->vifname, sizeof(g->vifname), "nbt%d%s", (int)getpid() % 100000, tag);
	return xnx_xs_transact(xs, add_vif, g);
}

/* Run the frontend for G in MODE ("good" or "hostile"); its exit status. */
static int run_frontend(const struct guest *g, const char *mode)
{
	char self[PATH_MAX], dom[16], log[128];

	if (nbsf_self_exe(self, sizeof(self)) < 0)
		return -1;
	snprintf(dom, sizeof(dom), "%u", g->domid);
	snprintf(log, sizeof(log), "%s/frontend-%s.log", sim.dir, g->tag);
	char *argv[] = { self, "--frontend", dom, (char *)mode, (char *)g->fe, (char *)g->be, NULL };
	return nbsf_wait_child(nbsf_spawn(argv, log, dom), 2 * WAIT_MS);
}

/* ---- the frontend (re-executed child) ---------------------------------------- */

static bool be_state_is(struct xs_handle *h, const char *be, const char *v)
{
	char *s = xnx_xs_read(h, XBT_NULL, be, "state");
	bool ok = s && strcmp(s, v) == 0;

	free(s);
	return ok;
}

static bool fe_wait_be(struct xs_handle *h, const char *be, const char *v)
{
	for (int t = 0; t < WAIT_MS; t += 10) {
		if (be_state_is(h, be, v))
			return true;
		nbsf_sleep_ms(10);
	}
	return false;
}

struct pub { uint32_t tx, rx, port; const char *fe; bool garbage; };

/* Rings and channel in one transaction, then Initialised (as netfront). */
static int publish(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	const struct pub *p = arg;
	const char *fe = p->fe;
	int rc;

	if (p->garbage)
		rc = xnx_xs_printf(h, t, fe, "tx-ring-ref", "%ux", p->tx);
	else
		rc = xnx_xs_printf(h, t, fe, "tx-ring-ref", "%u", p->tx);
	if (rc < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, "rx-ring-ref", "%u", p->rx)) < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, "event-channel", "%u", p->port)) < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, "request-rx-copy", "1")) < 0 ||
	    (rc = xnx_xs_printf(h, t, fe, "feature-rx-notify", "1")) < 0)
		return rc;
	return xnx_xs_printf(h, t, fe, "state", "3");
}

/* Queue one TX request and kick the backend if it asked. */
static void push_req(netif_tx_front_ring_t *tx, xnx_evtchn *ev, int port, netif_tx_request_t r)
{
	int notify;

	*RING_GET_REQUEST(tx, tx->req_prod_pvt++) = r;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(tx, notify);
	if (notify)
		xnx_evtchn_notify(ev, (evtchn_port_t)port);
}

/* Wait for response number N (from 0) and check it is OKAY for ID. */
static bool got_okay(netif_tx_front_ring_t *tx, RING_IDX n, uint16_t id)
{
	netif_tx_response_t rsp;

	for (int t = 0; t < WAIT_MS && XNB_READ_ONCE(tx->sring->rsp_prod) == n; t += 10)
		nbsf_sleep_ms(10);
	if (XNB_READ_ONCE(tx->sring->rsp_prod) != n + 1)
		return false;
	xen_rmb(); /* response after its index: pairs with the backend's wmb in the push */
	RING_COPY_RESPONSE(tx, n, &rsp);
	return rsp.id == id && rsp.status == NETIF_RSP_OKAY;
}

/* Walk our own state: write S, wait for the backend to reach WANT. */
static bool fe_step(struct xs_handle *h, const char *fe, const char *be, const char *s,
		    const char *want)
{
	return xnx_xs_printf(h, XBT_NULL, fe, "state", "%s", s) == 0 && fe_wait_be(h, be, want);
}

/* Close and start over on the same pages, as a restarted frontend does. */
static int reconnect(struct xs_handle *h, xnx_evtchn *ev, struct pub *pub, uint8_t *rings,
		     netif_tx_front_ring_t *tx, uint32_t dref, const char *be)
{
	if (!fe_step(h, pub->fe, be, "5", "5") || !fe_step(h, pub->fe, be, "6", "6") ||
	    !fe_step(h, pub->fe, be, "1", "2"))
		return 30;
	SHARED_RING_INIT((netif_tx_sring_t *)rings);
	SHARED_RING_INIT((netif_rx_sring_t *)(rings + XNB_PAGE_SIZE));
	FRONT_RING_INIT(tx, (netif_tx_sring_t *)rings, XNB_PAGE_SIZE);
	if (xnx_xs_transact(h, publish, pub) < 0 || !fe_wait_be(h, be, "4"))
		return 31;
	push_req(tx, ev, (int)pub->port, (netif_tx_request_t){ .gref = dref, .id = 8, .size = 60 });
	return got_okay(tx, 0, 8) ? 0 : 32;
}

/* Push one TX request (good or hostile) and see how the backend answers;
 * or break the handshake (badstate, nokeys, garbage). */
static int frontend_io(struct xs_handle *h, xnx_gntshr *gs, xnx_evtchn *ev, const char *mode,
		       const char *fe, const char *be)
{
	netif_tx_front_ring_t tx;
	uint32_t refs[2], dref;
	uint8_t *rings, *data;
	struct pub pub;
	int port;

	if (strcmp(mode, "badstate") == 0)
		return fe_step(h, fe, be, "7", "5") ? 0 : 18;
	if (strcmp(mode, "nokeys") == 0)
		return fe_step(h, fe, be, "4", "5") ? 0 : 19;
	rings = xnx_gntshr_share_pages(gs, 0, 2, refs, 1);
	data = xnx_gntshr_share_pages(gs, 0, 1, &dref, 0);
	port = xnx_evtchn_bind_unbound_port(ev, 0);
	if (!rings || !data || port < 0)
		return 11;
	SHARED_RING_INIT((netif_tx_sring_t *)rings);
	SHARED_RING_INIT((netif_rx_sring_t *)(rings + XNB_PAGE_SIZE));
	FRONT_RING_INIT(&tx, (netif_tx_sring_t *)rings, XNB_PAGE_SIZE);
	pub = (struct pub){ .tx = refs[0], .rx = refs[1], .port = (uint32_t)port, .fe = fe,
			    .garbage = strcmp(mode, "garbage") == 0 };
	if (xnx_xs_transact(h, publish, &pub) < 0)
		return 12;
	if (pub.garbage)
		return fe_wait_be(h, be, "5") ? 0 : 17;
	if (!fe_wait_be(h, be, "4"))
		return 13;
	memset(data, 0xff, 12);
	data[12] = 0x88;
	data[13] = 0xb5;
	if (strcmp(mode, "hostile") == 0) {
		push_req(&tx, ev, port, (netif_tx_request_t){ .gref = dref, .offset = 4000,
							      .id = 9, .size = 200 });
		return fe_wait_be(h, be, "5") ? 0 : 14;
	}
	push_req(&tx, ev, port, (netif_tx_request_t){ .gref = dref, .id = 7, .size = 60 });
	if (!got_okay(&tx, 0, 7))
		return 15;
	return strcmp(mode, "reconnect") == 0 ? reconnect(h, ev, &pub, rings, &tx, dref, be) : 0;
}

struct mq_pub { uint32_t refs[4]; int ports[3]; const char *fe; };

/* Two queues: queue 0 with one channel, queue 1 with split channels. */
static int publish_mq(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	const struct mq_pub *p = arg;
	char q0[160], q1[160];
	int rc;

	snprintf(q0, sizeof(q0), "%s/queue-0", p->fe);
	snprintf(q1, sizeof(q1), "%s/queue-1", p->fe);
	if ((rc = xnx_xs_printf(h, t, p->fe, "multi-queue-num-queues", "2")) < 0 ||
	    (rc = xnx_xs_printf(h, t, q0, "tx-ring-ref", "%u", p->refs[0])) < 0 ||
	    (rc = xnx_xs_printf(h, t, q0, "rx-ring-ref", "%u", p->refs[1])) < 0 ||
	    (rc = xnx_xs_printf(h, t, q0, "event-channel", "%d", p->ports[0])) < 0 ||
	    (rc = xnx_xs_printf(h, t, q1, "tx-ring-ref", "%u", p->refs[2])) < 0 ||
	    (rc = xnx_xs_printf(h, t, q1, "rx-ring-ref", "%u", p->refs[3])) < 0 ||
	    (rc = xnx_xs_printf(h, t, q1, "event-channel-tx", "%d", p->ports[1])) < 0 ||
	    (rc = xnx_xs_printf(h, t, q1, "event-channel-rx", "%d", p->ports[2])) < 0 ||
	    (rc = xnx_xs_printf(h, t, p->fe, "request-rx-copy", "1")) < 0 ||
	    (rc = xnx_xs_printf(h, t, p->fe, "feature-rx-notify", "1")) < 0)
		return rc;
	return xnx_xs_printf(h, t, p->fe, "state", "3");
}

/* Multi-queue: a packet on queue 1 is answered on queue 1. */
static int frontend_mq(struct xs_handle *h, xnx_gntshr *gs, xnx_evtchn *ev, const char *fe,
		       const char *be)
{
	struct mq_pub pub = { .fe = fe };
	netif_tx_front_ring_t tx0, tx1;
	netif_tx_response_t rsp;
	uint8_t *rings, *data;
	uint32_t dref;
	int notify;

	rings = xnx_gntshr_share_pages(gs, 0, 4, pub.refs, 1);
	data = xnx_gntshr_share_pages(gs, 0, 1, &dref, 0);
	for (int i = 0; i < 3; i++)
		pub.ports[i] = xnx_evtchn_bind_unbound_port(ev, 0);
	if (!rings || !data || pub.ports[0] < 0 || pub.ports[1] < 0 || pub.ports[2] < 0)
		return 21;
	for (int i = 0; i < 4; i += 2) {
		SHARED_RING_INIT((netif_tx_sring_t *)(rings + i * XNB_PAGE_SIZE));
		SHARED_RING_INIT((netif_rx_sring_t *)(rings + (i + 1) * XNB_PAGE_SIZE));
	}
	FRONT_RING_INIT(&tx0, (netif_tx_sring_t *)rings, XNB_PAGE_SIZE);
	FRONT_RING_INIT(&tx1, (netif_tx_sring_t *)(rings + 2 * XNB_PAGE_SIZE), XNB_PAGE_SIZE);
	if (xnx_xs_transact(h, publish_mq, &pub) < 0)
		return 22;
	if (!fe_wait_be(h, be, "4"))
		return 23;
	memset(data, 0xff, 12);
	data[12] = 0x88;
	data[13] = 0xb5;
	*RING_GET_REQUEST(&tx1, tx1.req_prod_pvt++) =
		(netif_tx_request_t){ .gref = dref, .offset = 0, .id = 5, .size = 60 };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&tx1, notify);
	if (notify)
		xnx_evtchn_notify(ev, (evtchn_port_t)pub.ports[1]);
	for (int t = 0; t < WAIT_MS && XNB_READ_ONCE(tx1.sring->rsp_prod) == 0; t += 10)
		nbsf_sleep_ms(10);
	if (XNB_READ_ONCE(tx1.sring->rsp_prod) != 1 || XNB_READ_ONCE(tx0.sring->rsp_prod) != 0)
		return 24;
	xen_rmb(); /* response after its index: pairs with the backend's wmb in the push */
	RING_COPY_RESPONSE(&tx1, 0, &rsp);
	return rsp.id == 5 && rsp.status == NETIF_RSP_OKAY ? 0 : 25;
}

static int frontend_main(const char *mode, const char *fe, const char *be)
{
	struct xs_handle *h = xnx_xs_open();
	xnx_gntshr *gs = xnx_gntshr_open();
	xnx_evtchn *ev = xnx_evtchn_open();
	int rc = !h || !gs || !ev ? 10 :
		 strcmp(mode, "mq") == 0 ? frontend_mq(h, gs, ev, fe, be) :
		 frontend_io(h, gs, ev, mode, fe, be);

	/* Closing the handles ends our grants and channels (the sim keeps a
	 * page the backend still maps until it lets go). */
	if (ev)
		xnx_evtchn_close(ev);
	if (gs)
		xnx_gntshr_close(gs);
	if (h)
		xs_close(h);
	return rc;
}

/* ---- suite --------------------------------------------------------------------- */

static int suite_init(void)
{
	if (!nbsf_have_bins(&sim)) {
		printf("\n  (xnet-simd or xnetback not in %s: sim tests skipped)\n", sim.bindir);
		return 0;
	}
	if (nbsf_start(&sim, "/tmp/nbsim.XXXXXX", WAIT_MS) < 0)
		return 1;
	xs = sim.xs;
	ready = true;
	return 0;
}

static int suite_clean(void)
{
	xs = NULL;
	return nbsf_clean(&sim, WAIT_MS) < 0 ? 1 : 0;
}

static void test_sim_handshake_violation_isolated(void)
{
	static const char *const feats[][2] = {
		{ "feature-rx-copy", "1" }, { "feature-rx-flip", "0" }, { "feature-sg", "1" },
		{ "feature-split-event-channels", "1" }, { "feature-gso-tcpv4", "1" },
		{ "feature-gso-tcpv6", "1" }, { "feature-ipv6-csum-offload", "1" },
		{ "feature-multicast-control", "1" }, { "feature-dynamic-multicast-control", "1" },
	};
	struct guest good, bad, junk;
	char *err;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&good, "a"), 0);
	CU_ASSERT_EQUAL_FATAL(make_guest(&bad, "b"), 0);
	CU_ASSERT_EQUAL_FATAL(make_guest(&junk, "c"), 0);
	CU_ASSERT_FATAL(wait_key(good.be, "state", "2"));	/* InitWait */
	CU_ASSERT_FATAL(wait_key(bad.be, "state", "2"));
	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++)
		CU_ASSERT(wait_key(good.be, feats[i][0], feats[i][1]));
	CU_ASSERT(if_nametoindex(good.vifname) != 0);
	xnx_xs_printf(xs, XBT_NULL, good.be, "hotplug-status", "connected");
	xnx_xs_printf(xs, XBT_NULL, bad.be, "hotplug-status", "connected");
	CU_ASSERT_FATAL(wait_key(junk.be, "state", "2"));
	xnx_xs_printf(xs, XBT_NULL, junk.be, "hotplug-status", "connected");
	/* Hotplug done but the frontends still Initialising: nothing happens
	 * (a negative check: give the daemon a moment to do something wrong). */
	nbsf_sleep_ms(200);
	CU_ASSERT(nbsf_key_is(xs, good.be, "state", "2"));
	err = rd(good.be, "error");
	CU_ASSERT_PTR_NULL(err);
	free(err);

	/* The hostile frontend sends a slot reaching past its page. */
	CU_ASSERT_EQUAL(run_frontend(&bad, "hostile"), 0);
	CU_ASSERT(wait_key(bad.be, "state", "5"));	/* Closing */
	err = rd(bad.be, "error");
	CU_ASSERT(err && strstr(err, "past the page"));
	free(err);
	CU_ASSERT(nbsf_alive(sim.nb_pid));

	/* A garbage ring reference is refused by name; the vif closes. */
	CU_ASSERT_EQUAL(run_frontend(&junk, "garbage"), 0);
	err = rd(junk.be, "error");
	CU_ASSERT(err && strstr(err, "tx-ring-ref"));
	free(err);

	/* The other guest connects and is served as if nothing happened. */
	CU_ASSERT_EQUAL(run_frontend(&good, "good"), 0);
	CU_ASSERT(wait_key(good.be, "state", "4"));
	CU_ASSERT(nbsf_alive(sim.nb_pid));

	/* Destroying a domain tears its vif down: TAP gone, backend Closed. */
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(good.domid), 0);
	CU_ASSERT(wait_key(good.be, "state", "6"));
	CU_ASSERT_EQUAL(if_nametoindex(good.vifname), 0);
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(bad.domid), 0);
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(junk.domid), 0);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
}

/* The vif's queues as the stats socket shows them. */
struct mq_look {
	uint32_t domid;
	unsigned long long tid[2], segs[2];
};

static bool both_workers_seen(const void *arg)
{
	struct mq_look *m = (struct mq_look *)arg;
	char path[PATH_MAX], why[160];
	struct xnt_stats st;
	const struct xnt_vifstats *v;
	bool ok;

	snprintf(path, sizeof(path), "%s/xnetback.sock", sim.dir);
	if (xnt_stats_fetch(path, &st, why, sizeof(why)) < 0)
		return false;
	v = xnt_stats_find(&st, m->domid, 0);
	ok = v && v->nq == 2;
	for (unsigned i = 0; ok && i < 2; i++) {
		m->tid[i] = xnt_ctr(&v->q[i].c, "worker_tid");
		m->segs[i] = xnt_ctr(&v->q[i].c, "grant_copy_segs");
		ok = m->tid[i] != 0;
	}
	xnt_stats_free(&st);
	return ok;
}

static bool is_thread_of(pid_t pid, unsigned long long tid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/task/%llu", (int)pid, tid);
	return access(p, F_OK) == 0;
}

/* One worker thread per queue: two distinct threads of xnetback (not its
 * main thread), and the packet sent on queue 1 copied by queue 1 only. */
static void assert_worker_per_queue(const struct guest *g)
{
	struct mq_look m = { .domid = g->domid };

	CU_ASSERT_FATAL(nbsf_wait_until(both_workers_seen, &m, WAIT_MS));
	printf("\n  queue workers: tid %llu and %llu (xnetback pid %d)\n", m.tid[0], m.tid[1],
	       (int)sim.nb_pid);
	CU_ASSERT(m.tid[0] != m.tid[1]);
	CU_ASSERT(m.tid[0] != (unsigned long long)sim.nb_pid);
	CU_ASSERT(m.tid[1] != (unsigned long long)sim.nb_pid);
	CU_ASSERT(is_thread_of(sim.nb_pid, m.tid[0]));
	CU_ASSERT(is_thread_of(sim.nb_pid, m.tid[1]));
	CU_ASSERT_EQUAL(m.segs[0], 0);
	CU_ASSERT_EQUAL(m.segs[1], 1);
}

static void test_sim_multi_queue(void)
{
	unsigned long maxq = 0;
	struct guest g;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, "m"), 0);
	CU_ASSERT_FATAL(wait_key(g.be, "state", "2"));
	CU_ASSERT_EQUAL_FATAL(xnx_xs_read_uint(xs, XBT_NULL, g.be, "multi-queue-max-queues",
					       1, 8, &maxq), 0);
	xnx_xs_printf(xs, XBT_NULL, g.be, "hotplug-status", "connected");
	if (maxq < 2) {
		printf("\n  (one CPU: multi-queue-max-queues is 1; two-queue case skipped)\n");
	} else {
		CU_ASSERT_EQUAL(run_frontend(&g, "mq"), 0);
		CU_ASSERT(wait_key(g.be, "state", "4"));
		assert_worker_per_queue(&g);
	}
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(g.domid), 0);
	CU_ASSERT(wait_key(g.be, "state", "6"));
	CU_ASSERT_EQUAL(if_nametoindex(g.vifname), 0);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
}

/* Out-of-order and early states, then a frontend that restarts. */
static void test_sim_frontend_states(void)
{
	struct guest r, s7, s4;
	char *err;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&r, "r"), 0);
	CU_ASSERT_EQUAL_FATAL(make_guest(&s7, "s"), 0);
	CU_ASSERT_EQUAL_FATAL(make_guest(&s4, "t"), 0);
	CU_ASSERT_FATAL(wait_key(r.be, "state", "2") && wait_key(s7.be, "state", "2") &&
			wait_key(s4.be, "state", "2"));
	xnx_xs_printf(xs, XBT_NULL, r.be, "hotplug-status", "connected");
	xnx_xs_printf(xs, XBT_NULL, s7.be, "hotplug-status", "connected");
	xnx_xs_printf(xs, XBT_NULL, s4.be, "hotplug-status", "connected");

	CU_ASSERT_EQUAL(run_frontend(&s7, "badstate"), 0);	/* Reconfiguring */
	err = rd(s7.be, "error");
	CU_ASSERT(err && strstr(err, "saw state 7"));
	free(err);
	CU_ASSERT_EQUAL(run_frontend(&s4, "nokeys"), 0);	/* Connected, no rings */
	err = rd(s4.be, "error");
	CU_ASSERT(err && strstr(err, "tx-ring-ref: missing"));
	free(err);

	CU_ASSERT_EQUAL(run_frontend(&r, "reconnect"), 0);
	CU_ASSERT(wait_key(r.be, "state", "4"));
	CU_ASSERT(nbsf_alive(sim.nb_pid));
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(r.domid), 0);
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(s7.domid), 0);
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(s4.domid), 0);
	CU_ASSERT(wait_key(r.be, "state", "6"));
}

struct ifwait { const char *name; };

static bool if_gone(const void *arg)
{
	return if_nametoindex(((const struct ifwait *)arg)->name) == 0;
}

/* The toolstack removing the backend directory removes the device. */
static void test_sim_backend_dir_removed(void)
{
	struct guest g;
	struct ifwait w;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, "d"), 0);
	CU_ASSERT_FATAL(wait_key(g.be, "state", "2"));
	CU_ASSERT(if_nametoindex(g.vifname) != 0);
	CU_ASSERT_EQUAL(xnx_xs_rm(xs, XBT_NULL, g.be, NULL), 0);
	w.name = g.vifname;
	CU_ASSERT(nbsf_wait_until(if_gone, &w, WAIT_MS));
	CU_ASSERT(nbsf_alive(sim.nb_pid));
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(g.domid), 0);
}

int main(int argc, char **argv)
{
	CU_pSuite s;
	int failed;

	if (argc == 6 && strcmp(argv[1], "--frontend") == 0)
		return frontend_main(argv[3], argv[4], argv[5]);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("netback_sim", suite_init, suite_clean);
	CU_add_test(s, "sim_handshake_violation_isolated", test_sim_handshake_violation_isolated);
	CU_add_test(s, "sim_multi_queue", test_sim_multi_queue);
	CU_add_test(s, "sim_frontend_states", test_sim_frontend_states);
	CU_add_test(s, "sim_backend_dir_removed", test_sim_backend_dir_removed);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() || CU_get_number_of_tests_failed() ||
		 CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
