/* tap.c — creating and configuring the guest-side TAP interface. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>		/* before the linux/ headers */
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
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

int xnf_tap_open(const char *name, const uint8_t mac[6], unsigned mtu)
{
	struct ifreq ifr;
	int fd, rc;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		xnx_err("%s: opening /dev/net/tun: %s", name, strerror(-rc));
		return rc;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		xnx_err("%s: creating the TAP: %s", name, strerror(-rc));
		close(fd);
		return rc;
	}
	rc = configure(name, mac, mtu);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}
