/*
 * xnet_control.c — xnet's control-plane figures on the session's sim:
 * the time from `xnet vif attach` until both ends of the vif are Connected
 * (one vif; 100 vifs, ten guests with ten each), watched through
 * libxenstore; and the resident memory xnetback and the guests' xnetfront
 * hold per vif with 100 attached, from /proc. On a sim of its own, so its
 * xnetback serves no other vifs. Every vif is detached again before the
 * run returns, so runs do not pile up.
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
static long long rss_cold;	/* xnetback + xnetfronts before any vif */

static int rss_sum(long long *sum);

static int ctl_setup(void)
{
	int r = xsim_up();

	for (int k = 0; k < NGUESTS && r == 0; k++) {
		snprintf(guest[k], sizeof(guest[k]), "xbc%d-%d", (int)getpid(), k);
		r = xsim_domain(guest[k], &domid[k]);
	}
	/* The daemons before they ever served a vif. */
	return r < 0 ? r : rss_sum(&rss_cold);
}

static int ctl_up(void)
{
	xsim_use(XSIM_CONTROL);
	if (ctl_state == 0) {
		int r = ctl_setup();

		ctl_state = r < 0 ? r : 1;
	}
	return ctl_state < 0 ? ctl_state : 0;
}

static int attach(int k, unsigned devid)
{
	char spec[160];

	/* Backend interfaces live in the host's namespace, beside other
	 * sims' vif<domid>.<devid>: ours get names of their own. */
	snprintf(spec, sizeof(spec),
		 "mac=00:16:3e:5c:%02x:%02x,bridge=%s,devid=%u,vifname=xc%d.%d.%u", k, devid,
		 xsim_bridge(), devid, (int)getpid(), k, devid);
	return xsim_xnet((char *[]){ "vif", "attach", guest[k], spec, NULL }, 30, NULL);
}

/* Start `xnet vif detach` of guest K's DEVID in the background. */
static pid_t detach_start(int k, unsigned devid)
{
	char xnet[4096], env[200], id[16];

	if (xsim_prog("xnet", xnet, sizeof(xnet)) < 0)
		return -ENOENT;
	snprintf(env, sizeof(env), "XNET_SIM_DIR=%s", xsim_dir());
	snprintf(id, sizeof(id), "%u", devid);
	return xbench_spawn((char *[]){ "env", env, xnet, "vif", "detach", "--timeout", "10",
					guest[k], id, NULL }, NULL);
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

/* Detach the MADE vifs attach_all made, the guests' in parallel (each
 * detach waits for its vif to close). */
static void detach_all(int ng, int per, size_t made)
{
	pid_t pid[NGUESTS];

	for (int d = 0; d < per; d++) {
		for (int k = 0; k < ng; k++)
			pid[k] = (size_t)(k * per + d) < made ? detach_start(k, (unsigned)d) : -1;
		for (int k = 0; k < ng; k++)
			if (pid[k] > 0)
				xbench_wait(pid[k], 30);
	}
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

/* (RSS with 100 vifs connected - RSS before the first vif) / 100. Against
 * the cold daemons, not the last run's: memory a detach gave back to the
 * allocator but not to the system would otherwise count as free. */
int xbench_ctl_mem(const struct xbench_opts *o, const struct xbench_case *c, double *value)
{
	struct xsim_vif v[NGUESTS * PER_GUEST];
	long long with;
	size_t made = 0;
	int r = ctl_up();

	if (r < 0)
		return r;
	r = attach_all(v, NGUESTS, PER_GUEST, &made);
	if (r == 0)
		r = rss_sum(&with);
	detach_all(NGUESTS, PER_GUEST, made);
	if (r < 0)
		return r;
	*value = (double)(with - rss_cold) / (double)made / (1024.0 * 1024.0);
	return *value > 0 ? 0 : -EPROTO;
}
