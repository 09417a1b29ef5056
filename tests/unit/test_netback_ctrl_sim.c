/*
 * test_netback_ctrl_sim.c — xnetback's control ring on the simulated
 * hypervisor, with a frontend driven by hand in a guest process that shares
 * its pages by gntshr: two queues plus a control ring; the frontend selects
 * Toeplitz, sets flags, key and a mapping table, and every frame sent into
 * the vif's TAP arrives on the queue mapping[hash % size] names, with the
 * hash in an extra-info slot. The RX buffers are static grants
 * (ADD_GREF_MAPPING); deleting them fails for those still posted; bad
 * requests get their netif.h statuses. And the static grant table against
 * the sim's grant table with a forked guest: pages mapped once at ADD (the
 * guest cannot unshare them), served by memcpy with no grant operation,
 * given back at DEL and at disconnect.
 *
 * Everything runs in a private network namespace. Needs xnet-simd and
 * xnetback in $XNET_BIN (default build/bin); skips if they are missing.
 * The frontend is this program re-executed with --frontend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include "cunit_run.h"

#include "netback/xnb_ctrl.h"
#include "netback_simfront.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define WAIT_MS 10000
#define NBUF 8		/* RX buffers per queue */
#define NFRAMES 24
#define MAP_SIZE 8

static const uint8_t rss_key[40] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};
static const uint32_t mapping[MAP_SIZE] = { 1, 0, 0, 1, 1, 0, 1, 0 };
static const uint8_t magic[8] = { 'x', 'n', 'b', 'c', 't', 'r', 'l', 0 };

static struct nbsf_sim sim;
static struct xs_handle *xs;
static bool ready;

static bool wait_key(struct xs_handle *h, const char *dir, const char *key, const char *val)
{
	return nbsf_wait_key(h, dir, key, val, WAIT_MS);
}

/* The expectation both sides agree on: frame I's TCP source port, the
 * hash of its header and the queue the table names. */
static uint16_t frame_sport(unsigned i)
{
	return (uint16_t)(1000 + 7919 * i);
}

static void frame_tuple(unsigned i, uint8_t in[12])
{
	static const uint8_t src[4] = { 10, 1, 2, 3 }, dst[4] = { 10, 9, 8, 7 };

	memcpy(in, src, 4);
	memcpy(in + 4, dst, 4);
	in[8] = (uint8_t)(frame_sport(i) >> 8);
	in[9] = (uint8_t)frame_sport(i);
	in[10] = 0x1f;	/* destination port 8080 */
	in[11] = 0x90;
}

static uint32_t frame_hash(unsigned i)
{
	uint8_t in[12];

	frame_tuple(i, in);
	return xnb_toeplitz(rss_key, sizeof(rss_key), in, sizeof(in));
}

/* ---- the frontend (re-executed child, in the guest's domain) --------------- */

struct fe {
	struct xs_handle *h;
	xnx_gntshr *gs;
	xnx_evtchn *ev;
	const char *dir, *be;
	uint32_t ring_refs[4], ctrl_ref, aux_refs[3], buf_refs[2 * NBUF];
	uint8_t *rings, *ctrl_page, *aux, *bufs;
	int ports[2], cport;
	netif_tx_front_ring_t tx[2];
	netif_rx_front_ring_t rx[2];
	xen_netif_ctrl_front_ring_t ctrl;
	uint16_t slot_buf[2][256];	/* buffer posted in each RX ring slot */
	unsigned got[2];	/* frames seen per queue */
};

enum { AUX_KEY, AUX_MAP, AUX_LIST };

static int publish(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	const struct fe *f = arg;
	char q[2][160];
	int rc = 0;

	for (int i = 0; i < 2 && rc == 0; i++) {
		snprintf(q[i], sizeof(q[i]), "%s/queue-%d", f->dir, i);
		if ((rc = xnx_xs_printf(h, t, q[i], "tx-ring-ref", "%u", f->ring_refs[2 * i])) < 0 ||
		    (rc = xnx_xs_printf(h, t, q[i], "rx-ring-ref", "%u", f->ring_refs[2 * i + 1])) < 0)
			break;
		rc = xnx_xs_printf(h, t, q[i], "event-channel", "%d", f->ports[i]);
	}
	if (rc < 0 ||
	    (rc = xnx_xs_printf(h, t, f->dir, "multi-queue-num-queues", "2")) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->dir, "ctrl-ring-ref", "%u", f->ctrl_ref)) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->dir, "event-channel-ctrl", "%d", f->cport)) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->dir, "request-rx-copy", "1")) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->dir, "feature-rx-notify", "1")) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->dir, "feature-sg", "1")) < 0)
		return rc;
	return xnx_xs_printf(h, t, f->dir, "state", "3");
}

/* Share what the frontend needs and set up the rings. 0 or an exit code. */
static int fe_setup(struct fe *f)
{
	f->rings = xnx_gntshr_share_pages(f->gs, 0, 4, f->ring_refs, 1);
	f->ctrl_page = xnx_gntshr_share_pages(f->gs, 0, 1, &f->ctrl_ref, 1);
	f->aux = xnx_gntshr_share_pages(f->gs, 0, 3, f->aux_refs, 1);
	f->bufs = xnx_gntshr_share_pages(f->gs, 0, 2 * NBUF, f->buf_refs, 1);
	f->ports[0] = xnx_evtchn_bind_unbound_port(f->ev, 0);
	f->ports[1] = xnx_evtchn_bind_unbound_port(f->ev, 0);
	f->cport = xnx_evtchn_bind_unbound_port(f->ev, 0);
	if (!f->rings || !f->ctrl_page || !f->aux || !f->bufs || f->ports[0] < 0 ||
	    f->ports[1] < 0 || f->cport < 0)
		return 11;
	for (int i = 0; i < 2; i++) {
		uint8_t *txp = f->rings + 2 * i * XNB_PAGE_SIZE, *rxp = txp + XNB_PAGE_SIZE;

		SHARED_RING_INIT((netif_tx_sring_t *)txp);
		SHARED_RING_INIT((netif_rx_sring_t *)rxp);
		FRONT_RING_INIT(&f->tx[i], (netif_tx_sring_t *)txp, XNB_PAGE_SIZE);
		FRONT_RING_INIT(&f->rx[i], (netif_rx_sring_t *)rxp, XNB_PAGE_SIZE);
	}
	SHARED_RING_INIT((xen_netif_ctrl_sring_t *)f->ctrl_page);
	FRONT_RING_INIT(&f->ctrl, (xen_netif_ctrl_sring_t *)f->ctrl_page, XNB_PAGE_SIZE);
	memcpy(f->aux + AUX_KEY * XNB_PAGE_SIZE, rss_key, sizeof(rss_key));
	memcpy(f->aux + AUX_MAP * XNB_PAGE_SIZE, mapping, sizeof(mapping));
	return 0;
}

/* One control request; its status (0xffffffff: no answer in time). */
static uint32_t ctrl_call(struct fe *f, uint16_t type, uint32_t d0, uint32_t d1, uint32_t d2,
			  uint32_t *data)
{
	static uint16_t id;
	struct xen_netif_ctrl_request req = { .id = ++id, .type = type, .data = { d0, d1, d2 } };
	struct xen_netif_ctrl_response rsp;
	RING_IDX want = f->ctrl.rsp_cons + 1;
	int notify;

	*RING_GET_REQUEST(&f->ctrl, f->ctrl.req_prod_pvt) = req;
	f->ctrl.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ctrl, notify);
	if (notify)
		xnx_evtchn_notify(f->ev, (evtchn_port_t)f->cport);
	for (int t = 0; t < WAIT_MS && XNB_READ_ONCE(f->ctrl.sring->rsp_prod) != want; t++)
		nbsf_sleep_ms(1);
	if (XNB_READ_ONCE(f->ctrl.sring->rsp_prod) != want)
		return 0xffffffffu;
	xen_rmb(); /* response after its index: pairs with the backend's wmb in the push */
	RING_COPY_RESPONSE(&f->ctrl, f->ctrl.rsp_cons, &rsp);
	f->ctrl.rsp_cons++;
	if (rsp.id != id || rsp.type != type)
		return 0xfffffffeu;
	if (data)
		*data = rsp.data;
	return rsp.status;
}

/* Post buffer B of queue Q (request id = B). Each response comes in its
 * request's slot; an extra-info slot uses up its request's buffer too, so
 * buffers are tracked by slot. */
static void post(struct fe *f, unsigned q, unsigned b)
{
	RING_IDX i = f->rx[q].req_prod_pvt;
	int notify;

	*RING_GET_REQUEST(&f->rx[q], i) =
		(netif_rx_request_t){ .id = (uint16_t)b, .gref = f->buf_refs[q * NBUF + b] };
	f->slot_buf[q][i % RING_SIZE(&f->rx[q])] = (uint16_t)b;
	f->rx[q].req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->rx[q], notify);
	if (notify)
		xnx_evtchn_notify(f->ev, (evtchn_port_t)f->ports[q]);
}

/* Hash on, key, table; static grants for every RX buffer. 0 or an exit code. */
static int fe_configure(struct fe *f)
{
	struct xen_netif_gref *list = (struct xen_netif_gref *)(f->aux + AUX_LIST * XNB_PAGE_SIZE);
	uint32_t key = f->aux_refs[AUX_KEY], map = f->aux_refs[AUX_MAP];
	uint32_t lref = f->aux_refs[AUX_LIST], data = 0;

	if (ctrl_call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, XEN_NETIF_CTRL_HASH_TYPE_IPV4, 0, 0,
		      NULL) != XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER)
		return 40;	/* no algorithm yet */
	if (ctrl_call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
		      XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, NULL) != 0 ||
	    ctrl_call(f, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data) != 0 ||
	    data != XNB_HASH_TYPES)
		return 41;
	if (ctrl_call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, XEN_NETIF_CTRL_HASH_TYPE_IPV4 |
		      XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, 0, 0, NULL) != 0 ||
	    ctrl_call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, key, 41, 0, NULL) !=
	    XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW ||
	    ctrl_call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, key, 40, 0, NULL) != 0)
		return 42;
	if (ctrl_call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, MAP_SIZE, 0, 0, NULL) != 0 ||
	    ctrl_call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, map, MAP_SIZE + 1, 0, NULL) !=
	    XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER ||
	    ctrl_call(f, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, map, MAP_SIZE, 0, NULL) != 0)
		return 43;
	if (ctrl_call(f, XEN_NETIF_CTRL_TYPE_GET_GREF_MAPPING_SIZE, 1, 0, 0, &data) != 0 ||
	    data < NBUF || ctrl_call(f, 42, 0, 0, 0, NULL) != XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED)
		return 44;
	for (unsigned q = 0; q < 2; q++) {
		for (unsigned b = 0; b < NBUF; b++)
			list[b] = (struct xen_netif_gref){ .ref = f->buf_refs[q * NBUF + b] };
		if (ctrl_call(f, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, q, lref, NBUF, NULL) != 0)
			return 45;
	}
	return 0;
}

/* Check one received frame on queue Q; 0 or an exit code. */
static int fe_check_frame(struct fe *f, unsigned q, const netif_rx_response_t *r,
			  const struct netif_extra_info *ex)
{
	const uint8_t *d = f->bufs + (q * NBUF + r->id) * XNB_PAGE_SIZE;
	uint32_t want_hash, got_hash = 0;
	unsigned idx;

	if (r->status < 14 + 20 + 20 + 10 || memcmp(d + 54, magic, sizeof(magic)) != 0)
		return 0;	/* not one of ours (the host's own chatter) */
	idx = d[62];
	if (idx >= NFRAMES)
		return 50;
	want_hash = frame_hash(idx);
	if (!ex || ex->type != XEN_NETIF_EXTRA_TYPE_HASH ||
	    ex->u.hash.algorithm != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ ||
	    ex->u.hash.type != _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP)
		return 51;
	for (int i = 3; i >= 0; i--)
		got_hash = got_hash << 8 | ex->u.hash.value[i];
	if (got_hash != want_hash)
		return 52;
	if (mapping[want_hash % MAP_SIZE] != q) {
		fprintf(stderr, "frame %u on queue %u, hash %#x wants %u\n", idx, q, want_hash,
			mapping[want_hash % MAP_SIZE]);
		return 53;
	}
	f->got[q]++;
	return 0;
}

/* Take the responses on queue Q, repost their buffers. 0 or an exit code. */
static int fe_drain(struct fe *f, unsigned q)
{
	netif_rx_front_ring_t *rx = &f->rx[q];
	RING_IDX prod = XNB_READ_ONCE(rx->sring->rsp_prod);

	xen_rmb(); /* responses after their index: pairs with the backend's wmb */
	while (rx->rsp_cons != prod) {
		netif_rx_response_t r;
		struct netif_extra_info ex;
		bool has_ex;
		int rc;

		uint16_t b = f->slot_buf[q][rx->rsp_cons % RING_SIZE(rx)];

		RING_COPY_RESPONSE(rx, rx->rsp_cons, &r);
		rx->rsp_cons++;
		if (r.id != b)
			return 55;	/* not answered in its own slot */
		has_ex = r.flags & NETRXF_extra_info;
		if (has_ex) {
			if (rx->rsp_cons == prod)
				return 54;
			memcpy(&ex, RING_GET_RESPONSE(rx, rx->rsp_cons), sizeof(ex));
			post(f, q, f->slot_buf[q][rx->rsp_cons % RING_SIZE(rx)]);
			rx->rsp_cons++;
		}
		if (r.status > 0) {
			rc = fe_check_frame(f, q, &r, has_ex ? &ex : NULL);
			if (rc)
				return rc;
		}
		post(f, q, b);
	}
	return 0;
}

/* Delete queue 0's static grants: the posted buffers stay (in use), a
 * never-added one is refused, and after the responses all go. */
static int fe_del_grefs(struct fe *f)
{
	struct xen_netif_gref *list = (struct xen_netif_gref *)(f->aux + AUX_LIST * XNB_PAGE_SIZE);
	uint32_t lref = f->aux_refs[AUX_LIST], data = 99;

	list[0] = (struct xen_netif_gref){ .ref = f->buf_refs[0], .status = 0x55 };
	list[1] = (struct xen_netif_gref){ .ref = f->ring_refs[0], .status = 0x55 };
	if (ctrl_call(f, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 0, lref, 2, &data) != 0 || data != 0 ||
	    list[0].status != XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER ||
	    list[1].status != XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER)
		return 60;	/* buffer 0 is posted: in use */
	if (ctrl_call(f, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 2, lref, 2, NULL) !=
	    XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER)
		return 61;
	return 0;
}

static int frontend_run(struct fe *f)
{
	int rc = fe_setup(f);

	if (rc)
		return rc;
	if (xnx_xs_transact(f->h, publish, f) < 0)
		return 12;
	if (!wait_key(f->h, f->be, "state", "4"))
		return 13;
	rc = fe_configure(f);
	if (rc)
		return rc;
	for (unsigned q = 0; q < 2; q++)
		for (unsigned b = 0; b < NBUF; b++)
			post(f, q, b);
	if (xnx_xs_printf(f->h, XBT_NULL, f->dir, "test-ready", "1") < 0)
		return 14;
	for (int t = 0; t < 2 * WAIT_MS && f->got[0] + f->got[1] < NFRAMES; t++) {
		if ((rc = fe_drain(f, 0)) || (rc = fe_drain(f, 1)))
			return rc;
		nbsf_sleep_ms(1);
	}
	fprintf(stderr, "frames on queue 0: %u, queue 1: %u\n", f->got[0], f->got[1]);
	if (f->got[0] + f->got[1] != NFRAMES || !f->got[0] || !f->got[1])
		return 15;
	return fe_del_grefs(f);
}

static int frontend_main(const char *dir, const char *be)
{
	struct fe f = { .dir = dir, .be = be };
	int rc;

	f.h = xnx_xs_open();
	f.gs = xnx_gntshr_open();
	f.ev = xnx_evtchn_open();
	rc = !f.h || !f.gs || !f.ev ? 10 : frontend_run(&f);
	if (f.ev)
		xnx_evtchn_close(f.ev);
	if (f.gs)
		xnx_gntshr_close(f.gs);
	if (f.h)
		xs_close(f.h);
	return rc;
}

/* ---- the host side: frames into the TAP ------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Frame I: IPv4/TCP from the tuple, the magic and I in the payload. */
static size_t build_frame(unsigned i, const uint8_t mac[6], uint8_t *fr)
{
	uint8_t in[12];

	frame_tuple(i, in);
	memset(fr, 0, 80);
	memcpy(fr, mac, 6);
	fr[6] = 0x02;
	fr[11] = 0x01;
	put16(fr + 12, ETH_P_IP);
	fr[14] = 0x45;
	put16(fr + 16, 20 + 20 + 10);
	fr[22] = 64;
	fr[23] = 6;
	memcpy(fr + 26, in, 8);
	memcpy(fr + 34, in + 8, 4);
	fr[46] = 0x50;	/* data offset 5 */
	memcpy(fr + 54, magic, sizeof(magic));
	fr[62] = (uint8_t)i;
	return 64;
}

static int link_up(const char *name)
{
	struct ifreq ifr;
	char path[128];
	int s = socket(AF_INET, SOCK_DGRAM, 0), rc;
	FILE *f;

	/* No IPv6 chatter from the host's stack on this link. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	f = fopen(path, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	rc = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0)
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	return rc;
}

static int send_frames(const char *ifname, const uint8_t mac[6])
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(ifname), .sll_halen = 6 };
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	uint8_t fr[80];
	int sent = 0;

	if (s < 0 || sll.sll_ifindex == 0)
		return -1;
	memcpy(sll.sll_addr, mac, 6);
	for (unsigned i = 0; i < NFRAMES; i++) {
		size_t n = build_frame(i, mac, fr);

		if (sendto(s, fr, n, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)n)
			sent++;
	}
	close(s);
	return sent;
}

/* ---- suite ------------------------------------------------------------------------ */

static int suite_init(void)
{
	if (!nbsf_have_bins(&sim)) {
		printf("\n  (xnet-simd or xnetback not in %s: skipped)\n", sim.bindir);
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		printf("\n  (no private network namespace: %s; skipped)\n", strerror(errno));
		return 0;
	}
	if (nbsf_start(&sim, "/tmp/nbctrl.XXXXXX", WAIT_MS) < 0)
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

struct guest { uint32_t domid; char be[128], fe[128], vifname[IFNAMSIZ]; uint8_t mac[6]; };

static int add_vif(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct guest *g = arg;
	int rc = nbsf_write_vif(h, t, g->domid, g->be, g->fe, "00:16:3e:00:00:42", g->vifname);

	return rc < 0 ? rc : xnx_xs_printf(h, t, g->be, "state", "1");
}

static pid_t start_frontend(const struct guest *g)
{
	char self[PATH_MAX], dom[16], log[128];

	if (nbsf_self_exe(self, sizeof(self)) < 0)
		return -1;
	snprintf(dom, sizeof(dom), "%u", g->domid);
	snprintf(log, sizeof(log), "%s/frontend.log", sim.dir);
	char *argv[] = { self, "--frontend", (char *)g->fe, (char *)g->be, NULL };
	return nbsf_spawn(argv, log, dom);
}

/* The child's exit status, or -2 if it did not finish in time. */
static int wait_child(pid_t pid)
{
	return nbsf_wait_child(pid, 3 * WAIT_MS);
}

static void test_ctrl_sim_toeplitz_steering(void)
{
	struct guest g = { .mac = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x42 } };
	unsigned long maxq = 0;
	char name[64];
	pid_t fe;
	int rc;

	if (!ready)
		return;
	snprintf(name, sizeof(name), "nbc-%d", (int)getpid());
	CU_ASSERT_EQUAL_FATAL(xnx_sim_domain_create(name, 0, &g.domid), 0);
	snprintf(g.be, sizeof(g.be), "/local/domain/0/backend/vif/%u/0", g.domid);
	snprintf(g.fe, sizeof(g.fe), "/local/domain/%u/device/vif/0", g.domid);
	snprintf(g.vifname, sizeof(g.vifname), "nbc%d", (int)getpid() % 100000);
	CU_ASSERT_EQUAL_FATAL(xnx_xs_transact(xs, add_vif, &g), 0);
	CU_ASSERT_FATAL(wait_key(xs, g.be, "state", "2"));
	CU_ASSERT(wait_key(xs, g.be, "feature-ctrl-ring", "1"));
	CU_ASSERT_EQUAL(xnx_xs_read_uint(xs, XBT_NULL, g.be, "multi-queue-max-queues", 1, 8,
					 &maxq), 0);
	if (maxq < 2) {
		printf("\n  (one CPU: one queue offered; steering test skipped)\n");
		xnx_sim_domain_destroy(g.domid);
		return;
	}
	xnx_xs_printf(xs, XBT_NULL, g.be, "hotplug-status", "connected");
	fe = start_frontend(&g);
	CU_ASSERT_FATAL(fe > 0);
	if (!wait_key(xs, g.fe, "test-ready", "1")) {
		CU_FAIL("frontend did not get ready");
		printf("\n  frontend: exit %d\n", wait_child(fe));
		xnx_sim_domain_destroy(g.domid);
		return;
	}
	CU_ASSERT_EQUAL(link_up(g.vifname), 0);
	CU_ASSERT_EQUAL(send_frames(g.vifname, g.mac), NFRAMES);
	rc = wait_child(fe);
	if (rc != 0)
		printf("\n  frontend exit %d (see frontend.log)\n", rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(g.domid), 0);
	CU_ASSERT(wait_key(xs, g.be, "state", "6"));
	CU_ASSERT_EQUAL(kill(sim.nb_pid, 0), 0);	/* the daemon carries on */
}

/* ---- static grants against the sim's grant table ------------------------------------- */

/* The guest's side, forked: shares a list page and data pages one by one,
 * then answers commands (unshare page K, read page K's first byte, read
 * list entry K's status) until told to stop. */
enum { CMD_UNSHARE = 1, CMD_PEEK, CMD_STATUS, CMD_STOP };
#define NDATA 4

static void guest_loop(int fd, uint32_t domid)
{
	char v[16];
	uint8_t *pg[1 + NDATA];
	uint32_t refs[1 + NDATA], cmd[2], r;
	xnx_gntshr *gs;

	snprintf(v, sizeof(v), "%u", domid);
	setenv("XNET_DOMID", v, 1);
	gs = xnx_gntshr_open();
	for (int i = 0; i < 1 + NDATA; i++) {
		pg[i] = gs ? xnx_gntshr_share_pages(gs, 0, 1, &refs[i], 1) : NULL;
		if (!pg[i])
			_exit(2);
		if (i > 0)
			memset(pg[i], 0x10 + i, XNB_PAGE_SIZE);
	}
	if (write(fd, refs, sizeof(refs)) != sizeof(refs))
		_exit(3);
	while (read(fd, cmd, sizeof(cmd)) == sizeof(cmd) && cmd[0] != CMD_STOP) {
		if (cmd[0] == CMD_UNSHARE)
			r = xnx_gntshr_unshare(gs, pg[cmd[1]], 1) == 0 ? 0 : (uint32_t)errno;
		else if (cmd[0] == CMD_PEEK)
			r = pg[cmd[1]][0];
		else
			r = ((const struct xen_netif_gref *)pg[0])[cmd[1]].status;
		if (write(fd, &r, sizeof(r)) != sizeof(r))
			_exit(4);
	}
	_exit(0);
}

static uint32_t ask(int fd, uint32_t cmd, uint32_t arg)
{
	uint32_t m[2] = { cmd, arg }, r = 0xdeadbeef;

	if (write(fd, m, sizeof(m)) != sizeof(m))
		return r;
	for (int t = 0; t < WAIT_MS; t += 10) {
		struct timeval tv = { 0, 10000 };
		fd_set rd;

		FD_ZERO(&rd);
		FD_SET(fd, &rd);
		if (select(fd + 1, &rd, NULL, NULL, &tv) > 0)
			return read(fd, &r, sizeof(r)) == sizeof(r) ? r : 0xdeadbeef;
	}
	return r;
}

/* The backend's real hypervisor calls, counted. */
static xnx_gnttab *gt;
static uint32_t guest_dom;
static unsigned real_copies;

static int real_copy(void *ctx, unsigned n, xengnttab_grant_copy_segment_t *segs)
{
	real_copies++;
	return xnx_gnttab_grant_copy(gt, n, segs) < 0 ? -errno : 0;
}

static void real_notify(void *ctx, uint32_t port) { }

static void *real_map(void *ctx, uint32_t ref, bool ro)
{
	return xnx_gnttab_map_grant_ref(gt, guest_dom, ref, ro ? PROT_READ : PROT_READ | PROT_WRITE);
}

static void real_unmap(void *ctx, void *addr)
{
	xnx_gnttab_unmap(gt, addr, 1);
}

static const struct xnb_ctrl_io real_io = {
	.grant_copy = real_copy, .notify = real_notify, .map = real_map, .unmap = real_unmap,
};

/* A request through a ring whose both ends are ours (the guest's pages are
 * what it names). */
static uint32_t local_call(struct xnb_ctrl *c, xen_netif_ctrl_front_ring_t *fr, uint16_t type,
			   uint32_t d0, uint32_t d1, uint32_t d2, uint32_t *data)
{
	struct xen_netif_ctrl_response rsp;

	*RING_GET_REQUEST(fr, fr->req_prod_pvt) =
		(struct xen_netif_ctrl_request){ .id = 1, .type = type, .data = { d0, d1, d2 } };
	fr->req_prod_pvt++;
	RING_PUSH_REQUESTS(fr);
	if (xnb_ctrl_run(c) != XNB_IDLE || fr->sring->rsp_prod != fr->rsp_cons + 1)
		return 0xffffffffu;
	RING_COPY_RESPONSE(fr, fr->rsp_cons, &rsp);
	fr->rsp_cons++;
	if (data)
		*data = rsp.data;
	return rsp.status;
}

/* Write the guest's gref list through a grant copy, as its frontend would
 * have filled it. */
static int put_list(uint32_t list_ref, const struct xen_netif_gref *l, unsigned n)
{
	xengnttab_grant_copy_segment_t g = {
		.flags = GNTCOPY_dest_gref, .len = (uint16_t)(n * sizeof(*l)),
		.source.virt = (void *)l, .dest.foreign = { .ref = list_ref, .domid = guest_dom },
	};

	return xnx_gnttab_grant_copy(gt, 1, &g) == 0 && g.status == GNTST_okay ? 0 : -1;
}

static void test_ctrl_sim_static_grants(void)
{
	uint32_t refs[1 + NDATA], data = 0;
	xen_netif_ctrl_front_ring_t fr;
	struct xnb_ctrl c;
	xengnttab_grant_copy_segment_t seg[3];
	uint8_t buf[3][64], *ring = aligned_alloc(XNB_PAGE_SIZE, XNB_PAGE_SIZE);
	unsigned rest[3];
	char name[64];
	int sv[2], st;
	pid_t pid;

	if (!ready)
		return;
	snprintf(name, sizeof(name), "nbg-%d", (int)getpid());
	CU_ASSERT_FATAL(ring && xnx_sim_domain_create(name, 0, &guest_dom) == 0);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		guest_loop(sv[1], guest_dom);
	}
	close(sv[1]);
	gt = xnx_gnttab_open();
	CU_ASSERT_FATAL(gt != NULL);
	CU_ASSERT_FATAL(read(sv[0], refs, sizeof(refs)) == sizeof(refs));
	memset(ring, 0, XNB_PAGE_SIZE);
	SHARED_RING_INIT((xen_netif_ctrl_sring_t *)ring);
	FRONT_RING_INIT(&fr, (xen_netif_ctrl_sring_t *)ring, XNB_PAGE_SIZE);
	CU_ASSERT_FATAL(xnb_ctrl_init(&c, ring, guest_dom, 1, &real_io) == 0);

	/* Add data pages 1 and 2 (2 read-only): each mapped once; the guest
	 * cannot take a mapped page back. */
	struct xen_netif_gref add[2] = { { .ref = refs[1] },
					 { .ref = refs[2], .flags = XEN_NETIF_CTRLF_GREF_readonly } };
	CU_ASSERT_FATAL(put_list(refs[0], add, 2) == 0);
	CU_ASSERT_EQUAL(local_call(&c, &fr, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, refs[0], 2,
				   NULL), 0);
	CU_ASSERT_EQUAL(c.grefs[0].n, 2);
	CU_ASSERT_EQUAL(ask(sv[0], CMD_UNSHARE, 1), EBUSY);

	/* The data path: page 1 both ways by memcpy; page 3, not in the
	 * table, is left for a grant copy. */
	memset(buf, 0x77, sizeof(buf));
	memset(seg, 0, sizeof(seg));
	seg[0] = (xengnttab_grant_copy_segment_t){ .flags = GNTCOPY_source_gref, .len = 64,
		.source.foreign = { .ref = refs[1], .offset = 8, .domid = guest_dom },
		.dest.virt = buf[0] };
	seg[1] = (xengnttab_grant_copy_segment_t){ .flags = GNTCOPY_dest_gref, .len = 64,
		.dest.foreign = { .ref = refs[1], .domid = guest_dom }, .source.virt = buf[1] };
	seg[2] = (xengnttab_grant_copy_segment_t){ .flags = GNTCOPY_source_gref, .len = 64,
		.source.foreign = { .ref = refs[3], .domid = guest_dom }, .dest.virt = buf[2] };
	real_copies = 0;
	CU_ASSERT_EQUAL(xnb_gref_copy_local(&c.grefs[0], guest_dom, 3, seg, rest), 1);
	CU_ASSERT_EQUAL(rest[0], 2);
	CU_ASSERT_EQUAL(real_copies, 0);	/* no grant operation for those */
	CU_ASSERT_EQUAL(buf[0][0], 0x11);
	CU_ASSERT_EQUAL(buf[0][63], 0x11);
	CU_ASSERT_EQUAL(ask(sv[0], CMD_PEEK, 1), 0x77);	/* the guest sees our write */

	/* Delete page 1 and a never-added one: statuses in the guest's list. */
	struct xen_netif_gref del[2] = { { .ref = refs[1], .status = 9 },
					 { .ref = refs[3], .status = 9 } };
	CU_ASSERT_FATAL(put_list(refs[0], del, 2) == 0);
	CU_ASSERT_EQUAL(local_call(&c, &fr, XEN_NETIF_CTRL_TYPE_DEL_GREF_MAPPING, 0, refs[0], 2,
				   &data), 0);
	CU_ASSERT_EQUAL(data, 1);
	CU_ASSERT_EQUAL(ask(sv[0], CMD_STATUS, 0), XEN_NETIF_CTRL_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(ask(sv[0], CMD_STATUS, 1), XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER);
	CU_ASSERT_EQUAL(ask(sv[0], CMD_UNSHARE, 1), 0);	/* unmapped: the guest's again */
	CU_ASSERT_EQUAL(ask(sv[0], CMD_UNSHARE, 2), EBUSY);
	/* Disconnect releases every mapping. */
	xnb_ctrl_fini(&c);
	CU_ASSERT_EQUAL(ask(sv[0], CMD_UNSHARE, 2), 0);

	ask(sv[0], CMD_STOP, 0);
	CU_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(sv[0]);
	xnx_gnttab_close(gt);
	free(ring);
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(guest_dom), 0);
}

int main(int argc, char **argv)
{
	static const struct cunit_case tests[] = {
		{ "ctrl_sim_toeplitz_steering", test_ctrl_sim_toeplitz_steering },
		{ "ctrl_sim_static_grants", test_ctrl_sim_static_grants },
	};

	if (argc == 4 && strcmp(argv[1], "--frontend") == 0)
		return frontend_main(argv[2], argv[3]);
	return CUNIT_RUN("netback_ctrl_sim", suite_init, suite_clean, tests);
}
