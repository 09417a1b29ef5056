/* hpdev.c — xnet-hotplugd's device table: for each backend vif, decide from
 * xenstore (online, state, presence) whether its script must run online or
 * offline, as libxl's device handling does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <xen/io/xenbus.h>

#include "hotplugd.h"
#include "xnx_link.h"
#include "xnx_log.h"
#include "xnx_xs.h"

static struct xnx_ratelimit bad_rl = XNX_RATELIMIT_INIT(10, 1);

bool xhp_parse_path(const struct xhp_ctx *c, const char *path, unsigned *domid,
		    unsigned *devid)
{
	size_t n = strlen(c->base);
	char a[16], b[16];
	unsigned long v;

	if (strncmp(path, c->base, n) || path[n] != '/')
		return false;
	if (sscanf(path + n + 1, "%15[^/]/%15[^/]", a, b) != 2)
		return false;
	if (xnx_parse_uint(a, 0, 0xffff, &v) < 0)
		return false;
	*domid = (unsigned)v;
	if (xnx_parse_uint(b, 0, 0xffff, &v) < 0)
		return false;
	*devid = (unsigned)v;
	return true;
}

static struct xhp_dev *find(struct xhp_ctx *c, unsigned domid, unsigned devid)
{
	for (struct xhp_dev *d = c->devs; d; d = d->next)
		if (d->domid == domid && d->devid == devid)
			return d;
	return NULL;
}

struct xhp_dev *xhp_by_pid(struct xhp_ctx *c, pid_t pid)
{
	for (struct xhp_dev *d = c->devs; d; d = d->next)
		if (d->pid == pid)
			return d;
	return NULL;
}

static void drop(struct xhp_ctx *c, struct xhp_dev *dead)
{
	for (struct xhp_dev **p = &c->devs; *p; p = &(*p)->next)
		if (*p == dead) {
			*p = dead->next;
			free(dead);
			return;
		}
}

void xhp_free_all(struct xhp_ctx *c)
{
	while (c->devs)
		drop(c, c->devs);
}

/* What xenstore says about one device. */
struct view {
	bool present;
	bool online;
	unsigned long state;
	bool stateless;		/* no state node: only what a script wrote after the
				 * device went (a toolstack writes state with the rest) */
	unsigned linkid;	/* vif-linkid, 0 if absent or bad */
	char status[16];	/* hotplug-status, truncated */
};

static int read_view(struct xhp_ctx *c, const char *path, struct view *v)
{
	char *s = xnx_xs_read(c->xs, XBT_NULL, path, NULL);
	int rc;

	memset(v, 0, sizeof(*v));
	if (!s)
		return errno == ENOENT ? 0 : -errno;
	free(s);
	v->present = true;
	if ((rc = xnx_xs_read_bool(c->xs, XBT_NULL, path, "online", false, &v->online)) < 0)
		return rc;
	rc = xnx_xs_read_uint(c->xs, XBT_NULL, path, "state", 0, XenbusStateReconfigured,
			      &v->state);
	v->stateless = rc == -ENOENT;
	if (v->stateless)
		v->state = XenbusStateUnknown;
	else if (rc < 0)
		return rc;
	s = xnx_xs_read(c->xs, XBT_NULL, path, "hotplug-status");
	snprintf(v->status, sizeof(v->status), "%s", s ? s : "");
	free(s);
	s = xnx_xs_read(c->xs, XBT_NULL, path, "vif-linkid");
	if (!s || xnx_link_parse_id(s, &v->linkid) < 0)
		v->linkid = 0;
	free(s);
	return 0;
}

/* The interface's link id: the backend's vif-linkid if it names a link,
 * else the link now called d->ifname; 0 if neither (the script will say
 * the interface is missing). Its current name goes to d->ifname. */
static void learn_linkid(struct xhp_ctx *c, struct xhp_dev *d)
{
	char *s = xnx_xs_read(c->xs, XBT_NULL, d->path, "vif-linkid");
	char now[XNX_LINK_NAME_MAX];
	unsigned id = 0;

	if (!s || xnx_link_parse_id(s, &id) < 0 || xnx_link_name(NULL, id, now) < 0)
		id = 0;
	free(s);
	if (!id && xnx_link_id(NULL, d->ifname, &id) < 0)
		id = 0;
	d->ifindex = id;
	if (id && xnx_link_name(NULL, id, now) == 0)
		snprintf(d->ifname, sizeof(d->ifname), "%s", now);
}

/* Interface name, script and gatewaydev, read when the device comes up and
 * kept: offline must work after the directory is gone. On a bad value,
 * WHY says which. */
static int learn(struct xhp_ctx *c, struct xhp_dev *d, char *why, size_t len)
{
	char *name = xnx_xs_read(c->xs, XBT_NULL, d->path, "vifname");
	char *script = xnx_xs_read(c->xs, XBT_NULL, d->path, "script");
	char *gw = xnx_xs_read(c->xs, XBT_NULL, d->path, "gatewaydev");
	const char *s = script ? script : XHP_DEFAULT_SCRIPT;
	int rc = 0;

	if (name && (!name[0] || strlen(name) >= 16 || strchr(name, '/'))) {
		snprintf(why, len, "vifname '%.40s' is not an interface name", name);
		rc = -EINVAL;
	} else if (name) {
		snprintf(d->ifname, sizeof(d->ifname), "%s", name);
	} else {
		snprintf(d->ifname, sizeof(d->ifname), "vif%u.%u", d->domid, d->devid);
	}
	if (rc == 0 &&
	    (rc = xhp_resolve_script(c->scripts_dir, s, d->script, sizeof(d->script))) < 0)
		snprintf(why, len, "script '%.100s' is neither a name in %.100s nor "
			 "an absolute path", s, c->scripts_dir);
	snprintf(d->netdev, sizeof(d->netdev), "%s", gw && strlen(gw) < 16 ? gw : "");
	if (rc == 0)
		learn_linkid(c, d);
	free(name);
	free(script);
	free(gw);
	return rc;
}

static struct xhp_dev *add(struct xhp_ctx *c, unsigned domid, unsigned devid)
{
	struct xhp_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->domid = domid;
	d->devid = devid;
	snprintf(d->path, sizeof(d->path), "%s/%u/%u", c->base, domid, devid);
	d->next = c->devs;
	c->devs = d;
	return d;
}

/* Our own vif-bridge, done without the script where it can be. */
static int run_native(struct xhp_ctx *c, struct xhp_dev *d, enum xhp_phase running)
{
	if (!c->native || !xhp_native_script(d->script))
		return -EAGAIN;
	return running == XHP_RUN_ONLINE ? xhp_native_online(c, d)
					 : xhp_native_offline(c, d);
}

static void start(struct xhp_ctx *c, struct xhp_dev *d, const char *action,
		  enum xhp_phase running)
{
	char reason[160], now[XNX_LINK_NAME_MAX];
	int rc;

	/* The interface may have been renamed since online: find it by id. */
	if (running == XHP_RUN_OFFLINE && d->ifindex &&
	    xnx_link_name(NULL, d->ifindex, now) == 0)
		snprintf(d->ifname, sizeof(d->ifname), "%s", now);
	rc = run_native(c, d, running);
	if (rc == -EAGAIN)
		rc = xhp_run(c, d, action);
	if (rc == 0) {
		d->phase = running;
		return;
	}
	snprintf(reason, sizeof(reason), "cannot start %.100s: %s", d->script, strerror(-rc));
	if (running == XHP_RUN_ONLINE) {
		d->phase = XHP_FAILED;
		xhp_report_error(c, d, reason);
	} else {
		xnx_warn("%s: %s", d->path, reason);
		d->phase = XHP_DONE;
	}
}

/* The device came up: online=1 and the backend has reached InitWait (or is
 * further on, e.g. after a restart of this daemon). FIRST: the first look
 * at it, so a hotplug-status=connected there is a script's of an earlier
 * run of ours; later (a device we ran offline for) it can only be stale. */
static void come_up(struct xhp_ctx *c, struct xhp_dev *d, const struct view *v, bool first)
{
	char reason[300];
	int rc = learn(c, d, reason, sizeof(reason));

	d->instance = v->linkid;

	if (first && !strcmp(v->status, "connected")) {
		d->phase = XHP_ONLINE;	/* done before we started */
		return;
	}
	if (rc < 0) {
		d->phase = XHP_FAILED;
		xhp_report_error(c, d, reason);
		return;
	}
	start(c, d, "online", XHP_RUN_ONLINE);
}

/* The device is done with: remove its backend directory, as xl devd does
 * once the offline script has run, if it is still the device that went
 * (online=0, Closed) or only what a script wrote after it went. One added
 * again meanwhile is left alone. */
static int finish_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const char *path = arg;
	char *dir = xnx_xs_read(xs, t, path, NULL);
	unsigned long st;
	bool online = true;
	int rc;

	if (!dir)
		return 0;
	free(dir);
	rc = xnx_xs_read_uint(xs, t, path, "state", 0, 255, &st);
	if (rc == 0 && (xnx_xs_read_bool(xs, t, path, "online", true, &online) < 0 ||
			online || st != XenbusStateClosed))
		return 0;
	if (rc < 0 && rc != -ENOENT)
		return 0;
	return xs_rm(xs, t, path) || errno == ENOENT ? 0 : -errno;
}

static void finish(struct xhp_ctx *c, const char *path)
{
	int rc;

	if (!c->remove_dirs)
		return;
	rc = xnx_xs_transact(c->xs, finish_txn, (void *)path);
	if (rc < 0)
		xnx_warn("%s: cannot remove it: %s", path, strerror(-rc));
}

/* The directory now holds another interface than the one D came up with:
 * the device was removed and added again between two looks (the same
 * devid reused at once), or a restarted backend made a new interface for
 * it. Either way the old one is gone (offline) and the new one needs its
 * online. */
static bool replaced(const struct xhp_dev *d, const struct view *v)
{
	return d && d->instance && v->linkid && v->linkid != d->instance;
}

void xhp_check(struct xhp_ctx *c, unsigned domid, unsigned devid)
{
	struct xhp_dev *d = find(c, domid, devid);
	char path[128];
	struct view v;
	bool going, coming;

	snprintf(path, sizeof(path), "%s/%u/%u", c->base, domid, devid);
	if (read_view(c, path, &v) < 0) {
		xnx_log_rl(&bad_rl, XNX_LOG_WARN, "%s: unreadable or bad online/state; "
			   "ignored", path);
		return;
	}
	going = !v.present || (!v.online && v.state == XenbusStateClosed) || v.stateless ||
		replaced(d, &v);
	coming = v.present && v.online && v.state >= XenbusStateInitWait &&
		 v.state <= XenbusStateConnected;
	if (!d) {
		if (coming && (d = add(c, domid, devid)) != NULL)
			come_up(c, d, &v, true);
		else if (going && v.present)
			finish(c, path);	/* no script ran: nothing to undo */
		return;
	}
	switch (d->phase) {
	case XHP_IDLE:
		break;
	case XHP_RUN_ONLINE:
		d->want_offline |= going;
		break;
	case XHP_ONLINE:
	case XHP_FAILED:
		/* Undo what a failed online may have half done, too. */
		if (going)
			start(c, d, "offline", XHP_RUN_OFFLINE);
		break;
	case XHP_RUN_OFFLINE:
		break;
	case XHP_DONE:
		/* Removed and added again between two looks: a new device. */
		if (coming)
			come_up(c, d, &v, false);
		else if (going && v.present)
			finish(c, path);
		break;
	}
	if (!v.present && !d->pid && !d->native_ended)
		drop(c, d);
}

/* Every device under the base, plus those in the table that are gone. */
void xhp_scan(struct xhp_ctx *c)
{
	unsigned nd = 0;
	char **doms = xs_directory(c->xs, XBT_NULL, c->base, &nd);

	for (unsigned i = 0; doms && i < nd; i++) {
		char dir[160];
		unsigned nv = 0, domid, devid;
		char **vifs;

		snprintf(dir, sizeof(dir), "%s/%s", c->base, doms[i]);
		vifs = xs_directory(c->xs, XBT_NULL, dir, &nv);
		for (unsigned j = 0; vifs && j < nv; j++) {
			char p[200];
			snprintf(p, sizeof(p), "%s/%s", dir, vifs[j]);
			if (xhp_parse_path(c, p, &domid, &devid))
				xhp_check(c, domid, devid);
		}
		free(vifs);
	}
	free(doms);
	for (struct xhp_dev *d = c->devs, *next; d; d = next) {
		next = d->next;		/* xhp_check may drop d */
		xhp_check(c, d->domid, d->devid);
	}
}

static void describe(const struct xhp_ctx *c, const struct xhp_dev *d,
		     int status, char *out, size_t len)
{
	if (d->timed_out)
		snprintf(out, len, "%.150s timed out after %u s", d->script, c->timeout_s);
	else if (WIFEXITED(status))
		snprintf(out, len, "%.150s exited with status %d", d->script,
			 WEXITSTATUS(status));
	else
		snprintf(out, len, "%.150s killed by signal %d", d->script,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void xhp_script_done(struct xhp_ctx *c, struct xhp_dev *d, int status)
{
	bool ok = !d->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	char reason[200];

	d->pid = 0;
	describe(c, d, status, reason, sizeof(reason));
	if (d->phase == XHP_RUN_ONLINE) {
		d->phase = ok ? XHP_ONLINE : XHP_FAILED;
		if (!ok)
			xhp_report_error(c, d, reason);
		else if (!d->ifindex && xnx_link_id(NULL, d->ifname, &d->ifindex) < 0)
			d->ifindex = 0;
		if (d->want_offline) {
			d->want_offline = false;
			start(c, d, "offline", XHP_RUN_OFFLINE);
		}
	} else if (d->phase == XHP_RUN_OFFLINE) {
		if (!ok)
			xnx_warn("%s: offline: %s", d->path, reason);
		d->phase = XHP_DONE;
	}
	xhp_check(c, d->domid, d->devid);	/* gone meanwhile? done? */
}
