/*
 * test_netback_xenbus.c — xnetback's control-side helpers that need no
 * xenstore: device path and MAC parsing, and the TAP offloads chosen from a
 * frontend's features.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include "cunit_run.h"
#include <linux/if_tun.h>

#include "netback/xnb_vif.h"

static void test_parse_dev_path_table(void)
{
	static const struct { const char *in; int rc; uint32_t domid, devid; } cases[] = {
		{ "3/0", 0, 3, 0 },
		{ "3/0/state", 0, 3, 0 },
		{ "12/7/hotplug-status", 0, 12, 7 },
		{ "3", -EINVAL, 0, 0 },
		{ "", -EINVAL, 0, 0 },
		{ "/0", -EINVAL, 0, 0 },
		{ "3/", -EINVAL, 0, 0 },
		{ "x/0", -EINVAL, 0, 0 },
		{ "3/-1", -EINVAL, 0, 0 },
		{ "3/65536", -EINVAL, 0, 0 },
		{ "32752/0", -EINVAL, 0, 0 },	/* DOMID_FIRST_RESERVED */
		{ " 3/0", -EINVAL, 0, 0 },
		{ "3/0x1", -EINVAL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t d = 99, v = 99;
		int rc = xnb_parse_dev_path(cases[i].in, &d, &v);

		if (rc != cases[i].rc)
			printf("\n  case '%s': rc %d\n", cases[i].in, rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0) {
			CU_ASSERT_EQUAL(d, cases[i].domid);
			CU_ASSERT_EQUAL(v, cases[i].devid);
		}
	}
}

static void test_parse_mac_table(void)
{
	static const struct { const char *in; int rc; } cases[] = {
		{ "00:16:3e:01:02:03", 0 },
		{ "00:16:3E:AB:cd:Ef", 0 },
		{ "00:16:3e:01:02", -EINVAL },
		{ "00:16:3e:01:02:03:04", -EINVAL },
		{ "00:16:3e:01:02:3", -EINVAL },
		{ "00-16-3e-01-02-03", -EINVAL },
		{ "0g:16:3e:01:02:03", -EINVAL },
		{ "", -EINVAL },
		{ "00:16:3e:01:02:03 ", -EINVAL },
	};
	uint8_t mac[6];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = xnb_parse_mac(cases[i].in, mac);

		if (rc != cases[i].rc)
			printf("\n  case '%s': rc %d\n", cases[i].in, rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
	}
	CU_ASSERT_EQUAL(xnb_parse_mac("00:16:3E:AB:cd:Ef", mac), 0);
	CU_ASSERT(mac[0] == 0 && mac[1] == 0x16 && mac[2] == 0x3e && mac[3] == 0xab &&
		  mac[4] == 0xcd && mac[5] == 0xef);
}

static void test_tap_offloads_table(void)
{
	static const struct { struct xnb_feat f; unsigned off; } cases[] = {
		{ { 0 }, 0 },
		{ { .ip_csum = true }, 0 },	/* IPv6 blank checksums not taken */
		{ { .ip_csum = true, .ipv6_csum = true }, TUN_F_CSUM },
		{ { .ip_csum = true, .ipv6_csum = true, .gso_tcpv4 = true }, TUN_F_CSUM },
		{ { .ip_csum = true, .ipv6_csum = true, .sg = true, .gso_tcpv4 = true },
		  TUN_F_CSUM | TUN_F_TSO4 },
		{ { .ip_csum = true, .ipv6_csum = true, .sg = true, .gso_tcpv4 = true,
		    .gso_tcpv6 = true }, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 },
		{ { .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true }, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(xnb_tap_offloads(&cases[i].f), cases[i].off);
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "parse_dev_path_table", test_parse_dev_path_table },
		{ "parse_mac_table", test_parse_mac_table },
		{ "tap_offloads_table", test_tap_offloads_table },
	};

	return CUNIT_RUN("netback_xenbus", NULL, NULL, tests);
}
