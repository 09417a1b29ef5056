/*
 * xnet-simd — the simulated hypervisor and xenstored for hosts without Xen.
 *
 * usage: xnet-simd [--foreground] [-v...] [--dir DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyp.h"
#include "loop.h"
#include "store.h"
#include "xnx_log.h"
#include "xnx_sim.h"

static struct sim_loop *main_loop;

static void on_signal(int sig)
{
	(void)sig;
	if (main_loop)
		sim_loop_stop(main_loop);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xnet-simd [--foreground] [-v] [--dir DIR]\n"
		   "  Simulated Xen hypervisor and xenstored.\n"
		   "  --dir DIR      run directory (default $XNET_SIM_DIR or %s)\n"
		   "  --foreground   log to stderr, do not daemonise\n"
		   "  -v             more logging (repeat for debug)\n",
		XNX_SIM_DIR_DEFAULT);
}

static int write_pidfile(const char *dir)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/xnet-simd.pid", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int fg = 0, verbose = 0, c;
	const char *dir;

	while ((c = getopt_long(argc, argv, "fvd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': fg = 1; break;
		case 'v': verbose++; break;
		case 'd': setenv("XNET_SIM_DIR", optarg, 1); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	dir = xnx_sim_dir();
	xnx_log_open("xnet-simd", !fg, verbose >= 2 ? XNX_LOG_DEBUG
				  : verbose ? XNX_LOG_INFO : XNX_LOG_WARN);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "xnet-simd: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	main_loop = sim_loop_new();
	struct sim_store *st = main_loop ? sim_store_new(main_loop) : NULL;
	struct sim_hyp *hyp = st ? sim_hyp_new(main_loop, st, dir) : NULL;
	if (!hyp) {
		fprintf(stderr, "xnet-simd: start-up failed: %s\n", strerror(errno));
		return 1;
	}
	if (!fg && daemon(0, 0) < 0) {
		fprintf(stderr, "xnet-simd: daemon: %s\n", strerror(errno));
		return 1;
	}
	write_pidfile(dir);
	int rc = sim_loop_run(main_loop);
	sim_hyp_free(hyp);
	sim_store_free(st);
	sim_loop_free(main_loop);
	return rc < 0 ? 1 : 0;
}
