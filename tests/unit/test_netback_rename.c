/*
 * test_netback_rename.c — netback/rename.c: xnetback's vifs follow renames.
 * A backend with one vif whose "TAP" is a veth end, in a network namespace
 * of this test's own (so the links are private to the run) and a sim
 * xenstore (xnet-simd from $XNET_BIN; skipped if missing):
 *   - record writes vifname and vif-linkid;
 *   - renaming the link updates the vif's name and both keys;
 *   - renaming another link changes nothing;
 *   - a vif whose directory is gone is followed but the directory is
 *     never recreated; a dead vif is not followed.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include "cunit_run.h"

#include "netback/xnb_vif.h"
#include "xnx_link.h"
#include "xnx_sim.h"
#include "xnx_xs.h"

#define WAIT_MS 5000

static char simdir[64];
static pid_t simd_pid = -1;
static bool ready;
static struct xnb_backend be;
static struct xnb_vif vif;
static char la[16], lb[16], lc[16];	/* the vif's link, renamed; another */

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool store_answers(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ok;

	if (xnx_sim_store_path(0, sa.sun_path, sizeof(sa.sun_path)) < 0)
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

static char *key(const char *k)
{
	return xnx_xs_read(be.xs, XBT_NULL, vif.path, k);
}

static bool key_is(const char *k, const char *want)
{
	char *v = key(k);
	bool ok = v && !strcmp(v, want);

	free(v);
	return ok;
}

/* Run the backend's part of the loop (the link watch) until the vif's name
 * is WANT or the time is up. */
static bool pump_until_name(const char *want)
{
	for (int t = 0; t < WAIT_MS; t += 20) {
		struct epoll_event ev;

		if (epoll_wait(be.epfd, &ev, 1, 20) == 1 &&
		    ((struct xnb_ep *)ev.data.ptr)->kind == XNB_EP_LINK)
			xnb_rename_event(&be);
		if (!strcmp(vif.tap.name, want))
			return true;
	}
	return false;
}

/* Pump for a while (nothing is expected to happen). */
static void pump(int ms)
{
	for (int t = 0; t < ms; t += 20) {
		struct epoll_event ev;

		if (epoll_wait(be.epfd, &ev, 1, 20) == 1)
			xnb_rename_event(&be);
	}
}

static int suite_init(void)
{
	const char *b = getenv("XNET_BIN");
	char simd[PATH_MAX + 16];
	unsigned id;

	be.epfd = -1;
	snprintf(simd, sizeof(simd), "%s/xnet-simd", b && *b ? b : "build/bin");
	if (access(simd, X_OK) < 0 || unshare(CLONE_NEWNET) < 0) {
		printf("\n  (no xnet-simd in $XNET_BIN, or no new network namespace: skipped)\n");
		return 0;
	}
	snprintf(simdir, sizeof(simdir), "/tmp/nbren.XXXXXX");
	if (!mkdtemp(simdir))
		return 1;
	setenv("XNET_SIM_DIR", simdir, 1);
	setenv("XNET_DOMID", "0", 1);
	setenv("XNET_PLATFORM", "sim", 1);
	simd_pid = fork();
	if (simd_pid == 0) {
		execl(simd, simd, "--foreground", "--dir", simdir, (char *)NULL);
		_exit(127);
	}
	for (int t = 0; t < WAIT_MS && !store_answers(); t += 10)
		sleep_ms(10);
	be.xs = xnx_xs_open();
	be.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!be.xs || be.epfd < 0)
		return 1;
	snprintf(la, sizeof(la), "rna%d", (int)getpid() % 100000);
	snprintf(lb, sizeof(lb), "rnb%d", (int)getpid() % 100000);
	snprintf(lc, sizeof(lc), "rnc%d", (int)getpid() % 100000);
	if (sh("ip link add name %s type veth peer name %s", la, lc) != 0 ||
	    xnx_link_id(NULL, la, &id) < 0)
		return 1;
	vif.be = &be;
	vif.tap.fd = -1;
	vif.tap.ifindex = (int)id;
	snprintf(vif.tap.name, sizeof(vif.tap.name), "%s", la);
	snprintf(vif.path, sizeof(vif.path), "/local/domain/0/backend/vif/7/0");
	if (xnx_xs_printf(be.xs, XBT_NULL, vif.path, "state", "2") < 0)
		return 1;
	be.vifs = &vif;
	ready = xnb_rename_open(&be) == 0;
	return ready ? 0 : 1;
}

static int suite_clean(void)
{
	int st;

	xnb_rename_close(&be);
	if (be.xs)
		xs_close(be.xs);
	if (be.epfd >= 0)
		close(be.epfd);
	if (simd_pid > 0) {
		kill(simd_pid, SIGTERM);
		waitpid(simd_pid, &st, 0);
	}
	if (simdir[0])
		sh("rm -rf %s%s", simdir, "");
	return 0;	/* the namespace and its links go with this process */
}

static void test_rename_record(void)
{
	char id[16];

	if (!ready)
		return;
	snprintf(id, sizeof(id), "%d", vif.tap.ifindex);
	CU_ASSERT_EQUAL(xnb_rename_record(&vif), 0);
	CU_ASSERT(key_is("vifname", la));
	CU_ASSERT(key_is("vif-linkid", id));
}

static void test_rename_follows(void)
{
	char id[16];

	if (!ready)
		return;
	snprintf(id, sizeof(id), "%d", vif.tap.ifindex);
	CU_ASSERT_EQUAL(sh("ip link set dev %s name %s", la, lb), 0);
	CU_ASSERT(pump_until_name(lb));
	CU_ASSERT(key_is("vifname", lb));
	CU_ASSERT(key_is("vif-linkid", id));
}

static void test_rename_other_link_ignored(void)
{
	char other[24];

	if (!ready)
		return;
	snprintf(other, sizeof(other), "%sx", lc);
	CU_ASSERT_EQUAL(sh("ip link set dev %s name %s", lc, other), 0);
	pump(300);
	CU_ASSERT_STRING_EQUAL(vif.tap.name, lb);
	CU_ASSERT(key_is("vifname", lb));
}

static void test_rename_dir_gone_not_recreated(void)
{
	char *dir;

	if (!ready)
		return;
	CU_ASSERT(xs_rm(be.xs, XBT_NULL, vif.path));
	CU_ASSERT_EQUAL(sh("ip link set dev %s name %s", lb, la), 0);
	CU_ASSERT(pump_until_name(la));
	dir = xnx_xs_read(be.xs, XBT_NULL, vif.path, NULL);
	CU_ASSERT_PTR_NULL(dir);
	free(dir);
}

static void test_rename_dead_vif_ignored(void)
{
	if (!ready)
		return;
	vif.dead = true;
	CU_ASSERT_EQUAL(sh("ip link set dev %s name %s", la, lb), 0);
	pump(300);
	CU_ASSERT_STRING_EQUAL(vif.tap.name, la);
	vif.dead = false;
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "rename_record", test_rename_record },
		{ "rename_follows", test_rename_follows },
		{ "rename_other_link_ignored", test_rename_other_link_ignored },
		{ "rename_dir_gone_not_recreated", test_rename_dir_gone_not_recreated },
		{ "rename_dead_vif_ignored", test_rename_dead_vif_ignored },
	};

	return CUNIT_RUN("netback_rename", suite_init, suite_clean, tests);
}
