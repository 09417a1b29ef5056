/*
 * render.c — vif-keys.md from the parsed schema: one table per side, the
 * rules in words. Deterministic, so a test can compare it with the
 * committed copy.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xsc_int.h"

/* Print S as table-cell text: '|' would end the cell, '<' and '>' would
 * start HTML. */
static void cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", out);
		else if (*s == '>')
			fputs("&gt;", out);
		else if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
}

static void writers(FILE *out, unsigned w)
{
	static const char *const names[] = { "toolstack", "backend", "frontend", "script" };
	const char *sep = "";

	for (int i = 0; i < 4; i++) {
		if (w & (1u << i)) {
			fprintf(out, "%s%s", sep, names[i]);
			sep = ", ";
		}
	}
}

static void need(FILE *out, const struct xsc_entry *e)
{
	if (!e->required)
		fputs("optional", out);
	else if (e->from_state == XSC_STATE_ANY)
		fputs("always", out);
	else
		fprintf(out, "from %s on", xsc_state_name(e->from_state));
}

static void rule(FILE *out, const char **sep, const char *fmt, const char *a, const char *b)
{
	fputs(*sep, out);
	fprintf(out, fmt, a, b);
	*sep = "; ";
}

static void rules(FILE *out, const struct xsc_entry *e)
{
	static const char *const eq[] = {
		"", "equals `<domid>`", "equals `<devid>`", "equals `<bdom>`",
		"names the other side's directory, which must point back",
	};
	const char *sep = "";
	char def[32];

	if (e->mq == XSC_MQ_YES)
		rule(out, &sep, "multi-queue frontends only%s%s", "", "");
	if (e->mq == XSC_MQ_NO)
		rule(out, &sep, "not in multi-queue frontends%s%s", "", "");
	if (e->if_key[0])
		rule(out, &sep, "when `%s` is present%s", e->if_key, "");
	if (e->unless_key[0])
		rule(out, &sep, "unless `%s` is present%s", e->unless_key, "");
	if (e->eq != XSC_EQ_NONE)
		rule(out, &sep, "%s%s", eq[e->eq], "");
	if (e->has_must)
		rule(out, &sep, "must be `%s` from %s on", e->must, xsc_state_name(e->from_state));
	if (e->peer_key[0])
		rule(out, &sep, "non-zero needs the other side's `%s`%s", e->peer_key, "");
	if (e->max_key[0]) {
		snprintf(def, sizeof(def), "%lu", e->max_def);
		rule(out, &sep, "at most the other side's `%s` (%s when absent)", e->max_key, def);
	}
	if (e->empty_ok)
		rule(out, &sep, "may be empty%s%s", "", "");
	if (e->def[0])
		rule(out, &sep, "default `%s`%s", e->def, "");
	if (!*sep)
		fputs("—", out);
}

static void table(FILE *out, const struct xsc_schema *s, int side)
{
	fputs("| key | written by | type | present | rules | meaning |\n", out);
	fputs("|---|---|---|---|---|---|\n", out);
	for (size_t i = 0; i < s->n; i++) {
		const struct xsc_entry *e = &s->e[i];
		if ((int)e->side != side)
			continue;
		fprintf(out, "| `%s` | ", e->key);
		writers(out, e->writers);
		fputs(" | `", out);
		fputs(e->type_text, out);	/* [a-z0-9(),.] only */
		fputs("` | ", out);
		need(out, e);
		fputs(" | ", out);
		rules(out, e);
		fputs(" | ", out);
		cell(out, e->desc);
		fputs(" |\n", out);
	}
}

static const char legend[] =
	"## Types\n\n"
	"| type | values |\n"
	"|---|---|\n"
	"| `uint(MIN..MAX)` | decimal, no sign or spaces, in MIN..MAX |\n"
	"| `bool` | `0` or `1` |\n"
	"| `mac` | `xx:xx:xx:xx:xx:xx` (hex), unicast, not all zero |\n"
	"| `linkid` | kernel interface index in the driver domain (1..2147483647); resolved to a name only when used |\n"
	"| `gref` | grant reference, 8..4294967295 (0..7 are reserved) |\n"
	"| `evtchn` | event-channel port, 1..131071 |\n"
	"| `state` | XenbusState number, 0..8 |\n"
	"| `domid` | domain id, 0..32751 |\n"
	"| `string(MAX)` | printable ASCII, spaces allowed, at most MAX characters |\n"
	"| `ifname` | interface name, 1..15 characters, no `/`, `:` or blanks |\n"
	"| `path` | absolute xenstore path |\n"
	"| `rate` | `BYTES,USEC`: BYTES of credit every USEC microseconds |\n"
	"| `iplist` | IPv4/IPv6 addresses, each optionally `/PREFIX`, separated by single spaces |\n"
	"| `enum(A,B,..)` | exactly one of the words |\n"
	"| `dir` | a directory node (empty value) |\n\n"
	"\"from STATE on\" means while the side's own state is STATE up to Connected "
	"(Reconfiguring and Reconfigured included); during Closing and Closed keys may "
	"already be gone.\n";

int xsc_render_markdown(const struct xsc_schema *s, FILE *out)
{
	if (!s || !out) {
		errno = EINVAL;
		return -1;
	}
	fputs("<!-- Generated from xenstore-schema/vif.schema by `xnet-schema render`"
	      " (make schema-doc). Do not edit: edit the schema. -->\n\n", out);
	fputs("# vif xenstore keys\n\n", out);
	fputs("Every key of a vif (Xen split network device) in xenstore: who writes it,"
	      " what it may hold and from which state on it must be there."
	      " `xnet schema check` validates a live store against the same schema.\n\n", out);
	fprintf(out, "Backend directory: `%s/`  \nFrontend directory: `%s/`\n\n",
		s->dir[XSC_BACK], s->dir[XSC_FRONT]);
	fputs("A multi-queue frontend (`multi-queue-num-queues` of 2 or more) writes its"
	      " ring and event-channel keys under `queue-N/` (N from 0) instead of at the"
	      " top.\n\n", out);
	fputs("## Backend keys\n\n", out);
	table(out, s, XSC_BACK);
	fputs("\n## Frontend keys\n\n", out);
	table(out, s, XSC_FRONT);
	fputs("\n", out);
	fputs(legend, out);
	fflush(out);
	return ferror(out) ? (errno = EIO, -1) : 0;
}
