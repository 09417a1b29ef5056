/*
 * policy_xs.c — where a vif's policy comes from: the toolstack's `vlan`,
 * `ip` and `mtu` keys (read once, at connect, parsed strictly: a bad value
 * keeps the vif down with the reason in its `error` node — fail closed, so
 * a typo never silently turns anti-spoofing off), the RX timeouts, the
 * TAP's carrier, and the counters summary logged when a vif disconnects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

#include "xnb_policy.h"
#include "xnx_log.h"
#include "xnx_xs.h"

#define DEFAULT_MTU 1500u

/* A timeout from the environment (ms) or DEF; a bad value is logged. */
static uint64_t timeout_ns(const char *var, unsigned def)
{
	const char *s = getenv(var);
	unsigned long v = def;

	if (s && xnx_parse_uint(s, 0, 86400000ul, &v) < 0) {
		xnx_warn("%s='%s' is not a number of milliseconds; using %u", var, s, def);
		v = def;
	}
	return (uint64_t)v * 1000000u;
}

static int load_vlan(struct xs_handle *xs, const char *dir, struct xnb_policy *p, char *why,
		     size_t whylen)
{
	unsigned long v;
	int rc = xnx_xs_read_uint(xs, XBT_NULL, dir, "vlan", 1, 4094, &v);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		char *s = xnx_xs_read(xs, XBT_NULL, dir, "vlan");

		snprintf(why, whylen, "%s/vlan: '%s' is not a VLAN id (1..4094)", dir,
			 s ? s : "?");
		free(s);
		return -EINVAL;
	}
	p->vlan = (uint16_t)v;
	return 0;
}

static int load_ip(struct xs_handle *xs, const char *dir, struct xnb_policy *p, char *why,
		   size_t whylen)
{
	char *s = xnx_xs_read(xs, XBT_NULL, dir, "ip");
	char what[160];
	int rc = 0;

	if (!s)
		return errno == ENOENT ? 0 : -errno;
	if (xnb_parse_iplist(s, p, what, sizeof(what)) < 0) {
		snprintf(why, whylen, "%s/ip: %s", dir, what);
		rc = -EINVAL;
	}
	free(s);
	return rc;
}

int xnb_policy_load(struct xs_handle *xs, const char *dir, const uint8_t mac[6],
		    unsigned mtu, struct xnb_policy *p, char *why, size_t whylen)
{
	int rc;

	memset(p, 0, sizeof(*p));
	memcpy(p->mac, mac, 6);
	p->mtu = mtu ? mtu : DEFAULT_MTU;
	rc = load_vlan(xs, dir, p, why, whylen);
	if (rc == 0)
		rc = load_ip(xs, dir, p, why, whylen);
	if (rc < 0) {
		if (rc != -EINVAL)
			snprintf(why, whylen, "%s: reading policy keys: %s", dir, strerror(-rc));
		p->ip_filter = true;	/* fail closed even if someone ignores rc */
		p->nip = 0;
		return rc;
	}
	p->rx_drain_ns = timeout_ns("XNET_RX_DRAIN_MS", XNB_RX_DRAIN_MS_DEFAULT);
	p->rx_stall_ns = timeout_ns("XNET_RX_STALL_MS", XNB_RX_STALL_MS_DEFAULT);
	return 0;
}

int xnb_tap_carrier(int fd, bool on)
{
	int v = on;

	return ioctl(fd, TUNSETCARRIER, &v) < 0 ? -errno : 0;
}

void xnb_policy_log_stats(const char *path, const struct xnb_stats *s)
{
	char all[4096], line[2048];
	size_t off = 0;

	if (xnb_stats_format(s, all, sizeof(all)) < 0) {
		xnx_warn("%s: counters too many to log", path);
		return;
	}
	line[0] = '\0';
	for (char *save, *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *v = strrchr(l, ' ');
		int n;

		if (!v || strcmp(v, " 0") == 0)
			continue;
		n = snprintf(line + off, sizeof(line) - off, "%s%s", off ? ", " : "", l);
		if (n < 0 || (size_t)n >= sizeof(line) - off)
			break;
		off += (size_t)n;
	}
	xnx_info("%s: counters: %s", path, off ? line : "all zero");
}
