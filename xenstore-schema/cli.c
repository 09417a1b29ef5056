/*
 * cli.c — finding the schema at run time, and the command entry points:
 * `check [DOMAIN]` (also `xnet schema check`) and `render`.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstore.h>

#include "xnx_xs.h"
#include "xsc_int.h"

#define EXIT_VIOLATIONS 1
#define EXIT_TROUBLE 2

/* DIR of the running binary, with a trailing '/'; "" if unknown. */
static void exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash)
		slash[1] = '\0';
	else
		buf[0] = '\0';
}

struct xsc_schema *xsc_schema_default(char *err, size_t errlen)
{
	static const char *const beside[] = {
		"../share/xnet/vif.schema",		/* installed */
		"../../xenstore-schema/vif.schema",	/* build dir in the source tree */
	};
	const char *env = getenv("XNET_SCHEMA");
	char dir[PATH_MAX], file[PATH_MAX + 64];

	if (env && *env)
		return xsc_schema_load(env, err, errlen);
	exe_dir(dir, sizeof(dir));
	for (size_t i = 0; dir[0] && i < sizeof(beside) / sizeof(beside[0]); i++) {
		snprintf(file, sizeof(file), "%s%s", dir, beside[i]);
		if (access(file, R_OK) == 0)
			return xsc_schema_load(file, err, errlen);
	}
	return xsc_schema_parse(xsc_builtin_schema, "built-in", err, errlen);
}

static void print_violation(const struct xsc_violation *v, void *arg)
{
	(void)arg;
	printf("%s: %s: %s\n", v->path, xsc_kind_name(v->kind), v->reason);
}

/* DOMAIN as a domain id: a number, or a name found in /local/domain/N/name.
 * Returns the id, or -1 with a message printed. */
static int resolve_domain(struct xs_handle *xs, const char *name)
{
	unsigned long id;
	unsigned int n;
	char **doms;
	int found = -1;

	if (xnx_parse_uint(name, 0, 32751, &id) == 0)
		return (int)id;
	doms = xs_directory(xs, XBT_NULL, "/local/domain", &n);
	for (unsigned i = 0; doms && i < n && found < 0; i++) {
		char path[128], *v;
		snprintf(path, sizeof(path), "/local/domain/%s", doms[i]);
		v = xnx_xs_read(xs, XBT_NULL, path, "name");
		if (v && strcmp(v, name) == 0 && xnx_parse_uint(doms[i], 0, 32751, &id) == 0)
			found = (int)id;
		free(v);
	}
	free(doms);
	if (found < 0)
		fprintf(stderr, "schema check: no domain '%s'\n", name);
	return found;
}

static struct xsc_schema *load(const char *file)
{
	char err[512];
	struct xsc_schema *s = file ? xsc_schema_load(file, err, sizeof(err))
				    : xsc_schema_default(err, sizeof(err));

	if (!s)
		fprintf(stderr, "schema: %s\n", err);
	return s;
}

static int usage_check(void)
{
	fprintf(stderr, "usage: check [-s SCHEMA] [DOMAIN]\n"
		"  Check every vif in xenstore (or DOMAIN's, by id or name) against the\n"
		"  schema; prints one violation per line: PATH: KIND: REASON.\n");
	return EXIT_TROUBLE;
}

int xsc_main_check(int argc, char **argv)
{
	const char *file = NULL, *dom = NULL;
	struct xsc_schema *s;
	struct xs_handle *xs;
	int domid = -1, n, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage_check();
		else if (argv[i][0] == '-' || dom)
			return usage_check();
		else
			dom = argv[i];
	}
	s = load(file);
	if (!s)
		return EXIT_TROUBLE;
	xs = xnx_xs_open();
	if (!xs) {
		fprintf(stderr, "schema check: cannot open xenstore: %s\n", strerror(errno));
		xsc_schema_free(s);
		return EXIT_TROUBLE;
	}
	if (dom && (domid = resolve_domain(xs, dom)) < 0) {
		xs_close(xs);
		xsc_schema_free(s);
		return EXIT_TROUBLE;
	}
	n = xsc_check_store(xs, s, domid, print_violation, NULL);
	if (n < 0)
		fprintf(stderr, "schema check: cannot read xenstore: %s\n", strerror(errno));
	else
		fprintf(stderr, "schema check: %d violation%s (schema %s)\n", n,
			n == 1 ? "" : "s", xsc_schema_source(s));
	fflush(stdout);
	xs_close(xs);
	xsc_schema_free(s);
	return n < 0 ? EXIT_TROUBLE : n > 0 ? EXIT_VIOLATIONS : 0;
}

int xsc_main_render(int argc, char **argv)
{
	struct xsc_schema *s;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: render [SCHEMA]\n");
		return EXIT_TROUBLE;
	}
	s = load(argc == 2 ? argv[1] : NULL);
	if (!s)
		return EXIT_TROUBLE;
	rc = xsc_render_markdown(s, stdout);
	xsc_schema_free(s);
	if (rc < 0) {
		fprintf(stderr, "render: %s\n", strerror(errno));
		return EXIT_TROUBLE;
	}
	return 0;
}

int xsc_main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "check") == 0)
		return xsc_main_check(argc - 1, argv + 1);
	if (strcmp(cmd, "render") == 0)
		return xsc_main_render(argc - 1, argv + 1);
	if (strcmp(cmd, "path") == 0 && argc == 2) {
		struct xsc_schema *s = load(NULL);
		if (!s)
			return EXIT_TROUBLE;
		printf("%s\n", xsc_schema_source(s));
		xsc_schema_free(s);
		return 0;
	}
	fprintf(stderr, "usage: xnet-schema check [-s SCHEMA] [DOMAIN]\n"
		"       xnet-schema render [SCHEMA]\n"
		"       xnet-schema path\n"
		"The vif xenstore schema: check a live store, render the key table\n"
		"(Markdown), or print which schema file is used (XNET_SCHEMA overrides).\n");
	return EXIT_TROUBLE;
}
