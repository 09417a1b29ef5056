/*
 * fuzz_schema.c — the vif schema parser (xenstore-schema/xsc.h) on
 * arbitrary schema text, its Markdown renderer on whatever parses, and the
 * checker on an arbitrary store tree (garbage xenstore values included).
 *
 * Invariants checked besides "no crash, UB or leak":
 *  - a schema refused says why (errno EINVAL or ENOMEM, a non-empty
 *    message), also into a tiny error buffer, never past it;
 *  - a schema accepted renders;
 *  - a tree node set reads back as set;
 *  - the checker reports exactly as many violations as it returns, each
 *    with a known kind, a path and a reason.
 *
 * Input: schema text, a line "%%", then tree lines "PATH=VALUE" (VALUE may
 * hold any byte but a newline). Without a "%%" line the whole input is the
 * tree and the built-in schema is used; a schema that does not parse is
 * replaced by the built-in one for the check.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore-schema/xsc_int.h"

static struct xsc_schema *builtin;
static FILE *devnull;

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_schema: invariant broken: %s\n", what);
	abort();
}

static void on_violation(const struct xsc_violation *v, void *arg)
{
	unsigned *n = arg;

	if (v->kind < XSC_V_UNKNOWN || v->kind > XSC_V_PEER)
		fail("violation of an unknown kind");
	if (!v->path || !v->reason || !v->reason[0])
		fail("violation without a path or a reason");
	(*n)++;
}

static struct xsc_schema *parse(const char *text)
{
	char err[256] = "", *tiny = malloc(4);
	struct xsc_schema *s;

	if (!tiny)
		abort();
	errno = 0;
	s = xsc_schema_parse(text, "fuzz", err, sizeof(err));
	if (s) {
		if (xsc_render_markdown(s, devnull) < 0)
			fail("an accepted schema does not render");
	} else {
		if ((errno != EINVAL && errno != ENOMEM) || !err[0] ||
		    !memchr(err, 0, sizeof(err)))
			fail("schema refused without errno or reason");
		tiny[3] = 'x';
		if (xsc_schema_parse(text, "fuzz", tiny, 3) || tiny[3] != 'x')
			fail("a short error buffer changed the result or overflowed");
	}
	free(tiny);
	return s;
}

/* Lines "PATH=VALUE" into T. */
static void fill_tree(struct xsc_tree *t, const char *p, const char *end)
{
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *eq = memchr(p, '=', (size_t)(eol - p));
		char *path;

		if (eq) {
			path = strndup(p, (size_t)(eq - p));
			if (!path)
				abort();
			if (xsc_tree_setn(t, path, eq + 1, (size_t)(eol - eq - 1)) == 0 &&
			    !memchr(eq + 1, 0, (size_t)(eol - eq - 1))) {
				const char *got = xsc_tree_get(t, path);

				if (!got || strlen(got) != (size_t)(eol - eq - 1) ||
				    memcmp(got, eq + 1, (size_t)(eol - eq - 1)))
					fail("a node set does not read back");
			}
			free(path);
		}
		p = eol + 1;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	devnull = fopen("/dev/null", "w");
	builtin = xsc_schema_parse(xsc_builtin_schema, "built-in", err, sizeof(err));
	if (!devnull || !builtin) {
		fprintf(stderr, "fuzz_schema: built-in schema: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *sep, *tree_start;
	struct xsc_schema *s = NULL;
	struct xsc_tree *t;
	unsigned seen = 0;
	int n;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	sep = strstr(text, "%%\n");
	if (sep && (sep == text || sep[-1] == '\n')) {
		*sep = '\0';
		s = parse(text);
		tree_start = sep + 3;
	} else {
		tree_start = text;
	}
	t = xsc_tree_new();
	if (!t)
		abort();
	fill_tree(t, tree_start, text + size);
	n = xsc_check_tree(t, s ? s : builtin, size & 1 ? -1 : 1, on_violation, &seen);
	if (n < 0 || (unsigned)n != seen)
		fail("checker's count is not the violations it reported");
	xsc_tree_free(t);
	xsc_schema_free(s);
	free(text);
	return 0;
}
