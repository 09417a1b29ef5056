/*
 * policy_iplist.c — the toolstack's `ip` key, parsed strictly once at
 * connect: IPv4 or IPv6 addresses, each optionally "/PREFIX", separated by
 * single spaces (as libxl writes it). Anything else is refused by name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xnb.h"
#include "xnx_xs.h"

#define ENTRY_MAX 64	/* longest IPv6 address with a prefix, and then some */

/* Clear the bits of X->addr past its prefix length. */
static void mask(struct xnb_prefix *x)
{
	unsigned bytes = x->family == 4 ? 4u : 16u;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned bit = i * 8u;

		if (bit >= x->len)
			x->addr[i] = 0;
		else if (x->len - bit < 8)
			x->addr[i] &= (uint8_t)(0xff << (8 - (x->len - bit)));
	}
}

/* One "ADDR[/PREFIX]" (BUF is modified). 0 or -EINVAL. */
static int parse_one(char *buf, struct xnb_prefix *x)
{
	char *slash = strchr(buf, '/');
	unsigned long len, max;

	if (slash)
		*slash = '\0';
	memset(x, 0, sizeof(*x));
	if (inet_pton(AF_INET, buf, x->addr) == 1)
		x->family = 4;
	else if (inet_pton(AF_INET6, buf, x->addr) == 1)
		x->family = 6;
	else
		return -EINVAL;
	max = x->family == 4 ? 32 : 128;
	len = max;
	if (slash && xnx_parse_uint(slash + 1, 0, max, &len) < 0)
		return -EINVAL;
	x->len = (uint8_t)len;
	mask(x);
	return 0;
}

int xnb_parse_iplist(const char *s, struct xnb_policy *p, char *why, size_t whylen)
{
	const char *tok = s;
	char buf[ENTRY_MAX];

	p->nip = 0;
	p->ip_filter = false;
	for (;;) {
		const char *end = strchr(tok, ' ');
		size_t n = end ? (size_t)(end - tok) : strlen(tok);

		if (n == 0) {
			snprintf(why, whylen, "empty entry at offset %zu (want addresses separated "
				 "by single spaces)", (size_t)(tok - s));
			return -EINVAL;
		}
		if (p->nip == XNB_IP_MAX) {
			snprintf(why, whylen, "more than %d addresses", XNB_IP_MAX);
			return -EINVAL;
		}
		if (n >= sizeof(buf)) {
			snprintf(why, whylen, "entry at offset %zu too long", (size_t)(tok - s));
			return -EINVAL;
		}
		memcpy(buf, tok, n);
		buf[n] = '\0';
		if (parse_one(buf, &p->ip[p->nip]) < 0) {
			snprintf(why, whylen, "'%.*s' is not an IPv4/IPv6 address[/prefix]",
				 (int)n, tok);
			return -EINVAL;
		}
		p->nip++;
		if (!end)
			break;
		tok = end + 1;
	}
	p->ip_filter = true;
	return 0;
}
