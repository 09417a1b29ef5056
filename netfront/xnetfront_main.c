/*
 * xnetfront_main.c — the guest daemon: watches this domain's device/vif like
 * the kernel's xenbus frontend, turns each vif into a TAP (eth0, eth1, ...)
 * and pumps frames between the TAP and libxnetfront with a worker thread
 * per ring queue (worker.c), each with its own TAP queue; offloads mapped
 * to the virtio-net header, the
 * TAP's multicast list mirrored into the backend's filter, the backend's
 * carrier onto the TAP (off while no backend is connected). A backend
 * that goes away and comes back is reconnected to under the same TAP. A
 * vif that goes away, is unplugged or breaks is torn down; the others
 * carry on.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "netfront/failover.h"
#include "netfront/stats.h"
#include "netfront/tap.h"
#include "netfront/vnet.h"
#include "netfront/worker.h"
#include "netfront/xnetfront.h"
#include "xnx_link.h"
#include "xnx_log.h"
#include "xnx_platform.h"
#include "xnx_state.h"
#include "xnx_xs.h"

#define MAX_VIFS   64
/* Largest GSO frame we let the kernel build: a netif frame is at most
 * 64 KiB - 1 with its headers (Linux netfront keeps the same margin). */
#define GSO_MAX    (XNF_FRAME_MAX - 320)
#define CLOSE_WAIT_MS 5000	/* for a backend to let go of our pages */
#define MC_MAX     64	/* multicast groups a vif asks for (xnetback's list) */
#define MC_POLL_MS 1000	/* re-read the TAP's groups at least this often */
#define MAX_QUEUES 8	/* libxnetfront's limit, as Linux netback's */

struct vif {
	unsigned devid;
	struct xnf_dev *dev;	/* NULL: open failed, wait for removal */
	int tap;		/* the TAP's first queue; -1: no TAP */
	char ifname[IFNAMSIZ];
	/* Ring queue k is served by pump[k]'s worker, fed from TAP queue k
	 * and writing to it (to queue 0 if there is no TAP queue k). */
	int tapq[MAX_QUEUES];	/* [0] is tap */
	unsigned ntapq;
	struct xnf_pump *pump[MAX_QUEUES];
	unsigned nworkers;	/* pumps [0, nworkers) have a running worker */
	unsigned gen;		/* xnf_reconnects() the workers started at */
	int carrier;		/* as last set on the TAP: 1, 0, -1 unknown */
	uint8_t mc[MC_MAX][6];	/* groups the backend has from us */
	unsigned nmc;
	bool mc_dirty;		/* an IGMP/MLD frame went out: re-read now */
	bool mc_full_said;
	bool mc_filtering;	/* the backend filters (as last looked) */
	uint64_t mc_next;	/* next periodic re-read */
	bool closing;		/* shut down, waiting for the backend */
	bool forget;		/* left xenstore: drop once closed */
	bool opened;		/* its device was opened (and has written
				 * its state since) */
	uint64_t close_by;	/* when to stop waiting for the backend */
};

static struct vif *vifs[MAX_VIFS];
static unsigned nvifs;
static struct xs_handle *xs;
static struct xnx_xs_watches *watches;
static char vif_dir[128];
static bool rescan_needed;
/* Checksum offload and GSO, as Linux netfront advertises them by default;
 * --no-offload turns them off. */
static bool offload = true;
/* --multicast-control: ask the backend to filter multicast by the TAP's
 * groups. Off by default, as Linux netfront never asks: a filtering
 * backend drops (and counts) the host's frames to groups the guest did
 * not join, which the guest kernel would drop anyway. */
static bool mcast_control;
/* Queues asked for per vif: the CPUs online (at most 8), or --queues. */
static unsigned queues_opt;
/* --failover: pair each TAP with a passthrough link of its MAC. */
static const char *failover_spec;
static struct xnf_failover *fo;
/* The stats socket (--stats-socket; default in the run directory), its
 * listening fd (-1: none) and the file's inode, to remove only our own. */
static char stats_path[256];
static int stats_fd = -1;
static ino_t stats_ino;
/* Junk under device/vif is seen again at every rescan: say it rarely. */
static struct xnx_ratelimit junk_rl = XNX_RATELIMIT_INIT(5, 1);
/* Workers wake the main thread here when a device needs xnf_process. */
static int main_wake = -1;

/* ---- per-vif state and workers ------------------------------------------- */

static void vif_free(struct vif *v)
{
	for (int k = 0; k < MAX_QUEUES; k++)
		xnf_pump_free(v->pump[k]);
	free(v);
}

static struct vif *vif_new(unsigned devid)
{
	struct vif *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->devid = devid;
	v->tap = -1;
	v->carrier = -1;
	return v;
}

/* The main thread touches V's device only with every worker between
 * rounds. */
static void lock_workers(struct vif *v)
{
	for (unsigned k = 0; k < v->nworkers; k++)
		xnf_pump_lock(v->pump[k]);
}

static void unlock_workers(struct vif *v)
{
	for (unsigned k = v->nworkers; k-- > 0;)
		xnf_pump_unlock(v->pump[k]);
}

static void stop_workers(struct vif *v)
{
	for (unsigned k = 0; k < v->nworkers; k++)
		xnf_pump_join(v->pump[k]);
	v->nworkers = 0;
}

/* A worker per ring queue, once connected and the TAP queues attached. A
 * worker that cannot be started leaves its queue unserved, said. */
static void start_workers(struct vif *v)
{
	unsigned nq = xnf_queues(v->dev);

	v->gen = xnf_reconnects(v->dev);
	for (unsigned k = 0; k < nq; k++) {
		struct xnf_pump *p = v->pump[k];
		int rc;

		if (!p && !(p = v->pump[k] = xnf_pump_new())) {
			xnx_err("vif %u (%s): no memory for queue %u", v->devid, v->ifname, k);
			return;
		}
		p->dev = v->dev;
		p->queue = k;
		p->tap_fd = k < v->ntapq ? v->tapq[k] : -1;
		p->out_fd = k < v->ntapq ? v->tapq[k] : v->tap;
		p->offload = offload;
		p->main_wake = main_wake;
		if ((rc = xnf_pump_start(p)) < 0) {
			xnx_err("vif %u (%s): queue %u: no worker: %s", v->devid,
				v->ifname, k, strerror(-rc));
			return;
		}
		v->nworkers = k + 1;
	}
}

/* The workers' counters, summed (the workers locked or stopped). */
static void pump_totals(const struct vif *v, struct xnf_pump *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned k = 0; k < MAX_QUEUES; k++) {
		if (!v->pump[k])
			continue;
		sum->tap_drops += v->pump[k]->tap_drops;
		sum->csum_filled += v->pump[k]->csum_filled;
		sum->csum_unplaceable += v->pump[k]->csum_unplaceable;
	}
}

/* The TAP's carrier, as Linux netfront's: on only while connected to a
 * backend that does not say its link is down, so the guest's stack stops
 * sending (and queueing) while no backend is there to take its frames. */
static void set_carrier(struct vif *v, int on)
{
	if (v->tap < 0 || on == v->carrier)
		return;
	v->carrier = on;
	xnf_tap_set_carrier(v->tap, v->ifname, on);
}

static bool name_taken(const char *name)
{
	for (unsigned i = 0; i < nvifs; i++)
		if (vifs[i]->tap >= 0 && strcmp(vifs[i]->ifname, name) == 0)
			return true;
	return if_nametoindex(name) != 0;
}

/* The lowest ethN not in use, as the kernel would number a new NIC. */
static void pick_name(char *name)
{
	for (unsigned n = 0;; n++) {
		snprintf(name, IFNAMSIZ, "eth%u", n);
		if (!name_taken(name))
			return;
	}
}

/* ---- vif life ------------------------------------------------------------- */

/* Start tearing V down without holding up the other vifs: the TAP goes at
 * once, the device goes Closing; finish_closing completes it when the
 * backend has let go of the pages, or at the deadline. */
static void vif_teardown(struct vif *v)
{
	struct xnf_stats st;
	struct xnf_pump sum;

	stop_workers(v);
	for (unsigned k = 1; k < v->ntapq; k++)
		close(v->tapq[k]);
	if (fo && v->tap >= 0)
		xnf_fo_remove(fo, v->ifname);
	if (v->tap >= 0)
		close(v->tap);
	v->tap = v->tapq[0] = -1;
	v->ntapq = 0;
	if (!v->dev || v->closing)
		return;
	xnf_get_stats(v->dev, &st);
	pump_totals(v, &sum);
	xnx_info("vif %u (%s): tx %llu frames, rx %llu frames, tap drops %llu, "
		 "checksums completed %llu, blank checksums not placeable %llu",
		 v->devid, v->ifname, (unsigned long long)st.tx_frames,
		 (unsigned long long)st.rx_frames, (unsigned long long)sum.tap_drops,
		 (unsigned long long)sum.csum_filled,
		 (unsigned long long)sum.csum_unplaceable);
	xnf_shutdown(v->dev);
	v->closing = true;
	v->close_by = xnx_now_ns() + CLOSE_WAIT_MS * 1000000ull;
}

/* Finish the closes that are ready; drop the vifs that left xenstore once
 * their device is gone (and look again: a new vif may wait behind it). */
static void finish_closing(void)
{
	uint64_t now = xnx_now_ns();

	for (unsigned i = 0; i < nvifs;) {
		struct vif *v = vifs[i];

		if (v->closing && (xnf_released(v->dev) || now >= v->close_by)) {
			if (xnf_close(v->dev) < 0)
				xnx_warn("vif %u: close: %s", v->devid, strerror(errno));
			v->dev = NULL;
			v->closing = false;
		}
		if (v->forget && !v->dev) {
			vif_free(v);
			vifs[i] = vifs[--nvifs];
			rescan_needed = true;
			continue;
		}
		i++;
	}
}

static void vif_remove(unsigned idx)
{
	vifs[idx]->forget = true;
	vif_teardown(vifs[idx]);
}

static struct vif *vif_find(unsigned devid, unsigned *idx)
{
	for (unsigned i = 0; i < nvifs; i++) {
		if (vifs[i]->devid == devid) {
			if (idx)
				*idx = i;
			return vifs[i];
		}
	}
	return NULL;
}

/* A new Initialising vif: start the handshake and create its TAP. A vif
 * that cannot be opened stays in the table without a device, so it is not
 * retried on every xenstore change; it is forgotten when it goes away. */

/* The queue threads poll only when XNETFRONT_POLL_US asks (libxnetfront
 * reads it, 20 µs being the library's default): a guest's daemon shares
 * the machine with the other guests' daemons, xnetback's workers and the
 * guests' own work, and on two cores polling bought nothing measurable
 * in the full stack (bench/PROFILE.md, round 5c). */
static void no_polling_unless_asked(struct xnf_config *cfg)
{
	const char *s = getenv("XNETFRONT_POLL_US");

	if (!s || !*s) {
		cfg->flags |= XNF_CFG_POLL_US;
		cfg->poll_us = 0;
	}
}

static void vif_add(unsigned devid)
{
	struct vif *v;
	uint8_t mac[6];

	if (nvifs == MAX_VIFS) {
		xnx_err("vif %u: more than %d vifs; ignored", devid, MAX_VIFS);
		return;
	}
	v = vif_new(devid);
	if (!v)
		return;
	vifs[nvifs++] = v;
	/* The TAP's multicast list is ours to mirror (mcast_sync). A
	 * backend that restarts finds the vif again: the TAP outlives it. */
	struct xnf_config cfg = { .flags = XNF_CFG_RECONNECT | XNF_CFG_QUEUE_FDS |
					   (mcast_control ? XNF_CFG_MCAST_CONTROL : 0),
				  .max_queues = queues_opt };

	if (offload)
		cfg.rx_offloads = XNF_OFFLOAD_CSUM | XNF_OFFLOAD_GSO_TCPV4 |
				  XNF_OFFLOAD_GSO_TCPV6;
	no_polling_unless_asked(&cfg);
	v->dev = xnf_open_config(devid, &cfg);
	if (!v->dev) {
		xnx_err("vif %u: cannot open: %s", devid, strerror(errno));
		return;
	}
	v->opened = true;
	pick_name(v->ifname);
	xnf_mac(v->dev, mac);
	v->tap = v->tapq[0] = xnf_tap_open(v->ifname, mac, xnf_mtu(v->dev), offload);
	v->ntapq = 1;
	if (v->tap < 0) {
		vif_teardown(v);
		return;
	}
	set_carrier(v, 0);	/* until connected */
	xnx_info("vif %u: %s, mac %02x:%02x:%02x:%02x:%02x:%02x", devid,
		 v->ifname, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	if (fo && xnf_fo_add(fo, v->ifname) < 0)
		xnx_err("vif %u (%s): no failover pairing", devid, v->ifname);
}

/* ---- xenstore: which vifs exist -------------------------------------------- */

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The devids under device/vif, sorted; -1 on error. */
static int list_devids(unsigned *out, int max)
{
	unsigned int num = 0;
	char **names = xs_directory(xs, XBT_NULL, vif_dir, &num);
	int n = 0;

	if (!names)
		return errno == ENOENT ? 0 : -1;
	for (unsigned i = 0; i < num && n < max; i++) {
		unsigned long id;

		if (xnx_parse_uint(names[i], 0, 65535, &id) == 0)
			out[n++] = (unsigned)id;
		else
			xnx_log_rl(&junk_rl, XNX_LOG_WARN,
				   "%s/%.20s: not a device id; ignored", vif_dir,
				   names[i]);
	}
	free(names);
	qsort(out, (size_t)n, sizeof(*out), cmp_uint);
	return n;
}

/* Should we take DEVID? A new vif is Initialising. At startup we also take
 * the vifs a previous xnetfront left (it stopped: Closed; it died:
 * Connected, ...): xnf_open walks them back to Initialising. */
static bool wanted(unsigned devid, bool startup)
{
	char dir[160];
	unsigned long st;

	snprintf(dir, sizeof(dir), "%s/%u", vif_dir, devid);
	if (xnx_xs_read_uint(xs, XBT_NULL, dir, "state", 0,
			     XenbusStateReconfigured, &st) < 0)
		return false;
	return startup || st == XenbusStateInitialising;
}

static void rescan(bool startup)
{
	unsigned ids[MAX_VIFS];
	int n = list_devids(ids, MAX_VIFS);

	if (n < 0) {
		xnx_warn("listing %s: %s", vif_dir, strerror(errno));
		return;
	}
	for (unsigned i = 0; i < nvifs; i++) {
		struct vif *v = vifs[i];
		bool present = false;

		for (int j = 0; j < n; j++)
			present |= ids[j] == v->devid;
		if (v->forget)
			continue;
		/* Its device closed (we left it Closed), yet Initialising: the
		 * vif was removed and added again (its devid reused at once)
		 * between two looks. The old one goes, the new one is added
		 * once it has. */
		if (present && v->opened && !v->dev && wanted(v->devid, false)) {
			xnx_info("vif %u: added again", v->devid);
			vif_remove(i);
			continue;
		}
		if (present)
			continue;
		xnx_info("vif %u: removed", v->devid);
		vif_remove(i);
	}
	for (int j = 0; j < n; j++)
		if (!vif_find(ids[j], NULL) && wanted(ids[j], startup))
			vif_add(ids[j]);
}

static void on_vif_dir(const char *path, void *arg)
{
	(void)path;
	(void)arg;
	rescan_needed = true;
}

/* ---- data pump -------------------------------------------------------------- */

/* One TAP queue per ring queue (IFF_MULTI_QUEUE): the kernel spreads the
 * flows it sends over them, and what the backend steers to a ring queue
 * enters the kernel on the matching TAP queue. A queue that cannot be
 * attached leaves its ring fed by none (its frames still come in). After
 * a reconnect to fewer queues, the TAP queues beyond them are closed: a
 * closed queue is detached, so the kernel steers its flows to the queues
 * still read instead of stranding them there. */
static void attach_queues(struct vif *v)
{
	unsigned want = xnf_queues(v->dev);

	while (v->ntapq > want && v->ntapq > 1)
		close(v->tapq[--v->ntapq]);
	for (unsigned k = v->ntapq; k < want && k < MAX_QUEUES; k++) {
		int fd = xnf_tap_attach_queue(v->ifname, offload);

		if (fd < 0)
			break;
		v->tapq[k] = fd;
		v->ntapq = k + 1;
	}
	if (v->ntapq < want)
		xnx_warn("vif %u (%s): %u of %u TAP queues", v->devid, v->ifname,
			 v->ntapq, want);
}

/* Once connected: the TAP's queues, and let the kernel hand us what the
 * backend takes. */
static void set_tap_offload(struct vif *v)
{
	unsigned be = xnf_backend_offloads(v->dev), flags = 0;

	attach_queues(v);
	if (!offload)
		return;
	if (be & XNF_OFFLOAD_CSUM)
		flags |= TUN_F_CSUM;
	if ((be & XNF_OFFLOAD_GSO_TCPV4) && (flags & TUN_F_CSUM))
		flags |= TUN_F_TSO4;
	if ((be & XNF_OFFLOAD_GSO_TCPV6) && (flags & TUN_F_CSUM))
		flags |= TUN_F_TSO6;
	if (flags & (TUN_F_TSO4 | TUN_F_TSO6))
		xnf_tap_set_gso_max_size(v->ifname, GSO_MAX);
	xnf_tap_set_offload(v->tap, v->ifname, flags);
}

/* ---- multicast control --------------------------------------------------- */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The multicast addresses of interface NAME, from /proc/net/dev_mcast
 * ("index name users global address-in-hex" per line). Count, or -1. */
static int tap_groups(const char *name, uint8_t out[][6], int max)
{
	FILE *f = fopen("/proc/net/dev_mcast", "re");
	char line[160], ifn[IFNAMSIZ + 1], hex[40];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		bool ok = true;

		if (sscanf(line, "%*d %16s %*d %*d %39s", ifn, hex) != 2 ||
		    strcmp(ifn, name) != 0 || strlen(hex) != 12)
			continue;
		for (int i = 0; i < 6; i++) {
			int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
			ok &= hi >= 0 && lo >= 0;
			out[n][i] = (uint8_t)(hi << 4 | lo);
		}
		n += ok;
	}
	fclose(f);
	return n;
}

static bool has_group(uint8_t list[][6], unsigned n, const uint8_t mac[6])
{
	for (unsigned i = 0; i < n; i++)
		if (memcmp(list[i], mac, 6) == 0)
			return true;
	return false;
}

/* Make the backend's filter list the TAP's multicast list: DEL what left,
 * ADD what came. What does not fit on the ring now is done next time. */
static void mcast_sync(struct vif *v)
{
	uint8_t now[MC_MAX][6];
	int n = tap_groups(v->ifname, now, MC_MAX);

	if (n < 0)
		return;
	v->mc_dirty = false;
	for (unsigned i = 0; i < v->nmc;) {
		if (has_group(now, (unsigned)n, v->mc[i])) {
			i++;
		} else if (xnf_mcast_del(v->dev, v->mc[i]) == 0) {
			memcpy(v->mc[i], v->mc[--v->nmc], 6);
		} else {
			v->mc_dirty = true;
			return;
		}
	}
	for (int i = 0; i < n; i++) {
		if (has_group(v->mc, v->nmc, now[i]))
			continue;
		if (xnf_mcast_add(v->dev, now[i]) < 0) {
			v->mc_dirty = errno == EAGAIN;
			return;
		}
		memcpy(v->mc[v->nmc++], now[i], 6);
	}
	if (n == MC_MAX && !v->mc_full_said) {
		v->mc_full_said = true;
		xnx_warn("vif %u (%s): more than %d multicast groups; the backend "
			 "is given the first %d", v->devid, v->ifname, MC_MAX, MC_MAX);
	}
}

/* Every connected vif whose backend filters: re-read when a report went
 * out or the period is up. */
static void mcast_tick(void)
{
	uint64_t now = xnx_now_ns();

	for (unsigned i = 0; i < nvifs; i++) {
		struct vif *v = vifs[i];

		if (!v->dev || v->closing || v->tap < 0)
			continue;
		lock_workers(v);
		for (unsigned k = 0; k < v->nworkers; k++) {
			v->mc_dirty |= v->pump[k]->mc_dirty;
			v->pump[k]->mc_dirty = false;
		}
		v->mc_filtering = xnf_mcast_filtering(v->dev);
		if (v->mc_filtering && (v->mc_dirty || now >= v->mc_next)) {
			v->mc_next = now + MC_POLL_MS * 1000000ull;
			mcast_sync(v);
		}
		unlock_workers(v);
	}
}

/* The device needs a look (its fd fired, or a worker asked): handshake,
 * completions, carrier, with the workers between rounds. Workers run
 * while the device is connected; a connection that ends (or was replaced
 * by a new one, another backend) stops them before anything else touches
 * the queues, and they start again once connected, TAP queues set. */
static void vif_service(struct vif *v)
{
	bool up;

	lock_workers(v);
	xnf_process(v->dev);
	up = xnf_state(v->dev) == XNF_CONNECTED;
	set_carrier(v, up && xnf_carrier(v->dev));
	if (v->nworkers && (!up || xnf_reconnects(v->dev) != v->gen))
		for (unsigned k = 0; k < v->nworkers; k++)
			xnf_pump_stop_locked(v->pump[k]);
	unlock_workers(v);
	if (v->nworkers && (!up || xnf_reconnects(v->dev) != v->gen))
		stop_workers(v);
	if (!up || v->tap < 0 || v->nworkers)
		return;
	if (xnf_reconnects(v->dev) != v->gen) {
		v->nmc = 0;	/* a new connection's filter starts empty */
		v->mc_dirty = true;
	}
	set_tap_offload(v);
	start_workers(v);
}

/* Closed or broken devices are torn down; the vif stays known until it
 * leaves xenstore so it is not reopened behind the toolstack's back. */
static void reap(void)
{
	for (unsigned i = 0; i < nvifs; i++) {
		struct vif *v = vifs[i];
		enum xnf_state s;

		if (!v->dev || v->closing)
			continue;
		s = xnf_state(v->dev);
		if (s == XNF_BROKEN)
			xnx_err("vif %u (%s): backend broke the protocol: %s; closing",
				v->devid, v->ifname, xnf_broken_reason(v->dev));
		else if (s == XNF_CLOSED)
			xnx_info("vif %u (%s): %s; closing", v->devid, v->ifname,
				 xnf_broken_reason(v->dev));
		else
			continue;
		vif_teardown(v);
	}
}

/* ---- stats socket ------------------------------------------------------------ */

/* Every vif with a device: the library's counters and ours. */
static void stats_write(FILE *f, void *arg)
{
	(void)arg;
	xnf_stats_put_header(f);
	for (unsigned i = 0; i < nvifs; i++) {
		struct vif *v = vifs[i];

		struct xnf_pump sum;
		int tids[MAX_QUEUES] = { 0 };

		if (!v->dev)
			continue;
		lock_workers(v);
		pump_totals(v, &sum);
		for (unsigned k = 0; k < v->nworkers; k++)
			tids[k] = __atomic_load_n(&v->pump[k]->tid, __ATOMIC_ACQUIRE);
		xnf_stats_put_dev(f, v->dev, v->tap >= 0 ? v->ifname : "");
		fprintf(f, "tap_drops %llu\ncsum_filled %llu\ncsum_unplaceable %llu\n",
			(unsigned long long)sum.tap_drops,
			(unsigned long long)sum.csum_filled,
			(unsigned long long)sum.csum_unplaceable);
		xnf_stats_put_queues(f, v->dev, tids);
		unlock_workers(v);
	}
}

/* A stats socket that cannot be opened is said and done without. */
static void stats_open(void)
{
	struct stat st;

	if (!stats_path[0] &&
	    xnf_stats_default_path((unsigned)xnx_self_domid(), stats_path,
				   sizeof(stats_path)) < 0)
		return;
	stats_fd = xnf_stats_listen(stats_path);
	if (stats_fd < 0) {
		xnx_warn("stats socket %s: %s; serving none", stats_path,
			 strerror(-stats_fd));
		return;
	}
	if (stat(stats_path, &st) == 0)
		stats_ino = st.st_ino;
	xnx_info("stats socket %s", stats_path);
}

static void stats_close(void)
{
	struct stat st;

	if (stats_fd < 0)
		return;
	close(stats_fd);
	/* Remove the file only if it is still ours (not a successor's). */
	if (stat(stats_path, &st) == 0 && st.st_ino == stats_ino)
		unlink(stats_path);
}

/* ---- main loop -------------------------------------------------------------- */

enum { FD_SIG, FD_XS, FD_LINKS, FD_STATS, FD_WAKE, FD_FIRST_VIF };
/* Poll entries: five fixed, then each vif's device. */
#define NFDS (FD_FIRST_VIF + MAX_VIFS)

static int build_pollset(struct pollfd *p, int sigfd, struct vif **who)
{
	int n = FD_FIRST_VIF;

	p[FD_SIG] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	p[FD_XS] = (struct pollfd){ .fd = xs_fileno(xs), .events = POLLIN };
	p[FD_LINKS] = (struct pollfd){ .fd = fo ? xnf_fo_fd(fo) : -1, .events = POLLIN };
	p[FD_STATS] = (struct pollfd){ .fd = stats_fd, .events = POLLIN };
	p[FD_WAKE] = (struct pollfd){ .fd = main_wake, .events = POLLIN };
	for (unsigned i = 0; i < nvifs; i++) {
		if (!vifs[i]->dev)
			continue;
		who[n] = vifs[i];
		p[n++] = (struct pollfd){ .fd = xnf_fd(vifs[i]->dev), .events = POLLIN };
	}
	return n;
}

/* A worker's wake-up does not say whose device: look at all. */
static void handle_ready(struct pollfd *p, int n, struct vif **who)
{
	uint64_t v;
	bool woken = p[FD_WAKE].revents && read(main_wake, &v, sizeof(v)) == sizeof(v);

	for (int i = FD_FIRST_VIF; i < n; i++)
		if (who[i]->dev && (p[i].revents || woken))
			vif_service(who[i]);
}

/* Poll until the nearest close deadline or multicast re-read, if any (at
 * once when a rescan is due). */
static int poll_timeout(void)
{
	uint64_t now = xnx_now_ns(), next = UINT64_MAX;

	/* A vif dropped this turn may have a new one waiting behind it. */
	if (rescan_needed)
		return 0;
	for (unsigned i = 0; i < nvifs; i++) {
		if (!vifs[i]->dev)
			continue;
		if (vifs[i]->closing && vifs[i]->close_by < next)
			next = vifs[i]->close_by;
		if (!vifs[i]->closing && vifs[i]->mc_filtering && vifs[i]->mc_next < next)
			next = vifs[i]->mc_next;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now) / 1000000u) + 1;
}

static int run(int sigfd)
{
	struct pollfd p[NFDS];
	struct vif *who[NFDS];
	int rc;

	for (;;) {
		int n = build_pollset(p, sigfd, who);

		if (poll(p, (nfds_t)n, poll_timeout()) < 0) {
			if (errno == EINTR)
				continue;
			xnx_err("poll: %s", strerror(errno));
			return 1;
		}
		if (p[FD_SIG].revents)
			return 0;
		if (p[FD_XS].revents && (rc = xnx_xs_dispatch(watches)) < 0) {
			xnx_err("xenstore connection lost: %s", strerror(-rc));
			return 1;
		}
		if (rescan_needed) {
			rescan_needed = false;
			rescan(false);
		}
		if (p[FD_LINKS].revents)
			xnf_fo_dispatch(fo);
		if (p[FD_STATS].revents)
			xnf_stats_serve(stats_fd, stats_write, NULL);
		handle_ready(p, n, who);
		mcast_tick();
		reap();
		finish_closing();
	}
}

/* On the way out: close every vif, still giving each backend its time. */
static void close_all(void)
{
	struct pollfd p[NFDS];
	struct vif *who[NFDS];

	for (unsigned i = 0; i < nvifs; i++)
		vif_remove(i);
	finish_closing();
	while (nvifs) {
		int n = build_pollset(p, -1, who);

		if (poll(p, (nfds_t)n, poll_timeout()) < 0 && errno != EINTR)
			break;
		handle_ready(p, n, who);
		finish_closing();
	}
}

/* ---- setup ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xnetfront [--foreground] [--no-offload] [--queues N]\n"
		"                 [--multicast-control] [--failover auto|LINK]\n"
		"                 [--stats-socket PATH] [-v] [--help]\n"
		"\n"
		"Xen network frontend for this domain: every vif under\n"
		"/local/domain/<self>/device/vif becomes a TAP interface (eth0, eth1,\n"
		"... in device id order) with the vif's MAC, connected to its backend.\n"
		"\n"
		"  -f, --foreground  stay in the foreground and log to stderr\n"
		"  -n, --no-offload  no checksum offload and no TCP segmentation\n"
		"                    offload (by default both are used where the\n"
		"                    backend offers them, as Linux netfront does;\n"
		"                    --offload is accepted and means the default)\n"
		"  -q, --queues N    ring pairs per vif, 1 to 8 (default: the CPUs\n"
		"                    online, at most 8; fewer if the backend offers\n"
		"                    fewer), each with its own TAP queue\n"
		"  -m, --multicast-control\n"
		"                    where the backend offers it, have it deliver\n"
		"                    only the multicast groups the interface joined\n"
		"                    (off by default, as in Linux netfront)\n"
		"  -F, --failover auto|LINK\n"
		"                    pair each interface with a passthrough link of\n"
		"                    its MAC (auto: any such link; LINK: only that\n"
		"                    one) as active-backup: the passthrough link\n"
		"                    carries the traffic while it is up, the PV path\n"
		"                    when it is gone or has no carrier\n"
		"  -s, --stats-socket PATH\n"
		"                    serve the vifs' counters there (default: the run\n"
		"                    directory's xnetfront-dom<N>.sock; read by\n"
		"                    `xnet stats`)\n"
		"  -v, --verbose     more logging: -v info, -vv debug (default:\n"
		"                    warnings and errors)\n"
		"  -h, --help        this text\n"
		"\n"
		"Environment: XNET_DOMID (this domain on the sim), XNET_SIM_DIR,\n"
		"XNET_PLATFORM=xen|sim|auto, XNETFRONT_QUEUES (--queues when not\n"
		"given).\n");
}

static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	/* An ignored signal never reaches the signalfd: undo inherited
	 * dispositions (a parent's nohup, a shell's trap). */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int setup_xenstore(void)
{
	int self = xnx_self_domid();
	int rc;

	if (self < 0) {
		xnx_err("cannot tell this domain's id: %s", strerror(errno));
		return -1;
	}
	xs = xnx_xs_open();
	if (!xs) {
		xnx_err("cannot connect to xenstore: %s", strerror(errno));
		return -1;
	}
	snprintf(vif_dir, sizeof(vif_dir), "/local/domain/%d/device/vif", self);
	watches = xnx_xs_watches_new(xs);
	rc = watches ? xnx_xs_watch_add(watches, vif_dir, on_vif_dir, NULL) : -ENOMEM;
	if (rc < 0) {
		xnx_err("cannot watch %s: %s", vif_dir, strerror(-rc));
		return -1;
	}
	xnx_info("domain %d on %s: watching %s", self, xnx_platform_name(), vif_dir);
	return 0;
}

static int setup_failover(void)
{
	if (!failover_spec)
		return 0;
	fo = xnf_fo_open(failover_spec);
	if (!fo)
		xnx_err("--failover %s: %s", failover_spec, strerror(errno));
	return fo ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "offload", no_argument, NULL, 'o' },
		{ "no-offload", no_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ "multicast-control", no_argument, NULL, 'm' },
		{ "failover", required_argument, NULL, 'F' },
		{ "stats-socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int foreground = 0, verbose = 0, c, sigfd, rc;
	unsigned long nq;

	/* Hold only what we open: a descriptor inherited from whoever started
	 * us (a lock, a pipe) would otherwise live as long as we do. */
	close_range(3, ~0u, 0);

	while ((c = getopt_long(argc, argv, "fonq:mF:s:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = 1; break;
		case 'o': offload = true; break;
		case 'n': offload = false; break;
		case 'm': mcast_control = true; break;
		case 'F':
			if (strcmp(optarg, "auto") != 0 && !xnx_link_name_ok(optarg)) {
				fprintf(stderr, "xnetfront: --failover '%s' is neither "
					"'auto' nor a link name\n", optarg);
				return 2;
			}
			failover_spec = optarg;
			break;
		case 's':
			if (strlen(optarg) >= sizeof(stats_path) || !optarg[0]) {
				fprintf(stderr, "xnetfront: --stats-socket '%s': empty or "
					"too long\n", optarg);
				return 2;
			}
			snprintf(stats_path, sizeof(stats_path), "%s", optarg);
			break;
		case 'q':
			if (xnx_parse_uint(optarg, 1, MAX_QUEUES, &nq) < 0) {
				fprintf(stderr, "xnetfront: --queues '%s' is not a "
					"number from 1 to %d\n", optarg, MAX_QUEUES);
				return 2;
			}
			queues_opt = (unsigned)nq;
			break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* XNETFRONT_QUEUES: --queues for a daemon started by a tool. */
	if (queues_opt == 0 && getenv("XNETFRONT_QUEUES")) {
		if (xnx_parse_uint(getenv("XNETFRONT_QUEUES"), 1, MAX_QUEUES, &nq) < 0) {
			fprintf(stderr, "xnetfront: XNETFRONT_QUEUES '%s' is not a "
				"number from 1 to %d\n", getenv("XNETFRONT_QUEUES"),
				MAX_QUEUES);
			return 2;
		}
		queues_opt = (unsigned)nq;
	}
	if (queues_opt == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		queues_opt = cpus < 1 ? 1 : cpus > MAX_QUEUES ? MAX_QUEUES : (unsigned)cpus;
	}
	xnx_log_open("xnetfront", 0, xnx_log_verbosity(verbose));
	/* Detach before any thread (libxenstore's watch reader) exists. */
	if (!foreground) {
		xnx_log_open("xnetfront", 1, xnx_log_get_level());
		if (daemon(0, 0) < 0) {
			xnx_err("daemon: %s", strerror(errno));
			return 1;
		}
	}
	sigfd = setup_signals();
	main_wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sigfd < 0 || main_wake < 0 || setup_xenstore() < 0 || setup_failover() < 0)
		return 1;
	stats_open();
	rescan(true);
	rc = run(sigfd);
	close_all();
	xnf_fo_close(fo);
	stats_close();
	xnx_xs_watches_free(watches);
	xs_close(xs);
	close(main_wake);
	close(sigfd);
	return rc;
}
