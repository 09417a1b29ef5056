/*
 * test_link.c — link ids over rtnetlink (common/link.c, link_watch.c):
 * name ↔ id of veth and bridge links, renames, masters, named namespaces,
 * errors for missing links, and the watcher's reports of new, renamed and
 * deleted links, also after its socket overflowed.
 *
 * The suite runs in a forked child in a private network namespace
 * (unshare), so its links vanish with it; the parent makes one named
 * namespace for the NETNS tests and removes it whatever the child did.
 * Links are made and renamed with `ip`, a tool independent of the code under
 * test; if_nametoindex is the second opinion on ids.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "xnx_link.h"

#define WAIT_MS 3000	/* bound on waiting for a kernel event */

static char ns[32];	/* the named namespace made by the parent */

/* Run a shell command made from FMT; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line a command prints, as an unsigned; 0 if none. */
static unsigned sh_uint(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	unsigned v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%u", &v) != 1)
		v = 0;
	pclose(f);
	return v;
}

static unsigned id_of(const char *name)
{
	unsigned id = 0;

	CU_ASSERT_EQUAL(xnx_link_id(NULL, name, &id), 0);
	return id;
}

/* ---- plain functions ---- */

static void parse_id_table(void)
{
	static const struct { const char *s; int err; unsigned id; } cases[] = {
		{ "1", 0, 1 }, { "42", 0, 42 }, { "2147483647", 0, XNX_LINK_ID_MAX },
		{ "0", -ERANGE, 0 }, { "2147483648", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 }, { "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 }, { "0x10", -EINVAL, 0 }, { "eth0", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned id = 7;
		int err = xnx_link_parse_id(cases[i].s, &id);

		CU_ASSERT_EQUAL(err, cases[i].err);
		CU_ASSERT_EQUAL(id, err ? 7 : cases[i].id);
	}
}

static void name_ok_table(void)
{
	static const struct { const char *s; int ok; } cases[] = {
		{ "eth0", 1 }, { "vif1.0", 1 }, { "a", 1 }, { "123456789012345", 1 },
		{ "1234567890123456", 0 }, { "", 0 }, { ".", 0 }, { "..", 0 },
		{ "a/b", 0 }, { "a:b", 0 }, { "a b", 0 }, { "a\tb", 0 }, { "...", 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(xnx_link_name_ok(cases[i].s), cases[i].ok);
	CU_ASSERT_EQUAL(xnx_link_name_ok(NULL), 0);
}

static void addr_str_and_operstate(void)
{
	const uint8_t mac[6] = { 0x00, 0x16, 0x3e, 0x0a, 0xbc, 0xff };
	char buf[3 * XNX_LINK_ADDR_MAX];

	CU_ASSERT_EQUAL(xnx_link_addr_str(mac, 6, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "00:16:3e:0a:bc:ff");
	CU_ASSERT_EQUAL(xnx_link_addr_str(mac, 6, buf, 18), 0);
	CU_ASSERT_EQUAL(xnx_link_addr_str(mac, 6, buf, 17), -ENOSPC);
	CU_ASSERT_EQUAL(xnx_link_addr_str(mac, 0, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_STRING_EQUAL(xnx_link_operstate_name(6), "up");
	CU_ASSERT_STRING_EQUAL(xnx_link_operstate_name(2), "down");
	CU_ASSERT_STRING_EQUAL(xnx_link_operstate_name(200), "unknown");
}

/* ---- queries in the private namespace ---- */

static void link_resolve_veth(void)
{
	struct xnx_link_info info;
	char name[XNX_LINK_NAME_MAX];
	char num[16];
	unsigned id, peer, got = 0;

	CU_ASSERT_FATAL(sh("ip link add rva type veth peer name rvb") == 0);
	id = id_of("rva");
	peer = id_of("rvb");
	CU_ASSERT_EQUAL(id, if_nametoindex("rva"));
	CU_ASSERT_EQUAL(peer, if_nametoindex("rvb"));
	CU_ASSERT(id != peer && id > 0);

	CU_ASSERT_EQUAL(xnx_link_name(NULL, id, name), 0);
	CU_ASSERT_STRING_EQUAL(name, "rva");

	CU_ASSERT_EQUAL(xnx_link_get(NULL, id, &info), 0);
	CU_ASSERT_EQUAL(info.id, id);
	CU_ASSERT_STRING_EQUAL(info.name, "rva");
	CU_ASSERT_STRING_EQUAL(info.kind, "veth");
	CU_ASSERT_EQUAL(info.addr_len, 6);
	CU_ASSERT_EQUAL(info.master, 0);
	CU_ASSERT_EQUAL(info.mtu, 1500);
	CU_ASSERT_STRING_EQUAL(xnx_link_operstate_name(info.operstate), "down");

	/* The MAC is the one ip set. */
	CU_ASSERT_FATAL(sh("ip link set rva address 00:16:3e:01:02:03") == 0);
	CU_ASSERT_EQUAL(xnx_link_get(NULL, id, &info), 0);
	CU_ASSERT_EQUAL(memcmp(info.addr, "\x00\x16\x3e\x01\x02\x03", 6), 0);

	CU_ASSERT_EQUAL(xnx_link_resolve(NULL, "rva", &got), 0);
	CU_ASSERT_EQUAL(got, id);
	snprintf(num, sizeof(num), "%u", peer);
	CU_ASSERT_EQUAL(xnx_link_resolve(NULL, num, &got), 0);
	CU_ASSERT_EQUAL(got, peer);

	/* lo is link 1 in every namespace. */
	CU_ASSERT_EQUAL(xnx_link_name(NULL, 1, name), 0);
	CU_ASSERT_STRING_EQUAL(name, "lo");
	CU_ASSERT_EQUAL(sh("ip link del rva"), 0);
}

static void link_name_follows_rename(void)
{
	char name[XNX_LINK_NAME_MAX];
	unsigned id, got = 0;

	CU_ASSERT_FATAL(sh("ip link add rra type veth peer name rrb") == 0);
	id = id_of("rra");	/* what a toolstack would record */
	CU_ASSERT_FATAL(sh("ip link set rra name rrc") == 0);

	CU_ASSERT_EQUAL(xnx_link_name(NULL, id, name), 0);
	CU_ASSERT_STRING_EQUAL(name, "rrc");
	CU_ASSERT_EQUAL(xnx_link_id(NULL, "rra", &got), -ENODEV);
	CU_ASSERT_EQUAL(xnx_link_id(NULL, "rrc", &got), 0);
	CU_ASSERT_EQUAL(got, id);
	/* The old name, now free, may go to another link: the id is not fooled. */
	CU_ASSERT_FATAL(sh("ip link set rrb name rra") == 0);
	CU_ASSERT_EQUAL(xnx_link_name(NULL, id, name), 0);
	CU_ASSERT_STRING_EQUAL(name, "rrc");
	CU_ASSERT_NOT_EQUAL(id_of("rra"), id);
	CU_ASSERT_EQUAL(sh("ip link del rrc"), 0);
}

static void link_master_of_bridge_port(void)
{
	char name[XNX_LINK_NAME_MAX];
	struct xnx_link_info info;
	unsigned br, port, master = 99;

	CU_ASSERT_FATAL(sh("ip link add rmbr type bridge") == 0);
	CU_ASSERT_FATAL(sh("ip link add rma type veth peer name rmb") == 0);
	br = id_of("rmbr");
	port = id_of("rma");
	CU_ASSERT_EQUAL(xnx_link_master(NULL, port, &master), 0);
	CU_ASSERT_EQUAL(master, 0);

	CU_ASSERT_FATAL(sh("ip link set rma master rmbr") == 0);
	CU_ASSERT_EQUAL(xnx_link_master(NULL, port, &master), 0);
	CU_ASSERT_EQUAL(master, br);
	CU_ASSERT_EQUAL(xnx_link_get(NULL, br, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.kind, "bridge");

	/* The bridge renamed: same master id, and it names the new bridge name. */
	CU_ASSERT_FATAL(sh("ip link set rmbr name rmbr2") == 0);
	CU_ASSERT_EQUAL(xnx_link_master(NULL, port, &master), 0);
	CU_ASSERT_EQUAL(master, br);
	CU_ASSERT_EQUAL(xnx_link_name(NULL, master, name), 0);
	CU_ASSERT_STRING_EQUAL(name, "rmbr2");
	CU_ASSERT_EQUAL(sh("ip link del rma && ip link del rmbr2"), 0);
}

/* Making a bridge and changing a link as `ip link set` does; `ip` and
 * sysfs say what the kernel did. */
static void link_set_and_add_bridge(void)
{
	struct xnx_link_set port = { .mtu = 1400, .up = 1 };
	struct xnx_link_set off = { .master = 0, .up = 0 };
	struct xnx_link_set mtu0 = { .mtu = 1, .master = -1, .up = -1 };
	struct xnx_link_nl *nl = NULL;
	struct xnx_link_info info;
	unsigned br, a;

	CU_ASSERT_FATAL(xnx_link_nl_open(NULL, &nl) == 0);
	CU_ASSERT_EQUAL(xnx_link_nl_add_bridge(nl, "snbr"), 0);
	CU_ASSERT_EQUAL(xnx_link_nl_add_bridge(nl, "snbr"), -EEXIST);
	CU_ASSERT_EQUAL(xnx_link_nl_add_bridge(nl, "no/such"), -EINVAL);
	CU_ASSERT_FATAL((br = id_of("snbr")) != 0);
	CU_ASSERT_EQUAL(xnx_link_get(NULL, br, &info), 0);
	CU_ASSERT_STRING_EQUAL(info.kind, "bridge");
	CU_ASSERT_FATAL(sh("ip link add sna type veth peer name snb") == 0);
	a = id_of("sna");

	/* mtu, master and up in one request. */
	port.master = (int)br;
	CU_ASSERT_EQUAL(xnx_link_nl_set(nl, a, &port), 0);
	CU_ASSERT_EQUAL(sh("ip -o link show sna | grep -q 'mtu 1400 .*master snbr'"), 0);
	CU_ASSERT_EQUAL(sh("ip -o link show sna | grep -q '<[^>]*UP'"), 0);
	/* A refused change applies nothing and says why. */
	CU_ASSERT_EQUAL(xnx_link_nl_set(nl, a, &mtu0), -EINVAL);
	CU_ASSERT_EQUAL(sh("ip -o link show sna | grep -q 'mtu 1400 '"), 0);
	/* nomaster and down. */
	CU_ASSERT_EQUAL(xnx_link_nl_set(nl, a, &off), 0);
	CU_ASSERT_EQUAL(sh("test ! -e /sys/class/net/sna/master"), 0);
	CU_ASSERT_EQUAL(sh("ip -o link show sna | grep -q '<[^>]*UP'"), 1);
	CU_ASSERT_EQUAL(xnx_link_nl_set(nl, 0, &off), -EINVAL);
	CU_ASSERT_EQUAL(xnx_link_nl_set(nl, 2147483000u, &off), -ENODEV);
	xnx_link_nl_close(nl);
	CU_ASSERT_EQUAL(sh("ip link del sna && ip link del snbr"), 0);
}

static void link_errors(void)
{
	char name[XNX_LINK_NAME_MAX] = "unchanged";
	struct xnx_link_info info;
	unsigned id = 5;

	CU_ASSERT_EQUAL(xnx_link_id(NULL, "nosuchlink", &id), -ENODEV);
	CU_ASSERT_EQUAL(xnx_link_name(NULL, XNX_LINK_ID_MAX, name), -ENODEV);
	CU_ASSERT_EQUAL(xnx_link_get(NULL, 123456, &info), -ENODEV);
	CU_ASSERT_EQUAL(xnx_link_master(NULL, 123456, &id), -ENODEV);
	CU_ASSERT_EQUAL(xnx_link_name(NULL, 0, name), -EINVAL);
	CU_ASSERT_EQUAL(xnx_link_name(NULL, XNX_LINK_ID_MAX + 1u, name), -EINVAL);
	CU_ASSERT_EQUAL(xnx_link_id(NULL, "", &id), -EINVAL);
	CU_ASSERT_EQUAL(xnx_link_id(NULL, "a/b", &id), -EINVAL);
	CU_ASSERT_EQUAL(xnx_link_id(NULL, "waytoolongforalink", &id), -EINVAL);
	CU_ASSERT_EQUAL(xnx_link_id(NULL, NULL, &id), -EINVAL);
	CU_ASSERT_EQUAL(xnx_link_resolve(NULL, "0", &id), -ERANGE);
	CU_ASSERT_EQUAL(xnx_link_resolve(NULL, "4294967297", &id), -ERANGE);
	CU_ASSERT_EQUAL(xnx_link_resolve(NULL, "123456", &id), -ENODEV);
	/* Not all digits: a name. */
	CU_ASSERT_EQUAL(xnx_link_resolve(NULL, "12x", &id), -ENODEV);
	CU_ASSERT_EQUAL(xnx_link_resolve(NULL, "", &id), -EINVAL);
	CU_ASSERT_EQUAL(id, 5);
	CU_ASSERT_STRING_EQUAL(name, "unchanged");

	CU_ASSERT_EQUAL(xnx_link_id("xnx-no-such-netns", "lo", &id), -ENOENT);
	CU_ASSERT_EQUAL(xnx_link_id("../x", "lo", &id), -EINVAL);
	CU_ASSERT_EQUAL(xnx_link_id("..", "lo", &id), -EINVAL);
}

/* ---- a named namespace ---- */

static int netns_ino(ino_t *ino)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -1;
	*ino = st.st_ino;
	return 0;
}

static void link_in_named_netns(void)
{
	char name[XNX_LINK_NAME_MAX], cmd[128];
	ino_t before = 0, after = 1;
	unsigned id = 0, got = 0, oracle;

	CU_ASSERT_FATAL(sh("ip -n %s link add nna type veth peer name nnb", ns) == 0);
	CU_ASSERT_FATAL(netns_ino(&before) == 0);
	CU_ASSERT_EQUAL(xnx_link_id(ns, "nna", &id), 0);
	CU_ASSERT_FATAL(netns_ino(&after) == 0);
	CU_ASSERT_EQUAL(before, after);	/* back in our own namespace */

	snprintf(cmd, sizeof(cmd), "ip netns exec %s cat /sys/class/net/nna/ifindex", ns);
	oracle = sh_uint(cmd);
	CU_ASSERT(oracle > 0);
	CU_ASSERT_EQUAL(id, oracle);
	CU_ASSERT_EQUAL(if_nametoindex("nna"), 0);	/* not here */
	CU_ASSERT_EQUAL(xnx_link_id(NULL, "nna", &got), -ENODEV);

	CU_ASSERT_FATAL(sh("ip -n %s link set nna name nnc", ns) == 0);
	CU_ASSERT_EQUAL(xnx_link_name(ns, id, name), 0);
	CU_ASSERT_STRING_EQUAL(name, "nnc");
	CU_ASSERT_EQUAL(xnx_link_resolve(ns, "nnc", &got), 0);
	CU_ASSERT_EQUAL(got, id);
	CU_ASSERT_EQUAL(sh("ip -n %s link del nnc", ns), 0);
	CU_ASSERT_EQUAL(xnx_link_name(ns, id, name), -ENODEV);
	CU_ASSERT_FATAL(netns_ino(&after) == 0);
	CU_ASSERT_EQUAL(before, after);
}

static int stop_dump(const struct xnx_link_info *info, void *arg)
{
	int *calls = arg;

	return ++*calls == 2 ? -ECANCELED : 0;
}

/* One socket serves many requests; a dump callback's error stops the dump
 * and is returned; the socket keeps its namespace after the name goes. */
static void link_nl_socket(void)
{
	struct xnx_link_info info;
	struct xnx_link_nl *nl = NULL;
	char ns2[40];
	int calls = 0;

	snprintf(ns2, sizeof(ns2), "%s2", ns);
	CU_ASSERT_FATAL(sh("ip netns add %s", ns2) == 0);
	CU_ASSERT_FATAL(xnx_link_nl_open(NULL, &nl) == 0);
	CU_ASSERT(xnx_link_nl_fd(nl) >= 0);
	for (int i = 0; i < 200; i++) {
		int err = i % 2 ? xnx_link_nl_get(nl, 1, NULL, &info)
				: xnx_link_nl_get(nl, 0, "lo", &info);

		CU_ASSERT(err == 0 && info.id == 1 && !strcmp(info.name, "lo"));
		CU_ASSERT_EQUAL(xnx_link_nl_get(nl, 0, "nosuchlink", &info), -ENODEV);
	}
	CU_ASSERT_EQUAL(xnx_link_nl_get(nl, 0, NULL, &info), -EINVAL);
	CU_ASSERT_FATAL(sh("ip link add nsa type veth peer name nsb") == 0);
	CU_ASSERT_EQUAL(xnx_link_nl_dump(nl, stop_dump, &calls), -ECANCELED);
	CU_ASSERT_EQUAL(calls, 2);
	CU_ASSERT_EQUAL(xnx_link_nl_get(nl, 0, "nsa", &info), 0);
	xnx_link_nl_close(nl);
	CU_ASSERT_EQUAL(sh("ip link del nsa"), 0);

	/* The socket stays in its namespace after the namespace's name goes. */
	CU_ASSERT_FATAL(xnx_link_nl_open(ns2, &nl) == 0);
	CU_ASSERT_FATAL(sh("ip -n %s link add nsc type veth peer name nsd", ns2) == 0);
	CU_ASSERT_FATAL(sh("ip netns del %s", ns2) == 0);
	CU_ASSERT_EQUAL(xnx_link_nl_get(nl, 0, "nsc", &info), 0);
	CU_ASSERT_STRING_EQUAL(info.kind, "veth");
	CU_ASSERT_EQUAL(xnx_link_id(ns2, "nsc", &info.id), -ENOENT);
	xnx_link_nl_close(nl);
}

/* ---- the watcher ---- */

/*
 * A model of the namespace built only from the watcher's reports, starting
 * from a dump: every report must be consistent with the model (no NEW for a
 * known link, RENAMED from the name it had, DELETED of a known link), and at
 * the end the model must equal a fresh dump of the kernel.
 */
#define MODEL_MAX 256
struct model {
	struct { unsigned id; char name[XNX_LINK_NAME_MAX]; } links[MODEL_MAX];
	int n;
	int bad;		/* inconsistent reports */
	struct xnx_link_event last[64];
	int nlast;
};

static int model_find(const struct model *m, unsigned id)
{
	for (int i = 0; i < m->n; i++)
		if (m->links[i].id == id)
			return i;
	return -1;
}

static int model_add(const struct xnx_link_info *info, void *arg)
{
	struct model *m = arg;

	if (m->n == MODEL_MAX)
		return -ENOSPC;
	m->links[m->n].id = info->id;
	strcpy(m->links[m->n].name, info->name);
	m->n++;
	return 0;
}

static void model_apply(const struct xnx_link_event *ev, void *arg)
{
	struct model *m = arg;
	int i = model_find(m, ev->id);

	if (m->nlast < 64)
		m->last[m->nlast++] = *ev;
	switch (ev->change) {
	case XNX_LINK_NEW:
		if (i >= 0 || m->n == MODEL_MAX) {
			m->bad++;
			return;
		}
		m->links[m->n].id = ev->id;
		strcpy(m->links[m->n++].name, ev->name);
		break;
	case XNX_LINK_RENAMED:
		if (i < 0 || strcmp(m->links[i].name, ev->old_name) ||
		    !strcmp(ev->name, ev->old_name)) {
			m->bad++;
			return;
		}
		strcpy(m->links[i].name, ev->name);
		break;
	case XNX_LINK_DELETED:
		if (i < 0 || strcmp(m->links[i].name, ev->name)) {
			m->bad++;
			return;
		}
		m->links[i] = m->links[--m->n];
		break;
	default:
		m->bad++;
	}
}

/* The model equals what the kernel says now. */
static int model_matches_kernel(const struct model *m, const char *netns)
{
	static struct model now;
	struct xnx_link_nl *nl;
	int ok = 1;

	memset(&now, 0, sizeof(now));
	if (xnx_link_nl_open(netns, &nl) < 0)
		return 0;
	if (xnx_link_nl_dump(nl, model_add, &now) < 0)
		ok = 0;
	xnx_link_nl_close(nl);
	if (now.n != m->n)
		ok = 0;
	for (int i = 0; ok && i < now.n; i++) {
		int j = model_find(m, now.links[i].id);

		ok = j >= 0 && !strcmp(m->links[j].name, now.links[i].name);
	}
	return ok;
}

static int model_init(struct model *m, const char *netns)
{
	struct xnx_link_nl *nl;
	int err;

	memset(m, 0, sizeof(*m));
	if ((err = xnx_link_nl_open(netns, &nl)) < 0)
		return err;
	err = xnx_link_nl_dump(nl, model_add, m);
	xnx_link_nl_close(nl);
	return err;
}

/* Has the model seen CHANGE for ID? */
static const struct xnx_link_event *seen(const struct model *m,
					 enum xnx_link_change change, unsigned id)
{
	for (int i = 0; i < m->nlast; i++)
		if (m->last[i].change == change && m->last[i].id == id)
			return &m->last[i];
	return NULL;
}

/* Dispatch until CHANGE for ID has been reported (bounded by WAIT_MS). */
static const struct xnx_link_event *wait_for(struct xnx_link_watch *w, struct model *m,
					     enum xnx_link_change change, unsigned id)
{
	uint64_t waited = 0;

	while (!seen(m, change, id) && waited < WAIT_MS) {
		struct pollfd p = { .fd = xnx_link_watch_fd(w), .events = POLLIN };

		if (poll(&p, 1, 50) > 0)
			CU_ASSERT(xnx_link_watch_dispatch(w, model_apply, m) >= 0);
		waited += 50;	/* an upper bound on time spent when idle */
	}
	return seen(m, change, id);
}

/* Dispatch everything already queued; returns the changes reported. */
static int drain_now(struct xnx_link_watch *w, struct model *m)
{
	struct pollfd p = { .fd = xnx_link_watch_fd(w), .events = POLLIN };
	int total = 0, n;

	for (int i = 0; i < 1000 && poll(&p, 1, 0) > 0; i++) {
		if ((n = xnx_link_watch_dispatch(w, model_apply, m)) < 0)
			return n;
		total += n;
	}
	return total;
}

static void watch_new_rename_delete(void)
{
	static struct model m;
	const struct xnx_link_event *ev;
	struct xnx_link_watch *w = NULL;
	unsigned a, b;

	CU_ASSERT_FATAL(model_init(&m, NULL) == 0);
	CU_ASSERT_FATAL(xnx_link_watch_open(NULL, &w) == 0);
	CU_ASSERT(xnx_link_watch_fd(w) >= 0);

	CU_ASSERT_FATAL(sh("ip link add wa type veth peer name wb") == 0);
	a = id_of("wa");
	b = id_of("wb");
	ev = wait_for(w, &m, XNX_LINK_NEW, a);
	CU_ASSERT(ev && !strcmp(ev->name, "wa"));
	ev = wait_for(w, &m, XNX_LINK_NEW, b);
	CU_ASSERT(ev && !strcmp(ev->name, "wb"));

	CU_ASSERT_FATAL(sh("ip link set wa name wc") == 0);
	ev = wait_for(w, &m, XNX_LINK_RENAMED, a);
	CU_ASSERT(ev && !strcmp(ev->name, "wc") && !strcmp(ev->old_name, "wa"));

	/* Changes other than names produce messages but no reports. */
	CU_ASSERT_FATAL(sh("ip link set wc mtu 1400 && ip link set wb mtu 1300") == 0);
	CU_ASSERT_EQUAL(drain_now(w, &m), 0);

	CU_ASSERT_FATAL(sh("ip link del wc") == 0);	/* takes wb along */
	ev = wait_for(w, &m, XNX_LINK_DELETED, a);
	CU_ASSERT(ev && !strcmp(ev->name, "wc"));
	ev = wait_for(w, &m, XNX_LINK_DELETED, b);
	CU_ASSERT(ev && !strcmp(ev->name, "wb"));

	CU_ASSERT_EQUAL(m.bad, 0);
	CU_ASSERT(model_matches_kernel(&m, NULL));
	xnx_link_watch_close(w);
}

/* The watcher of a named namespace sees that namespace, not ours. */
static void watch_named_netns(void)
{
	static struct model m;
	const struct xnx_link_event *ev;
	struct xnx_link_watch *w = NULL;
	char cmd[128];
	unsigned id;

	CU_ASSERT_FATAL(model_init(&m, ns) == 0);
	CU_ASSERT_FATAL(xnx_link_watch_open(ns, &w) == 0);
	CU_ASSERT_FATAL(sh("ip link add wna type veth peer name wnb") == 0);	/* ours */
	CU_ASSERT_FATAL(sh("ip -n %s link add wnx type veth peer name wny", ns) == 0);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s cat /sys/class/net/wnx/ifindex", ns);
	id = sh_uint(cmd);
	CU_ASSERT_FATAL(id > 0);
	CU_ASSERT_FATAL(wait_for(w, &m, XNX_LINK_NEW, id) != NULL);

	CU_ASSERT_FATAL(sh("ip -n %s link set wnx name wnz", ns) == 0);
	ev = wait_for(w, &m, XNX_LINK_RENAMED, id);
	CU_ASSERT(ev && !strcmp(ev->name, "wnz") && !strcmp(ev->old_name, "wnx"));
	CU_ASSERT_EQUAL(drain_now(w, &m), 0);
	CU_ASSERT_EQUAL(m.bad, 0);
	CU_ASSERT(model_matches_kernel(&m, ns));
	for (int i = 0; i < m.nlast; i++)	/* nothing from our namespace */
		CU_ASSERT(strcmp(m.last[i].name, "wna") && strcmp(m.last[i].name, "wnb"));
	xnx_link_watch_close(w);
	CU_ASSERT_EQUAL(sh("ip link del wna && ip -n %s link del wnz", ns), 0);
}

/* A link moved to another namespace goes from one watcher's view and
 * appears in the other's. */
static void watch_move_between_namespaces(void)
{
	static struct model here, there;
	const struct xnx_link_event *ev;
	struct xnx_link_watch *wh = NULL, *wt = NULL;
	unsigned id, id_there = 0;

	CU_ASSERT_FATAL(sh("ip link add wma type veth peer name wmb") == 0);
	id = id_of("wma");
	CU_ASSERT_FATAL(model_init(&here, NULL) == 0);
	CU_ASSERT_FATAL(model_init(&there, ns) == 0);
	CU_ASSERT_FATAL(xnx_link_watch_open(NULL, &wh) == 0);
	CU_ASSERT_FATAL(xnx_link_watch_open(ns, &wt) == 0);

	CU_ASSERT_FATAL(sh("ip link set wma netns %s", ns) == 0);
	ev = wait_for(wh, &here, XNX_LINK_DELETED, id);
	CU_ASSERT(ev && !strcmp(ev->name, "wma"));
	CU_ASSERT_EQUAL(xnx_link_id(ns, "wma", &id_there), 0);
	ev = wait_for(wt, &there, XNX_LINK_NEW, id_there);
	CU_ASSERT(ev && !strcmp(ev->name, "wma"));

	CU_ASSERT_EQUAL(drain_now(wh, &here), 0);
	CU_ASSERT_EQUAL(drain_now(wt, &there), 0);
	CU_ASSERT(here.bad == 0 && there.bad == 0);
	CU_ASSERT(model_matches_kernel(&here, NULL));
	CU_ASSERT(model_matches_kernel(&there, ns));
	xnx_link_watch_close(wh);
	xnx_link_watch_close(wt);
	CU_ASSERT_EQUAL(sh("ip -n %s link del wma", ns), 0);
}

/* A socket like the watcher's with the same tiny buffer: does the kernel
 * really drop link messages under the load below? */
static int tiny_listener(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	int one = 1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int saw_enobufs(int fd)
{
	char buf[65536];

	for (;;) {
		if (recv(fd, buf, sizeof(buf), 0) >= 0)
			continue;
		return errno == ENOBUFS;
	}
}

/* Lost messages (overflow): the watcher still ends up right, and every
 * report it made on the way is consistent. */
static void watch_overflow_resyncs(void)
{
	static struct model m;
	struct xnx_link_watch *w = NULL;
	int one = 1, probe;
	unsigned a;

	CU_ASSERT_FATAL(sh("ip link add woa type veth peer name wob") == 0);
	a = id_of("woa");
	CU_ASSERT_FATAL(model_init(&m, NULL) == 0);
	CU_ASSERT_FATAL(xnx_link_watch_open(NULL, &w) == 0);
	probe = tiny_listener();
	CU_ASSERT_FATAL(probe >= 0);
	/* The smallest buffer the kernel allows: most messages will not fit. */
	CU_ASSERT_FATAL(setsockopt(xnx_link_watch_fd(w), SOL_SOCKET, SO_RCVBUF,
				   &one, sizeof(one)) == 0);

	CU_ASSERT_FATAL(sh("ip link set woa name woc && ip link add wpa type veth peer name wpb"
			   " && ip link set wpa name wpc && ip link add wqa type veth peer name wqb"
			   " && ip link del wpc && ip link set wob mtu 1400 && ip link set wqa name wqc")
			== 0);
	CU_ASSERT(saw_enobufs(probe));
	close(probe);

	CU_ASSERT(drain_now(w, &m) > 0);
	CU_ASSERT_EQUAL(m.bad, 0);
	CU_ASSERT(model_matches_kernel(&m, NULL));
	CU_ASSERT_EQUAL(model_find(&m, a) >= 0 ? strcmp(m.links[model_find(&m, a)].name, "woc") : -1, 0);

	/* And it goes on watching normally. */
	m.nlast = 0;	/* forget the reports so far */
	CU_ASSERT_FATAL(sh("ip link set woc name wod") == 0);
	CU_ASSERT(wait_for(w, &m, XNX_LINK_RENAMED, a) != NULL);
	CU_ASSERT_EQUAL(m.bad, 0);
	CU_ASSERT(model_matches_kernel(&m, NULL));
	xnx_link_watch_close(w);
	CU_ASSERT_EQUAL(sh("ip link del wod && ip link del wqc"), 0);
}

/* resync on demand reports nothing when nothing changed. */
static void watch_resync_quiet(void)
{
	static struct model m;
	struct xnx_link_watch *w = NULL;

	CU_ASSERT_FATAL(model_init(&m, NULL) == 0);
	CU_ASSERT_FATAL(xnx_link_watch_open(NULL, &w) == 0);
	CU_ASSERT_EQUAL(xnx_link_watch_resync(w, model_apply, &m), 0);
	CU_ASSERT_EQUAL(m.nlast, 0);
	xnx_link_watch_close(w);
	CU_ASSERT_EQUAL(xnx_link_watch_open("xnx-no-such-netns", &w), -ENOENT);
}

static int run_suite(void)
{
	static const struct { const char *name; CU_TestFunc fn; } tests[] = {
		{ "parse_id_table", parse_id_table },
		{ "name_ok_table", name_ok_table },
		{ "addr_str_and_operstate", addr_str_and_operstate },
		{ "link_resolve_veth", link_resolve_veth },
		{ "link_name_follows_rename", link_name_follows_rename },
		{ "link_master_of_bridge_port", link_master_of_bridge_port },
		{ "link_set_and_add_bridge", link_set_and_add_bridge },
		{ "link_errors", link_errors },
		{ "link_in_named_netns", link_in_named_netns },
		{ "link_nl_socket", link_nl_socket },
		{ "watch_new_rename_delete", watch_new_rename_delete },
		{ "watch_named_netns", watch_named_netns },
		{ "watch_move_between_namespaces", watch_move_between_namespaces },
		{ "watch_overflow_resyncs", watch_overflow_resyncs },
		{ "watch_resync_quiet", watch_resync_quiet },
	};
	CU_pSuite s;
	int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("link", NULL, NULL);
	for (size_t i = 0; s && i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(s, tests[i].name, tests[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() || CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed;
}

static pid_t child;

static void stop_child(int sig)
{
	if (child > 0)
		kill(child, SIGKILL);
}

int main(void)
{
	int st;

	snprintf(ns, sizeof(ns), "xnxlt%d", (int)getpid());
	if (sh("ip netns add %s", ns) != 0) {
		fprintf(stderr, "test_link: cannot make network namespace %s\n", ns);
		return 1;
	}
	child = fork();
	if (child == 0) {
		/* Our own namespace: every link made here goes with us. */
		if (unshare(CLONE_NEWNET) < 0 || sh("ip link set lo up") != 0) {
			perror("test_link: unshare");
			exit(1);
		}
		exit(run_suite());
	}
	signal(SIGINT, stop_child);
	signal(SIGTERM, stop_child);
	while (child > 0 && waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (sh("ip netns del %s", ns) != 0)
		fprintf(stderr, "test_link: could not remove network namespace %s\n", ns);
	/* link_nl_socket's second namespace, if it stopped before removing it. */
	sh("[ ! -e /run/netns/%s2 ] || ip netns del %s2", ns, ns);
	if (child < 0)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
