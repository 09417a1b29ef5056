/*
 * worker.c — a thread per ring queue of a vif: frames from the queue's TAP
 * queue onto its TX ring, frames off its RX ring onto a TAP queue, and the
 * queue's own event channel handle. Each round runs under the queue's lock,
 * which the main thread takes to touch the device; between rounds the
 * worker sleeps in poll on its event channel, its TAP queue (only while
 * the ring can take frames) and its wake-up eventfd — after a round that
 * moved frames, only once the ring and the TAP stayed quiet for the
 * device's poll time (xnf_queue_poll).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "netfront/direct.h"
#include "netfront/vnet.h"
#include "netfront/worker.h"
#include "xnx_log.h"

#define BURST    XNF_PUMP_BURST
#define HDR      sizeof(struct virtio_net_hdr)	/* with offloads */
#define BUF_SIZE (XNF_FRAME_MAX + 1)
/* Bytes of a received frame copied aside to read its headers (Ethernet,
 * VLAN, IPv4/IPv6 with options, TCP with options fit). */
#define HEAD_MAX 256u

static struct xnx_ratelimit csum_rl = XNX_RATELIMIT_INIT(5, 1);

/* ---- set-up ---------------------------------------------------------------- */

void xnf_pump_free(struct xnf_pump *p)
{
	if (!p)
		return;
	free(p->rx_buf);
	if (p->wake >= 0)
		close(p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct xnf_pump *xnf_pump_new(void)
{
	struct xnf_pump *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->tap_fd = p->out_fd = p->main_wake = -1;
	p->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->rx_buf = malloc(HDR + BUF_SIZE);
	if (p->wake < 0 || !p->rx_buf) {
		xnf_pump_free(p);
		return NULL;
	}
	return p;
}

static void wake(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		xnx_warn("waking a thread: %s", strerror(errno));
}

/* ---- TX: TAP -> ring -------------------------------------------------------- */

/* One frame off the TAP straight into the pages of the free slots SP took
 * (with offloads, its virtio-net header into H first; one byte more into
 * a spare, to tell a frame longer than the pages), its length and offload
 * fields into F. 1 read, 0 nothing there, -1 not usable (SP given back). */
static int tap_read(struct xnf_pump *p, struct xnf_tx_space *sp,
		    struct xnf_frame *f)
{
	struct iovec iov[XNF_TX_SPACE_PAGES + 2];
	size_t cap = (size_t)sp->n * XNF_PAGE_SIZE, hdr = p->offload ? HDR : 0;
	struct virtio_net_hdr h;
	unsigned n = 0;
	uint8_t spare;
	ssize_t len;

	if (p->offload)
		iov[n++] = (struct iovec){ .iov_base = &h, .iov_len = HDR };
	memcpy(iov + n, sp->iov, sp->n * sizeof(*iov));
	n += sp->n;
	iov[n++] = (struct iovec){ .iov_base = &spare, .iov_len = 1 };
	len = readv(p->tap_fd, iov, (int)n);
	memset(f, 0, sizeof(*f));
	f->data = sp->iov[0].iov_base;
	f->len = len > (ssize_t)hdr ? (uint32_t)((size_t)len - hdr) : 0;
	if (len > (ssize_t)hdr && (!p->offload || xnf_vnet_to_frame(&h, f) == 0))
		return 1;
	/* A failed read may have stored part of a frame: wipe every page. */
	if (len < 0 && errno != EAGAIN)
		f->len = (uint32_t)cap;
	xnf_tx_cancel_queue(p->dev, p->queue, sp, f->len < cap ? f->len : cap);
	return len < 0 ? 0 : -1;
}

/* Does frame F join or leave a group (IGMP, or ICMPv6 to a 33:33 address:
 * MLD, also neighbour solicitations — a spare re-read costs little)? The
 * kernel changes the TAP's list before it sends the report. */
static bool is_group_report(const struct xnf_frame *f)
{
	const uint8_t *d = f->data;

	if (f->len < 54)
		return false;
	if (d[12] == 0x08 && d[13] == 0x00)
		return d[23] == 2;			/* IGMP */
	return d[12] == 0x86 && d[13] == 0xdd && d[0] == 0x33 && d[1] == 0x33 &&
	       (d[20] == 0 || d[20] == 58);		/* hop-by-hop, ICMPv6 */
}

/* A burst from the TAP while the ring has room for a largest frame (else
 * the TAP waits: the kernel keeps its frames). Frames read. */
static int tap_to_ring(struct xnf_pump *p)
{
	int got = 0;

	while (p->tap_fd >= 0 && got < BURST) {
		struct xnf_tx_space sp;
		struct xnf_frame f;
		int rc;

		if (xnf_tx_reserve_queue(p->dev, p->queue, &sp) < 0)
			break;
		rc = tap_read(p, &sp, &f);
		if (rc == 0)
			break;
		got++;
		if (rc < 0) {
			p->tap_drops++;
			continue;
		}
		if (is_group_report(&f) && !p->mc_dirty) {
			p->mc_dirty = true;
			wake(p->main_wake);
		}
		if (xnf_tx_commit_queue(p->dev, p->queue, &sp, &f) < 0)
			break;
	}
	return got;
}

/* ---- RX: ring -> TAP -------------------------------------------------------- */

/* A blank checksum the TAP cannot be asked to fill (no offloads, or a
 * header the kernel could not use): complete it here, or count the frame
 * as one whose checksum cannot be placed — the kernel would drop it
 * silently (Linux netfront drops it too, counted as an rx error). 0 or -1. */
static int csum_complete(struct xnf_pump *p, struct xnf_frame *f)
{
	if (f->gso_type == XNF_GSO_NONE && xnf_csum_fill(f->data, f->len) == 0) {
		p->csum_filled++;
		f->flags &= ~(uint32_t)XNF_F_CSUM_BLANK;
		return 0;
	}
	p->csum_unplaceable++;
	xnx_log_rl(&csum_rl, XNX_LOG_WARN, "vif %u: a frame with a blank "
		   "checksum whose TCP/UDP header cannot be found; dropped",
		   xnf_devid(p->dev));
	return -1;
}

/* Frame F, whole in private memory, onto the TAP (with offloads: after
 * its header). */
static void tap_write_copy(struct xnf_pump *p, struct xnf_frame *f)
{
	struct virtio_net_hdr h;
	ssize_t want = (ssize_t)f->len, n;

	if (!p->offload && (f->flags & XNF_F_CSUM_BLANK) && csum_complete(p, f) < 0)
		return;
	if (p->offload && xnf_vnet_from_frame(f, &h) < 0 &&
	    (csum_complete(p, f) < 0 || xnf_vnet_from_frame(f, &h) < 0))
		return;
	if (!p->offload) {
		n = write(p->out_fd, f->data, f->len);
	} else {
		memcpy(p->rx_buf, &h, HDR);
		want += (ssize_t)HDR;
		n = write(p->out_fd, p->rx_buf, (size_t)want);
	}
	if (n != want)
		p->tap_drops++;
}

/* Frame V onto the TAP from the receive pages. Its headers are read from
 * a private copy (the backend may still write to the pages), and that
 * copy is what the TAP gets of them; the rest goes from the pages. A
 * blank checksum to complete here, or headers longer than the copy, take
 * the copying way. */
static void tap_write(struct xnf_pump *p, const struct xnf_rx_view *v)
{
	struct iovec iov[XNF_RX_SPANS + 2];
	struct xnf_frame f = v->f;
	struct virtio_net_hdr h;
	uint8_t head[HEAD_MAX];
	unsigned n = 0;
	ssize_t w;

	f.data = head;
	f.len = v->f.len < HEAD_MAX ? v->f.len : HEAD_MAX;
	xnf_rx_view_copy(v, head, f.len);
	if (p->offload ? xnf_vnet_from_frame(&f, &h) < 0
		       : (f.flags & XNF_F_CSUM_BLANK) != 0) {
		f.data = p->rx_buf + HDR;
		f.len = v->f.len;
		xnf_rx_view_copy(v, f.data, f.len);
		tap_write_copy(p, &f);
		return;
	}
	if (p->offload)
		iov[n++] = (struct iovec){ .iov_base = &h, .iov_len = HDR };
	iov[n++] = (struct iovec){ .iov_base = head, .iov_len = f.len };
	n += xnf_rx_view_tail(v, f.len, iov + n);
	w = writev(p->out_fd, iov, (int)n);
	if (w != (ssize_t)(v->f.len + (p->offload ? HDR : 0)))
		p->tap_drops++;
}

/* A burst off the ring onto the TAP; the buffers are posted again after. */
static int ring_to_tap(struct xnf_pump *p)
{
	int n = xnf_rx_take_queue(p->dev, p->queue, p->rx, BURST, BUF_SIZE);

	for (int i = 0; i < n; i++)
		tap_write(p, &p->rx[i]);
	xnf_rx_done_queue(p->dev, p->queue);
	return n < 0 ? 0 : n;
}

/* ---- the thread -------------------------------------------------------------- */

/* One round: events, RX, TX. True if it moved frames or work is waiting
 * (go round again), false when the worker may sleep. */
static bool round_once(struct xnf_pump *p)
{
	int moved, rc;

	if (xnf_queue_events(p->dev, p->queue) != 0)
		wake(p->main_wake);
	moved = ring_to_tap(p) + tap_to_ring(p);
	rc = xnf_queue_rearm(p->dev, p->queue);
	/* Broken or gone: the main thread finds out, and stops us. */
	if (rc < 0)
		wake(p->main_wake);
	return moved > 0 || rc == 1;
}

/* After frames moved: the ring, the TAP (if the ring may take its
 * frames) and the wake-up, looked at for a few microseconds before we
 * sleep. True if something came. */
static bool poll_briefly(struct xnf_pump *p, bool tap)
{
	struct pollfd fds[2] = {
		{ .fd = p->wake, .events = POLLIN },
		{ .fd = tap ? p->tap_fd : -1, .events = POLLIN },
	};

	return xnf_queue_poll(p->dev, p->queue, fds, 2) == 1;
}

/* Until an event, a frame on the TAP (only if the ring may take it: frames
 * left over wait for completions, which come as events) or a wake-up. */
static void sleep_once(struct xnf_pump *p, int evfd, bool tap)
{
	struct pollfd fds[3] = {
		{ .fd = p->wake, .events = POLLIN },
		{ .fd = evfd, .events = POLLIN },
		{ .fd = tap ? p->tap_fd : -1, .events = POLLIN },
	};
	uint64_t v;

	if (poll(fds, 3, -1) < 0 && errno != EINTR)
		xnx_warn("vif %u queue %u: poll: %s", xnf_devid(p->dev), p->queue,
			 strerror(errno));
	if (fds[0].revents && read(p->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
		xnx_warn("clearing a wake-up: %s", strerror(errno));
}

static void *worker_main(void *arg)
{
	struct xnf_pump *p = arg;

	__atomic_store_n(&p->tid, (int)gettid(), __ATOMIC_RELEASE);
	for (;;) {
		bool more, tap;
		int evfd;

		pthread_mutex_lock(&p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		more = round_once(p);
		evfd = xnf_queue_fd(p->dev, p->queue);
		tap = xnf_tx_ready_queue(p->dev, p->queue) == 1;
		if (!more)
			more = poll_briefly(p, tap);
		pthread_mutex_unlock(&p->lock);
		if (!more)
			sleep_once(p, evfd, tap);
	}
	__atomic_store_n(&p->tid, 0, __ATOMIC_RELEASE);
	return NULL;
}

int xnf_pump_start(struct xnf_pump *p)
{
	sigset_t all, old;
	int rc;

	p->stop = false;
	/* Signals are the main thread's (its signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&p->thread, NULL, worker_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	p->running = rc == 0;
	return -rc;
}

void xnf_pump_stop_locked(struct xnf_pump *p)
{
	p->stop = true;
	wake(p->wake);
}

void xnf_pump_join(struct xnf_pump *p)
{
	if (!p || !p->running)
		return;
	xnf_pump_lock(p);
	xnf_pump_stop_locked(p);
	xnf_pump_unlock(p);
	pthread_join(p->thread, NULL);
	p->running = false;
}

void xnf_pump_lock(struct xnf_pump *p)
{
	pthread_mutex_lock(&p->lock);
}

void xnf_pump_unlock(struct xnf_pump *p)
{
	pthread_mutex_unlock(&p->lock);
}
