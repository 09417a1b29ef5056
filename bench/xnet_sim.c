/*
 * xnet_sim.c — the xnet sim behind the full-stack and control-plane
 * figures, made on first use as tests/integration/first_packets.sh makes
 * it: `xnet sim up` in a private XNET_SIM_DIR, a bridge named after our
 * pid, guests by `xnet domain create`; undone by the cleanup registry
 * (`xnet sim down`, the bridge, the directory) at exit, on a signal, or
 * when setup fails half-way. Also the XenbusState waits, over libxenstore.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>

#include "bench/xsim.h"

/* One sim (the full stack's or the control plane's). */
struct inst {
	int state;		/* 0 not tried, 1 up, <0 failed (-errno) */
	char tag;		/* in the directory's and the bridge's names */
	char dir[128], bridge[16], dir_env[160];
	struct xs_handle *xs;
};
static struct inst insts[XSIM_NINST] = { { .tag = 's' }, { .tag = 'c' } }, *cur = &insts[0];
static char xnet_path[PATH_MAX];

void xsim_use(int which)
{
	cur = &insts[which];
}

int xsim_prog(const char *name, char *buf, size_t len)
{
	const char *bin = getenv("XNET_BIN");
	char self[PATH_MAX];
	ssize_t n;

	if (bin && *bin) {
		snprintf(buf, len, "%s/%s", bin, name);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0)
			return -errno;
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(buf, len, "%s/%s", self, name);
	}
	return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

/* Does a unix socket of TYPE answer at DIR/NAME? */
static bool answers(const char *dir, const char *name, int type)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", dir, name);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int xsim_simd_private(char *dir)
{
	char simd[4096];
	double end = xbench_now() + 10;
	pid_t pid;

	if (xsim_prog("xnet-simd", simd, sizeof(simd)) < 0)
		return -ENOENT;
	if (!mkdtemp(dir))
		return -errno;
	if (xbench_on_cleanup_cmd((char *[]){ "rm", "-rf", dir, NULL }) < 0)
		return -ENOSPC;
	pid = xbench_spawn((char *[]){ simd, "--foreground", "--dir", dir, NULL }, NULL);
	if (pid < 0)
		return pid;
	while (!(answers(dir, "xenstored.sock", SOCK_STREAM) &&
		 answers(dir, "simd.sock", SOCK_SEQPACKET)))
		if (xbench_now() > end)
			return -ETIMEDOUT;
		else
			usleep(2000);
	return 0;
}

const char *xsim_dir(void) { return cur->dir; }
const char *xsim_bridge(void) { return cur->bridge; }

static int cmd(char *const argv[], double timeout_s, char **out)
{
	int r = xbench_cmd(argv, timeout_s, out);

	return r == 0 ? 0 : r < 0 ? r : -EIO;
}

int xsim_xnet(char *const args[], double timeout_s, char **out)
{
	char *argv[16] = { "env", cur->dir_env, xnet_path };
	int n = 3;

	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return cmd(argv, timeout_s, out);
}

static int setup(void)
{
	static const char *const progs[] = { "xnet", "xnet-simd", "xnetback", "xnetfront",
					     "xnet-hotplugd", "vif-bridge" };
	char p[PATH_MAX];
	int r;

	if (geteuid() != 0)
		return -EPERM;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if (xsim_prog(progs[i], p, sizeof(p)) < 0)
			return -ENOENT;
	xsim_prog("xnet", xnet_path, sizeof(xnet_path));
	snprintf(cur->dir, sizeof(cur->dir), XSIM_DIR_PREFIX "%d.%cXXXXXX", (int)getpid(),
		 cur->tag);
	if (!mkdtemp(cur->dir))
		return -errno;
	snprintf(cur->dir_env, sizeof(cur->dir_env), "XNET_SIM_DIR=%s", cur->dir);
	snprintf(cur->bridge, sizeof(cur->bridge), XSIM_BRIDGE_FMT, (int)getpid(), cur->tag);
	/* Undone newest first: sim down, then the bridge, then the directory. */
	if (xbench_on_cleanup_cmd((char *[]){ "rm", "-rf", cur->dir, NULL }) < 0 ||
	    xbench_on_cleanup_cmd((char *[]){ "ip", "link", "del", cur->bridge, NULL }) < 0 ||
	    xbench_on_cleanup_cmd((char *[]){ "env", cur->dir_env, xnet_path, "sim", "down",
					      NULL }) < 0)
		return -ENOSPC;
	if ((r = xsim_xnet((char *[]){ "sim", "up", NULL }, 30, NULL)) < 0)
		return r;
	if ((r = cmd((char *[]){ "ip", "link", "add", cur->bridge, "type", "bridge", NULL },
		     10, NULL)) < 0)
		return r;
	return cmd((char *[]){ "ip", "link", "set", cur->bridge, "up", NULL }, 10, NULL);
}

int xsim_up(void)
{
	if (cur->state == 0) {
		int r = setup();

		cur->state = r < 0 ? r : 1;
	}
	return cur->state < 0 ? cur->state : 0;
}

int xsim_domain(const char *name, unsigned *domid)
{
	char *out = NULL, *sp;
	int r = xsim_xnet((char *[]){ "domain", "create", (char *)name, NULL }, 30, &out);

	/* It prints "NAME DOMID". */
	if (r == 0 && (!out || !(sp = strrchr(out, ' ')) || sscanf(sp, "%u", domid) != 1))
		r = -EPROTO;
	free(out);
	return r;
}

int xsim_pid(const char *file, pid_t *pid)
{
	char path[PATH_MAX];
	FILE *f;
	int v = 0;

	snprintf(path, sizeof(path), "%s/%s", cur->dir, file);
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	if (fscanf(f, "%d", &v) != 1 || v <= 0)
		v = 0;
	fclose(f);
	*pid = v;
	return v ? 0 : -EPROTO;
}

long long xsim_rss(pid_t pid)
{
	char path[64], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -EPROTO : kb * 1024;
}

/* ---- XenbusState waits ------------------------------------------------------ */

/* Our connection to the sim's xenstored (domain 0's socket). */
static struct xs_handle *store(void)
{
	char sock[256];
	const char *old = getenv("XENSTORED_PATH");
	char *saved = old ? strdup(old) : NULL;

	if (cur->xs)
		return cur->xs;
	/* libxenstore finds the daemon through XENSTORED_PATH; set it only
	 * for the open, so the programs we start never inherit it. */
	snprintf(sock, sizeof(sock), "%s/xenstored.sock", cur->dir);
	setenv("XENSTORED_PATH", sock, 1);
	cur->xs = xs_open(0);
	if (saved)
		setenv("XENSTORED_PATH", saved, 1);
	else
		unsetenv("XENSTORED_PATH");
	free(saved);
	return cur->xs;
}

static void state_paths(const struct xsim_vif *v, char *be, char *fe, size_t len)
{
	snprintf(be, len, "/local/domain/0/backend/vif/%u/%u/state", v->domid, v->devid);
	snprintf(fe, len, "/local/domain/%u/device/vif/%u/state", v->domid, v->devid);
}

static bool connected(const char *path)
{
	unsigned int len = 0;
	char *val = xs_read(cur->xs, XBT_NULL, path, &len);
	bool ok = val && strcmp(val, "4") == 0;	/* XenbusStateConnected */

	free(val);
	return ok;
}

/* Re-read the state keys of V that PATH names (NULL: all). Returns the
 * number of vifs not yet up at both ends. */
static size_t update(struct xsim_vif *v, size_t n, const char *path)
{
	char be[128], fe[128];
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		state_paths(&v[i], be, fe, sizeof(be));
		if (!v[i].be_up && (!path || strcmp(path, be) == 0))
			v[i].be_up = connected(be);
		if (!v[i].fe_up && (!path || strcmp(path, fe) == 0))
			v[i].fe_up = connected(fe);
		left += !(v[i].be_up && v[i].fe_up);
	}
	return left;
}

/* Watch (ON) or unwatch the state keys' parents of every domain in V. */
static void watch(const struct xsim_vif *v, size_t n, bool on)
{
	char path[96];

	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t k = 0; k < i && !seen; k++)
			seen = v[k].domid == v[i].domid;
		if (seen)
			continue;
		snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u", v[i].domid);
		on ? xs_watch(cur->xs, path, "xbench") : xs_unwatch(cur->xs, path, "xbench");
		snprintf(path, sizeof(path), "/local/domain/%u/device/vif", v[i].domid);
		on ? xs_watch(cur->xs, path, "xbench") : xs_unwatch(cur->xs, path, "xbench");
	}
}

int xsim_wait_connected(struct xsim_vif *v, size_t n, double timeout_s)
{
	double end = xbench_now() + timeout_s;
	size_t left;
	char **ev;

	if (!store())
		return -errno ? -errno : -EIO;
	for (size_t i = 0; i < n; i++)
		v[i].be_up = v[i].fe_up = false;
	watch(v, n, true);
	/* Watches first, then one look: a change after the look fires. */
	left = update(v, n, NULL);
	while (left > 0) {
		struct pollfd p = { .fd = xs_fileno(cur->xs), .events = POLLIN };
		double ms = (end - xbench_now()) * 1000;

		if (ms <= 0)
			break;
		if (poll(&p, 1, (int)ceil(ms)) < 0 && errno != EINTR)
			break;
		while ((ev = xs_check_watch(cur->xs))) {
			left = update(v, n, ev[XS_WATCH_PATH]);
			free(ev);
		}
	}
	watch(v, n, false);
	return left ? -ETIMEDOUT : 0;
}

/* ---- guests ----------------------------------------------------------------- */

int xsim_guest_addr(const char *ns, const char *addr)
{
	char cidr[32];
	double end = xbench_now() + 20;
	int r;

	while ((r = cmd((char *[]){ "ip", "-n", (char *)ns, "link", "show", "eth0", NULL },
			5, NULL)) < 0 && xbench_now() < end)
		usleep(20000);
	if (r < 0)
		return -ETIMEDOUT;
	snprintf(cidr, sizeof(cidr), "%s/24", addr);
	if ((r = cmd((char *[]){ "ip", "-n", (char *)ns, "addr", "add", cidr, "dev", "eth0",
				 NULL }, 10, NULL)) < 0)
		return r;
	return cmd((char *[]){ "ip", "-n", (char *)ns, "link", "set", "eth0", "up", NULL },
		   10, NULL);
}

int xsim_wait_ping(const char *ns, const char *addr, double timeout_s)
{
	double end = xbench_now() + timeout_s;

	while (xbench_now() < end)
		if (cmd((char *[]){ "ip", "netns", "exec", (char *)ns, "ping", "-c1", "-W1", "-q",
				    (char *)addr, NULL }, 3, NULL) == 0)
			return 0;
	return -ETIMEDOUT;
}
