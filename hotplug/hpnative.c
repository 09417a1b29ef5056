/*
 * hpnative.c — our own vif-bridge done in the daemon, over rtnetlink,
 * instead of forking bash and its dozen helper programs (a run of the
 * script costs 30–50 ms, most of a vif's attach).
 *
 * Only for a script file carrying XHP_NATIVE_MARK (xnet's vif-bridge; not
 * Xen's, not a user's), and only for what the script does on its plain
 * path: anything else (no link id, a vifname to rename to, a bridge or mtu
 * value the script hands to `ip` as is) goes to the script. Where it acts,
 * the outcome is the script's: the same links changed in the same requests
 * (`ip link set` sends one), the same keys written, the same hotplug-error
 * text on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hotplugd.h"
#include "xnx_link.h"
#include "xnx_log.h"
#include "xnx_xs.h"

#define MARK_SCAN 4096		/* the mark sits in the script's header */

bool xhp_native_script(const char *path)
{
	char head[MARK_SCAN + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, head, MARK_SCAN);
	close(fd);
	if (n <= 0)
		return false;
	head[n] = '\0';
	return strstr(head, "\n" XHP_NATIVE_MARK "\n") != NULL;
}

/* A value the script would pass to `ip` unchanged and `ip` would read as
 * we do: a plain decimal MTU (no sign, no leading 0: `ip` reads 0x.. and
 * 0.. in other bases). */
static bool plain_mtu(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return s[0] >= '1' && s[0] <= '9' && !s[n] && n <= 9;
}

/* A bridge name `xnet-linkid info` reads as a name (all digits would be a
 * link id) and `ip` accepts. */
static bool plain_bridge(const char *s)
{
	return xnx_link_name_ok(s) && s[strspn(s, "0123456789")];
}

/* What the online needs from the backend directory. */
struct plan {
	char *bridge, *mtu, *vifname;
};

static void plan_free(struct plan *p)
{
	free(p->bridge);
	free(p->mtu);
	free(p->vifname);
}

/* Read the keys; false if the script must run (see the top). */
static bool plan_read(struct xhp_ctx *c, const struct xhp_dev *d, struct plan *p)
{
	p->bridge = xnx_xs_read(c->xs, XBT_NULL, d->path, "bridge");
	p->mtu = xnx_xs_read(c->xs, XBT_NULL, d->path, "mtu");
	p->vifname = xnx_xs_read(c->xs, XBT_NULL, d->path, "vifname");
	if (!p->bridge && !(p->bridge = strdup("xenbr0")))
		return false;
	return plain_bridge(p->bridge) && (!p->mtu || plain_mtu(p->mtu));
}

/* ensure_bridge: BRIDGE exists (made if missing), is a bridge, is up. */
static int ensure_bridge(struct xnx_link_nl *nl, const char *bridge,
			 struct xnx_link_info *br, char *why, size_t len)
{
	struct xnx_link_set up = { .master = -1, .up = 1 };

	if (xnx_link_nl_get(nl, 0, bridge, br) < 0) {
		/* Someone may make it at the same moment: look again anyway. */
		(void)xnx_link_nl_add_bridge(nl, bridge);
		if (xnx_link_nl_get(nl, 0, bridge, br) < 0) {
			snprintf(why, len, "cannot create bridge %s", bridge);
			return -ENODEV;
		}
	}
	if (strcmp(br->kind, "bridge")) {
		snprintf(why, len, "%s exists and is not a bridge", bridge);
		return -EINVAL;
	}
	if (xnx_link_nl_set(nl, br->id, &up) < 0) {
		snprintf(why, len, "ip link set dev %s up failed", br->name);
		return -EIO;
	}
	return 0;
}

/* MTU, bridge and up in one request, as the script's one `ip link set`. */
static int enslave(struct xnx_link_nl *nl, const struct xhp_dev *d, const char *vif,
		   const char *mtu, const struct xnx_link_info *br, char *why, size_t len)
{
	struct xnx_link_set s = { .master = (int)br->id, .up = 1 };

	s.mtu = mtu ? (unsigned)strtoul(mtu, NULL, 10) : 0;
	if (xnx_link_nl_set(nl, d->ifindex, &s) == 0)
		return 0;
	snprintf(why, len, "ip link set dev %s%s%s master %s up failed", vif,
		 mtu ? " mtu " : "", mtu ? mtu : "", br->name);
	return -EIO;
}

struct connected {
	const char *path;
	unsigned bridge;
};

/* xs_write bridge-linkid ID hotplug-status connected: in one transaction,
 * never into a directory that is gone. */
static int connected_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct connected *k = arg;
	char *dir = xnx_xs_read(xs, t, k->path, NULL);
	int rc;

	if (!dir)
		return errno == ENOENT ? -ENOENT : -errno;
	free(dir);
	if ((rc = xnx_xs_printf(xs, t, k->path, "bridge-linkid", "%u", k->bridge)) < 0)
		return rc;
	return xnx_xs_printf(xs, t, k->path, "hotplug-status", "connected");
}

/* The online proper, once the plan holds: 0 or -errno with WHY. */
static int online(struct xhp_ctx *c, struct xhp_dev *d, const struct plan *p,
		  char *why, size_t len)
{
	struct xnx_link_info vif, br;
	struct connected k = { d->path, 0 };
	struct xnx_link_nl *nl;
	int rc;

	if ((rc = xnx_link_nl_open(NULL, &nl)) < 0) {
		snprintf(why, len, "cannot open rtnetlink: %s", strerror(-rc));
		return rc;
	}
	if ((rc = xnx_link_nl_get(nl, d->ifindex, NULL, &vif)) < 0)
		snprintf(why, len, "interface %s (link id %u) not found", d->ifname, d->ifindex);
	else if ((rc = ensure_bridge(nl, p->bridge, &br, why, len)) == 0)
		rc = enslave(nl, d, vif.name, p->mtu, &br, why, len);
	xnx_link_nl_close(nl);
	if (rc < 0)
		return rc;
	xnx_info("%s: %s on bridge %s (link id %u)", d->path, vif.name, br.name, br.id);
	k.bridge = br.id;
	if ((rc = xnx_xs_transact(c->xs, connected_txn, &k)) < 0)
		snprintf(why, len, "%s is gone", d->path);
	return rc;
}

/* D's run ended now with exit status CODE: the main loop hands it to
 * xhp_script_done as it does a script's. */
static void ended(struct xhp_dev *d, int code)
{
	d->pid = 0;
	d->native_status = W_EXITCODE(code, 0);
	d->native_ended = true;
}

int xhp_native_online(struct xhp_ctx *c, struct xhp_dev *d)
{
	struct plan p = { 0 };
	char why[300];
	bool plain = d->ifindex && plan_read(c, d, &p);

	/* The script renames an interface not yet called vifname. */
	if (plain && p.vifname && strcmp(p.vifname, d->ifname))
		plain = false;
	if (!plain) {
		plan_free(&p);
		return -EAGAIN;
	}
	xnx_info("%s: %s online, natively (vif %s)", d->path, d->script, d->ifname);
	if (online(c, d, &p, why, sizeof(why)) < 0) {
		xhp_report_error(c, d, why);	/* as the script's fatal */
		ended(d, 1);
	} else {
		ended(d, 0);
	}
	plan_free(&p);
	return 0;
}

int xhp_native_offline(struct xhp_ctx *c, struct xhp_dev *d)
{
	struct xnx_link_set nomaster = { .master = 0, .up = -1 };
	struct xnx_link_set down = { .master = -1, .up = 0 };
	struct xnx_link_info vif;
	struct xnx_link_nl *nl;

	if (!d->ifindex || xnx_link_nl_open(NULL, &nl) < 0)
		return -EAGAIN;
	xnx_info("%s: %s offline, natively (vif %s)", d->path, d->script, d->ifname);
	/* As the script: gone with its device is nothing to undo; failures to
	 * undo are no errors. */
	if (xnx_link_nl_get(nl, d->ifindex, NULL, &vif) == 0) {
		(void)xnx_link_nl_set(nl, d->ifindex, &nomaster);
		(void)xnx_link_nl_set(nl, d->ifindex, &down);
	}
	xnx_link_nl_close(nl);
	ended(d, 0);
	return 0;
}

void xhp_native_reap(struct xhp_ctx *c)
{
	struct xhp_dev *d = c->devs;

	/* xhp_script_done may start another run (native again) or drop a
	 * device: start over from the head after each. */
	while (d) {
		if (!d->native_ended) {
			d = d->next;
			continue;
		}
		d->native_ended = false;
		xhp_script_done(c, d, d->native_status);
		d = c->devs;
	}
}
