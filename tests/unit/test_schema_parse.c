/* test_schema_parse.c — the vif.schema parser (the real file, and broken
 * lines whose error must name the line), the value types, key matching,
 * the Markdown renderer and where the schema is found at run time. */
#include <CUnit/Basic.h>
#include "cunit_run.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenstore-schema/xsc_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct xsc_entry *find(const struct xsc_schema *s, int side, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if ((int)s->e[i].side == side && strcmp(s->e[i].key, key) == 0)
			return &s->e[i];
	return NULL;
}

/* The built-in copy of vif.schema parses and covers the whole contract:
 * DESIGN.md's list, netif.h's documented keys and xnet's own. */
static void schema_parse_builtin_covers_contract(void)
{
	static const char *const back[] = {
		"frontend", "frontend-id", "online", "state", "handle", "mac", "bridge",
		"nic", "vifname", "script", "type", "ip", "rate", "mtu", "hotplug-status",
		"hotplug-error", "error", "bridge-linkid", "mode", "vlan", "pool",
		"feature-sg", "feature-gso-tcpv4", "feature-gso-tcpv6",
		"feature-ipv6-csum-offload", "feature-rx-copy", "feature-rx-flip",
		"feature-multicast-control", "feature-dynamic-multicast-control",
		"feature-split-event-channels", "multi-queue-max-queues",
		"feature-ctrl-ring", "carrier", "gatewaydev",
	};
	static const char *const front[] = {
		"backend", "backend-id", "state", "handle", "mac", "tx-ring-ref",
		"rx-ring-ref", "event-channel", "event-channel-tx", "event-channel-rx",
		"multi-queue-num-queues", "queue-<N>", "queue-<N>/tx-ring-ref",
		"queue-<N>/rx-ring-ref", "queue-<N>/event-channel",
		"queue-<N>/event-channel-tx", "queue-<N>/event-channel-rx",
		"request-rx-copy", "feature-rx-notify", "feature-sg",
		"feature-gso-tcpv4", "feature-gso-tcpv6", "feature-no-csum-offload",
		"feature-ipv6-csum-offload", "request-multicast-control",
		"ctrl-ring-ref", "event-channel-ctrl", "mtu", "trusted", "error",
	};
	char err[256];
	struct xsc_schema *s = xsc_schema_parse(xsc_builtin_schema, "vif.schema", err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s->dir[XSC_BACK], "/local/domain/<bdom>/backend/vif/<domid>/<devid>");
	CU_ASSERT_STRING_EQUAL(s->dir[XSC_FRONT], "/local/domain/<domid>/device/vif/<devid>");
	for (size_t i = 0; i < N(back); i++) {
		if (!find(s, XSC_BACK, back[i]))
			fprintf(stderr, "missing back key %s\n", back[i]);
		CU_ASSERT_PTR_NOT_NULL(find(s, XSC_BACK, back[i]));
	}
	for (size_t i = 0; i < N(front); i++) {
		if (!find(s, XSC_FRONT, front[i]))
			fprintf(stderr, "missing front key %s\n", front[i]);
		CU_ASSERT_PTR_NOT_NULL(find(s, XSC_FRONT, front[i]));
	}
	/* A few rules spelled out: the ring keys wait for Initialised. */
	const struct xsc_entry *e = find(s, XSC_FRONT, "tx-ring-ref");
	CU_ASSERT_TRUE(e && e->required && e->from_state == 3 && e->mq == XSC_MQ_NO &&
		       e->type == XSC_T_GREF && e->writers == XSC_W_FRONTEND);
	e = find(s, XSC_BACK, "nic");
	CU_ASSERT_TRUE(e && e->type == XSC_T_LINKID && !e->required);
	e = find(s, XSC_BACK, "hotplug-status");
	CU_ASSERT_TRUE(e && e->has_must && strcmp(e->must, "connected") == 0 && e->empty_ok);
	CU_ASSERT_EQUAL(xsc_schema_count(s), s->n);
	CU_ASSERT_STRING_EQUAL(xsc_schema_source(s), "vif.schema");
	xsc_schema_free(s);
}

/* The committed file and the compiled-in copy are the same text (when the
 * test runs from the source tree). */
static void schema_builtin_matches_file(void)
{
	FILE *f = fopen("xenstore-schema/vif.schema", "r");
	static char buf[1 << 17];
	size_t n;

	if (!f) {
		fprintf(stderr, "(not run from the source tree; skipped)\n");
		return;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, xsc_builtin_schema);
}

#define HEAD "dir back /local/domain/<bdom>/backend/vif/<domid>/<devid>\n" \
	     "dir front /local/domain/<domid>/device/vif/<devid>\n" \
	     "back state backend state req | The state.\n"

/* Each case: a schema text and the line and words its error must name. */
static const struct {
	const char *text;
	int line;
	const char *what;
} broken[] = {
	{ HEAD "middle x backend bool opt | d\n", 4, "unknown side 'middle'" },
	{ HEAD "back feature-x backend bool opt\n", 4, "missing '| DESCRIPTION'" },
	{ HEAD "back feature-x backend bool opt |   \n", 4, "empty description" },
	{ HEAD "back feature-x backend bool | d\n", 4, "got 4 fields" },
	{ HEAD "back Feature backend bool opt | d\n", 4, "outside [a-z0-9_-]" },
	{ HEAD "back a//b backend bool opt | d\n", 4, "empty segment" },
	{ HEAD "back a*b backend bool opt | d\n", 4, "'*' only at the end" },
	{ HEAD "back x hypervisor bool opt | d\n", 4, "unknown writer 'hypervisor'" },
	{ HEAD "back x backend,backend bool opt | d\n", 4, "given twice" },
	{ HEAD "back x backend, bool opt | d\n", 4, "not a ','-separated list" },
	{ HEAD "back x backend uintt opt | d\n", 4, "unknown type 'uintt'" },
	{ HEAD "back x backend uint(5) opt | d\n", 4, "MIN..MAX" },
	{ HEAD "back x backend uint(9..2) opt | d\n", 4, "MIN is above MAX" },
	{ HEAD "back x backend uint(a..2) opt | d\n", 4, "decimal numbers" },
	{ HEAD "back x backend string(0) opt | d\n", 4, "MAX in 1..4096" },
	{ HEAD "back x backend enum() opt | d\n", 4, "non-empty words" },
	{ HEAD "back x backend enum(a,,b) opt | d\n", 4, "non-empty words" },
	{ HEAD "back x backend enum(A) opt | d\n", 4, "[a-z0-9_-]" },
	{ HEAD "back x backend bool sometimes | d\n", 4, "unknown need 'sometimes'" },
	{ HEAD "back x backend bool req@Closing | d\n", 4, "state must be" },
	{ HEAD "back x backend bool opt colour=red | d\n", 4, "unknown attribute 'colour'" },
	{ HEAD "back x backend bool opt mq=yes | d\n", 4, "front keys only" },
	{ HEAD "front x frontend bool opt mq=maybe | d\n", 4, "mq='maybe'" },
	{ HEAD "back x backend bool opt must=1 | d\n", 4, "must= needs need req@STATE" },
	{ HEAD "back x backend bool req@InitWait must=2 | d\n", 4, "does not fit type bool" },
	{ HEAD "back x backend uint(1..5) opt default=9 | d\n", 4, "does not fit type" },
	{ HEAD "back x backend bool opt eq=peer | d\n", 4, "eq=peer needs type path" },
	{ HEAD "back x backend bool opt eq=me | d\n", 4, "eq='me'" },
	{ HEAD "back x backend bool opt max=y:1 | d\n", 4, "needs a uint type" },
	{ HEAD "back x backend uint(1..9) opt max=y | d\n", 4, "has no ':DEFAULT'" },
	{ HEAD "back x backend bool opt empty empty | d\n", 4, "given twice" },
	{ HEAD "back x backend bool opt if=Bad | d\n", 4, "not a key name" },
	{ HEAD "back state backend bool opt | d\n", 4, "already defined" },
	{ HEAD "front queue-<N>/x frontend bool opt | d\n", 4, "need mq=yes" },
	{ HEAD "back colo_* backend bool req | d\n", 4, "prefix key can only be opt" },
	{ HEAD "dir back /local/x/<bdom>/<domid>/<devid>\n", 4, "second dir line" },
	{ HEAD "\n\nback x backend bool opt if=nothere | d\n", 6, "if=nothere" },
	{ HEAD "back x backend bool opt unless=nothere | d\n", 4, "unless=nothere" },
	{ HEAD "back x backend bool opt peer=nothere | d\n", 4, "peer=nothere" },
	{ HEAD "back x backend uint(1..9) opt max=nothere:1 | d\n", 4, "max=nothere" },
	{ HEAD "back x backend bool opt | d\r\n", 4, "carriage return" },
	{ "dir back /local/domain/<bdom>/backend/vif/<domid>/<devid>\n"
	  "back x backend bool opt | d\n", 2, "key before both dir lines" },
	{ "dir back local/<bdom>/<domid>/<devid>\n", 1, "not an absolute path" },
	{ "dir back /local/<bdom>/<domid>\n", 1, "must use <bdom>, <domid> and <devid>" },
	{ "dir front /local/<bdom>/<domid>/<devid>\n", 1, "(not <bdom>)" },
	{ "dir front /local/<x>/<domid>/<devid>\n", 1, "neither a name nor" },
	{ "dir side /a/<domid>/<devid>\n", 1, "unknown side 'side'" },
	{ "dir front\n", 1, "dir takes SIDE PATTERN" },
	{ "# only a comment\n", 1, "no dir line for back" },
	{ "dir back /local/domain/<bdom>/backend/vif/<domid>/<devid>\n"
	  "dir front /local/domain/<domid>/device/vif/<devid>\n", 2, "no keys" },
};

static void schema_parse_broken_lines(void)
{
	char err[512], want[64];

	for (size_t i = 0; i < N(broken); i++) {
		struct xsc_schema *s = xsc_schema_parse(broken[i].text, "t.schema", err, sizeof(err));
		snprintf(want, sizeof(want), "t.schema:%d: ", broken[i].line);
		if (s || strncmp(err, want, strlen(want)) != 0 || !strstr(err, broken[i].what))
			fprintf(stderr, "case %zu: got '%s', want '%s...%s'\n", i,
				s ? "(parsed)" : err, want, broken[i].what);
		CU_ASSERT_PTR_NULL(s);
		CU_ASSERT_EQUAL(errno, EINVAL);
		CU_ASSERT_EQUAL(strncmp(err, want, strlen(want)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, broken[i].what));
		xsc_schema_free(s);
	}
}

static void schema_parse_long_line(void)
{
	char text[4096], err[256];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), HEAD "back x backend bool opt | ");
	memset(text + n, 'd', 1100);
	strcpy(text + n + 1100, "\n");
	CU_ASSERT_PTR_NULL(xsc_schema_parse(text, "t", err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "t:4: line longer than 1023 characters");
}

static void schema_load_missing_file(void)
{
	char err[256];

	errno = 0;
	CU_ASSERT_PTR_NULL(xsc_schema_load("/nonexistent/vif.schema", err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/vif.schema"));
}


/* Every character of the real schema deleted in turn: the parser never
 * crashes, a rejection names a line of the text it was given, and deleting
 * a character from the fields of a key line (before '|') is mostly caught. */
static void schema_parse_every_deletion(void)
{
	size_t len = strlen(xsc_builtin_schema);
	char *text = malloc(len + 1), err[512];
	int lines = 0, fields = 0, caught = 0;
	bool in_fields = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (size_t i = 0; i < len; i++)
		lines += xsc_builtin_schema[i] == '\n';
	for (size_t cut = 0; cut < len; cut++) {
		char c = xsc_builtin_schema[cut];
		if (cut == 0 || xsc_builtin_schema[cut - 1] == '\n') {
			/* Comment lines are free text: skip them (keeps this quick). */
			while (xsc_builtin_schema[cut] == '#') {
				cut += strcspn(xsc_builtin_schema + cut, "\n") + 1;
				if (cut >= len)
					goto done;
			}
			c = xsc_builtin_schema[cut];
			in_fields = strncmp(xsc_builtin_schema + cut, "back ", 5) == 0 ||
				    strncmp(xsc_builtin_schema + cut, "front ", 6) == 0;
		}
		memcpy(text, xsc_builtin_schema, cut);
		memcpy(text + cut, xsc_builtin_schema + cut + 1, len - cut);
		struct xsc_schema *s = xsc_schema_parse(text, "cut", err, sizeof(err));
		if (!s) {
			int line = 0;
			CU_ASSERT_EQUAL(sscanf(err, "cut:%d: ", &line), 1);
			CU_ASSERT_TRUE(line >= 1 && line <= lines + 1);
		}
		if (in_fields && c != ' ' && c != '|') {
			fields++;
			caught += s == NULL;
		}
		if (c == '|')
			in_fields = false;
		xsc_schema_free(s);
	}
done:
	/* Deletions that still parse turn "feature-sg" into "feature-s", a
	 * range into another range...; the rest must be refused. */
	if (caught * 2 < fields || getenv("XSC_TEST_VERBOSE"))
		fprintf(stderr, "%d of %d field deletions caught\n", caught, fields);
	CU_ASSERT_TRUE(caught * 2 >= fields);
	free(text);
}

/* ---- value types -------------------------------------------------------- */

static const char types_text[] =
	"dir back /local/domain/<bdom>/backend/vif/<domid>/<devid>\n"
	"dir front /local/domain/<domid>/device/vif/<devid>\n"
	"back u backend uint(3..10) opt | d\n"
	"back b backend bool opt | d\n"
	"back m backend mac opt | d\n"
	"back l backend linkid opt | d\n"
	"back g backend gref opt | d\n"
	"back e backend evtchn opt | d\n"
	"back s backend state opt | d\n"
	"back d backend domid opt | d\n"
	"back t backend string(5) opt | d\n"
	"back i backend ifname opt | d\n"
	"back p backend path opt | d\n"
	"back r backend rate opt | d\n"
	"back ip backend iplist opt | d\n"
	"back w backend enum(bridge,route) opt | d\n"
	"back w2 backend enum(bridge,route) opt empty | d\n"
	"back dd backend dir opt | d\n";

static const struct { const char *key, *value; int ok; } values[] = {
	{ "u", "3", 1 }, { "u", "10", 1 }, { "u", "2", 0 }, { "u", "11", 0 },
	{ "u", "+5", 0 }, { "u", " 5", 0 }, { "u", "5x", 0 }, { "u", "", 0 },
	{ "b", "0", 1 }, { "b", "1", 1 }, { "b", "2", 0 }, { "b", "true", 0 }, { "b", "01", 0 },
	{ "m", "00:16:3e:01:02:03", 1 }, { "m", "00:16:3E:0a:Bc:03", 1 },
	{ "m", "01:16:3e:01:02:03", 0 }, { "m", "00:00:00:00:00:00", 0 },
	{ "m", "00:16:3e:01:02", 0 }, { "m", "00-16-3e-01-02-03", 0 },
	{ "m", "00:16:3e:01:02:0g", 0 }, { "m", "00:16:3e:01:02:033", 0 },
	{ "l", "1", 1 }, { "l", "2147483647", 1 }, { "l", "0", 0 }, { "l", "2147483648", 0 },
	{ "l", "eth0", 0 },
	{ "g", "8", 1 }, { "g", "4294967295", 1 }, { "g", "7", 0 }, { "g", "0", 0 },
	{ "g", "4294967296", 0 },
	{ "e", "1", 1 }, { "e", "131071", 1 }, { "e", "0", 0 }, { "e", "131072", 0 },
	{ "s", "0", 1 }, { "s", "8", 1 }, { "s", "9", 0 },
	{ "d", "0", 1 }, { "d", "32751", 1 }, { "d", "32752", 0 },
	{ "t", "", 1 }, { "t", "a b!", 1 }, { "t", "abcdef", 0 }, { "t", "a\tb", 0 },
	{ "i", "xenbr0", 1 }, { "i", "vif1.0-emu", 1 }, { "i", "", 0 },
	{ "i", "0123456789abcdef", 0 }, { "i", "a/b", 0 }, { "i", "a b", 0 },
	{ "i", "..", 0 }, { "i", "a:1", 0 },
	{ "p", "/local/domain/1/device/vif/0", 1 }, { "p", "/", 1 },
	{ "p", "local/domain", 0 }, { "p", "/local//domain", 0 }, { "p", "/local/", 0 },
	{ "p", "/local/dom ain", 0 },
	{ "r", "1250000,50000", 1 }, { "r", "1,1", 1 }, { "r", "1250000", 0 },
	{ "r", "0,50000", 0 }, { "r", "10,0", 0 }, { "r", "10,5x", 0 }, { "r", ",5", 0 },
	{ "ip", "10.0.0.1", 1 }, { "ip", "10.0.0.1 10.0.0.2/24 fe80::1", 1 },
	{ "ip", "2001:db8::/32", 1 }, { "ip", "10.0.0.300", 0 }, { "ip", "10.0.0.1/33", 0 },
	{ "ip", "10.0.0.1  10.0.0.2", 0 }, { "ip", " 10.0.0.1", 0 }, { "ip", "", 0 },
	{ "ip", "10.0.0.1,10.0.0.2", 0 },
	{ "w", "bridge", 1 }, { "w", "route", 1 }, { "w", "rout", 0 }, { "w", "bridge,route", 0 },
	{ "w", "", 0 }, { "w2", "", 1 }, { "w2", "vnic", 0 },
	{ "dd", "", 1 }, { "dd", "x", 0 },
};

static void value_ok_per_type(void)
{
	char err[256], why[256];
	struct xsc_schema *s = xsc_schema_parse(types_text, "types", err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (size_t i = 0; i < N(values); i++) {
		const struct xsc_entry *e = find(s, XSC_BACK, values[i].key);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		why[0] = '\0';
		int rc = xsc_value_ok(e, values[i].value, strlen(values[i].value), why, sizeof(why));
		if ((rc == 0) != values[i].ok)
			fprintf(stderr, "value case %zu (%s=\"%s\"): rc %d (%s)\n", i,
				values[i].key, values[i].value, rc, why);
		CU_ASSERT_EQUAL(rc == 0, values[i].ok);
		if (!values[i].ok)
			CU_ASSERT_NOT_EQUAL(why[0], '\0');
	}
	/* A NUL inside the value is never accepted. */
	CU_ASSERT_EQUAL(xsc_value_ok(find(s, XSC_BACK, "t"), "a\0b", 3, why, sizeof(why)), -1);
	xsc_schema_free(s);
}

static void key_match_patterns(void)
{
	static const char text[] =
		"dir back /local/domain/<bdom>/backend/vif/<domid>/<devid>\n"
		"dir front /local/domain/<domid>/device/vif/<devid>\n"
		"front queue-<N>/tx-ring-ref frontend gref opt mq=yes | d\n"
		"front colo_* frontend string(9) opt | d\n"
		"front mac frontend mac opt | d\n";
	static const struct { const char *key, *rel; int match; long queue; } cases[] = {
		{ "queue-<N>/tx-ring-ref", "queue-0/tx-ring-ref", 1, 0 },
		{ "queue-<N>/tx-ring-ref", "queue-12/tx-ring-ref", 1, 12 },
		{ "queue-<N>/tx-ring-ref", "queue-01/tx-ring-ref", 0, -1 },
		{ "queue-<N>/tx-ring-ref", "queue-/tx-ring-ref", 0, -1 },
		{ "queue-<N>/tx-ring-ref", "queue-x/tx-ring-ref", 0, -1 },
		{ "queue-<N>/tx-ring-ref", "queue-0/rx-ring-ref", 0, -1 },
		{ "queue-<N>/tx-ring-ref", "queue-0", 0, -1 },
		{ "queue-<N>/tx-ring-ref", "queue-0/tx-ring-ref/x", 0, -1 },
		{ "colo_*", "colo_sock_mirror_id", 1, -1 },
		{ "colo_*", "colo_", 1, -1 },
		{ "colo_*", "col", 0, -1 },
		{ "colo_*", "colo_a/b", 0, -1 },
		{ "mac", "mac", 1, -1 }, { "mac", "mac2", 0, -1 }, { "mac", "ma", 0, -1 },
		{ "mac", "mac/x", 0, -1 },
	};
	char err[256];
	struct xsc_schema *s = xsc_schema_parse(text, "k", err, sizeof(err));
	long q;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (size_t i = 0; i < N(cases); i++) {
		const struct xsc_entry *e = find(s, XSC_FRONT, cases[i].key);
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		bool m = xsc_key_match(e, cases[i].rel, &q);
		if (m != (bool)cases[i].match)
			fprintf(stderr, "match case %zu: %s vs %s\n", i, cases[i].key, cases[i].rel);
		CU_ASSERT_EQUAL(m, (bool)cases[i].match);
		if (m)
			CU_ASSERT_EQUAL(q, cases[i].queue);
	}
	xsc_schema_free(s);
}

/* ---- rendering and finding the schema ------------------------------------ */

static char *render(const struct xsc_schema *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(xsc_render_markdown(s, f), 0);
	fclose(f);
	return buf;
}

static void render_every_key_escaped(void)
{
	char err[256], row[256];
	struct xsc_schema *s = xsc_schema_parse(xsc_builtin_schema, "vif.schema", err, sizeof(err));
	char *a, *b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	a = render(s);
	b = render(s);
	CU_ASSERT_STRING_EQUAL(a, b);	/* deterministic */
	for (size_t i = 0; i < s->n; i++) {
		snprintf(row, sizeof(row), "\n| `%s` | ", s->e[i].key);
		CU_ASSERT_PTR_NOT_NULL(strstr(a, row));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "## Backend keys"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "## Frontend keys"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "| `tx-ring-ref` | frontend | `gref` | from Initialised on | not in multi-queue frontends |"));
	/* Descriptions are cell text: no raw '<' that would start HTML. */
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "equals &lt;domid&gt; in this path"));
	free(a);
	free(b);
	xsc_schema_free(s);

	s = xsc_schema_parse(HEAD "back x backend bool opt | a|b <i>\n", "t", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	a = render(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(a, "| a\\|b &lt;i&gt; |"));
	free(a);
	xsc_schema_free(s);
}

static void schema_default_honours_env(void)
{
	char tmpl[] = "/tmp/xsc-test-XXXXXX", err[256];
	int fd = mkstemp(tmpl);
	struct xsc_schema *s;
	static const char bad[] = HEAD "back x backend nonsense opt | d\n";

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, HEAD, strlen(HEAD)), (ssize_t)strlen(HEAD));
	close(fd);
	setenv("XNET_SCHEMA", tmpl, 1);
	s = xsc_schema_default(err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(s);
	if (s) {
		CU_ASSERT_STRING_EQUAL(xsc_schema_source(s), tmpl);
		CU_ASSERT_EQUAL(s->n, 1);
	}
	xsc_schema_free(s);
	/* A broken override is an error, not a silent fallback. */
	fd = open(tmpl, O_WRONLY | O_TRUNC);
	CU_ASSERT_EQUAL(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	close(fd);
	CU_ASSERT_PTR_NULL(xsc_schema_default(err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":4: unknown type 'nonsense'"));
	unsetenv("XNET_SCHEMA");
	unlink(tmpl);
	/* Without the override a schema is always found (file or built-in). */
	s = xsc_schema_default(err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(s);
	xsc_schema_free(s);
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "schema_parse_builtin_covers_contract", schema_parse_builtin_covers_contract },
		{ "schema_builtin_matches_file", schema_builtin_matches_file },
		{ "schema_parse_broken_lines", schema_parse_broken_lines },
		{ "schema_parse_long_line", schema_parse_long_line },
		{ "schema_parse_every_deletion", schema_parse_every_deletion },
		{ "schema_load_missing_file", schema_load_missing_file },
		{ "value_ok_per_type", value_ok_per_type },
		{ "key_match_patterns", key_match_patterns },
		{ "render_every_key_escaped", render_every_key_escaped },
		{ "schema_default_honours_env", schema_default_honours_env },
	};

	return CUNIT_RUN("schema_parse", NULL, NULL, tests);
}
