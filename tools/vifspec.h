/*
 * vifspec.h — strict parser for xl's vif specification
 * (xl-network-configuration(5)): comma-separated key=value items.
 *
 * Pure: no I/O, no allocation. Defaults that need the outside world (random
 * MAC, next free devid, backend domain lookup, link ids) are filled in by the
 * caller.
 */
#ifndef XNT_VIFSPEC_H
#define XNT_VIFSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One bit per key in struct xnt_vifspec.keys. */
enum xnt_vifkey {
	XNT_VK_MAC, XNT_VK_BRIDGE, XNT_VK_VIFNAME, XNT_VK_SCRIPT, XNT_VK_IP,
	XNT_VK_RATE, XNT_VK_MTU, XNT_VK_DEVID, XNT_VK_BACKEND, XNT_VK_TYPE,
	XNT_VK_MODEL, XNT_VK_GATEWAYDEV, XNT_VK_NIC, XNT_VK_MODE, XNT_VK_POOL,
	XNT_VK_VLAN, XNT_VK_COUNT
};

enum xnt_nictype { XNT_NIC_VIF = 0, XNT_NIC_IOEMU };

#define XNT_IFNAME_LEN 16	/* IFNAMSIZ: at most 15 characters + NUL */
#define XNT_MTU_MIN 68
#define XNT_MTU_MAX 65535
#define XNT_MTU_DEFAULT 1500
#define XNT_DEVID_MAX 65535
#define XNT_RATE_INTERVAL_DEFAULT 50000	/* usec, as xl */

struct xnt_vifspec {
	unsigned keys;			/* 1u << XNT_VK_* for each key given */
	uint8_t mac[6];
	char bridge[XNT_IFNAME_LEN];
	char vifname[XNT_IFNAME_LEN];
	char gatewaydev[XNT_IFNAME_LEN];
	char nic[XNT_IFNAME_LEN];	/* interface name or link id, as given */
	char script[256];
	char ip[256];
	char model[32];
	char mode[32];
	char pool[64];
	char backend[64];		/* domain name or id, as given */
	uint64_t rate_bytes;		/* bytes per interval */
	uint32_t rate_usecs;		/* interval */
	unsigned mtu;			/* XNT_MTU_DEFAULT unless given */
	unsigned devid;
	unsigned vlan;
	enum xnt_nictype type;
};

/* Parse SPEC into VS. Returns 0, or -EINVAL with a one-line reason naming
 * the offending key (and value) in ERR. An empty SPEC is valid. */
int xnt_vifspec_parse(const char *spec, struct xnt_vifspec *vs, char *err,
		      size_t errlen);

/* Parse an xl rate ("10Mb/s", "1MB/s@20ms") into bytes per interval and
 * the interval in microseconds, as libxl writes it ("bytes,usec").
 * 0 or -EINVAL with the reason in ERR. */
int xnt_parse_rate(const char *s, uint64_t *bytes, uint32_t *usecs, char *err,
		   size_t errlen);

static inline bool xnt_vifspec_has(const struct xnt_vifspec *vs,
				   enum xnt_vifkey k)
{
	return vs->keys & (1u << k);
}

/* The key's name as written in a vifspec. */
const char *xnt_vifkey_name(enum xnt_vifkey k);

#endif
