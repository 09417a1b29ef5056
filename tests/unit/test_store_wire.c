/*
 * test_store_wire.c — xnet-simd's xenstore on the wire: malformed and
 * unknown messages on a raw socket (ERROR reply, connection survives),
 * clients vanishing mid-message, a client that never reads, many
 * connections, a 100k-node tree, RESET_WATCHES and pipelined requests.
 */
#include "test_store_harness.h"
#include "cunit_run.h"

static struct xs_handle *d0;

static int suite_init(void)
{
	if (h_start())
		return -1;
	d0 = h_open(0);
	return d0 ? 0 : -1;
}

static int suite_clean(void)
{
	xs_close(d0);
	return h_stop();
}

/* Send one request and read its reply; returns the reply type or -1. */
static int ask(int fd, uint32_t type, uint32_t req_id, uint32_t tx_id,
	       const void *body, uint32_t len, char *out, size_t outlen)
{
	struct xsd_sockmsg m;

	if (h_send(fd, type, req_id, tx_id, body, len) ||
	    h_recv(fd, &m, out, outlen) || m.req_id != req_id)
		return -1;
	return (int)m.type;
}

/* The connection still answers a plain READ correctly (its own domid,
 * by relative path, which any domain may read). */
static int alive(int fd)
{
	char buf[64];

	return ask(fd, XS_READ, 999, 0, "domid", 6, buf, sizeof(buf)) == XS_READ &&
	       buf[0] >= '0' && buf[0] <= '9';
}

static void test_store_wire_errors(void)
{
	static const struct {
		const char *what;
		uint32_t type, tx_id;
		const char *body;
		uint32_t len;
		const char *err;
	} cases[] = {
		{ "unknown type", 77, 0, "", 0, "ENOSYS" },
		{ "reserved type 20", 20, 0, "x", 2, "ENOSYS" },
		{ "WATCH_EVENT from a client", XS_WATCH_EVENT, 0, "a\0b", 4, "ENOSYS" },
		{ "READ without NUL", XS_READ, 0, "/local", 6, "EINVAL" },
		{ "READ with two NULs", XS_READ, 0, "/a\0b", 5, "EINVAL" },
		{ "READ empty", XS_READ, 0, "", 0, "EINVAL" },
		{ "READ bad chars", XS_READ, 0, "/a b", 5, "EINVAL" },
		{ "READ trailing slash", XS_READ, 0, "/local/", 8, "EINVAL" },
		{ "READ special", XS_READ, 0, "@releaseDomain", 15, "EINVAL" },
		{ "READ missing", XS_READ, 0, "/no/such", 9, "ENOENT" },
		{ "WRITE without NUL", XS_WRITE, 0, "/x", 2, "EINVAL" },
		{ "unknown transaction", XS_READ, 12345, "/local", 7, "ENOENT" },
		{ "TRANSACTION_END bad arg", XS_TRANSACTION_END, 0, "X", 2, "ENOENT" },
		{ "WATCH one arg", XS_WATCH, 0, "/a", 3, "EINVAL" },
		{ "UNWATCH unknown", XS_UNWATCH, 0, "/a\0t", 5, "ENOENT" },
		{ "SET_PERMS bad perm", XS_SET_PERMS, 0, "/local\0x0", 10, "EINVAL" },
		{ "SET_PERMS no perm", XS_SET_PERMS, 0, "/local", 7, "EINVAL" },
		{ "DIRECTORY_PART bad offset", XS_DIRECTORY_PART, 0, "/local\0zz", 10, "EINVAL" },
		{ "GET_DOMAIN_PATH junk", XS_GET_DOMAIN_PATH, 0, "12x", 4, "EINVAL" },
		{ "INTRODUCE short", XS_INTRODUCE, 0, "5", 2, "EINVAL" },
		{ "CONTROL unknown", XS_CONTROL, 0, "frobnicate", 11, "EINVAL" },
		{ "RM root", XS_RM, 0, "/", 2, "EINVAL" },
	};
	int fd = h_raw(0);
	char buf[256];

	CU_ASSERT_FATAL(fd >= 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int type = ask(fd, cases[i].type, (uint32_t)i + 1, cases[i].tx_id,
			       cases[i].body, cases[i].len, buf, sizeof(buf));
		int ok = type == XS_ERROR && !strcmp(buf, cases[i].err);

		if (!ok)
			fprintf(stderr, "%s: type %d payload %s\n", cases[i].what, type,
				type >= 0 ? buf : "-");
		CU_ASSERT_TRUE(ok);
	}
	CU_ASSERT_TRUE(alive(fd));
	close(fd);
}

static void test_store_wire_guest_errors(void)
{
	int fd = h_raw(1);
	char buf[64];

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ask(fd, XS_INTRODUCE, 1, 0, "5\0" "0\0" "0", 6, buf, sizeof(buf)),
			XS_ERROR);
	CU_ASSERT_STRING_EQUAL(buf, "EACCES");
	CU_ASSERT_EQUAL(ask(fd, XS_CONTROL, 2, 0, "help", 5, buf, sizeof(buf)), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(buf, "EACCES");
	CU_ASSERT_EQUAL(ask(fd, XS_READ, 3, 0, "/tool", 6, buf, sizeof(buf)), XS_ERROR);
	CU_ASSERT_STRING_EQUAL(buf, "EACCES");
	CU_ASSERT_EQUAL(ask(fd, XS_READ, 4, 0, "domid", 6, buf, sizeof(buf)), XS_READ);
	CU_ASSERT_STRING_EQUAL(buf, "1");
	close(fd);
}

static void test_store_wire_oversized(void)
{
	static char big[XENSTORE_PAYLOAD_MAX + 100];
	struct xsd_sockmsg m;
	char buf[64];
	int fd = h_raw(0);

	CU_ASSERT_FATAL(fd >= 0);
	memset(big, 'a', sizeof(big));
	CU_ASSERT_EQUAL(h_send(fd, XS_WRITE, 5, 0, big, sizeof(big)), 0);
	CU_ASSERT_EQUAL(h_recv(fd, &m, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(m.type, XS_ERROR);
	CU_ASSERT_EQUAL(m.req_id, 5);
	CU_ASSERT_STRING_EQUAL(buf, "E2BIG");
	/* The payload was skipped: the stream is still in step. */
	CU_ASSERT_TRUE(alive(fd));
	close(fd);
}

static void test_store_wire_reply_fields(void)
{
	struct xsd_sockmsg m;
	char buf[64];
	int fd = h_raw(0);
	uint32_t tx;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ask(fd, XS_TRANSACTION_START, 7, 0, "", 1, buf, sizeof(buf)),
			XS_TRANSACTION_START);
	tx = (uint32_t)strtoul(buf, NULL, 10);
	CU_ASSERT_NOT_EQUAL(tx, 0);
	CU_ASSERT_EQUAL(h_send(fd, XS_WRITE, 8, tx, "/wf\0v", 5), 0);
	CU_ASSERT_EQUAL(h_recv(fd, &m, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(m.type, XS_WRITE);
	CU_ASSERT_EQUAL(m.req_id, 8);
	CU_ASSERT_EQUAL(m.tx_id, tx);
	CU_ASSERT_EQUAL(m.len, 3);
	CU_ASSERT_STRING_EQUAL(buf, "OK");
	/* Nested start is refused. */
	CU_ASSERT_EQUAL(ask(fd, XS_TRANSACTION_START, 9, tx, "", 1, buf, sizeof(buf)),
			XS_ERROR);
	CU_ASSERT_STRING_EQUAL(buf, "EBUSY");
	CU_ASSERT_EQUAL(ask(fd, XS_TRANSACTION_END, 10, tx, "T", 2, buf, sizeof(buf)),
			XS_TRANSACTION_END);
	CU_ASSERT_EQUAL(ask(fd, XS_READ, 11, 0, "/wf", 4, buf, sizeof(buf)), XS_READ);
	CU_ASSERT_STRING_EQUAL(buf, "v");
	/* DIRECTORY_PART past the end: generation and an empty list. */
	CU_ASSERT_EQUAL(h_send(fd, XS_DIRECTORY_PART, 12, 0, "/wf\0" "100", 8), 0);
	CU_ASSERT_EQUAL(h_recv(fd, &m, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(m.type, XS_DIRECTORY_PART);
	CU_ASSERT_EQUAL(m.len, strlen(buf) + 2);
	close(fd);
}

static void test_store_wire_reset_watches(void)
{
	struct xsd_sockmsg m;
	char buf[128];
	int fd = h_raw(0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ask(fd, XS_WATCH, 1, 0, "/rw\0tok", 8, buf, sizeof(buf)), XS_WATCH);
	CU_ASSERT_EQUAL(h_recv(fd, &m, buf, sizeof(buf)), 0);	/* initial event */
	CU_ASSERT_EQUAL(m.type, XS_WATCH_EVENT);
	CU_ASSERT_EQUAL(m.req_id, 0);
	CU_ASSERT_EQUAL(memcmp(buf, "/rw\0tok\0", 8), 0);
	CU_ASSERT_EQUAL(ask(fd, XS_RESET_WATCHES, 2, 0, "", 1, buf, sizeof(buf)),
			XS_RESET_WATCHES);
	CU_ASSERT_TRUE(xs_write(d0, XBT_NULL, "/rw/x", "1", 1));
	/* No event: the next message is the reply to this read. */
	CU_ASSERT_TRUE(alive(fd));
	close(fd);
}

static void test_store_wire_pipelined(void)
{
	enum { N = 200 };
	struct xsd_sockmsg m;
	char buf[64];
	int fd = h_raw(1), in_order = 1;

	CU_ASSERT_FATAL(fd >= 0);
	/* Ten times the guest's 20 outstanding replies, sent before reading
	 * any: the daemon pauses and resumes the client, and loses nothing. */
	for (uint32_t i = 1; i <= N; i++)
		CU_ASSERT_EQUAL_FATAL(h_send(fd, XS_READ, i, 0, "domid", 6), 0);
	for (uint32_t i = 1; i <= N && in_order; i++)
		in_order = h_recv(fd, &m, buf, sizeof(buf)) == 0 && m.req_id == i &&
			   m.type == XS_READ && !strcmp(buf, "1");
	CU_ASSERT_TRUE(in_order);
	close(fd);
}

static void test_store_wire_vanish(void)
{
	static const struct xsd_sockmsg half = { .type = XS_WRITE, .len = 100 };
	int fd;

	/* Half a header. */
	fd = h_raw(0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, &half, 7), 7);
	close(fd);
	/* A header and half its payload. */
	fd = h_raw(1);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, &half, sizeof(half)), (ssize_t)sizeof(half));
	CU_ASSERT_EQUAL(write(fd, "data/x\0abc", 10), 10);
	close(fd);
	/* A transaction and a watch left behind. */
	fd = h_raw(0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(h_send(fd, XS_TRANSACTION_START, 1, 0, "", 1), 0);
	CU_ASSERT_EQUAL(h_send(fd, XS_WATCH, 2, 0, "/\0all", 6), 0);
	CU_ASSERT_EQUAL(h_send(fd, XS_WRITE, 3, 0, "/vanish", 7), 0);
	close(fd);
	/* Everyone else carries on. */
	CU_ASSERT_TRUE(xs_write(d0, XBT_NULL, "/after-vanish", "ok", 2));
	fd = h_raw(0);
	CU_ASSERT_TRUE(alive(fd));
	close(fd);
}

static void test_store_wire_slow_reader(void)
{
	char req[64], p[64];
	int fd = h_raw(0), ok = 1;
	uint64_t start;

	CU_ASSERT_FATAL(fd >= 0);
	/* A client that watches everything, pipelines requests and never
	 * reads a byte. */
	CU_ASSERT_EQUAL(h_send(fd, XS_WATCH, 1, 0, "/\0all", 6), 0);
	for (int i = 0; i < 5000; i++) {
		struct xsd_sockmsg m = { .type = XS_READ, .req_id = (uint32_t)i + 2 };
		char msg[sizeof(m) + 64];

		m.len = (uint32_t)snprintf(req, sizeof(req), "/slow/k%d", i) + 1;
		memcpy(msg, &m, sizeof(m));
		memcpy(msg + sizeof(m), req, m.len);
		/* Until the daemon stops reading it and the socket is full. */
		if (send(fd, msg, sizeof(m) + m.len, MSG_DONTWAIT) !=
		    (ssize_t)(sizeof(m) + m.len))
			break;
	}
	/* The daemon goes on serving others at full speed. */
	start = (uint64_t)time(NULL);
	for (int i = 0; i < 5000 && ok; i++) {
		snprintf(p, sizeof(p), "/slow/k%d", i % 100);
		ok = xs_write(d0, XBT_NULL, p, "x", 1);
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_TRUE((uint64_t)time(NULL) - start < 30);
	close(fd);
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/slow"));
}

static void test_store_wire_backlog_drop(void)
{
	static const char w[] = "/local/domain/1/data/backlog\0all";
	char buf[4200], p[64], *r;
	int fd = h_raw(1), ok = 1, eof = 0;
	struct xsd_sockmsg m;

	CU_ASSERT_FATAL(fd >= 0);
	r = xs_control_command(d0, "quota", "output-bytes\0" "100000", 20);
	CU_ASSERT_PTR_NOT_NULL(r);
	free(r);
	/* A guest watches its area and reads nothing: past 100000 queued
	 * bytes (beyond what the socket holds) the daemon drops it. */
	CU_ASSERT_EQUAL(h_send(fd, XS_WATCH, 1, 0, w, sizeof(w)), 0);
	for (int i = 0; i < 20000 && ok; i++) {
		snprintf(p, sizeof(p), "/local/domain/1/data/backlog/k%d", i);
		ok = xs_write(d0, XBT_NULL, p, "", 0);
	}
	CU_ASSERT_TRUE(ok);
	/* What was sent arrives in order, then the end of the stream. */
	while (!eof && h_readn(fd, &m, sizeof(m)) == 0) {
		if (m.len > sizeof(buf) || h_readn(fd, buf, m.len))
			break;
	}
	eof = recv(fd, buf, 1, MSG_DONTWAIT) == 0;
	CU_ASSERT_TRUE(eof);
	close(fd);
	r = xs_control_command(d0, "quota", "output-bytes\0" "1048576", 21);
	free(r);
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/local/domain/1/data/backlog"));
}

static void test_store_wire_many_connections(void)
{
	enum { N = 300 };
	struct xs_handle **h = calloc(N, sizeof(*h));
	char p[64], *v;
	unsigned len;
	int opened = 0, ok = 1;

	for (int i = 0; i < N; i++) {
		h[i] = h_open(i % 2);
		if (h[i])
			opened++;
	}
	CU_ASSERT_EQUAL(opened, N);
	for (int i = 0; i < N && ok; i++) {
		snprintf(p, sizeof(p), i % 2 ? "data/conn%d" : "/conns/c%d", i);
		ok = h[i] && xs_write(h[i], XBT_NULL, p, p, (unsigned)strlen(p));
	}
	CU_ASSERT_TRUE(ok);
	for (int i = 0; i < N && ok; i++) {
		snprintf(p, sizeof(p), i % 2 ? "data/conn%d" : "/conns/c%d", i);
		v = xs_read(h[(i + 2) % N], XBT_NULL, p, &len);
		ok = v && !strcmp(v, p);
		free(v);
	}
	CU_ASSERT_TRUE(ok);
	/* One write, every watcher told. */
	for (int i = 0; i < N; i += 2)
		CU_ASSERT_TRUE(h[i] && xs_watch(h[i], "/conns/bell", "b"));
	CU_ASSERT_TRUE(xs_write(d0, XBT_NULL, "/conns/bell", "1", 1));
	for (int i = 0; i < N; i += 2) {
		CU_ASSERT_TRUE(h_expect(h[i], "/conns/bell", "b"));	/* initial */
		CU_ASSERT_TRUE(h_expect(h[i], "/conns/bell", "b"));
	}
	for (int i = 0; i < N; i++)
		if (h[i])
			xs_close(h[i]);
	free(h);
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/conns"));
}

static void test_store_wire_conn_quota(void)
{
	enum { Q = 256 };
	int fds[Q], extra;
	char b;

	/* A guest gets 256 connections; the next is closed at once. */
	for (int i = 0; i < Q; i++) {
		fds[i] = h_raw(2);
		CU_ASSERT_FATAL(fds[i] >= 0);
	}
	CU_ASSERT_TRUE(alive(fds[Q - 1]));
	extra = h_raw(2);
	CU_ASSERT_FATAL(extra >= 0);
	CU_ASSERT_EQUAL(h_readn(extra, &b, 1), -1);	/* EOF, not a reply */
	close(extra);
	CU_ASSERT_TRUE(alive(fds[0]));
	close(fds[0]);
	/* Room again once one closes (the close is seen asynchronously, so
	 * retry within the bound). */
	int ok = 0;
	for (int tries = 0; tries < 100 && !ok; tries++) {
		extra = h_raw(2);
		ok = extra >= 0 && alive(extra);
		if (extra >= 0)
			close(extra);
	}
	CU_ASSERT_TRUE(ok);
	for (int i = 1; i < Q; i++)
		close(fds[i]);
}

/* Random messages from a guest: every one gets exactly one reply (events
 * aside), the daemon survives, the guest's connection too. */
static void test_store_wire_garbage(void)
{
	static const char alpha[] = "abc/@\0\0-_01 .\xff";
	char body[320], buf[4200];
	unsigned seed = 12345;
	int fd = h_raw(1), replied = 0;

	CU_ASSERT_FATAL(fd >= 0);
	for (uint32_t id = 1; id <= 3000; id++) {
		uint32_t type = rand_r(&seed) % 26, len = rand_r(&seed) % 300;
		uint32_t tx = rand_r(&seed) % 4 ? 0 : rand_r(&seed) % 5;
		struct xsd_sockmsg m;

		for (uint32_t i = 0; i < len; i++)
			body[i] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
		if (h_send(fd, type, id, tx, body, len))
			break;
		/* Skip watch events; the reply carries our id. */
		do {
			if (h_recv(fd, &m, buf, sizeof(buf)))
				goto out;
		} while (m.type == XS_WATCH_EVENT);
		if (m.req_id != id)
			break;
		replied++;
	}
out:
	CU_ASSERT_EQUAL(replied, 3000);
	CU_ASSERT_TRUE(alive(fd));
	close(fd);
	CU_ASSERT_TRUE(xs_write(d0, XBT_NULL, "/after-garbage", "ok", 2));
}

static void test_store_wire_large_tree(void)
{
	char p[64];
	int ok = 1;
	unsigned n;
	char **dir;

	/* 100k nodes: 100 directories of 1000. */
	for (int i = 0; i < 100000 && ok; i++) {
		snprintf(p, sizeof(p), "/big/d%d/k%d", i / 1000, i % 1000);
		ok = xs_write(d0, XBT_NULL, p, "v", 1);
	}
	CU_ASSERT_TRUE(ok);
	dir = xs_directory(d0, XBT_NULL, "/big", &n);
	CU_ASSERT_EQUAL(n, 100);
	free(dir);
	dir = xs_directory(d0, XBT_NULL, "/big/d57", &n);
	CU_ASSERT_EQUAL(n, 1000);
	free(dir);
	CU_ASSERT_TRUE(xs_watch(d0, "/big/d99/k999", "deep"));
	CU_ASSERT_TRUE(h_expect(d0, "/big/d99/k999", "deep"));
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/big"));
	CU_ASSERT_TRUE(h_expect(d0, "/big/d99/k999", "deep"));
	CU_ASSERT_PTR_NULL(xs_read(d0, XBT_NULL, "/big/d3/k3", &n));
	xs_unwatch(d0, "/big/d99/k999", "deep");

	/* The deepest tree a path allows (1535 levels), then a path one byte
	 * over XENSTORE_ABS_PATH_MAX. */
	char deep[XENSTORE_ABS_PATH_MAX + 8] = "";
	for (int i = 0; i < XENSTORE_ABS_PATH_MAX / 2 - 1; i++)
		strcat(deep, "/d");
	CU_ASSERT_TRUE(xs_write(d0, XBT_NULL, deep, "bottom", 6));
	strcat(deep, "/dd");	/* 3073 bytes */
	CU_ASSERT_FALSE(xs_write(d0, XBT_NULL, deep, "x", 1));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/d"));
	CU_ASSERT_FALSE(xs_read(d0, XBT_NULL, "/d/d", &n));
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "wire_errors", test_store_wire_errors },
		{ "wire_guest_errors", test_store_wire_guest_errors },
		{ "wire_oversized", test_store_wire_oversized },
		{ "wire_reply_fields", test_store_wire_reply_fields },
		{ "wire_reset_watches", test_store_wire_reset_watches },
		{ "wire_pipelined", test_store_wire_pipelined },
		{ "wire_vanish", test_store_wire_vanish },
		{ "wire_slow_reader", test_store_wire_slow_reader },
		{ "wire_backlog_drop", test_store_wire_backlog_drop },
		{ "wire_many_connections", test_store_wire_many_connections },
		{ "wire_conn_quota", test_store_wire_conn_quota },
		{ "wire_large_tree", test_store_wire_large_tree },
		{ "wire_garbage", test_store_wire_garbage },
	};

	return CUNIT_RUN("store_wire", suite_init, suite_clean, tests);
}
