/*
 * recover.c — a restarted xnetback picks up the devices a previous instance
 * left behind (it was killed, or crashed): their backend directories are in
 * a state later than Initialising and nobody serves them.
 *
 * Each such device is probed again as if new: our state goes back to
 * Initialising and then, through the usual probe, InitWait (a new TAP, the
 * features written again). A frontend still Connected on its old rings is
 * then connected the way Linux netback reattaches after a live update
 * (xenvif_map_frontend_data_rings: BACK_RING_ATTACH at the shared
 * rsp_prod): our private indices start where the responses stopped, so the
 * requests the dead instance had not answered are served now and nothing
 * the frontend sees goes backwards. A frontend that restarts instead walks
 * Closing, Closed, Initialising and renegotiates through the handshake.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xnb_recover.h"
#include "xnx_log.h"

/* How long a dying previous instance may take to let go of a TAP. */
#define OLD_TAP_WAIT_MS 2000

/* Does the device's frontend still exist (its state node readable)? A
 * device whose guest died while we were away is the toolstack's to remove,
 * not ours to bring back. */
static bool frontend_there(struct xs_handle *xs, const char *path)
{
	char *fe = xnx_xs_read(xs, XBT_NULL, path, "frontend");
	char *st = fe && *fe == '/' ? xnx_xs_read(xs, XBT_NULL, fe, "state") : NULL;
	bool there = st != NULL;

	free(st);
	free(fe);
	return there;
}

/* Is the device at PATH one a previous instance left? Its state is
 * InitWait .. Closed, it is not a closed device waiting for the
 * toolstack to remove it (online=0), and its frontend is still there. */
static bool left_behind(struct xs_handle *xs, const char *path)
{
	unsigned long st;
	bool online = true;

	if (xnx_xs_read_uint(xs, XBT_NULL, path, "state", 0, 8, &st) < 0)
		return false;
	if (st < XenbusStateInitWait || st > XenbusStateClosed)
		return false;
	if (xnx_xs_read_bool(xs, XBT_NULL, path, "online", true, &online) < 0)
		return false;
	return (online || st != XenbusStateClosed) && frontend_there(xs, path);
}

/* Private ring indices from the shared rsp_prod (BACK_RING_ATTACH); a
 * request producer more than a ring ahead of it is a violation. */
#define ATTACH(ring, size, ok)                                              \
	do {                                                                \
		RING_IDX rsp_ = XNB_READ_ONCE((ring)->sring->rsp_prod);     \
		RING_IDX req_ = XNB_READ_ONCE((ring)->sring->req_prod);     \
		(ring)->req_cons = (ring)->rsp_prod_pvt = rsp_;              \
		(ok) = req_ - rsp_ <= (size);                               \
	} while (0)

int xnb_recover_attach(struct xnb_vif *vif)
{
	for (unsigned i = 0; vif->connected && i < vif->nqueues; i++) {
		struct xnb_queue *q = vif->vq[i].q;
		bool tx_ok, rx_ok;

		if (!q)
			continue;
		ATTACH(&q->tx, XNB_TX_RING_SIZE, tx_ok);
		ATTACH(&q->rx, XNB_RX_RING_SIZE, rx_ok);
		if (!tx_ok || !rx_ok) {
			xnb_xenbus_fatal(vif, "queue %u: reattaching: %s request producer more "
					 "than a ring ahead of its responses", i,
					 tx_ok ? "rx" : "tx");
			return -EPROTO;
		}
		xnx_info("%s: queue %u reattached at tx %u rx %u", vif->path, i,
			 q->tx.req_cons, q->rx.req_cons);
	}
	return 0;
}

/* The previous instance's TAP goes away as its process finishes exiting,
 * which may be just after we started: wait for it (bounded) rather than
 * refuse the name as another backend's. */
static void wait_old_tap(struct xs_handle *xs, const char *path, uint32_t domid,
			 uint32_t devid)
{
	char *s = xnx_xs_read(xs, XBT_NULL, path, "vifname");
	char name[IFNAMSIZ];
	struct timespec ms10 = { .tv_nsec = 10000000L };

	if (s && *s)
		snprintf(name, sizeof(name), "%s", s);
	else
		snprintf(name, sizeof(name), "vif%u.%u", domid, devid);
	free(s);
	for (int t = 0; t < OLD_TAP_WAIT_MS && if_nametoindex(name) != 0; t += 10)
		nanosleep(&ms10, NULL);
}

/* Back to Initialising, and hotplug-status emptied: the interface the
 * hotplug script wired went with the previous instance, so the new one
 * waits for the script's online as a new device does (the hotplug daemon
 * runs it when it sees the new vif-linkid). */
static int reset_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const char *path = arg;
	int rc = xnx_xs_printf(xs, t, path, "state", "%d", XenbusStateInitialising);

	return rc < 0 ? rc : xnx_xs_printf(xs, t, path, "hotplug-status", "%s", "");
}

/* Probe one device again: Initialising, then probe; the rings are
 * reattached when it connects (to a frontend that is still Connected
 * once the hotplug script is done). */
static void recover_one(struct xnb_backend *be, uint32_t domid, uint32_t devid,
			const char *path)
{
	struct xnb_vif *vif;
	int rc;

	rc = xnx_xs_transact(be->xs, reset_txn, (void *)path);
	if (rc < 0) {
		xnx_err("%s: resetting to Initialising: %s", path, strerror(-rc));
		return;
	}
	xnx_info("%s: left by a previous instance; probing it again", path);
	wait_old_tap(be->xs, path, domid, devid);
	xnb_xenbus_backend_event(be, domid, devid);
	vif = xnb_backend_find(be, domid, devid);
	if (!vif) {
		xnx_warn("%s: not probed again (toolstack keys missing?)", path);
		return;
	}
	if (vif->connected)
		xnb_recover_attach(vif);
	else
		vif->reattach = true;	/* at connect (xenbus.c) */
}

int xnb_recover(struct xnb_backend *be)
{
	unsigned int ndom = 0, found = 0;
	char **doms = xs_directory(be->xs, XBT_NULL, be->root, &ndom);

	for (unsigned i = 0; doms && i < ndom; i++) {
		char dir[160], path[224], rel[64];
		unsigned int ndev = 0;
		char **devs;

		snprintf(dir, sizeof(dir), "%s/%s", be->root, doms[i]);
		devs = xs_directory(be->xs, XBT_NULL, dir, &ndev);
		for (unsigned j = 0; devs && j < ndev; j++) {
			uint32_t domid, devid;

			snprintf(rel, sizeof(rel), "%s/%s", doms[i], devs[j]);
			snprintf(path, sizeof(path), "%s/%s", dir, devs[j]);
			if (xnb_parse_dev_path(rel, &domid, &devid) < 0 ||
			    xnb_backend_find(be, domid, devid) || !left_behind(be->xs, path))
				continue;
			recover_one(be, domid, devid, path);
			found++;
		}
		free(devs);
	}
	free(doms);
	if (found)
		xnx_info("recovered %u device%s left by a previous instance", found,
			 found == 1 ? "" : "s");
	return (int)found;
}
