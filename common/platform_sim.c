/*
 * platform_sim.c — the sim platform: grant tables and event channels served
 * by xnet-simd (protocol in xnx_simproto.h). Setup calls (map, share, bind)
 * are one request to the daemon; the data path is not: grant copy runs in
 * the caller's process over the peer's grant table and arena, mapped once
 * (platform_sim_gnt.c), and an event-channel notify is at most one byte
 * into the peer handle's wake-up pipe (platform_sim_evtchn.c). This file: the
 * connection to the daemon and the ops table.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform_sim.h"
#include "xnx_log.h"
#include "xnx_simproto.h"

/* ---- common ------------------------------------------------------------ */

/* The domain this process acts as: XNET_DOMID, strictly parsed. */
static int sim_self_domid(void)
{
	const char *v = getenv("XNET_DOMID");
	char *end;
	unsigned long id;

	if (!v || !*v)
		return 0;
	errno = 0;
	id = strtoul(v, &end, 10);
	if (*end || errno || id >= DOMID_FIRST_RESERVED || v[0] < '0' || v[0] > '9') {
		xnx_err("XNET_DOMID=%s: expected a domain id below %u", v,
			(unsigned)DOMID_FIRST_RESERVED);
		errno = EINVAL;
		return -1;
	}
	return (int)id;
}

int xnx_simc_link_open(struct xnx_simc_link *l)
{
	int dom = sim_self_domid();
	char path[256];

	if (dom < 0)
		return -1;
	l->fd = xnx_simproto_connect((unsigned)dom);
	if (l->fd < 0) {
		int e = -l->fd;
		xnx_sim_hyp_path((unsigned)dom, path, sizeof(path));
		xnx_err("platform sim: cannot reach xnet-simd for domain %d at %s: %s",
			dom, path, strerror(e));
		errno = e;
		return -1;
	}
	/* One round trip now, so a refused connection fails here. */
	struct xnx_simproto_req req = { .op = XNX_SIMOP_WHOAMI };
	struct xnx_simproto_rsp rsp;
	int rc = xnx_simproto_call(l->fd, &req, &rsp, sizeof(rsp), NULL, 0);
	if (rc == 0 && rsp.val[0] != (uint32_t)dom)
		rc = -EPROTO;
	if (rc < 0) {
		xnx_err("platform sim: xnet-simd refused a handle for domain %d: %s",
			dom, strerror(-rc));
		close(l->fd);
		errno = -rc;
		return -1;
	}
	l->domid = (uint16_t)dom;
	pthread_mutex_init(&l->lock, NULL);
	return 0;
}

void xnx_simc_link_close(struct xnx_simc_link *l)
{
	close(l->fd);
	pthread_mutex_destroy(&l->lock);
}

/* A request with room for COUNT data words. */
struct xnx_simproto_req *xnx_simc_req_new(uint32_t op, uint32_t count)
{
	struct xnx_simproto_req *r = calloc(1, sizeof(*r) + count * sizeof(uint32_t));

	if (r) {
		r->op = op;
		r->count = count;
	}
	return r;
}

/* A round trip with LINK's lock held by the caller. 0 or -errno. */
int xnx_simc_call(struct xnx_simc_link *l, const struct xnx_simproto_req *req,
		struct xnx_simproto_rsp *rsp, size_t rsp_max, int *fds, int nfds)
{
	__atomic_add_fetch(&l->calls, 1, __ATOMIC_RELAXED);
	return xnx_simproto_call(l->fd, req, rsp, rsp_max, fds, nfds);
}

/* Small requests without data and responses without data. */
int xnx_simc_call_simple(struct xnx_simc_link *l, uint32_t op, uint32_t a0, uint32_t a1,
		       struct xnx_simproto_rsp *rsp, int *fds, int nfds)
{
	struct xnx_simproto_req req = { .op = op, .arg = { a0, a1 } };

	return xnx_simc_call(l, &req, rsp, sizeof(*rsp), fds, nfds);
}

void xnx_simc_close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Map FRAMES[0..COUNT) of the arena FD contiguously (runs of consecutive
 * frames in one mmap each). NULL with errno. */
void *xnx_simc_map_frames(int fd, const uint32_t *frames, uint32_t count, int prot)
{
	uint8_t *base = mmap(NULL, (size_t)count * PAGE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	for (uint32_t i = 0; i < count;) {
		uint32_t run = 1;

		while (i + run < count && frames[i + run] == frames[i] + run)
			run++;
		if (mmap(base + (size_t)i * PAGE, (size_t)run * PAGE, prot,
			 MAP_SHARED | MAP_FIXED, fd, (off_t)frames[i] * PAGE) == MAP_FAILED) {
			int e = errno;
			munmap(base, (size_t)count * PAGE);
			errno = e;
			return NULL;
		}
		i += run;
	}
	return base;
}

/* errno for a failed map or share whose daemon status was GNTST. */
int xnx_simc_fail(int rc)
{
	errno = -rc;
	return -1;
}

const struct xnx_platform_ops xnx_platform_sim_ops = {
	.kind = XNX_PLATFORM_SIM,
	.name = "sim",
	.self_domid = sim_self_domid,
	.gnttab_open = xnx_simc_gnttab_open,
	.gnttab_close = xnx_simc_gnttab_close,
	.map_grant_refs = xnx_simc_map,
	.unmap = xnx_simc_unmap,
	.grant_copy = xnx_simc_grant_copy,
	.gntshr_open = xnx_simc_gntshr_open,
	.gntshr_close = xnx_simc_gntshr_close,
	.share_pages = xnx_simc_share,
	.unshare = xnx_simc_unshare,
	.evtchn_open = xnx_simc_evtchn_open,
	.evtchn_close = xnx_simc_evtchn_close,
	.evtchn_fd = xnx_simc_evtchn_fd,
	.notify = xnx_simc_notify,
	.bind_unbound_port = xnx_simc_bind_unbound,
	.bind_interdomain = xnx_simc_bind_interdomain,
	.unbind = xnx_simc_unbind,
	.pending = xnx_simc_pending,
	.unmask = xnx_simc_unmask,
	.status = xnx_simc_status,
};
