/* cmd_status.c — `xnet status`: what runs (xnet-simd, xnetback,
 * xnet-hotplugd), the platform, the domains, every vif with its states,
 * and everything in error with its reason (`error` / `hotplug-error`). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/xenbus.h>

#include "xnet.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_state.h"
#include "xnx_xs.h"

#define MAX_DOMAINS 256
#define MAX_VIFS 64

static const char status_usage[] =
	"usage: xnet status [--json]\n"
	"  What runs (xnet-simd, xnetback, xnet-hotplugd, with pids), the\n"
	"  platform (xen or sim), the domains, every vif with its frontend,\n"
	"  backend and hotplug state, and everything in error with the reason\n"
	"  (the backend's `error` and `hotplug-error` nodes, the guest's\n"
	"  error/device/vif/N/error). Exit status 0 even when errors are shown;\n"
	"  1 only when the status itself cannot be read.\n";

static const char *const daemons[] = { "xnet-simd", "xnetback", "xnet-hotplugd" };
#define NDAEMONS 3

struct dstate { pid_t pid; bool installed, unused; };

static void daemon_state(const char *prog, struct dstate *d)
{
	char pidf[PATH_MAX], f[64], path[PATH_MAX];

	snprintf(f, sizeof(f), "%s.pid", prog);
	xnt_sim_file(f, pidf, sizeof(pidf));
	d->pid = xnt_running(pidf, prog);
	d->installed = xnt_prog_path(prog, path, sizeof(path)) == 0;
}

static const char *dstate_name(const struct dstate *d)
{
	return d->pid > 0 ? "running" : d->unused ? "not used" : d->installed ? "stopped"
		: "not installed";
}

/* A state key's value by name ("Connected"), or the raw text. */
static const char *state_name(const char *v)
{
	enum xenbus_state s;

	if (!strcmp(v, "-1"))
		return "-";
	return xnx_state_parse(v, &s) == 0 ? xnx_state_name(s) : v;
}

struct err { char where[300]; const char *what; const char *reason; };

/* The errors of one vif into E (at most 3). */
static int vif_errors(const struct xnt_vif_info *v, struct err *e)
{
	int n = 0;

	if (v->be_error[0]) {
		snprintf(e[n].where, sizeof(e[n].where), "%s/error", v->be_path);
		e[n].what = "backend";
		e[n++].reason = v->be_error;
	}
	if (v->hotplug_error[0] || !strcmp(v->hotplug, "error")) {
		snprintf(e[n].where, sizeof(e[n].where), "%s/hotplug-error", v->be_path);
		e[n].what = "hotplug";
		e[n++].reason = v->hotplug_error[0] ? v->hotplug_error : "hotplug-status=error";
	}
	if (v->fe_error[0]) {
		snprintf(e[n].where, sizeof(e[n].where),
			 "/local/domain/%u/error/device/vif/%u/error", v->domid, v->devid);
		e[n].what = "frontend";
		e[n++].reason = v->fe_error;
	}
	return n;
}

struct world {
	struct dstate d[NDAEMONS];
	const char *platform;
	bool stats_ok;
	struct xnt_domain doms[MAX_DOMAINS];
	int ndoms;
	struct xs_handle *xs;
};

static void print_text(struct world *w)
{
	int nerr = 0;

	printf("platform: %s\nrun dir:  %s\n", w->platform, xnx_sim_dir());
	for (int i = 0; i < NDAEMONS; i++) {
		printf("%-14s %s", daemons[i], dstate_name(&w->d[i]));
		if (w->d[i].pid > 0)
			printf("  pid %d", (int)w->d[i].pid);
		if (i == 1 && w->d[i].pid > 0)
			printf("  stats socket %s", w->stats_ok ? "answers" : "does not answer");
		printf("\n");
	}
	if (!w->xs) {
		printf("xenstore: not reachable\n");
		return;
	}
	printf("domains:");
	for (int i = 0; i < w->ndoms; i++)
		printf(" %s(%u)", w->doms[i].name, w->doms[i].domid);
	printf("\nvifs:\n");
	for (int i = 0; i < w->ndoms; i++) {
		unsigned ids[MAX_VIFS];
		int n = xnt_vif_devids(w->xs, w->doms[i].domid, ids, MAX_VIFS);

		for (int k = 0; k < n; k++) {
			struct xnt_vif_info v;
			struct err e[3];
			int ne;

			xnt_vif_info(w->xs, w->doms[i].domid, ids[k], &v);
			printf("  %s/%u  %-15s frontend %-12s backend %-12s hotplug %s\n",
			       w->doms[i].name, ids[k], v.vifname[0] ? v.vifname : "-",
			       state_name(v.state), state_name(v.be_state),
			       v.hotplug[0] ? v.hotplug : "-");
			ne = vif_errors(&v, e);
			for (int j = 0; j < ne; j++, nerr++)
				printf("    ERROR (%s) %s: %s\n", e[j].what, e[j].where, e[j].reason);
		}
	}
	printf("errors: %d\n", nerr);
}

static void json_vif(struct xnt_json *j, const struct xnt_vif_info *v, const char *dom)
{
	struct err e[3];
	int ne = vif_errors(v, e);

	xnt_json_obj(j, NULL);
	xnt_json_str(j, "domain", dom);
	xnt_json_u64(j, "domid", v->domid);
	xnt_json_u64(j, "devid", v->devid);
	xnt_json_str(j, "vifname", v->vifname[0] ? v->vifname : NULL);
	xnt_json_str(j, "frontend_state", state_name(v->state));
	xnt_json_str(j, "backend_state", state_name(v->be_state));
	xnt_json_str(j, "hotplug_status", v->hotplug[0] ? v->hotplug : NULL);
	xnt_json_str(j, "backend", strcmp(v->be_path, "-") ? v->be_path : NULL);
	xnt_json_arr(j, "errors");
	for (int k = 0; k < ne; k++) {
		xnt_json_obj(j, NULL);
		xnt_json_str(j, "source", e[k].what);
		xnt_json_str(j, "node", e[k].where);
		xnt_json_str(j, "reason", e[k].reason);
		xnt_json_end(j, '}');
	}
	xnt_json_end(j, ']');
	xnt_json_end(j, '}');
}

static void print_json(struct world *w)
{
	struct xnt_json j;

	xnt_json_begin(&j, stdout);
	xnt_json_obj(&j, NULL);
	xnt_json_str(&j, "platform", w->platform);
	xnt_json_str(&j, "run_dir", xnx_sim_dir());
	xnt_json_obj(&j, "daemons");
	for (int i = 0; i < NDAEMONS; i++) {
		xnt_json_obj(&j, daemons[i]);
		xnt_json_str(&j, "state", dstate_name(&w->d[i]));
		if (w->d[i].pid > 0)
			xnt_json_int(&j, "pid", w->d[i].pid);
		else
			xnt_json_str(&j, "pid", NULL);
		if (i == 1)
			xnt_json_bool(&j, "stats_socket", w->stats_ok);
		xnt_json_end(&j, '}');
	}
	xnt_json_end(&j, '}');
	xnt_json_bool(&j, "xenstore", w->xs != NULL);
	xnt_json_arr(&j, "domains");
	for (int i = 0; i < w->ndoms; i++) {
		xnt_json_obj(&j, NULL);
		xnt_json_u64(&j, "domid", w->doms[i].domid);
		xnt_json_str(&j, "name", w->doms[i].name);
		xnt_json_end(&j, '}');
	}
	xnt_json_end(&j, ']');
	xnt_json_arr(&j, "vifs");
	for (int i = 0; w->xs && i < w->ndoms; i++) {
		unsigned ids[MAX_VIFS];
		int n = xnt_vif_devids(w->xs, w->doms[i].domid, ids, MAX_VIFS);

		for (int k = 0; k < n; k++) {
			struct xnt_vif_info v;

			xnt_vif_info(w->xs, w->doms[i].domid, ids[k], &v);
			json_vif(&j, &v, w->doms[i].name);
		}
	}
	xnt_json_end(&j, ']');
	xnt_json_end(&j, '}');
}

int xnt_cmd_status(int argc, char **argv)
{
	static struct world w;
	struct xnt_stats st;
	bool json = false;
	char why[256];

	for (int i = 1; i < argc; i++) {
		if (xnt_is_help(argv[i])) {
			fputs(status_usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--json"))
			return xnt_fail("status: unexpected argument '%s' (see --help)", argv[i]);
		json = true;
	}
	w.platform = xnx_platform_init() == 0 ? xnx_platform_name() : "unknown";
	for (int i = 0; i < NDAEMONS; i++)
		daemon_state(daemons[i], &w.d[i]);
	/* On Xen the hypervisor and xenstored are the real ones. */
	w.d[0].unused = xnx_platform() == XNX_PLATFORM_XEN;
	if (w.d[1].pid > 0 && xnt_stats_fetch(xnt_stats_socket(), &st, why, sizeof(why)) == 0) {
		w.stats_ok = true;
		xnt_stats_free(&st);
	}
	/* On the sim there is no xenstore without xnet-simd: do not wait on it. */
	w.xs = xnx_platform() == XNX_PLATFORM_SIM && w.d[0].pid <= 0 ? NULL : xnx_xs_open();
	w.ndoms = w.xs ? xnt_domains(w.xs, w.doms, MAX_DOMAINS) : 0;
	if (w.ndoms < 0)
		w.ndoms = 0;
	if (json)
		print_json(&w);
	else
		print_text(&w);
	if (w.xs)
		xs_close(w.xs);
	return 0;
}
