/* test_vifspec.c — table-driven tests of the xl vifspec parser. */
#include <CUnit/Basic.h>
#include "cunit_run.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vifspec.h"

struct ok_case {
	const char *spec;
	const char *what;	/* field to check, see check_ok() */
	const char *want;
};

/* Valid specs and one property of the result each. */
static const struct ok_case ok_cases[] = {
	{ "", "keys", "0" },
	{ "mac=00:16:3e:01:02:03", "mac", "00:16:3e:01:02:03" },
	{ "mac=AA:bb:CC:dd:EE:f0", "mac", "aa:bb:cc:dd:ee:f0" },
	{ "bridge=xenbr0", "bridge", "xenbr0" },
	{ "bridge=br-0.1_x", "bridge", "br-0.1_x" },
	{ "vifname=abcdefghijklmno", "vifname", "abcdefghijklmno" },
	{ "script=vif-bridge", "script", "vif-bridge" },
	{ "script=/etc/xen/scripts/vif-route", "script", "/etc/xen/scripts/vif-route" },
	{ "ip=10.0.0.1", "ip", "10.0.0.1" },
	{ "ip=10.0.0.1 192.168.1.0/24 fe80::1", "ip", "10.0.0.1 192.168.1.0/24 fe80::1" },
	{ "rate=10Mb/s", "rate", "62500,50000" },
	{ "rate=10Mb/s@20ms", "rate", "25000,20000" },
	{ "rate=1MB/s", "rate", "50000,50000" },
	{ "rate=1GB/s@1s", "rate", "1000000000,1000000" },
	{ "rate=100KB/s@100us", "rate", "10,100" },
	{ "rate=8b/s@1", "rate", "1,1000000" },
	{ "rate=1MB/s@20m", "rate", "20000,20000" },
	{ "mtu=9000", "mtu", "9000" },
	{ "mtu=68", "mtu", "68" },
	{ "mtu=65535", "mtu", "65535" },
	{ "bridge=xenbr0", "mtu", "1500" },
	{ "devid=0", "devid", "0" },
	{ "devid=7", "devid", "7" },
	{ "backend=driverdom", "backend", "driverdom" },
	{ "backend=0", "backend", "0" },
	{ "type=vif", "type", "vif" },
	{ "type=ioemu", "type", "ioemu" },
	{ "model=e1000", "model", "e1000" },
	{ "gatewaydev=eth0", "gatewaydev", "eth0" },
	{ "nic=eth1", "nic", "eth1" },
	{ "mode=vepa", "mode", "vepa" },
	{ "mode=passthru", "mode", "passthru" },
	{ "pool=pool0", "pool", "pool0" },
	{ "vlan=100", "vlan", "100" },
	{ "mac=00:16:3e:00:00:01, bridge=xenbr1", "bridge", "xenbr1" },
	{ "mac=00:16:3e:00:00:01,bridge=b,rate=1MB/s,mtu=1400,devid=3", "keys", "227" },
};

struct bad_case {
	const char *spec;
	const char *needle;	/* the error must contain this (the key) */
};

/* Invalid specs: each must fail with a message naming the key. */
static const struct bad_case bad_cases[] = {
	{ "foo=1", "unknown key 'foo'" },
	{ "mac", "'mac' is not key=value" },
	{ "mac=00:16:3e:01:02", "mac:" },
	{ "mac=00:16:3e:01:02:03:04", "mac:" },
	{ "mac=00-16-3e-01-02-03", "mac:" },
	{ "mac=0:16:3e:01:02:03", "mac:" },
	{ "mac=00:16:3e:01:02:0g", "mac:" },
	{ "mac=01:16:3e:01:02:03", "mac: '01:16:3e:01:02:03' is a multicast" },
	{ "mac=ff:ff:ff:ff:ff:ff", "multicast" },
	{ "mac=00:00:00:00:00:00", "mac:" },
	{ "mac=", "mac: empty value" },
	{ "bridge=", "bridge: empty value" },
	{ "mac=00:16:3e:01:02:03,mac=00:16:3e:01:02:04", "duplicate key 'mac'" },
	{ "bridge=a,bridge=a", "duplicate key 'bridge'" },
	{ "bridge=abcdefghijklmnop", "bridge:" },
	{ "bridge=a/b", "bridge:" },
	{ "bridge=..", "bridge:" },
	{ "vifname=a:b", "vifname:" },
	{ "gatewaydev=a b", "gatewaydev:" },
	{ "script=a b", "script:" },
	{ "ip=10.0.0", "ip: '10.0.0'" },
	{ "ip=10.0.0.1 nothost", "ip: 'nothost'" },
	{ "ip=10.0.0.1/33", "ip:" },
	{ "rate=10Mb", "rate:" },
	{ "rate=10Xb/s", "rate:" },
	{ "rate=0Mb/s", "rate:" },
	{ "rate=Mb/s", "rate:" },
	{ "rate=-1Mb/s", "rate:" },
	{ "rate=4294967296B/s", "rate:" },
	{ "rate=10Mb/s@", "rate:" },
	{ "rate=10Mb/s@0ms", "rate:" },
	{ "rate=10Mb/s@5h", "rate:" },
	{ "rate=10Mb/s@5000s", "rate:" },
	{ "rate=1b/s@1us", "rate:" },
	{ "mtu=67", "mtu: 67 out of range" },
	{ "mtu=65536", "mtu: 65536 out of range" },
	{ "mtu=1500x", "mtu:" },
	{ "mtu=+1500", "mtu:" },
	{ "mtu= 1500", "mtu:" },
	{ "mtu=99999999999999999999999", "mtu:" },
	{ "devid=-1", "devid:" },
	{ "devid=65536", "devid:" },
	{ "vlan=0", "vlan:" },
	{ "vlan=4095", "vlan:" },
	{ "type=tap", "type:" },
	{ "mode=vnic", "mode: 'vnic'" },
	{ "backend=a/b", "backend:" },
	{ "model=e 1000", "model:" },
	{ "mac=00:16:3e:01:02:03,,bridge=x", "item 2 is empty" },
	{ "bridge=x,", "item 2 is empty" },
	{ ",bridge=x", "item 1 is empty" },
	{ "=x", "unknown key ''" },
	{ "Mac=00:16:3e:01:02:03", "unknown key 'Mac'" },
};

static void fmt_field(const struct xnt_vifspec *vs, const char *what, char *out,
		      size_t len)
{
	if (!strcmp(what, "mac"))
		snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", vs->mac[0],
			 vs->mac[1], vs->mac[2], vs->mac[3], vs->mac[4], vs->mac[5]);
	else if (!strcmp(what, "rate"))
		snprintf(out, len, "%llu,%u", (unsigned long long)vs->rate_bytes,
			 vs->rate_usecs);
	else if (!strcmp(what, "keys"))
		snprintf(out, len, "%u", vs->keys);
	else if (!strcmp(what, "mtu"))
		snprintf(out, len, "%u", vs->mtu);
	else if (!strcmp(what, "devid"))
		snprintf(out, len, "%u", vs->devid);
	else if (!strcmp(what, "vlan"))
		snprintf(out, len, "%u", vs->vlan);
	else if (!strcmp(what, "type"))
		snprintf(out, len, "%s", vs->type == XNT_NIC_IOEMU ? "ioemu" : "vif");
	else {
		const char *s = !strcmp(what, "bridge") ? vs->bridge
			: !strcmp(what, "vifname") ? vs->vifname
			: !strcmp(what, "script") ? vs->script
			: !strcmp(what, "ip") ? vs->ip
			: !strcmp(what, "backend") ? vs->backend
			: !strcmp(what, "model") ? vs->model
			: !strcmp(what, "gatewaydev") ? vs->gatewaydev
			: !strcmp(what, "nic") ? vs->nic
			: !strcmp(what, "mode") ? vs->mode
			: !strcmp(what, "pool") ? vs->pool : "?";
		snprintf(out, len, "%s", s);
	}
}

static void test_vifspec_parse_valid(void)
{
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct xnt_vifspec vs;
		char err[256], got[300];
		int rc = xnt_vifspec_parse(c->spec, &vs, err, sizeof(err));

		if (rc != 0)
			fprintf(stderr, "  '%s' rejected: %s\n", c->spec, err);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc)
			continue;
		fmt_field(&vs, c->what, got, sizeof(got));
		if (strcmp(got, c->want))
			fprintf(stderr, "  '%s': %s is '%s', want '%s'\n", c->spec,
				c->what, got, c->want);
		CU_ASSERT_STRING_EQUAL(got, c->want);
	}
}

static void test_vifspec_parse_invalid(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct xnt_vifspec vs;
		char err[256] = "";
		int rc = xnt_vifspec_parse(c->spec, &vs, err, sizeof(err));

		if (rc == 0 || !strstr(err, c->needle))
			fprintf(stderr, "  '%s': rc %d, error '%s', want '%s'\n",
				c->spec, rc, err, c->needle);
		CU_ASSERT_NOT_EQUAL(rc, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, c->needle));
		/* One line: the CLI prints it as its one-line reason. */
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
	}
}

static void test_vifspec_parse_keys_recorded(void)
{
	struct xnt_vifspec vs;
	char err[256];

	CU_ASSERT_EQUAL(xnt_vifspec_parse("bridge=b,devid=2", &vs, err, sizeof(err)), 0);
	CU_ASSERT_TRUE(xnt_vifspec_has(&vs, XNT_VK_BRIDGE));
	CU_ASSERT_TRUE(xnt_vifspec_has(&vs, XNT_VK_DEVID));
	CU_ASSERT_FALSE(xnt_vifspec_has(&vs, XNT_VK_MAC));
	CU_ASSERT_FALSE(xnt_vifspec_has(&vs, XNT_VK_RATE));
	CU_ASSERT_STRING_EQUAL(xnt_vifkey_name(XNT_VK_GATEWAYDEV), "gatewaydev");
}

static void test_parse_rate_overflow(void)
{
	uint64_t b;
	uint32_t us;
	char err[128];

	CU_ASSERT_EQUAL(xnt_parse_rate("4294967295GB/s@4294967295us", &b, &us,
				       err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "overflows"));
	CU_ASSERT_EQUAL(xnt_parse_rate("4GB/s@1s", &b, &us, err,
				       sizeof(err)), 0);
	CU_ASSERT_EQUAL(b, 4000000000ull);
	CU_ASSERT_EQUAL(us, 1000000);
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "vifspec_parse_valid", test_vifspec_parse_valid },
		{ "vifspec_parse_invalid", test_vifspec_parse_invalid },
		{ "vifspec_parse_keys_recorded", test_vifspec_parse_keys_recorded },
		{ "parse_rate_overflow", test_parse_rate_overflow },
	};

	return CUNIT_RUN("vifspec", NULL, NULL, tests);
}
