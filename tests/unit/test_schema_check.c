/* test_schema_check.c — the validator on in-memory store trees: a correct
 * front+back pair in every handshake state and layout passes; each kind of
 * violation is reported with its path and reason. */
#include <CUnit/Basic.h>
#include "cunit_run.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/xenbus.h>

#include "xenstore-schema/xsc_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define BE "/local/domain/0/backend/vif/1/0"
#define FE "/local/domain/1/device/vif/0"
#define KV_MAX 96
#define SEEN_MAX 64

static struct xsc_schema *schema;

struct kv {
	char path[160];
	char value[160];
};

struct layout {
	struct kv kv[KV_MAX];
	int n;
};

static void put(struct layout *l, const char *path, const char *value)
{
	for (int i = 0; i < l->n; i++) {
		if (strcmp(l->kv[i].path, path) == 0) {
			snprintf(l->kv[i].value, sizeof(l->kv[i].value), "%s", value);
			return;
		}
	}
	CU_ASSERT_FATAL(l->n < KV_MAX);
	snprintf(l->kv[l->n].path, sizeof(l->kv[0].path), "%s", path);
	snprintf(l->kv[l->n].value, sizeof(l->kv[0].value), "%s", value);
	l->n++;
}

/* Remove PATH and everything below it. */
static void del(struct layout *l, const char *path)
{
	size_t n = strlen(path);

	for (int i = 0; i < l->n;) {
		if (strncmp(l->kv[i].path, path, n) == 0 &&
		    (l->kv[i].path[n] == '\0' || l->kv[i].path[n] == '/'))
			l->kv[i] = l->kv[--l->n];
		else
			i++;
	}
}

#define L_MQ 0x1	/* two queues */
#define L_SPLIT 0x2	/* split event channels */
#define L_CTRL 0x4	/* control ring */

/* A correct layout, as the toolstack, backend, hotplug script and frontend
 * write it, for backend state BS and frontend state FS. */
static void base(struct layout *l, int bs, int fs, unsigned flags)
{
	char v[16];

	l->n = 0;
	put(l, BE "/frontend", FE);
	put(l, BE "/frontend-id", "1");
	put(l, BE "/online", "1");
	snprintf(v, sizeof(v), "%d", bs);
	put(l, BE "/state", v);
	put(l, BE "/handle", "0");
	put(l, BE "/mac", "00:16:3e:01:02:03");
	put(l, BE "/bridge", "xenbr0");
	put(l, BE "/script", "vif-bridge");
	put(l, BE "/type", "vif");
	put(l, BE "/hotplug-status", "");
	put(l, FE "/backend", BE);
	put(l, FE "/backend-id", "0");
	snprintf(v, sizeof(v), "%d", fs);
	put(l, FE "/state", v);
	put(l, FE "/handle", "0");
	put(l, FE "/mac", "00:16:3e:01:02:03");
	put(l, FE "/trusted", "1");
	if (bs >= XenbusStateInitWait && bs != XenbusStateClosed) {
		put(l, BE "/feature-sg", "1");
		put(l, BE "/feature-gso-tcpv4", "1");
		put(l, BE "/feature-rx-copy", "1");
		put(l, BE "/feature-rx-flip", "0");
		put(l, BE "/feature-split-event-channels", "1");
		put(l, BE "/multi-queue-max-queues", "4");
		put(l, BE "/feature-ctrl-ring", "1");
		put(l, BE "/feature-multicast-control", "1");
		put(l, BE "/bridge-linkid", "7");
		put(l, BE "/hotplug-status", "connected");
	}
	if (fs < XenbusStateInitialised || fs == XenbusStateClosed)
		return;
	put(l, FE "/request-rx-copy", "1");
	put(l, FE "/feature-rx-notify", "1");
	put(l, FE "/feature-sg", "1");
	if (flags & L_CTRL) {
		put(l, FE "/ctrl-ring-ref", "20");
		put(l, FE "/event-channel-ctrl", "9");
	}
	const char *dirs[2] = { FE, FE };
	char q[2][64];
	int nq = 1;
	if (flags & L_MQ) {
		put(l, FE "/multi-queue-num-queues", "2");
		snprintf(q[0], sizeof(q[0]), "%s/queue-0", FE);
		snprintf(q[1], sizeof(q[1]), "%s/queue-1", FE);
		dirs[0] = q[0];
		dirs[1] = q[1];
		nq = 2;
	}
	for (int i = 0; i < nq; i++) {
		char p[160], r[16];
		if (flags & L_MQ)
			put(l, dirs[i], "");
		snprintf(p, sizeof(p), "%s/tx-ring-ref", dirs[i]);
		snprintf(r, sizeof(r), "%d", 10 + 2 * i);
		put(l, p, r);
		snprintf(p, sizeof(p), "%s/rx-ring-ref", dirs[i]);
		snprintf(r, sizeof(r), "%d", 11 + 2 * i);
		put(l, p, r);
		if (flags & L_SPLIT) {
			snprintf(p, sizeof(p), "%s/event-channel-tx", dirs[i]);
			put(l, p, i ? "5" : "3");
			snprintf(p, sizeof(p), "%s/event-channel-rx", dirs[i]);
			put(l, p, i ? "6" : "4");
		} else {
			snprintf(p, sizeof(p), "%s/event-channel", dirs[i]);
			put(l, p, i ? "5" : "3");
		}
	}
}

static struct xsc_tree *build(const struct layout *l)
{
	struct xsc_tree *t = xsc_tree_new();

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* Things that are not vif keys, which the checker must leave alone. */
	CU_ASSERT_EQUAL(xsc_tree_set(t, "/local/domain/0/name", "Domain-0"), 0);
	CU_ASSERT_EQUAL(xsc_tree_set(t, "/local/domain/1/name", "guest1"), 0);
	CU_ASSERT_EQUAL(xsc_tree_set(t, "/local/domain/1/device/vbd/51712/state", "4"), 0);
	CU_ASSERT_EQUAL(xsc_tree_set(t, "/local/domain/0/backend/vbd/1/51712/state", "4"), 0);
	for (int i = 0; i < l->n; i++)
		CU_ASSERT_EQUAL_FATAL(xsc_tree_set(t, l->kv[i].path, l->kv[i].value), 0);
	return t;
}

struct seen {
	int n;
	struct { enum xsc_kind kind; char path[200]; char reason[512]; } v[SEEN_MAX];
};

static void record(const struct xsc_violation *v, void *arg)
{
	struct seen *s = arg;

	if (s->n < SEEN_MAX) {
		s->v[s->n].kind = v->kind;
		snprintf(s->v[s->n].path, sizeof(s->v[0].path), "%s", v->path);
		snprintf(s->v[s->n].reason, sizeof(s->v[0].reason), "%s", v->reason);
	}
	s->n++;
}

static void dump(const struct seen *s)
{
	for (int i = 0; i < s->n && i < SEEN_MAX; i++)
		fprintf(stderr, "    %s: %s: %s\n", s->v[i].path, xsc_kind_name(s->v[i].kind),
			s->v[i].reason);
}

static int check(const struct layout *l, int domid, struct seen *s)
{
	struct xsc_tree *t = build(l);
	int n;

	memset(s, 0, sizeof(*s));
	n = xsc_check_tree(t, schema, domid, record, s);
	xsc_tree_free(t);
	CU_ASSERT_EQUAL(n, s->n);
	return n;
}

/* ---- valid layouts -------------------------------------------------------- */

static void check_valid_every_state(void)
{
	static const struct { int bs, fs; unsigned flags; } cases[] = {
		{ XenbusStateInitialising, XenbusStateInitialising, 0 },
		{ XenbusStateInitWait, XenbusStateInitialising, 0 },
		{ XenbusStateInitWait, XenbusStateInitialised, 0 },
		{ XenbusStateConnected, XenbusStateInitialised, 0 },
		{ XenbusStateConnected, XenbusStateConnected, 0 },
		{ XenbusStateConnected, XenbusStateConnected, L_SPLIT },
		{ XenbusStateConnected, XenbusStateConnected, L_MQ },
		{ XenbusStateConnected, XenbusStateConnected, L_MQ | L_SPLIT },
		{ XenbusStateConnected, XenbusStateConnected, L_MQ | L_SPLIT | L_CTRL },
		{ XenbusStateConnected, XenbusStateConnected, L_CTRL },
		{ XenbusStateClosing, XenbusStateConnected, 0 },
		{ XenbusStateClosing, XenbusStateClosing, 0 },
		{ XenbusStateClosed, XenbusStateClosed, 0 },
		{ XenbusStateInitWait, XenbusStateClosed, 0 },
	};
	struct layout l;
	struct seen s;

	for (size_t i = 0; i < N(cases); i++) {
		base(&l, cases[i].bs, cases[i].fs, cases[i].flags);
		int n = check(&l, -1, &s);
		if (n != 0) {
			fprintf(stderr, "\n  valid case %zu (back %d, front %d, flags %u):\n", i,
				cases[i].bs, cases[i].fs, cases[i].flags);
			dump(&s);
		}
		CU_ASSERT_EQUAL(n, 0);
	}
}

/* A single-queue frontend that still writes multi-queue-num-queues=1 (Linux
 * does) and a closing frontend whose keys are partly gone are fine too. */
static void check_valid_variants(void)
{
	struct layout l;
	struct seen s;

	base(&l, XenbusStateConnected, XenbusStateConnected, 0);
	put(&l, FE "/multi-queue-num-queues", "1");
	put(&l, BE "/ip", "10.0.0.2 10.0.0.3");
	put(&l, BE "/rate", "1250000,50000");
	put(&l, BE "/colo_sock_mirror_id", "x");
	put(&l, FE "/xdp-headroom", "0");
	CU_ASSERT_EQUAL(check(&l, -1, &s), 0);
	dump(&s);

	base(&l, XenbusStateClosing, XenbusStateClosed, 0);
	del(&l, BE "/feature-rx-copy");
	del(&l, BE "/hotplug-status");
	CU_ASSERT_EQUAL(check(&l, -1, &s), 0);
	dump(&s);
}

/* ---- violations ------------------------------------------------------------ */

enum op { SET, DEL };

static const struct vcase {
	const char *name;
	int bs, fs;
	unsigned flags;
	struct { enum op op; const char *path, *value; } edit[3];
	int count;			/* violations expected in all */
	enum xsc_kind kind;		/* one of them is this */
	const char *path;		/* at this path */
	const char *reason;		/* with this in the reason */
} vcases[] = {
	{ "unknown back key", 4, 4, 0, { { SET, BE "/colour", "red" } }, 1,
	  XSC_V_UNKNOWN, BE "/colour", "not a backend vif key" },
	{ "unknown front key", 4, 4, 0, { { SET, FE "/queue-0x/tx-ring-ref", "8" } }, 1,
	  XSC_V_UNKNOWN, FE "/queue-0x", "not a frontend vif key" },
	{ "key below a leaf", 4, 4, 0, { { SET, BE "/mac/extra", "1" } }, 1,
	  XSC_V_UNKNOWN, BE "/mac/extra", "not a backend vif key" },
	{ "bad mac", 4, 4, 0, { { SET, BE "/mac", "00:16:3e:zz:02:03" } }, 1,
	  XSC_V_VALUE, BE "/mac", "not a MAC address" },
	{ "multicast mac", 4, 4, 0, { { SET, FE "/mac", "01:16:3e:01:02:03" } }, 1,
	  XSC_V_VALUE, FE "/mac", "multicast" },
	{ "bad state", 4, 4, 0, { { SET, FE "/state", "9" } }, 1,
	  XSC_V_VALUE, FE "/state", "XenbusState out of range 0..8" },
	{ "reserved grant ref", 4, 4, 0, { { SET, FE "/tx-ring-ref", "3" } }, 1,
	  XSC_V_VALUE, FE "/tx-ring-ref", "grant ref out of range 8..4294967295" },
	{ "port zero", 4, 4, 0, { { SET, FE "/event-channel", "0" } }, 1,
	  XSC_V_VALUE, FE "/event-channel", "event-channel port out of range" },
	{ "bad rate", 4, 4, 0, { { SET, BE "/rate", "10Mb/s" } }, 1,
	  XSC_V_VALUE, BE "/rate", "not a rate (BYTES,USEC)" },
	{ "bad ip", 4, 4, 0, { { SET, BE "/ip", "10.0.0.300" } }, 1,
	  XSC_V_VALUE, BE "/ip", "'10.0.0.300' is not an IPv4 or IPv6 address" },
	{ "long vifname", 4, 4, 0, { { SET, BE "/vifname", "a-very-long-vifname" } }, 1,
	  XSC_V_VALUE, BE "/vifname", "not an interface name" },
	{ "nic by name", 4, 4, 0, { { SET, BE "/nic", "eth0" } }, 1,
	  XSC_V_VALUE, BE "/nic", "not a decimal number (link id)" },
	{ "unknown mode", 4, 4, 0, { { SET, BE "/mode", "nat" } }, 1,
	  XSC_V_VALUE, BE "/mode", "not one of bridge,vepa,private,passthru" },
	{ "vlan out of range", 4, 4, 0, { { SET, BE "/vlan", "4095" } }, 1,
	  XSC_V_VALUE, BE "/vlan", "out of range 1..4094" },
	{ "queue dir with a value", 4, 4, L_MQ, { { SET, FE "/queue-1", "x" } }, 1,
	  XSC_V_VALUE, FE "/queue-1", "directory node must have an empty value" },
	{ "missing mac", 4, 4, 0, { { DEL, BE "/mac", NULL } }, 1,
	  XSC_V_MISSING, BE "/mac", "required" },
	{ "missing online", 1, 1, 0, { { DEL, BE "/online", NULL } }, 1,
	  XSC_V_MISSING, BE "/online", "required" },
	{ "missing tx ring", 4, 4, 0, { { DEL, FE "/tx-ring-ref", NULL } }, 1,
	  XSC_V_MISSING, FE "/tx-ring-ref", "required from Initialised on, and state is Connected" },
	{ "missing channel", 2, 3, 0, { { DEL, FE "/event-channel", NULL } }, 1,
	  XSC_V_MISSING, FE "/event-channel", "required from Initialised on, and state is Initialised" },
	{ "split half missing", 4, 4, L_SPLIT, { { DEL, FE "/event-channel-rx", NULL } }, 1,
	  XSC_V_MISSING, FE "/event-channel-rx", "with event-channel-tx present" },
	{ "ctrl ring without channel", 4, 4, L_CTRL, { { DEL, FE "/event-channel-ctrl", NULL } }, 1,
	  XSC_V_MISSING, FE "/event-channel-ctrl", "with ctrl-ring-ref present" },
	{ "missing rx-copy in InitWait", 2, 1, 0, { { DEL, BE "/feature-rx-copy", NULL } }, 1,
	  XSC_V_MISSING, BE "/feature-rx-copy", "required from InitWait on, and state is InitWait" },
	{ "missing hotplug-status when Connected", 4, 4, 0, { { DEL, BE "/hotplug-status", NULL } }, 1,
	  XSC_V_MISSING, BE "/hotplug-status", "required from Connected on" },
	{ "Connected with hotplug error", 4, 4, 0,
	  { { SET, BE "/hotplug-status", "error" }, { SET, BE "/hotplug-error", "no bridge xenbr0" } }, 1,
	  XSC_V_VALUE, BE "/hotplug-status", "is \"error\", but must be \"connected\" from Connected on" },
	{ "rx-copy 0", 4, 4, 0, { { SET, FE "/request-rx-copy", "0" } }, 1,
	  XSC_V_VALUE, FE "/request-rx-copy", "must be \"1\" from Initialised on" },
	{ "missing queue key", 4, 4, L_MQ, { { DEL, FE "/queue-1/rx-ring-ref", NULL } }, 1,
	  XSC_V_MISSING, FE "/queue-1/rx-ring-ref", "required from Initialised on" },
	{ "missing queue dir", 4, 4, L_MQ, { { DEL, FE "/queue-1", NULL } }, 4,
	  XSC_V_MISSING, FE "/queue-1", "required" },
	{ "top-level ring in multi-queue", 4, 4, L_MQ, { { SET, FE "/tx-ring-ref", "30" } }, 1,
	  XSC_V_FORBIDDEN, FE "/tx-ring-ref", "multi-queue frontend (multi-queue-num-queues=2) must not write it" },
	{ "queue dir in single-queue", 4, 4, 0, { { SET, FE "/queue-0/tx-ring-ref", "30" } }, 1,
	  XSC_V_FORBIDDEN, FE "/queue-0", "only in a multi-queue frontend" },
	{ "queue beyond the count", 4, 4, L_MQ, { { SET, FE "/queue-2/tx-ring-ref", "30" } }, 1,
	  XSC_V_FORBIDDEN, FE "/queue-2", "queue 2, but multi-queue-num-queues is 2" },
	{ "frontend-id mismatch", 4, 4, 0, { { SET, BE "/frontend-id", "2" } }, 1,
	  XSC_V_MISMATCH, BE "/frontend-id", "is 2, but <domid> of this path is 1" },
	{ "handle mismatch", 4, 4, 0, { { SET, FE "/handle", "3" } }, 1,
	  XSC_V_MISMATCH, FE "/handle", "is 3, but <devid> of this path is 0" },
	{ "backend-id mismatch", 4, 4, 0, { { SET, FE "/backend-id", "3" } }, 1,
	  XSC_V_MISMATCH, FE "/backend-id", "is 3, but <bdom> of the backend path is 0" },
	{ "backend points at another frontend", 4, 4, 0,
	  { { SET, BE "/frontend", "/local/domain/2/device/vif/0" } }, 2,
	  XSC_V_MISMATCH, BE "/frontend", "is not this device's frontend directory (" FE ")" },
	{ "frontend does not get pointed back at", 4, 4, 0,
	  { { SET, BE "/frontend", "/local/domain/2/device/vif/0" } }, 2,
	  XSC_V_MISMATCH, FE "/backend", "whose frontend is \"/local/domain/2/device/vif/0\", not this directory" },
	{ "frontend points at a missing backend", 4, 4, 0,
	  { { SET, FE "/backend", "/local/domain/5/backend/vif/1/0" }, { SET, FE "/backend-id", "5" } }, 2,
	  XSC_V_MISMATCH, FE "/backend", "points at /local/domain/5/backend/vif/1/0, which does not exist" },
	{ "frontend backend path of another device", 4, 4, 0,
	  { { SET, FE "/backend", "/local/domain/0/backend/vif/1/7" } }, 2,
	  XSC_V_MISMATCH, FE "/backend", "is not this device's backend directory" },
	{ "backend without frontend", 2, 1, 0, { { DEL, FE, NULL } }, 1,
	  XSC_V_MISMATCH, BE "/frontend", "points at " FE ", which does not exist" },
	{ "split channels the backend lacks", 4, 4, L_SPLIT,
	  { { DEL, BE "/feature-split-event-channels", NULL } }, 2,
	  XSC_V_PEER, FE "/event-channel-tx", "needs " BE "/feature-split-event-channels, which is absent" },
	{ "ctrl ring the backend disabled", 4, 4, L_CTRL,
	  { { SET, BE "/feature-ctrl-ring", "0" } }, 2,
	  XSC_V_PEER, FE "/ctrl-ring-ref", "feature-ctrl-ring, which is \"0\"" },
	{ "more queues than allowed", 4, 4, L_MQ,
	  { { SET, BE "/multi-queue-max-queues", "1" } }, 1,
	  XSC_V_PEER, FE "/multi-queue-num-queues", "2 exceeds " BE "/multi-queue-max-queues = 1" },
	{ "queues without backend support", 4, 4, L_MQ,
	  { { DEL, BE "/multi-queue-max-queues", NULL } }, 1,
	  XSC_V_PEER, FE "/multi-queue-num-queues", "= 1 (absent)" },
	{ "device dir not a number", 4, 4, 0,
	  { { SET, "/local/domain/0/backend/vif/1/eth0/state", "1" } }, 1,
	  XSC_V_UNKNOWN, "/local/domain/0/backend/vif/1/eth0", "not a valid <devid>" },
	{ "device dir with a leading zero", 4, 4, 0,
	  { { SET, "/local/domain/1/device/vif/00/state", "1" } }, 1,
	  XSC_V_UNKNOWN, "/local/domain/1/device/vif/00", "not a valid <devid>" },
};

static bool has(const struct seen *s, enum xsc_kind kind, const char *path, const char *reason)
{
	for (int i = 0; i < s->n && i < SEEN_MAX; i++)
		if (s->v[i].kind == kind && strcmp(s->v[i].path, path) == 0 &&
		    strstr(s->v[i].reason, reason))
			return true;
	return false;
}

static void check_each_violation(void)
{
	struct layout l;
	struct seen s;

	for (size_t i = 0; i < N(vcases); i++) {
		const struct vcase *c = &vcases[i];
		base(&l, c->bs, c->fs, c->flags);
		for (size_t j = 0; j < N(c->edit) && c->edit[j].path; j++) {
			if (c->edit[j].op == SET)
				put(&l, c->edit[j].path, c->edit[j].value);
			else
				del(&l, c->edit[j].path);
		}
		int n = check(&l, -1, &s);
		bool ok = n == c->count && has(&s, c->kind, c->path, c->reason);
		if (!ok) {
			fprintf(stderr, "\n  case '%s': want %d, %s at %s with '%s'; got %d:\n", c->name,
				c->count, xsc_kind_name(c->kind), c->path, c->reason, n);
			dump(&s);
		}
		CU_ASSERT_TRUE(ok);
	}
}

/* A value with a NUL byte (the tree keeps the length) is reported, and the
 * printed value never carries control characters. */
static void check_nul_and_control_characters(void)
{
	struct layout l;
	struct seen s;
	struct xsc_tree *t;

	base(&l, 4, 4, 0);
	t = build(&l);
	CU_ASSERT_EQUAL(xsc_tree_setn(t, BE "/bridge", "xen\0br0", 7), 0);
	CU_ASSERT_EQUAL(xsc_tree_set(t, BE "/script", "vif\nbridge"), 0);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(xsc_check_tree(t, schema, -1, record, &s), 2);
	CU_ASSERT_TRUE(has(&s, XSC_V_VALUE, BE "/bridge", "NUL byte"));
	CU_ASSERT_TRUE(has(&s, XSC_V_VALUE, BE "/script", "\"vif?bridge\": non-printable"));
	xsc_tree_free(t);
}


/* Hostile values in every key of a connected layout: each is either
 * accepted by its type or reported once, at its path, as a bad value (never
 * a crash, never a report elsewhere). */
static void check_hostile_values(void)
{
	static char huge[5000];
	const char *hostile[] = {
		"", "-1", "99999999999999999999999", "0x10", " 1", "1 ", "\x01\x7f",
		"/local/domain/../../etc", "%s%n", huge,
	};
	struct layout l;
	struct seen s;

	memset(huge, 'a', sizeof(huge) - 1);
	base(&l, XenbusStateConnected, XenbusStateConnected, L_SPLIT | L_CTRL);
	for (int k = 0; k < l.n; k++) {
		for (size_t h = 0; h < N(hostile); h++) {
			struct layout m = l;
			struct xsc_tree *t;
			int n;
			/* Link keys and counts have cross-checks of their own. */
			if (strstr(m.kv[k].path, "/backend") || strstr(m.kv[k].path, "/frontend") ||
			    strstr(m.kv[k].path, "feature-"))
				continue;
			t = build(&m);
			CU_ASSERT_EQUAL_FATAL(xsc_tree_set(t, m.kv[k].path, hostile[h]), 0);
			memset(&s, 0, sizeof(s));
			n = xsc_check_tree(t, schema, -1, record, &s);
			xsc_tree_free(t);
			CU_ASSERT_TRUE(n <= 1);
			if (n == 1 && !(s.v[0].kind == XSC_V_VALUE &&
					strcmp(s.v[0].path, m.kv[k].path) == 0)) {
				fprintf(stderr, "\n  %s = hostile[%zu]:\n", m.kv[k].path, h);
				dump(&s);
				CU_FAIL("report not at the key");
			}
			for (int i = 0; i < s.n && i < SEEN_MAX; i++)
				for (const char *c = s.v[i].reason; *c; c++)
					CU_ASSERT_TRUE(*c >= 0x20 && *c < 0x7f);
		}
	}
}

/* Only the asked-for domain's devices are checked. */
static void check_domain_filter(void)
{
	struct layout l;
	struct seen s;

	base(&l, 4, 4, 0);
	put(&l, "/local/domain/0/backend/vif/2/0/colour", "red");
	put(&l, BE "/colour", "blue");
	/* Domain 2's backend has only the unknown key: six required ones are
	 * missing too. */
	CU_ASSERT_EQUAL(check(&l, -1, &s), 2 + 6);
	CU_ASSERT_EQUAL(check(&l, 1, &s), 1);
	CU_ASSERT_TRUE(has(&s, XSC_V_UNKNOWN, BE "/colour", "not a backend vif key"));
	CU_ASSERT_EQUAL(check(&l, 2, &s), 1 + 6);
	CU_ASSERT_TRUE(has(&s, XSC_V_MISSING, "/local/domain/0/backend/vif/2/0/frontend", "required"));
	CU_ASSERT_TRUE(has(&s, XSC_V_UNKNOWN, "/local/domain/0/backend/vif/2/0/colour", ""));
	CU_ASSERT_EQUAL(check(&l, 3, &s), 0);
}

/* An empty store, and a store with no vifs, have nothing to report. */
static void check_empty_store(void)
{
	struct xsc_tree *t = xsc_tree_new();
	struct seen s = { 0 };

	CU_ASSERT_EQUAL(xsc_check_tree(t, schema, -1, record, &s), 0);
	CU_ASSERT_EQUAL(xsc_tree_set(t, "/local/domain/0/name", "Domain-0"), 0);
	CU_ASSERT_EQUAL(xsc_check_tree(t, schema, -1, record, &s), 0);
	CU_ASSERT_EQUAL(xsc_check_tree(NULL, schema, -1, record, &s), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	xsc_tree_free(t);
}

static void tree_set_and_get(void)
{
	struct xsc_tree *t = xsc_tree_new();

	CU_ASSERT_EQUAL(xsc_tree_set(t, "/a/b/c", "1"), 0);
	CU_ASSERT_STRING_EQUAL(xsc_tree_get(t, "/a/b/c"), "1");
	CU_ASSERT_STRING_EQUAL(xsc_tree_get(t, "/a/b"), "");
	CU_ASSERT_EQUAL(xsc_tree_set(t, "/a/b", "2"), 0);
	CU_ASSERT_STRING_EQUAL(xsc_tree_get(t, "/a/b"), "2");
	CU_ASSERT_PTR_NULL(xsc_tree_get(t, "/a/x"));
	CU_ASSERT_EQUAL(xsc_tree_set(t, "a/b", "1"), -1);
	CU_ASSERT_EQUAL(xsc_tree_set(t, "/a//b", "1"), -1);
	CU_ASSERT_EQUAL(xsc_tree_set(t, "/a/b/", "1"), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	xsc_tree_free(t);
}

static int setup(void)
{
	char err[256];

	schema = xsc_schema_parse(xsc_builtin_schema, "vif.schema", err, sizeof(err));
	if (!schema)
		fprintf(stderr, "%s\n", err);
	return schema ? 0 : 1;
}

static int teardown(void)
{
	xsc_schema_free(schema);
	return 0;
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "tree_set_and_get", tree_set_and_get },
		{ "check_valid_every_state", check_valid_every_state },
		{ "check_valid_variants", check_valid_variants },
		{ "check_each_violation", check_each_violation },
		{ "check_nul_and_control_characters", check_nul_and_control_characters },
		{ "check_hostile_values", check_hostile_values },
		{ "check_domain_filter", check_domain_filter },
		{ "check_empty_store", check_empty_store },
	};

	return CUNIT_RUN("schema_check", setup, teardown, tests);
}
