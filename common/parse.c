/* parse.c — the one strict parser for numbers that come from a peer. */
#include <errno.h>
#include <stdlib.h>

#include "xnx_xs.h"

int xnx_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out)
{
	char *end;
	unsigned long v;

	/* strtoul accepts leading space and a sign; the store's values must not. */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
