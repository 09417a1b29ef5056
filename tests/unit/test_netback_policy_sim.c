/*
 * test_netback_policy_sim.c — xnetback's per-vif policy end to end on the
 * simulated hypervisor, with a frontend driven by hand (this program
 * re-executed with --frontend, as test_netback_sim.c does) and the host
 * side seen through a packet socket on the vif:
 *   - a frame with a spoofed source MAC is dropped and counted while good
 *     frames around it reach the host;
 *   - with `ip`, IPv4 and ARP from other addresses are dropped and counted,
 *     and a malformed `ip` keeps the vif from connecting, named in `error`;
 *   - with `vlan`, the guest's frames reach the host tagged, and of three
 *     host frames only the one tagged with the vif's VLAN reaches the guest,
 *     untagged;
 *   - a guest that posts no RX buffers: xnetback's memory stays flat under
 *     a flood, frames are dropped as "no buffer", the carrier goes off, and
 *     everything recovers once the guest posts buffers.
 * Counters are read from the summary xnetback logs when a vif disconnects.
 *
 * Runs in its own network namespace (needs root; skips otherwise) so the
 * vifs and packet sockets are private. Needs xnet-simd and xnetback in
 * $XNET_BIN (default build/bin); skips if they are missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>

#include <CUnit/Basic.h>
#include "cunit_run.h"

#include "netback/xnb.h"
#include "netback_simfront.h"
#include "xnx_link.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define WAIT_MS 10000
#define NRXBUF 8
#define VLAN 42
#define ETH_TYPE 0x88b5		/* local experimental: nobody else sends it */
#define DRAIN_MS "300"
#define STALL_MS "2500"

static struct nbsf_sim sim;
static struct xs_handle *xs;
static bool ready;

/* ---- small helpers ---------------------------------------------------------- */

static bool wait_key(const char *dir, const char *key, const char *val)
{
	return nbsf_wait_key(xs, dir, key, val, WAIT_MS);
}

static void put_marker(uint8_t *frame, const char *m)
{
	memcpy(frame + 14, m, strlen(m));
}

static bool has_marker(const uint8_t *frame, size_t len, const char *m)
{
	return len >= 14 + strlen(m) && memcmp(frame + 14, m, strlen(m)) == 0;
}

/* IPv4 and ARP frames carry theirs behind the headers. */
#define IP_MARK_OFF 42

static bool has_ip_marker(const uint8_t *frame, size_t len, const char *m)
{
	return len >= IP_MARK_OFF + strlen(m) && memcmp(frame + IP_MARK_OFF, m, strlen(m)) == 0;
}

/* ---- the toolstack's part --------------------------------------------------- */

struct guest {
	const char *tag;
	uint32_t domid;
	unsigned vlan;
	const char *ip;
	char be[128], fe[128], vifname[IFNAMSIZ];
	uint8_t mac[6];
	unsigned ifindex;
	pid_t fe_pid;
};

static int add_vif(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct guest *g = arg;
	char mac[18];
	int rc;

	snprintf(mac, sizeof(mac), "00:16:3e:00:01:%02x", g->domid);
	if ((rc = nbsf_write_vif(h, t, g->domid, g->be, g->fe, mac, g->vifname)) < 0)
		return rc;
	if (g->vlan && (rc = xnx_xs_printf(h, t, g->be, "vlan", "%u", g->vlan)) < 0)
		return rc;
	if (g->ip && (rc = xnx_xs_printf(h, t, g->be, "ip", "%s", g->ip)) < 0)
		return rc;
	return xnx_xs_printf(h, t, g->be, "state", "1");
}

static bool if_exists(const void *arg)
{
	return if_nametoindex(arg) != 0;
}

static int if_up(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = -1;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
	return rc;
}

/* Create the domain and its vif, bring the vif up as the hotplug script
 * would, and report hotplug done. */
static int make_guest(struct guest *g, const char *tag, unsigned vlan, const char *ip)
{
	char name[64];

	memset(g, 0, sizeof(*g));
	g->tag = tag;
	g->vlan = vlan;
	g->ip = ip;
	g->fe_pid = -1;
	snprintf(name, sizeof(name), "nbp-%d-%s", (int)getpid(), tag);
	if (xnx_sim_domain_create(name, 0, &g->domid) < 0)
		return -errno;
	snprintf(g->be, sizeof(g->be), "/local/domain/0/backend/vif/%u/0", g->domid);
	snprintf(g->fe, sizeof(g->fe), "/local/domain/%u/device/vif/0", g->domid);
	snprintf(g->vifname, sizeof(g->vifname), "nbp%s", tag);
	uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x00, 0x01, (uint8_t)g->domid };
	memcpy(g->mac, mac, 6);
	if (xnx_xs_transact(xs, add_vif, g) < 0 || !wait_key(g->be, "state", "2") ||
	    !nbsf_wait_until(if_exists, g->vifname, WAIT_MS) || if_up(g->vifname) < 0)
		return -EIO;
	g->ifindex = if_nametoindex(g->vifname);
	return xnx_xs_printf(xs, XBT_NULL, g->be, "hotplug-status", "connected");
}

static void start_frontend(struct guest *g, const char *mode)
{
	char self[PATH_MAX], dom[16], log[128];

	if (nbsf_self_exe(self, sizeof(self)) < 0)
		return;
	snprintf(dom, sizeof(dom), "%u", g->domid);
	snprintf(log, sizeof(log), "%s/frontend-%s.log", sim.dir, g->tag);
	char *argv[] = { self, "--frontend", dom, (char *)mode, g->fe, g->be, sim.dir, NULL };
	g->fe_pid = nbsf_spawn(argv, log, dom);
}

/* The frontend's exit status (killed after a bound: -2). */
static int end_frontend(struct guest *g)
{
	int rc;

	if (g->fe_pid <= 0)
		return -1;
	rc = nbsf_wait_child(g->fe_pid, 2 * WAIT_MS);
	g->fe_pid = -1;
	return rc;
}

/* ---- the host side: a packet socket on the vif ------------------------------- */

static int pkt_open(unsigned ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_TYPE),
				   .sll_ifindex = (int)ifindex };
	int one = 1;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0)
		return -1;
	sll.sll_protocol = htons(ETH_P_ALL);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One frame the vif received from the guest within MS; its length (0 on
 * timeout) and, in *TCI, its VLAN tag (-1 if untagged; the kernel moves the
 * tag out of the frame into the packet's metadata). */
static size_t pkt_recv(int fd, uint8_t *buf, size_t len, int *tci, int ms)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))]; } cb;
	struct sockaddr_ll from;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, ms) == 1) {
		struct iovec iov = { buf, len };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = &cb, .msg_controllen = sizeof(cb) };
		ssize_t n = recvmsg(fd, &m, 0);

		if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		*tci = -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct tpacket_auxdata aux;

			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
				continue;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if (aux.tp_status & TP_STATUS_VLAN_VALID)
				*tci = aux.tp_vlan_tci;
		}
		return (size_t)n;
	}
	return 0;
}

/* A host frame to the guest: tagged with TCI unless TCI < 0. */
static int pkt_send(int fd, const struct guest *g, int tci, const char *marker, size_t len)
{
	static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = (int)g->ifindex,
				  .sll_halen = 6 };
	uint8_t f[1600] = { 0 };
	size_t off = 12;

	memcpy(f, g->mac, 6);
	memcpy(f + 6, host_mac, 6);
	if (tci >= 0) {
		f[12] = 0x81;
		f[14] = (uint8_t)(tci >> 8);
		f[15] = (uint8_t)tci;
		off = 16;
	}
	f[off] = ETH_TYPE >> 8;
	f[off + 1] = ETH_TYPE & 0xff;
	memcpy(f + off + 2, marker, strlen(marker));
	memcpy(to.sll_addr, g->mac, 6);
	return sendto(fd, f, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

struct link_want { unsigned ifindex; bool up; };

static bool carrier_is(const void *arg)
{
	const struct link_want *w = arg;
	struct xnx_link_info info;

	return xnx_link_get(NULL, w->ifindex, &info) == 0 &&
	       !!(info.flags & IFF_LOWER_UP) == w->up;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* ---- counters from the disconnect summary --------------------------------------- */

struct counters_for { const char *be; char line[2048]; };

/* The "<be>: counters: ..." line xnetback logs on disconnect, if there. */
static bool find_counters(const void *arg)
{
	struct counters_for *c = (struct counters_for *)arg;
	char path[128], line[2048], key[160];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/xnetback.log", sim.dir);
	snprintf(key, sizeof(key), "%s: counters: ", c->be);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, key)) {
			snprintf(c->line, sizeof(c->line), "%s", line);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* Counter NAME in the summary LINE (absent: 0, the summary skips zeros). */
static long counter(const char *line, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s ", name);
	p = strstr(line, key);
	return p ? strtol(p + strlen(key), NULL, 10) : 0;
}

/* Destroy G's domain and read its vif's counters. */
static bool finish_guest(struct guest *g, struct counters_for *c)
{
	c->be = g->be;
	if (g->fe_pid > 0) {
		kill(g->fe_pid, SIGKILL);
		end_frontend(g);
	}
	if (xnx_sim_domain_destroy(g->domid) < 0)
		return false;
	return nbsf_wait_until(find_counters, c, WAIT_MS);
}

/* ---- the frontend (re-executed child) --------------------------------------------- */

struct fe {
	struct xs_handle *h;
	xnx_gntshr *gs;
	xnx_evtchn *ev;
	const char *fe, *be, *dir;
	unsigned domid;
	int port;
	uint32_t refs[2], dref, rxrefs[NRXBUF];
	uint8_t *rings, *data, *rxbuf;
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	uint8_t mac[6];
	RING_IDX tx_seen, rx_seen;
};

static bool fe_wait_be(struct fe *f, const char *v)
{
	return nbsf_wait_key(f->h, f->be, "state", v, WAIT_MS);
}

static int fe_publish(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	const struct fe *f = arg;
	int rc;

	if ((rc = xnx_xs_printf(h, t, f->fe, "tx-ring-ref", "%u", f->refs[0])) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->fe, "rx-ring-ref", "%u", f->refs[1])) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->fe, "event-channel", "%d", f->port)) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->fe, "request-rx-copy", "1")) < 0 ||
	    (rc = xnx_xs_printf(h, t, f->fe, "feature-rx-notify", "1")) < 0)
		return rc;
	return xnx_xs_printf(h, t, f->fe, "state", "3");
}

static void fe_post_rx(struct fe *f)
{
	int notify;

	for (unsigned i = 0; i < NRXBUF; i++)
		*RING_GET_REQUEST(&f->rx, f->rx.req_prod_pvt++) =
			(netif_rx_request_t){ .id = (uint16_t)i, .gref = f->rxrefs[i] };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->rx, notify);
	if (notify)
		xnx_evtchn_notify(f->ev, (evtchn_port_t)f->port);
}

/* Set up rings, channel and pages; publish; wait for Connected. */
static int fe_connect(struct fe *f, bool post_rx)
{
	char *m;

	m = xnx_xs_read(f->h, XBT_NULL, f->fe, "mac");
	if (!m || sscanf(m, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &f->mac[0], &f->mac[1], &f->mac[2],
			 &f->mac[3], &f->mac[4], &f->mac[5]) != 6)
		return 40;
	free(m);
	f->rings = xnx_gntshr_share_pages(f->gs, 0, 2, f->refs, 1);
	f->data = xnx_gntshr_share_pages(f->gs, 0, 1, &f->dref, 0);
	f->rxbuf = xnx_gntshr_share_pages(f->gs, 0, NRXBUF, f->rxrefs, 1);
	f->port = xnx_evtchn_bind_unbound_port(f->ev, 0);
	if (!f->rings || !f->data || !f->rxbuf || f->port < 0)
		return 41;
	SHARED_RING_INIT((netif_tx_sring_t *)f->rings);
	SHARED_RING_INIT((netif_rx_sring_t *)(f->rings + XNB_PAGE_SIZE));
	FRONT_RING_INIT(&f->tx, (netif_tx_sring_t *)f->rings, XNB_PAGE_SIZE);
	FRONT_RING_INIT(&f->rx, (netif_rx_sring_t *)(f->rings + XNB_PAGE_SIZE), XNB_PAGE_SIZE);
	if (post_rx)
		fe_post_rx(f);	/* before connecting: the backend sees them at once */
	if (xnx_xs_transact(f->h, fe_publish, f) < 0)
		return 42;
	return fe_wait_be(f, "4") ? 0 : 43;
}

/* Push the 60-byte frame at OFF of the data page. */
static void fe_push(struct fe *f, uint16_t off, uint16_t id)
{
	int notify;

	*RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt++) =
		(netif_tx_request_t){ .gref = f->dref, .offset = off, .id = id, .size = 60 };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->tx, notify);
	if (notify)
		xnx_evtchn_notify(f->ev, (evtchn_port_t)f->port);
}

/* A frame at OFF of the data page from SRC with MARKER, pushed. */
static void fe_send(struct fe *f, uint16_t off, const uint8_t *src, const char *marker,
		    uint16_t id)
{
	uint8_t *p = f->data + off;

	memset(p, 0, 60);
	memset(p, 0xff, 6);
	memcpy(p + 6, src, 6);
	p[12] = ETH_TYPE >> 8;
	p[13] = ETH_TYPE & 0xff;
	put_marker(p, marker);
	fe_push(f, off, id);
}

/* An IPv4/UDP packet (or, ARP, a request) from 10.0.0.LAST, pushed. */
static void fe_send_ip(struct fe *f, uint16_t off, bool arp, uint8_t last, const char *marker,
		       uint16_t id)
{
	uint8_t *p = f->data + off, *h = p + 14;

	memset(p, 0, 60);
	memset(p, 0xff, 6);
	memcpy(p + 6, f->mac, 6);
	p[12] = 0x08;
	p[13] = arp ? 0x06 : 0x00;
	if (arp) {
		h[1] = 1;	/* Ethernet */
		h[2] = 0x08;	/* IPv4 */
		h[4] = 6;
		h[5] = 4;
		h[7] = 1;	/* request */
		memcpy(h + 8, f->mac, 6);
		h[14] = 10;
		h[17] = last;
		h[24] = 10;
		h[27] = 1;
	} else {
		h[0] = 0x45;
		h[3] = 46;	/* total length */
		h[8] = 64;
		h[9] = 17;	/* UDP */
		h[12] = 10;
		h[15] = last;
		h[16] = 10;
		h[19] = 1;
	}
	memcpy(p + IP_MARK_OFF, marker, strlen(marker));
	fe_push(f, off, id);
}

/* Wait until N TX responses arrived; all OKAY? */
static bool fe_tx_okay(struct fe *f, RING_IDX n)
{
	for (int t = 0; t < WAIT_MS && XNB_READ_ONCE(f->tx.sring->rsp_prod) < n; t += 10)
		nbsf_sleep_ms(10);
	if (XNB_READ_ONCE(f->tx.sring->rsp_prod) != n)
		return false;
	xen_rmb(); /* responses after their index: pairs with the backend's wmb */
	for (RING_IDX i = 0; i < n; i++) {
		netif_tx_response_t r;

		RING_COPY_RESPONSE(&f->tx, i, &r);
		if (r.status != NETIF_RSP_OKAY)
			return false;
	}
	return true;
}

/* The next RX frame within WAIT_MS: its page and length (0: none). */
static size_t fe_rx_next(struct fe *f, const uint8_t **frame)
{
	netif_rx_response_t r;

	for (int t = 0; t < WAIT_MS && XNB_READ_ONCE(f->rx.sring->rsp_prod) == f->rx_seen;
	     t += 10)
		nbsf_sleep_ms(10);
	if (XNB_READ_ONCE(f->rx.sring->rsp_prod) == f->rx_seen)
		return 0;
	xen_rmb(); /* response after its index: pairs with the backend's wmb */
	RING_COPY_RESPONSE(&f->rx, f->rx_seen, &r);
	f->rx_seen++;
	if (r.status <= 0 || r.id >= NRXBUF || r.offset != 0)
		return 0;
	*frame = f->rxbuf + (size_t)r.id * XNB_PAGE_SIZE;
	return (size_t)r.status;
}

/* Good, spoofed, good: all three answered OKAY (the spoofed one dropped). */
static int fe_spoof(struct fe *f)
{
	uint8_t spoof[6];

	memcpy(spoof, f->mac, 6);
	spoof[5] ^= 0x55;
	fe_send(f, 0, f->mac, "GOOD1", 1);
	fe_send(f, 128, spoof, "SPOOF", 2);
	fe_send(f, 256, f->mac, "GOOD2", 3);
	return fe_tx_okay(f, 3) ? 0 : 50;
}

/* From the listed address, then others: all answered OKAY. */
static int fe_ip(struct fe *f)
{
	fe_send_ip(f, 0, false, 2, "IPOK1", 1);
	fe_send_ip(f, 128, false, 66, "IPBAD", 2);
	fe_send_ip(f, 256, true, 66, "ARPBAD", 3);
	fe_send_ip(f, 384, true, 2, "ARPOK", 4);
	fe_send_ip(f, 512, false, 2, "IPOK2", 5);
	return fe_tx_okay(f, 5) ? 0 : 55;
}

/* Send one frame out; the first frame in must be the host's VLAN one,
 * untagged. */
static int fe_vlan(struct fe *f)
{
	const uint8_t *fr;
	size_t len;

	fe_send(f, 0, f->mac, "VOUT", 1);
	if (!fe_tx_okay(f, 1))
		return 51;
	len = fe_rx_next(f, &fr);
	if (len == 0)
		return 52;
	if (fr[12] != (ETH_TYPE >> 8) || fr[13] != (ETH_TYPE & 0xff))
		return 53;	/* still tagged */
	return has_marker(fr, len, "VIN") ? 0 : 54;
}

static bool file_exists(const void *arg)
{
	return access(arg, F_OK) == 0;
}

/* Post nothing until told; then post and wait for the host's AFTER frame. */
static int fe_stall(struct fe *f)
{
	char go[128];
	const uint8_t *fr;
	size_t len;

	snprintf(go, sizeof(go), "%s/go-%u", f->dir, f->domid);
	if (!nbsf_wait_until(file_exists, go, 3 * WAIT_MS))
		return 60;
	fe_post_rx(f);
	for (unsigned i = 0; i < NRXBUF; i++) {
		len = fe_rx_next(f, &fr);
		if (len == 0)
			return 61;
		if (has_marker(fr, len, "AFTER"))
			return 0;
	}
	return 62;
}

static int frontend_main(char **argv)
{
	struct fe f = { .domid = (unsigned)strtoul(argv[2], NULL, 10), .fe = argv[4],
			.be = argv[5], .dir = argv[6] };
	const char *mode = argv[3];
	int rc;

	f.h = xnx_xs_open();
	f.gs = xnx_gntshr_open();
	f.ev = xnx_evtchn_open();
	rc = !f.h || !f.gs || !f.ev ? 10 : fe_connect(&f, strcmp(mode, "stall") != 0);
	if (rc == 0)
		rc = strcmp(mode, "spoof") == 0 ? fe_spoof(&f) :
		     strcmp(mode, "ip") == 0 ? fe_ip(&f) :
		     strcmp(mode, "vlan") == 0 ? fe_vlan(&f) : fe_stall(&f);
	if (f.ev)
		xnx_evtchn_close(f.ev);
	if (f.gs)
		xnx_gntshr_close(f.gs);
	if (f.h)
		xs_close(f.h);
	return rc;
}

/* ---- suite --------------------------------------------------------------------- */

/* A private network namespace, IPv6 off so the kernel sends nothing of its
 * own on the vifs. */
static bool own_netns(void)
{
	static const char *const knobs[] = {
		"/proc/sys/net/ipv6/conf/default/disable_ipv6",
		"/proc/sys/net/ipv6/conf/all/disable_ipv6",
	};

	if (unshare(CLONE_NEWNET) < 0)
		return false;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		int fd = open(knobs[i], O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, "1", 1) != 1)
				printf("\n  (could not turn IPv6 off: %s)\n", strerror(errno));
			close(fd);
		}
	}
	return true;
}

static int suite_init(void)
{
	if (!nbsf_have_bins(&sim)) {
		printf("\n  (xnet-simd or xnetback not in %s: sim tests skipped)\n", sim.bindir);
		return 0;
	}
	if (!own_netns()) {
		printf("\n  (no network namespace of our own: %s; sim tests skipped)\n",
		       strerror(errno));
		return 0;
	}
	setenv("XNET_RX_DRAIN_MS", DRAIN_MS, 1);
	setenv("XNET_RX_STALL_MS", STALL_MS, 1);
	if (nbsf_start(&sim, "/tmp/nbpol.XXXXXX", WAIT_MS) < 0)
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

static void test_sim_spoofed_mac_dropped_and_counted(void)
{
	struct counters_for c;
	bool good1 = false, good2 = false, spoof_seen = false;
	uint8_t buf[2048];
	struct guest g;
	int fd, tci;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, "s", 0, NULL), 0);
	fd = pkt_open(g.ifindex);
	CU_ASSERT_FATAL(fd >= 0);
	start_frontend(&g, "spoof");
	CU_ASSERT_EQUAL(end_frontend(&g), 0);	/* three OKAY responses */
	/* In ring order: the spoofed frame would come before GOOD2. */
	while (!good2) {
		size_t n = pkt_recv(fd, buf, sizeof(buf), &tci, WAIT_MS);

		if (n == 0)
			break;
		good1 |= has_marker(buf, n, "GOOD1");
		spoof_seen |= has_marker(buf, n, "SPOOF");
		good2 |= has_marker(buf, n, "GOOD2");
	}
	CU_ASSERT(good1);
	CU_ASSERT(good2);
	CU_ASSERT_FALSE(spoof_seen);
	close(fd);
	CU_ASSERT_FATAL(finish_guest(&g, &c));
	CU_ASSERT_EQUAL(counter(c.line, "drop_tx_spoofed_mac"), 1);
	CU_ASSERT_EQUAL(counter(c.line, "tx_packets"), 2);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
}

static void test_sim_ip_spoofing_dropped_and_counted(void)
{
	static const char *const want[] = { "IPOK1", "ARPOK", "IPOK2" };
	bool seen[3] = { false }, bad = false;
	struct counters_for c;
	uint8_t buf[2048];
	struct guest g;
	int fd, tci;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, "i", 0, "10.0.0.2 192.168.7.0/24"), 0);
	fd = pkt_open(g.ifindex);
	CU_ASSERT_FATAL(fd >= 0);
	start_frontend(&g, "ip");
	CU_ASSERT_EQUAL(end_frontend(&g), 0);
	while (!seen[2]) {
		size_t n = pkt_recv(fd, buf, sizeof(buf), &tci, WAIT_MS);

		if (n == 0)
			break;
		for (int i = 0; i < 3; i++)
			seen[i] |= has_ip_marker(buf, n, want[i]);
		bad |= has_ip_marker(buf, n, "IPBAD") || has_ip_marker(buf, n, "ARPBAD");
	}
	CU_ASSERT(seen[0] && seen[1] && seen[2]);
	CU_ASSERT_FALSE(bad);
	close(fd);
	CU_ASSERT_FATAL(finish_guest(&g, &c));
	CU_ASSERT_EQUAL(counter(c.line, "drop_tx_spoofed_ip"), 2);
	CU_ASSERT_EQUAL(counter(c.line, "tx_packets"), 3);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
}

/* Fail closed: a malformed `ip` keeps the vif down, with the reason. */
static void test_sim_malformed_ip_refused(void)
{
	struct guest g;
	char *err;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, "m", 0, "10.0.0.2  10.0.0.300"), 0);
	start_frontend(&g, "spoof");
	CU_ASSERT(wait_key(g.be, "state", "5"));	/* Closing, never Connected */
	err = xnx_xs_read(xs, XBT_NULL, g.be, "error");
	CU_ASSERT(err && strstr(err, "/ip: ") && strstr(err, "empty entry"));
	free(err);
	CU_ASSERT(end_frontend(&g) != 0);	/* it never saw Connected */
	CU_ASSERT_EQUAL(xnx_sim_domain_destroy(g.domid), 0);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
}

static void test_sim_vlan_tagged_exchange(void)
{
	struct counters_for c;
	bool out_tagged = false;
	uint8_t buf[2048];
	struct guest g;
	int fd, tci;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, "v", VLAN, NULL), 0);
	fd = pkt_open(g.ifindex);
	CU_ASSERT_FATAL(fd >= 0);
	start_frontend(&g, "vlan");
	CU_ASSERT_FATAL(wait_key(g.be, "state", "4"));
	/* Guest → host: tagged with our VLAN. */
	for (;;) {
		size_t n = pkt_recv(fd, buf, sizeof(buf), &tci, WAIT_MS);

		if (n == 0)
			break;
		if (has_marker(buf, n, "VOUT")) {
			out_tagged = tci >= 0 && (tci & 0x0fff) == VLAN;
			break;
		}
	}
	CU_ASSERT(out_tagged);
	/* Host → guest: untagged and VLAN 7 dropped, VLAN 42 delivered. */
	CU_ASSERT_EQUAL(pkt_send(fd, &g, -1, "VX1", 60), 0);
	CU_ASSERT_EQUAL(pkt_send(fd, &g, 7, "VX2", 64), 0);
	CU_ASSERT_EQUAL(pkt_send(fd, &g, VLAN, "VIN", 64), 0);
	CU_ASSERT_EQUAL(end_frontend(&g), 0);	/* its first frame was VIN, untagged */
	close(fd);
	CU_ASSERT_FATAL(finish_guest(&g, &c));
	CU_ASSERT_EQUAL(counter(c.line, "drop_rx_wrong_vlan"), 2);
	CU_ASSERT_EQUAL(counter(c.line, "rx_packets"), 1);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
}

static void test_sim_stalled_guest_bounded_then_recovers(void)
{
	struct link_want off, on;
	struct counters_for c;
	char go[128];
	long before, after;
	struct guest g;
	int fd, sent = 0, code = -1;

	if (!ready)
		return;
	CU_ASSERT_EQUAL_FATAL(make_guest(&g, "t", 0, NULL), 0);
	fd = pkt_open(g.ifindex);
	CU_ASSERT_FATAL(fd >= 0);
	start_frontend(&g, "stall");		/* posts no RX buffer */
	CU_ASSERT_FATAL(wait_key(g.be, "state", "4"));
	before = rss_kb(sim.nb_pid);
	/* 4000 frames of 1400 bytes (5.6 MB) at a guest that takes none. */
	for (int i = 0; i < 4000; i++)
		sent += pkt_send(fd, &g, -1, "FLOOD", 1400) == 0;
	CU_ASSERT(sent > 0);
	off = (struct link_want){ g.ifindex, false };
	CU_ASSERT(nbsf_wait_until(carrier_is, &off, WAIT_MS));	/* stalled: carrier off */
	after = rss_kb(sim.nb_pid);
	CU_ASSERT(before > 0 && after > 0);
	if (after - before >= 3072)
		printf("\n  xnetback RSS %ld kB → %ld kB\n", before, after);
	CU_ASSERT(after - before < 3072);

	/* The guest posts buffers: carrier back on, frames flow again. */
	snprintf(go, sizeof(go), "%s/go-%u", sim.dir, g.domid);
	CU_ASSERT_FATAL(close(open(go, O_CREAT | O_WRONLY, 0600)) == 0);
	on = (struct link_want){ g.ifindex, true };
	CU_ASSERT(nbsf_wait_until(carrier_is, &on, WAIT_MS));
	/* Until the frontend has it (the link may need a moment to pass
	 * frames again after the carrier came back). */
	for (int t = 0; t < WAIT_MS && code < 0; t += 100) {
		int st;

		pkt_send(fd, &g, -1, "AFTER", 60);
		nbsf_sleep_ms(100);
		if (waitpid(g.fe_pid, &st, WNOHANG) == g.fe_pid) {
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
			g.fe_pid = -1;
		}
	}
	CU_ASSERT_EQUAL(code, 0);
	close(fd);
	CU_ASSERT_FATAL(finish_guest(&g, &c));
	CU_ASSERT(counter(c.line, "drop_rx_no_buffer") > 0);
	CU_ASSERT(counter(c.line, "rx_packets") >= 1);
	CU_ASSERT(nbsf_alive(sim.nb_pid));
}

int main(int argc, char **argv)
{
	static const struct cunit_case tests[] = {
		{ "sim_spoofed_mac_dropped_and_counted", test_sim_spoofed_mac_dropped_and_counted },
		{ "sim_ip_spoofing_dropped_and_counted", test_sim_ip_spoofing_dropped_and_counted },
		{ "sim_malformed_ip_refused", test_sim_malformed_ip_refused },
		{ "sim_vlan_tagged_exchange", test_sim_vlan_tagged_exchange },
		{ "sim_stalled_guest_bounded_then_recovers", test_sim_stalled_guest_bounded_then_recovers },
	};

	if (argc == 7 && strcmp(argv[1], "--frontend") == 0)
		return frontend_main(argv);
	return CUNIT_RUN("netback_policy_sim", suite_init, suite_clean, tests);
}
