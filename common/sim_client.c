/*
 * sim_client.c — the client side of xnet-simd's hypervisor protocol: the
 * request/response transport used by the sim platform, and the domain
 * management calls of xnx_sim.h over the privileged control socket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xnx_sim.h"
#include "xnx_simproto.h"

#define MAX_FDS 4

int xnx_simproto_connect(unsigned domid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	rc = xnx_sim_hyp_path(domid, sa.sun_path, sizeof(sa.sun_path));
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = errno == ENOENT ? -ECONNREFUSED : -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int send_req(int fd, const struct xnx_simproto_req *req)
{
	size_t len = sizeof(*req) + (size_t)req->count * sizeof(uint32_t);
	ssize_t n;

	if (len > XNX_SIMPROTO_MSG_MAX)
		return -E2BIG;
	do
		n = send(fd, req, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EPIPE ? -ECONNRESET : -errno;
	return 0;
}

/* Move the descriptors of MSG into FDS; close any beyond MAXFDS. */
static void take_fds(struct msghdr *msg, int *fds, int maxfds)
{
	int k = 0;

	for (int i = 0; i < maxfds; i++)
		fds[i] = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *p = (int *)CMSG_DATA(c);

		for (int i = 0; i < n; i++) {
			if (k < maxfds)
				fds[k++] = p[i];
			else
				close(p[i]);
		}
	}
}

int xnx_simproto_call(int fd, const struct xnx_simproto_req *req,
		      struct xnx_simproto_rsp *rsp, size_t rsp_max, int *fds,
		      int maxfds)
{
	union {
		char buf[CMSG_SPACE(MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = rsp, .iov_len = rsp_max };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
	int dummy[1];
	ssize_t n;
	int rc;

	rc = send_req(fd, req);
	if (rc < 0)
		return rc;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (!fds || maxfds <= 0) {
		fds = dummy;
		maxfds = 0;
	}
	take_fds(&msg, fds, maxfds);
	if (n == 0)
		rc = -ECONNRESET;
	else if ((size_t)n < sizeof(*rsp) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
		 rsp->len > (size_t)n - sizeof(*rsp) || rsp->err > 0)
		rc = -EPROTO;
	else
		return rsp->err;
	for (int i = 0; i < maxfds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	return rc;
}

/* One request on a fresh connection to the control socket. */
static int control_call(struct xnx_simproto_req *req, struct xnx_simproto_rsp *rsp,
			size_t rsp_max)
{
	int fd = xnx_simproto_connect(0);
	int rc;

	if (fd < 0)
		return fd;
	rc = xnx_simproto_call(fd, req, rsp, rsp_max, NULL, 0);
	close(fd);
	return rc;
}

static int set_name(struct xnx_simproto_req *req, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= sizeof(req->name))
		return -EINVAL;
	memcpy(req->name, name, n + 1);
	return 0;
}

static int fail(int rc)
{
	errno = -rc;
	return -1;
}

int xnx_sim_domain_create(const char *name, uint32_t flags, uint32_t *domid)
{
	struct xnx_simproto_req req = { .op = XNX_SIMOP_DOM_CREATE, .arg = { flags } };
	struct xnx_simproto_rsp rsp;
	int rc = set_name(&req, name);

	if (rc == 0)
		rc = control_call(&req, &rsp, sizeof(rsp));
	if (rc < 0)
		return fail(rc);
	if (domid)
		*domid = rsp.val[0];
	return 0;
}

int xnx_sim_domain_destroy(uint32_t domid)
{
	struct xnx_simproto_req req = { .op = XNX_SIMOP_DOM_DESTROY, .arg = { domid } };
	struct xnx_simproto_rsp rsp;
	int rc = control_call(&req, &rsp, sizeof(rsp));

	return rc < 0 ? fail(rc) : 0;
}

int xnx_sim_domain_lookup(const char *name, struct xnx_sim_domain *out)
{
	struct xnx_simproto_req req = { .op = XNX_SIMOP_DOM_LOOKUP };
	struct {
		struct xnx_simproto_rsp h;
		struct xnx_sim_domain d;
	} rsp;
	int rc = set_name(&req, name);

	if (rc == 0)
		rc = control_call(&req, &rsp.h, sizeof(rsp));
	if (rc == 0 && rsp.h.len != sizeof(rsp.d))
		rc = -EPROTO;
	if (rc < 0)
		return fail(rc);
	if (out) {
		*out = rsp.d;
		out->name[sizeof(out->name) - 1] = '\0';
	}
	return 0;
}

int xnx_sim_domain_list(struct xnx_sim_domain *out, int max)
{
	struct xnx_simproto_req req = { .op = XNX_SIMOP_DOM_LIST };
	size_t rsp_max = sizeof(struct xnx_simproto_rsp) +
			 XNX_SIM_MAX_DOMAINS * sizeof(struct xnx_sim_domain);
	struct xnx_simproto_rsp *rsp = malloc(rsp_max);
	int rc, n;

	if (!rsp)
		return fail(-ENOMEM);
	rc = control_call(&req, rsp, rsp_max);
	if (rc == 0 && rsp->len % sizeof(struct xnx_sim_domain))
		rc = -EPROTO;
	if (rc < 0) {
		free(rsp);
		return fail(rc);
	}
	n = (int)(rsp->len / sizeof(struct xnx_sim_domain));
	for (int i = 0; i < n && i < max; i++) {
		memcpy(&out[i], (char *)rsp->data + i * sizeof(*out), sizeof(*out));
		out[i].name[sizeof(out[i].name) - 1] = '\0';
	}
	free(rsp);
	return n;
}
