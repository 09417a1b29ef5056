/* tap.c — creating and configuring the guest-side TAP interface. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>		/* before the linux/ headers */
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "xnx_link.h"
#include "xnx_log.h"

/* One SIOCSIF* call on a scratch socket; -errno logged with WHAT. */
static int if_ioctl(int sock, unsigned long req, struct ifreq *ifr,
		    const char *what)
{
	if (ioctl(sock, req, ifr) < 0) {
		int e = errno;
		xnx_err("%s: %s: %s", ifr->ifr_name, what, strerror(e));
		return -e;
	}
	return 0;
}

static int configure(const char *name, const uint8_t mac[6], unsigned mtu)
{
	struct ifreq ifr;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (sock < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	rc = if_ioctl(sock, SIOCSIFHWADDR, &ifr, "setting the MAC address");
	if (rc == 0) {
		ifr.ifr_mtu = (int)mtu;
		rc = if_ioctl(sock, SIOCSIFMTU, &ifr, "setting the MTU");
	}
	if (rc == 0)
		rc = if_ioctl(sock, SIOCGIFFLAGS, &ifr, "reading flags");
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = if_ioctl(sock, SIOCSIFFLAGS, &ifr, "bringing it up");
	}
	close(sock);
	return rc;
}

/* One queue of multi-queue TAP NAME (created by the first). fd or -errno,
 * logged with WHAT. */
static int queue_open(const char *name, int vnet_hdr, const char *what)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), rc;

	if (fd < 0) {
		rc = -errno;
		xnx_err("%s: opening /dev/net/tun: %s", name, strerror(-rc));
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE |
			(vnet_hdr ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		xnx_err("%s: %s: %s", name, what, strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

int xnf_tap_attach_queue(const char *name, int vnet_hdr)
{
	return queue_open(name, vnet_hdr, "attaching a queue");
}

int xnf_tap_open(const char *name, const uint8_t mac[6], unsigned mtu,
		 int vnet_hdr)
{
	int fd, rc;

	fd = queue_open(name, vnet_hdr, "creating the TAP");
	if (fd < 0)
		return fd;
	/* Before the up: one root qdisc, not 256 (see xnx_link_single_qdisc). */
	rc = xnx_link_single_qdisc(NULL, if_nametoindex(name));
	if (rc < 0)
		xnx_warn("%s: setting the root qdisc: %s", name, strerror(-rc));
	rc = configure(name, mac, mtu);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int xnf_tap_set_offload(int fd, const char *name, unsigned tun_flags)
{
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0) {
		int e = errno;
		xnx_err("%s: setting offloads 0x%x: %s", name, tun_flags, strerror(e));
		return -e;
	}
	return 0;
}

int xnf_tap_set_carrier(int fd, const char *name, int on)
{
	if (ioctl(fd, TUNSETCARRIER, &on) < 0) {
		int e = errno;
		xnx_err("%s: setting carrier %s: %s", name, on ? "on" : "off",
			strerror(e));
		return -e;
	}
	return 0;
}

/* One RTM_NEWLINK request with IFLA_GSO_MAX_SIZE, acknowledged. */
int xnf_tap_set_gso_max_size(const char *name, unsigned size)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	unsigned seq = (unsigned)time(NULL);
	int rc = 0;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)if_nametoindex(name);
	mnl_attr_put_u32(nlh, IFLA_GSO_MAX_SIZE, size);
	if (ifm->ifi_index == 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl),
				NULL, NULL) < 0)
		rc = -errno;
out:
	if (rc < 0)
		xnx_warn("%s: setting gso_max_size %u: %s", name, size, strerror(-rc));
	if (nl)
		mnl_socket_close(nl);
	return rc;
}
