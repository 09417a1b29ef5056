/* xnet_main.c — the `xnet` command: dispatch to the command groups. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenstore-schema/xsc.h"
#include "xnet.h"
#include "xnx_log.h"

static const char usage[] =
	"usage: xnet COMMAND ...\n"
	"  sim up|down|status                 the simulated hypervisor and dom0 daemons\n"
	"  domain create|destroy NAME | list  sim domains (one network namespace each)\n"
	"  vif attach DOMAIN VIFSPEC          add a vif from an xl vifspec\n"
	"  vif detach DOMAIN DEVID | list     remove one / show them (list --json)\n"
	"  stats [--json] [VIF]               per-vif and per-queue counters\n"
	"  top [-d SECONDS] [-b]              live per-vif rates (q quits)\n"
	"  status [--json]                    daemons, platform, domains, vifs, errors\n"
	"  schema check [DOMAIN]              check xenstore against the vif schema\n"
	"  bench [ARGS]                       run xnet-bench (see xnet bench --help)\n"
	"  Each command takes --help. Environment: XNET_SIM_DIR (sim directory),\n"
	"  XNET_BIN (where the programs are; default: next to xnet).\n";

/* Children get the sim directory as an absolute path. */
static void absolute_sim_dir(void)
{
	const char *d = getenv("XNET_SIM_DIR");
	char cwd[PATH_MAX], abs[PATH_MAX * 2];

	if (d && *d && d[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		snprintf(abs, sizeof(abs), "%s/%s", cwd, d);
		setenv("XNET_SIM_DIR", abs, 1);
	}
}

/* `xnet schema check [ARGS]`: the schema checker's own entry point. */
static int schema(int argc, char **argv)
{
	static const char help[] =
		"usage: xnet schema check [-s SCHEMA] [DOMAIN]\n"
		"  Check every vif's xenstore keys (or DOMAIN's) against the vif\n"
		"  schema: one line per violation, PATH: KIND: REASON. Exit status\n"
		"  0 clean, 1 violations found, 2 usage or access error.\n";

	if (argc < 2 || xnt_is_help(argv[1])) {
		fputs(help, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "check"))
		return xnt_fail("schema: unknown command '%s' (see xnet schema --help)", argv[1]);
	return xsc_main_check(argc - 1, argv + 1);
}

/* `xnet bench [ARGS]`: exec xnet-bench from xnet's own directory. */
static int bench(int argc, char **argv)
{
	char self[PATH_MAX], prog[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return xnt_fail("bench: cannot tell where xnet is: %s", strerror(errno));
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(prog, sizeof(prog), "%s/xnet-bench", self);
	argv[0] = prog;
	execv(prog, argv);
	return xnt_fail("bench: cannot run %s: %s", prog, strerror(errno));
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	xnx_log_open("xnet", 0, XNX_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	absolute_sim_dir();
	if (!cmd || xnt_is_help(cmd)) {
		fputs(usage, cmd ? stdout : stderr);
		return cmd ? 0 : 2;
	}
	if (!strcmp(cmd, "sim"))
		return xnt_cmd_sim(argc - 1, argv + 1);
	if (!strcmp(cmd, "domain"))
		return xnt_cmd_domain(argc - 1, argv + 1);
	if (!strcmp(cmd, "vif"))
		return xnt_cmd_vif(argc - 1, argv + 1);
	if (!strcmp(cmd, "stats"))
		return xnt_cmd_stats(argc - 1, argv + 1);
	if (!strcmp(cmd, "top"))
		return xnt_cmd_top(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return xnt_cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "schema"))
		return schema(argc - 1, argv + 1);
	if (!strcmp(cmd, "bench"))
		return bench(argc - 1, argv + 1);
	return xnt_fail("unknown command '%s' (see xnet --help)", cmd);
}
