/*
 * test_netfront_stats.c — a frontend's stats socket (netfront/stats.c)
 * without a hypervisor: listening (a stale file replaced, a live server
 * refused), every waiting client answered with what the caller writes and
 * "end", a client that hangs up early not harming the server.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cunit_run.h"
#include "netfront/stats.h"
#include "xnx_log.h"

static char dir[64], path[96];

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xnf-stats.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/front.sock", dir);
	return 0;
}

static int suite_clean(void)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

static int client(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Everything FD sends until EOF (bounded: 1 s without data ends it). */
static size_t read_answer(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0 || len + 1 >= cap)
			break;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	return len;
}

static void write_lines(FILE *f, void *arg)
{
	fprintf(f, "xnetfront 1\nvif 3 %d\ntx_packets 42\n", *(int *)arg);
}

static void serve_answers_every_client(void)
{
	int lfd = xnf_stats_listen(path), fds[3], devid = 7;
	char buf[256];

	CU_ASSERT_FATAL(lfd >= 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_FATAL((fds[i] = client()) >= 0);
	CU_ASSERT_EQUAL(xnf_stats_serve(lfd, write_lines, &devid), 3);
	for (int i = 0; i < 3; i++) {
		read_answer(fds[i], buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, "xnetfront 1\nvif 3 7\ntx_packets 42\nend\n");
		close(fds[i]);
	}
	/* Nobody waiting: nothing served, no blocking. */
	CU_ASSERT_EQUAL(xnf_stats_serve(lfd, write_lines, &devid), 0);
	close(lfd);
	unlink(path);
}

static void serve_client_gone_first(void)
{
	int lfd = xnf_stats_listen(path), fd, devid = 1;
	char buf[256];

	CU_ASSERT_FATAL(lfd >= 0);
	CU_ASSERT_FATAL((fd = client()) >= 0);
	close(fd);			/* hangs up before the answer */
	CU_ASSERT_EQUAL(xnf_stats_serve(lfd, write_lines, &devid), 1);
	CU_ASSERT_FATAL((fd = client()) >= 0);
	CU_ASSERT_EQUAL(xnf_stats_serve(lfd, write_lines, &devid), 1);
	read_answer(fd, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\nend\n"));
	close(fd);
	close(lfd);
	unlink(path);
}

static void listen_replaces_stale_refuses_live(void)
{
	int lfd = xnf_stats_listen(path), again;

	CU_ASSERT_FATAL(lfd >= 0);
	/* A live server there: refused, its file left alone. */
	CU_ASSERT_EQUAL(xnf_stats_listen(path), -EADDRINUSE);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	close(lfd);			/* its file stays behind: stale */
	again = xnf_stats_listen(path);
	CU_ASSERT(again >= 0);
	if (again >= 0)
		close(again);
	unlink(path);
	/* Not a socket: refused, not removed. */
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	CU_ASSERT_EQUAL(xnf_stats_listen(path), -EEXIST);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	unlink(path);
}

int main(void)
{
	static const struct cunit_case cases[] = {
		{ "serve_answers_every_client", serve_answers_every_client },
		{ "serve_client_gone_first", serve_client_gone_first },
		{ "listen_replaces_stale_refuses_live", listen_replaces_stale_refuses_live },
	};

	xnx_log_open("test_netfront_stats", 0, XNX_LOG_ERR);
	return CUNIT_RUN("netfront_stats", suite_init, suite_clean, cases);
}
