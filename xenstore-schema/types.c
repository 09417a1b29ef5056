/*
 * types.c — the value types of vif.schema (pure checks: no I/O), and how a
 * key of the schema matches a path below a device directory.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "xnx_xs.h"
#include "xsc_int.h"

#define LINKID_MAX 2147483647ul
#define GREF_MIN 8ul			/* GNTTAB_NR_RESERVED_ENTRIES */
#define GREF_MAX 4294967295ul
#define EVTCHN_MAX 131071ul		/* EVTCHN_FIFO_NR_CHANNELS - 1 */
#define DOMID_MAX 32751ul		/* DOMID_FIRST_RESERVED - 1 */
#define STATE_MAX 8ul			/* XenbusStateReconfigured */
#define PATH_MAX_LEN 3072		/* XENSTORE_ABS_PATH_MAX */
#define IFNAME_MAX 15			/* IFNAMSIZ - 1 */

static int why_set(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int uint_ok(const char *v, unsigned long min, unsigned long max,
		   const char *what, char *why, size_t len)
{
	unsigned long x;
	int rc = xnx_parse_uint(v, min, max, &x);

	if (rc == -ERANGE)
		return why_set(why, len, "%s out of range %lu..%lu", what, min, max);
	if (rc < 0)
		return why_set(why, len, "not a decimal number (%s)", what);
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int mac_ok(const char *v, char *why, size_t len)
{
	unsigned char b[6];
	bool zero = true;

	if (strlen(v) != 17)
		return why_set(why, len, "not a MAC address (xx:xx:xx:xx:xx:xx)");
	for (int i = 0; i < 6; i++) {
		int hi = hexval((unsigned char)v[3 * i]), lo = hexval((unsigned char)v[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && v[3 * i + 2] != ':'))
			return why_set(why, len, "not a MAC address (xx:xx:xx:xx:xx:xx)");
		b[i] = (unsigned char)(hi << 4 | lo);
		zero = zero && b[i] == 0;
	}
	if (b[0] & 1)
		return why_set(why, len, "a multicast MAC address, a vif needs a unicast one");
	if (zero)
		return why_set(why, len, "the all-zero MAC address");
	return 0;
}

static int printable_ok(const char *v, unsigned long max, char *why, size_t len)
{
	size_t n = strlen(v);

	if (n > max)
		return why_set(why, len, "longer than %lu characters", max);
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return why_set(why, len, "non-printable character at offset %zu", i);
	return 0;
}

static int ifname_ok(const char *v, char *why, size_t len)
{
	size_t n = strlen(v);

	if (n == 0 || n > IFNAME_MAX)
		return why_set(why, len, "not an interface name (1..%d characters)", IFNAME_MAX);
	if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		return why_set(why, len, "not an interface name ('.' and '..' are not allowed)");
	for (size_t i = 0; i < n; i++)
		if (v[i] <= 0x20 || v[i] > 0x7e || v[i] == '/' || v[i] == ':')
			return why_set(why, len, "not an interface name (bad character at offset %zu)", i);
	return 0;
}

/* An absolute xenstore path: '/'-separated segments of the characters
 * xenstored accepts, no empty segment, within XENSTORE_ABS_PATH_MAX. */
static int path_ok(const char *v, char *why, size_t len)
{
	size_t n = strlen(v);

	if (v[0] != '/')
		return why_set(why, len, "not an absolute xenstore path");
	if (n > PATH_MAX_LEN)
		return why_set(why, len, "path longer than %d characters", PATH_MAX_LEN);
	if (n > 1 && v[n - 1] == '/')
		return why_set(why, len, "path ends in '/'");
	if (strstr(v, "//"))
		return why_set(why, len, "path has an empty segment");
	if (v[strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_@")])
		return why_set(why, len, "path has a character xenstore does not allow");
	return 0;
}

static int rate_ok(const char *v, char *why, size_t len)
{
	const char *comma = strchr(v, ',');
	char bytes[32];
	unsigned long x;

	if (!comma || (size_t)(comma - v) >= sizeof(bytes))
		return why_set(why, len, "not a rate (BYTES,USEC)");
	memcpy(bytes, v, comma - v);
	bytes[comma - v] = '\0';
	if (xnx_parse_uint(bytes, 1, ~0ul, &x) < 0)
		return why_set(why, len, "not a rate (BYTES,USEC): BYTES must be a number above 0");
	if (xnx_parse_uint(comma + 1, 1, 4294967295ul, &x) < 0)
		return why_set(why, len, "not a rate (BYTES,USEC): USEC must be in 1..4294967295");
	return 0;
}

/* One address, IPv4 or IPv6, with an optional /PREFIX. */
static bool addr_ok(const char *a)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char out[16];
	char *slash;
	unsigned long pfx;
	int af;

	if (strlen(a) >= sizeof(buf))
		return false;
	strcpy(buf, a);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	af = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, buf, out) != 1)
		return false;
	return !slash || xnx_parse_uint(slash + 1, 0, af == AF_INET ? 32 : 128, &pfx) == 0;
}

static int iplist_ok(const char *v, char *why, size_t len)
{
	char buf[1024], *tok, *save;

	if (!v[0] || strlen(v) >= sizeof(buf))
		return why_set(why, len, "not an address list (empty or too long)");
	if (v[0] == ' ' || v[strlen(v) - 1] == ' ' || strstr(v, "  "))
		return why_set(why, len, "not an address list (addresses are separated by single spaces)");
	strcpy(buf, v);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (!addr_ok(tok))
			return why_set(why, len, "'%s' is not an IPv4 or IPv6 address[/prefix]", tok);
	return 0;
}

static int enum_ok(const struct xsc_entry *e, const char *v, char *why, size_t len)
{
	size_t n = strlen(v);

	for (const char *w = e->words; *w;) {
		size_t wl = strcspn(w, ",");
		if (wl == n && strncmp(w, v, n) == 0)
			return 0;
		w += wl + (w[wl] == ',');
	}
	return why_set(why, len, "not one of %s", e->words);
}

int xsc_value_ok(const struct xsc_entry *e, const char *v, size_t len,
		 char *why, size_t whylen)
{
	if (strlen(v) != len)
		return why_set(why, whylen, "value contains a NUL byte");
	if (len == 0 && e->empty_ok)
		return 0;
	switch (e->type) {
	case XSC_T_UINT:   return uint_ok(v, e->min, e->max, "uint", why, whylen);
	case XSC_T_BOOL:
		if (strcmp(v, "0") && strcmp(v, "1"))
			return why_set(why, whylen, "not a bool (0 or 1)");
		return 0;
	case XSC_T_MAC:    return mac_ok(v, why, whylen);
	case XSC_T_LINKID: return uint_ok(v, 1, LINKID_MAX, "link id", why, whylen);
	case XSC_T_GREF:   return uint_ok(v, GREF_MIN, GREF_MAX, "grant ref", why, whylen);
	case XSC_T_EVTCHN: return uint_ok(v, 1, EVTCHN_MAX, "event-channel port", why, whylen);
	case XSC_T_STATE:  return uint_ok(v, 0, STATE_MAX, "XenbusState", why, whylen);
	case XSC_T_DOMID:  return uint_ok(v, 0, DOMID_MAX, "domain id", why, whylen);
	case XSC_T_STRING: return printable_ok(v, e->max, why, whylen);
	case XSC_T_IFNAME: return ifname_ok(v, why, whylen);
	case XSC_T_PATH:   return path_ok(v, why, whylen);
	case XSC_T_RATE:   return rate_ok(v, why, whylen);
	case XSC_T_IPLIST: return iplist_ok(v, why, whylen);
	case XSC_T_ENUM:   return enum_ok(e, v, why, whylen);
	case XSC_T_DIR:
		if (len)
			return why_set(why, whylen, "a directory node must have an empty value");
		return 0;
	}
	return why_set(why, whylen, "unknown type");
}

/* "queue-<N>" against a path segment: "queue-" and a canonical decimal. */
static bool queue_seg(const char *seg, size_t n, long *queue)
{
	char num[16];
	unsigned long q;

	if (n <= 6 || n - 6 >= sizeof(num) || strncmp(seg, "queue-", 6) != 0)
		return false;
	memcpy(num, seg + 6, n - 6);
	num[n - 6] = '\0';
	if ((num[0] == '0' && num[1]) || xnx_parse_uint(num, 0, 65535, &q) < 0)
		return false;
	*queue = (long)q;
	return true;
}

bool xsc_key_match(const struct xsc_entry *e, const char *rel, long *queue)
{
	const char *k = e->key, *r = rel;

	*queue = -1;
	while (*k) {
		size_t kl = strcspn(k, "/"), rl = strcspn(r, "/");
		if (e->prefix && k[kl] == '\0') {
			/* Last key segment "name*": a prefix of the last path segment. */
			return r[rl] == '\0' && rl >= kl - 1 && strncmp(k, r, kl - 1) == 0;
		}
		if (kl == 9 && strncmp(k, "queue-<N>", 9) == 0) {
			if (!queue_seg(r, rl, queue))
				return false;
		} else if (kl != rl || strncmp(k, r, kl) != 0) {
			return false;
		}
		k += kl;
		r += rl;
		if ((*k == '/') != (*r == '/'))
			return false;
		if (*k == '/') {
			k++;
			r++;
		}
	}
	return *r == '\0';
}
