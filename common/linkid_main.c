/*
 * linkid_main.c — xnet-linkid: link ids for scripts. Resolves a link id to
 * the link's current name and back, at the moment it is asked, so scripts
 * never hold on to a name that a rename has made stale.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnx_link.h"

static const char usage[] =
	"usage: xnet-linkid [-n NETNS] COMMAND LINK\n"
	"  id LINK       print the link id of LINK\n"
	"  resolve LINK  the same\n"
	"  name LINK     print the current name of LINK\n"
	"  master LINK   print the link id of LINK's master (bridge), or nothing\n"
	"  info LINK     print id, name, kind, mac, master, operstate, mtu (KEY=VALUE)\n"
	"LINK is a link id (the ifindex; digits only) or a link name.\n"
	"-n NETNS acts in the named network namespace (/run/netns/NETNS).\n"
	"Exit 0, or 1 with the reason on stderr.\n";

static const char *netns;

static int fail(const char *fmt, const char *arg)
{
	fputs("xnet-linkid: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

static int all_digits(const char *s)
{
	return s[0] && !s[strspn(s, "0123456789")];
}

/* A one-line reason for ERR about LINK. */
static int link_error(int err, const char *link)
{
	int is_id = all_digits(link);

	switch (err) {
	case -ENODEV:
		return fail(is_id ? "no link with id %s" : "no link named %s", link);
	case -EINVAL:
		return fail(is_id ? "bad link id %s" : "bad link name '%s'", link);
	case -ERANGE:
		return fail("bad link id %s (out of range)", link);
	default:
		fprintf(stderr, "xnet-linkid: %s: %s\n", link, strerror(-err));
		return 1;
	}
}

static int print_info(const struct xnx_link_info *info)
{
	char mac[3 * XNX_LINK_ADDR_MAX];

	xnx_link_addr_str(info->addr, info->addr_len, mac, sizeof(mac));
	printf("id=%u\nname=%s\nkind=%s\nmac=%s\n", info->id, info->name, info->kind, mac);
	if (info->master)
		printf("master=%u\n", info->master);
	else
		printf("master=\n");
	printf("operstate=%s\nmtu=%u\n", xnx_link_operstate_name(info->operstate), info->mtu);
	return 0;
}

/* LINK as (id, name) for xnx_link_nl_get: an id if all digits, else a name. */
static int parse_link(const char *link, unsigned *id)
{
	*id = 0;
	if (all_digits(link))
		return xnx_link_parse_id(link, id);
	return xnx_link_name_ok(link) ? 0 : -EINVAL;
}

static int run(const char *cmd, const char *link)
{
	struct xnx_link_info info;
	struct xnx_link_nl *nl;
	unsigned id;
	int err;

	if ((err = parse_link(link, &id)) < 0)
		return link_error(err, link);
	/* Open first, so a namespace problem is not blamed on the link. */
	if ((err = xnx_link_nl_open(netns, &nl)) < 0) {
		if (err == -ENOENT)
			return fail("no network namespace %s", netns);
		fprintf(stderr, "xnet-linkid: cannot use network namespace %s: %s\n",
			netns ? netns : "(current)", strerror(-err));
		return 1;
	}
	err = xnx_link_nl_get(nl, id, id ? NULL : link, &info);
	xnx_link_nl_close(nl);
	if (err < 0)
		return link_error(err, link);
	if (!strcmp(cmd, "id") || !strcmp(cmd, "resolve"))
		printf("%u\n", info.id);
	else if (!strcmp(cmd, "name"))
		printf("%s\n", info.name);
	else if (!strcmp(cmd, "master")) {
		if (info.master)
			printf("%u\n", info.master);
	} else
		return print_info(&info);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const cmds[] = { "id", "resolve", "name", "master", "info" };
	int opt, known = 0;

	while ((opt = getopt(argc, argv, "+n:h")) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		fputs(usage, stderr);
		return 1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		known |= !strcmp(argv[optind], cmds[i]);
	if (!known)
		return fail("unknown command %s (try -h)", argv[optind]);
	if (netns && (!*netns || strchr(netns, '/') || !strcmp(netns, ".") ||
		      !strcmp(netns, "..")))
		return fail("bad network namespace name '%s'", netns);
	return run(argv[optind], argv[optind + 1]);
}
