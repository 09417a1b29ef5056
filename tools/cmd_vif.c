/* cmd_vif.c — `xnet vif attach|detach|list`: a vif from an xl vifspec,
 * written where libxl writes it; a clean unplug; the xl network-list view. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vifspec.h"
#include "xnet.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define DETACH_TIMEOUT_MS 10000	/* libxl's LIBXL_DESTROY_TIMEOUT */
#define MAX_DOMAINS 256

static const char vif_usage[] =
	"usage: xnet vif attach DOMAIN VIFSPEC\n"
	"       xnet vif detach [--timeout SECONDS] DOMAIN DEVID\n"
	"       xnet vif list [--json] [DOMAIN]\n"
	"  attach  add a vif to DOMAIN (name or id) from an xl vifspec\n"
	"          (xl-network-configuration(5)): comma-separated key=value with\n"
	"          keys mac, bridge, vifname, script, ip, rate, mtu, devid,\n"
	"          backend, type, model, gatewaydev, nic, mode, pool, vlan.\n"
	"          Prints the backend interface's name.\n"
	"  detach  unplug vif DEVID cleanly (online=0, Closing, wait for Closed\n"
	"          and for xnet-hotplugd's offline script when it runs, up to\n"
	"          --timeout, default 10 s; removed anyway after that)\n"
	"  list    one line per vif as xl network-list: Idx BE Mac-Addr handle\n"
	"          state evt-ch tx-/rx-ring-ref, the backend interface (Vif) and\n"
	"          its link id (from xnetback's stats socket; - without it), and\n"
	"          BE-path last. --json: an array of objects with those fields.\n";

static struct xs_handle *open_xs(void)
{
	struct xs_handle *xs = xnx_xs_open();

	if (!xs)
		xnt_fail("cannot reach xenstore: %s (is the sim up?)", strerror(errno));
	return xs;
}

/* The nic key as a link id of the backend's network (xnet's rule: links are
 * named by id, so a rename does not break them). */
static int nic_linkid(const struct xnt_vifspec *vs, char *out, size_t len)
{
	unsigned long v;
	unsigned idx;

	if (!xnt_vifspec_has(vs, XNT_VK_NIC))
		return 0;
	if (xnx_parse_uint(vs->nic, 1, 0x7fffffff, &v) == 0) {
		snprintf(out, len, "%lu", v);
		return 1;
	}
	idx = if_nametoindex(vs->nic);
	if (idx == 0)
		return -ENODEV;
	snprintf(out, len, "%u", idx);
	return 1;
}

/* Why DOMAIN could not be resolved, for the one-line reason. */
static int no_domain(const char *what, const char *name, int rc)
{
	if (rc == -ECONNREFUSED)
		return xnt_fail("%s: xnet-simd is not running (xnet sim up)", what);
	if (rc == -ENOENT)
		return xnt_fail("%s: no domain '%s'", what, name);
	return xnt_fail("%s: domain '%s': %s", what, name, strerror(-rc));
}

static const char *add_error(int rc)
{
	switch (rc) {
	case -ESRCH: return "domain not in xenstore";
	case -ENXIO: return "backend domain not in xenstore";
	case -EEXIST: return "devid already in use";
	case -ENOSPC: return "no free devid";
	default: return strerror(-rc);
	}
}

static int attach(int argc, char **argv)
{
	struct xnt_vifspec vs;
	char err[256], link[16], ifname[32];
	unsigned domid, bdomid = 0, devid;
	struct xs_handle *xs;
	int rc, has_nic;

	if (argc != 3)
		return xnt_fail("vif attach: need DOMAIN and VIFSPEC (see --help)");
	if (xnt_vifspec_parse(argv[2], &vs, err, sizeof(err)) < 0)
		return xnt_fail("%s", err);
	/* As libxl for a PV guest: no emulated NIC (sim domains are all PV). */
	if (vs.type == XNT_NIC_IOEMU)
		return xnt_fail("vifspec: type: ioemu needs an HVM guest; sim domains "
				"are paravirtual");
	if ((has_nic = nic_linkid(&vs, link, sizeof(link))) < 0)
		return xnt_fail("vifspec: nic: no interface '%s'", vs.nic);
	if ((rc = xnt_domain_id(argv[1], &domid)) < 0)
		return no_domain("vif attach", argv[1], rc);
	if (xnt_vifspec_has(&vs, XNT_VK_BACKEND) &&
	    (rc = xnt_domain_id(vs.backend, &bdomid)) < 0)
		return no_domain("vifspec: backend", vs.backend, rc);
	if (bdomid == domid)
		return xnt_fail("vifspec: backend: domain %u cannot be its own backend",
				domid);
	if (!(xs = open_xs()))
		return 1;
	rc = xnt_vif_add(xs, domid, bdomid, &vs, has_nic ? link : NULL, &devid,
			 ifname, sizeof(ifname));
	xs_close(xs);
	if (rc < 0)
		return xnt_fail("vif attach: %s: %s", argv[1], add_error(rc));
	printf("%s\n", ifname);
	return 0;
}

static int detach(int argc, char **argv)
{
	int timeout_ms = DETACH_TIMEOUT_MS, rc;
	unsigned long v, devid;
	unsigned domid;
	struct xs_handle *xs;
	bool forced;

	if (argc >= 3 && (!strcmp(argv[1], "--timeout") || !strcmp(argv[1], "-t"))) {
		if (xnx_parse_uint(argv[2], 0, 3600, &v) < 0)
			return xnt_fail("vif detach: --timeout: '%s' is not 0..3600 seconds",
					argv[2]);
		timeout_ms = (int)v * 1000;
		argc -= 2;
		argv += 2;
	}
	if (argc != 3)
		return xnt_fail("vif detach: need DOMAIN and DEVID (see --help)");
	if (xnx_parse_uint(argv[2], 0, XNT_DEVID_MAX, &devid) < 0)
		return xnt_fail("vif detach: DEVID '%s' is not a number 0..%d", argv[2],
				XNT_DEVID_MAX);
	if ((rc = xnt_domain_id(argv[1], &domid)) < 0)
		return no_domain("vif detach", argv[1], rc);
	if (!(xs = open_xs()))
		return 1;
	rc = xnt_vif_remove(xs, domid, (unsigned)devid, timeout_ms, &forced);
	xs_close(xs);
	if (rc == -ENOENT)
		return xnt_fail("vif detach: %s has no vif %lu", argv[1], devid);
	if (rc < 0)
		return xnt_fail("vif detach: %s", strerror(-rc));
	if (forced)
		xnt_warn("backend of vif %lu did not reach Closed in %d s; removed "
			 "its xenstore entries anyway", devid, timeout_ms / 1000);
	return 0;
}

/* The backend interface's link id: from xnetback's stats socket (it names
 * the TAP by ifindex, so a rename does not matter), "-" without it. */
static void link_id(const struct xnt_stats *st, const struct xnt_vif_info *v,
		    char *name, size_t nlen, long long *ifindex)
{
	const struct xnt_vifstats *s = st ? xnt_stats_find(st, v->domid, v->devid) : NULL;

	*ifindex = s ? (long long)xnt_ctr(&s->c, "ifindex") : -1;
	snprintf(name, nlen, "%s", s && s->name[0] ? s->name : v->vifname[0] ? v->vifname : "-");
}

static void list_json_vif(struct xnt_json *j, const struct xnt_vif_info *v, const char *dom,
			  const struct xnt_stats *st)
{
	char name[32];
	long long ifindex;

	link_id(st, v, name, sizeof(name), &ifindex);
	xnt_json_obj(j, NULL);
	xnt_json_str(j, "domain", dom);
	xnt_json_u64(j, "domid", v->domid);
	xnt_json_u64(j, "idx", v->devid);
	xnt_json_str(j, "be", v->be_id);
	xnt_json_str(j, "mac", v->mac);
	xnt_json_str(j, "handle", v->handle);
	xnt_json_str(j, "state", v->state);
	xnt_json_str(j, "evt_ch", v->evt);
	xnt_json_str(j, "tx_ring_ref", v->tx);
	xnt_json_str(j, "rx_ring_ref", v->rx);
	xnt_json_str(j, "be_path", strcmp(v->be_path, "-") ? v->be_path : NULL);
	xnt_json_str(j, "be_state", v->be_state);
	xnt_json_str(j, "ifname", strcmp(name, "-") ? name : NULL);
	if (ifindex > 0)
		xnt_json_int(j, "linkid", ifindex);
	else
		xnt_json_str(j, "linkid", NULL);
	xnt_json_end(j, '}');
}

static void list_line(const struct xnt_vif_info *v, const char *dom, const struct xnt_stats *st)
{
	char name[32], lid[24] = "-";
	long long ifindex;

	link_id(st, v, name, sizeof(name), &ifindex);
	if (ifindex > 0)
		snprintf(lid, sizeof(lid), "%lld", ifindex);
	if (dom)
		printf("%-16s ", dom);
	/* BE-path stays last, as in xl network-list. */
	printf("%-3u %-2s %-17s %-6s %-5s %-6s %6s/%-8s %-15s %-6s %s\n", v->devid, v->be_id,
	       v->mac, v->handle, v->state, v->evt, v->tx, v->rx, name, lid, v->be_path);
}

static int list(int argc, char **argv)
{
	struct xnt_domain doms[MAX_DOMAINS];
	struct xnt_stats st, *stp = NULL;
	const char *only = NULL;
	struct xs_handle *xs;
	struct xnt_json j;
	bool json = false;
	char why[256];
	int n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (only || argv[i][0] == '-')
			return xnt_fail("vif list: unexpected argument '%s'", argv[i]);
		else
			only = argv[i];
	}
	if (!(xs = open_xs()))
		return 1;
	if ((n = xnt_domains(xs, doms, MAX_DOMAINS)) < 0) {
		xs_close(xs);
		return xnt_fail("vif list: cannot list domains: %s", strerror(-n));
	}
	if (only) {
		int k = 0;
		unsigned long id;
		bool by_id = xnx_parse_uint(only, 0, 0x7fef, &id) == 0;

		for (int i = 0; i < n; i++)
			if (by_id ? doms[i].domid == id : !strcmp(doms[i].name, only))
				doms[k++] = doms[i];
		if (k == 0) {
			xs_close(xs);
			return no_domain("vif list", only, -ENOENT);
		}
		n = k;
	}
	if (xnt_stats_fetch_all(NULL, &st, why, sizeof(why)) == 0)
		stp = &st;
	if (json) {
		xnt_json_begin(&j, stdout);
		xnt_json_arr(&j, NULL);
	} else {
		printf("%sIdx BE Mac Addr.         handle state evt-ch tx-/rx-ring-ref "
		       "%-15s %-6s %s\n", only ? "" : "Domain           ", "Vif", "Linkid",
		       "BE-path");
	}
	for (int i = 0; i < n; i++) {
		unsigned ids[64];
		int nv = xnt_vif_devids(xs, doms[i].domid, ids, 64);

		for (int k = 0; k < nv; k++) {
			struct xnt_vif_info v;

			xnt_vif_info(xs, doms[i].domid, ids[k], &v);
			if (json)
				list_json_vif(&j, &v, doms[i].name, stp);
			else
				list_line(&v, only ? NULL : doms[i].name, stp);
		}
	}
	if (json)
		xnt_json_end(&j, ']');
	if (stp)
		xnt_stats_free(stp);
	xs_close(xs);
	return 0;
}

int xnt_cmd_vif(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || xnt_is_help(sub)) {
		fputs(vif_usage, sub ? stdout : stderr);
		return sub ? 0 : 2;
	}
	for (int i = 2; i < argc; i++)
		if (xnt_is_help(argv[i])) {
			fputs(vif_usage, stdout);
			return 0;
		}
	if (!strcmp(sub, "attach"))
		return attach(argc - 1, argv + 1);
	if (!strcmp(sub, "detach"))
		return detach(argc - 1, argv + 1);
	if (!strcmp(sub, "list"))
		return list(argc - 1, argv + 1);
	return xnt_fail("vif: unknown command '%s' (see xnet vif --help)", sub);
}
