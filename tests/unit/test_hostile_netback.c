/*
 * test_hostile_netback.c — a hostile frontend against the real xnetback on
 * the simulated hypervisor. Each named case is one guest domain whose
 * frontend (this program re-executed with --frontend) breaks the protocol
 * in one way; the test asserts the tier the backend answers with (an error
 * response and the vif still Connected, or the vif Closing with its reason
 * in `error`), that xnetback lives, that a well-behaved vif keeps passing
 * packets throughout, and that after the hostile domains are destroyed
 * xnetback's open descriptors and memory are back where they were and
 * their TAPs are gone. A last case kills xnetback with SIGKILL, restarts it
 * and checks that the good vif is reattached and served again.
 *
 * Needs xnet-simd and xnetback in $XNET_BIN (default build/bin); skips if
 * they are missing. See tests/hostile/README.md for the advisory classes.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "cunit_run.h"
#include "netback_simfront.h"

#include "netback/xnb.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define WAIT_MS 10000
#define NPAGES 20
#define RSS_SLACK_KB (16 * 1024)

static struct nbsf_sim sim = { .simd_pid = -1, .nb_pid = -1 };
static pid_t good_pid = -1;
static struct xs_handle *xs;	/* the toolstack's: sim.xs */
static bool ready;
static long base_fds, base_rss;
static char *base_fd_list;	/* the targets of base_fds, for a failure */
static size_t base_fd_len;

/* ---- small helpers ------------------------------------------------------------ */

static bool key_is(const char *dir, const char *key, const char *val)
{
	return nbsf_key_is(xs, dir, key, val);
}

static bool wait_key(const char *dir, const char *key, const char *val)
{
	return nbsf_wait_key(xs, dir, key, val, WAIT_MS);
}

/* Open descriptors of PID (from /proc/PID/fd), or -1; with OUT, each
 * one's target written there (to tell what a count that grew holds). */
static long list_fds(pid_t pid, FILE *out)
{
	char path[64], link[340], target[256];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		len = out ? readlink(link, target, sizeof(target) - 1) : -1;
		if (len >= 0)
			fprintf(out, "    fd %s -> %.*s\n", e->d_name, (int)len, target);
	}
	closedir(d);
	return n;
}

static long count_fds(pid_t pid)
{
	return list_fds(pid, NULL);
}

/* Resident set of PID in KiB (VmRSS), or -1. */
static long rss_kb(pid_t pid)
{
	char path[64], line[128];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static bool fds_back(const void *arg)
{
	long n = count_fds(sim.nb_pid);

	return n >= 0 && n <= base_fds;
}

/* ---- the toolstack's part ---------------------------------------------------------- */

struct guest {
	char tag[16];
	uint32_t domid;
	char be[128], fe[128], vifname[IFNAMSIZ];
};

/* libxl's layout, reduced to what a backend reads; hotplug already done. */
static int add_vif(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct guest *g = arg;
	char mac[24];
	int rc;

	snprintf(mac, sizeof(mac), "00:16:3e:00:00:%02x", g->domid & 0xff);
	if ((rc = nbsf_write_vif(h, t, g->domid, g->be, g->fe, mac, g->vifname)) < 0 ||
	    (rc = xnx_xs_printf(h, t, g->be, "type", "vif")) < 0 ||
	    (rc = xnx_xs_printf(h, t, g->be, "hotplug-status", "connected")) < 0)
		return rc;
	return xnx_xs_printf(h, t, g->be, "state", "1");
}

/* add_vif, but the frontend never wrote its state node. */
static int add_vif_unpublished(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct guest *g = arg;
	char path[160];
	int rc = add_vif(h, t, arg);

	snprintf(path, sizeof(path), "%s/state", g->fe);
	if (rc == 0 && !xs_rm(h, t, path))
		rc = -errno;
	return rc;
}

static int make_guest_with(struct guest *g, const char *tag,
			   int (*write)(struct xs_handle *, xs_transaction_t, void *))
{
	char name[64];

	snprintf(g->tag, sizeof(g->tag), "%s", tag);
	snprintf(name, sizeof(name), "hos-%d-%s", (int)getpid(), tag);
	if (xnx_sim_domain_create(name, 0, &g->domid) < 0)
		return -errno;
	snprintf(g->be, sizeof(g->be), "/local/domain/0/backend/vif/%u/0", g->domid);
	snprintf(g->fe, sizeof(g->fe), "/local/domain/%u/device/vif/0", g->domid);
	snprintf(g->vifname, sizeof(g->vifname), "hs%d.%u", (int)getpid() % 100000, g->domid);
	return xnx_xs_transact(xs, write, g);
}

static int make_guest(struct guest *g, const char *tag)
{
	return make_guest_with(g, tag, add_vif);
}

static pid_t start_frontend(const struct guest *g, const char *mode)
{
	char self[PATH_MAX], dom[16], log[128];

	if (nbsf_self_exe(self, sizeof(self)) < 0)
		return -1;
	snprintf(dom, sizeof(dom), "%u", g->domid);
	snprintf(log, sizeof(log), "%s/frontend-%s.log", sim.dir, g->tag);
	char *argv[] = { self, "--frontend", (char *)mode, (char *)g->fe, (char *)g->be, NULL };
	return nbsf_spawn(argv, log, dom);
}

/* Run a frontend to its end; its exit status, or -2 on timeout. */
static int run_frontend(const struct guest *g, const char *mode)
{
	pid_t pid = start_frontend(g, mode);

	return pid > 0 ? nbsf_wait_child(pid, 3 * WAIT_MS) : -2;
}

/* ---- the frontend (re-executed child) ------------------------------------------------ */

struct fe {
	struct xs_handle *h;
	xnx_gntshr *gs;
	xnx_evtchn *ev;
	const char *fe, *be;
	uint8_t *rings, *pages;
	uint32_t ring_refs[2], refs[NPAGES];
	int port;
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
};

/* The backend's state reads V within MS (checked at least once). */
static bool be_state(struct fe *f, const char *v, int ms)
{
	return nbsf_wait_key(f->h, f->be, "state", v, ms);
}

/* How a case spoils the keys it publishes: key, value (NULL: the good one). */
struct spoil { const char *key, *val; };

static int publish(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	void **a = arg;
	struct fe *f = a[0];
	const struct spoil *sp = a[1];
	char v[5][24];
	static const char *const keys[5] = {
		"tx-ring-ref", "rx-ring-ref", "event-channel", "request-rx-copy",
		"feature-rx-notify",
	};
	int rc;

	snprintf(v[0], sizeof(v[0]), "%u", f->ring_refs[0]);
	snprintf(v[1], sizeof(v[1]), "%u", f->ring_refs[1]);
	snprintf(v[2], sizeof(v[2]), "%d", f->port);
	snprintf(v[3], sizeof(v[3]), "1");
	snprintf(v[4], sizeof(v[4]), "1");
	for (int i = 0; i < 5; i++) {
		const char *val = sp && strcmp(sp->key, keys[i]) == 0 ? sp->val : v[i];

		if ((rc = xnx_xs_printf(h, t, f->fe, keys[i], "%s", val)) < 0)
			return rc;
	}
	if (sp && !strstr("tx-ring-ref rx-ring-ref event-channel request-rx-copy "
			  "feature-rx-notify", sp->key) &&
	    (rc = xnx_xs_printf(h, t, f->fe, sp->key, "%s", sp->val)) < 0)
		return rc;
	return xnx_xs_printf(h, t, f->fe, "state", "3");
}

/* Share rings and data pages, bind a channel, publish (spoiled by SP). */
static int fe_setup(struct fe *f, const struct spoil *sp)
{
	void *a[2] = { f, (void *)sp };

	f->rings = xnx_gntshr_share_pages(f->gs, 0, 2, f->ring_refs, 1);
	f->pages = xnx_gntshr_share_pages(f->gs, 0, NPAGES, f->refs, 1);
	f->port = xnx_evtchn_bind_unbound_port(f->ev, 0);
	if (!f->rings || !f->pages || f->port < 0)
		return 11;
	SHARED_RING_INIT((netif_tx_sring_t *)f->rings);
	SHARED_RING_INIT((netif_rx_sring_t *)(f->rings + XNB_PAGE_SIZE));
	FRONT_RING_INIT(&f->tx, (netif_tx_sring_t *)f->rings, XNB_PAGE_SIZE);
	FRONT_RING_INIT(&f->rx, (netif_rx_sring_t *)(f->rings + XNB_PAGE_SIZE), XNB_PAGE_SIZE);
	for (int i = 0; i < NPAGES; i++) {
		uint8_t *p = f->pages + i * XNB_PAGE_SIZE;

		memset(p, 0xff, 6);	/* broadcast */
		memcpy(p + 6, "\x00\x16\x3e\x00\x00", 5);
		p[11] = (uint8_t)strtoul(getenv("XNET_DOMID"), NULL, 10);	/* our `mac` */
		p[12] = 0x88;	/* local experimental EtherType */
		p[13] = 0xb5;
	}
	return xnx_xs_transact(f->h, publish, a) < 0 ? 12 : 0;
}

static void put(struct fe *f, netif_tx_request_t r)
{
	*RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt++) = r;
}

static void push(struct fe *f)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->tx, notify);
	(void)notify;	/* hostile: always kick */
	xnx_evtchn_notify(f->ev, (evtchn_port_t)f->port);
}

/* Wait until N responses are on the TX ring (bounded). */
static bool wait_rsp(struct fe *f, RING_IDX n)
{
	for (int t = 0; t < WAIT_MS; t += 5) {
		if ((RING_IDX)(XNB_READ_ONCE(f->tx.sring->rsp_prod) - n) < 0x80000000u)
			return true;
		nbsf_sleep_ms(5);
	}
	return false;
}

/* Status of response number N (it must be there). */
static int16_t rsp_status(struct fe *f, RING_IDX n, uint16_t *id)
{
	netif_tx_response_t r;

	xen_rmb(); /* response after its index: pairs with the backend's push wmb */
	RING_COPY_RESPONSE(&f->tx, n, &r);
	if (id)
		*id = r.id;
	return r.status;
}

static netif_tx_request_t req(uint32_t page_ref, uint16_t off, uint16_t size, uint16_t id,
			      uint16_t flags)
{
	return (netif_tx_request_t){ .gref = page_ref, .offset = off, .size = size, .id = id,
				     .flags = flags };
}

/* One packet of one slot; its status, or 100 if none came. */
static int one_packet(struct fe *f, netif_tx_request_t r)
{
	RING_IDX n = f->tx.req_prod_pvt;

	put(f, r);
	push(f);
	if (!wait_rsp(f, n + 1))
		return 100;
	return rsp_status(f, n, NULL);
}

/* ---- the cases (child side) ------------------------------------------------------------ */

/* The request producer far beyond the ring. */
static int case_prod_far_ahead(struct fe *f)
{
	f->tx.sring->req_prod = f->tx.req_prod_pvt + 5 * XNB_TX_RING_SIZE;
	xnx_evtchn_notify(f->ev, (evtchn_port_t)f->port);
	return be_state(f, "5", WAIT_MS) ? 0 : 20;
}

static int case_offset_past_page(struct fe *f)
{
	put(f, req(f->refs[0], 4000, 200, 1, 0));
	push(f);
	return be_state(f, "5", WAIT_MS) ? 0 : 21;
}

static int case_too_many_slots(struct fe *f)
{
	for (unsigned i = 0; i <= XNB_TX_MAX_SLOTS; i++)
		put(f, req(f->refs[i], 0, i == 0 ? 60 * (XNB_TX_MAX_SLOTS + 1) : 60, (uint16_t)i,
			   i < XNB_TX_MAX_SLOTS ? NETTXF_more_data : 0));
	push(f);
	return be_state(f, "5", WAIT_MS) ? 0 : 22;
}

/* Extras each claiming another follows, as long as the ring lets us. */
static int case_extra_chain_endless(struct fe *f)
{
	put(f, req(f->refs[0], 0, 60, 1, NETTXF_extra_info));
	for (int i = 0; i < 40; i++) {
		struct netif_extra_info e = { .type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
					      .flags = XEN_NETIF_EXTRA_FLAG_MORE };

		memcpy(RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt++), &e, sizeof(e));
	}
	push(f);
	return be_state(f, "5", WAIT_MS) ? 0 : 23;
}

static int case_extra_type_unknown(struct fe *f)
{
	struct netif_extra_info e = { .type = 77 };

	put(f, req(f->refs[0], 0, 60, 1, NETTXF_extra_info));
	memcpy(RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt++), &e, sizeof(e));
	push(f);
	return be_state(f, "5", WAIT_MS) ? 0 : 24;
}

/* Tier 1 cases: an error response, the vif stays Connected. */
static int expect_error_connected(struct fe *f, int st)
{
	if (st != NETIF_RSP_ERROR)
		return 30 + (st == 100);
	/* Still served: a good packet after the bad one. */
	if (one_packet(f, req(f->refs[1], 0, 60, 2, 0)) != NETIF_RSP_OKAY)
		return 32;
	return be_state(f, "4", 0) ? 0 : 33;
}

static int case_gref_invalid(struct fe *f)
{
	return expect_error_connected(f, one_packet(f, req(0x0badcafe, 0, 60, 1, 0)));
}

/* A page granted to some other domain, not to the backend. */
static int case_gref_not_granted(struct fe *f)
{
	uint32_t ref;
	uint8_t *p = xnx_gntshr_share_pages(f->gs, 0x7ff0, 1, &ref, 1);

	if (!p) {
		p = xnx_gntshr_share_pages(f->gs, 4242, 1, &ref, 1);
		if (!p)
			return 40;
	}
	memset(p, 0xff, 14);
	return expect_error_connected(f, one_packet(f, req(ref, 0, 60, 1, 0)));
}

/* Granted, then access ended before the backend copies. */
static int case_gref_revoked(struct fe *f)
{
	uint32_t ref;
	uint8_t *p = xnx_gntshr_share_pages(f->gs, 0, 1, &ref, 1);

	if (!p)
		return 41;
	memset(p, 0xff, 14);
	if (xnx_gntshr_unshare(f->gs, p, 1) < 0)
		return 42;
	return expect_error_connected(f, one_packet(f, req(ref, 0, 60, 1, 0)));
}

static int case_zero_length_packet(struct fe *f)
{
	return expect_error_connected(f, one_packet(f, req(f->refs[0], 0, 0, 1, 0)));
}

/* A packet whose every fragment is empty (first slot total 0). */
static int case_zero_length_fragments(struct fe *f)
{
	RING_IDX n = f->tx.req_prod_pvt;

	for (int i = 0; i < 4; i++)
		put(f, req(f->refs[i], 0, 0, (uint16_t)i, i < 3 ? NETTXF_more_data : 0));
	push(f);
	if (!wait_rsp(f, n + 4))
		return 43;
	return expect_error_connected(f, rsp_status(f, n, NULL));
}

/* A 60-byte frame over the most slots allowed, headers split across them. */
static int case_tiny_packet_max_slots(struct fe *f)
{
	RING_IDX n = f->tx.req_prod_pvt;
	uint16_t id;

	for (unsigned i = 0; i < XNB_TX_MAX_SLOTS; i++)
		put(f, req(f->refs[i], 0, i == 0 ? 60 : 2, (uint16_t)(10 + i),
			   i + 1 < XNB_TX_MAX_SLOTS ? NETTXF_more_data : 0));
	/* slot 0 gives 60 - 17 * 2 = 26 bytes: the Ethernet header and more */
	push(f);
	if (!wait_rsp(f, n + XNB_TX_MAX_SLOTS))
		return 44;
	if (rsp_status(f, n, &id) != NETIF_RSP_OKAY || id != 10)
		return 45;
	return be_state(f, "4", 0) ? 0 : 46;
}

/* Fields flipped on the shared page while the backend reads them. */
static atomic_bool flipping;

static void *flipper(void *arg)
{
	struct fe *f = arg;
	uint32_t x = 1;

	while (atomic_load(&flipping)) {
		for (RING_IDX i = 0; i < 4; i++) {
			volatile netif_tx_request_t *r = (volatile netif_tx_request_t *)
				RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt - 1 - i);

			/* Every value is one the backend must answer without
			 * closing the vif (offset + size within the page, no
			 * chaining flags, a gref good or bad): a torn read of
			 * two versions could still cross the page or chain. */
			x = x * 1103515245u + 12345u;
			r->size = (uint16_t)(14 + (x >> 8) % 2000);
			r->offset = (uint16_t)((x >> 4) % 2048);
			r->flags = (uint16_t)((x >> 20) & (NETTXF_csum_blank | NETTXF_data_validated));
			r->gref = x & 1 ? f->refs[x % NPAGES] : x;
		}
	}
	return NULL;
}

static int case_double_fetch(struct fe *f)
{
	pthread_t th;
	int answered = 0;

	atomic_store(&flipping, true);
	if (pthread_create(&th, NULL, flipper, f) != 0)
		return 50;
	for (int i = 0; i < 200 && be_state(f, "4", 0); i++) {
		RING_IDX n = f->tx.req_prod_pvt;

		if (RING_FULL(&f->tx))
			break;
		put(f, req(f->refs[i % NPAGES], 0, 60, (uint16_t)i, 0));
		push(f);
		for (int t = 0; t < 200 && XNB_READ_ONCE(f->tx.sring->rsp_prod) == n; t++)
			nbsf_sleep_ms(1);
		answered += XNB_READ_ONCE(f->tx.sring->rsp_prod) != n;
		f->tx.rsp_cons = XNB_READ_ONCE(f->tx.sring->rsp_prod);
	}
	atomic_store(&flipping, false);
	pthread_join(th, NULL);
	printf("double fetch: %d answered\n", answered);
	return answered == 200 && be_state(f, "4", 0) ? 0 : 52;
}

static int case_event_storm(struct fe *f)
{
	for (int i = 0; i < 20000; i++)
		xnx_evtchn_notify(f->ev, (evtchn_port_t)f->port);
	return one_packet(f, req(f->refs[0], 0, 60, 1, 0)) == NETIF_RSP_OKAY ? 0 : 51;
}

/* An optional key spoiled: the vif still serves (one packet, OKAY). */
static int case_one_good_packet(struct fe *f)
{
	return one_packet(f, req(f->refs[0], 0, 60, 1, 0)) == NETIF_RSP_OKAY ? 0 : 52;
}

/* ---- RX cases: the parent sends frames into the vif's TAP --------------------------- */

static void post_rx(struct fe *f, uint32_t gref, uint16_t id)
{
	int notify;

	*RING_GET_REQUEST(&f->rx, f->rx.req_prod_pvt++) = (netif_rx_request_t){ .id = id,
										  .gref = gref };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->rx, notify);
	(void)notify;
	xnx_evtchn_notify(f->ev, (evtchn_port_t)f->port);
}

/* Tell the parent (key hostile-ready in our directory) to start sending. */
static void say_ready(struct fe *f)
{
	xnx_xs_printf(f->h, XBT_NULL, f->fe, "hostile-ready", "1");
}

/* Wait (bounded) for the parent's hostile-done. */
static bool parent_done(struct fe *f)
{
	for (int t = 0; t < 3 * WAIT_MS; t += 10) {
		char *v = xnx_xs_read(f->h, XBT_NULL, f->fe, "hostile-done");
		bool ok = v != NULL;

		free(v);
		if (ok)
			return true;
		nbsf_sleep_ms(10);
	}
	return false;
}

static bool wait_rx_rsp(struct fe *f, RING_IDX n)
{
	for (int t = 0; t < WAIT_MS; t += 5) {
		if ((RING_IDX)(XNB_READ_ONCE(f->rx.sring->rsp_prod) - n) < 0x80000000u)
			return true;
		nbsf_sleep_ms(5);
	}
	return false;
}

/* A buffer granted read-only where the backend must write, then a good
 * one: an error response for the first, the frame in the second. */
static int case_rx_readonly_gref(struct fe *f)
{
	netif_rx_response_t r0, r1;
	uint32_t ref;

	if (!xnx_gntshr_share_pages(f->gs, 0, 1, &ref, 0))
		return 70;
	post_rx(f, ref, 0);
	post_rx(f, f->refs[0], 1);
	say_ready(f);
	if (!wait_rx_rsp(f, 2))
		return 71;
	xen_rmb(); /* responses after their index: pairs with the backend's push wmb */
	RING_COPY_RESPONSE(&f->rx, 0, &r0);
	RING_COPY_RESPONSE(&f->rx, 1, &r1);
	if (r0.id != 0 || r0.status >= 0)
		return 72;
	if (r1.id != 1 || r1.status < 60)
		return 73;
	return parent_done(f) && be_state(f, "4", 0) ? 0 : 74;
}

/* Never post a buffer while the host sends: the backend must neither
 * queue without bound nor stop serving others. */
static int case_rx_never_posted(struct fe *f)
{
	say_ready(f);
	return parent_done(f) && be_state(f, "4", 0) ? 0 : 75;
}

/* Requests with every field random, a ring's worth. */
static int case_garbage_fields(struct fe *f)
{
	uint32_t x = 12345;

	for (int i = 0; i < (int)XNB_TX_RING_SIZE; i++) {
		x = x * 1103515245u + 12345u;
		put(f, (netif_tx_request_t){ .gref = x, .offset = (uint16_t)(x >> 3),
					     .flags = (uint16_t)(x >> 7), .id = (uint16_t)(x >> 11),
					     .size = (uint16_t)(x >> 15) });
	}
	push(f);
	/* Answered packet by packet or the vif closed: either way, bounded. */
	for (int t = 0; t < WAIT_MS; t += 10) {
		if (be_state(f, "5", 0))
			return 0;
		if (XNB_READ_ONCE(f->tx.sring->rsp_prod) == f->tx.req_prod_pvt)
			return 0;
		nbsf_sleep_ms(10);
	}
	return 76;
}

/* Three slots; the middle one's grant is ended before the push. */
static int case_gref_revoked_mid_packet(struct fe *f)
{
	RING_IDX n = f->tx.req_prod_pvt;
	uint32_t ref;
	uint8_t *p = xnx_gntshr_share_pages(f->gs, 0, 1, &ref, 1);

	if (!p)
		return 77;
	put(f, req(f->refs[0], 0, 100, 1, NETTXF_more_data));
	put(f, req(ref, 0, 20, 2, NETTXF_more_data));
	put(f, req(f->refs[2], 0, 20, 3, 0));
	if (xnx_gntshr_unshare(f->gs, p, 1) < 0)
		return 78;
	push(f);
	if (!wait_rsp(f, n + 3))
		return 79;
	return expect_error_connected(f, rsp_status(f, n, NULL));
}

/* The first slot shorter than an Ethernet header (the rest in the next). */
static int case_header_split_first_slot(struct fe *f)
{
	RING_IDX n = f->tx.req_prod_pvt;

	put(f, req(f->refs[0], 0, 60, 1, NETTXF_more_data));	/* 6 bytes here */
	put(f, req(f->refs[1], 6, 54, 2, 0));
	push(f);
	if (!wait_rsp(f, n + 2))
		return 80;
	return be_state(f, "4", 0) ? 0 : 81;	/* answered, either way, and served */
}

/* The well-behaved frontend: a packet, answered OKAY, again and again
 * until SIGTERM; exits non-zero on the first one not answered in time. */
static volatile sig_atomic_t stop_good;

static void on_term(int sig)
{
	stop_good = 1;
}

static int case_good_forever(struct fe *f)
{
	unsigned long sent = 0;
	FILE *out;
	char path[160];

	signal(SIGTERM, on_term);
	while (!stop_good) {
		RING_IDX n = f->tx.req_prod_pvt;
		int st;

		if (!be_state(f, "4", 0)) {	/* reattaching after a restart */
			nbsf_sleep_ms(10);
			continue;
		}
		put(f, req(f->refs[0], 0, 60, (uint16_t)sent, 0));
		push(f);
		if (!wait_rsp(f, n + 1))
			return 60;
		st = rsp_status(f, n, NULL);
		if (st != NETIF_RSP_OKAY)
			return 61;
		f->tx.rsp_cons = n + 1;
		sent++;
		snprintf(path, sizeof(path), "%s/good.count", getenv("XNET_SIM_DIR"));
		if ((out = fopen(path, "w")) != NULL) {
			fprintf(out, "%lu\n", sent);
			fclose(out);
		}
		nbsf_sleep_ms(5);
	}
	return sent > 0 ? 0 : 62;
}

struct fcase { const char *mode; int (*run)(struct fe *); struct spoil spoil; };

static const struct fcase fcases[] = {
	{ "prod_far_ahead", case_prod_far_ahead, { NULL, NULL } },
	{ "offset_past_page", case_offset_past_page, { NULL, NULL } },
	{ "too_many_slots", case_too_many_slots, { NULL, NULL } },
	{ "extra_chain_endless", case_extra_chain_endless, { NULL, NULL } },
	{ "extra_type_unknown", case_extra_type_unknown, { NULL, NULL } },
	{ "gref_invalid", case_gref_invalid, { NULL, NULL } },
	{ "gref_not_granted", case_gref_not_granted, { NULL, NULL } },
	{ "gref_revoked", case_gref_revoked, { NULL, NULL } },
	{ "zero_length_packet", case_zero_length_packet, { NULL, NULL } },
	{ "zero_length_fragments", case_zero_length_fragments, { NULL, NULL } },
	{ "tiny_packet_max_slots", case_tiny_packet_max_slots, { NULL, NULL } },
	{ "double_fetch", case_double_fetch, { NULL, NULL } },
	{ "event_storm", case_event_storm, { NULL, NULL } },
	{ "good", case_good_forever, { NULL, NULL } },
	{ "rx_readonly_gref", case_rx_readonly_gref, { NULL, NULL } },
	{ "rx_never_posted", case_rx_never_posted, { NULL, NULL } },
	{ "garbage_fields", case_garbage_fields, { NULL, NULL } },
	{ "gref_revoked_mid_packet", case_gref_revoked_mid_packet, { NULL, NULL } },
	{ "header_split_first_slot", case_header_split_first_slot, { NULL, NULL } },
	{ "xs_rx_ring_ref_garbage", NULL, { "rx-ring-ref", "0x10" } },
	{ "xs_rx_notify_garbage", NULL, { "feature-rx-notify", "2" } },
	{ "xs_gso_garbage", NULL, { "feature-gso-tcpv4", "-1" } },
	{ "xs_no_csum_garbage", NULL, { "feature-no-csum-offload", "99999999999999999999" } },
	{ "xs_ipv6_csum_garbage", NULL, { "feature-ipv6-csum-offload", "" } },
	{ "xs_num_queues_zero", NULL, { "multi-queue-num-queues", "0" } },
	{ "xs_num_queues_no_dirs", NULL, { "multi-queue-num-queues", "2" } },
	{ "xs_ctrl_ring_ref_garbage", NULL, { "ctrl-ring-ref", "ring" } },
	{ "xs_ctrl_ring_without_channel", NULL, { "ctrl-ring-ref", "1" } },
	{ "xs_event_channel_tx_garbage", NULL, { "event-channel-tx", "tx" } },
	/* an optional key the backend may ignore: bad counts as off */
	{ "xs_multicast_control_garbage", case_one_good_packet,
	  { "request-multicast-control", "maybe" } },
	/* xenstore garbage: the handshake is refused, by name */
	{ "xs_num_queues_huge", NULL, { "multi-queue-num-queues", "4294967296" } },
	{ "xs_tx_ring_ref_garbage", NULL, { "tx-ring-ref", "12x" } },
	{ "xs_tx_ring_ref_unshared", NULL, { "tx-ring-ref", "999999" } },
	{ "xs_event_channel_garbage", NULL, { "event-channel", "-1" } },
	{ "xs_rx_copy_garbage", NULL, { "request-rx-copy", "yes please" } },
	{ "xs_feature_sg_garbage", NULL, { "feature-sg", "\x01\x02" } },
};

static int frontend_main(const char *mode, const char *fe_path, const char *be_path)
{
	struct fe f = { .fe = fe_path, .be = be_path };
	const struct fcase *c = NULL;
	int rc;

	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++)
		if (strcmp(fcases[i].mode, mode) == 0)
			c = &fcases[i];
	f.h = xnx_xs_open();
	f.gs = xnx_gntshr_open();
	f.ev = xnx_evtchn_open();
	if (!c || !f.h || !f.gs || !f.ev)
		return 10;
	rc = fe_setup(&f, c->spoil.key ? &c->spoil : NULL);
	if (rc == 0 && !c->run)
		rc = be_state(&f, "5", WAIT_MS) ? 0 : 13;	/* refused */
	else if (rc == 0)
		rc = be_state(&f, "4", WAIT_MS) ? c->run(&f) : 14;
	xnx_evtchn_close(f.ev);
	xnx_gntshr_close(f.gs);
	xs_close(f.h);
	return rc;
}

/* ---- suite ------------------------------------------------------------------------------- */

static struct guest good;

static int suite_init(void)
{
	FILE *fds;

	if (!nbsf_have_bins(&sim)) {
		printf("\n  (xnet-simd or xnetback not in %s: hostile tests skipped)\n", sim.bindir);
		return 0;
	}
	/* Short RX drain/stall clocks, so that rx_never_posted sees them. */
	setenv("XNET_RX_DRAIN_MS", "200", 1);
	setenv("XNET_RX_STALL_MS", "500", 1);
	if (nbsf_start(&sim, "/tmp/hostile.XXXXXX", WAIT_MS) < 0)
		return 1;
	xs = sim.xs;
	if (make_guest(&good, "good") < 0 || !wait_key(good.be, "state", "2"))
		return 1;
	good_pid = start_frontend(&good, "good");
	if (!wait_key(good.be, "state", "4"))
		return 1;
	nbsf_sleep_ms(300);	/* let the good vif's first packets settle the baseline */
	fds = open_memstream(&base_fd_list, &base_fd_len);
	base_fds = list_fds(sim.nb_pid, fds);
	if (fds)
		fclose(fds);
	base_rss = rss_kb(sim.nb_pid);
	ready = base_fds > 0 && base_rss > 0;
	return ready ? 0 : 1;
}

static int suite_clean(void)
{
	nbsf_stop(&good_pid, WAIT_MS);
	free(base_fd_list);
	base_fd_list = NULL;
	xs = NULL;
	return nbsf_clean(&sim, WAIT_MS) < 0 ? 1 : 0;
}

static unsigned long good_count(void)
{
	char path[128];
	unsigned long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/good.count", sim.dir);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

struct more { unsigned long than; };

static bool good_moved(const void *arg)
{
	return good_count() > ((const struct more *)arg)->than;
}

/* The well-behaved vif is still Connected and passes more packets. */
static void assert_good_serves(void)
{
	struct more m = { good_count() };

	CU_ASSERT(nbsf_alive(good_pid));
	CU_ASSERT(key_is(good.be, "state", "4"));
	CU_ASSERT(nbsf_wait_until(good_moved, &m, WAIT_MS));
}

/* One hostile guest: run MODE, then check the vif's outcome: Closing with
 * ERR in `error` (ERR non-empty), still Connected with no error (NULL), or
 * either ("": the case itself checked that it was answered or closed). */
static void hostile(const char *mode, const char *err)
{
	struct guest g;
	char *e;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, mode), 0);
	CU_ASSERT_FATAL(wait_key(g.be, "state", "2"));
	CU_ASSERT_EQUAL(run_frontend(&g, mode), 0);
	e = xnx_xs_read(xs, XBT_NULL, g.be, "error");
	if (err && !*err) {
		/* Either tier is right for this one: nothing to assert. */
		printf("\n  %s: %s\n", mode, e ? e : "answered, still Connected");
	} else if (err) {
		CU_ASSERT(wait_key(g.be, "state", "5"));
		CU_ASSERT(e && strstr(e, err));
		if (!e || !strstr(e, err))
			printf("\n  %s: error '%s', wanted '%s'\n", mode, e ? e : "(none)", err);
	} else {
		CU_ASSERT_PTR_NULL(e);
	}
	free(e);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
	assert_good_serves();
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(g.domid), 0);
	CU_ASSERT(wait_key(g.be, "state", "6") || !key_is(g.be, "state", "4"));
}

/* ---- sending into a vif's TAP from the host side ------------------------------------- */

/* Bring IFNAME up and send N broadcast frames of LEN bytes into it (the
 * backend reads them from the TAP for the guest). Returns how many went. */
static int inject(const char *ifname, int n, size_t len)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_halen = 6 };
	uint8_t frame[1514];
	char cmd[96];
	int fd, sent = 0;

	snprintf(cmd, sizeof(cmd), "ip link set dev %s up", ifname);
	if (system(cmd) != 0 || len > sizeof(frame))
		return -1;
	sa.sll_ifindex = (int)if_nametoindex(ifname);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || sa.sll_ifindex == 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(frame, 0x42, len);
	memset(frame, 0xff, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	for (int i = 0; i < n; i++)
		sent += sendto(fd, frame, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len;
	close(fd);
	return sent;
}

/* /sys/class/net/IFNAME/carrier is 0. */
static bool carrier_off(const void *arg)
{
	char path[96], c = '?';
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", (const char *)arg);
	f = fopen(path, "r");
	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = '?';
		fclose(f);
	}
	return c == '0';
}

/* RX case MODE: the frontend posts (or not) and says ready; we send
 * NFRAMES frames into its TAP, check, and let it finish. */
static void hostile_rx(const char *mode, int nframes, bool want_stall)
{
	struct guest g;
	pid_t pid;
	long rss;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, mode), 0);
	CU_ASSERT_FATAL(wait_key(g.be, "state", "2"));
	pid = start_frontend(&g, mode);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(wait_key(g.fe, "hostile-ready", "1"));
	CU_ASSERT(inject(g.vifname, nframes, 1000) > 0);
	if (want_stall) {
		/* Stalled: carrier off, so the host stops; memory bounded. */
		CU_ASSERT(nbsf_wait_until(carrier_off, g.vifname, WAIT_MS));
		CU_ASSERT(inject(g.vifname, nframes, 1000) >= 0);
		rss = rss_kb(sim.nb_pid);
		CU_ASSERT(rss > 0 && rss <= base_rss + RSS_SLACK_KB);
	}
	xnx_xs_printf(xs, XBT_NULL, g.fe, "hostile-done", "1");
	CU_ASSERT_EQUAL(nbsf_wait_child(pid, 3 * WAIT_MS), 0);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
	assert_good_serves();
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(g.domid), 0);
}

static void test_rx_readonly_gref(void)
{
	hostile_rx("rx_readonly_gref", 2, false);
}

static void test_rx_never_posted(void)
{
	hostile_rx("rx_never_posted", 3000, true);
}

#define HOSTILE(name, err) static void test_##name(void) { hostile(#name, err); }
HOSTILE(prod_far_ahead, "more than a ring ahead")
HOSTILE(offset_past_page, "past the page")
HOSTILE(too_many_slots, "more than 18 slots")
HOSTILE(extra_chain_endless, "extra-info")
HOSTILE(extra_type_unknown, "extra-info type 77")
HOSTILE(gref_invalid, NULL)
HOSTILE(gref_not_granted, NULL)
HOSTILE(gref_revoked, NULL)
HOSTILE(zero_length_packet, NULL)
HOSTILE(zero_length_fragments, NULL)
HOSTILE(tiny_packet_max_slots, NULL)
HOSTILE(double_fetch, NULL)
HOSTILE(event_storm, NULL)
HOSTILE(xs_num_queues_huge, "multi-queue-num-queues")
HOSTILE(xs_tx_ring_ref_garbage, "tx-ring-ref")
HOSTILE(xs_tx_ring_ref_unshared, "tx-ring-ref")
HOSTILE(xs_event_channel_garbage, "event-channel")
HOSTILE(xs_rx_copy_garbage, "request-rx-copy")
HOSTILE(xs_feature_sg_garbage, "feature-sg")
HOSTILE(garbage_fields, "")
HOSTILE(gref_revoked_mid_packet, NULL)
HOSTILE(header_split_first_slot, NULL)
HOSTILE(xs_rx_ring_ref_garbage, "rx-ring-ref")
HOSTILE(xs_rx_notify_garbage, "feature-rx-notify")
HOSTILE(xs_gso_garbage, "feature-gso-tcpv4")
HOSTILE(xs_no_csum_garbage, "feature-no-csum-offload")
HOSTILE(xs_ipv6_csum_garbage, "feature-ipv6-csum-offload")
HOSTILE(xs_num_queues_zero, "multi-queue-num-queues")
HOSTILE(xs_num_queues_no_dirs, "queue")
HOSTILE(xs_ctrl_ring_ref_garbage, "ctrl-ring-ref")
HOSTILE(xs_ctrl_ring_without_channel, "event-channel-ctrl")
HOSTILE(xs_event_channel_tx_garbage, "event-channel-tx")
HOSTILE(xs_multicast_control_garbage, NULL)

/* Frontend states in illegal orders: each refused by name or ignored, the
 * daemon unharmed. */
static void test_states_illegal_order(void)
{
	static const char *const seq[][3] = {
		{ "7", NULL, NULL },		/* Reconfiguring out of nowhere */
		{ "8", NULL, NULL },		/* Reconfigured */
		{ "4", NULL, NULL },		/* Connected with nothing published */
		{ "3", "1", "4" },		/* Initialised, back, Connected: no keys */
		{ "9", NULL, NULL },		/* no such state */
		{ "banana", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]) && ready; i++) {
		struct guest g;
		char tag[16];

		snprintf(tag, sizeof(tag), "st%zu", i);
		CU_ASSERT_EQUAL_FATAL(make_guest(&g, tag), 0);
		CU_ASSERT_FATAL(wait_key(g.be, "state", "2"));
		for (int j = 0; j < 3 && seq[i][j]; j++)
			xnx_xs_printf(xs, XBT_NULL, g.fe, "state", "%s", seq[i][j]);
		if (i < 4) {
			char *e;

			CU_ASSERT(wait_key(g.be, "state", "5"));
			e = xnx_xs_read(xs, XBT_NULL, g.be, "error");
			CU_ASSERT_PTR_NOT_NULL(e);
			free(e);
		}
		CU_ASSERT(nbsf_alive(sim.nb_pid));
		CU_ASSERT_EQUAL(xnx_sim_domain_destroy(g.domid), 0);
	}
	assert_good_serves();
}

static bool tap_gone(const void *name)
{
	return if_nametoindex(name) == 0;
}

/* A guest destroyed before xnetback ever saw its frontend's state (here:
 * it never wrote one): the vif goes with the domain, not kept for a
 * frontend that can no longer come. */
static void test_frontend_never_seen(void)
{
	struct guest g;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest_with(&g, "unseen", add_vif_unpublished), 0);
	CU_ASSERT_FATAL(wait_key(g.be, "state", "2"));
	CU_ASSERT(if_nametoindex(g.vifname) != 0);
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(g.domid), 0);
	CU_ASSERT(nbsf_wait_until(tap_gone, g.vifname, WAIT_MS));
	CU_ASSERT(nbsf_alive(sim.nb_pid));
	assert_good_serves();
}

/* No interface of this run left but the good one; with ARG (non-NULL),
 * those left are named. */
static bool only_good_tap(const void *arg)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	char prefix[32];
	bool ok = true;

	snprintf(prefix, sizeof(prefix), "hs%d.", (int)getpid() % 100000);
	for (i = ifs; i && i->if_index; i++)
		if (strncmp(i->if_name, prefix, strlen(prefix)) == 0 &&
		    strcmp(i->if_name, good.vifname) != 0) {
			ok = false;
			if (arg)
				printf("\n  %s is still there", i->if_name);
		}
	if (ifs)
		if_freenameindex(ifs);
	return ok;
}

/* After every hostile guest is gone: descriptors back to the baseline,
 * memory within a slack, no TAP of theirs left. */
static void test_nothing_leaked(void)
{
	long rss;

	if (!ready)
		return;
	if (!nbsf_wait_until(only_good_tap, NULL, WAIT_MS)) {
		char cmd[300];

		only_good_tap("say");
		snprintf(cmd, sizeof(cmd), "tail -40 %s/xnetback.log", sim.dir);
		if (system(cmd) != 0)
			printf("\n  (no xnetback log)");
		CU_FAIL("a TAP of a destroyed guest is left");
	}
	if (!nbsf_wait_until(fds_back, NULL, WAIT_MS)) {
		printf("\n  xnetback's descriptors at the start:\n%s  and now:\n",
		       base_fd_list ? base_fd_list : "");
		list_fds(sim.nb_pid, stdout);
		CU_FAIL("xnetback holds more descriptors than at the start");
	}
	rss = rss_kb(sim.nb_pid);
	printf("\n  xnetback fds %ld -> %ld, rss %ld -> %ld KiB\n", base_fds,
	       count_fds(sim.nb_pid), base_rss, rss);
	CU_ASSERT(rss > 0 && rss <= base_rss + RSS_SLACK_KB);
	assert_good_serves();
}

/* kill -9 of xnetback: a new instance finds the good vif, reattaches to
 * its rings (recover.c) and serves it again; its frontend never restarted. */
static void test_netback_killed_recovers(void)
{
	int st;
	struct more m;

	if (!ready)
		return;
	kill(sim.nb_pid, SIGKILL);
	waitpid(sim.nb_pid, &st, 0);
	m.than = good_count();
	sim.nb_pid = nbsf_start_netback(&sim);
	/* The new instance empties hotplug-status and waits for the script's
	 * online again; no hotplug daemon runs here, so play its part. */
	CU_ASSERT(wait_key(good.be, "hotplug-status", ""));
	xnx_xs_printf(xs, XBT_NULL, good.be, "hotplug-status", "connected");
	CU_ASSERT(wait_key(good.be, "state", "4"));
	CU_ASSERT(nbsf_wait_until(good_moved, &m, WAIT_MS));
	CU_ASSERT(nbsf_alive(good_pid));
	CU_ASSERT(nbsf_alive(sim.nb_pid));
	CU_ASSERT(if_nametoindex(good.vifname) != 0);
	/* The devices of destroyed guests are not brought back. */
	CU_ASSERT(nbsf_wait_until(only_good_tap, NULL, WAIT_MS));
	printf("\n  xnetback after restart: %ld fds (first instance %ld)\n",
	       count_fds(sim.nb_pid), base_fds);
	CU_ASSERT(count_fds(sim.nb_pid) <= base_fds);
}

#define C(name) { #name, test_##name }
int main(int argc, char **argv)
{
	static const struct cunit_case tests[] = {
		C(prod_far_ahead),
		C(offset_past_page),
		C(too_many_slots),
		C(extra_chain_endless),
		C(extra_type_unknown),
		C(gref_invalid),
		C(gref_not_granted),
		C(gref_revoked),
		C(zero_length_packet),
		C(zero_length_fragments),
		C(tiny_packet_max_slots),
		C(double_fetch),
		C(event_storm),
		C(xs_num_queues_huge),
		C(xs_tx_ring_ref_garbage),
		C(xs_tx_ring_ref_unshared),
		C(xs_event_channel_garbage),
		C(xs_rx_copy_garbage),
		C(xs_feature_sg_garbage),
		C(garbage_fields),
		C(gref_revoked_mid_packet),
		C(header_split_first_slot),
		C(rx_readonly_gref),
		C(rx_never_posted),
		C(xs_rx_ring_ref_garbage),
		C(xs_rx_notify_garbage),
		C(xs_gso_garbage),
		C(xs_no_csum_garbage),
		C(xs_ipv6_csum_garbage),
		C(xs_num_queues_zero),
		C(xs_num_queues_no_dirs),
		C(xs_ctrl_ring_ref_garbage),
		C(xs_ctrl_ring_without_channel),
		C(xs_event_channel_tx_garbage),
		C(xs_multicast_control_garbage),
		C(states_illegal_order),
		C(frontend_never_seen),
		C(nothing_leaked),
		C(netback_killed_recovers),
	};

	if (argc == 5 && strcmp(argv[1], "--frontend") == 0)
		return frontend_main(argv[2], argv[3], argv[4]);
	return CUNIT_RUN("hostile_netback", suite_init, suite_clean, tests);
}
