/*
 * xnetback_main.c — the xnetback daemon: options, logging, signals; the
 * work is in backend.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xnb_recover.h"
#include "xnb_vif.h"
#include "xnx_log.h"

static struct xnb_backend backend;
static const char *stats_path;	/* --stats-socket; NULL: the default */

static void on_signal(int sig)
{
	backend.stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xnetback [--foreground] [-v]... [--stats-socket PATH] [--help]\n"
		"\n"
		"Serves every vif under /local/domain/<self>/backend/vif: creates the\n"
		"TAP vif<domid>.<devid> (or `vifname`), waits for hotplug-status, maps\n"
		"the frontend's rings and moves frames between them and the TAP.\n"
		"\n"
		"  -f, --foreground  stay in the foreground and log to stderr\n"
		"  -v, --verbose     more logging: -v info, -vv debug (default:\n"
		"                    warnings and errors)\n"
		"  -s, --stats-socket PATH\n"
		"                    serve the counters of every vif there (default\n"
		"                    <run dir>/xnetback.sock; \"none\": no socket)\n"
		"  -h, --help        this text\n"
		"\n"
		"Environment: XNET_PLATFORM=xen|sim|auto, and on the sim XNET_DOMID\n"
		"(our domain, default 0) and XNET_SIM_DIR (the sim's run directory).\n");
}

static int parse_args(int argc, char **argv, int *foreground, int *verbose)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "stats-socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "fvhs:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': *foreground = 1; break;
		case 'v': (*verbose)++; break;
		case 'h': usage(stdout); exit(0);
		case 's': stats_path = optarg; break;
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "xnetback: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* The stats socket is a convenience: without it the daemon still serves. */
static void open_stats(void)
{
	char path[108];
	int rc;

	if (stats_path && !strcmp(stats_path, "none"))
		return;
	if (stats_path)
		snprintf(path, sizeof(path), "%s", stats_path);
	else if (xnb_stats_sock_default(backend.self, path, sizeof(path)) < 0) {
		xnx_warn("stats socket: run directory path too long; no stats socket");
		return;
	}
	rc = xnb_stats_sock_open(&backend, path);
	if (rc < 0)
		xnx_warn("stats socket %s: %s; no stats socket", path,
			 rc == -EADDRINUSE ? "another xnetback serves it" : strerror(-rc));
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int foreground = 0, verbose = 0, rc;

	/* Hold only what we open: a descriptor inherited from whoever started
	 * us (a lock, a pipe) would otherwise live as long as we do. */
	close_range(3, ~0u, 0);
	if (parse_args(argc, argv, &foreground, &verbose) < 0)
		return 2;
	xnx_log_open("xnetback", !foreground, xnx_log_verbosity(verbose));
	if (!foreground && daemon(0, 0) < 0) {
		xnx_err("daemon: %s", strerror(errno));
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (xnb_backend_open(&backend) < 0)
		return 1;
	xnb_recover(&backend);	/* devices a killed instance left behind */
	open_stats();
	rc = xnb_backend_run(&backend);
	if (rc < 0)
		xnx_err("event loop: %s", strerror(-rc));
	xnb_stats_sock_close(&backend);
	xnb_backend_close(&backend);
	return rc < 0 ? 1 : 0;
}
