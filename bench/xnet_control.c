/*
 * xnet_control.c — xnet's control-plane figures on the session's sim:
 * the time from `xnet vif attach` until both ends of the vif are Connected
 * (one vif; 100 vifs, ten guests with ten each), watched through
 * libxenstore; and the resident memory xnetback and the guests' xnetfront
 * gain per vif, from /proc, across attaching 100. Every vif is detached
 * again before the run returns, so runs do not pile up.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/xsim.h"

#define NGUESTS 10
#define PER_GUEST 10		/* NGUESTS * PER_GUEST = the 100 vifs */
#define CONNECT_TIMEOUT_S 120

static int ctl_state;		/* 0 not tried, 1 up, <0 failed (-errno) */
static char guest[NGUESTS][32];
static unsigned domid[NGUESTS];

static int ctl_setup(void)
{
	int r = xsim_up();

	for (int k = 0; k < NGUESTS && r == 0; k++) {
		snprintf(guest[k], sizeof(guest[k]), "xbc%d-%d", (int)getpid(), k);
		r = xsim_domain(guest[k], &domid[k]);
	}
	return r;
}

static int ctl_up(void)
{
	if (ctl_state == 0) {
		int r = ctl_setup();

		ctl_state = r < 0 ? r : 1;
	}
	return ctl_state < 0 ? ctl_state : 0;
}

static int attach(int k, unsigned devid)
{
	char spec[96];

	snprintf(spec, sizeof(spec), "mac=00:16:3e:5c:%02x:%02x,bridge=%s,devid=%u", k, devid,
		 xsim_bridge(), devid);
	return xsim_xnet((char *[]){ "vif", "attach", guest[k], spec, NULL }, 30, NULL);
}

static void detach(int k, unsigned devid)
{
	char id[16];

	snprintf(id, sizeof(id), "%u", devid);
	xsim_xnet((char *[]){ "vif", "detach", guest[k], id, NULL }, 30, NULL);
}

/* Attach PER_GUEST vifs to each of the first NG guests (in V), then wait
 * until all are Connected. On failure the vifs already attached stay; the
 * caller detaches them. *MADE counts the attached. */
static int attach_all(struct xsim_vif *v, int ng, int per, size_t *made)
{
	int r = 0;

	*made = 0;
	for (int k = 0; k < ng && r == 0; k++)
		for (int d = 0; d < per && r == 0; d++) {
			r = attach(k, (unsigned)d);
			if (r == 0)
				v[(*made)++] = (struct xsim_vif){ .domid = domid[k],
								  .devid = (unsigned)d };
		}
	return r < 0 ? r : xsim_wait_connected(v, *made, CONNECT_TIMEOUT_S);
}

static void detach_all(int ng, int per, size_t made)
{
	for (int k = 0; k < ng; k++)
		for (int d = 0; d < per && (size_t)(k * per + d) < made; d++)
			detach(k, (unsigned)d);
}

/* Milliseconds from the first attach until NG*PER vifs are Connected. */
static int attach_ms(int ng, int per, double *ms)
{
	struct xsim_vif v[NGUESTS * PER_GUEST];
	size_t made = 0;
	double t0;
	int r = ctl_up();

	if (r < 0)
		return r;
	t0 = xbench_now();
	r = attach_all(v, ng, per, &made);
	*ms = (xbench_now() - t0) * 1000.0;
	detach_all(ng, per, made);
	return r;
}

int xbench_ctl_attach(const struct xbench_opts *o, const struct xbench_case *c, double *value)
{
	return attach_ms(1, 1, value);
}

int xbench_ctl_attach100(const struct xbench_opts *o, const struct xbench_case *c,
			 double *value)
{
	return attach_ms(NGUESTS, PER_GUEST, value);
}

/* Resident bytes of xnetback plus every control guest's xnetfront. */
static int rss_sum(long long *sum)
{
	char file[400];
	pid_t pid;
	long long rss;
	int r = xsim_pid("xnetback.pid", &pid);

	*sum = 0;
	if (r < 0 || (rss = xsim_rss(pid)) < 0)
		return r < 0 ? r : (int)rss;
	*sum += rss;
	for (int k = 0; k < NGUESTS; k++) {
		snprintf(file, sizeof(file), "xnetfront-%s.pid", guest[k]);
		if ((r = xsim_pid(file, &pid)) < 0 || (rss = xsim_rss(pid)) < 0)
			return r < 0 ? r : (int)rss;
		*sum += rss;
	}
	return 0;
}

int xbench_ctl_mem(const struct xbench_opts *o, const struct xbench_case *c, double *value)
{
	struct xsim_vif v[NGUESTS * PER_GUEST];
	long long before, after;
	size_t made = 0;
	int r = ctl_up();

	if (r == 0)
		r = rss_sum(&before);
	if (r < 0)
		return r;
	r = attach_all(v, NGUESTS, PER_GUEST, &made);
	if (r == 0)
		r = rss_sum(&after);
	detach_all(NGUESTS, PER_GUEST, made);
	if (r < 0)
		return r;
	*value = (double)(after - before) / (double)made / (1024.0 * 1024.0);
	return *value > 0 ? 0 : -EPROTO;
}
