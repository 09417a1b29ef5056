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
	"       xnet vif list [DOMAIN]\n"
	"  attach  add a vif to DOMAIN (name or id) from an xl vifspec\n"
	"          (xl-network-configuration(5)): comma-separated key=value with\n"
	"          keys mac, bridge, vifname, script, ip, rate, mtu, devid,\n"
	"          backend, type, model, gatewaydev, nic, mode, pool, vlan.\n"
	"          Prints the backend interface's name.\n"
	"  detach  unplug vif DEVID cleanly (online=0, Closing, wait for Closed\n"
	"          up to --timeout, default 10 s; removed anyway after that)\n"
	"  list    Idx BE Mac-Addr handle state evt-ch tx-/rx-ring-ref BE-path\n";

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

static int list(int argc, char **argv)
{
	struct xnx_sim_domain doms[MAX_DOMAINS];
	struct xs_handle *xs;
	unsigned domid;
	int n, rc;

	if (argc > 2)
		return xnt_fail("vif list: at most one DOMAIN");
	if (argc == 2 && (rc = xnt_domain_id(argv[1], &domid)) < 0)
		return no_domain("vif list", argv[1], rc);
	if (!(xs = open_xs()))
		return 1;
	if (argc == 2) {
		printf("Idx BE Mac Addr.         handle state evt-ch tx-/rx-ring-ref BE-path\n");
		xnt_vif_print(xs, domid, "");
	} else if ((n = xnx_sim_domain_list(doms, MAX_DOMAINS)) < 0) {
		xs_close(xs);
		return xnt_fail("vif list: cannot list domains: %s", strerror(errno));
	} else {
		printf("%-16s Idx BE Mac Addr.         handle state evt-ch tx-/rx-ring-ref BE-path\n",
		       "Domain");
		for (int i = 0; i < n && i < MAX_DOMAINS; i++) {
			char prefix[80];
			snprintf(prefix, sizeof(prefix), "%-16s ", doms[i].name);
			xnt_vif_print(xs, doms[i].domid, prefix);
		}
	}
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
