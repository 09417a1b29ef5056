/*
 * vif.c — the host side of a vif: a multi-queue-capable TAP with a
 * virtio-net header, its offloads set from what the frontend can take, and
 * the read/write calls the data path uses through struct xnb_io.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "xnb_vif.h"
#include "xnx_link.h"
#include "xnx_log.h"

/* Linux netback gives its vifs this address so a bridge never takes it for
 * its own (bridges pick the lowest member address). */
static const uint8_t dummy_mac[6] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Run an interface ioctl on a throwaway socket. 0 or -errno. */
static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

/* Address and MTU of the new interface; failures only logged (the link
 * still works with the kernel's defaults). */
static void tap_setup_link(struct xnb_tap *t, unsigned mtu)
{
	struct ifreq ifr;
	int rc;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	ifr.ifr_hwaddr.sa_family = 1;	/* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, dummy_mac, sizeof(dummy_mac));
	rc = if_ioctl(SIOCSIFHWADDR, &ifr);
	if (rc < 0)
		xnx_warn("%s: setting address: %s", t->name, strerror(-rc));
	if (mtu) {
		ifr.ifr_mtu = (int)mtu;
		rc = if_ioctl(SIOCSIFMTU, &ifr);
		if (rc < 0)
			xnx_warn("%s: setting mtu %u: %s", t->name, mtu, strerror(-rc));
	}
}

/* One root qdisc for the new (still down) TAP instead of one per TX queue
 * (see xnx_link_single_qdisc); a failure only costs time at the up. */
static void tap_setup_qdisc(const struct xnb_tap *t)
{
	int rc = t->ifindex > 0 ? xnx_link_single_qdisc(NULL, (unsigned)t->ifindex)
				: -ENODEV;

	if (rc < 0)
		xnx_warn("%s: setting the root qdisc: %s", t->name, strerror(-rc));
}

/* Open /dev/net/tun as a queue of the TAP NAME (created if new); the
 * kernel's name in NAME_OUT. A new fd, or -errno. */
static int tun_queue(const char *name, char *name_out, size_t len)
{
	struct ifreq ifr;
	int hdr = (int)sizeof(struct virtio_net_hdr);
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (name_out)
		snprintf(name_out, len, "%s", ifr.ifr_name);
	return fd;
}

int xnb_tap_open(struct xnb_tap *t, const char *name, unsigned mtu)
{
	t->fd = -1;
	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	/* TUNSETIFF on an existing multi-queue TAP would silently add us as one
	 * more queue of someone else's interface: refuse the name instead. */
	if (if_nametoindex(name) != 0)
		return -EEXIST;
	t->fd = tun_queue(name, t->name, sizeof(t->name));
	if (t->fd < 0) {
		int rc = t->fd;

		t->fd = -1;
		return rc;
	}
	t->ifindex = (int)if_nametoindex(t->name);
	tap_setup_link(t, mtu);
	tap_setup_qdisc(t);
	return 0;
}

int xnb_tap_attach_queue(const struct xnb_tap *t)
{
	return tun_queue(t->name, NULL, 0);
}

void xnb_tap_close(struct xnb_tap *t)
{
	if (t->fd >= 0)
		close(t->fd);	/* not persistent: the interface goes with it */
	t->fd = -1;
}

unsigned xnb_tap_offloads(const struct xnb_feat *f)
{
	unsigned off = 0;

	/* TUN_F_CSUM covers IPv4 and IPv6 alike; offer it only if the frontend
	 * takes blank checksums for both. TSO needs it, and slots to spread
	 * over. */
	if (!f->ip_csum || !f->ipv6_csum)
		return 0;
	off |= TUN_F_CSUM;
	if (f->sg && f->gso_tcpv4)
		off |= TUN_F_TSO4;
	if (f->sg && f->gso_tcpv6)
		off |= TUN_F_TSO6;
	return off;
}

int xnb_tap_set_offload(struct xnb_tap *t, const struct xnb_feat *f)
{
	unsigned off = xnb_tap_offloads(f);

	return ioctl(t->fd, TUNSETOFFLOAD, off) < 0 ? -errno : 0;
}

ssize_t xnb_tap_write(struct xnb_tap *t, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	do
		n = writev(t->fd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	return n;
}

ssize_t xnb_tap_readv(struct xnb_tap *t, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	do
		n = readv(t->fd, iov, iovcnt);
	while (n < 0 && errno == EINTR);
	return n;
}

ssize_t xnb_tap_read(struct xnb_tap *t, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(t->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}
