/* sock.c — listening on a unix socket path, taking it over from a dead
 * server (xnx_sock.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xnx_sock.h"

/* A socket file at A's path: a live server → -EADDRINUSE, stale → removed. */
static int clear_stale(const struct sockaddr_un *a)
{
	struct stat st;
	int fd, rc;

	if (lstat(a->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)a, sizeof(*a));
	close(fd);
	if (rc == 0)
		return -EADDRINUSE;
	return unlink(a->sun_path) < 0 && errno != ENOENT ? -errno : 0;
}

int xnx_sock_listen(const char *path, int backlog)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	if ((rc = clear_stale(&a)) < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, backlog) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}
