/*
 * link.c — link ids over rtnetlink (libmnl): name ↔ link id, a link's
 * address, kind, master and state, in the current or a named network
 * namespace. Every answer comes from the kernel at the moment of the call.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "xnx_link.h"
#include "xnx_log.h"
#include "xnx_xs.h"

/* Large enough for any one RTM_NEWLINK; the kernel sizes dump batches to
 * the reader's buffer, up to this. */
#define RECV_BUF 32768
#define DUMP_TRIES 5		/* dumps interrupted by concurrent changes */

struct xnx_link_nl {
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
};

int xnx_link_parse_id(const char *s, unsigned *id)
{
	unsigned long v;
	int err = xnx_parse_uint(s, 1, XNX_LINK_ID_MAX, &v);

	if (err)
		return err;
	*id = (unsigned)v;
	return 0;
}

/* The kernel's own rule (dev_valid_name). */
int xnx_link_name_ok(const char *name)
{
	size_t len = name ? strnlen(name, XNX_LINK_NAME_MAX) : 0;

	if (len == 0 || len >= XNX_LINK_NAME_MAX)
		return 0;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p))
			return 0;
	return 1;
}

/* A namespace name is one path component under /run/netns. */
static bool netns_name_ok(const char *netns)
{
	return netns[0] && strlen(netns) < NAME_MAX && !strchr(netns, '/') &&
	       strcmp(netns, ".") && strcmp(netns, "..");
}

/* Move this thread into NETNS; *HOME keeps the way back. */
static int enter_netns(const char *netns, int *home)
{
	char path[sizeof("/run/netns/") + NAME_MAX];
	int fd, err;

	if (!netns_name_ok(netns))
		return -EINVAL;
	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* thread-self: setns moves only this thread, so remember its own. */
	*home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*home < 0) {
		err = -errno;
		goto err_home;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		err = -errno;	/* EINVAL: the file is not a namespace */
		goto err_setns;
	}
	close(fd);
	return 0;

err_setns:
	close(*home);
err_home:
	close(fd);
	return err;
}

static void leave_netns(int home)
{
	/* Staying in the wrong namespace would silently act on the wrong
	 * links from now on: better to stop. */
	if (setns(home, CLONE_NEWNET) < 0)
		xnx_bug(__FILE__, __LINE__, "cannot return to the thread's network namespace");
	close(home);
}

int xnx_link_nl_open(const char *netns, struct xnx_link_nl **out)
{
	struct xnx_link_nl *nl = calloc(1, sizeof(*nl));
	int home = -1, err;

	if (!nl)
		return -ENOMEM;
	if (netns && *netns && (err = enter_netns(netns, &home)) < 0)
		goto err_netns;
	/* A netlink socket belongs to the namespace it was made in. */
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	err = nl->sock ? 0 : -errno;
	if (home >= 0)
		leave_netns(home);
	if (err)
		goto err_netns;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_bind;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	*out = nl;
	return 0;

err_bind:
	mnl_socket_close(nl->sock);
err_netns:
	free(nl);
	return err;
}

void xnx_link_nl_close(struct xnx_link_nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

int xnx_link_nl_fd(const struct xnx_link_nl *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

/* What one RTM_NEWLINK message says, into INFO. */
struct parse {
	const struct nlattr *tb[IFLA_MAX + 1];
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct parse *p = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
		return MNL_CB_OK;	/* newer than our headers: not ours */
	p->tb[type] = attr;
	return MNL_CB_OK;
}

static int kind_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **kind = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*kind = attr;
	return MNL_CB_OK;
}

static int get_string(const struct nlattr *a, char *buf, size_t size)
{
	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 ||
	    strlen(mnl_attr_get_str(a)) >= size)
		return -EPROTO;
	strcpy(buf, mnl_attr_get_str(a));
	return 0;
}

static int get_u32(const struct nlattr *a, unsigned *v)
{
	if (!a)
		return 0;
	if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return -EPROTO;
	*v = mnl_attr_get_u32(a);
	return 0;
}

static int fill_info(const struct parse *p, const struct ifinfomsg *ifi,
		     struct xnx_link_info *info)
{
	const struct nlattr *kind = NULL;

	memset(info, 0, sizeof(*info));
	if (ifi->ifi_index <= 0 || !p->tb[IFLA_IFNAME] ||
	    get_string(p->tb[IFLA_IFNAME], info->name, sizeof(info->name)) < 0)
		return -EPROTO;
	info->id = (unsigned)ifi->ifi_index;
	info->flags = ifi->ifi_flags;
	if (get_u32(p->tb[IFLA_MASTER], &info->master) < 0 ||
	    get_u32(p->tb[IFLA_MTU], &info->mtu) < 0)
		return -EPROTO;
	if (p->tb[IFLA_OPERSTATE]) {
		if (mnl_attr_validate(p->tb[IFLA_OPERSTATE], MNL_TYPE_U8) < 0)
			return -EPROTO;
		info->operstate = mnl_attr_get_u8(p->tb[IFLA_OPERSTATE]);
	}
	if (p->tb[IFLA_ADDRESS]) {
		unsigned len = mnl_attr_get_payload_len(p->tb[IFLA_ADDRESS]);

		if (len > sizeof(info->addr))
			return -EPROTO;
		memcpy(info->addr, mnl_attr_get_payload(p->tb[IFLA_ADDRESS]), len);
		info->addr_len = len;
	}
	if (p->tb[IFLA_LINKINFO]) {
		mnl_attr_parse_nested(p->tb[IFLA_LINKINFO], kind_cb, &kind);
		if (kind && get_string(kind, info->kind, sizeof(info->kind)) < 0)
			return -EPROTO;
	}
	return 0;
}

/* Parse one RTM_NEWLINK into INFO. */
static int parse_link(const struct nlmsghdr *nlh, struct xnx_link_info *info)
{
	struct parse p = { { NULL } };
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return -EPROTO;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifi), attr_cb, &p) < 0)
		return -EPROTO;
	return fill_info(&p, ifi, info);
}

/* State of one request while its answer comes in. */
struct answer {
	struct xnx_link_info *infos;	/* one (get) or a growing array (dump) */
	size_t n, cap;
	bool dump, interrupted;
	int err;
};

static int answer_cb(const struct nlmsghdr *nlh, void *data)
{
	struct answer *a = data;
	struct xnx_link_info info;
	int err;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		a->interrupted = true;
	if (a->err)
		return MNL_CB_OK;	/* keep reading to the end of the dump */
	if ((err = parse_link(nlh, &info)) < 0) {
		a->err = err;
		return a->dump ? MNL_CB_OK : MNL_CB_STOP;
	}
	if (!a->dump) {
		a->infos[0] = info;
		a->n = 1;
		return MNL_CB_STOP;	/* a get has no NLMSG_DONE */
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		struct xnx_link_info *more = reallocarray(a->infos, cap, sizeof(*more));

		if (!more) {
			a->err = -ENOMEM;
			return MNL_CB_OK;
		}
		a->infos = more;
		a->cap = cap;
	}
	a->infos[a->n++] = info;
	return MNL_CB_OK;
}

/* Drop anything left over from an earlier request (e.g. the rest of a dump
 * we stopped reading), so its sequence numbers cannot confuse this one. */
static void drain(struct xnx_link_nl *nl)
{
	char buf[256];
	int fd = mnl_socket_get_fd(nl->sock);

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
}

/* Send REQ and feed the answer to answer_cb until it is complete. */
static int request(struct xnx_link_nl *nl, struct nlmsghdr *req, struct answer *a)
{
	char *buf = malloc(RECV_BUF);
	unsigned seq;
	int ret;

	if (!buf)
		return -ENOMEM;
	drain(nl);
	req->nlmsg_seq = seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, RECV_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, nl->portid, answer_cb, a);
		if (ret < 0) {
			ret = -errno;	/* NLMSG_ERROR: the kernel's errno */
			goto out;
		}
	} while (ret != MNL_CB_STOP);
	ret = a->err;
out:
	free(buf);
	return ret;
}

static struct nlmsghdr *getlink_msg(char *buf, unsigned id, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)id;
	/* Counters are large and never needed here. */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nlh;
}

int xnx_link_nl_get(struct xnx_link_nl *nl, unsigned id, const char *name,
		    struct xnx_link_info *info)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct answer a = { .infos = info };
	struct nlmsghdr *nlh;
	int err;

	if (id > XNX_LINK_ID_MAX || (id == 0 && !xnx_link_name_ok(name)))
		return -EINVAL;
	nlh = getlink_msg(buf, id, 0);
	if (id == 0)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if ((err = request(nl, nlh, &a)) < 0)
		return err;
	if (a.n != 1 || (id && info->id != id))
		return -EPROTO;
	return 0;
}

/* An acknowledged RTM_NEWLINK for link ID (0: none) with FLAGS. */
static struct nlmsghdr *newlink_msg(char *buf, unsigned id, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)id;
	return nlh;
}

int xnx_link_nl_set(struct xnx_link_nl *nl, unsigned id, const struct xnx_link_set *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct answer a = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (id == 0 || id > XNX_LINK_ID_MAX)
		return -EINVAL;
	nlh = newlink_msg(buf, id, 0);
	ifi = mnl_nlmsg_get_payload(nlh);
	/* One request, as `ip link set dev X mtu M master B up` sends it: the
	 * kernel applies all or reports the first failure. */
	if (s->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, s->mtu);
	if (s->master >= 0)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)s->master);
	if (s->up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = s->up ? IFF_UP : 0;
	}
	return request(nl, nlh, &a);
}

int xnx_link_nl_add_bridge(struct xnx_link_nl *nl, const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct answer a = { 0 };
	struct nlmsghdr *nlh;
	struct nlattr *info;

	if (!xnx_link_name_ok(name))
		return -EINVAL;
	nlh = newlink_msg(buf, 0, NLM_F_CREATE | NLM_F_EXCL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return request(nl, nlh, &a);
}

static struct nlmsghdr *root_qdisc_msg(char *buf, unsigned id, const char *kind)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = RTM_NEWQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = (int)id;
	tcm->tcm_parent = TC_H_ROOT;
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	return nlh;
}

int xnx_link_single_qdisc(const char *netns, unsigned id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct answer a = { 0 };
	struct xnx_link_nl *nl;
	int err;

	if (id == 0 || id > XNX_LINK_ID_MAX)
		return -EINVAL;
	if ((err = xnx_link_nl_open(netns, &nl)) < 0)
		return err;
	err = request(nl, root_qdisc_msg(buf, id, "pfifo_fast"), &a);
	xnx_link_nl_close(nl);
	return err;
}

/* Every link of NL's namespace as one consistent snapshot (retried while a
 * concurrent change interrupts the dump). Caller frees *INFOS. */
static int dump_all(struct xnx_link_nl *nl, struct xnx_link_info **infos, size_t *n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	for (int try = 0; try < DUMP_TRIES; try++) {
		struct answer a = { .dump = true };
		int err = request(nl, getlink_msg(buf, 0, NLM_F_DUMP), &a);

		if (err == 0 && !a.interrupted) {
			*infos = a.infos;
			*n = a.n;
			return 0;
		}
		free(a.infos);
		if (err < 0)
			return err;
	}
	return -EAGAIN;
}

int xnx_link_nl_dump(struct xnx_link_nl *nl, xnx_link_dump_fn fn, void *arg)
{
	struct xnx_link_info *infos = NULL;
	size_t n = 0;
	int err = dump_all(nl, &infos, &n);

	for (size_t i = 0; err == 0 && i < n; i++)
		err = fn(&infos[i], arg);
	free(infos);
	return err;
}

/* One query on a socket of its own in NETNS. */
static int get_once(const char *netns, unsigned id, const char *name,
		    struct xnx_link_info *info)
{
	struct xnx_link_nl *nl;
	int err;

	if (id > XNX_LINK_ID_MAX || (id == 0 && !xnx_link_name_ok(name)))
		return -EINVAL;
	if ((err = xnx_link_nl_open(netns, &nl)) < 0)
		return err;
	err = xnx_link_nl_get(nl, id, name, info);
	xnx_link_nl_close(nl);
	return err;
}

int xnx_link_id(const char *netns, const char *name, unsigned *id)
{
	struct xnx_link_info info;
	int err;

	if (!xnx_link_name_ok(name))
		return -EINVAL;
	if ((err = get_once(netns, 0, name, &info)) < 0)
		return err;
	*id = info.id;
	return 0;
}

int xnx_link_name(const char *netns, unsigned id, char *name)
{
	struct xnx_link_info info;
	int err;

	if (id == 0)
		return -EINVAL;
	if ((err = get_once(netns, id, NULL, &info)) < 0)
		return err;
	memcpy(name, info.name, sizeof(info.name));
	return 0;
}

int xnx_link_get(const char *netns, unsigned id, struct xnx_link_info *info)
{
	return id == 0 ? -EINVAL : get_once(netns, id, NULL, info);
}

int xnx_link_resolve(const char *netns, const char *link, unsigned *id)
{
	struct xnx_link_info info;
	unsigned want = 0;
	int err;

	if (!link)
		return -EINVAL;
	if (!link[0] || link[strspn(link, "0123456789")])
		return xnx_link_id(netns, link, id);
	if ((err = xnx_link_parse_id(link, &want)) < 0)
		return err;
	if ((err = get_once(netns, want, NULL, &info)) < 0)
		return err;
	*id = info.id;
	return 0;
}

int xnx_link_master(const char *netns, unsigned id, unsigned *master)
{
	struct xnx_link_info info;
	int err = xnx_link_get(netns, id, &info);

	if (err < 0)
		return err;
	*master = info.master;
	return 0;
}

const char *xnx_link_operstate_name(uint8_t operstate)
{
	/* RFC 2863 values, as in IF_OPER_*. */
	static const char *const names[] = {
		[IF_OPER_UNKNOWN] = "unknown", [IF_OPER_NOTPRESENT] = "notpresent",
		[IF_OPER_DOWN] = "down", [IF_OPER_LOWERLAYERDOWN] = "lowerlayerdown",
		[IF_OPER_TESTING] = "testing", [IF_OPER_DORMANT] = "dormant",
		[IF_OPER_UP] = "up",
	};

	if (operstate < sizeof(names) / sizeof(names[0]) && names[operstate])
		return names[operstate];
	return "unknown";
}

int xnx_link_addr_str(const uint8_t *addr, unsigned len, char *buf, unsigned size)
{
	if (size < (len ? 3 * len : 1))
		return -ENOSPC;
	buf[0] = '\0';
	for (unsigned i = 0; i < len; i++)
		sprintf(buf + (i ? 3 * i - 1 : 0), "%s%02x", i ? ":" : "", addr[i]);
	return 0;
}
