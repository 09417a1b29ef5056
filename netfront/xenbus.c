/*
 * xenbus.c — libxnetfront's xenstore side: the vif's own keys, the
 * backend's features, publishing rings and channels in one transaction, and
 * our XenbusState. Mirrors Linux xen-netfront (talk_to_netback) key for key.
 * Never touches a ring.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "dev.h"
#include "xnx_log.h"
#include "xnx_state.h"
#include "xnx_xs.h"

int xnf_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		char hex[3] = { p[0], p[1], 0 };

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			return -EINVAL;
		if (i < 5 && p[2] != ':')
			return -EINVAL;
		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
	}
	return 0;
}

/* A xenstore path we will build on: absolute, plain characters, short. */
static bool path_ok(const char *p)
{
	size_t n = strlen(p);

	if (n < 2 || n >= XNF_PATH_MAX - 32 || p[0] != '/' || p[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && !strchr("/_-.", p[i]))
			return false;
	return !strstr(p, "//");
}

/* Read DIR/KEY; log what is wrong with it, naming the key. */
static int read_str(struct xnf_dev *dev, const char *dir, const char *key,
		    char **out)
{
	*out = xnx_xs_read(dev->xs, XBT_NULL, dir, key);
	if (!*out) {
		int e = errno ? errno : EIO;
		xnx_err("vif %u: cannot read %s/%s: %s", dev->devid, dir, key,
			strerror(e));
		return -e;
	}
	return 0;
}

static int read_uint(struct xnf_dev *dev, const char *dir, const char *key,
		     unsigned long min, unsigned long max, unsigned long def,
		     unsigned long *out)
{
	char *v = xnx_xs_read(dev->xs, XBT_NULL, dir, key);
	int rc;

	if (!v) {
		if (errno != ENOENT)
			return -errno;
		*out = def;
		return 0;
	}
	rc = xnx_parse_uint(v, min, max, out);
	if (rc < 0) {
		snprintf(dev->reason, sizeof(dev->reason),
			 "%.100s/%.40s = '%.40s' is not a number in [%lu, %lu]",
			 dir, key, v, min, max);
		xnx_err("vif %u: %s", dev->devid, dev->reason);
	}
	free(v);
	return rc;
}

/* `backend`: where the backend lives; checked before we build paths on it. */
static int read_backend_path(struct xnf_dev *dev)
{
	char *s;
	int rc = read_str(dev, dev->fe_path, "backend", &s);

	if (rc < 0)
		return rc;
	if (!path_ok(s)) {
		xnx_err("vif %u: %s/backend = '%.60s' is not a usable path",
			dev->devid, dev->fe_path, s);
		free(s);
		return -EINVAL;
	}
	snprintf(dev->be_path, sizeof(dev->be_path), "%s", s);
	free(s);
	return 0;
}

static int read_mac(struct xnf_dev *dev)
{
	char *s;
	int rc = read_str(dev, dev->fe_path, "mac", &s);

	if (rc < 0)
		return rc;
	if (xnf_parse_mac(s, dev->mac) < 0) {
		xnx_err("vif %u: %s/mac = '%.40s' is not aa:bb:cc:dd:ee:ff",
			dev->devid, dev->fe_path, s);
		rc = -EINVAL;
	}
	free(s);
	return rc;
}

/* The keys the toolstack wrote: backend, backend-id, mac, mtu, state. */
int xnf_xb_read_config(struct xnf_dev *dev)
{
	unsigned long id, mtu, state;
	int rc;

	snprintf(dev->fe_path, sizeof(dev->fe_path),
		 "/local/domain/%u/device/vif/%u", dev->self, dev->devid);
	if ((rc = read_backend_path(dev)) < 0)
		return rc;
	rc = read_uint(dev, dev->fe_path, "backend-id", 0,
		       DOMID_FIRST_RESERVED - 1, ~0ul, &id);
	if (rc == 0 && id == ~0ul) {
		xnx_err("vif %u: %s/backend-id is missing", dev->devid, dev->fe_path);
		rc = -ENOENT;
	}
	if (rc < 0 || (rc = read_mac(dev)) < 0 ||
	    (rc = read_uint(dev, dev->fe_path, "mtu", 68, 65535, 1500, &mtu)) < 0 ||
	    (rc = read_uint(dev, dev->fe_path, "state", 0, XenbusStateReconfigured,
			    XenbusStateUnknown, &state)) < 0)
		return rc;
	dev->be_id = (unsigned)id;
	dev->mtu = (unsigned)mtu;
	dev->fe_state = (enum xenbus_state)state;
	return 0;
}

static void on_watch(const char *path, void *arg)
{
	struct xnf_dev *dev = arg;

	(void)path;
	dev->xs_changed = true;
}

int xnf_xb_watch(struct xnf_dev *dev)
{
	char be_state[XNF_PATH_MAX + 8];
	int rc;

	dev->watches = xnx_xs_watches_new(dev->xs);
	if (!dev->watches)
		return -ENOMEM;
	snprintf(be_state, sizeof(be_state), "%s/state", dev->be_path);
	rc = xnx_xs_watch_add(dev->watches, be_state, on_watch, dev);
	snprintf(be_state, sizeof(be_state), "%s/carrier", dev->be_path);
	if (rc == 0)
		rc = xnx_xs_watch_add(dev->watches, be_state, on_watch, dev);
	if (rc == 0)
		rc = xnx_xs_watch_add(dev->watches, dev->fe_path, on_watch, dev);
	if (rc < 0)
		xnx_err("vif %u: cannot watch %s: %s", dev->devid, be_state,
			strerror(-rc));
	return rc;
}

/* A backend feature flag: missing is 0; anything but "0"/"1" is refused. */
static int read_flag(struct xnf_dev *dev, const char *key, bool *out)
{
	unsigned long v;
	int rc = read_uint(dev, dev->be_path, key, 0, 1, 0, &v);

	if (rc == 0)
		*out = v;
	return rc;
}

int xnf_xb_read_features(struct xnf_dev *dev)
{
	struct xnf_features f = { 0 };
	unsigned long mq;
	bool dyn = false;
	int rc;

	if ((rc = read_flag(dev, "feature-rx-copy", &f.rx_copy)) < 0 ||
	    (rc = read_flag(dev, "feature-sg", &f.sg)) < 0 ||
	    (rc = read_flag(dev, "feature-split-event-channels",
			    &f.split_evtchn)) < 0 ||
	    (rc = read_flag(dev, "feature-gso-tcpv4", &f.gso_tcpv4)) < 0 ||
	    (rc = read_flag(dev, "feature-gso-tcpv6", &f.gso_tcpv6)) < 0 ||
	    (rc = read_flag(dev, "feature-ipv6-csum-offload", &f.ipv6_csum)) < 0 ||
	    (rc = read_flag(dev, "feature-ctrl-ring", &f.ctrl_ring)) < 0 ||
	    (rc = read_flag(dev, "feature-multicast-control", &f.mcast)) < 0 ||
	    (rc = read_flag(dev, "feature-dynamic-multicast-control", &dyn)) < 0)
		return rc;
	f.mcast |= dyn;
	rc = read_uint(dev, dev->be_path, "multi-queue-max-queues", 1, 65535, 0, &mq);
	if (rc < 0)
		return rc;
	f.max_queues = (unsigned)mq;
	if (!f.rx_copy) {
		snprintf(dev->reason, sizeof(dev->reason),
			 "backend %.120s does not offer feature-rx-copy", dev->be_path);
		xnx_err("vif %u: %s", dev->devid, dev->reason);
		return -EPROTONOSUPPORT;
	}
	dev->feat = f;
	return 0;
}

/* Remove DIR/KEY, a key an earlier connection wrote, if it is there. */
static int rm_old(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		  const char *key)
{
	int rc = xnx_xs_rm(xs, t, dir, key);

	return rc == -ENOENT ? 0 : rc;
}

/* Is KEY (an entry of our directory) what an earlier connection (or an
 * earlier xnetfront) published in a layout this one does not use:
 * queue-N/ beyond our queues (all of them with one queue), the flat ring
 * keys with several? Left there, the vif's keys would describe two
 * connections at once. */
static bool stale_key(const struct xnf_dev *dev, const char *key)
{
	static const char *const flat[] = { "tx-ring-ref", "rx-ring-ref", "event-channel",
					    "event-channel-tx", "event-channel-rx" };
	unsigned long q;

	if (strncmp(key, "queue-", 6) == 0)
		return xnx_parse_uint(key + 6, dev->nqueues == 1 ? 0 : dev->nqueues,
				      XNF_MAX_QUEUES - 1, &q) == 0;
	if (dev->nqueues == 1)
		return false;
	for (size_t k = 0; k < sizeof(flat) / sizeof(*flat); k++)
		if (strcmp(key, flat[k]) == 0)
			return true;
	return false;
}

/* Remove the stale keys: one directory read, then only what is there
 * (not one removal per key that might be). */
static int unpublish_old(struct xs_handle *xs, xs_transaction_t t,
			 struct xnf_dev *dev)
{
	unsigned n = 0;
	char **ents = xs_directory(xs, t, dev->fe_path, &n);
	int rc = 0;

	if (!ents)
		return errno == ENOENT ? 0 : -errno;
	for (unsigned i = 0; i < n && rc == 0; i++)
		if (stale_key(dev, ents[i]))
			rc = rm_old(xs, t, dev->fe_path, ents[i]);
	free(ents);
	return rc;
}

/* One queue's ring and channel keys: flat with one queue, under queue-N/
 * with more (Linux write_queue_xenstore_keys); the other kind of event
 * channel keys an earlier connection may have left goes. */
static int publish_queue(struct xs_handle *xs, xs_transaction_t t,
			 struct xnf_dev *dev, unsigned i)
{
	const struct xnf_qres *r = &dev->qs[i];
	char dir[XNF_PATH_MAX + 16];
	const char *p = dir;
	int rc = 0;

	if (dev->nqueues == 1)
		snprintf(dir, sizeof(dir), "%s", dev->fe_path);
	else
		snprintf(dir, sizeof(dir), "%s/queue-%u", dev->fe_path, i);
#define W(key, ...) do { if (rc == 0) rc = xnx_xs_printf(xs, t, p, key, __VA_ARGS__); } while (0)
#define RM(key) do { if (rc == 0) rc = rm_old(xs, t, p, key); } while (0)
	W("tx-ring-ref", "%u", r->tx_ring_ref);
	W("rx-ring-ref", "%u", r->rx_ring_ref);
	if (r->port_tx == r->port_rx) {
		W("event-channel", "%u", (unsigned)r->port_tx);
		RM("event-channel-tx");
		RM("event-channel-rx");
	} else {
		W("event-channel-tx", "%u", (unsigned)r->port_tx);
		W("event-channel-rx", "%u", (unsigned)r->port_rx);
		RM("event-channel");
	}
#undef RM
#undef W
	return rc;
}

/* The keys of talk_to_netback, in its order, in one transaction.
 * Offloads we were not asked to take are refused explicitly where the
 * protocol assumes them (IPv4 checksum offload is on unless
 * feature-no-csum-offload says otherwise). */
static int publish_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xnf_dev *dev = arg;
	const char *p = dev->fe_path;
	unsigned off = dev->cfg.rx_offloads;
	int rc = 0;

#define W(key, ...) do { if (rc == 0) rc = xnx_xs_printf(xs, t, p, key, __VA_ARGS__); } while (0)
#define RM(key) do { if (rc == 0) rc = rm_old(xs, t, p, key); } while (0)
	rc = unpublish_old(xs, t, dev);
	if (dev->feat.max_queues)
		W("multi-queue-num-queues", "%u", dev->nqueues);
	else
		RM("multi-queue-num-queues");
	for (unsigned i = 0; i < dev->nqueues && rc == 0; i++)
		rc = publish_queue(xs, t, dev, i);
	if (dev->ctrl.port >= 0) {
		W("ctrl-ring-ref", "%u", dev->ctrl.ring_ref);
		W("event-channel-ctrl", "%u", (unsigned)dev->ctrl.port);
	} else {
		RM("ctrl-ring-ref");
		RM("event-channel-ctrl");
	}
	/* Before Connected, so a backend with only the static feature samples
	 * it too. */
	if (dev->feat.mcast && (dev->cfg.flags & XNF_CFG_MCAST_CONTROL))
		W("request-multicast-control", "%d", 1);
	else
		RM("request-multicast-control");
	W("request-rx-copy", "%u", 1);
	W("feature-rx-notify", "%d", 1);
	W("feature-sg", "%d", 1);
	if (off & XNF_OFFLOAD_GSO_TCPV4)
		W("feature-gso-tcpv4", "%d", 1);
	if (off & XNF_OFFLOAD_GSO_TCPV6)
		W("feature-gso-tcpv6", "%d", 1);
	if (off & XNF_OFFLOAD_CSUM)
		W("feature-ipv6-csum-offload", "%d", 1);
	else
		W("feature-no-csum-offload", "%d", 1);
#undef RM
#undef W
	return rc;
}

int xnf_xb_publish(struct xnf_dev *dev)
{
	int rc = xnx_xs_transact(dev->xs, publish_txn, dev);

	if (rc < 0)
		xnx_err("vif %u: publishing rings in %s: %s", dev->devid,
			dev->fe_path, strerror(-rc));
	return rc;
}

struct state_write {
	struct xnf_dev *dev;
	enum xenbus_state s;
};

/* Write our state only while the vif exists: a write would otherwise
 * recreate a directory the toolstack removed. */
static int state_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct state_write *w = arg;
	char *v = xnx_xs_read(xs, t, w->dev->fe_path, NULL);

	if (!v)
		return -errno;
	free(v);
	return xnx_xs_printf(xs, t, w->dev->fe_path, "state", "%d", (int)w->s);
}

int xnf_xb_set_state(struct xnf_dev *dev, enum xenbus_state target)
{
	enum xenbus_state path[XenbusStateReconfigured + 1];
	int n = xnx_state_path(dev->fe_state, target, path,
			       XenbusStateReconfigured + 1);

	XNX_BUG_ON(n < 0);
	for (int i = 0; i < n; i++) {
		struct state_write w = { dev, path[i] };
		int rc = xnx_xs_transact(dev->xs, state_txn, &w);

		if (rc < 0)
			return rc;
		xnx_debug("vif %u: %s -> %s", dev->devid,
			  xnx_state_name(dev->fe_state), xnx_state_name(path[i]));
		dev->fe_state = path[i];
	}
	return 0;
}

int xnf_xb_backend_state(struct xnf_dev *dev, enum xenbus_state *out)
{
	char *v = xnx_xs_read(dev->xs, XBT_NULL, dev->be_path, "state");
	int rc;

	if (!v) {
		if (errno != ENOENT)
			return -errno;
		*out = XenbusStateClosed;
		return 0;
	}
	rc = xnx_state_parse(v, out);
	if (rc < 0)
		snprintf(dev->reason, sizeof(dev->reason),
			 "backend %.120s/state = '%.20s' is not a XenbusState",
			 dev->be_path, v);
	free(v);
	return rc;
}

bool xnf_xb_vif_exists(struct xnf_dev *dev)
{
	char *v = xnx_xs_read(dev->xs, XBT_NULL, dev->fe_path, NULL);

	free(v);
	return v != NULL;
}

bool xnf_xb_carrier(struct xnf_dev *dev)
{
	unsigned long v;
	int rc = xnx_xs_read_uint(dev->xs, XBT_NULL, dev->be_path, "carrier",
				  0, 1, &v);

	if (rc == -EINVAL)
		xnx_debug("vif %u: %s/carrier is not 0 or 1; carrier on",
			  dev->devid, dev->be_path);
	return rc < 0 || v != 0;
}

bool xnf_xb_backend_online(struct xnf_dev *dev)
{
	bool online = true;

	xnx_xs_read_bool(dev->xs, XBT_NULL, dev->be_path, "online", true, &online);
	return online;
}

/* Where and how Linux's xenbus_dev_error puts it: "<errno> <reason>" in
 * error/<nodename>/error under our domain's home. */
void xnf_xb_write_error(struct xnf_dev *dev, int err, const char *reason)
{
	char dir[XNF_PATH_MAX + 16];

	if (!xnf_xb_vif_exists(dev))
		return;
	snprintf(dir, sizeof(dir), "/local/domain/%u/error/device/vif/%u",
		 dev->self, dev->devid);
	if (xnx_xs_printf(dev->xs, XBT_NULL, dir, "error", "%i %s", err, reason) < 0)
		xnx_warn("vif %u: cannot write %s/error", dev->devid, dir);
}
