/* domains.c — the domains xenstore knows (/local/domain/<id>/name), the
 * same way on Xen and on the sim. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnet.h"
#include "xnx_xs.h"

void xnt_domain_name(struct xs_handle *xs, unsigned domid, char *buf, size_t len)
{
	char dir[64], *v;
	size_t i;

	snprintf(dir, sizeof(dir), "/local/domain/%u", domid);
	v = xnx_xs_read(xs, XBT_NULL, dir, "name");
	/* A guest may write its own name: keep it printable. */
	for (i = 0; v && v[i] && i + 1 < len; i++)
		buf[i] = v[i] > ' ' && v[i] < 0x7f ? v[i] : '?';
	if (len)
		buf[i < len ? i : len - 1] = '\0';
	free(v);
}

static int by_id(const void *a, const void *b)
{
	const struct xnt_domain *x = a, *y = b;

	return x->domid < y->domid ? -1 : x->domid > y->domid;
}

int xnt_domains(struct xs_handle *xs, struct xnt_domain *out, int max)
{
	unsigned n = 0;
	char **ents = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	int count = 0;

	if (!ents)
		return -errno;
	for (unsigned i = 0; i < n && count < max; i++) {
		unsigned long id;

		if (xnx_parse_uint(ents[i], 0, 0x7fef, &id) < 0)
			continue;
		out[count].domid = (unsigned)id;
		xnt_domain_name(xs, (unsigned)id, out[count].name, sizeof(out[count].name));
		count++;
	}
	free(ents);
	qsort(out, (size_t)count, sizeof(*out), by_id);
	return count;
}
