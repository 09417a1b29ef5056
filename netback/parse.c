/*
 * parse.c — strict parsers for what the toolstack and xenstore hand
 * xnetback: device paths under backend/vif and MAC addresses.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnb_vif.h"

int xnb_parse_dev_path(const char *rel, uint32_t *domid, uint32_t *devid)
{
	char buf[64], *slash, *rest;
	unsigned long d, v;

	snprintf(buf, sizeof(buf), "%s", rel);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	rest = slash + 1;
	slash = strchr(rest, '/');
	if (slash)
		*slash = '\0';
	if (xnx_parse_uint(buf, 0, 0x7fef, &d) < 0 || xnx_parse_uint(rest, 0, 0xffff, &v) < 0)
		return -EINVAL;
	*domid = (uint32_t)d;
	*devid = (uint32_t)v;
	return 0;
}

int xnb_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		char hex[3] = { s[0], s[0] ? s[1] : 0, 0 };
		char *end;

		if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
			return -EINVAL;
		mac[i] = (uint8_t)strtoul(hex, &end, 16);
		s += 2;
		if (*s != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		s += i == 5 ? 0 : 1;
	}
	return 0;
}

