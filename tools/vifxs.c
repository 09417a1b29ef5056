/*
 * vifxs.c — a vif's xenstore layout, written and removed exactly as libxl
 * does (libxl_nic.c, libxl_device.c): backend, frontend and libxl
 * directories with the same keys and permissions, in one transaction.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/xenbus.h>

#include "vifspec.h"
#include "xnet.h"
#include "xnx_log.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define PATH_LEN 256
#define MAX_VIFS 256

struct paths {
	char fe[PATH_LEN];	/* /local/domain/<domid>/device/vif/<devid> */
	char be[PATH_LEN];	/* /local/domain/<bdom>/backend/vif/<domid>/<devid> */
	char lx[PATH_LEN];	/* /libxl/<domid>/device/vif/<devid> */
};

static void make_paths(struct paths *p, unsigned domid, unsigned bdomid,
		       unsigned devid)
{
	snprintf(p->fe, sizeof(p->fe), "/local/domain/%u/device/vif/%u", domid, devid);
	snprintf(p->be, sizeof(p->be), "/local/domain/%u/backend/vif/%u/%u",
		 bdomid, domid, devid);
	snprintf(p->lx, sizeof(p->lx), "/libxl/%u/device/vif/%u", domid, devid);
}

int xnt_domain_id(const char *name, unsigned *domid)
{
	struct xnx_sim_domain d;
	unsigned long v;

	if (xnx_parse_uint(name, 0, 0x7fef, &v) == 0) {	/* DOMID_FIRST_RESERVED - 1 */
		*domid = (unsigned)v;
		return 0;
	}
	if (xnx_sim_domain_lookup(name, &d) < 0)
		return -errno;
	*domid = d.domid;
	return 0;
}

static bool exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned len;
	char *v = xs_read(xs, t, path, &len);

	free(v);
	return v != NULL;
}

/* Write DIR/KEY = VAL; with PERMS, set them on the new node too. */
static int put(struct xs_handle *xs, xs_transaction_t t, const char *dir,
	       const char *key, const char *val, struct xs_permissions *perms)
{
	char path[PATH_LEN + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (!xs_write(xs, t, path, val, (unsigned)strlen(val)))
		return -errno;
	if (perms && !xs_set_permissions(xs, t, path, perms, 2))
		return -errno;
	return 0;
}

struct kv { const char *key; char val[300]; };

static int put_all(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		   const struct kv *kv, int n, struct xs_permissions *perms)
{
	int rc = 0;

	for (int i = 0; i < n && rc == 0; i++)
		rc = put(xs, t, dir, kv[i].key, kv[i].val, perms);
	return rc;
}

/* The highest devid in use under DIR, plus one (0 if none). */
static unsigned next_devid(struct xs_handle *xs, xs_transaction_t t,
			   const char *dir, unsigned cur)
{
	unsigned n = 0;
	char **ents = xs_directory(xs, t, dir, &n);

	for (unsigned i = 0; ents && i < n; i++) {
		unsigned long v;
		if (xnx_parse_uint(ents[i], 0, XNT_DEVID_MAX, &v) == 0 && v + 1 > cur)
			cur = (unsigned)v + 1;
	}
	free(ents);
	return cur;
}

struct add_arg {
	unsigned domid, bdomid, devid;
	bool auto_devid;
	const struct xnt_vifspec *vs;
	const char *nic;
	char mac[18];
};

#define ADD(k, ...) do { \
	kv[n].key = (k); snprintf(kv[n].val, sizeof(kv[n].val), __VA_ARGS__); n++; \
} while (0)

/* The backend keys (libxl's "bents"), in libxl's order. */
static int backend_keys(const struct add_arg *a, const struct paths *p,
			struct kv *kv)
{
	const struct xnt_vifspec *vs = a->vs;
	int n = 0;

	ADD("frontend-id", "%u", a->domid);
	ADD("online", "1");
	ADD("state", "%d", XenbusStateInitialising);
	ADD("script", "%s", xnt_vifspec_has(vs, XNT_VK_SCRIPT) ? vs->script
	    /* a physical link or a device pool: the guest goes out through it */
	    : xnt_vifspec_has(vs, XNT_VK_POOL) || xnt_vifspec_has(vs, XNT_VK_NIC) ? "vif-vnic"
	    : "vif-bridge");
	if (xnt_vifspec_has(vs, XNT_VK_VIFNAME))
		ADD("vifname", "%s", vs->vifname);
	ADD("mac", "%s", a->mac);
	if (xnt_vifspec_has(vs, XNT_VK_IP))
		ADD("ip", "%s", vs->ip);
	if (xnt_vifspec_has(vs, XNT_VK_GATEWAYDEV))
		ADD("gatewaydev", "%s", vs->gatewaydev);
	if (xnt_vifspec_has(vs, XNT_VK_RATE))
		ADD("rate", "%" PRIu64 ",%" PRIu32, vs->rate_bytes, vs->rate_usecs);
	if (vs->mtu != XNT_MTU_DEFAULT)
		ADD("mtu", "%u", vs->mtu);
	if (xnt_vifspec_has(vs, XNT_VK_VLAN))
		ADD("vlan", "%u", vs->vlan);
	ADD("bridge", "%s", xnt_vifspec_has(vs, XNT_VK_BRIDGE) ? vs->bridge : "xenbr0");
	ADD("handle", "%u", a->devid);
	ADD("type", "%s", vs->type == XNT_NIC_IOEMU ? "vif_ioemu" : "vif");
	/* Makes the backend wait for the hotplug script before connecting. */
	ADD("hotplug-status", "%s", "");
	/* xnet's own keys (see xenstore-schema): the link as a link id. */
	if (a->nic)
		ADD("nic", "%s", a->nic);
	if (xnt_vifspec_has(vs, XNT_VK_MODE))
		ADD("mode", "%s", vs->mode);
	if (xnt_vifspec_has(vs, XNT_VK_POOL))
		ADD("pool", "%s", vs->pool);
	(void)p;
	return n;
}

static int frontend_keys(const struct add_arg *a, const struct paths *p,
			 struct kv *kv)
{
	int n = 0;

	ADD("backend-id", "%u", a->bdomid);
	ADD("state", "%d", XenbusStateInitialising);
	ADD("handle", "%u", a->devid);
	ADD("mac", "%s", a->mac);
	ADD("trusted", "1");
	(void)p;
	return n;
}

/* Check the domains and pick the devid, inside the transaction. */
static int add_check(struct xs_handle *xs, xs_transaction_t t,
		     struct add_arg *a)
{
	char dir[PATH_LEN];
	struct paths p;

	snprintf(dir, sizeof(dir), "/local/domain/%u", a->domid);
	if (!exists(xs, t, dir))
		return -ESRCH;
	snprintf(dir, sizeof(dir), "/local/domain/%u", a->bdomid);
	if (!exists(xs, t, dir))
		return -ENXIO;
	if (a->auto_devid) {
		snprintf(dir, sizeof(dir), "/local/domain/%u/device/vif", a->domid);
		a->devid = next_devid(xs, t, dir, 0);
		snprintf(dir, sizeof(dir), "/libxl/%u/device/vif", a->domid);
		a->devid = next_devid(xs, t, dir, a->devid);
		if (a->devid > XNT_DEVID_MAX)
			return -ENOSPC;
	}
	make_paths(&p, a->domid, a->bdomid, a->devid);
	if (exists(xs, t, p.fe) || exists(xs, t, p.be) || exists(xs, t, p.lx))
		return -EEXIST;
	return 0;
}

/* The guest's device directory, as libxl's domain creation makes it
 * (owned by the guest), if the domain's skeleton lacks it. */
static int ensure_device_dir(struct xs_handle *xs, xs_transaction_t t,
			     unsigned domid)
{
	char dir[PATH_LEN];
	struct xs_permissions rw[1] = { { .id = domid, .perms = XS_PERM_NONE } };

	snprintf(dir, sizeof(dir), "/local/domain/%u/device", domid);
	if (exists(xs, t, dir))
		return 0;
	if (!xs_mkdir(xs, t, dir) || !xs_set_permissions(xs, t, dir, rw, 1))
		return -errno;
	return 0;
}

static int add_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct add_arg *a = arg;
	/* Owner first (full access), then the other end's read access. */
	struct xs_permissions fe_perms[2] = {
		{ .id = a->domid, .perms = XS_PERM_NONE },
		{ .id = a->bdomid, .perms = XS_PERM_READ } };
	struct xs_permissions be_perms[2] = {
		{ .id = a->bdomid, .perms = XS_PERM_NONE },
		{ .id = a->domid, .perms = XS_PERM_READ } };
	struct kv bkv[24], fkv[8], mtu = { .key = "mtu" };
	struct paths p;
	int nb, nf, rc;

	if ((rc = add_check(xs, t, a)) < 0 || (rc = ensure_device_dir(xs, t, a->domid)) < 0)
		return rc;
	make_paths(&p, a->domid, a->bdomid, a->devid);
	nb = backend_keys(a, &p, bkv);
	nf = frontend_keys(a, &p, fkv);
	snprintf(mtu.val, sizeof(mtu.val), "%u", a->vs->mtu);

	/* libxl's own copy (dom0 only): where the backend is, and the bents. */
	if ((rc = put(xs, t, p.lx, "frontend", p.fe, NULL)) < 0 ||
	    (rc = put(xs, t, p.lx, "backend", p.be, NULL)) < 0)
		return rc;
	/* Frontend: the guest owns it; the mtu is read-only for the guest.
	 * A new node inherits its directory's permissions (xenstored's rule,
	 * written by dom0), so only the mtu needs its own: one round trip a
	 * key instead of two. */
	if (!xs_mkdir(xs, t, p.fe) || !xs_set_permissions(xs, t, p.fe, fe_perms, 2))
		return -errno;
	if ((rc = put(xs, t, p.fe, "backend", p.be, NULL)) < 0 ||
	    (rc = put_all(xs, t, p.fe, fkv, nf, NULL)) < 0 ||
	    (rc = put_all(xs, t, p.fe, &mtu, 1, be_perms)) < 0)
		return rc;
	/* Backend: the backend domain owns it, the guest may read it. */
	if (!xs_mkdir(xs, t, p.be) || !xs_set_permissions(xs, t, p.be, be_perms, 2))
		return -errno;
	if ((rc = put(xs, t, p.be, "frontend", p.fe, NULL)) < 0 ||
	    (rc = put_all(xs, t, p.be, bkv, nb, NULL)) < 0)
		return rc;
	return put_all(xs, t, p.lx, bkv, nb, NULL);
}

static void random_mac(char *out, size_t len)
{
	uint8_t r[3];
	FILE *f = fopen("/dev/urandom", "re");

	if (!f || fread(r, 1, sizeof(r), f) != sizeof(r)) {
		uint64_t x = xnx_now_ns();
		memcpy(r, &x, sizeof(r));
	}
	if (f)
		fclose(f);
	/* Xen's OUI; the top bit of the fourth byte clear, as libxl. */
	snprintf(out, len, "00:16:3e:%02x:%02x:%02x", r[0] & 0x7f, r[1], r[2]);
}

int xnt_vif_add(struct xs_handle *xs, unsigned domid, unsigned bdomid,
		const struct xnt_vifspec *vs, const char *nic_linkid,
		unsigned *devid, char *ifname, size_t ifname_len)
{
	struct add_arg a = {
		.domid = domid, .bdomid = bdomid, .vs = vs, .nic = nic_linkid,
		.auto_devid = !xnt_vifspec_has(vs, XNT_VK_DEVID), .devid = vs->devid,
	};
	int rc;

	if (xnt_vifspec_has(vs, XNT_VK_MAC))
		snprintf(a.mac, sizeof(a.mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 vs->mac[0], vs->mac[1], vs->mac[2], vs->mac[3],
			 vs->mac[4], vs->mac[5]);
	else
		random_mac(a.mac, sizeof(a.mac));
	rc = xnx_xs_transact(xs, add_txn, &a);
	if (rc < 0)
		return rc;
	*devid = a.devid;
	if (xnt_vifspec_has(vs, XNT_VK_VIFNAME))
		snprintf(ifname, ifname_len, "%s", vs->vifname);
	else
		snprintf(ifname, ifname_len, "vif%u.%u", domid, a.devid);
	return 0;
}

/* Is P exactly /local/domain/<n>/backend/vif/<domid>/<devid>? */
static bool backend_path_ok(const char *p, unsigned domid, unsigned devid)
{
	unsigned b, d, v;
	int end = 0;

	if (sscanf(p, "/local/domain/%u/backend/vif/%u/%u%n", &b, &d, &v, &end) != 3)
		return false;
	return p[end] == '\0' && d == domid && v == devid;
}

/* The backend path: libxl's copy is trusted (dom0 only); the frontend's
 * (guest-writable) is used only if it has exactly the expected shape. */
static int find_backend(struct xs_handle *xs, const struct paths *p,
			unsigned domid, unsigned devid, char *out, size_t len)
{
	const char *dirs[2] = { p->lx, p->fe };

	for (int i = 0; i < 2; i++) {
		char *v = xnx_xs_read(xs, XBT_NULL, dirs[i], "backend");
		bool ok = v && backend_path_ok(v, domid, devid);

		if (ok)
			snprintf(out, len, "%s", v);
		free(v);
		if (ok)
			return 0;
	}
	return -ENOENT;
}

static int close_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const char *be = arg;
	int rc;

	if (!exists(xs, t, be))
		return 0;
	if ((rc = xnx_xs_printf(xs, t, be, "online", "0")) < 0)
		return rc;
	return xnx_xs_printf(xs, t, be, "state", "%d", XenbusStateClosing);
}

static void noop_watch(const char *path, void *arg)
{
	(void)path;
	(void)arg;
}

/* Closed, or gone? */
static bool backend_closed(struct xs_handle *xs, const char *be)
{
	unsigned long st;
	int rc = xnx_xs_read_uint(xs, XBT_NULL, be, "state", 0, 255, &st);

	if (rc == -ENOENT && !exists(xs, XBT_NULL, be))
		return true;
	return rc == 0 && st == XenbusStateClosed;
}

static bool backend_gone(struct xs_handle *xs, const char *be)
{
	return !exists(xs, XBT_NULL, be);
}

/* Wait until DONE(xs, BE) holds, watching BE, until END (ns). */
static int wait_backend(struct xs_handle *xs, const char *be, uint64_t end,
			bool (*done)(struct xs_handle *, const char *))
{
	struct xnx_xs_watches *w = xnx_xs_watches_new(xs);
	int rc = -ETIMEDOUT;

	if (!w || xnx_xs_watch_add(w, be, noop_watch, NULL) < 0) {
		xnx_xs_watches_free(w);
		return -ENOMEM;
	}
	for (;;) {
		uint64_t now = xnx_now_ns();
		struct pollfd pfd = { .fd = xs_fileno(xs), .events = POLLIN };

		if (done(xs, be)) {
			rc = 0;
			break;
		}
		if (now >= end)
			break;
		poll(&pfd, 1, (int)((end - now) / 1000000ull) + 1);
		xnx_xs_dispatch(w);
	}
	xnx_xs_watches_free(w);
	return rc;
}

/* Does an xnet-hotplugd serve backend domain BDOMID (its pidfile names a
 * live process)? It runs the offline script once the backend is Closed and
 * then removes the backend directory, as xl devd does in a driver domain:
 * removing it ourselves while a script runs would let the script's writes
 * make it again. */
static bool hotplugd_serves(unsigned bdomid)
{
	char path[PATH_LEN + 64];
	int pid = 0;
	FILE *f;

	if (bdomid == 0)
		snprintf(path, sizeof(path), "%s/xnet-hotplugd.pid", xnx_sim_dir());
	else
		snprintf(path, sizeof(path), "%s/xnet-hotplugd-dom%u.pid", xnx_sim_dir(), bdomid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

struct rm_arg { const struct paths *p; unsigned bdomid, domid; };

static int rm_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct rm_arg *a = arg;
	const char *dirs[3] = { a->p->fe, a->p->be, a->p->lx };
	char parent[PATH_LEN];
	unsigned n = 0;
	char **ents;

	for (int i = 0; i < 3; i++)
		if (dirs[i][0] && !xs_rm(xs, t, dirs[i]) && errno != ENOENT)
			return -errno;
	/* Like libxl's path cleanup: no empty backend/vif/<domid> left. */
	snprintf(parent, sizeof(parent), "/local/domain/%u/backend/vif/%u",
		 a->bdomid, a->domid);
	ents = xs_directory(xs, t, parent, &n);
	if (ents && n == 0 && !xs_rm(xs, t, parent) && errno != ENOENT) {
		free(ents);
		return -errno;
	}
	free(ents);
	return 0;
}

int xnt_vif_remove(struct xs_handle *xs, unsigned domid, unsigned devid,
		   int timeout_ms, bool *forced)
{
	struct paths p;
	struct rm_arg a = { .p = &p, .domid = domid };
	int rc;

	*forced = false;
	make_paths(&p, domid, 0, devid);
	if (find_backend(xs, &p, domid, devid, p.be, sizeof(p.be)) < 0)
		p.be[0] = '\0';
	if (!p.be[0] && !exists(xs, XBT_NULL, p.fe) && !exists(xs, XBT_NULL, p.lx))
		return -ENOENT;
	if (p.be[0]) {
		uint64_t end = xnx_now_ns() + (uint64_t)timeout_ms * 1000000ull;

		sscanf(p.be, "/local/domain/%u/", &a.bdomid);
		if ((rc = xnx_xs_transact(xs, close_txn, p.be)) < 0)
			return rc;
		if (wait_backend(xs, p.be, end, backend_closed) < 0)
			*forced = true;
		else if (hotplugd_serves(a.bdomid) &&
			 wait_backend(xs, p.be, end, backend_gone) < 0)
			xnt_warn("the hotplug script's offline for %s did not end in time; "
				 "removing it anyway", p.be);
	}
	return xnx_xs_transact(xs, rm_txn, &a);
}

int xnt_vif_devids(struct xs_handle *xs, unsigned domid, unsigned *out, int max)
{
	char dirs[2][PATH_LEN];
	int count = 0;

	snprintf(dirs[0], PATH_LEN, "/local/domain/%u/device/vif", domid);
	snprintf(dirs[1], PATH_LEN, "/libxl/%u/device/vif", domid);
	for (int d = 0; d < 2; d++) {
		unsigned n = 0;
		char **ents = xs_directory(xs, XBT_NULL, dirs[d], &n);

		for (unsigned i = 0; ents && i < n && count < max; i++) {
			unsigned long v;
			bool dup = false;

			if (xnx_parse_uint(ents[i], 0, XNT_DEVID_MAX, &v) < 0)
				continue;
			for (int j = 0; j < count; j++)
				dup |= out[j] == v;
			if (!dup)
				out[count++] = (unsigned)v;
		}
		free(ents);
	}
	return count;
}

/* DIR/KEY for printing: "-" if missing; a guest-written value is cut and
 * stripped of anything unprintable. */
static void field(struct xs_handle *xs, const char *dir, const char *key,
		  char *out, size_t len)
{
	char *v = xnx_xs_read(xs, XBT_NULL, dir, key);
	size_t i;

	if (!v) {
		snprintf(out, len, "-1");
		return;
	}
	for (i = 0; v[i] && i + 1 < len; i++)
		out[i] = isprint((unsigned char)v[i]) && v[i] != ' ' ? v[i] : '?';
	out[i] = '\0';
	free(v);
}

/* Event channel and ring refs; split channels show as "tx/rx", several
 * queues by queue 0's. */
static void channels(struct xs_handle *xs, const char *fe, char *evt, size_t elen,
		     char *tx, char *rx, size_t rlen)
{
	char dir[PATH_LEN + 16], a[16], b[16];

	snprintf(dir, sizeof(dir), "%s", fe);
	field(xs, dir, "tx-ring-ref", tx, rlen);
	if (!strcmp(tx, "-1")) {
		snprintf(dir, sizeof(dir), "%s/queue-0", fe);
		field(xs, dir, "tx-ring-ref", tx, rlen);
	}
	field(xs, dir, "rx-ring-ref", rx, rlen);
	field(xs, dir, "event-channel", evt, elen);
	if (!strcmp(evt, "-1")) {
		field(xs, dir, "event-channel-tx", a, sizeof(a));
		field(xs, dir, "event-channel-rx", b, sizeof(b));
		if (strcmp(a, "-1"))
			snprintf(evt, elen, "%.7s/%.7s", a, b);
	}
}

/* DIR/KEY as text, "" if missing (unprintable bytes made '?'). */
static void text(struct xs_handle *xs, const char *dir, const char *key, char *out,
		 size_t len)
{
	field(xs, dir, key, out, len);
	if (!strcmp(out, "-1"))
		out[0] = '\0';
}

/* An error node's reason, spaces kept (field() makes them '?'). */
static void reason(struct xs_handle *xs, const char *dir, const char *key, char *out,
		   size_t len)
{
	char *v = xnx_xs_read(xs, XBT_NULL, dir, key);
	size_t i;

	for (i = 0; v && v[i] && i + 1 < len; i++)
		out[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	out[len ? (i < len ? i : len - 1) : 0] = '\0';
	free(v);
}

int xnt_vif_info(struct xs_handle *xs, unsigned domid, unsigned devid,
		 struct xnt_vif_info *o)
{
	char errdir[PATH_LEN];
	struct paths p;

	memset(o, 0, sizeof(*o));
	o->domid = domid;
	o->devid = devid;
	make_paths(&p, domid, 0, devid);
	field(xs, p.fe, "backend-id", o->be_id, sizeof(o->be_id));
	field(xs, p.fe, "mac", o->mac, sizeof(o->mac));
	field(xs, p.fe, "handle", o->handle, sizeof(o->handle));
	field(xs, p.fe, "state", o->state, sizeof(o->state));
	channels(xs, p.fe, o->evt, sizeof(o->evt), o->tx, o->rx, sizeof(o->tx));
	snprintf(o->be_path, sizeof(o->be_path), "-");
	snprintf(o->be_state, sizeof(o->be_state), "-1");
	/* Linux's xenbus_dev_error place: error/<nodename>/error in the guest. */
	snprintf(errdir, sizeof(errdir), "/local/domain/%u/error/device/vif/%u", domid, devid);
	reason(xs, errdir, "error", o->fe_error, sizeof(o->fe_error));
	if (find_backend(xs, &p, domid, devid, o->be_path, sizeof(o->be_path)) < 0)
		return 0;
	field(xs, o->be_path, "state", o->be_state, sizeof(o->be_state));
	text(xs, o->be_path, "vifname", o->vifname, sizeof(o->vifname));
	text(xs, o->be_path, "hotplug-status", o->hotplug, sizeof(o->hotplug));
	reason(xs, o->be_path, "error", o->be_error, sizeof(o->be_error));
	reason(xs, o->be_path, "hotplug-error", o->hotplug_error, sizeof(o->hotplug_error));
	return 0;
}

int xnt_vif_print(struct xs_handle *xs, unsigned domid, const char *prefix)
{
	unsigned ids[MAX_VIFS];
	int n = xnt_vif_devids(xs, domid, ids, MAX_VIFS);

	for (int i = 0; i < n; i++) {
		struct xnt_vif_info v;

		xnt_vif_info(xs, domid, ids[i], &v);
		printf("%s%-3u %-2s %-17s %-6s %-5s %-6s %6s/%-8s %s\n", prefix,
		       ids[i], v.be_id, v.mac, v.handle, v.state, v.evt, v.tx, v.rx,
		       v.be_path);
	}
	return n < 0 ? n : 0;
}
