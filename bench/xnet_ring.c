/*
 * xnet_ring.c — xnet's ring-level figures: libxnetfront ↔ xnetback's data
 * path with a packet source/sink in place of the TAP, on a private sim
 * (xnet-simd in its own directory; nothing else runs there).
 *
 * Two helper processes, one per core, made on first use and kept for the
 * session:
 *   backend   domain 0, in a network namespace of its own (its unused TAP
 *             never shows on the host): xnetback's library (xenstore
 *             handshake, ring mapping, event channels, tx.c/rx.c, batched
 *             grant copy) running xnetback's own loop and queue workers,
 *             with the backend's I/O hook (struct xnb_io_hook) pointing
 *             each queue at a sink that counts frames and a source that
 *             copies a prepared frame out, as a TAP read would;
 *   frontend  the guest domain: libxnetfront's public API, sending or
 *             receiving bursts of 32 frames as fast as the ring allows.
 * They and the parent share one page of counters and commands. A run
 * turns the traffic on, lets it settle, counts what the receiving side
 * got over duration_s, and turns it off. The 1-queue and the 2-queue
 * figures each have a setup of their own (sim, helpers, vif); with two
 * queues the frontend sends on both in turn, and the backend's source
 * feeds both.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/xsim.h"
#include "netback/xnb_vif.h"
#include "netfront/xnetfront.h"
#include "xnx_log.h"
#include "xnx_sim.h"

#define BURST 32
#define FRAME_MAX XNF_FRAME_MAX
#define VH sizeof(struct virtio_net_hdr)
#define GSO_MSS 1448
#define SETUP_TIMEOUT_S 20
#define IDLE_MS 10		/* how often idle helpers look at the page */
static const uint8_t mac_fe[6] = { 0x00, 0x16, 0x3e, 0x5d, 0x00, 0x01 };
static const uint8_t mac_far[6] = { 0x00, 0x16, 0x3e, 0x5d, 0x00, 0x02 };

enum { PH_IDLE = 0, PH_RUN, PH_QUIT };

/* The page the parent and the helpers share. */
struct ring_shm {
	atomic_int phase;		/* parent: PH_* */
	int dir;			/* parent: XBENCH_TX / XBENCH_RX, set before PH_RUN */
	uint32_t size;			/* parent: frame size */
	atomic_uint domid;		/* backend: the guest, once made (0: not yet) */
	atomic_int attached;		/* parent: the vif is in xenstore */
	atomic_int be_hooked;		/* backend: a queue connected through our hook */
	atomic_int fe_up;		/* frontend: connected */
	atomic_uint offloads;		/* frontend: xnf_backend_offloads() */
	atomic_int err;			/* a helper failed: -errno */
	int queues;			/* parent: the queues to ask for */
	char dom[32];			/* parent: the guest's name */
	atomic_uint nq;			/* frontend: xnf_queues() once connected */
	_Alignas(64) atomic_uint_fast64_t packets, bytes;	/* the receiving side */
};

/* One setup per queue count: its own sim, helpers and vif. */
struct ring {
	int state;			/* 0 not tried, 1 up, <0 failed */
	struct ring_shm *shm;
	char dir[64], dom[32];
	pid_t be, fe;
};
static struct ring rings[2];
/* The page in use: in a helper its own ring's, in the parent the ring of
 * the current run. */
static struct ring_shm *shm;

/* ---- frames ------------------------------------------------------------------ */

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An Ethernet/IPv4 frame of SIZE bytes from the guest's MAC: UDP, or for
 * GSO a TCP segment of a stream (checksum left to the offload). */
static void build_frame(uint8_t *f, size_t size, bool tcp)
{
	uint8_t *ip = f + 14, *l4 = ip + 20;
	uint16_t tot = (uint16_t)(size - 14);

	memset(f, 0, size);
	memcpy(f, mac_far, 6);
	memcpy(f + 6, mac_fe, 6);
	f[12] = 0x08;			/* ETH_P_IP */
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	memcpy(ip + 12, (uint8_t[]){ 198, 18, 0, 21, 198, 18, 0, 22 }, 8);
	*(uint16_t *)(ip + 10) = htons(ip_csum(ip, 20));
	*(uint16_t *)l4 = htons(40000);
	*(uint16_t *)(l4 + 2) = htons(5201);
	if (tcp) {
		l4[12] = 5 << 4;	/* data offset */
		l4[13] = 0x18;		/* PSH ACK */
		*(uint16_t *)(l4 + 14) = htons(65535);
	} else {
		*(uint16_t *)(l4 + 4) = htons((uint16_t)(tot - 20));
	}
}

/* Frames above a page-sized MTU frame are TCP GSO super-frames. */
static bool is_gso(size_t size)
{
	return size > 1514;
}

static size_t frame_size(size_t size)
{
	return size > FRAME_MAX ? FRAME_MAX : size;
}

/* ---- backend helper ------------------------------------------------------------ */

/* The source's frame for one size: virtio-net header + frame, made once
 * and kept (workers may still be copying an older one). */
struct src {
	struct src *next;
	uint32_t size;
	size_t len;
	uint8_t buf[];
};
static struct src *srcs;		/* the side thread's list */
static struct src *cur_src;		/* atomic: what source_read copies */
static int src_efd = -1;		/* readable while the source has frames */

/* As a TAP's writev: the frame copied once (what a TAP write costs at
 * least, the kernel's copy into an skb), then counted. */
static ssize_t sink_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	static __thread uint8_t skb[VH + FRAME_MAX + 64];	/* per queue worker */
	size_t n = 0;

	for (int i = 0; i < iovcnt && n + iov[i].iov_len <= sizeof(skb); i++) {
		memcpy(skb + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	atomic_fetch_add_explicit(&shm->packets, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&shm->bytes, n - iov[0].iov_len, memory_order_relaxed);
	return (ssize_t)n;
}

/* The source's frame for SIZE: header as the TAP would give it. */
static struct src *source_frame(uint32_t size)
{
	struct virtio_net_hdr vh = { 0 };
	size_t fs = frame_size(size);
	struct src *s;

	for (s = srcs; s; s = s->next)
		if (s->size == size)
			return s;
	s = malloc(sizeof(*s) + VH + fs);
	if (!s)
		return NULL;
	build_frame(s->buf + VH, fs, is_gso(size));
	if (is_gso(size)) {
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh.gso_size = GSO_MSS;
		vh.hdr_len = 14 + 20 + 20;
		vh.csum_start = 14 + 20;
		vh.csum_offset = 16;
	}
	memcpy(s->buf, &vh, VH);
	s->len = VH + fs;
	s->size = size;
	s->next = srcs;
	srcs = s;
	return s;
}

/* As a TAP's readv: the frame copied into IOV (what a TAP read costs at
 * least), or -1/EAGAIN when the source is off. */
static ssize_t source_readv(void *ctx, const struct iovec *iov, int iovcnt)
{
	const struct src *s = __atomic_load_n(&cur_src, __ATOMIC_ACQUIRE);
	size_t cap = 0, at = 0;

	for (int i = 0; i < iovcnt; i++)
		cap += iov[i].iov_len;
	if (!s || cap < s->len) {
		errno = EAGAIN;
		return -1;
	}
	for (int i = 0; i < iovcnt && at < s->len; i++) {
		size_t k = s->len - at < iov[i].iov_len ? s->len - at : iov[i].iov_len;

		memcpy(iov[i].iov_base, s->buf + at, k);
		at += k;
	}
	return (ssize_t)s->len;
}

static ssize_t source_read(void *ctx, void *buf, size_t len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return source_readv(ctx, &iov, 1);
}

/* xnetback's hook: this queue's frames go to the sink and come from the
 * source, which is "readable" while src_efd is. */
static void hook_connect(void *arg, struct xnb_vq *vq, struct xnb_io *io, int *rx_fd)
{
	io->tap_write = sink_write;
	io->tap_read = source_read;
	io->tap_readv = source_readv;
	*rx_fd = src_efd;
	atomic_store(&shm->be_hooked, 1);
}

/* Turn the source on (the frame for SIZE) or off. */
static void source_switch(bool on, uint32_t size)
{
	uint64_t v = 1;

	if (on) {
		__atomic_store_n(&cur_src, source_frame(size), __ATOMIC_RELEASE);
		if (write(src_efd, &v, sizeof(v)) < 0)
			atomic_store(&shm->err, -errno);
	} else {
		__atomic_store_n(&cur_src, NULL, __ATOMIC_RELEASE);
		if (read(src_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			atomic_store(&shm->err, -errno);
	}
}

/* Play the hotplug script once the vif's backend directory is there
 * (there is no bridge to join). True once done. */
static bool hotplug(struct xs_handle *xs, const char *root)
{
	char dir[160], *fe;
	unsigned domid = atomic_load(&shm->domid);

	snprintf(dir, sizeof(dir), "%s/%u/0", root, domid);
	fe = xnx_xs_read(xs, XBT_NULL, dir, "frontend");
	free(fe);
	return fe && xnx_xs_printf(xs, XBT_NULL, dir, "hotplug-status", "connected") == 0;
}

/* Beside xnetback's own loop: the hotplug step, the source following the
 * parent's phase, and the end. */
static void *tender(void *arg)
{
	struct xnb_backend *be = arg;
	struct xs_handle *xs = xnx_xs_open();
	bool plugged = false, on = false;
	int ph;

	while ((ph = atomic_load(&shm->phase)) != PH_QUIT) {
		bool want = ph == PH_RUN && shm->dir == XBENCH_RX;

		if (!plugged && xs)
			plugged = hotplug(xs, be->root);
		if (want != on || (on && cur_src && cur_src->size != shm->size))
			source_switch(want, shm->size);
		on = want;
		usleep(want ? 200 : 1000);
	}
	if (xs)
		xs_close(xs);
	be->stop = 1;
	xnb_backend_wake(be);
	return NULL;
}

static int backend_main(void)
{
	struct xnb_backend be;
	pthread_t side;
	uint32_t domid;
	int r;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	if (xnx_sim_domain_create(shm->dom, 0, &domid) < 0)
		return -errno;
	src_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (src_efd < 0)
		return -errno;
	if ((r = xnb_backend_open(&be)) < 0)
		return r;
	be.hook = (struct xnb_io_hook){ .connect = hook_connect };
	if ((r = -pthread_create(&side, NULL, tender, &be)) < 0) {
		xnb_backend_close(&be);
		return r;
	}
	atomic_store(&shm->domid, domid);
	r = xnb_backend_run(&be);
	pthread_join(side, NULL);
	xnb_backend_close(&be);
	return r;
}

/* ---- frontend helper -------------------------------------------------------------- */

static int wait_flag(atomic_int *flag, double timeout_s)
{
	double end = xbench_now() + timeout_s;

	while (!atomic_load(flag)) {
		if (xbench_now() > end || atomic_load(&shm->err))
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

static void send_some(struct xnf_dev *dev, struct xnf_frame *f, uint8_t *buf, uint32_t *built)
{
	if (*built != shm->size) {
		size_t fs = frame_size(shm->size);

		build_frame(buf, fs, is_gso(shm->size));
		for (int i = 0; i < BURST; i++)
			f[i] = (struct xnf_frame){ .data = buf, .len = (uint32_t)fs };
		if (is_gso(shm->size))
			for (int i = 0; i < BURST; i++) {
				f[i].flags = XNF_F_CSUM_BLANK;
				f[i].gso_type = XNF_GSO_TCPV4;
				f[i].gso_size = GSO_MSS;
			}
		*built = shm->size;
	}
	/* One burst per queue in turn; wait only when every ring is full. */
	for (unsigned q = 0, nq = xnf_queues(dev), full = 0; q < nq; q++) {
		full += xnf_send_burst_queue(dev, q, f, BURST) < BURST;
		if (q == nq - 1 && full == nq)
			xnf_wait(dev, IDLE_MS);
	}
}

static void recv_some(struct xnf_dev *dev, struct xnf_frame *f)
{
	uint64_t bytes = 0;
	int n = xnf_recv_burst(dev, f, BURST);

	if (n <= 0) {
		xnf_wait(dev, IDLE_MS);
		return;
	}
	for (int i = 0; i < n; i++)
		bytes += f[i].len;
	atomic_fetch_add_explicit(&shm->packets, (uint64_t)n, memory_order_relaxed);
	atomic_fetch_add_explicit(&shm->bytes, bytes, memory_order_relaxed);
}

static int frontend_main(void)
{
	struct xnf_config cfg = { .rx_offloads = XNF_OFFLOAD_CSUM | XNF_OFFLOAD_GSO_TCPV4 |
						 XNF_OFFLOAD_GSO_TCPV6,
				  .max_queues = (unsigned)shm->queues };
	struct xnf_frame tx[BURST], rx[BURST];
	uint8_t *txbuf = malloc(FRAME_MAX), *rxbuf = malloc((size_t)BURST * FRAME_MAX);
	char id[16];
	uint32_t built = 0;
	struct xnf_dev *dev;
	int ph;

	if (!txbuf || !rxbuf || wait_flag(&shm->attached, SETUP_TIMEOUT_S) < 0)
		return -ETIMEDOUT;
	snprintf(id, sizeof(id), "%u", atomic_load(&shm->domid));
	setenv("XNET_DOMID", id, 1);
	dev = xnf_open_config(0, &cfg);
	if (!dev || xnf_wait_connected(dev, SETUP_TIMEOUT_S * 1000) < 0)
		return -errno;
	atomic_store(&shm->offloads, xnf_backend_offloads(dev));
	atomic_store(&shm->nq, xnf_queues(dev));
	atomic_store(&shm->fe_up, 1);
	for (int i = 0; i < BURST; i++)
		rx[i] = (struct xnf_frame){ .data = rxbuf + (size_t)i * FRAME_MAX, .cap = FRAME_MAX };
	while ((ph = atomic_load(&shm->phase)) != PH_QUIT) {
		if (xnf_state(dev) != XNF_CONNECTED)
			return -ENOTCONN;
		if (ph == PH_RUN && shm->dir == XBENCH_TX)
			send_some(dev, tx, txbuf, &built);
		else if (ph == PH_RUN)
			recv_some(dev, rx);
		else if (xnf_recv_burst(dev, rx, BURST) <= 0)
			/* Idle, once what an RX run left on the ring is
			 * taken: frames waiting make xnf_wait return at once,
			 * and a helper spinning on them would take a core
			 * from the figures measured after it. */
			xnf_wait(dev, IDLE_MS);
	}
	xnf_close(dev);
	return 0;
}

/* ---- the parent ---------------------------------------------------------------------- */

static pid_t helper(int cpu, int (*fn)(void))
{
	pid_t pid = xbench_fork();

	if (pid == 0) {
		const char *v = getenv("XNET_BENCH_VERBOSE");
		int r, null = open("/dev/null", O_WRONLY);

		/* Their log lines, as other helpers' stderr, only when asked. */
		if (!(v && *v && strcmp(v, "0") != 0) && null >= 0)
			dup2(null, 2);
		xbench_pin(cpu);
		xnx_log_open(fn == backend_main ? "xbench-ring-back" : "xbench-ring-front", 0,
			     XNX_LOG_WARN);
		r = fn();
		if (r < 0)
			atomic_store(&shm->err, r);
		_exit(r < 0 ? 1 : 0);
	}
	if (pid > 0)
		xbench_track_pid(pid);
	return pid;
}

static int start_sim(struct ring *R)
{
	snprintf(R->dir, sizeof(R->dir), XRING_DIR_PREFIX "%d.%dqXXXXXX", (int)getpid(),
		 shm->queues);
	return xsim_simd_private(R->dir);
}

static int wait_value(atomic_uint *v, double timeout_s)
{
	double end = xbench_now() + timeout_s;

	while (!atomic_load(v)) {
		if (xbench_now() > end || atomic_load(&shm->err))
			return atomic_load(&shm->err) ? atomic_load(&shm->err) : -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

static int ring_setup(const struct xbench_opts *o, struct ring *R, int queues)
{
	char xnet[4096], env[200];
	int r;

	if (geteuid() != 0)
		return -EPERM;
	if (xsim_prog("xnet", xnet, sizeof(xnet)) < 0)
		return -ENOENT;
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		shm = NULL;
		return -errno;
	}
	R->shm = shm;
	shm->queues = queues;
	if ((r = start_sim(R)) < 0)
		return r;
	snprintf(R->dom, sizeof(R->dom), "xbring%dq%d", (int)getpid(), queues);
	memcpy(shm->dom, R->dom, sizeof(shm->dom));
	/* The helpers inherit the sim's directory; we keep ours clean. */
	setenv("XNET_SIM_DIR", R->dir, 1);
	R->be = helper(o->cpu[0], backend_main);
	R->fe = helper(o->cpu[1], frontend_main);
	unsetenv("XNET_SIM_DIR");
	if (R->be < 0 || R->fe < 0)
		return -ECHILD;
	if ((r = wait_value(&shm->domid, SETUP_TIMEOUT_S)) < 0)
		return r;
	snprintf(env, sizeof(env), "XNET_SIM_DIR=%s", R->dir);
	r = xbench_cmd((char *[]){ "env", env, xnet, "vif", "attach", R->dom,
				   "mac=00:16:3e:5d:00:01,devid=0", NULL }, 30, NULL);
	if (r != 0)
		return r < 0 ? r : -EIO;
	atomic_store(&shm->attached, 1);
	if ((r = wait_flag(&shm->fe_up, SETUP_TIMEOUT_S)) < 0 ||
	    (r = wait_flag(&shm->be_hooked, SETUP_TIMEOUT_S)) < 0)
		return atomic_load(&shm->err) ? atomic_load(&shm->err) : r;
	return 0;
}

/* The setup for Q queues (1 or 2), made on first use; its page becomes
 * the current one. */
static int ring_up(const struct xbench_opts *o, int q)
{
	struct ring *R = &rings[q > 1];

	if (R->state == 0) {
		int r = ring_setup(o, R, q > 1 ? 2 : 1);

		R->state = r < 0 ? r : 1;
	}
	shm = R->shm;
	return R->state < 0 ? R->state : 0;
}

int xbench_ring_probe(const struct xbench_opts *o, const struct xbench_case *c,
		      const char **why)
{
	int r;

	if (geteuid() != 0) {
		*why = "needs root (a network namespace for the backend's TAP)";
		return -EPERM;
	}
	if (c->queues <= 1 && !is_gso(c->size))
		return 0;
	if ((r = ring_up(o, c->queues)) < 0)
		return r;
	if (atomic_load(&shm->nq) != (unsigned)c->queues) {
		*why = "the backend offered fewer queues than the figure needs";
		return -ENOTSUP;
	}
	if (!is_gso(c->size))
		return 0;
	if (!(atomic_load(&shm->offloads) & XNF_OFFLOAD_GSO_TCPV4)) {
		*why = "the backend does not offer TCPv4 GSO";
		return -ENOTSUP;
	}
	return 0;
}

/* Counters of the receiving side at one instant. */
static void snap(double *t, uint64_t *pk, uint64_t *by)
{
	*pk = atomic_load(&shm->packets);
	*by = atomic_load(&shm->bytes);
	*t = xbench_now();
}

int xbench_ring_run(const struct xbench_opts *o, const struct xbench_case *c, double *value)
{
	struct xbench_cpu cpu;
	uint64_t p0, p1, b0, b1;
	double t0, t1, cycles = NAN, settle = fmin(0.2, o->duration_s / 4);
	struct ring *R = &rings[c->queues > 1];
	int r = ring_up(o, c->queues);

	if (r < 0)
		return r;
	shm->dir = c->dir;
	shm->size = (uint32_t)c->size;
	atomic_store(&shm->phase, PH_RUN);
	/* Let it settle: something arrived, then a little more. */
	snap(&t0, &p0, &b0);
	while (atomic_load(&shm->packets) == p0 && xbench_now() < t0 + 5 && !atomic_load(&shm->err))
		usleep(1000);
	usleep((useconds_t)(settle * 1e6));
	r = xbench_cpu_start(&cpu, (pid_t[]){ R->be, R->fe }, 2);
	snap(&t0, &p0, &b0);
	usleep((useconds_t)(o->duration_s * 1e6));
	snap(&t1, &p1, &b1);
	if (r == 0)
		r = xbench_cpu_stop(&cpu, &cycles);
	atomic_store(&shm->phase, PH_IDLE);
	if (atomic_load(&shm->err))
		return atomic_load(&shm->err);
	if (r < 0 || p1 == p0)
		return r < 0 ? r : -EIO;
	if (strcmp(c->unit, XBENCH_CYCLES) == 0)
		*value = cycles / (double)(p1 - p0);
	else if (strcmp(c->unit, XBENCH_MPPS) == 0)
		*value = (double)(p1 - p0) / (t1 - t0) / 1e6;
	else
		*value = (double)(b1 - b0) * 8 / (t1 - t0) / 1e9;
	return 0;
}

pid_t xbench_ring_pid(int queues, int backend)
{
	const struct ring *R = &rings[queues > 1];

	return R->state == 1 ? (backend ? R->be : R->fe) : -1;
}
