/*
 * xnet_evtchn.c — the sim's event channel on its own, through the platform
 * layer the drivers use (xnx_evtchn_*), on a private xnet-simd with one
 * guest domain. Two helper processes, pinned one per core, made for each
 * run: domain 0's on cpu[0], the guest's on cpu[1], one channel between
 * them.
 *
 *   evtchn.rtt.*     notify → the other end wakes in poll(), takes the
 *                    event (pending, unmask) and notifies back → we wake:
 *                    the round trip, p50/p99 of the run's round trips;
 *   evtchn.events*   the guest notifies as fast as it can, domain 0 takes
 *                    each event as a driver does (poll, pending, unmask):
 *                    events taken per second, and the receiving process's
 *                    CPU cycles per event.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/xsim.h"
#include "xnx_platform.h"
#include "xnx_sim.h"

#define MAX_RTT 200000		/* round trips kept per run */
#define WAIT_MS 100		/* a helper looks at the stop flag this often */
#define SETUP_TIMEOUT_S 10

struct ev_shm {
	atomic_int stop;		/* parent → helpers */
	atomic_int err;			/* a helper failed: -errno */
	atomic_uint gport;		/* the guest's unbound port, once bound */
	_Alignas(64) atomic_uint_fast64_t events;	/* taken by domain 0 */
	atomic_int nrtt;
	double rtt_us[MAX_RTT];
};

static struct {
	int state;			/* 0 not tried, 1 up, <0 failed */
	char dir[64];
	uint32_t guest;
} sim;
static struct ev_shm *shm;

static int sim_setup(void)
{
	char name[32];
	int r;

	snprintf(sim.dir, sizeof(sim.dir), XEVT_DIR_PREFIX "%d.XXXXXX", (int)getpid());
	if ((r = xsim_simd_private(sim.dir)) < 0)
		return r;
	snprintf(name, sizeof(name), "xbevt%d", (int)getpid());
	setenv("XNET_SIM_DIR", sim.dir, 1);
	r = xnx_sim_domain_create(name, 0, &sim.guest) < 0 ? -errno : 0;
	unsetenv("XNET_SIM_DIR");
	return r;
}

static int sim_ready(void)
{
	if (sim.state == 0) {
		int r = sim_setup();

		sim.state = r < 0 ? r : 1;
	}
	return sim.state < 0 ? sim.state : 0;
}

/* Wait for PORT's event and take it as a driver does. 0, -ECANCELED when
 * told to stop, or -errno. */
static int take(xnx_evtchn *e, int port)
{
	struct pollfd pfd = { .fd = xnx_evtchn_fd(e), .events = POLLIN };

	for (;;) {
		int p = xnx_evtchn_pending(e);

		if (p >= 0) {
			xnx_evtchn_unmask(e, (evtchn_port_t)p);
			if (p == port)
				return 0;
			continue;
		}
		if (atomic_load(&shm->stop))
			return -ECANCELED;
		if (poll(&pfd, 1, WAIT_MS) < 0 && errno != EINTR)
			return -errno;
	}
}

/* Domain 0: bind to the guest's port. Port, or -errno. */
static int bind_dom0(xnx_evtchn *e)
{
	double end = xbench_now() + SETUP_TIMEOUT_S;
	unsigned gport;
	int port;

	while (!(gport = atomic_load(&shm->gport)))
		if (xbench_now() > end || atomic_load(&shm->err))
			return -ETIMEDOUT;
		else
			usleep(500);
	port = xnx_evtchn_bind_interdomain(e, sim.guest, gport);
	if (port < 0)
		return -errno;
	/* As Xen, the new port starts raised. */
	return take(e, port) < 0 ? -EIO : port;
}

static int pinger(xnx_evtchn *e, int port, double duration_s)
{
	double end = xbench_now() + duration_s;
	int n = 0, r = 0;

	while (n < MAX_RTT && xbench_now() < end) {
		double t0 = xbench_now();

		if (xnx_evtchn_notify(e, (evtchn_port_t)port) < 0)
			return -errno;
		if ((r = take(e, port)) < 0)
			return r;
		shm->rtt_us[n++] = (xbench_now() - t0) * 1e6;
	}
	atomic_store(&shm->nrtt, n);
	return 0;
}

static int receiver(xnx_evtchn *e, int port)
{
	int r = 0;

	while (!atomic_load(&shm->stop) && (r = take(e, port)) == 0)
		atomic_fetch_add_explicit(&shm->events, 1, memory_order_relaxed);
	return r == -ECANCELED ? 0 : r;
}

static int dom0_main(bool rtt, double duration_s)
{
	xnx_evtchn *e = xnx_evtchn_open();
	int port, r;

	if (!e)
		return -errno;
	port = bind_dom0(e);
	r = port < 0 ? port : rtt ? pinger(e, port, duration_s) : receiver(e, port);
	atomic_store(&shm->stop, 1);
	if (port > 0)
		xnx_evtchn_notify(e, (evtchn_port_t)port);	/* wake the guest to see it */
	xnx_evtchn_close(e);
	return r;
}

static int guest_main(bool rtt)
{
	xnx_evtchn *e = xnx_evtchn_open();
	int port, r = 0;

	if (!e)
		return -errno;
	port = xnx_evtchn_bind_unbound_port(e, 0);
	if (port < 0) {
		xnx_evtchn_close(e);
		return -errno;
	}
	atomic_store(&shm->gport, (unsigned)port);
	while (!atomic_load(&shm->stop) && r == 0) {
		if (rtt && (r = take(e, port)) < 0)
			break;
		if (xnx_evtchn_notify(e, (evtchn_port_t)port) < 0)
			r = -errno;
	}
	xnx_evtchn_close(e);
	return r == -ECANCELED ? 0 : r;
}

static pid_t helper(int cpu, unsigned domid, bool rtt, double duration_s)
{
	pid_t pid = xbench_fork();

	if (pid == 0) {
		char id[16];
		int r;

		snprintf(id, sizeof(id), "%u", domid);
		setenv("XNET_SIM_DIR", sim.dir, 1);
		setenv("XNET_DOMID", id, 1);
		xbench_pin(cpu);
		r = domid ? guest_main(rtt) : dom0_main(rtt, duration_s);
		if (r < 0) {
			atomic_store(&shm->err, r);
			atomic_store(&shm->stop, 1);
		}
		_exit(r < 0 ? 1 : 0);
	}
	if (pid > 0)
		xbench_track_pid(pid);
	return pid;
}

/* Events taken per second over DURATION_S; the receiver's (PIDS[0]) cycles
 * per event in *CYCLES. */
static int count_events(pid_t pids[2], double duration_s, double *rate, double *cycles)
{
	struct xbench_cpu cpu;
	double t0, t1, settle = fmin(0.2, duration_s / 4);
	uint64_t e0, e1;
	int r;

	usleep((useconds_t)(settle * 1e6));
	/* The receiver's CPU only: the sender spins, a core whatever it costs. */
	r = xbench_cpu_start(&cpu, pids, 1);
	e0 = atomic_load(&shm->events);
	t0 = xbench_now();
	usleep((useconds_t)(duration_s * 1e6));
	e1 = atomic_load(&shm->events);
	t1 = xbench_now();
	if (r == 0)
		r = xbench_cpu_stop(&cpu, cycles);
	if (r < 0 || e1 == e0)
		return r < 0 ? r : -EIO;
	*rate = (double)(e1 - e0) / (t1 - t0);
	*cycles /= (double)(e1 - e0);
	return 0;
}

static int reap(pid_t pid, double timeout_s)
{
	int st = pid > 0 ? xbench_wait(pid, timeout_s) : -ECHILD;

	if (pid > 0)
		xbench_untrack_pid(pid);
	return st == 0 ? 0 : st < 0 ? st : -EIO;
}

int xbench_evtchn_run(const struct xbench_opts *o, const struct xbench_case *c, double *value)
{
	bool rtt = c->pct > 0;
	double rate = NAN, cycles = NAN;
	pid_t pids[2];
	int r;

	if ((r = sim_ready()) < 0)
		return r;
	if (!shm) {
		shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
		if (shm == MAP_FAILED) {
			shm = NULL;
			return -errno;
		}
	}
	memset(shm, 0, sizeof(*shm));
	pids[0] = helper(o->cpu[0], 0, rtt, o->duration_s);
	pids[1] = helper(o->cpu[1], sim.guest, rtt, o->duration_s);
	if (!rtt && pids[0] > 0 && pids[1] > 0)
		r = count_events(pids, o->duration_s, &rate, &cycles);
	/* The round trips stop by themselves: domain 0 ends the run. */
	if (!rtt)
		atomic_store(&shm->stop, 1);
	for (int i = 0; i < 2; i++) {
		int st = reap(pids[i], o->duration_s + SETUP_TIMEOUT_S);

		atomic_store(&shm->stop, 1);
		if (r == 0)
			r = st;
	}
	if (atomic_load(&shm->err))
		return atomic_load(&shm->err);
	if (r < 0)
		return r;
	if (rtt) {
		int n = atomic_load(&shm->nrtt);

		*value = xbench_percentile(shm->rtt_us, (size_t)n, c->pct);
		return n > 0 ? 0 : -EIO;
	}
	*value = strcmp(c->unit, XBENCH_MEVS) == 0 ? rate / 1e6 : cycles;
	return 0;
}
