/*
 * fuzz_vifspec.c — the xl vifspec parser (tools/vifspec.h) and its rate
 * parser on arbitrary strings.
 *
 * Invariants checked besides "no crash, UB or leak":
 *  - a refused spec says why (a non-empty, terminated message), also into
 *    a tiny error buffer, never past it;
 *  - an accepted spec has every string field terminated inside its array,
 *    only known key bits, and every number inside its documented range;
 *  - parsing is pure: the same spec parses to the same result twice;
 *  - an accepted rate is at least one byte per non-zero interval.
 *
 * Input: the spec text (up to the first NUL byte).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vifspec.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_vifspec: invariant broken: %s\n", what);
	abort();
}

#define TERMINATED(a) (memchr((a), 0, sizeof(a)) != NULL)

static void check_spec(const struct xnt_vifspec *vs)
{
	if (vs->keys >> XNT_VK_COUNT)
		fail("unknown key bit set");
	if (!TERMINATED(vs->bridge) || !TERMINATED(vs->vifname) ||
	    !TERMINATED(vs->gatewaydev) || !TERMINATED(vs->nic) ||
	    !TERMINATED(vs->script) || !TERMINATED(vs->ip) || !TERMINATED(vs->model) ||
	    !TERMINATED(vs->mode) || !TERMINATED(vs->pool) || !TERMINATED(vs->backend))
		fail("string field not terminated inside its array");
	if (vs->mtu < XNT_MTU_MIN || vs->mtu > XNT_MTU_MAX)
		fail("mtu out of range");
	if (vs->devid > XNT_DEVID_MAX)
		fail("devid out of range");
	if (xnt_vifspec_has(vs, XNT_VK_VLAN) && (vs->vlan < 1 || vs->vlan > 4094))
		fail("vlan out of range");
	if (vs->type != XNT_NIC_VIF && vs->type != XNT_NIC_IOEMU)
		fail("type out of range");
	if (xnt_vifspec_has(vs, XNT_VK_RATE) && (vs->rate_bytes == 0 || vs->rate_usecs == 0))
		fail("rate of zero accepted");
}

static void check_error(int rc, const char *err)
{
	if (rc != -EINVAL)
		fail("error other than -EINVAL");
	if (!err[0])
		fail("refused without a reason");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xnt_vifspec a, b;
	char err[256] = "", *spec, *tiny;
	uint64_t bytes;
	uint32_t usecs;
	int rc;

	spec = strndup((const char *)data, size);
	tiny = malloc(4);
	if (!spec || !tiny)
		abort();
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	rc = xnt_vifspec_parse(spec, &a, err, sizeof(err));
	if (rc == 0) {
		check_spec(&a);
		if (xnt_vifspec_parse(spec, &b, err, sizeof(err)) != 0 || memcmp(&a, &b, sizeof(a)))
			fail("the same spec parsed two ways");
	} else {
		check_error(rc, err);
		if (!memchr(err, 0, sizeof(err)))
			fail("reason not terminated");
		tiny[3] = 'x';
		if (xnt_vifspec_parse(spec, &b, tiny, 3) != rc || tiny[3] != 'x')
			fail("a short error buffer changed the result or overflowed");
	}

	err[0] = '\0';
	rc = xnt_parse_rate(spec, &bytes, &usecs, err, sizeof(err));
	if (rc == 0 && (bytes == 0 || usecs == 0))
		fail("rate of zero accepted");
	if (rc != 0)
		check_error(rc, err);
	free(tiny);
	free(spec);
	return 0;
}
