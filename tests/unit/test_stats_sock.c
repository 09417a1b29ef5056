/* test_stats_sock.c — xnetback's stats socket (netback/stats_sock.c): the
 * answer for a hand-built backend (vif totals = folded + live queues, ring
 * occupancy clamped whatever the guest wrote), and the socket's life:
 * served through epoll, a live path refused, a stale one replaced, the
 * file removed on close. */
#include <CUnit/Basic.h>
#include "cunit_run.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "netback/xnb_vif.h"

static char dir[64];
static char path[96];

/* The value of KEY in the SCOPE'th section of TEXT ("vif ..." / "queue ..."
 * lines start sections; scope 0 is the header). -1 if absent. */
static long long value(const char *text, int scope, const char *key)
{
	char *copy = strdup(text), *save = NULL, *line;
	long long v = -1;
	int at = 0;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t k = strlen(key);

		if (!strncmp(line, "vif ", 4) || !strncmp(line, "queue ", 6))
			at++;
		else if (at == scope && !strncmp(line, key, k) && line[k] == ' ')
			v = atoll(line + k + 1);
	}
	free(copy);
	return v;
}

static char *render(const struct xnb_backend *be)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(xnb_stats_write(be, f), 0);
	fclose(f);
	return buf;
}

static void test_stats_write_totals_and_rings(void)
{
	static struct xnb_backend be;
	static struct xnb_vif vif;
	static struct xnb_queue q;
	void *tx = aligned_alloc(XNB_PAGE_SIZE, XNB_PAGE_SIZE);
	void *rx = aligned_alloc(XNB_PAGE_SIZE, XNB_PAGE_SIZE);
	char *out;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
	SHARED_RING_INIT((netif_tx_sring_t *)tx);
	SHARED_RING_INIT((netif_rx_sring_t *)rx);
	BACK_RING_INIT(&q.tx, (netif_tx_sring_t *)tx, XNB_PAGE_SIZE);
	BACK_RING_INIT(&q.rx, (netif_rx_sring_t *)rx, XNB_PAGE_SIZE);
	/* A hostile producer a million ahead; RX with 7 buffers posted. */
	((netif_tx_sring_t *)tx)->req_prod = 1000000;
	((netif_rx_sring_t *)rx)->req_prod = 7;
	be.vifs = &vif;
	vif.domid = 5;
	vif.devid = 2;
	vif.connected = true;
	vif.nqueues = 1;
	vif.tap.ifindex = 0;
	snprintf(vif.tap.name, sizeof(vif.tap.name), "vif5.2");
	vif.stats.tx_packets = 100;		/* an earlier connection's */
	vif.stats.drops[XNB_DROP_TX_SPOOF_MAC] = 1;
	vif.vq[0] = (struct xnb_vq){ .vif = &vif, .idx = 0, .q = &q, .tx_map = tx, .rx_map = rx };
	vif.vq[0].stats.tx_packets = 7;
	vif.vq[0].stats.drops[XNB_DROP_TX_SPOOF_MAC] = 2;
	vif.vq[0].notify_received = 3;
	vif.vq[0].copy_segs = 9;

	out = render(&be);
	CU_ASSERT_EQUAL(value(out, 0, "xnetback"), 1);
	CU_ASSERT_EQUAL(value(out, 1, "tx_packets"), 107);
	CU_ASSERT_EQUAL(value(out, 1, "drop_tx_spoofed_mac"), 3);
	CU_ASSERT_EQUAL(value(out, 1, "notify_received"), 3);
	CU_ASSERT_EQUAL(value(out, 1, "queues"), 1);
	CU_ASSERT_EQUAL(value(out, 2, "tx_packets"), 7);
	CU_ASSERT_EQUAL(value(out, 2, "grant_copy_segs"), 9);
	CU_ASSERT_EQUAL(value(out, 2, "grant_maps"), 2);
	CU_ASSERT_EQUAL(value(out, 2, "tx_ring_pending"), (long long)XNB_TX_RING_SIZE);
	CU_ASSERT_EQUAL(value(out, 2, "rx_ring_posted"), 7);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nvif 5 2\nname vif5.2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nend\n"));
	free(out);

	/* Disconnected: totals only, no queue section. */
	vif.connected = false;
	xnb_stats_add(&vif.stats, &vif.vq[0].stats);
	out = render(&be);
	CU_ASSERT_EQUAL(value(out, 1, "tx_packets"), 107);
	CU_ASSERT_EQUAL(value(out, 1, "queues"), 0);
	CU_ASSERT_PTR_NULL(strstr(out, "\nqueue "));
	free(out);
	free(tx);
	free(rx);
}

static int connect_to(const char *p)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", p);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Run BE's epoll once, handing stats events to the socket code. */
static void loop_once(struct xnb_backend *be)
{
	struct epoll_event ev[8];
	int n = epoll_wait(be->epfd, ev, 8, 1000);

	for (int i = 0; i < n; i++)
		xnb_stats_sock_event(be, ev[i].data.ptr, ev[i].events);
}

static void test_stats_sock_life(void)
{
	static struct xnb_backend be, other;
	char buf[4096];
	ssize_t n, total = 0;
	int fd;

	be.epfd = epoll_create1(0);
	other.epfd = epoll_create1(0);
	CU_ASSERT_FATAL(be.epfd >= 0 && other.epfd >= 0);
	/* A stale socket file (nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		CU_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	}
	close(fd);
	CU_ASSERT_EQUAL_FATAL(xnb_stats_sock_open(&be, path), 0);
	/* A live one is not taken over. */
	CU_ASSERT_EQUAL(xnb_stats_sock_open(&other, path), -EADDRINUSE);

	fd = connect_to(path);
	CU_ASSERT_FATAL(fd >= 0);
	loop_once(&be);		/* accept and answer */
	while ((n = read(fd, buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
		total += n;
	buf[total] = '\0';
	close(fd);
	CU_ASSERT(strncmp(buf, "xnetback 1\n", 11) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nend\n"));

	xnb_stats_sock_close(&be);
	CU_ASSERT_PTR_NULL(be.stats_sock);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);
	CU_ASSERT_EQUAL(connect_to(path), -1);
	/* A path that does not fit a socket address. */
	{
		char longp[200];
		memset(longp, 'x', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		CU_ASSERT_EQUAL(xnb_stats_sock_open(&other, longp), -ENAMETOOLONG);
	}
	close(be.epfd);
	close(other.epfd);
}

static int setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-stats-sock.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/xnetback.sock", dir);
	return 0;
}

static int teardown(void)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "stats_write_totals_and_rings", test_stats_write_totals_and_rings },
		{ "stats_sock_life", test_stats_sock_life },
	};

	return CUNIT_RUN("stats_sock", setup, teardown, tests);
}
