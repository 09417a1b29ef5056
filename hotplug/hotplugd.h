/*
 * hotplugd.h — xnet-hotplugd's parts: the table of backend vif devices and
 * what each needs (hpdev.c), and running hotplug scripts with Xen's calling
 * convention, a timeout and the result in xenstore (hprun.c).
 *
 * Internal convention: functions return 0 or -errno.
 */
#ifndef XHP_HOTPLUGD_H
#define XHP_HOTPLUGD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <xenstore.h>

#define XHP_DEFAULT_SCRIPT "vif-bridge"
#define XHP_TIMEOUT_DEFAULT_S 40	/* libxl's LIBXL_HOTPLUG_TIMEOUT */

enum xhp_phase {
	XHP_IDLE,		/* nothing run yet */
	XHP_RUN_ONLINE,		/* online script running */
	XHP_ONLINE,		/* online succeeded */
	XHP_FAILED,		/* online failed: hotplug-status=error */
	XHP_RUN_OFFLINE,	/* offline script running */
	XHP_DONE,		/* offline ran; waiting for the directory to go */
};

struct xhp_dev {
	unsigned domid, devid;
	char path[128];		/* backend directory */
	char ifname[32];	/* vif<domid>.<devid> or vifname */
	unsigned ifindex;	/* its link id (XNET_VIF_LINKID), from when it came up:
				 * survives a rename */
	unsigned instance;	/* the backend's vif-linkid when it came up (0: none):
				 * a new one means a new interface under the same path */
	char script[4096];	/* resolved path */
	char netdev[32];	/* gatewaydev, or empty */
	enum xhp_phase phase;
	bool want_offline;	/* offline needed once the online run ends */
	pid_t pid;		/* running script, or 0 */
	uint64_t deadline_ns;
	bool timed_out;
	bool native_ended;	/* a native run ended: to xhp_script_done */
	int native_status;	/* its wait status */
	struct xhp_dev *next;
};

/* Devices named by one batch of watch events, each looked at once. */
#define XHP_MAX_PENDING 64
struct xhp_pending {
	unsigned domid, devid;
};

struct xhp_ctx {
	struct xs_handle *xs;
	unsigned self;			/* our domain id */
	char base[64];			/* /local/domain/<self>/backend/vif */
	char scripts_dir[4096];
	unsigned timeout_s;
	struct xhp_dev *devs;
	struct xhp_pending pending[XHP_MAX_PENDING];
	unsigned npending;
	bool rescan;		/* look at every device */
	bool remove_dirs;	/* remove a device's directory after offline */
	bool native;		/* do our own vif-bridge natively (hpnative.c) */
};

/* hpdev.c: look at one device (after a watch fired under it), or at all. */
void xhp_check(struct xhp_ctx *c, unsigned domid, unsigned devid);
void xhp_scan(struct xhp_ctx *c);
/* Parse "<base>/<domid>/<devid>[/...]"; false for anything else. */
bool xhp_parse_path(const struct xhp_ctx *c, const char *path, unsigned *domid,
		    unsigned *devid);
/* A script of D ended (STATUS from waitpid); decide what comes next. */
void xhp_script_done(struct xhp_ctx *c, struct xhp_dev *d, int status);
struct xhp_dev *xhp_by_pid(struct xhp_ctx *c, pid_t pid);
void xhp_free_all(struct xhp_ctx *c);

/* hprun.c */
/* Resolve a script key value: a bare name in SCRIPTS_DIR, an absolute path
 * as is; anything else is refused. */
int xhp_resolve_script(const char *dir, const char *value, char *out,
		       size_t len);
/* Start D's script with ACTION ("online" / "offline"). */
int xhp_run(struct xhp_ctx *c, struct xhp_dev *d, const char *action);
/* Kill scripts past their deadline; returns ms until the next deadline,
 * or -1 if none runs. */
int xhp_expire(struct xhp_ctx *c);
/* Record a failed online run: hotplug-status=error, hotplug-error=REASON,
 * unless the script already reported an error itself. */
void xhp_report_error(struct xhp_ctx *c, struct xhp_dev *d, const char *reason);

/* hpnative.c */
/* Scripts whose online and offline the daemon may do itself carry this
 * line (xnet's vif-bridge). */
#define XHP_NATIVE_MARK "# xnet-hotplugd: may do this natively (vif-bridge)"
/* Does the script file at PATH carry the mark? */
bool xhp_native_script(const char *path);
/* Do D's vif-bridge online / offline now, the result reported as a script
 * run's; -EAGAIN when only the script can (the caller runs it). */
int xhp_native_online(struct xhp_ctx *c, struct xhp_dev *d);
int xhp_native_offline(struct xhp_ctx *c, struct xhp_dev *d);
/* Hand the native runs that ended to xhp_script_done. */
void xhp_native_reap(struct xhp_ctx *c);

#endif
