/* vifspec.c — strict parser for xl vif specifications (pure). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vifspec.h"

#define ITEM_MAX 512	/* longest key=value item we accept */

static const char *const key_names[XNT_VK_COUNT] = {
	[XNT_VK_MAC] = "mac",		[XNT_VK_BRIDGE] = "bridge",
	[XNT_VK_VIFNAME] = "vifname",	[XNT_VK_SCRIPT] = "script",
	[XNT_VK_IP] = "ip",		[XNT_VK_RATE] = "rate",
	[XNT_VK_MTU] = "mtu",		[XNT_VK_DEVID] = "devid",
	[XNT_VK_BACKEND] = "backend",	[XNT_VK_TYPE] = "type",
	[XNT_VK_MODEL] = "model",	[XNT_VK_GATEWAYDEV] = "gatewaydev",
	[XNT_VK_NIC] = "nic",		[XNT_VK_MODE] = "mode",
	[XNT_VK_POOL] = "pool",		[XNT_VK_VLAN] = "vlan",
};

const char *xnt_vifkey_name(enum xnt_vifkey k)
{
	return k < XNT_VK_COUNT ? key_names[k] : "?";
}

static int fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Strict unsigned decimal in [min, max]: digits only, no sign or spaces. */
static int parse_dec(const char *s, const char **end, unsigned long long max,
		     unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (end)
		*end = p;
	else if (*p)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_mac(const char *v, uint8_t mac[6], char *err, size_t len)
{
	for (int i = 0; i < 6; i++) {
		const char *o = v + i * 3;

		if (!isxdigit((unsigned char)o[0]) || !isxdigit((unsigned char)o[1]) ||
		    o[2] != (i == 5 ? '\0' : ':'))
			return fail(err, len, "vifspec: mac: '%s' is not six hex "
				    "octets like 00:16:3e:01:02:03", v);
		mac[i] = (uint8_t)strtoul((char[3]){ o[0], o[1], 0 }, NULL, 16);
	}
	if (mac[0] & 1)
		return fail(err, len, "vifspec: mac: '%s' is a multicast address "
			    "(low bit of the first octet set)", v);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return fail(err, len, "vifspec: mac: '%s' is the all-zero address", v);
	return 0;
}

/* Linux interface name rules (dev_valid_name), kept to printable ASCII. */
static int parse_ifname(const char *key, const char *v, char *out, char *err,
			size_t len)
{
	if (strlen(v) >= XNT_IFNAME_LEN)
		return fail(err, len, "vifspec: %s: '%s' is longer than %d characters",
			    key, v, XNT_IFNAME_LEN - 1);
	if (!strcmp(v, ".") || !strcmp(v, ".."))
		return fail(err, len, "vifspec: %s: '%s' is not an interface name", key, v);
	for (const char *p = v; *p; p++)
		if (!isgraph((unsigned char)*p) || *p == '/' || *p == ':' || *p == '%')
			return fail(err, len, "vifspec: %s: '%s' has a character not "
				    "allowed in an interface name", key, v);
	strcpy(out, v);
	return 0;
}

/* A name made of letters, digits, '_', '-', '.'; SIZE bounds it. */
static int parse_token(const char *key, const char *v, char *out, size_t size,
		       char *err, size_t len)
{
	if (strlen(v) >= size)
		return fail(err, len, "vifspec: %s: '%s' is longer than %zu characters",
			    key, v, size - 1);
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
			return fail(err, len, "vifspec: %s: '%s' has a character "
				    "other than letters, digits, '_', '-', '.'", key, v);
	strcpy(out, v);
	return 0;
}

static int parse_script(const char *v, char *out, size_t size, char *err,
			size_t len)
{
	if (strlen(v) >= size)
		return fail(err, len, "vifspec: script: longer than %zu characters",
			    size - 1);
	for (const char *p = v; *p; p++)
		if (!isgraph((unsigned char)*p))
			return fail(err, len, "vifspec: script: '%s' contains a space "
				    "or control character", v);
	strcpy(out, v);
	return 0;
}

/* One address, IPv4 or IPv6, with an optional /prefix. */
static int valid_addr(const char *a)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	char *slash;
	unsigned long long prefix;
	int v6;

	if (strlen(a) >= sizeof(buf))
		return 0;
	strcpy(buf, a);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	v6 = strchr(buf, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, bin) != 1)
		return 0;
	return !slash || parse_dec(slash, NULL, v6 ? 128 : 32, &prefix) == 0;
}

/* xl takes several addresses separated by spaces. */
static int parse_ip(const char *v, char *out, size_t size, char *err, size_t len)
{
	char buf[256], *save = NULL, *a;

	if (strlen(v) >= size || strlen(v) >= sizeof(buf))
		return fail(err, len, "vifspec: ip: longer than %zu characters", size - 1);
	strcpy(buf, v);
	for (a = strtok_r(buf, " ", &save); a; a = strtok_r(NULL, " ", &save))
		if (!valid_addr(a))
			return fail(err, len, "vifspec: ip: '%s' is not an IPv4 or "
				    "IPv6 address", a);
	strcpy(out, v);
	return 0;
}

static int parse_bounded(const char *key, const char *v, unsigned long long min,
			 unsigned long long max, unsigned *out, char *err,
			 size_t len)
{
	unsigned long long n;
	int rc = parse_dec(v, NULL, ~0ull, &n);

	if (rc == -EINVAL)
		return fail(err, len, "vifspec: %s: '%s' is not a decimal number", key, v);
	if (rc < 0 || n < min || n > max)
		return fail(err, len, "vifspec: %s: %s out of range %llu..%llu",
			    key, v, min, max);
	*out = (unsigned)n;
	return 0;
}

/* "<n>[GMK]{B|b}/s": bytes per second. */
static int rate_per_sec(const char *s, uint64_t *bps, char *err, size_t len)
{
	unsigned long long n, mult = 1;
	const char *p;

	if (parse_dec(s, &p, UINT32_MAX, &n) < 0 || n == 0)
		return fail(err, len, "vifspec: rate: '%s' needs a number from 1 to "
			    "%u before the unit", s, UINT32_MAX);
	if (*p == 'G' || *p == 'M' || *p == 'K')
		mult = *p == 'G' ? 1000000000ull : *p == 'M' ? 1000000ull : 1000ull, p++;
	if ((*p != 'B' && *p != 'b') || strcmp(p + 1, "/s"))
		return fail(err, len, "vifspec: rate: '%s' must end in B/s or b/s "
			    "(optionally with G, M or K)", s);
	*bps = n * mult / (*p == 'b' ? 8 : 1);
	return 0;
}

/* "<n>[m|u][s]": an interval; a bare number is seconds, as in xl. */
static int rate_interval(const char *s, uint32_t *usecs, char *err, size_t len)
{
	unsigned long long n, mult = 1000000;
	const char *p;

	if (parse_dec(s, &p, UINT32_MAX, &n) < 0 || n == 0)
		return fail(err, len, "vifspec: rate: interval '%s' needs a number "
			    "from 1 to %u", s, UINT32_MAX);
	if (*p == 'm' || *p == 'u')
		mult = *p == 'm' ? 1000 : 1, p++;
	if (strcmp(p, "s") && strcmp(p, ""))
		return fail(err, len, "vifspec: rate: interval '%s' must end in s, "
			    "ms or us", s);
	if (n * mult > UINT32_MAX)
		return fail(err, len, "vifspec: rate: interval '%s' is too long", s);
	*usecs = (uint32_t)(n * mult);
	return 0;
}

int xnt_parse_rate(const char *s, uint64_t *bytes, uint32_t *usecs, char *err,
		   size_t errlen)
{
	char buf[64];
	char *at;
	uint64_t bps = 0;
	uint32_t us = XNT_RATE_INTERVAL_DEFAULT;
	int rc;

	if (strlen(s) >= sizeof(buf))
		return fail(err, errlen, "vifspec: rate: '%s' is too long", s);
	strcpy(buf, s);
	at = strchr(buf, '@');
	if (at)
		*at++ = '\0';
	rc = rate_per_sec(buf, &bps, err, errlen);
	if (rc == 0 && at)
		rc = rate_interval(at, &us, err, errlen);
	if (rc)
		return rc;
	if (bps > UINT64_MAX / us)
		return fail(err, errlen, "vifspec: rate: '%s' overflows", s);
	*bytes = bps * us / 1000000;
	if (*bytes == 0)
		return fail(err, errlen, "vifspec: rate: '%s' allows less than one "
			    "byte per interval", s);
	*usecs = us;
	return 0;
}

/* vif-vnic's macvlan mode (xenstore-schema: mode); the script key says
 * how the vif is wired in. */
static int parse_mode(const char *v, char *out, size_t size, char *err, size_t len)
{
	static const char *const modes[] = { "bridge", "vepa", "private", "passthru" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(v, modes[i])) {
			snprintf(out, size, "%s", v);
			return 0;
		}
	return fail(err, len, "vifspec: mode: '%s' is not bridge, vepa, private or "
		    "passthru", v);
}

static int parse_type(const char *v, enum xnt_nictype *t, char *err, size_t len)
{
	if (!strcmp(v, "vif"))
		*t = XNT_NIC_VIF;
	else if (!strcmp(v, "ioemu"))
		*t = XNT_NIC_IOEMU;
	else
		return fail(err, len, "vifspec: type: '%s' is neither vif nor ioemu", v);
	return 0;
}

static int set_value(struct xnt_vifspec *vs, enum xnt_vifkey k, const char *v,
		     char *err, size_t len)
{
	switch (k) {
	case XNT_VK_MAC: return parse_mac(v, vs->mac, err, len);
	case XNT_VK_BRIDGE: return parse_ifname("bridge", v, vs->bridge, err, len);
	case XNT_VK_VIFNAME: return parse_ifname("vifname", v, vs->vifname, err, len);
	case XNT_VK_GATEWAYDEV:
		return parse_ifname("gatewaydev", v, vs->gatewaydev, err, len);
	case XNT_VK_NIC: return parse_ifname("nic", v, vs->nic, err, len);
	case XNT_VK_SCRIPT:
		return parse_script(v, vs->script, sizeof(vs->script), err, len);
	case XNT_VK_IP: return parse_ip(v, vs->ip, sizeof(vs->ip), err, len);
	case XNT_VK_RATE:
		return xnt_parse_rate(v, &vs->rate_bytes, &vs->rate_usecs, err, len);
	case XNT_VK_MTU:
		return parse_bounded("mtu", v, XNT_MTU_MIN, XNT_MTU_MAX, &vs->mtu,
				     err, len);
	case XNT_VK_DEVID:
		return parse_bounded("devid", v, 0, XNT_DEVID_MAX, &vs->devid, err, len);
	case XNT_VK_VLAN: return parse_bounded("vlan", v, 1, 4094, &vs->vlan, err, len);
	case XNT_VK_BACKEND:
		return parse_token("backend", v, vs->backend, sizeof(vs->backend),
				   err, len);
	case XNT_VK_TYPE: return parse_type(v, &vs->type, err, len);
	case XNT_VK_MODEL:
		return parse_token("model", v, vs->model, sizeof(vs->model), err, len);
	case XNT_VK_MODE:
		return parse_mode(v, vs->mode, sizeof(vs->mode), err, len);
	case XNT_VK_POOL:
		return parse_token("pool", v, vs->pool, sizeof(vs->pool), err, len);
	case XNT_VK_COUNT: break;
	}
	abort();	/* every key is handled above */
}

static int find_key(const char *k, size_t klen)
{
	for (int i = 0; i < XNT_VK_COUNT; i++)
		if (strlen(key_names[i]) == klen && !strncmp(key_names[i], k, klen))
			return i;
	return -1;
}

/* One "key=value" item, surrounding spaces already trimmed. */
static int parse_item(struct xnt_vifspec *vs, const char *item, char *err,
		      size_t len)
{
	const char *eq = strchr(item, '=');
	int k;

	if (!eq)
		return fail(err, len, "vifspec: '%s' is not key=value", item);
	k = find_key(item, (size_t)(eq - item));
	if (k < 0)
		return fail(err, len, "vifspec: unknown key '%.*s'",
			    (int)(eq - item), item);
	if (vs->keys & (1u << k))
		return fail(err, len, "vifspec: duplicate key '%s'", key_names[k]);
	if (eq[1] == '\0')
		return fail(err, len, "vifspec: %s: empty value", key_names[k]);
	vs->keys |= 1u << k;
	return set_value(vs, (enum xnt_vifkey)k, eq + 1, err, len);
}

static void defaults(struct xnt_vifspec *vs)
{
	memset(vs, 0, sizeof(*vs));
	vs->mtu = XNT_MTU_DEFAULT;
	vs->type = XNT_NIC_VIF;
}

int xnt_vifspec_parse(const char *spec, struct xnt_vifspec *vs, char *err,
		      size_t errlen)
{
	char item[ITEM_MAX];
	const char *p = spec;
	int n = 0, rc;

	defaults(vs);
	if (err && errlen)
		err[0] = '\0';
	while (*spec) {
		const char *end = strchr(p, ',');
		size_t ilen = end ? (size_t)(end - p) : strlen(p);

		n++;
		/* xl skips spaces after a comma; trailing ones go too. */
		while (ilen && *p == ' ')
			p++, ilen--;
		while (ilen && p[ilen - 1] == ' ')
			ilen--;
		if (ilen == 0)
			return fail(err, errlen, "vifspec: item %d is empty", n);
		if (ilen >= sizeof(item))
			return fail(err, errlen, "vifspec: item %d is longer than %d "
				    "characters", n, ITEM_MAX - 1);
		memcpy(item, p, ilen);
		item[ilen] = '\0';
		rc = parse_item(vs, item, err, errlen);
		if (rc)
			return rc;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}
