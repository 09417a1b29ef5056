/*
 * xenbus.c — one backend device's life in xenstore: probe (TAP, features,
 * InitWait), hotplug-status, the frontend's keys and state, and teardown.
 * Never touches a ring: connecting is interface.c's job.
 *
 * Keys and spellings follow Linux xen-netback (drivers/net/xen-netback/
 * xenbus.c); we advertise only what we implement.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xnb_policy.h"
#include "xnb_recover.h"
#include "xnb_vif.h"
#include "xnx_log.h"
#include "xnx_state.h"

/* ---- state ---------------------------------------------------------------- */

/* Walk the shortest legal path to TARGET, writing each step (as Linux's
 * set_backend_state does). 0 or -errno. */
static int set_state(struct xnb_vif *vif, enum xenbus_state target)
{
	enum xenbus_state path[8];
	int n = xnx_state_path(vif->state, target, path, 8);

	if (n < 0) {
		xnx_err("%s: no legal path from %s to %s", vif->path,
			xnx_state_name(vif->state), xnx_state_name(target));
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		int rc = xnx_xs_printf(vif->be->xs, XBT_NULL, vif->path, "state", "%d", path[i]);

		if (rc < 0) {
			xnx_err("%s: writing state %s: %s", vif->path,
				xnx_state_name(path[i]), strerror(-rc));
			return rc;
		}
		vif->state = path[i];
		xnx_debug("%s: state %s", vif->path, xnx_state_name(path[i]));
	}
	return 0;
}

void xnb_xenbus_fatal(struct xnb_vif *vif, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* Once: our own writes below fire the backend watch, which looks at
	 * the (still bad) frontend again. */
	if (vif->failed) {
		xnx_debug("%s: already failed; also: %s", vif->path, reason);
		return;
	}
	xnx_err("%s: %s", vif->path, reason);
	xnx_xs_printf(vif->be->xs, XBT_NULL, vif->path, "error", "%s", reason);
	vif->failed = true;
	xnb_vif_disconnect(vif);
	set_state(vif, XenbusStateClosing);
}

/* ---- probe ----------------------------------------------------------------- */

/* The feature keys, written in one transaction. Same spellings and values
 * as Linux netback; absent = not offered. */
static int write_features(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	static const struct { const char *key; int val; } feats[] = {
		{ "feature-sg", 1 },
		{ "feature-gso-tcpv4", 1 },
		{ "feature-gso-tcpv6", 1 },
		{ "feature-ipv6-csum-offload", 1 },
		{ "feature-rx-copy", 1 },
		{ "feature-rx-flip", 0 },
		{ "feature-split-event-channels", 1 },
		{ "feature-multicast-control", 1 },
		{ "feature-dynamic-multicast-control", 1 },
		{ "feature-ctrl-ring", 1 },
	};
	struct xnb_vif *vif = arg;
	int rc;

	for (size_t i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
		rc = xnx_xs_printf(xs, t, vif->path, feats[i].key, "%d", feats[i].val);
		if (rc < 0)
			return rc;
	}
	return xnx_xs_printf(xs, t, vif->path, "multi-queue-max-queues", "%u", vif->max_queues);
}

/* Read what probing needs. 0, -EAGAIN (toolstack not done yet), -EINVAL. */
static int read_toolstack_keys(struct xnb_vif *vif, char *ifname, size_t len)
{
	struct xs_handle *xs = vif->be->xs;
	unsigned long feid, handle, mtu;
	enum xenbus_state st;
	char *s;
	int rc;

	s = xnx_xs_read(xs, XBT_NULL, vif->path, "state");
	rc = s ? xnx_state_parse(s, &st) : -EAGAIN;
	free(s);
	if (rc < 0 || st != XenbusStateInitialising)
		return -EAGAIN;
	s = xnx_xs_read(xs, XBT_NULL, vif->path, "frontend");
	if (!s)
		return -EAGAIN;
	snprintf(vif->fe_path, sizeof(vif->fe_path), "%s", s);
	free(s);
	if (xnx_xs_read_uint(xs, XBT_NULL, vif->path, "frontend-id", 0, 0x7fef, &feid) < 0 ||
	    xnx_xs_read_uint(xs, XBT_NULL, vif->path, "handle", 0, 0xffff, &handle) < 0)
		return -EAGAIN;
	if (feid != vif->domid || handle != vif->devid) {
		xnx_err("%s: frontend-id %lu / handle %lu do not match the path",
			vif->path, feid, handle);
		return -EINVAL;
	}
	rc = xnx_xs_read_uint_def(xs, XBT_NULL, vif->path, "mtu", 68, 65535, 0, &mtu);
	if (rc < 0) {
		xnx_err("%s: mtu: %s", vif->path, strerror(-rc));
		return -EINVAL;
	}
	vif->mtu = (unsigned)mtu;
	s = xnx_xs_read(xs, XBT_NULL, vif->path, "vifname");
	snprintf(ifname, len, "%s", s && *s ? s : "");
	free(s);
	if (!*ifname)
		snprintf(ifname, len, "vif%u.%u", vif->domid, vif->devid);
	return 0;
}

static void frontend_watch_cb(const char *path, void *arg)
{
	struct xnb_vif *vif = arg;

	xnx_log_ctx_set("%s", vif->path);	/* see backend.c: vif_event */
	xnb_xenbus_frontend_event(vif);
	xnx_log_ctx_clear();
}

/* request-multicast-control may change at any time (we offer the dynamic
 * variant): re-sample it. Bad values count as off. */
static void mcast_watch_cb(const char *path, void *arg)
{
	struct xnb_vif *vif = arg;
	bool on = false;

	if (vif->dead)
		return;
	xnx_log_ctx_set("%s", vif->path);
	if (xnx_xs_read_bool(vif->be->xs, XBT_NULL, vif->fe_path, "request-multicast-control",
			     false, &on) < 0)
		xnx_warn("%s/request-multicast-control: not 0 or 1; filter off", vif->fe_path);
	if (on != vif->mcast.enabled)
		xnx_info("%s: multicast filter %s", vif->path, on ? "on" : "off");
	vif->mcast.enabled = on;
	xnx_log_ctx_clear();
}

/* As Linux netback: one queue per CPU, within our limit, unless
 * XNETBACK_MAX_QUEUES says otherwise (as netback's max_queues parameter).
 * Read once: every vif of a run is offered the same. */
static unsigned max_queues(void)
{
	static unsigned nq;
	const char *s = getenv("XNETBACK_MAX_QUEUES");
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long v;

	if (nq)
		return nq;
	nq = n < 1 ? 1 : n > XNB_MAX_QUEUES ? XNB_MAX_QUEUES : (unsigned)n;
	if (s && xnx_parse_uint(s, 1, XNB_MAX_QUEUES, &v) == 0)
		nq = (unsigned)v;
	else if (s)
		xnx_warn("XNETBACK_MAX_QUEUES=%s: not 1..%d, using %u", s,
			 XNB_MAX_QUEUES, nq);
	return nq;
}

static struct xnb_vif *vif_new(struct xnb_backend *be, uint32_t domid, uint32_t devid)
{
	struct xnb_vif *vif = calloc(1, sizeof(*vif));

	if (!vif)
		return NULL;
	vif->be = be;
	vif->domid = domid;
	vif->devid = devid;
	vif->tap.fd = -1;
	vif->state = XenbusStateInitialising;
	vif->fe_logged = -1;
	vif->online = true;
	vif->max_queues = max_queues();
	snprintf(vif->path, sizeof(vif->path), "%s/%u/%u", be->root, domid, devid);
	return vif;
}

/* Create the device: TAP, features, InitWait, watch the frontend. */
static void probe(struct xnb_backend *be, uint32_t domid, uint32_t devid)
{
	struct xnb_vif *vif = vif_new(be, domid, devid);
	char ifname[IFNAMSIZ + 16];
	int rc;

	if (!vif)
		return;
	rc = read_toolstack_keys(vif, ifname, sizeof(ifname));
	if (rc < 0) {
		free(vif);	/* not ready (or refused); a later event retries */
		return;
	}
	vif->next = be->vifs;
	be->vifs = vif;
	rc = xnb_tap_open(&vif->tap, ifname, vif->mtu);
	if (rc == -EEXIST) {
		xnb_xenbus_fatal(vif, "interface %s already exists (another backend's?); "
				 "choose another with vifname", ifname);
		return;
	}
	if (rc < 0) {
		xnb_xenbus_fatal(vif, "creating TAP %s: %s", ifname, strerror(-rc));
		return;
	}
	xnx_info("%s: interface %s (ifindex %d) for dom%u", vif->path, vif->tap.name,
		 vif->tap.ifindex, domid);
	rc = xnx_xs_transact(be->xs, write_features, vif);
	if (rc < 0) {
		xnb_xenbus_fatal(vif, "writing features: %s", strerror(-rc));
		return;
	}
	/* vif-linkid; vifname stays the toolstack's (absent: the interface
	 * is vif<domid>.<devid>, as Xen's scripts expect) until a rename. */
	xnb_rename_record_linkid(vif);
	snprintf(vif->fe_state_path, sizeof(vif->fe_state_path), "%s/state", vif->fe_path);
	if (xnx_xs_watch_add(be->watches, vif->fe_state_path, frontend_watch_cb, vif) == 0)
		vif->watching_fe = true;
	snprintf(vif->fe_mcast_path, sizeof(vif->fe_mcast_path), "%s/request-multicast-control",
		 vif->fe_path);
	if (xnx_xs_watch_add(be->watches, vif->fe_mcast_path, mcast_watch_cb, vif) == 0)
		vif->watching_mcast = true;
	set_state(vif, XenbusStateInitWait);
	xnb_xenbus_backend_event(be, domid, devid);	/* hotplug-status may be there */
}

/* ---- connect / disconnect -------------------------------------------------- */

/* What a strict xenstore read's error means, for the error node. */
static const char *xs_why(int rc)
{
	switch (rc) {
	case -ENOENT: return "missing";
	case -EINVAL: return "not an unsigned decimal";
	case -ERANGE: return "out of range";
	default: return strerror(-rc);
	}
}

static int read_flag(struct xnb_vif *vif, const char *key, bool def, bool *out, char *why,
		     size_t len)
{
	int rc = xnx_xs_read_bool(vif->be->xs, XBT_NULL, vif->fe_path, key, def, out);

	if (rc < 0)
		snprintf(why, len, "%s/%s: %s (want 0 or 1)", vif->fe_path, key, xs_why(rc));
	return rc;
}

/* The frontend's feature keys (Linux: read_xenbus_vif_flags). */
static int read_fe_features(struct xnb_vif *vif, struct xnb_feat *f, char *why, size_t len)
{
	bool rx_copy, no_csum;

	if (read_flag(vif, "request-rx-copy", false, &rx_copy, why, len) < 0)
		return -EINVAL;
	if (!rx_copy) {
		snprintf(why, len, "frontend does not request rx-copy (flip is not supported)");
		return -EOPNOTSUPP;
	}
	if (read_flag(vif, "feature-rx-notify", false, &f->rx_notify, why, len) < 0 ||
	    read_flag(vif, "feature-sg", false, &f->sg, why, len) < 0 ||
	    read_flag(vif, "feature-gso-tcpv4", false, &f->gso_tcpv4, why, len) < 0 ||
	    read_flag(vif, "feature-gso-tcpv6", false, &f->gso_tcpv6, why, len) < 0 ||
	    read_flag(vif, "feature-no-csum-offload", false, &no_csum, why, len) < 0 ||
	    read_flag(vif, "feature-ipv6-csum-offload", false, &f->ipv6_csum, why, len) < 0)
		return -EINVAL;
	f->ip_csum = !no_csum;
	return 0;
}

/* One queue's ring refs and event channels under DIR (the frontend
 * directory, or its queue-N; Linux: connect_data_rings). */
static int read_fe_queue(struct xnb_vif *vif, const char *dir, struct xnb_fe_queue *c,
			 char *why, size_t len)
{
	struct xs_handle *xs = vif->be->xs;
	unsigned long v[4];
	static const char *const keys[4] = {
		"tx-ring-ref", "rx-ring-ref", "event-channel-tx", "event-channel-rx",
	};
	int rc;

	for (int i = 0; i < 4; i++) {
		rc = xnx_xs_read_uint(xs, XBT_NULL, dir, keys[i], 0, UINT32_MAX, &v[i]);
		if (rc == -ENOENT && i >= 2)
			break;	/* no split channels */
		if (rc < 0) {
			snprintf(why, len, "%s/%s: %s", dir, keys[i], xs_why(rc));
			return rc;
		}
	}
	c->tx_ring_ref = (uint32_t)v[0];
	c->rx_ring_ref = (uint32_t)v[1];
	c->split = rc == 0;
	if (c->split) {
		c->evtchn_tx = (uint32_t)v[2];
		c->evtchn_rx = (uint32_t)v[3];
		return 0;
	}
	rc = xnx_xs_read_uint(xs, XBT_NULL, dir, "event-channel", 0, UINT32_MAX, &v[2]);
	if (rc < 0) {
		snprintf(why, len, "%s/event-channel(-tx/-rx): %s", dir, xs_why(rc));
		return rc;
	}
	c->evtchn_tx = c->evtchn_rx = (uint32_t)v[2];
	return 0;
}

/* The control ring, optional: ctrl-ring-ref, and then event-channel-ctrl
 * too (Linux: connect_ctrl_ring). */
static int read_fe_ctrl(struct xnb_vif *vif, struct xnb_fe_conf *c, char *why, size_t len)
{
	struct xs_handle *xs = vif->be->xs;
	unsigned long ref, port;
	int rc;

	rc = xnx_xs_read_uint(xs, XBT_NULL, vif->fe_path, "ctrl-ring-ref", 0, UINT32_MAX, &ref);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		snprintf(why, len, "%s/ctrl-ring-ref: %s", vif->fe_path, xs_why(rc));
		return rc;
	}
	rc = xnx_xs_read_uint(xs, XBT_NULL, vif->fe_path, "event-channel-ctrl", 0, UINT32_MAX,
			      &port);
	if (rc < 0) {
		snprintf(why, len, "%s/event-channel-ctrl: %s", vif->fe_path, xs_why(rc));
		return rc;
	}
	c->ctrl = true;
	c->ctrl_ring_ref = (uint32_t)ref;
	c->evtchn_ctrl = (uint32_t)port;
	return 0;
}

/* How many queues and each one's keys: one queue at the top level, more
 * under queue-0 .. queue-N-1 (netif.h, multi-queue). */
static int read_fe_rings(struct xnb_vif *vif, struct xnb_fe_conf *c, char *why, size_t len)
{
	char dir[sizeof(vif->fe_path) + 16];
	unsigned long nq;
	int rc;

	rc = xnx_xs_read_uint_def(vif->be->xs, XBT_NULL, vif->fe_path, "multi-queue-num-queues",
				  1, vif->max_queues, 1, &nq);
	if (rc < 0) {
		snprintf(why, len, "%s/multi-queue-num-queues: %s (we offer 1..%u)", vif->fe_path,
			 xs_why(rc), vif->max_queues);
		return rc;
	}
	c->nqueues = (unsigned)nq;
	if (nq == 1)
		return read_fe_queue(vif, vif->fe_path, &c->q[0], why, len);
	for (unsigned i = 0; i < nq; i++) {
		snprintf(dir, sizeof(dir), "%s/queue-%u", vif->fe_path, i);
		rc = read_fe_queue(vif, dir, &c->q[i], why, len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The frontend's domain has no directory any more (destroyed). Only a
 * clear "no such node" counts: a driver domain may not read it at all. */
static bool fe_domain_gone(struct xnb_vif *vif)
{
	char path[32];
	char *s;

	snprintf(path, sizeof(path), "/local/domain/%u", vif->domid);
	s = xnx_xs_read(vif->be->xs, XBT_NULL, path, NULL);
	free(s);
	return !s && errno == ENOENT;
}

/* Frontend state, or Unknown if its node is gone. */
static enum xenbus_state fe_state(struct xnb_vif *vif, bool *gone)
{
	enum xenbus_state st = XenbusStateUnknown;
	char *s = xnx_xs_read(vif->be->xs, XBT_NULL, vif->fe_state_path, NULL);

	/* Gone once it was there (at probe time it may not exist yet), or
	 * with its domain: destroyed before we ever read its state. */
	*gone = !s && (vif->fe_seen || fe_domain_gone(vif));
	if (s && xnx_state_parse(s, &st) < 0) {
		xnx_warn("%s: bad state value '%s'", vif->fe_state_path, s);
		st = XenbusStateUnknown;
	}
	if (s)
		vif->fe_seen = true;
	free(s);
	return st;
}

/* Connect if everything is in place: hotplug done, frontend published. */
static void try_connect(struct xnb_vif *vif)
{
	struct xnb_fe_conf c;
	char why[256];
	uint8_t mac[6];
	char *s;

	bool gone;
	enum xenbus_state fe;

	if (vif->connected || vif->failed || !vif->hotplug_ok || vif->state != XenbusStateInitWait)
		return;
	fe = fe_state(vif, &gone);
	if (fe != XenbusStateInitialised && fe != XenbusStateConnected)
		return;	/* its keys are not published yet */
	memset(&c, 0, sizeof(c));
	s = xnx_xs_read(vif->be->xs, XBT_NULL, vif->path, "mac");
	if (!s || xnb_parse_mac(s, mac) < 0) {
		xnb_xenbus_fatal(vif, "parsing %s/mac: '%s'", vif->path, s ? s : "(missing)");
		free(s);
		return;
	}
	free(s);
	if (xnb_policy_load(vif->be->xs, vif->path, mac, vif->mtu, &vif->policy, why,
			    sizeof(why)) < 0) {
		xnb_xenbus_fatal(vif, "%s", why);
		return;
	}
	if (read_fe_rings(vif, &c, why, sizeof(why)) < 0 ||
	    read_fe_ctrl(vif, &c, why, sizeof(why)) < 0 ||
	    read_fe_features(vif, &c.feat, why, sizeof(why)) < 0 ||
	    xnb_vif_connect(vif, &c, why, sizeof(why)) < 0) {
		xnb_xenbus_fatal(vif, "%s", why);
		return;
	}
	/* Recovered from a previous instance: go on where it stopped. */
	if (vif->reattach && xnb_recover_attach(vif) < 0)
		return;
	vif->reattach = false;
	set_state(vif, XenbusStateConnected);
	xnx_info("%s: connected, %u queue%s (queue 0: tx-ring-ref %u rx-ring-ref %u "
		 "evtchn %u/%u)%s%s%s", vif->path, c.nqueues, c.nqueues > 1 ? "s" : "",
		 c.q[0].tx_ring_ref, c.q[0].rx_ring_ref, c.q[0].evtchn_tx, c.q[0].evtchn_rx,
		 c.feat.sg ? " sg" : "", c.feat.gso_tcpv4 || c.feat.gso_tcpv6 ? " gso" : "",
		 c.feat.ip_csum ? " csum" : "");
}

/* ---- teardown --------------------------------------------------------------- */

static void unwatch_fe(struct xnb_vif *vif)
{
	if (vif->watching_fe)
		xnx_xs_watch_del(vif->be->watches, vif->fe_state_path, vif);
	if (vif->watching_mcast)
		xnx_xs_watch_del(vif->be->watches, vif->fe_mcast_path, vif);
	vif->watching_fe = vif->watching_mcast = false;
}

/* Forget the device: disconnect, close the TAP, free at the end of the turn. */
static void remove_vif(struct xnb_vif *vif, const char *why)
{
	xnx_info("%s: removed (%s)", vif->path, why);
	xnb_vif_disconnect(vif);
	unwatch_fe(vif);
	xnb_tap_close(&vif->tap);
	vif->dead = true;
}

void xnb_vif_free(struct xnb_vif *vif)
{
	free(vif);
}

void xnb_xenbus_shutdown(struct xnb_vif *vif)
{
	xnb_vif_disconnect(vif);
	if (!vif->dead)
		set_state(vif, XenbusStateClosing);
	unwatch_fe(vif);
	xnb_tap_close(&vif->tap);
}

static bool backend_exists(struct xnb_vif *vif)
{
	char *s = xnx_xs_read(vif->be->xs, XBT_NULL, vif->path, "state");

	free(s);
	return s != NULL;
}

/* The toolstack's `online`, read now: a frontend event is handled at once
 * while our own directory's events wait for the end of the batch, so the
 * toolstack's online=0 written before the frontend closed may not have
 * been looked at yet. */
static bool online_now(struct xnb_vif *vif)
{
	bool online;

	if (xnx_xs_read_bool(vif->be->xs, XBT_NULL, vif->path, "online", true, &online) == 0)
		vif->online = online;
	return vif->online;
}

/* Our directory says Initialising: a toolstack made it anew (the device
 * removed and added again, its devid reused), which backend_changed turns
 * into a new device; not ours to restart from a frontend event. */
static bool backend_added_again(struct xnb_vif *vif)
{
	unsigned long st;

	return xnx_xs_read_uint(vif->be->xs, XBT_NULL, vif->path, "state", 0, 8, &st) == 0 &&
	       st == XenbusStateInitialising && vif->state != XenbusStateInitialising;
}

static void frontend_closed(struct xnb_vif *vif, bool gone)
{
	xnb_vif_disconnect(vif);
	if (backend_exists(vif))
		set_state(vif, XenbusStateClosed);
	if (gone || !online_now(vif))
		remove_vif(vif, gone ? "frontend gone" : "offline and frontend closed");
}

void xnb_xenbus_frontend_event(struct xnb_vif *vif)
{
	bool gone;
	enum xenbus_state st;

	if (vif->dead)
		return;
	st = fe_state(vif, &gone);
	/* Watches fire for every key the frontend writes: log changes only. */
	if ((int)st != vif->fe_logged) {
		xnx_debug("%s: frontend %s%s", vif->path, xnx_state_name(st),
			  gone ? " (gone)" : "");
		vif->fe_logged = (int)st;
	}
	switch (st) {
	case XenbusStateInitialising:
		if ((vif->state == XenbusStateClosed || vif->state == XenbusStateClosing) &&
		    !backend_added_again(vif)) {
			vif->failed = false;	/* a fresh start */
			set_state(vif, XenbusStateInitWait);
		}
		break;
	case XenbusStateInitWait:
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		try_connect(vif);
		break;
	case XenbusStateClosing:
		xnb_vif_disconnect(vif);
		set_state(vif, XenbusStateClosing);
		break;
	case XenbusStateClosed:
		frontend_closed(vif, gone);
		break;
	case XenbusStateUnknown:
		if (gone || vif->fe_seen)
			frontend_closed(vif, true);
		break;
	default:
		xnb_xenbus_fatal(vif, "saw state %d at frontend", st);
		break;
	}
}

void xnb_xenbus_release_check(struct xnb_vif *vif)
{
	bool gone;

	if (vif->dead || !vif->fe_state_path[0])
		return;
	fe_state(vif, &gone);
	if (gone)
		frontend_closed(vif, true);
}

/* The toolstack's `rate` ("bytes,usec"); absent or bad means unlimited,
 * as in Linux netback. Re-read on every backend event: it may change. */
static void read_rate(struct xnb_vif *vif)
{
	char *s = xnx_xs_read(vif->be->xs, XBT_NULL, vif->path, "rate");
	uint64_t bytes = 0, usec = 0;

	if (s && xnb_parse_rate(s, &bytes, &usec) < 0) {
		if (!vif->rate_bad)
			xnx_warn("%s/rate: '%s' is not \"bytes,usec\"; traffic unlimited",
				 vif->path, s);
		vif->rate_bad = true;
		bytes = usec = 0;
	} else {
		vif->rate_bad = false;
	}
	free(s);
	xnb_vif_set_rate(vif, bytes, usec);
}

/* hotplug-status: "connected" lets us connect; "error" keeps us down. */
static void check_hotplug(struct xnb_vif *vif)
{
	char *s = xnx_xs_read(vif->be->xs, XBT_NULL, vif->path, "hotplug-status");

	if (s && strcmp(s, "connected") == 0 && !vif->hotplug_ok) {
		vif->hotplug_ok = true;
		xnx_info("%s: hotplug done", vif->path);
		try_connect(vif);
	} else if (s && strcmp(s, "error") == 0 && !vif->hotplug_failed) {
		char *e = xnx_xs_read(vif->be->xs, XBT_NULL, vif->path, "hotplug-error");

		vif->hotplug_failed = true;
		xnx_err("%s: hotplug script failed: %s; staying down", vif->path,
			e ? e : "(no hotplug-error)");
		free(e);
	}
	free(s);
}

/* Something under our backend directory changed. */
static void backend_changed(struct xnb_vif *vif)
{
	struct xs_handle *xs = vif->be->xs;
	unsigned long st = vif->state;
	bool online;

	if (xnx_xs_read_uint(xs, XBT_NULL, vif->path, "state", 0, 8, &st) == -ENOENT) {
		remove_vif(vif, "backend directory removed");
		return;
	}
	/* Only a toolstack writes Initialising, and only into a new
	 * directory: the device was removed and added again (its devid
	 * reused) before we saw it go. */
	if (st == XenbusStateInitialising && vif->state != XenbusStateInitialising) {
		remove_vif(vif, "added again");
		probe(vif->be, vif->domid, vif->devid);
		return;
	}
	if (xnx_xs_read_bool(xs, XBT_NULL, vif->path, "online", true, &online) == 0)
		vif->online = online;
	/* The toolstack closes a device by writing our state to Closing. */
	if (st == XenbusStateClosing && vif->state != XenbusStateClosing &&
	    vif->state != XenbusStateClosed) {
		xnb_vif_disconnect(vif);
		vif->state = XenbusStateClosing;
	}
	if (!vif->online) {
		bool gone;
		enum xenbus_state fe = fe_state(vif, &gone);

		if (gone || fe == XenbusStateClosed || fe == XenbusStateUnknown) {
			frontend_closed(vif, gone);
			return;
		}
		xnb_vif_disconnect(vif);
		set_state(vif, XenbusStateClosing);
		return;
	}
	read_rate(vif);
	check_hotplug(vif);
	xnb_xenbus_frontend_event(vif);
}

void xnb_xenbus_backend_event(struct xnb_backend *be, uint32_t domid, uint32_t devid)
{
	struct xnb_vif *vif = xnb_backend_find(be, domid, devid);

	if (!vif)
		probe(be, domid, devid);
	else if (!vif->dead)
		backend_changed(vif);
}
