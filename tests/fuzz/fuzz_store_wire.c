/*
 * fuzz_store_wire.c — xnet-simd's xenstore half fed raw xs_wire bytes: a
 * fresh store per input, listening on a unix socket as the daemon does; a
 * client connects as domain 0 (privileged) or as guest domain 1, sends the
 * input as one byte stream, half-closes, and reads every reply until the
 * store hangs up. So the framing (split, oversized and truncated messages),
 * every request handler, transactions, watches and quotas all see
 * arbitrary input, and the store is freed at the end (leaks are caught).
 *
 * Invariants checked besides "no crash, UB or leak":
 *  - every message the store sends is framed: a header and at most
 *    XENSTORE_PAYLOAD_MAX bytes, and an error reply is a NUL-terminated
 *    errno name;
 *  - one reply per complete request (watch events aside), also to the
 *    ones refused;
 *  - the store lets go of the connection once the client is done.
 *
 * Input: byte 0 bit 0 = connect as domain 0; the rest is sent as is, except
 * that a CONTROL "dump-file" (which writes a file wherever it is told) is
 * turned into a READ.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim/store_int.h"
#include "xnx_log.h"

static char sock_dir[80], sock_path[108];
static uint8_t msg[64 * 1024];

struct client {
	struct sim_loop *loop;
	int fd;
	uint8_t buf[XENSTORE_PAYLOAD_MAX + sizeof(struct xsd_sockmsg)];
	size_t have;
	unsigned replies;
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_store_wire: invariant broken: %s\n", what);
	abort();
}

/* Take complete messages off the front of the client's buffer. */
static void parse_replies(struct client *cl)
{
	struct xsd_sockmsg h;
	size_t pos = 0;

	while (cl->have - pos >= sizeof(h)) {
		memcpy(&h, cl->buf + pos, sizeof(h));
		if (h.len > XENSTORE_PAYLOAD_MAX)
			fail("reply longer than XENSTORE_PAYLOAD_MAX");
		if (cl->have - pos < sizeof(h) + h.len)
			break;
		if (h.type == XS_ERROR &&
		    (h.len == 0 || cl->buf[pos + sizeof(h) + h.len - 1] != '\0'))
			fail("error reply that is not a NUL-terminated name");
		if (h.type != XS_WATCH_EVENT)
			cl->replies++;
		pos += sizeof(h) + h.len;
	}
	memmove(cl->buf, cl->buf + pos, cl->have - pos);
	cl->have -= pos;
}

static void on_client(int fd, uint32_t events, void *arg)
{
	struct client *cl = arg;
	ssize_t n = recv(fd, cl->buf + cl->have, sizeof(cl->buf) - cl->have, MSG_DONTWAIT);

	if (n > 0) {
		cl->have += (size_t)n;
		parse_replies(cl);
		return;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	sim_loop_stop(cl->loop);	/* the store hung up: done */
}

/* Count complete requests as the store frames them, and defuse the one
 * command that writes files. */
static unsigned prepare(uint8_t *p, size_t len)
{
	static const char dump_file[] = "dump-file";
	struct xsd_sockmsg h;
	unsigned n = 0;
	size_t pos = 0;

	while (len - pos >= sizeof(h)) {
		memcpy(&h, p + pos, sizeof(h));
		pos += sizeof(h);
		n++;	/* an oversized one is answered E2BIG */
		if (h.len > XENSTORE_PAYLOAD_MAX) {
			pos += len - pos < h.len ? len - pos : h.len;
			continue;
		}
		if (len - pos < h.len) {
			n--;	/* cut short by the hang-up: never answered */
			break;
		}
		if (h.type == XS_CONTROL && h.len >= sizeof(dump_file) - 1 &&
		    !memcmp(p + pos, dump_file, sizeof(dump_file) - 1)) {
			h.type = XS_READ;
			memcpy(p + pos - sizeof(h), &h, sizeof(h));
		}
		pos += h.len;
	}
	return n;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send all of P; the store is not reading yet, so this only fills the
 * socket buffer (inputs are far smaller than it). */
static bool send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return shutdown(fd, SHUT_WR) == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void remove_dir(void)
{
	unlink(sock_path);
	rmdir(sock_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(sock_dir, sizeof(sock_dir), "%s/xnet-fuzz-store.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(sock_dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/xenstored.sock", sock_dir);
	atexit(remove_dir);
	return 0;
}

static void run_one(struct sim_store *st, struct sim_loop *loop, unsigned domid,
		    size_t len)
{
	static struct client cl;
	unsigned requests = prepare(msg, len);

	memset(&cl, 0, sizeof(cl));
	cl.loop = loop;
	if (sim_store_listen(st, domid, sock_path) < 0)
		fail("cannot listen");
	cl.fd = connect_to(sock_path);
	if (cl.fd < 0 || !send_all(cl.fd, msg, len))
		fail("cannot talk to the store");
	if (sim_loop_add(loop, cl.fd, EPOLLIN, on_client, &cl) < 0)
		fail("cannot watch the client");
	sim_loop_run(loop);
	if (cl.replies != requests) {
		fprintf(stderr, "%u replies to %u requests\n", cl.replies, requests);
		fail("not one reply per request");
	}
	sim_loop_del(loop, cl.fd);
	close(cl.fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_loop *loop;
	struct sim_store *st;
	unsigned domid;

	if (size < 1 || size - 1 > sizeof(msg))
		return 0;
	xnx_log_set_level(XNX_LOG_ERR);
	domid = data[0] & 1 ? 0 : 1;
	memcpy(msg, data + 1, size - 1);
	loop = sim_loop_new();
	st = loop ? sim_store_new(loop) : NULL;
	if (!st)
		fail("cannot create a store");
	if (sim_store_domain_introduce(st, 1, "guest1") < 0)
		fail("cannot introduce domain 1");
	run_one(st, loop, domid, size - 1);
	sim_store_free(st);
	sim_loop_free(loop);
	return 0;
}
