/* sim_paths.c — where the simulated hypervisor's sockets live. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "xnx_sim.h"

const char *xnx_sim_dir(void)
{
	const char *d = getenv("XNET_SIM_DIR");

	return d && *d ? d : XNX_SIM_DIR_DEFAULT;
}

static int sock_path(unsigned domid, const char *name, char *buf, size_t len)
{
	int n = domid == 0 ? snprintf(buf, len, "%s/%s", xnx_sim_dir(), name)
			   : snprintf(buf, len, "%s/dom%u/%s", xnx_sim_dir(), domid, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xnx_sim_store_path(unsigned domid, char *buf, size_t len)
{
	return sock_path(domid, "xenstored.sock", buf, len);
}

int xnx_sim_hyp_path(unsigned domid, char *buf, size_t len)
{
	return sock_path(domid, "simd.sock", buf, len);
}
