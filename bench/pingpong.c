/*
 * pingpong.c — the placement probe: one cache line bounced between two
 * processes pinned on the two benchmark cores. Its round trip tells whether
 * the host put the two vCPUs close together (≈ 80 ns) or far apart
 * (≈ 400 ns); every cross-core figure swings with it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/bench.h"

#define BATCHES 16
#define TRIPS 500		/* round trips per batch */
#define PROBE_BUDGET_S 0.5	/* a probe never takes longer than this */
#define SPIN_CHECK 4096		/* look at the clock every this many spins */

struct pp_shm {
	_Alignas(64) atomic_uint_fast64_t seq;	/* the bounced line */
	_Alignas(64) atomic_int stop;
	int batches;
	double batch_ns[BATCHES];
};

/* Spin until seq == WANT; false when the probe's deadline passed. */
static bool wait_seq(struct pp_shm *m, uint64_t want, double end)
{
	unsigned spins = 0;

	while (atomic_load_explicit(&m->seq, memory_order_acquire) != want) {
		if (++spins % SPIN_CHECK == 0 &&
		    (xbench_now() > end || atomic_load(&m->stop)))
			return false;
	}
	return true;
}

static void pinger(struct pp_shm *m)
{
	double end = xbench_now() + PROBE_BUDGET_S;
	uint64_t seq = 0;

	for (int b = 0; b < BATCHES; b++) {
		double t0 = xbench_now();
		int i;

		for (i = 0; i < TRIPS; i++) {
			atomic_store_explicit(&m->seq, ++seq, memory_order_release);
			if (!wait_seq(m, ++seq, end))
				break;
		}
		if (i < TRIPS)
			break;
		m->batch_ns[b] = (xbench_now() - t0) * 1e9 / TRIPS;
		m->batches = b + 1;
	}
	atomic_store(&m->stop, 1);
	_exit(0);
}

static void ponger(struct pp_shm *m)
{
	double end = xbench_now() + PROBE_BUDGET_S + 1.0;
	uint64_t seq = 1;

	while (!atomic_load(&m->stop)) {
		if (!wait_seq(m, seq, end))
			break;
		atomic_store_explicit(&m->seq, seq + 1, memory_order_release);
		seq += 2;
	}
	_exit(0);
}

static pid_t start(struct pp_shm *m, int cpu, bool ping)
{
	pid_t pid = xbench_fork();

	if (pid == 0) {
		xbench_pin(cpu);
		if (ping)
			pinger(m);
		ponger(m);
	}
	if (pid > 0)
		xbench_track_pid(pid);
	return pid;
}

int xbench_pingpong_ns(const int cpu[2], double *rtt_ns)
{
	struct pp_shm *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pong, ping;
	int r = 0;

	if (m == MAP_FAILED)
		return -errno;
	pong = start(m, cpu[1], false);
	ping = pong > 0 ? start(m, cpu[0], true) : -1;
	if (ping > 0)
		r = xbench_wait(ping, PROBE_BUDGET_S + 5.0);
	atomic_store(&m->stop, 1);
	if (pong > 0)
		xbench_wait(pong, 5.0);
	if (pong < 0 || ping < 0)
		r = -ECHILD;
	else if (r > 0)
		r = -EIO;
	else if (r == 0 && m->batches == 0)
		r = -ETIMEDOUT;
	if (r == 0)
		*rtt_ns = xbench_percentile(m->batch_ns, (size_t)m->batches, 50);
	munmap(m, sizeof(*m));
	return r;
}
