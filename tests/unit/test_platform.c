/*
 * test_platform.c — the platform layer against a real xnet-simd (started in
 * a temporary XNET_SIM_DIR): domains, grant share/map/copy with Xen's status
 * codes, read-only grants, unshare while in use, event channels between
 * processes, domain destruction, clients killed mid-use, and the xen
 * platform failing cleanly without /dev/xen.
 *
 * A handle acts for the domain named by XNET_DOMID when it is opened, so one
 * process can hold handles of several domains; the tests that must cross a
 * process boundary fork.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform_sim.h"
#include "xnx_platform.h"
#include "xnx_sim.h"
#include "xnx_simproto.h"

#ifndef PAGE
#define PAGE 4096
#endif
#define WAIT_MS 5000

static char sim_dir[256];
static pid_t simd_pid = -1;

/* ---- helpers ------------------------------------------------------------ */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void nap(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static const char *bin_dir(void)
{
	const char *b = getenv("XNET_BIN");

	return b && *b ? b : "build/bin";
}

/* Wait (bounded) until domain 0's hypervisor socket accepts. */
static int wait_sock(void)
{
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end; nap()) {
		int fd = xnx_simproto_connect(0);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
	}
	return -1;
}

static pid_t spawn_simd_nofile(const char *dir, bool fg, rlim_t nofile)
{
	char path[512];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/xnet-simd", bin_dir());
	pid = fork();
	if (pid == 0) {
		/* If this test dies, its daemon goes too (and removes its
		 * sockets). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (nofile) {
			struct rlimit rl = { nofile, nofile };
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (fg)
			execl(path, "xnet-simd", "--foreground", "--dir", dir, (char *)NULL);
		else
			execl(path, "xnet-simd", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static pid_t spawn_simd(const char *dir, bool fg)
{
	return spawn_simd_nofile(dir, fg, 0);
}

/* Wait for PID to exit (bounded); its status or -1. */
static int wait_exit(pid_t pid)
{
	int st;

	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end; nap()) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -1;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void rm_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static int suite_init(void)
{
	snprintf(sim_dir, sizeof(sim_dir), "/tmp/xnet-test-platform.XXXXXX");
	if (!mkdtemp(sim_dir))
		return -1;
	setenv("XNET_SIM_DIR", sim_dir, 1);
	setenv("XNET_PLATFORM", "sim", 1);
	setenv("XNET_DOMID", "0", 1);
	signal(SIGPIPE, SIG_IGN);
	simd_pid = spawn_simd(sim_dir, true);
	if (simd_pid < 0 || wait_sock() < 0) {
		fprintf(stderr, "xnet-simd did not come up in %s (XNET_BIN=%s)\n",
			sim_dir, bin_dir());
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	int st = -1;

	if (simd_pid > 0) {
		kill(simd_pid, SIGTERM);
		st = wait_exit(simd_pid);
	}
	rm_tree(sim_dir);
	return st == 0 ? 0 : -1;
}

static void as_domain(uint32_t domid)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", domid);
	setenv("XNET_DOMID", v, 1);
}

static xnx_gntshr *gntshr_as(uint32_t domid)
{
	as_domain(domid);
	xnx_gntshr *h = xnx_gntshr_open();
	as_domain(0);
	return h;
}

static xnx_gnttab *gnttab_as(uint32_t domid)
{
	as_domain(domid);
	xnx_gnttab *h = xnx_gnttab_open();
	as_domain(0);
	return h;
}

static xnx_evtchn *evtchn_as(uint32_t domid)
{
	as_domain(domid);
	xnx_evtchn *h = xnx_evtchn_open();
	as_domain(0);
	return h;
}

static uint32_t new_domain(const char *tag, uint32_t flags)
{
	static unsigned seq;
	char name[64];
	uint32_t domid = 0;

	snprintf(name, sizeof(name), "%s-%d-%u", tag, (int)getpid(), seq++);
	CU_ASSERT_FATAL(xnx_sim_domain_create(name, flags, &domid) == 0);
	CU_ASSERT(domid > 0);
	return domid;
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* One copy segment; returns its status. */
static int copy1(xnx_gnttab *h, bool from_gref, uint16_t domid, uint32_t ref,
		 uint16_t off, void *local, uint16_t len)
{
	xengnttab_grant_copy_segment_t s = { .len = len };

	if (from_gref) {
		s.flags = GNTCOPY_source_gref;
		s.source.foreign.domid = domid;
		s.source.foreign.ref = ref;
		s.source.foreign.offset = off;
		s.dest.virt = local;
	} else {
		s.flags = GNTCOPY_dest_gref;
		s.dest.foreign.domid = domid;
		s.dest.foreign.ref = ref;
		s.dest.foreign.offset = off;
		s.source.virt = local;
	}
	s.status = 99;
	if (xnx_gnttab_grant_copy(h, 1, &s) != 0)
		return 1000 + errno;
	return s.status;
}

/* Wait for the next event on H; returns the port or -1 on timeout. */
static int next_event(xnx_evtchn *h)
{
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end;) {
		int port = xnx_evtchn_pending(h);

		if (port >= 0)
			return port;
		readable(xnx_evtchn_fd(h), 100);
	}
	return -1;
}

/* Messages between a test and its forked child. */
static int send_u32s(int fd, const uint32_t *v, size_t n)
{
	return write(fd, v, n * sizeof(*v)) == (ssize_t)(n * sizeof(*v)) ? 0 : -1;
}

static int recv_u32s(int fd, uint32_t *v, size_t n)
{
	if (!readable(fd, WAIT_MS))
		return -1;
	return read(fd, v, n * sizeof(*v)) == (ssize_t)(n * sizeof(*v)) ? 0 : -1;
}

/* ---- domains, platform selection ---------------------------------------- */

static void test_domain_lifecycle(void)
{
	struct xnx_sim_domain d, list[XNX_SIM_MAX_DOMAINS];
	char name[64], path[512];
	uint32_t domid, again;
	struct stat sb;
	int n, seen = 0;

	snprintf(name, sizeof(name), "life-%d", (int)getpid());
	CU_ASSERT_FATAL(xnx_sim_domain_create(name, XNX_SIM_DOM_DRIVER, &domid) == 0);
	CU_ASSERT(xnx_sim_domain_create(name, 0, &again) == -1 && errno == EEXIST);
	CU_ASSERT(xnx_sim_domain_create("", 0, &again) == -1 && errno == EINVAL);
	CU_ASSERT(xnx_sim_domain_create("a/b", 0, &again) == -1 && errno == EINVAL);
	CU_ASSERT(xnx_sim_domain_lookup(name, &d) == 0);
	CU_ASSERT(d.domid == domid && d.flags == XNX_SIM_DOM_DRIVER && strcmp(d.name, name) == 0);
	CU_ASSERT(xnx_sim_domain_lookup("Domain-0", &d) == 0 && d.domid == 0);
	n = xnx_sim_domain_list(list, (int)XNX_SIM_MAX_DOMAINS);
	CU_ASSERT(n >= 2);
	for (int i = 0; i < n && i < (int)XNX_SIM_MAX_DOMAINS; i++)
		seen += list[i].domid == domid || list[i].domid == 0;
	CU_ASSERT(seen == 2);
	xnx_sim_hyp_path(domid, path, sizeof(path));
	CU_ASSERT(stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode));
	CU_ASSERT(xnx_sim_domain_destroy(domid) == 0);
	CU_ASSERT(stat(path, &sb) == -1 && errno == ENOENT);
	CU_ASSERT(xnx_sim_domain_lookup(name, &d) == -1 && errno == ENOENT);
	CU_ASSERT(xnx_sim_domain_destroy(domid) == -1 && errno == ENOENT);
	CU_ASSERT(xnx_sim_domain_destroy(0) == -1 && errno == EPERM);
	/* Ids are not reused. */
	CU_ASSERT(xnx_sim_domain_create(name, 0, &again) == 0 && again > domid);
	CU_ASSERT(xnx_sim_domain_destroy(again) == 0);
}

static void test_domain_ops_need_control_socket(void)
{
	uint32_t g = new_domain("ctl", 0);
	struct xnx_simproto_req req = { .op = XNX_SIMOP_DOM_CREATE };
	struct xnx_simproto_rsp rsp;
	int fd = xnx_simproto_connect(g);

	CU_ASSERT_FATAL(fd >= 0);
	strcpy(req.name, "sneaky");
	CU_ASSERT(xnx_simproto_call(fd, &req, &rsp, sizeof(rsp), NULL, 0) == -EPERM);
	req.op = XNX_SIMOP_WHOAMI;
	CU_ASSERT(xnx_simproto_call(fd, &req, &rsp, sizeof(rsp), NULL, 0) == 0);
	CU_ASSERT(rsp.val[0] == g);
	close(fd);
	CU_ASSERT(xnx_sim_domain_destroy(g) == 0);
}

static void test_bad_requests_keep_daemon_serving(void)
{
	uint8_t junk[40] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
	struct xnx_simproto_req req = { .op = XNX_SIMOP_WHOAMI, .count = 5 };
	struct xnx_simproto_rsp rsp;
	int fd = xnx_simproto_connect(0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(send(fd, junk, sizeof(junk), 0) == sizeof(junk));
	CU_ASSERT(recv(fd, &rsp, sizeof(rsp), 0) == sizeof(rsp) && rsp.err == -EPROTO);
	/* count promises data that is not there */
	CU_ASSERT(send(fd, &req, sizeof(req), 0) == sizeof(req));
	CU_ASSERT(recv(fd, &rsp, sizeof(rsp), 0) == sizeof(rsp) && rsp.err == -EPROTO);
	req.count = 0;
	req.op = 9999;
	CU_ASSERT(xnx_simproto_call(fd, &req, &rsp, sizeof(rsp), NULL, 0) == -EPROTO);
	req.op = XNX_SIMOP_WHOAMI;
	CU_ASSERT(xnx_simproto_call(fd, &req, &rsp, sizeof(rsp), NULL, 0) == 0);
	close(fd);
}

static void test_platform_selection(void)
{
	CU_ASSERT(xnx_platform_init() == 0);
	CU_ASSERT(xnx_platform() == XNX_PLATFORM_SIM);
	CU_ASSERT_STRING_EQUAL(xnx_platform_name(), "sim");
	setenv("XNET_DOMID", "42", 1);
	CU_ASSERT(xnx_self_domid() == 42);
	setenv("XNET_DOMID", "4x", 1);
	CU_ASSERT(xnx_self_domid() == -1 && errno == EINVAL);
	setenv("XNET_DOMID", "-1", 1);
	CU_ASSERT(xnx_self_domid() == -1 && errno == EINVAL);
	setenv("XNET_DOMID", "99999", 1);
	CU_ASSERT(xnx_self_domid() == -1 && errno == EINVAL);
	unsetenv("XNET_DOMID");
	CU_ASSERT(xnx_self_domid() == 0);
	as_domain(0);
}

/* In a fresh process (exec of this program), so the process-wide platform
 * choice starts afresh. */
static void check_child(const char *name)
{
	pid_t pid = fork();
	int st;

	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_platform", "--child", name, (char *)NULL);
		_exit(126);
	}
	st = wait_exit(pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "child %s: status %#x\n", name, st);
}

#define CHILD_CHECK(cond, code) do { if (!(cond)) _exit(code); } while (0)

static void xen_without_dev(void)
{
	setenv("XNET_PLATFORM", "xen", 1);
	CHILD_CHECK(xnx_platform_init() == 0, 2);
	CHILD_CHECK(xnx_platform() == XNX_PLATFORM_XEN, 3);
	errno = 0;
	CHILD_CHECK(xnx_gnttab_open() == NULL && errno == ENOENT, 4);
	CHILD_CHECK(xnx_gntshr_open() == NULL && errno == ENOENT, 5);
	CHILD_CHECK(xnx_evtchn_open() == NULL && errno == ENOENT, 6);
	CHILD_CHECK(xnx_self_domid() == -1, 7);
}

static void bad_platform_value(void)
{
	setenv("XNET_PLATFORM", "vmware", 1);
	CHILD_CHECK(xnx_platform_init() == -1 && errno == EINVAL, 2);
	CHILD_CHECK(xnx_gnttab_open() == NULL && errno == EINVAL, 3);
}

static void auto_without_dev(void)
{
	unsetenv("XNET_PLATFORM");
	CHILD_CHECK(xnx_platform() == XNX_PLATFORM_SIM, 2);
	CHILD_CHECK(strcmp(xnx_platform_name(), "sim") == 0, 3);
}

static void test_xen_fails_cleanly(void)
{
	if (access("/dev/xen/privcmd", F_OK) == 0) {
		fprintf(stderr, "(skipped: this host has /dev/xen) ");
		return;
	}
	check_child("xen-without-dev");
	check_child("bad-platform");
	check_child("auto-without-dev");
}

/* ---- grants ------------------------------------------------------------- */

/* The guest (child) shares 2 pages with dom0, dom0 (parent) maps and copies
 * both ways; the guest sees dom0's writes; unshare is refused while mapped. */
static void guest_share(int sock, uint32_t domid)
{
	uint32_t refs[2], msg[2];
	xnx_gntshr *sh;
	uint8_t *p;

	as_domain(domid);
	sh = xnx_gntshr_open();
	CHILD_CHECK(sh, 2);
	p = xnx_gntshr_share_pages(sh, 0, 2, refs, 1);
	CHILD_CHECK(p, 3);
	CHILD_CHECK(p[0] == 0 && p[PAGE + 100] == 0, 4);	/* zeroed */
	memset(p, 0xa1, PAGE);
	memset(p + PAGE, 0xb2, PAGE);
	CHILD_CHECK(send_u32s(sock, refs, 2) == 0, 5);
	CHILD_CHECK(recv_u32s(sock, msg, 1) == 0, 6);		/* dom0 mapped + copied */
	CHILD_CHECK(p[10] == 0x5a && p[PAGE + 4000] == 0x77, 7);
	CHILD_CHECK(xnx_gntshr_unshare(sh, p, 2) == -1 && errno == EBUSY, 8);
	CHILD_CHECK(p[11] == 0x5a, 9);				/* nothing changed */
	msg[0] = 1;
	CHILD_CHECK(send_u32s(sock, msg, 1) == 0, 10);
	CHILD_CHECK(recv_u32s(sock, msg, 1) == 0, 11);		/* dom0 unmapped */
	CHILD_CHECK(xnx_gntshr_unshare(sh, p, 2) == 0, 12);
	CHILD_CHECK(xnx_gntshr_close(sh) == 0, 13);
}

static void test_share_map_copy_two_processes(void)
{
	uint32_t g = new_domain("share", 0), refs[2], msg[1] = { 1 };
	uint8_t buf[PAGE];
	int sv[2];
	pid_t pid;

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		guest_share(sv[1], g);
		_exit(0);
	}
	close(sv[1]);
	xnx_gnttab *gt = xnx_gnttab_open();
	CU_ASSERT_FATAL(gt != NULL);
	CU_ASSERT_FATAL(recv_u32s(sv[0], refs, 2) == 0);
	uint8_t *m = xnx_gnttab_map_grant_refs(gt, 2, g, refs, PROT_READ | PROT_WRITE);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(m[0] == 0xa1 && m[PAGE - 1] == 0xa1 && m[PAGE] == 0xb2);
	memset(m + 10, 0x5a, 2);
	/* grant copy both ways */
	CU_ASSERT(copy1(gt, true, g, refs[1], 100, buf, 200) == GNTST_okay);
	CU_ASSERT(buf[0] == 0xb2 && buf[199] == 0xb2);
	memset(buf, 0x77, 96);
	CU_ASSERT(copy1(gt, false, g, refs[1], 4000, buf, 96) == GNTST_okay);
	CU_ASSERT(m[PAGE + 4000] == 0x77 && m[PAGE + 3999] == 0xb2);
	CU_ASSERT(send_u32s(sv[0], msg, 1) == 0);
	CU_ASSERT(recv_u32s(sv[0], msg, 1) == 0);		/* unshare was refused */
	CU_ASSERT(m[0] == 0xa1);				/* still our mapping */
	CU_ASSERT(xnx_gnttab_unmap(gt, m, 2) == 0);
	CU_ASSERT(send_u32s(sv[0], msg, 1) == 0);
	int st = wait_exit(pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "guest child failed at step %d\n", WEXITSTATUS(st));
	xnx_gnttab_close(gt);
	close(sv[0]);
	CU_ASSERT(xnx_sim_domain_destroy(g) == 0);
}

static void test_copy_status_codes(void)
{
	uint32_t g = new_domain("codes", 0), other = new_domain("codes-o", 0);
	uint32_t drv = new_domain("codes-d", XNX_SIM_DOM_DRIVER);
	xnx_gntshr *sh = gntshr_as(g);
	xnx_gnttab *gt0 = xnx_gnttab_open(), *gto = gnttab_as(other), *gtd = gnttab_as(drv);
	uint32_t rw, ro, to_other, to_drv;
	uint8_t buf[PAGE];

	CU_ASSERT_FATAL(sh && gt0 && gto && gtd);
	uint8_t *prw = xnx_gntshr_share_pages(sh, 0, 1, &rw, 1);
	uint8_t *pro = xnx_gntshr_share_pages(sh, 0, 1, &ro, 0);
	uint8_t *po = xnx_gntshr_share_pages(sh, other, 1, &to_other, 1);
	uint8_t *pd = xnx_gntshr_share_pages(sh, drv, 1, &to_drv, 1);
	CU_ASSERT_FATAL(prw && pro && po && pd);
	CU_ASSERT(rw >= GNTTAB_NR_RESERVED_ENTRIES && rw != ro);
	memset(pro, 0x3c, PAGE);

	CU_ASSERT(copy1(gt0, true, g, rw, 0, buf, 64) == GNTST_okay);
	CU_ASSERT(copy1(gt0, true, g, XNX_SIM_MAX_REFS, 0, buf, 64) == GNTST_bad_gntref);
	CU_ASSERT(copy1(gt0, true, g, 0xffffffffu, 0, buf, 64) == GNTST_bad_gntref);
	/* As Xen: an entry not granted to us, a free entry, a write to a
	 * read-only grant are GNTST_general_error. */
	CU_ASSERT(copy1(gt0, true, g, to_other, 0, buf, 64) == GNTST_general_error);
	CU_ASSERT(copy1(gt0, true, g, XNX_SIM_MAX_REFS - 1, 0, buf, 64) == GNTST_general_error);
	CU_ASSERT(copy1(gt0, false, g, ro, 0, buf, 64) == GNTST_general_error);
	CU_ASSERT(pro[0] == 0x3c);
	CU_ASSERT(copy1(gt0, true, g, ro, 0, buf, 64) == GNTST_okay && buf[63] == 0x3c);
	CU_ASSERT(copy1(gt0, true, g, rw, 4000, buf, 97) == GNTST_bad_copy_arg);
	CU_ASSERT(copy1(gt0, false, g, rw, 1, buf, PAGE) == GNTST_bad_copy_arg);
	CU_ASSERT(copy1(gt0, true, g, rw, 4000, buf, 96) == GNTST_okay);
	CU_ASSERT(copy1(gt0, true, 7000, rw, 0, buf, 64) == GNTST_bad_domain);
	/* Only dom0 and driver domains copy others' grants. */
	CU_ASSERT(copy1(gto, true, g, to_other, 0, buf, 64) == GNTST_permission_denied);
	memset(buf, 0x44, 64);
	CU_ASSERT(copy1(gtd, false, g, to_drv, 8, buf, 64) == GNTST_okay);
	CU_ASSERT(pd[8] == 0x44 && pd[71] == 0x44 && pd[72] == 0);

	/* A batch: statuses per segment, good ones done. */
	xengnttab_grant_copy_segment_t segs[3] = {
		{ .flags = GNTCOPY_source_gref, .source.foreign = { rw, 0, (uint16_t)g },
		  .dest.virt = buf, .len = 8 },
		{ .flags = GNTCOPY_source_gref, .source.foreign = { 3, 0, (uint16_t)g },
		  .dest.virt = buf, .len = 8 },
		{ .flags = GNTCOPY_dest_gref, .dest.foreign = { rw, 16, (uint16_t)g },
		  .source.virt = buf, .len = 8 },
	};
	memset(prw, 0x11, 8);
	CU_ASSERT(xnx_gnttab_grant_copy(gt0, 3, segs) == 0);
	CU_ASSERT(segs[0].status == GNTST_okay && segs[1].status == GNTST_general_error &&
		  segs[2].status == GNTST_okay);
	CU_ASSERT(prw[16] == 0x11 && prw[23] == 0x11);
	/* consecutive segments on one grant (kept pinned between them) */
	xengnttab_grant_copy_segment_t same[4];
	for (int i = 0; i < 4; i++)
		same[i] = (xengnttab_grant_copy_segment_t){
			.flags = GNTCOPY_source_gref | (i == 3 ? GNTCOPY_dest_gref : 0),
			.source.foreign = { rw, (uint16_t)(i * 8), (uint16_t)g },
			.len = 8 };
	for (int i = 0; i < 3; i++)
		same[i].dest.virt = buf + 100 + i * 8;
	same[3].dest.foreign.ref = rw;
	same[3].dest.foreign.offset = 200;
	same[3].dest.foreign.domid = (uint16_t)g;
	CU_ASSERT(xnx_gnttab_grant_copy(gt0, 4, same) == 0);
	CU_ASSERT(same[0].status == GNTST_okay && same[2].status == GNTST_okay);
	CU_ASSERT(same[3].status == GNTST_okay && prw[200] == prw[24]);
	CU_ASSERT(memcmp(buf + 100, prw, 24) == 0);
	/* local to local is no grant copy */
	segs[0].flags = 0;
	CU_ASSERT(xnx_gnttab_grant_copy(gt0, 1, segs) == -1 && errno == EINVAL);

	/* Every copy released its pins: everything can be unshared. */
	CU_ASSERT(xnx_gntshr_unshare(sh, prw, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, pro, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, po, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, pd, 1) == 0);
	CU_ASSERT(copy1(gt0, true, g, rw, 0, buf, 64) == GNTST_general_error);
	xnx_gntshr_close(sh);
	xnx_gnttab_close(gt0);
	xnx_gnttab_close(gto);
	xnx_gnttab_close(gtd);
	xnx_sim_domain_destroy(g);
	xnx_sim_domain_destroy(other);
	xnx_sim_domain_destroy(drv);
}

static void test_map_errors(void)
{
	uint32_t g = new_domain("maperr", 0), other = new_domain("maperr-o", 0);
	xnx_gntshr *sh = gntshr_as(g);
	xnx_gnttab *gt0 = xnx_gnttab_open(), *gto = gnttab_as(other);
	uint32_t ref, ref_o;

	CU_ASSERT_FATAL(sh && gt0 && gto);
	void *p = xnx_gntshr_share_pages(sh, 0, 1, &ref, 1);
	void *po = xnx_gntshr_share_pages(sh, other, 1, &ref_o, 1);
	CU_ASSERT_FATAL(p && po);
	CU_ASSERT(xnx_gnttab_map_grant_ref(gt0, g, XNX_SIM_MAX_REFS + 5, PROT_READ) == NULL &&
		  errno == EINVAL);
	CU_ASSERT(xnx_gnttab_map_grant_ref(gt0, g, ref_o, PROT_READ) == NULL && errno == EACCES);
	CU_ASSERT(xnx_gnttab_map_grant_ref(gt0, 7001, ref, PROT_READ) == NULL && errno == ESRCH);
	CU_ASSERT(xnx_gnttab_map_grant_ref(gto, g, ref_o, PROT_READ) == NULL && errno == EPERM);
	/* a batch with one bad ref maps nothing and leaves no pin behind */
	uint32_t refs[2] = { ref, 5 };
	CU_ASSERT(xnx_gnttab_map_grant_refs(gt0, 2, g, refs, PROT_READ) == NULL);
	CU_ASSERT(xnx_gnttab_unmap(gt0, p, 1) == -1 && errno == EINVAL);
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, po, 1) == 0);
	xnx_gntshr_close(sh);
	xnx_gnttab_close(gt0);
	xnx_gnttab_close(gto);
	xnx_sim_domain_destroy(g);
	xnx_sim_domain_destroy(other);
}

static void on_segv(int sig)
{
	_exit(42);
}

/* In a child: a write to a read-only mapping must fault. */
static void write_ro_page(void *arg)
{
	struct sigaction sa = { .sa_handler = on_segv };

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	*(volatile uint8_t *)arg = 1;
}

static void test_readonly_grant(void)
{
	uint32_t g = new_domain("ro", 0), ref;
	xnx_gntshr *sh = gntshr_as(g);
	xnx_gnttab *gt = xnx_gnttab_open();

	CU_ASSERT_FATAL(sh && gt);
	uint8_t *p = xnx_gntshr_share_pages(sh, 0, 1, &ref, 0);
	CU_ASSERT_FATAL(p != NULL);
	p[5] = 0x99;
	CU_ASSERT(xnx_gnttab_map_grant_ref(gt, g, ref, PROT_READ | PROT_WRITE) == NULL &&
		  errno == EACCES);
	uint8_t *m = xnx_gnttab_map_grant_ref(gt, g, ref, PROT_READ);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(m[5] == 0x99);
	/* The mapping cannot be made writable, and a write faults. */
	CU_ASSERT(mprotect(m, PAGE, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
	pid_t pid = fork();
	if (pid == 0) {
		write_ro_page(m);
		_exit(0);
	}
	int st = wait_exit(pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 42);
	CU_ASSERT(p[0] == 0);
	/* A read-write map of a read-write grant that is read-only mapped
	 * elsewhere is fine; the read-only grant stays read-only. */
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 1) == -1 && errno == EBUSY);
	CU_ASSERT(xnx_gnttab_unmap(gt, m, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 1) == 0);
	xnx_gntshr_close(sh);
	xnx_gnttab_close(gt);
	xnx_sim_domain_destroy(g);
}

static void test_unshare_partial_and_busy(void)
{
	uint32_t g = new_domain("unsh", 0), refs[3];
	xnx_gntshr *sh = gntshr_as(g);
	xnx_gnttab *gt = xnx_gnttab_open();

	CU_ASSERT_FATAL(sh && gt);
	uint8_t *p = xnx_gntshr_share_pages(sh, 0, 3, refs, 1);
	CU_ASSERT_FATAL(p != NULL);
	p[2 * PAGE] = 7;
	uint8_t *m = xnx_gnttab_map_grant_ref(gt, g, refs[2], PROT_READ);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(m[0] == 7);
	/* The busy page makes the whole request fail and change nothing. */
	CU_ASSERT(xnx_gntshr_unshare(sh, p + PAGE, 2) == -1 && errno == EBUSY);
	CU_ASSERT(xnx_gntshr_unshare(sh, p + 1, 1) == -1 && errno == EINVAL);
	CU_ASSERT(xnx_gntshr_unshare(sh, p + PAGE, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, p + PAGE, 1) == -1 && errno == EINVAL);
	uint8_t b = 0;
	CU_ASSERT(copy1(gt, true, g, refs[1], 0, &b, 1) == GNTST_general_error);
	p[0] = 3;
	CU_ASSERT(copy1(gt, true, g, refs[0], 0, &b, 1) == GNTST_okay && b == 3);
	CU_ASSERT(xnx_gnttab_unmap(gt, m, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, p + 2 * PAGE, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 1) == 0);
	xnx_gntshr_close(sh);
	xnx_gnttab_close(gt);
	xnx_sim_domain_destroy(g);
}

/* XSA-396 class, the hypervisor's part: a grant its granter ends (or
 * leaves, closing its handle) while a peer maps it stays in force, and
 * its page goes to no new share until the peer unmaps it. */
static void test_mapped_page_never_reshared(void)
{
	uint32_t g = new_domain("kept", 0), ref, refs[64];
	xnx_gntshr *sh = gntshr_as(g);
	xnx_gnttab *gt = xnx_gnttab_open();
	unsigned stray = 0;

	CU_ASSERT_FATAL(sh && gt);
	uint8_t *p = xnx_gntshr_share_pages(sh, 0, 1, &ref, 1);
	CU_ASSERT_FATAL(p != NULL);
	memset(p, 0x11, PAGE);
	uint8_t *m = xnx_gnttab_map_grant_ref(gt, g, ref, PROT_READ);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 1) == -1 && errno == EBUSY);
	xnx_gntshr_close(sh);
	/* New shares of the same domain, all its lowest free pages taken. */
	sh = gntshr_as(g);
	CU_ASSERT_FATAL(sh != NULL);
	uint8_t *q = xnx_gntshr_share_pages(sh, 0, 64, refs, 1);
	CU_ASSERT_FATAL(q != NULL);
	memset(q, 0x22, 64 * PAGE);
	for (unsigned i = 0; i < PAGE; i++)
		stray += m[i] != 0x11;
	CU_ASSERT_EQUAL(stray, 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, q, 64) == 0);
	/* Unmapped, the deferred end completes: the ref is gone. */
	CU_ASSERT(xnx_gnttab_unmap(gt, m, 1) == 0);
	CU_ASSERT(xnx_gnttab_map_grant_ref(gt, g, ref, PROT_READ) == NULL);
	xnx_gntshr_close(sh);
	xnx_gnttab_close(gt);
	xnx_sim_domain_destroy(g);
}

/* The guest's grant entry as the hypervisor sees it (dom0 may look). */
static uint16_t entry_flags(uint32_t domid, uint32_t ref)
{
	struct xnx_simproto_req req = { .op = XNX_SIMOP_GNT_ATTACH, .arg = { domid } };
	struct xnx_simproto_rsp rsp;
	int fds[3], fd = xnx_simproto_connect(0);
	uint16_t flags = 0xffff;

	if (fd < 0)
		return flags;
	if (xnx_simproto_call(fd, &req, &rsp, sizeof(rsp), fds, 3) == 0) {
		grant_entry_v1_t e;
		if (pread(fds[1], &e, sizeof(e), XNX_SIMGT_ENTRIES_OFF + ref * sizeof(e)) ==
		    sizeof(e))
			flags = e.flags;
		for (int i = 0; i < 3; i++)
			close(fds[i]);
	}
	close(fd);
	return flags;
}

static void test_map_sets_entry_flags(void)
{
	uint32_t g = new_domain("flags", 0), refs[2];
	xnx_gntshr *sh = gntshr_as(g);
	xnx_gnttab *gt = xnx_gnttab_open();

	CU_ASSERT_FATAL(sh && gt);
	void *p = xnx_gntshr_share_pages(sh, 0, 2, refs, 1);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(entry_flags(g, refs[0]) == GTF_permit_access);
	void *rw = xnx_gnttab_map_grant_ref(gt, g, refs[0], PROT_READ | PROT_WRITE);
	void *ro = xnx_gnttab_map_grant_ref(gt, g, refs[1], PROT_READ);
	CU_ASSERT_FATAL(rw && ro);
	CU_ASSERT(entry_flags(g, refs[0]) == (GTF_permit_access | GTF_reading | GTF_writing));
	CU_ASSERT(entry_flags(g, refs[1]) == (GTF_permit_access | GTF_reading));
	CU_ASSERT(xnx_gnttab_unmap(gt, rw, 1) == 0);
	CU_ASSERT(xnx_gnttab_unmap(gt, ro, 1) == 0);
	CU_ASSERT(entry_flags(g, refs[0]) == GTF_permit_access);
	CU_ASSERT(entry_flags(g, refs[1]) == GTF_permit_access);
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 2) == 0);
	CU_ASSERT(entry_flags(g, refs[0]) == 0);
	xnx_gnttab_close(gt);
	xnx_gntshr_close(sh);
	xnx_sim_domain_destroy(g);
}

/* One handle, several threads copying the same grants and notifying at
 * once (as a multi-queue backend does): every copy right, no pin left. */
struct mt_arg {
	xnx_gnttab *gt;
	xnx_evtchn *ev;
	int port;
	uint32_t domid, ref;
	int bad;
};

static void *mt_copier(void *p)
{
	struct mt_arg *a = p;
	uint8_t buf[PAGE];

	for (int i = 0; i < 2000; i++) {
		xengnttab_grant_copy_segment_t seg = {
			.flags = GNTCOPY_source_gref, .len = PAGE, .dest.virt = buf,
			.source.foreign = { a->ref, 0, (uint16_t)a->domid } };

		if (xnx_gnttab_grant_copy(a->gt, 1, &seg) != 0 || seg.status != GNTST_okay ||
		    buf[0] != 0x6b || buf[PAGE - 1] != 0x6b)
			a->bad++;
		if (xnx_evtchn_notify(a->ev, a->port) != 0)
			a->bad++;
	}
	return NULL;
}

static void test_handles_shared_by_threads(void)
{
	uint32_t g = new_domain("threads", 0), ref;
	xnx_gntshr *sh = gntshr_as(g);
	xnx_evtchn *eg = evtchn_as(g), *e0 = xnx_evtchn_open();
	xnx_gnttab *gt = xnx_gnttab_open();
	struct mt_arg args[4];
	pthread_t th[4];

	CU_ASSERT_FATAL(sh && eg && e0 && gt);
	uint8_t *p = xnx_gntshr_share_pages(sh, 0, 1, &ref, 0);
	int pg = xnx_evtchn_bind_unbound_port(eg, 0);
	int p0 = xnx_evtchn_bind_interdomain(e0, g, pg);
	CU_ASSERT_FATAL(p && pg > 0 && p0 > 0);
	memset(p, 0x6b, PAGE);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct mt_arg){ .gt = gt, .ev = e0, .port = p0, .domid = g, .ref = ref };
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, mt_copier, &args[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT(args[i].bad == 0);
	}
	CU_ASSERT(next_event(eg) == pg);
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 1) == 0);
	xnx_gnttab_close(gt);
	xnx_evtchn_close(e0);
	xnx_evtchn_close(eg);
	xnx_gntshr_close(sh);
	xnx_sim_domain_destroy(g);
}

/* ---- event channels ---------------------------------------------------- */

static void test_evtchn_basic(void)
{
	uint32_t g = new_domain("evt", 0);
	xnx_evtchn *eg = evtchn_as(g), *e0 = xnx_evtchn_open();

	CU_ASSERT_FATAL(eg && e0);
	int pg = xnx_evtchn_bind_unbound_port(eg, 0);
	CU_ASSERT_FATAL(pg > 0);
	CU_ASSERT(xnx_evtchn_status(eg, pg) == EVTCHNSTAT_unbound);
	CU_ASSERT(xnx_evtchn_bind_interdomain(e0, g, pg + 100) == -1 && errno == EINVAL);
	CU_ASSERT(xnx_evtchn_bind_interdomain(e0, 7002, pg) == -1 && errno == ESRCH);
	int p0 = xnx_evtchn_bind_interdomain(e0, g, pg);
	CU_ASSERT_FATAL(p0 > 0);
	CU_ASSERT(xnx_evtchn_bind_interdomain(e0, g, pg) == -1 && errno == EINVAL);
	CU_ASSERT(xnx_evtchn_status(eg, pg) == EVTCHNSTAT_interdomain);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_interdomain);
	/* As Xen, the binder's new port starts raised. */
	CU_ASSERT(readable(xnx_evtchn_fd(e0), WAIT_MS));
	CU_ASSERT(xnx_evtchn_pending(e0) == p0);
	CU_ASSERT(xnx_evtchn_unmask(e0, p0) == 0);

	CU_ASSERT(xnx_evtchn_pending(eg) == -1 && errno == EAGAIN);
	CU_ASSERT(xnx_evtchn_notify(e0, p0) == 0);
	CU_ASSERT(readable(xnx_evtchn_fd(eg), WAIT_MS));
	CU_ASSERT(xnx_evtchn_pending(eg) == pg);
	CU_ASSERT(xnx_evtchn_pending(eg) == -1 && errno == EAGAIN);
	CU_ASSERT(!readable(xnx_evtchn_fd(eg), 0));
	/* Masked: notifications wait behind the mask, merged into one. */
	CU_ASSERT(xnx_evtchn_notify(e0, p0) == 0);
	CU_ASSERT(xnx_evtchn_notify(e0, p0) == 0);
	CU_ASSERT(!readable(xnx_evtchn_fd(eg), 0));
	CU_ASSERT(xnx_evtchn_unmask(eg, pg) == 0);
	CU_ASSERT(readable(xnx_evtchn_fd(eg), WAIT_MS));
	CU_ASSERT(xnx_evtchn_pending(eg) == pg);
	CU_ASSERT(xnx_evtchn_pending(eg) == -1);
	CU_ASSERT(xnx_evtchn_unmask(eg, pg) == 0);
	/* the other way */
	CU_ASSERT(xnx_evtchn_notify(eg, pg) == 0);
	CU_ASSERT(readable(xnx_evtchn_fd(e0), WAIT_MS) && xnx_evtchn_pending(e0) == p0);
	CU_ASSERT(xnx_evtchn_unmask(e0, p0) == 0);
	CU_ASSERT(xnx_evtchn_notify(e0, 4000) == -1 && errno == ENOTCONN);

	/* Closing one end: the other drops to _unbound and wakes. */
	CU_ASSERT(xnx_evtchn_unbind(eg, pg) == 0);
	CU_ASSERT(xnx_evtchn_status(eg, pg) == EVTCHNSTAT_closed);
	CU_ASSERT(readable(xnx_evtchn_fd(e0), WAIT_MS));
	CU_ASSERT(xnx_evtchn_pending(e0) == p0);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_unbound);
	CU_ASSERT(xnx_evtchn_notify(e0, p0) == 0);		/* goes nowhere */
	CU_ASSERT(xnx_evtchn_unmask(e0, p0) == 0);
	/* ... and can be bound again from the other side */
	int pg2 = xnx_evtchn_bind_interdomain(eg, 0, p0);
	CU_ASSERT_FATAL(pg2 > 0);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_interdomain);
	CU_ASSERT(readable(xnx_evtchn_fd(eg), WAIT_MS) && xnx_evtchn_pending(eg) == pg2);
	CU_ASSERT(xnx_evtchn_unmask(eg, pg2) == 0);
	CU_ASSERT(xnx_evtchn_notify(e0, p0) == 0);		/* new peer */
	CU_ASSERT(readable(xnx_evtchn_fd(eg), WAIT_MS) && xnx_evtchn_pending(eg) == pg2);
	/* closing the handle closes its ports */
	xnx_evtchn_close(eg);
	for (uint64_t end = now_ms() + WAIT_MS;
	     xnx_evtchn_status(e0, p0) != EVTCHNSTAT_unbound && now_ms() < end;)
		readable(xnx_evtchn_fd(e0), 10);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_unbound);
	xnx_evtchn_close(e0);
	xnx_sim_domain_destroy(g);
}

/* xnx_evtchn_status answers a port bound through the handle from what the
 * daemon last said, as long as the port's generation stays: no round trip
 * (counted on the handle's link); every change a peer, a closing handle or
 * a domain's destruction makes is still seen at the next call. */
static void test_evtchn_status_cached(void)
{
	uint32_t g = new_domain("stc", 0);
	xnx_evtchn *eg = evtchn_as(g), *e0 = xnx_evtchn_open();
	uint64_t calls;
	bool same = true;

	CU_ASSERT_FATAL(eg && e0);
	int pg = xnx_evtchn_bind_unbound_port(eg, 0);
	int p0 = xnx_evtchn_bind_interdomain(e0, g, pg);
	CU_ASSERT_FATAL(pg > 0 && p0 > 0);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_interdomain);
	calls = xnx_simc_evtchn_calls(e0);
	for (int i = 0; i < 1000; i++)
		same &= xnx_evtchn_status(e0, p0) == EVTCHNSTAT_interdomain;
	CU_ASSERT(same && xnx_simc_evtchn_calls(e0) == calls);
	/* a port not bound here is asked about every time */
	CU_ASSERT(xnx_evtchn_status(e0, 4000) == EVTCHNSTAT_closed);
	CU_ASSERT(xnx_evtchn_status(e0, 4000) == EVTCHNSTAT_closed);
	CU_ASSERT(xnx_simc_evtchn_calls(e0) == calls + 2);

	/* The peer closes its end: seen at once (the daemon bumped the
	 * generation before it answered the peer), with one round trip. */
	CU_ASSERT(xnx_evtchn_unbind(eg, pg) == 0);
	calls = xnx_simc_evtchn_calls(e0);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_unbound);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_unbound);
	CU_ASSERT(xnx_simc_evtchn_calls(e0) == calls + 1);
	/* binds again */
	int pg2 = xnx_evtchn_bind_interdomain(eg, 0, p0);
	CU_ASSERT_FATAL(pg2 > 0);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_interdomain);
	CU_ASSERT(xnx_evtchn_status(eg, pg2) == EVTCHNSTAT_interdomain);
	/* The peer's handle goes away (the daemon closes its ports when it
	 * sees the connection close). */
	xnx_evtchn_close(eg);
	for (uint64_t end = now_ms() + WAIT_MS;
	     xnx_evtchn_status(e0, p0) != EVTCHNSTAT_unbound && now_ms() < end;)
		readable(xnx_evtchn_fd(e0), 10);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_unbound);

	/* Destroying a domain closes its ports under its handles' feet: a
	 * status they remember must not outlive it. */
	eg = evtchn_as(g);
	CU_ASSERT_FATAL(eg != NULL);
	pg = xnx_evtchn_bind_unbound_port(eg, 0);
	CU_ASSERT_FATAL(pg > 0);
	CU_ASSERT(xnx_evtchn_status(eg, pg) == EVTCHNSTAT_unbound);
	CU_ASSERT(xnx_evtchn_status(eg, pg) == EVTCHNSTAT_unbound);
	CU_ASSERT(xnx_sim_domain_destroy(g) == 0);
	CU_ASSERT(xnx_evtchn_status(eg, pg) == -1);
	xnx_evtchn_close(eg);
	xnx_evtchn_close(e0);
}

static void test_evtchn_coalesce(void)
{
	uint32_t g = new_domain("coal", 0);
	xnx_evtchn *eg = evtchn_as(g), *e0 = xnx_evtchn_open();

	CU_ASSERT_FATAL(eg && e0);
	int pg = xnx_evtchn_bind_unbound_port(eg, 0);
	int p0 = xnx_evtchn_bind_interdomain(e0, g, pg);
	CU_ASSERT_FATAL(pg > 0 && p0 > 0);
	for (int i = 0; i < 10000; i++)
		CU_ASSERT_FATAL(xnx_evtchn_notify(e0, p0) == 0);
	CU_ASSERT(readable(xnx_evtchn_fd(eg), WAIT_MS));
	CU_ASSERT(xnx_evtchn_pending(eg) == pg);
	CU_ASSERT(xnx_evtchn_pending(eg) == -1 && errno == EAGAIN);
	CU_ASSERT(xnx_evtchn_unmask(eg, pg) == 0);
	CU_ASSERT(xnx_evtchn_pending(eg) == -1 && errno == EAGAIN);
	CU_ASSERT(xnx_evtchn_notify(e0, p0) == 0);
	CU_ASSERT(xnx_evtchn_pending(eg) == pg);

	/* Several ports on one handle: each delivered once, fd stays
	 * readable while any is left. */
	int pg_b = xnx_evtchn_bind_unbound_port(eg, 0);
	int p0_b = xnx_evtchn_bind_interdomain(e0, g, pg_b);
	CU_ASSERT_FATAL(pg_b > 0 && p0_b > 0);
	xnx_evtchn_pending(eg);					/* bind raise, if any */
	CU_ASSERT(xnx_evtchn_unmask(eg, pg) == 0 && xnx_evtchn_unmask(eg, pg_b) == 0);
	CU_ASSERT(xnx_evtchn_notify(e0, p0) == 0 && xnx_evtchn_notify(e0, p0_b) == 0);
	int a = xnx_evtchn_pending(eg);
	CU_ASSERT(readable(xnx_evtchn_fd(eg), 0));
	int b = xnx_evtchn_pending(eg);
	CU_ASSERT((a == pg && b == pg_b) || (a == pg_b && b == pg));
	CU_ASSERT(xnx_evtchn_pending(eg) == -1);
	xnx_evtchn_close(eg);
	xnx_evtchn_close(e0);
	xnx_sim_domain_destroy(g);
}

/* A guest speaking the protocol itself gets a writing end of dom0's wake-up
 * pipe, fills the pipe, makes its end blocking and closes it; and on its
 * own channel never reads its pipe while it keeps clearing its pending bit:
 * dom0's handle must neither block nor spin, its other channels and the
 * daemon must carry on. */
static void test_evtchn_hostile_peer(void)
{
	uint32_t g = new_domain("evil", 0), g2 = new_domain("good", 0);
	struct xnx_simproto_req req = { .op = XNX_SIMOP_EVT_ALLOC_UNBOUND, .arg = { 0 } };
	struct xnx_simproto_rsp rsp;
	int fds[3], peer = -1, raw = xnx_simproto_connect(g);
	xnx_evtchn *e0 = xnx_evtchn_open(), *eg2 = evtchn_as(g2);

	CU_ASSERT_FATAL(raw >= 0 && e0 && eg2);
	CU_ASSERT_FATAL(xnx_simproto_call(raw, &req, &rsp, sizeof(rsp), fds, 1) == 0);
	uint32_t evil_port = rsp.val[0], evil_end = rsp.val[1];
	struct xnx_simchan *ch = mmap(NULL, XNX_SIMCHAN_SIZE, PROT_READ | PROT_WRITE,
				      MAP_SHARED, fds[0], 0);
	CU_ASSERT_FATAL(ch != MAP_FAILED && evil_end < 2);
	close(fds[0]);
	int p0 = xnx_evtchn_bind_interdomain(e0, g, evil_port);
	CU_ASSERT_FATAL(p0 > 0);
	CU_ASSERT(next_event(e0) == p0);			/* bind raise */
	xnx_evtchn_unmask(e0, p0);
	/* a good channel on the same dom0 handle */
	int pg2 = xnx_evtchn_bind_unbound_port(eg2, 0);
	int p0b = xnx_evtchn_bind_interdomain(e0, g2, pg2);
	CU_ASSERT_FATAL(pg2 > 0 && p0b > 0);
	CU_ASSERT(next_event(e0) == p0b);
	xnx_evtchn_unmask(e0, p0b);

	/* The generations that tell notifiers to look again are read-only;
	 * the guest's own pipe comes with them. */
	req = (struct xnx_simproto_req){ .op = XNX_SIMOP_EVT_OPEN };
	CU_ASSERT_FATAL(xnx_simproto_call(raw, &req, &rsp, sizeof(rsp), fds, 3) == 0);
	CU_ASSERT_FATAL(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0);
	CU_ASSERT(mmap(NULL, XNX_SIMGENS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0) ==
		  MAP_FAILED && errno == EACCES);
	/* Our notifications never block, whatever the guest does with its
	 * pipe: its ends made blocking, never read, pending cleared each time
	 * so that every notify writes. */
	CU_ASSERT(fcntl(fds[1], F_SETFL, 0) == 0 && fcntl(fds[2], F_SETFL, 0) == 0);
	alarm(30);			/* a blocked notify ends the program */
	for (int i = 0; i < 3 * (int)XNX_SIM_PAGE_SIZE; i++) {
		__atomic_store_n(&ch->end[evil_end].pending, 0, __ATOMIC_SEQ_CST);
		CU_ASSERT_FATAL(xnx_evtchn_notify(e0, p0) == 0);
	}
	alarm(0);
	for (int i = 0; i < 3; i++)
		close(fds[i]);

	req = (struct xnx_simproto_req){ .op = XNX_SIMOP_EVT_PEER, .arg = { evil_port } };
	CU_ASSERT_FATAL(xnx_simproto_call(raw, &req, &rsp, sizeof(rsp), &peer, 1) == 0);
	CU_ASSERT_FATAL(peer >= 0 && rsp.val[1] == 1);
	/* The peer cannot take our wake-ups: it holds only a writing end. */
	char c;
	CU_ASSERT(read(peer, &c, 1) == -1 && errno == EBADF);
	int sent = 0;
	while (write(peer, "x", 1) == 1 && sent < 100000)
		sent++;
	CU_ASSERT(sent > 0 && sent < 100000);
	CU_ASSERT(fcntl(peer, F_SETFL, 0) == 0);		/* blocking: its own end only */
	/* full pipe: the daemon's wake-up on close must not block it */
	req = (struct xnx_simproto_req){ .op = XNX_SIMOP_EVT_UNBIND, .arg = { evil_port } };
	CU_ASSERT(xnx_simproto_call(raw, &req, &rsp, sizeof(rsp), NULL, 0) == 0);
	CU_ASSERT(xnx_sim_domain_list(NULL, 0) >= 3);		/* daemon serves */
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_unbound);
	/* all that is one (spurious) event at most, never a block */
	int n = 0;
	while (xnx_evtchn_pending(e0) >= 0 && n < 10)
		n++;
	CU_ASSERT(n <= 2);
	close(peer);
	xnx_evtchn_pending(e0);
	CU_ASSERT(!readable(xnx_evtchn_fd(e0), 0));		/* no endless wake-up */
	/* the good channel still works, both ways */
	xnx_evtchn_unmask(e0, p0);
	CU_ASSERT(xnx_evtchn_notify(eg2, pg2) == 0);
	CU_ASSERT(next_event(e0) == p0b);
	xnx_evtchn_unmask(e0, p0b);
	CU_ASSERT(xnx_evtchn_notify(e0, p0b) == 0);
	CU_ASSERT(next_event(eg2) == pg2);
	munmap(ch, XNX_SIMCHAN_SIZE);
	close(raw);
	xnx_evtchn_close(e0);
	xnx_evtchn_close(eg2);
	xnx_sim_domain_destroy(g);
	xnx_sim_domain_destroy(g2);
}

/* A guest gets no grant table, not even its own: the pins and locks in it
 * are for the hypervisor and privileged copiers only. */
static void test_guest_gets_no_grant_table(void)
{
	uint32_t g = new_domain("notab", 0);
	struct xnx_simproto_req req = { .op = XNX_SIMOP_GNT_ATTACH, .arg = { g } };
	struct xnx_simproto_rsp rsp;
	int fds[2], raw = xnx_simproto_connect(g);
	xnx_gntshr *sh = gntshr_as(g);
	xnx_gnttab *gt = gnttab_as(g);
	uint32_t ref;
	uint8_t b;

	CU_ASSERT_FATAL(raw >= 0 && sh && gt);
	CU_ASSERT(xnx_simproto_call(raw, &req, &rsp, sizeof(rsp), fds, 2) == -EPERM);
	CU_ASSERT(fds[0] == -1 && fds[1] == -1);
	req.arg[0] = 0;
	CU_ASSERT(xnx_simproto_call(raw, &req, &rsp, sizeof(rsp), fds, 2) == -EPERM);
	void *p = xnx_gntshr_share_pages(sh, g, 1, &ref, 1);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(copy1(gt, true, DOMID_SELF, ref, 0, &b, 1) == GNTST_permission_denied);
	/* its own grant to itself it may map, through the daemon */
	void *m = xnx_gnttab_map_grant_ref(gt, g, ref, PROT_READ);
	CU_ASSERT(m != NULL);
	CU_ASSERT(m && xnx_gnttab_unmap(gt, m, 1) == 0);
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 1) == 0);
	close(raw);
	xnx_gntshr_close(sh);
	xnx_gnttab_close(gt);
	xnx_sim_domain_destroy(g);
}

/* Limits that keep one guest from exhausting the daemon. */
static void test_guest_limits(void)
{
	uint32_t g = new_domain("limits", 0);
	xnx_evtchn *hs[XNX_SIM_MAX_CONNS_GUEST + 1];
	unsigned n = 0;
	int ports = 0;

	for (n = 0; n < XNX_SIM_MAX_CONNS_GUEST; n++) {
		hs[n] = evtchn_as(g);
		if (!hs[n])
			break;
	}
	CU_ASSERT(n == XNX_SIM_MAX_CONNS_GUEST);
	CU_ASSERT(evtchn_as(g) == NULL);
	while (xnx_evtchn_bind_unbound_port(hs[0], 0) > 0)
		ports++;
	CU_ASSERT(errno == ENOSPC);
	CU_ASSERT(ports == (int)XNX_SIM_MAX_PORTS_GUEST - 1);
	for (unsigned i = 0; i < n; i++)
		xnx_evtchn_close(hs[i]);
	/* the daemon has let go of them: a handle can be opened again */
	xnx_evtchn *again = NULL;
	for (uint64_t end = now_ms() + WAIT_MS; !again && now_ms() < end; nap())
		again = evtchn_as(g);
	CU_ASSERT(again != NULL);
	xnx_evtchn_close(again);
	xnx_sim_domain_destroy(g);
}

#define ROUNDS 2000

static void pong(int sock, uint32_t domid)
{
	uint32_t msg[1];
	xnx_evtchn *e;
	int port;

	as_domain(domid);
	e = xnx_evtchn_open();
	CHILD_CHECK(e, 2);
	port = xnx_evtchn_bind_unbound_port(e, 0);
	CHILD_CHECK(port > 0, 3);
	msg[0] = (uint32_t)port;
	CHILD_CHECK(send_u32s(sock, msg, 1) == 0, 4);
	for (int i = 0; i < ROUNDS; i++) {
		CHILD_CHECK(next_event(e) == port, 5);
		CHILD_CHECK(xnx_evtchn_unmask(e, port) == 0, 6);
		CHILD_CHECK(xnx_evtchn_notify(e, port) == 0, 7);
	}
	/* The peer closes: seen here as _unbound after a wake-up. */
	CHILD_CHECK(next_event(e) == port, 8);
	CHILD_CHECK(xnx_evtchn_status(e, port) == EVTCHNSTAT_unbound, 9);
	xnx_evtchn_close(e);
}

static void test_evtchn_pingpong_two_processes(void)
{
	uint32_t g = new_domain("ping", 0), msg[1];
	int sv[2], rounds = 0;
	pid_t pid;

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		pong(sv[1], g);
		_exit(0);
	}
	close(sv[1]);
	xnx_evtchn *e = xnx_evtchn_open();
	CU_ASSERT_FATAL(e && recv_u32s(sv[0], msg, 1) == 0);
	int port = xnx_evtchn_bind_interdomain(e, g, msg[0]);
	CU_ASSERT_FATAL(port > 0);
	CU_ASSERT(next_event(e) == port);			/* the bind raise */
	xnx_evtchn_unmask(e, port);
	for (; rounds < ROUNDS; rounds++) {
		if (xnx_evtchn_notify(e, port) != 0 || next_event(e) != port)
			break;
		xnx_evtchn_unmask(e, port);
	}
	CU_ASSERT(rounds == ROUNDS);
	xnx_evtchn_unbind(e, port);
	int st = wait_exit(pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "pong child failed at step %d\n", WEXITSTATUS(st));
	xnx_evtchn_close(e);
	close(sv[0]);
	xnx_sim_domain_destroy(g);
}

/* Many notifications from another process: the receiver sees the last
 * value of a counter the sender bumps before each notify (no lost wake-up),
 * with at most one event per notification. */
#define BURST 20000

static void burst_sender(int sock, uint32_t domid)
{
	uint32_t msg[2];
	xnx_evtchn *e;
	xnx_gntshr *sh;
	volatile uint32_t *ctr;
	int port;

	as_domain(domid);
	e = xnx_evtchn_open();
	sh = xnx_gntshr_open();
	CHILD_CHECK(e && sh, 2);
	port = xnx_evtchn_bind_unbound_port(e, 0);
	ctr = xnx_gntshr_share_pages(sh, 0, 1, &msg[1], 1);
	CHILD_CHECK(port > 0 && ctr, 3);
	msg[0] = (uint32_t)port;
	CHILD_CHECK(send_u32s(sock, msg, 2) == 0, 4);
	CHILD_CHECK(recv_u32s(sock, msg, 1) == 0, 5);		/* receiver bound */
	for (uint32_t i = 1; i <= BURST; i++) {
		__atomic_store_n(ctr, i, __ATOMIC_RELEASE);
		CHILD_CHECK(xnx_evtchn_notify(e, port) == 0, 6);
	}
	CHILD_CHECK(recv_u32s(sock, msg, 1) == 0, 7);		/* receiver done */
	xnx_evtchn_close(e);
	xnx_gntshr_close(sh);
}

static void test_evtchn_many_notifications(void)
{
	uint32_t g = new_domain("burst", 0), msg[2], seen = 0, events = 0;
	int sv[2];
	pid_t pid;

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		burst_sender(sv[1], g);
		_exit(0);
	}
	close(sv[1]);
	xnx_evtchn *e = xnx_evtchn_open();
	xnx_gnttab *gt = xnx_gnttab_open();
	CU_ASSERT_FATAL(e && gt && recv_u32s(sv[0], msg, 2) == 0);
	int port = xnx_evtchn_bind_interdomain(e, g, msg[0]);
	volatile uint32_t *ctr = xnx_gnttab_map_grant_ref(gt, g, msg[1], PROT_READ);
	CU_ASSERT_FATAL(port > 0 && ctr);
	CU_ASSERT(send_u32s(sv[0], msg, 1) == 0);
	while (seen < BURST && next_event(e) == port) {
		events++;
		/* Unmask before reading: a notify after the read raises again. */
		xnx_evtchn_unmask(e, port);
		seen = __atomic_load_n(ctr, __ATOMIC_ACQUIRE);
	}
	CU_ASSERT(seen == BURST);
	CU_ASSERT(events >= 1 && events <= BURST + 1);
	fprintf(stderr, "(%u events for %u notifications) ", events, BURST);
	CU_ASSERT(send_u32s(sv[0], msg, 1) == 0);
	int st = wait_exit(pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	xnx_gnttab_unmap(gt, (void *)ctr, 1);
	xnx_gnttab_close(gt);
	xnx_evtchn_close(e);
	close(sv[0]);
	xnx_sim_domain_destroy(g);
}

/* ---- destruction and dead clients --------------------------------------- */

static void test_destroy_domain_while_mapped(void)
{
	uint32_t g = new_domain("doomed", 0), ref, ref2;
	xnx_gntshr *sh = gntshr_as(g);
	xnx_evtchn *eg = evtchn_as(g), *e0 = xnx_evtchn_open();
	xnx_gnttab *gt = xnx_gnttab_open();
	uint8_t buf[16];

	CU_ASSERT_FATAL(sh && eg && e0 && gt);
	uint8_t *p = xnx_gntshr_share_pages(sh, 0, 1, &ref, 1);
	uint8_t *p2 = xnx_gntshr_share_pages(sh, 0, 1, &ref2, 1);
	CU_ASSERT_FATAL(p && p2);
	memset(p, 0xcd, PAGE);
	memset(p2, 0xef, PAGE);
	uint8_t *m = xnx_gnttab_map_grant_ref(gt, g, ref, PROT_READ | PROT_WRITE);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(copy1(gt, true, g, ref2, 0, buf, 16) == GNTST_okay && buf[15] == 0xef);
	/* the domain's whole memory, as a copier attached to it sees it */
	struct xnx_simproto_req req = { .op = XNX_SIMOP_GNT_ATTACH, .arg = { g } };
	struct xnx_simproto_rsp rsp;
	int fds[3], raw = xnx_simproto_connect(0);
	CU_ASSERT_FATAL(raw >= 0 && xnx_simproto_call(raw, &req, &rsp, sizeof(rsp), fds, 3) == 0);
	uint8_t *arena = mmap(NULL, (size_t)XNX_SIM_MAX_PAGES * PAGE, PROT_READ, MAP_SHARED,
			      fds[0], 0);
	CU_ASSERT_FATAL(arena != MAP_FAILED);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(raw);
	size_t off2 = SIZE_MAX;
	for (size_t pg = 0; pg < XNX_SIM_MAX_PAGES && off2 == SIZE_MAX; pg++)
		if (arena[pg * PAGE] == 0xef && arena[pg * PAGE + PAGE - 1] == 0xef)
			off2 = pg * PAGE;
	CU_ASSERT_FATAL(off2 != SIZE_MAX);
	int pg = xnx_evtchn_bind_unbound_port(eg, 0);
	int p0 = xnx_evtchn_bind_interdomain(e0, g, pg);
	CU_ASSERT_FATAL(pg > 0 && p0 > 0);
	CU_ASSERT(next_event(e0) == p0);
	xnx_evtchn_unmask(e0, p0);

	CU_ASSERT(xnx_sim_domain_destroy(g) == 0);
	/* the existing mapping is still memory (no SIGBUS) */
	CU_ASSERT(m[0] == 0xcd && m[PAGE - 1] == 0xcd);
	m[1] = 1;
	/* the rest of its memory was given back when its handles were cut
	 * off (reads as zeros now), though copiers keep it attached */
	CU_ASSERT(arena[off2] == 0 && arena[off2 + PAGE - 1] == 0);
	munmap(arena, (size_t)XNX_SIM_MAX_PAGES * PAGE);
	/* nothing new of the dead domain's grants */
	CU_ASSERT(copy1(gt, true, g, ref2, 0, buf, 16) == GNTST_bad_domain);
	CU_ASSERT(copy1(gt, true, g, ref, 0, buf, 16) == GNTST_bad_domain);
	CU_ASSERT(xnx_gnttab_map_grant_ref(gt, g, ref, PROT_READ) == NULL && errno == ESRCH);
	/* its channel is closed and we were woken */
	CU_ASSERT(next_event(e0) == p0);
	CU_ASSERT(xnx_evtchn_status(e0, p0) == EVTCHNSTAT_unbound);
	CU_ASSERT(xnx_evtchn_notify(e0, p0) == 0);
	/* its own handles are cut off */
	CU_ASSERT(xnx_evtchn_status(eg, pg) == -1);
	CU_ASSERT(xnx_gnttab_unmap(gt, m, 1) == 0);
	xnx_gntshr_close(sh);
	xnx_evtchn_close(eg);
	xnx_evtchn_close(e0);
	xnx_gnttab_close(gt);
}

/* A dom0 client that maps the guest's page and binds to its port, then
 * gets killed. */
static void mapper(int sock, uint32_t domid_unused)
{
	uint32_t msg[3];
	xnx_gnttab *gt = xnx_gnttab_open();
	xnx_evtchn *e = xnx_evtchn_open();

	CHILD_CHECK(gt && e && recv_u32s(sock, msg, 3) == 0, 2);
	CHILD_CHECK(xnx_gnttab_map_grant_ref(gt, msg[0], msg[1], PROT_READ | PROT_WRITE), 3);
	CHILD_CHECK(xnx_evtchn_bind_interdomain(e, msg[0], msg[2]) > 0, 4);
	CHILD_CHECK(send_u32s(sock, msg, 1) == 0, 5);
	for (;;)
		pause();
}

static void test_killed_client_releases(void)
{
	uint32_t g = new_domain("victim", 0), msg[3], ref;
	xnx_gntshr *sh = gntshr_as(g);
	xnx_evtchn *eg = evtchn_as(g);
	int sv[2], rc = -1;
	pid_t pid;

	CU_ASSERT_FATAL(sh && eg);
	uint8_t *p = xnx_gntshr_share_pages(sh, 0, 1, &ref, 1);
	int port = xnx_evtchn_bind_unbound_port(eg, 0);
	CU_ASSERT_FATAL(p && port > 0);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		mapper(sv[1], 0);
		_exit(0);
	}
	close(sv[1]);
	msg[0] = g;
	msg[1] = ref;
	msg[2] = (uint32_t)port;
	CU_ASSERT(send_u32s(sv[0], msg, 3) == 0);
	CU_ASSERT_FATAL(recv_u32s(sv[0], msg, 1) == 0);
	CU_ASSERT(xnx_evtchn_status(eg, port) == EVTCHNSTAT_interdomain);
	CU_ASSERT(xnx_gntshr_unshare(sh, p, 1) == -1 && errno == EBUSY);
	kill(pid, SIGKILL);
	wait_exit(pid);
	/* The daemon notices the dead connections: the port drops to
	 * _unbound (with a wake-up) and the map's pins go. */
	CU_ASSERT(next_event(eg) == port);
	CU_ASSERT(xnx_evtchn_status(eg, port) == EVTCHNSTAT_unbound);
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end; nap()) {
		rc = xnx_gntshr_unshare(sh, p, 1);
		if (rc == 0 || errno != EBUSY)
			break;
	}
	CU_ASSERT(rc == 0);
	close(sv[0]);
	xnx_gntshr_close(sh);
	xnx_evtchn_close(eg);
	xnx_sim_domain_destroy(g);
}

/* A sharer that dies while dom0 maps its page: the page stays valid until
 * dom0 unmaps; the grant goes away once unused. */
static void test_killed_sharer(void)
{
	uint32_t g = new_domain("sharer", 0), refs[2];
	int sv[2];
	pid_t pid;

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		as_domain(g);
		xnx_gntshr *sh = xnx_gntshr_open();
		uint8_t *p = sh ? xnx_gntshr_share_pages(sh, 0, 2, refs, 1) : NULL;
		CHILD_CHECK(p, 2);
		memset(p, 0xee, 2 * PAGE);
		CHILD_CHECK(send_u32s(sv[1], refs, 2) == 0, 3);
		for (;;)
			pause();
	}
	close(sv[1]);
	xnx_gnttab *gt = xnx_gnttab_open();
	CU_ASSERT_FATAL(gt && recv_u32s(sv[0], refs, 2) == 0);
	uint8_t *m = xnx_gnttab_map_grant_ref(gt, g, refs[0], PROT_READ);
	CU_ASSERT_FATAL(m != NULL);
	kill(pid, SIGKILL);
	wait_exit(pid);
	uint8_t b = 0;
	int st = GNTST_okay;
	/* The unmapped page's grant is ended when the sharer's connection
	 * goes; the mapped one lives on, deferred. */
	for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end; nap()) {
		st = copy1(gt, true, g, refs[1], 0, &b, 1);
		if (st != GNTST_okay)
			break;
	}
	CU_ASSERT(st == GNTST_general_error);
	CU_ASSERT(m[0] == 0xee && m[PAGE - 1] == 0xee);
	CU_ASSERT(copy1(gt, true, g, refs[0], 5, &b, 1) == GNTST_okay && b == 0xee);
	CU_ASSERT(xnx_gnttab_unmap(gt, m, 1) == 0);
	/* once unmapped, the deferred end completes */
	CU_ASSERT(copy1(gt, true, g, refs[0], 0, &b, 1) == GNTST_general_error);
	xnx_gnttab_close(gt);
	close(sv[0]);
	xnx_sim_domain_destroy(g);
}

/* A dom0 copier SIGKILLed in the middle of its copy batches: the daemon
 * gives back the pins its journal says it held (and a lock it died
 * holding), so the guest can unshare. Repeated to land the kill at
 * different points of a copy. */
struct copier_shm {
	uint32_t refs[2];
	uint32_t domid;
	uint32_t rounds;
};

static void copier(volatile struct copier_shm *shm)
{
	static uint8_t buf[64 * 256];
	xengnttab_grant_copy_segment_t segs[64];
	xnx_gnttab *gt = xnx_gnttab_open();

	CHILD_CHECK(gt, 2);
	for (int i = 0; i < 64; i++) {
		bool in = i % 2;
		segs[i] = (xengnttab_grant_copy_segment_t){
			.flags = in ? GNTCOPY_source_gref : GNTCOPY_dest_gref, .len = 256 };
		if (in) {
			segs[i].source.foreign.ref = shm->refs[0];
			segs[i].source.foreign.domid = (uint16_t)shm->domid;
			segs[i].source.foreign.offset = (uint16_t)(i * 32);
			segs[i].dest.virt = buf + i * 256;
		} else {
			segs[i].dest.foreign.ref = shm->refs[1];
			segs[i].dest.foreign.domid = (uint16_t)shm->domid;
			segs[i].dest.foreign.offset = (uint16_t)(i * 32);
			segs[i].source.virt = buf + i * 256;
		}
	}
	for (;;) {
		CHILD_CHECK(xnx_gnttab_grant_copy(gt, 64, segs) == 0, 3);
		CHILD_CHECK(segs[0].status == GNTST_okay && segs[1].status == GNTST_okay, 4);
		__atomic_add_fetch(&shm->rounds, 1, __ATOMIC_RELEASE);
	}
}

static void test_killed_copier_releases_pins(void)
{
	uint32_t g = new_domain("copied", 0);
	xnx_gntshr *sh = gntshr_as(g);
	struct copier_shm *shm = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ok = 0;

	CU_ASSERT_FATAL(sh && shm != MAP_FAILED);
	for (int iter = 0; iter < 20; iter++) {
		uint32_t refs[2];
		void *p = xnx_gntshr_share_pages(sh, 0, 2, refs, 1);
		int rc = -1;

		CU_ASSERT_FATAL(p != NULL);
		shm->refs[0] = refs[0];
		shm->refs[1] = refs[1];
		shm->domid = g;
		__atomic_store_n(&shm->rounds, 0, __ATOMIC_RELEASE);
		pid_t pid = fork();
		CU_ASSERT_FATAL(pid >= 0);
		if (pid == 0)
			copier(shm);
		for (uint64_t end = now_ms() + WAIT_MS;
		     __atomic_load_n(&shm->rounds, __ATOMIC_ACQUIRE) < (uint32_t)(2 + iter * 7) &&
		     now_ms() < end;)
			sched_yield();
		kill(pid, SIGKILL);
		wait_exit(pid);
		for (uint64_t end = now_ms() + WAIT_MS; now_ms() < end; nap()) {
			rc = xnx_gntshr_unshare(sh, p, 2);
			if (rc == 0 || errno != EBUSY)
				break;
		}
		ok += rc == 0;
	}
	CU_ASSERT(ok == 20);
	munmap(shm, PAGE);
	xnx_gntshr_close(sh);
	xnx_sim_domain_destroy(g);
}

/* ---- the daemon ------------------------------------------------------- */

static pid_t read_pid(const char *dir)
{
	char path[512];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "%s/xnet-simd.pid", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

static bool gone(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == -1 && errno == ENOENT;
}

static void test_daemon_mode(void)
{
	char dir[] = "/tmp/xnet-test-simd.XXXXXX", path[512], dom_dir[512];
	uint32_t domid;
	pid_t pid;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	setenv("XNET_SIM_DIR", dir, 1);
	/* the starting command returns once the daemon serves */
	int st = wait_exit(spawn_simd(dir, false));
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pid = read_pid(dir);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(kill(pid, 0) == 0);
	CU_ASSERT(xnx_sim_domain_create("dm-guest", 0, &domid) == 0);
	snprintf(dom_dir, sizeof(dom_dir), "%s/dom%u", dir, domid);
	CU_ASSERT(!gone(dom_dir));
	/* a second daemon on the same directory refuses */
	st = wait_exit(spawn_simd(dir, true));
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	CU_ASSERT(xnx_sim_domain_lookup("dm-guest", NULL) == 0);

	CU_ASSERT(kill(pid, SIGTERM) == 0);
	for (uint64_t end = now_ms() + WAIT_MS; kill(pid, 0) == 0 && now_ms() < end;)
		nap();
	CU_ASSERT(kill(pid, 0) == -1 && errno == ESRCH);
	snprintf(path, sizeof(path), "%s/simd.sock", dir);
	CU_ASSERT(gone(path));
	snprintf(path, sizeof(path), "%s/xnet-simd.pid", dir);
	CU_ASSERT(gone(path));
	CU_ASSERT(gone(dom_dir));
	CU_ASSERT(xnx_sim_domain_list(NULL, 0) == -1 && errno == ECONNREFUSED);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
	rm_tree(dir);
	setenv("XNET_SIM_DIR", sim_dir, 1);
}

/* CPU time PID has used, in clock ticks. */
static unsigned long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f)) {
		char *p = strrchr(buf, ')');
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st) != 2)
			ut = st = 0;
	}
	fclose(f);
	return ut + st;
}

/* Out of descriptors, the daemon stops accepting instead of spinning on
 * its listener, and serves again once descriptors are free. */
static void test_daemon_out_of_descriptors(void)
{
	char dir[] = "/tmp/xnet-test-simd.XXXXXX";
	int conns[200], n = 0;
	pid_t pid;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	setenv("XNET_SIM_DIR", dir, 1);
	pid = spawn_simd_nofile(dir, true, 48);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(wait_sock() == 0);
	/* Non-blocking connects: once the daemon stops accepting, the
	 * backlog fills and connect says EAGAIN instead of waiting. */
	while (n < 200) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);

		xnx_sim_hyp_path(0, sa.sun_path, sizeof(sa.sun_path));
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		conns[n++] = fd;
	}
	CU_ASSERT(n > 48);
	/* give the daemon the time of one tick of its retry timer */
	unsigned long t0 = cpu_ticks(pid);
	for (uint64_t end = now_ms() + 1500; now_ms() < end;)
		nap();
	unsigned long used = cpu_ticks(pid) - t0;
	CU_ASSERT(used < 50);		/* ticks of 10 ms: not a busy loop */
	while (n)
		close(conns[--n]);
	uint32_t domid = 0;
	int rc = -1;
	for (uint64_t end = now_ms() + WAIT_MS; rc != 0 && now_ms() < end; nap())
		rc = xnx_sim_domain_create("after-emfile", 0, &domid);
	CU_ASSERT(rc == 0 && domid > 0);
	kill(pid, SIGTERM);
	int st = wait_exit(pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rm_tree(dir);
	setenv("XNET_SIM_DIR", sim_dir, 1);
}

static void test_foreground_sigterm(void)
{
	char dir[] = "/tmp/xnet-test-simd.XXXXXX", path[512];
	pid_t pid;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	setenv("XNET_SIM_DIR", dir, 1);
	pid = spawn_simd(dir, true);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(wait_sock() == 0);
	/* the pid file follows the sockets */
	for (uint64_t end = now_ms() + WAIT_MS; read_pid(dir) != pid && now_ms() < end;)
		nap();
	CU_ASSERT(read_pid(dir) == pid);
	kill(pid, SIGTERM);
	int st = wait_exit(pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(path, sizeof(path), "%s/simd.sock", dir);
	CU_ASSERT(gone(path));
	rm_tree(dir);
	setenv("XNET_SIM_DIR", sim_dir, 1);
}

/* Entry points of check_child. */
static int run_child(const char *name)
{
	if (strcmp(name, "xen-without-dev") == 0)
		xen_without_dev();
	else if (strcmp(name, "bad-platform") == 0)
		bad_platform_value();
	else if (strcmp(name, "auto-without-dev") == 0)
		auto_without_dev();
	else
		return 125;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "platform_selection", test_platform_selection },
		{ "xen_fails_cleanly_without_dev_xen", test_xen_fails_cleanly },
		{ "domain_lifecycle", test_domain_lifecycle },
		{ "domain_ops_need_control_socket", test_domain_ops_need_control_socket },
		{ "bad_requests_keep_daemon_serving", test_bad_requests_keep_daemon_serving },
		{ "share_map_copy_two_processes", test_share_map_copy_two_processes },
		{ "copy_status_codes", test_copy_status_codes },
		{ "map_errors", test_map_errors },
		{ "readonly_grant", test_readonly_grant },
		{ "unshare_partial_and_busy", test_unshare_partial_and_busy },
		{ "mapped_page_never_reshared", test_mapped_page_never_reshared },
		{ "map_sets_entry_flags", test_map_sets_entry_flags },
		{ "handles_shared_by_threads", test_handles_shared_by_threads },
		{ "evtchn_basic", test_evtchn_basic },
		{ "evtchn_status_cached", test_evtchn_status_cached },
		{ "evtchn_coalesce", test_evtchn_coalesce },
		{ "evtchn_hostile_peer", test_evtchn_hostile_peer },
		{ "guest_gets_no_grant_table", test_guest_gets_no_grant_table },
		{ "guest_limits", test_guest_limits },
		{ "evtchn_pingpong_two_processes", test_evtchn_pingpong_two_processes },
		{ "evtchn_many_notifications", test_evtchn_many_notifications },
		{ "destroy_domain_while_mapped", test_destroy_domain_while_mapped },
		{ "killed_client_releases", test_killed_client_releases },
		{ "killed_sharer", test_killed_sharer },
		{ "killed_copier_releases_pins", test_killed_copier_releases_pins },
		{ "daemon_mode", test_daemon_mode },
		{ "foreground_sigterm", test_foreground_sigterm },
		{ "daemon_out_of_descriptors", test_daemon_out_of_descriptors },
	};
	CU_pSuite s;
	unsigned fails;

	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return run_child(argv[2]);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("platform_sim", suite_init, suite_clean);
	for (size_t i = 0; s && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
