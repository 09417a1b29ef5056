/*
 * spsc.c — the physical-limit baseline: a plain single-producer
 * single-consumer ring in shared memory between two busy-polling processes,
 * one per core. The producer copies each packet into a slot, the consumer
 * copies it out; indices are free-running, published a batch at a time (and
 * whenever a side runs full or dry), and each side caches the other's index
 * so the shared index lines move once per batch, not once per packet.
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define CACHE_LINE 64
#define DATA_BYTES (8u << 20)	/* data area bound: 8 MiB */
#define MAX_SLOTS 1024u
#define BATCH 32		/* indices are published every BATCH packets */

struct spsc_shm {
	/* Written by the parent only. */
	_Alignas(CACHE_LINE) atomic_int go, stop;
	/* Written by the producer only. */
	_Alignas(CACHE_LINE) atomic_uint_fast64_t head;
	/* Written by the consumer only. */
	_Alignas(CACHE_LINE) atomic_uint_fast64_t tail;
	/* Written by the consumer once, after stop. */
	_Alignas(CACHE_LINE) uint64_t packets, bytes, sink;
	double seconds;
	int ready[2];
	/* Slot lengths; written by the producer before it publishes head. */
	_Alignas(CACHE_LINE) uint32_t len[MAX_SLOTS];
	_Alignas(CACHE_LINE) unsigned char data[];
};

struct spsc_shape {
	size_t nslots, stride, size;
};

static struct spsc_shape shape_for(size_t size)
{
	struct spsc_shape s = { .size = size };
	size_t n = MAX_SLOTS;

	s.stride = (size + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
	while (n > 16 && n * s.stride > DATA_BYTES)
		n /= 2;
	s.nslots = n;
	return s;
}

static void producer(struct spsc_shm *m, struct spsc_shape sh)
{
	unsigned char *pkt = malloc(sh.size);
	uint64_t head = 0, tail_cache = 0;

	if (!pkt)
		_exit(2);
	memset(pkt, 0xa5, sh.size);
	__atomic_store_n(&m->ready[0], 1, __ATOMIC_RELEASE);
	while (!atomic_load_explicit(&m->go, memory_order_acquire))
		;
	while (!atomic_load_explicit(&m->stop, memory_order_relaxed)) {
		if (head - tail_cache == sh.nslots) {
			/* Full: publish what is written, then look again.
			 * Pairs with the consumer's release of tail: the
			 * slots it freed are no longer being read. */
			atomic_store_explicit(&m->head, head, memory_order_release);
			tail_cache = atomic_load_explicit(&m->tail, memory_order_acquire);
			continue;
		}
		size_t i = head & (sh.nslots - 1);

		pkt[0] = (unsigned char)head;
		memcpy(m->data + i * sh.stride, pkt, sh.size);
		m->len[i] = (uint32_t)sh.size;
		/* Publishes the slots written so far, a batch at a time;
		 * pairs with the consumer's acquire of head. */
		if (++head % BATCH == 0)
			atomic_store_explicit(&m->head, head, memory_order_release);
	}
	free(pkt);
	_exit(0);
}

static void consumer(struct spsc_shm *m, struct spsc_shape sh)
{
	unsigned char *pkt = malloc(sh.size);
	uint64_t tail = 0, head_cache = 0, bytes = 0, sink = 0;
	double t0;

	if (!pkt)
		_exit(2);
	__atomic_store_n(&m->ready[1], 1, __ATOMIC_RELEASE);
	while (!atomic_load_explicit(&m->go, memory_order_acquire))
		;
	t0 = xbench_now();
	while (!atomic_load_explicit(&m->stop, memory_order_relaxed)) {
		if (tail == head_cache) {
			/* Dry: hand back what is read, then look again.
			 * Pairs with the producer's release of head. */
			atomic_store_explicit(&m->tail, tail, memory_order_release);
			head_cache = atomic_load_explicit(&m->head, memory_order_acquire);
			continue;
		}
		size_t i = tail & (sh.nslots - 1);
		uint32_t len = m->len[i];

		if (len > sh.size)
			_exit(3);	/* our own producer broke: a bug */
		memcpy(pkt, m->data + i * sh.stride, len);
		sink += pkt[0];
		bytes += len;
		/* Hands slots back a batch at a time; pairs with the
		 * producer's acquire of tail. */
		if (++tail % BATCH == 0)
			atomic_store_explicit(&m->tail, tail, memory_order_release);
	}
	m->seconds = xbench_now() - t0;
	m->packets = tail;
	m->bytes = bytes;
	m->sink = sink;		/* keeps the copy-out from being optimised away */
	free(pkt);
	_exit(0);
}

static pid_t start_side(struct spsc_shm *m, struct spsc_shape sh, int cpu, bool prod)
{
	pid_t pid = xbench_fork();

	if (pid == 0) {
		xbench_pin(cpu);
		if (prod)
			producer(m, sh);
		else
			consumer(m, sh);
	}
	if (pid > 0)
		xbench_track_pid(pid);
	return pid;
}

/* Wait until both sides are pinned and ready (bounded). */
static int wait_ready(struct spsc_shm *m)
{
	double end = xbench_now() + 5.0;

	while (!(__atomic_load_n(&m->ready[0], __ATOMIC_ACQUIRE) &&
		 __atomic_load_n(&m->ready[1], __ATOMIC_ACQUIRE))) {
		if (xbench_now() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

static int measure(struct spsc_shm *m, double duration_s)
{
	struct timespec ts = { .tv_sec = (time_t)duration_s,
			       .tv_nsec = (long)(fmod(duration_s, 1.0) * 1e9) };
	int r = wait_ready(m);

	if (r < 0)
		return r;
	atomic_store_explicit(&m->go, 1, memory_order_release);
	/* The measured interval itself: the consumer times it exactly. */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	/* On a loaded host the two sides may not have been scheduled at all
	 * yet: run on (bounded) until the consumer has handed slots back, so
	 * a run never ends having moved nothing. The consumer times the
	 * whole interval, so the rate stays the true average. */
	for (double end = xbench_now() + 5.0;
	     atomic_load_explicit(&m->tail, memory_order_acquire) == 0 && xbench_now() < end;)
		usleep(1000);
	atomic_store_explicit(&m->stop, 1, memory_order_relaxed);
	return 0;
}

int xbench_spsc_run(const int cpu[2], size_t size, double duration_s,
		    double *pps, double *bps)
{
	struct spsc_shape sh;
	size_t len;
	struct spsc_shm *m;
	pid_t prod, cons;
	int r, rp, rc;

	if (size == 0 || size > (64u << 10) || !(duration_s > 0))
		return -EINVAL;
	sh = shape_for(size);
	len = sizeof(*m) + sh.nslots * sh.stride;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	cons = start_side(m, sh, cpu[1], false);
	prod = cons > 0 ? start_side(m, sh, cpu[0], true) : -1;
	r = prod > 0 ? measure(m, duration_s) : -ECHILD;
	if (r < 0)
		atomic_store(&m->stop, 1);
	rp = prod > 0 ? xbench_wait(prod, 5.0) : -ECHILD;
	rc = cons > 0 ? xbench_wait(cons, 5.0) : -ECHILD;
	if (r == 0 && (rp != 0 || rc != 0))
		r = rp < 0 ? rp : rc < 0 ? rc : -EIO;
	if (r == 0 && !(m->seconds > 0))
		r = -EIO;
	if (r == 0) {
		*pps = (double)m->packets / m->seconds;
		*bps = (double)m->bytes * 8.0 / m->seconds;
	}
	munmap(m, len);
	return r;
}
