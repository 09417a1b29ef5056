/*
 * failover.c — a passthrough link and the PV vif as one interface
 * (active-backup, passthrough preferred): which link carries a TAP's
 * traffic, the kernel redirects that make it so, the announcements after a
 * switch. See failover.h for the model.
 *
 * Why redirects in the kernel and not a copy through xnetfront: this
 * kernel may have no bonding or team driver, so the pairing is ours; but a
 * frame the passthrough link receives must reach the TAP and nothing else
 * (the guest's stack would otherwise take it twice, once on each link), and
 * a tc ingress redirect is the one thing that both delivers it to the TAP
 * and keeps it from the link's own stack. The TAP's egress redirect is its
 * mirror: frames go out the link without a copy through user space, with
 * their offloads (GSO, partial checksums) as they are, and without touching
 * xnetfront's poll loop. Only u32 and mirred are needed (no gact).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include "netfront/failover.h"
#include "xnx_log.h"

#define MAX_PAIRS 64	/* xnetfront's vifs */
#define MAX_ADDRS 8	/* IPv4 addresses announced per switch */
#define EV_BUDGET 64	/* event datagrams read per dispatch */
/* Our filters' priority on the clsact hooks: one fixed number, so a
 * filter left by an earlier xnetfront is found and replaced. */
#define FO_PRIO 0xfa11u

/* ---- path choice (pure) -------------------------------------------------- */

bool xnf_fo_candidate(const struct xnx_link_info *l, const struct xnf_fo_match *m)
{
	if (l->id == m->tap_id || l->addr_len != 6 || memcmp(l->addr, m->mac, 6))
		return false;
	if (m->name && strcmp(l->name, m->name) != 0)
		return false;
	/* Another TAP, or a port of a bridge: not a device the guest was
	 * given to pair, but something someone built. */
	return strcmp(l->kind, "tun") != 0 && l->master == 0 &&
	       !(l->flags & IFF_LOOPBACK);
}

bool xnf_fo_usable(const struct xnx_link_info *l)
{
	return (l->flags & (IFF_UP | IFF_LOWER_UP)) == (IFF_UP | IFF_LOWER_UP) &&
	       l->operstate != IF_OPER_DOWN &&
	       l->operstate != IF_OPER_LOWERLAYERDOWN;
}

unsigned xnf_fo_choose(const struct xnx_link_info *links, size_t n,
		       const struct xnf_fo_match *m, unsigned current,
		       unsigned refused)
{
	unsigned best = 0;

	for (size_t i = 0; i < n; i++) {
		const struct xnx_link_info *l = &links[i];

		if (l->id == refused || !xnf_fo_candidate(l, m) || !xnf_fo_usable(l))
			continue;
		if (l->id == current)
			return current;
		if (best == 0 || l->id < best)
			best = l->id;
	}
	return best;
}

enum xnf_fo_move xnf_fo_move(unsigned old, unsigned new_id)
{
	if (old == new_id)
		return XNF_FO_STAY;
	if (old == 0)
		return XNF_FO_FAILBACK;
	return new_id == 0 ? XNF_FO_FAILOVER : XNF_FO_SWITCH;
}

/* ---- state ------------------------------------------------------------------ */

/* One TAP and its passthrough partner. */
struct pair {
	char tap[IFNAMSIZ];
	struct xnf_fo_match match;
	unsigned active;		/* the partner's link id; 0: PV path */
	char active_name[IFNAMSIZ];
	unsigned refused;		/* a link whose redirects failed */
	unsigned seen[8];		/* candidates at the last look */
	unsigned nseen;
	uint64_t failovers, failbacks;
	uint64_t pt_tx, pt_rx;		/* frames over the partner, past periods */
	uint64_t base_tx, base_rx;	/* the partner's counters when it took over */
	uint64_t last_tx, last_rx;	/* ... as last reported by the kernel */
};

struct xnf_failover {
	char name[IFNAMSIZ];		/* "": auto */
	struct mnl_socket *events;	/* RTNLGRP_LINK, non-blocking */
	struct mnl_socket *ctl;		/* our requests */
	unsigned ctl_portid, seq;
	struct xnx_link_nl *query;	/* link dumps */
	int pkt;			/* AF_PACKET, send only: announcements */
	struct pair *pairs[MAX_PAIRS];
	unsigned npairs;
	char *buf;			/* MNL_SOCKET_BUFFER_SIZE */
};

/* ---- rtnetlink requests -------------------------------------------------------- */

/* Send NLH and read the answer: CB for each message (NULL: none expected),
 * up to the ACK, NLMSG_DONE or CB's STOP. */
static int talk(struct xnf_failover *fo, struct nlmsghdr *nlh, mnl_cb_t cb, void *arg)
{
	unsigned seq = ++fo->seq;
	ssize_t n;
	int rc;

	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(fo->ctl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(fo->ctl, fo->buf, MNL_SOCKET_BUFFER_SIZE);
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(fo->buf, (size_t)n, seq, fo->ctl_portid, cb, arg);
	} while (rc > 0);
	return rc < 0 ? -errno : 0;
}

static struct nlmsghdr *tc_msg(char *buf, uint16_t type, uint16_t flags,
			       unsigned ifindex, uint32_t parent, uint32_t info)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = (int)ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_info = info;
	return nlh;
}

/* A clsact qdisc on IFINDEX (one already there is fine). */
static int clsact_add(struct xnf_failover *fo, unsigned ifindex)
{
	char buf[256];
	struct nlmsghdr *nlh = tc_msg(buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL,
				      ifindex, TC_H_CLSACT, 0);
	int rc;

	((struct tcmsg *)mnl_nlmsg_get_payload(nlh))->tcm_handle =
		TC_H_MAKE(TC_H_CLSACT, 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	rc = talk(fo, nlh, NULL, NULL);
	return rc == -EEXIST ? 0 : rc;
}

static uint32_t hook(bool ingress)
{
	return TC_H_MAKE(TC_H_CLSACT, ingress ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

/* Our filter off IFINDEX's hook; gone already (or no clsact) is fine. */
static int redirect_del(struct xnf_failover *fo, unsigned ifindex, bool ingress)
{
	char buf[256];
	struct nlmsghdr *nlh = tc_msg(buf, RTM_DELTFILTER, 0, ifindex, hook(ingress),
				      TC_H_MAKE(FO_PRIO << 16, htons(ETH_P_ALL)));
	int rc = talk(fo, nlh, NULL, NULL);

	return rc == -ENOENT || rc == -EINVAL || rc == -ENODEV ? 0 : rc;
}

/* The mirred action: every frame to TO's ingress or egress, taken. */
static void put_mirred(struct nlmsghdr *nlh, unsigned to, bool to_ingress)
{
	struct tc_mirred parms = {
		.action = TC_ACT_STOLEN,
		.eaction = to_ingress ? TCA_INGRESS_REDIR : TCA_EGRESS_REDIR,
		.ifindex = to,
	};
	struct nlattr *acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	struct nlattr *first = mnl_attr_nest_start(nlh, 1);
	struct nlattr *opts;

	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	opts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(parms), &parms);
	mnl_attr_nest_end(nlh, opts);
	mnl_attr_nest_end(nlh, first);
	mnl_attr_nest_end(nlh, acts);
}

/* Every frame on FROM's ingress (or egress) hook to TO's ingress (or
 * egress): a u32 filter matching everything (one key, mask 0). */
static int redirect_add(struct xnf_failover *fo, unsigned from, bool from_ingress,
			unsigned to, bool to_ingress)
{
	char buf[512], sel[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
	struct tc_u32_sel s = { .flags = TC_U32_TERMINAL, .nkeys = 1 };
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	int rc = clsact_add(fo, from);

	if (rc == 0)
		rc = redirect_del(fo, from, from_ingress);
	if (rc < 0)
		return rc;
	memset(sel, 0, sizeof(sel));
	memcpy(sel, &s, sizeof(s));
	nlh = tc_msg(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, from,
		     hook(from_ingress), TC_H_MAKE(FO_PRIO << 16, htons(ETH_P_ALL)));
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(sel), sel);
	put_mirred(nlh, to, to_ingress);
	mnl_attr_nest_end(nlh, opts);
	return talk(fo, nlh, NULL, NULL);
}

/* A TYPE request about link ID, acknowledged; *IFI to fill in more. */
static struct nlmsghdr *link_msg(char *buf, uint16_t type, unsigned id,
				 struct ifinfomsg **ifi)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	*ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(**ifi));
	(*ifi)->ifi_family = AF_UNSPEC;
	(*ifi)->ifi_index = (int)id;
	return nlh;
}

/* Bring link ID up, as a bonding driver opens its slaves. */
static int link_up(struct xnf_failover *fo, unsigned id)
{
	char buf[256];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, id, &ifi);

	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return talk(fo, nlh, NULL, NULL);
}

/* No IPv6 of its own on the partner: its link-local address would be the
 * TAP's (same MAC) and its neighbour discovery would speak for a link
 * that receives nothing. Best effort: a kernel without IPv6 has no file. */
static void no_ipv6(const char *name)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		xnx_debug("%s: %s", path, strerror(errno));
	close(fd);
}

/* ---- counters of the partner ----------------------------------------------------- */

struct stats_ans {
	unsigned id;
	uint64_t tx, rx;
	bool found;
};

/* The link's frame counters from an RTM_NEWLINK/DELLINK, if it has them. */
static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	struct stats_ans *a = data;
	const struct ifinfomsg *ifi;
	struct nlattr *at;
	struct rtnl_link_stats64 st;

	if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	if ((unsigned)ifi->ifi_index != a->id)
		return MNL_CB_OK;
	mnl_attr_for_each(at, nlh, sizeof(*ifi)) {
		if (mnl_attr_get_type(at) != IFLA_STATS64 ||
		    mnl_attr_get_payload_len(at) < sizeof(st))
			continue;
		memcpy(&st, mnl_attr_get_payload(at), sizeof(st));
		a->tx = st.tx_packets;
		a->rx = st.rx_packets;
		a->found = true;
	}
	return MNL_CB_OK;
}

/* Link ID's counters now, into *TX and *RX (left alone if unknown). */
static void read_stats(struct xnf_failover *fo, unsigned id, uint64_t *tx, uint64_t *rx)
{
	char buf[256];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, id, &ifi);
	struct stats_ans a = { .id = id };

	if (talk(fo, nlh, stats_cb, &a) == 0 && a.found) {
		*tx = a.tx;
		*rx = a.rx;
	}
}

/* ---- announcements ----------------------------------------------------------------- */

struct addrs {
	unsigned id;
	uint32_t a[MAX_ADDRS];	/* network order */
	unsigned n;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addrs *as = data;
	const struct ifaddrmsg *ifa;
	struct nlattr *at;

	if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET || ifa->ifa_index != as->id)
		return MNL_CB_OK;
	mnl_attr_for_each(at, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(at) == IFA_LOCAL && as->n < MAX_ADDRS &&
		    mnl_attr_get_payload_len(at) == 4)
			memcpy(&as->a[as->n++], mnl_attr_get_payload(at), 4);
	}
	return MNL_CB_OK;
}

/* A gratuitous ARP request for ADDR from MAC, as a 60-byte frame. */
static void garp_frame(uint8_t *f, const uint8_t mac[6], uint32_t addr)
{
	static const uint8_t head[] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1 };

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	memcpy(f + 12, head, sizeof(head));
	memcpy(f + 22, mac, 6);			/* sender: us */
	memcpy(f + 28, &addr, 4);
	memcpy(f + 38, &addr, 4);		/* target: ourselves */
}

/* After a switch: a gratuitous ARP per IPv4 address of the TAP, sent on
 * the TAP, so it leaves by whatever path is now active. */
static void announce(struct xnf_failover *fo, const struct pair *p)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct addrs as = { .id = p->match.tap_id };
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ARP),
				  .sll_ifindex = (int)p->match.tap_id,
				  .sll_halen = 6 };
	uint8_t f[60];

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	if (talk(fo, nlh, addr_cb, &as) < 0)
		return;
	memset(to.sll_addr, 0xff, 6);
	for (unsigned i = 0; i < as.n; i++) {
		garp_frame(f, p->match.mac, as.a[i]);
		if (sendto(fo->pkt, f, sizeof(f), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			xnx_debug("%s: gratuitous ARP: %s", p->tap, strerror(errno));
	}
}

/* ---- switching --------------------------------------------------------------------- */

/* Make link L the TAP's path: its frames into the TAP, the TAP's out by it. */
static int activate(struct xnf_failover *fo, struct pair *p, const struct xnx_link_info *l)
{
	int rc;

	no_ipv6(l->name);
	rc = redirect_add(fo, l->id, true, p->match.tap_id, true);
	if (rc == 0)
		rc = redirect_add(fo, p->match.tap_id, false, l->id, false);
	if (rc < 0) {
		redirect_del(fo, l->id, true);
		xnx_err("%s: cannot make %s (link %u) its path: %s; staying on the "
			"PV path", p->tap, l->name, l->id, strerror(-rc));
		p->refused = l->id;
		return rc;
	}
	p->active = l->id;
	snprintf(p->active_name, sizeof(p->active_name), "%s", l->name);
	p->base_tx = p->base_rx = p->last_tx = p->last_rx = 0;
	read_stats(fo, l->id, &p->base_tx, &p->base_rx);
	p->last_tx = p->base_tx;
	p->last_rx = p->base_rx;
	return 0;
}

/* Back to the PV path: the TAP's frames reach xnetfront again. The
 * partner's redirect goes too if it is still here (it lost carrier). */
static void deactivate(struct xnf_failover *fo, struct pair *p)
{
	int rc = redirect_del(fo, p->match.tap_id, false);

	if (rc < 0)
		xnx_err("%s: cannot take the redirect to %s off: %s", p->tap,
			p->active_name, strerror(-rc));
	redirect_del(fo, p->active, true);
	p->pt_tx += p->last_tx - p->base_tx;
	p->pt_rx += p->last_rx - p->base_rx;
	p->active = 0;
}

static const struct xnx_link_info *find(const struct xnx_link_info *links, size_t n,
					unsigned id)
{
	for (size_t i = 0; i < n; i++)
		if (links[i].id == id)
			return &links[i];
	return NULL;
}

/* Why the active link is being left, for the log. */
static const char *why_left(const struct xnx_link_info *l)
{
	if (!l)
		return "gone";
	if (!(l->flags & IFF_UP))
		return "down";
	return "no carrier";
}

static void move_to(struct xnf_failover *fo, struct pair *p,
		    const struct xnx_link_info *links, size_t n, unsigned next)
{
	const struct xnx_link_info *old = find(links, n, p->active);
	const struct xnx_link_info *l = find(links, n, next);
	unsigned was_id = p->active;
	char was[IFNAMSIZ];

	snprintf(was, sizeof(was), "%s", p->active_name);
	if (p->active) {
		deactivate(fo, p);
		p->failovers++;
		xnx_warn("%s: failover to the PV path: %s (link %u) %s; over it "
			 "so far tx %llu rx %llu frames", p->tap, was, was_id,
			 why_left(old),
			 (unsigned long long)p->pt_tx, (unsigned long long)p->pt_rx);
	}
	if (l && activate(fo, p, l) == 0) {
		p->failbacks++;
		xnx_warn("%s: failback to passthrough %s (link %u)", p->tap,
			 l->name, l->id);
	}
	announce(fo, p);
}

/* New candidates that are down are brought up once, when they appear (a
 * link the administrator takes down later stays down: that is how to
 * force the PV path). */
static void open_new(struct xnf_failover *fo, struct pair *p,
		     const struct xnx_link_info *links, size_t n)
{
	unsigned seen[8], nseen = 0;

	for (size_t i = 0; i < n && nseen < 8; i++) {
		const struct xnx_link_info *l = &links[i];
		bool known = false;

		if (!xnf_fo_candidate(l, &p->match))
			continue;
		seen[nseen++] = l->id;
		for (unsigned j = 0; j < p->nseen; j++)
			known |= p->seen[j] == l->id;
		if (known || (l->flags & IFF_UP))
			continue;
		xnx_info("%s: %s (link %u) has its MAC: bringing it up", p->tap,
			 l->name, l->id);
		no_ipv6(l->name);
		if (link_up(fo, l->id) < 0)
			xnx_warn("%s: cannot bring %s up", p->tap, l->name);
	}
	memcpy(p->seen, seen, sizeof(seen));
	p->nseen = nseen;
	if (p->refused && !find(links, n, p->refused))
		p->refused = 0;	/* gone: it may be tried again when back */
}

static void look(struct xnf_failover *fo, struct pair *p,
		 const struct xnx_link_info *links, size_t n)
{
	unsigned next;

	open_new(fo, p, links, n);
	next = xnf_fo_choose(links, n, &p->match, p->active, p->refused);
	if (xnf_fo_move(p->active, next) != XNF_FO_STAY)
		move_to(fo, p, links, n, next);
}

/* ---- the subscription ------------------------------------------------------------------ */

struct dump {
	struct xnx_link_info *links;
	size_t n, cap;
};

static int collect(const struct xnx_link_info *info, void *arg)
{
	struct dump *d = arg;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 32;
		struct xnx_link_info *more = reallocarray(d->links, cap, sizeof(*more));

		if (!more)
			return -ENOMEM;
		d->links = more;
		d->cap = cap;
	}
	d->links[d->n++] = *info;
	return 0;
}

/* Look at every link now and set each TAP's path accordingly. */
static void rescan(struct xnf_failover *fo)
{
	struct dump d = { NULL, 0, 0 };
	int rc = xnx_link_nl_dump(fo->query, collect, &d);

	if (rc < 0)
		xnx_err("listing links: %s", strerror(-rc));
	else
		for (unsigned i = 0; i < fo->npairs; i++)
			look(fo, fo->pairs[i], d.links, d.n);
	free(d.links);
}

/* The kernel reports a link: keep the active partners' counters current
 * (a link's last report, when it goes, has its final counters). */
static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct xnf_failover *fo = data;

	for (unsigned i = 0; i < fo->npairs; i++) {
		struct pair *p = fo->pairs[i];
		struct stats_ans a = { .id = p->active };

		if (!p->active)
			continue;
		stats_cb(nlh, &a);
		if (a.found) {
			p->last_tx = a.tx;
			p->last_rx = a.rx;
		}
	}
	return MNL_CB_OK;
}

void xnf_fo_dispatch(struct xnf_failover *fo)
{
	int fd = mnl_socket_get_fd(fo->events);

	for (int i = 0; i < EV_BUDGET; i++) {
		ssize_t n = recv(fd, fo->buf, MNL_SOCKET_BUFFER_SIZE, MSG_DONTWAIT);

		if (n < 0 && errno == ENOBUFS)
			continue;	/* overflowed: the rescan below sees all */
		if (n <= 0)
			break;
		mnl_cb_run(fo->buf, (size_t)n, 0, 0, event_cb, fo);
	}
	rescan(fo);
}

int xnf_fo_fd(const struct xnf_failover *fo)
{
	return mnl_socket_get_fd(fo->events);
}

static struct mnl_socket *rtnl(unsigned groups)
{
	struct mnl_socket *s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (s && mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(s);
		s = NULL;
	}
	return s;
}

struct xnf_failover *xnf_fo_open(const char *spec)
{
	struct xnf_failover *fo;
	int err;

	if (!spec || (strcmp(spec, "auto") != 0 && !xnx_link_name_ok(spec))) {
		errno = EINVAL;
		return NULL;
	}
	fo = calloc(1, sizeof(*fo));
	if (!fo)
		return NULL;
	if (strcmp(spec, "auto") != 0)
		snprintf(fo->name, sizeof(fo->name), "%s", spec);
	fo->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	fo->buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	fo->events = rtnl(RTMGRP_LINK);
	fo->ctl = rtnl(0);
	err = xnx_link_nl_open(NULL, &fo->query);
	if (err == 0 && (fo->pkt < 0 || !fo->buf || !fo->events || !fo->ctl))
		err = errno ? -errno : -ENOMEM;
	if (err < 0) {
		xnf_fo_close(fo);
		errno = -err;
		return NULL;
	}
	fo->ctl_portid = mnl_socket_get_portid(fo->ctl);
	return fo;
}

static void pair_free(struct xnf_failover *fo, struct pair *p)
{
	if (p->active)
		deactivate(fo, p);
	xnx_info("%s: %llu failovers, %llu failbacks; over passthrough tx %llu "
		 "rx %llu frames", p->tap, (unsigned long long)p->failovers,
		 (unsigned long long)p->failbacks, (unsigned long long)p->pt_tx,
		 (unsigned long long)p->pt_rx);
	free(p);
}

void xnf_fo_close(struct xnf_failover *fo)
{
	if (!fo)
		return;
	for (unsigned i = 0; i < fo->npairs; i++)
		pair_free(fo, fo->pairs[i]);
	if (fo->events)
		mnl_socket_close(fo->events);
	if (fo->ctl)
		mnl_socket_close(fo->ctl);
	xnx_link_nl_close(fo->query);
	if (fo->pkt >= 0)
		close(fo->pkt);
	free(fo->buf);
	free(fo);
}

int xnf_fo_add(struct xnf_failover *fo, const char *tap)
{
	struct xnx_link_info info;
	struct pair *p;
	int rc;

	if (fo->npairs == MAX_PAIRS)
		return -ENOSPC;
	rc = xnx_link_nl_get(fo->query, 0, tap, &info);
	if (rc < 0)
		return rc;
	if (info.addr_len != 6)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	snprintf(p->tap, sizeof(p->tap), "%s", tap);
	memcpy(p->match.mac, info.addr, 6);
	p->match.tap_id = info.id;
	p->match.name = fo->name[0] ? fo->name : NULL;
	fo->pairs[fo->npairs++] = p;
	rescan(fo);
	return 0;
}

void xnf_fo_remove(struct xnf_failover *fo, const char *tap)
{
	for (unsigned i = 0; i < fo->npairs; i++) {
		if (strcmp(fo->pairs[i]->tap, tap) != 0)
			continue;
		pair_free(fo, fo->pairs[i]);
		fo->pairs[i] = fo->pairs[--fo->npairs];
		return;
	}
}
