/* xnet_main.c — the `xnet` command: dispatch to the command groups. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xnet.h"
#include "xnx_log.h"

static const char usage[] =
	"usage: xnet COMMAND ...\n"
	"  sim up|down|status                 the simulated hypervisor and dom0 daemons\n"
	"  domain create|destroy NAME | list  sim domains (one network namespace each)\n"
	"  vif attach DOMAIN VIFSPEC          add a vif from an xl vifspec\n"
	"  vif detach DOMAIN DEVID | list     remove one / show them\n"
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
	return xnt_fail("unknown command '%s' (see xnet --help)", cmd);
}
