/* cmd_stats.c — `xnet stats [VIF]`: every vif's counters (per vif and per
 * queue) from the backend's stats socket and, where its guest's xnetfront
 * answers on its own, the frontend's, as text or --json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xnet.h"
#include "xnx_xs.h"

#define MAX_DOMAINS 256

static const char stats_usage[] =
	"usage: xnet stats [--json] [--socket PATH] [VIF]\n"
	"  Counters of every vif (or of VIF: a backend interface name such as\n"
	"  vif1.0, or DOMAIN/DEVID) and of each of its queues, read from\n"
	"  xnetback's stats socket: packets and bytes each way (tx: guest to\n"
	"  host, rx: host to guest), drops by reason, notifications sent and\n"
	"  received, ring occupancy, grant copies and maps; and the guest's\n"
	"  side from its xnetfront's stats socket (xnetfront-dom<N>.sock in\n"
	"  the run dir), when it answers: packets, bytes, errors, drops per\n"
	"  queue, reconnects.\n"
	"  --json         one JSON object: {\"backend\":{...},\"vifs\":[...]};\n"
	"                 each vif's \"frontend\" is null when no frontend answers\n"
	"  --socket PATH  only this stats socket (default $XNET_STATS_SOCKET,\n"
	"                 else every backend's in the run dir: xnetback.sock\n"
	"                 and the driver domains' xnetback-dom<N>.sock)\n";

struct sel {
	const char *ifname;	/* match by interface name, or */
	bool by_id;		/* by (domid, devid) */
	unsigned domid, devid;
};

/* VIF → a selector: "DOMAIN/DEVID" (name or id), else an interface name. */
static int parse_vif(struct xs_handle *xs, const char *arg, struct sel *s)
{
	const char *slash = strchr(arg, '/');
	struct xnt_domain doms[MAX_DOMAINS];
	unsigned long v;
	char dom[64];
	int n;

	memset(s, 0, sizeof(*s));
	if (!slash) {
		s->ifname = arg;
		return 0;
	}
	if ((size_t)(slash - arg) >= sizeof(dom) ||
	    xnx_parse_uint(slash + 1, 0, 0xffff, &v) < 0)
		return -EINVAL;
	s->by_id = true;
	s->devid = (unsigned)v;
	snprintf(dom, sizeof(dom), "%.*s", (int)(slash - arg), arg);
	if (xnx_parse_uint(dom, 0, 0x7fef, &v) == 0) {
		s->domid = (unsigned)v;
		return 0;
	}
	n = xs ? xnt_domains(xs, doms, MAX_DOMAINS) : -ENOENT;
	for (int i = 0; i < n; i++)
		if (!strcmp(doms[i].name, dom)) {
			s->domid = doms[i].domid;
			return 0;
		}
	return -ENOENT;
}

static bool selected(const struct sel *s, const struct xnt_vifstats *v)
{
	if (!s)
		return true;
	if (s->by_id)
		return v->domid == s->domid && v->devid == s->devid;
	return !strcmp(v->name, s->ifname);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_counters(struct xnt_json *j, const char *key, const struct xnt_counters *c)
{
	xnt_json_obj(j, key);
	for (int i = 0; i < c->n; i++)
		xnt_json_u64(j, c->c[i].name, c->c[i].v);
	xnt_json_end(j, '}');
}

static void json_queues(struct xnt_json *j, const struct xnt_vifstats *v)
{
	xnt_json_arr(j, "queues");
	for (unsigned q = 0; q < v->nq; q++) {
		xnt_json_obj(j, NULL);
		xnt_json_u64(j, "id", v->q[q].id);
		json_counters(j, "counters", &v->q[q].c);
		xnt_json_end(j, '}');
	}
	xnt_json_end(j, ']');
}

/* The guest's side of the vif, FE (NULL: no frontend answered). */
static void json_front(struct xnt_json *j, const struct xnt_vifstats *fe)
{
	if (!fe) {
		xnt_json_str(j, "frontend", NULL);
		return;
	}
	xnt_json_obj(j, "frontend");
	xnt_json_str(j, "name", fe->name);
	xnt_json_bool(j, "connected", xnt_ctr(&fe->c, "connected") != 0);
	xnt_json_u64(j, "reconnects", xnt_ctr(&fe->c, "reconnects"));
	json_counters(j, "counters", &fe->c);
	json_queues(j, fe);
	xnt_json_end(j, '}');
}

static void json_vif(struct xnt_json *j, struct xs_handle *xs, const struct xnt_vifstats *v,
		     const struct xnt_vifstats *fe)
{
	char dom[64] = "";

	if (xs)
		xnt_domain_name(xs, v->domid, dom, sizeof(dom));
	xnt_json_obj(j, NULL);
	xnt_json_u64(j, "domid", v->domid);
	xnt_json_str(j, "domain", dom[0] ? dom : NULL);
	xnt_json_u64(j, "devid", v->devid);
	xnt_json_u64(j, "backend_domid", v->bdomid);
	xnt_json_str(j, "name", v->name);
	xnt_json_int(j, "ifindex", (long long)xnt_ctr(&v->c, "ifindex"));
	xnt_json_u64(j, "state", xnt_ctr(&v->c, "state"));
	xnt_json_bool(j, "connected", xnt_ctr(&v->c, "connected") != 0);
	json_counters(j, "counters", &v->c);
	xnt_json_obj(j, "drops");
	for (int g = 0; g < XNT_DG_MAX; g++)
		xnt_json_u64(j, xnt_drop_group_name(g), xnt_drop_group(&v->c, g));
	xnt_json_u64(j, "total", xnt_drops_total(&v->c));
	xnt_json_end(j, '}');
	json_queues(j, v);
	json_front(j, fe);
	xnt_json_end(j, '}');
}

static void print_json(const struct xnt_stats *st, const struct xnt_stats *fronts,
		       struct xs_handle *xs, const struct sel *s)
{
	struct xnt_json j;

	xnt_json_begin(&j, stdout);
	xnt_json_obj(&j, NULL);
	xnt_json_obj(&j, "backend");
	xnt_json_str(&j, "socket", st->socket);
	xnt_json_int(&j, "pid", st->pid);
	xnt_json_u64(&j, "domain", st->domain);
	xnt_json_str(&j, "platform", st->platform);
	xnt_json_end(&j, '}');
	xnt_json_arr(&j, "backends");	/* domain 0's first, then driver domains' */
	for (int i = 0; i < st->nbackends; i++) {
		xnt_json_obj(&j, NULL);
		xnt_json_str(&j, "socket", st->be[i].socket);
		xnt_json_int(&j, "pid", st->be[i].pid);
		xnt_json_u64(&j, "domain", st->be[i].domain);
		xnt_json_str(&j, "platform", st->be[i].platform);
		xnt_json_end(&j, '}');
	}
	xnt_json_end(&j, ']');
	xnt_json_arr(&j, "frontends");	/* the xnetfronts that answered */
	for (int i = 0; i < fronts->nbackends; i++) {
		xnt_json_obj(&j, NULL);
		xnt_json_str(&j, "socket", fronts->be[i].socket);
		xnt_json_int(&j, "pid", fronts->be[i].pid);
		xnt_json_u64(&j, "domain", fronts->be[i].domain);
		xnt_json_end(&j, '}');
	}
	xnt_json_end(&j, ']');
	xnt_json_arr(&j, "vifs");
	for (int i = 0; i < st->nvifs; i++)
		if (selected(s, &st->vif[i]))
			json_vif(&j, xs, &st->vif[i],
				 xnt_stats_find(fronts, st->vif[i].domid, st->vif[i].devid));
	xnt_json_end(&j, ']');
	xnt_json_end(&j, '}');
}

/* ---- text -------------------------------------------------------------------- */

#define C(c, n) xnt_ctr(c, n)

static void print_queue(unsigned id, const struct xnt_counters *c)
{
	printf("  queue %u: tx %llu pkts %llu B, rx %llu pkts %llu B; ring tx %llu/%llu "
	       "pending, rx %llu/%llu posted; kicks in %llu out %llu; copies %llu (%llu segs), "
	       "maps %llu\n", id, C(c, "tx_packets"), C(c, "tx_bytes"), C(c, "rx_packets"),
	       C(c, "rx_bytes"), C(c, "tx_ring_pending"), C(c, "tx_ring_size"),
	       C(c, "rx_ring_posted"), C(c, "rx_ring_size"), C(c, "notify_received"),
	       C(c, "notify_sent"), C(c, "grant_copy_calls"), C(c, "grant_copy_segs"),
	       C(c, "grant_maps"));
}

/* The guest's side: one line for the vif, one per queue. */
static void print_front(const struct xnt_vifstats *fe)
{
	const struct xnt_counters *c = &fe->c;

	printf("  frontend %s: %s, %llu reconnect(s); tx %llu pkts %llu B, %llu errors, "
	       "%llu dropped; rx %llu pkts %llu B, %llu errors, %llu dropped; pages a backend "
	       "kept mapped: %llu held, %llu abandoned\n", fe->name,
	       C(c, "connected") ? "connected" : "not connected", C(c, "reconnects"),
	       C(c, "tx_packets"), C(c, "tx_bytes"), C(c, "tx_errors"), C(c, "tx_dropped"),
	       C(c, "rx_packets"), C(c, "rx_bytes"), C(c, "rx_errors"), C(c, "rx_dropped"),
	       C(c, "pages_held"), C(c, "pages_abandoned"));
	for (unsigned q = 0; q < fe->nq; q++) {
		c = &fe->q[q].c;
		printf("    queue %u: tx %llu pkts %llu B, rx %llu pkts %llu B; kicks tx %llu "
		       "rx %llu\n", fe->q[q].id, C(c, "tx_packets"), C(c, "tx_bytes"),
		       C(c, "rx_packets"), C(c, "rx_bytes"), C(c, "notify_tx"),
		       C(c, "notify_rx"));
	}
}

static void print_vif(struct xs_handle *xs, const struct xnt_vifstats *v,
		      const struct xnt_vifstats *fe)
{
	const struct xnt_counters *c = &v->c;
	char dom[64] = "";

	if (xs)
		xnt_domain_name(xs, v->domid, dom, sizeof(dom));
	printf("%s (domain %s%s%u, devid %u) ifindex %lld, %s, %llu queue(s)", v->name,
	       dom, dom[0] ? " " : "", v->domid, v->devid, (long long)C(c, "ifindex"),
	       C(c, "connected") ? "connected" : "not connected", C(c, "queues"));
	if (v->bdomid != 0)
		printf(", backend in domain %u", v->bdomid);
	printf("\n");
	printf("  tx (guest to host): %llu packets, %llu bytes, %llu GSO\n",
	       C(c, "tx_packets"), C(c, "tx_bytes"), C(c, "tx_gso"));
	printf("  rx (host to guest): %llu packets, %llu bytes, %llu GSO\n",
	       C(c, "rx_packets"), C(c, "rx_bytes"), C(c, "rx_gso"));
	printf("  drops:");
	for (int g = 0; g < XNT_DG_MAX; g++)
		printf(" %s %llu", xnt_drop_group_name(g), xnt_drop_group(c, g));
	printf("\n  notifications: sent %llu, suppressed %llu, received %llu\n",
	       C(c, "notify_sent"), C(c, "notify_suppressed"), C(c, "notify_received"));
	printf("  grant copies: %llu calls, %llu segments; through static grants: %llu "
	       "segments\n", C(c, "grant_copy_calls"), C(c, "grant_copy_segs"),
	       C(c, "static_grant_segs"));
	for (unsigned q = 0; q < v->nq; q++)
		print_queue(v->q[q].id, &v->q[q].c);
	if (fe)
		print_front(fe);
}

int xnt_cmd_stats(int argc, char **argv)
{
	const char *sock = NULL, *vif = NULL;
	struct xs_handle *xs;
	struct xnt_stats st, fronts;
	struct sel sel;
	bool json = false;
	char why[512];
	int found = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (xnt_is_help(argv[i])) {
			fputs(stats_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (argv[i][0] == '-' || vif) {
			return xnt_fail("stats: unexpected argument '%s' (see xnet stats --help)",
					argv[i]);
		} else {
			vif = argv[i];
		}
	}
	xs = xnx_xs_open();	/* only for domain names: optional */
	if (vif && (rc = parse_vif(xs, vif, &sel)) < 0) {
		if (xs)
			xs_close(xs);
		return xnt_fail("stats: VIF '%s': %s", vif, rc == -ENOENT ? "no such domain"
				: "not an interface name or DOMAIN/DEVID");
	}
	if ((rc = xnt_stats_fetch_all(sock, &st, why, sizeof(why))) < 0) {
		if (xs)
			xs_close(xs);
		if (rc == -ENOENT || rc == -ECONNREFUSED)
			return xnt_fail("stats: xnetback is not running (no stats socket %s)",
					sock ? sock : xnt_stats_socket());
		return xnt_fail("stats: %s", why);
	}
	xnt_front_stats_fetch_all(&fronts);
	for (int i = 0; i < st.nvifs; i++)
		found += selected(vif ? &sel : NULL, &st.vif[i]);
	if (vif && !found)
		rc = xnt_fail("stats: no vif '%s'", vif);
	else if (json)
		print_json(&st, &fronts, xs, vif ? &sel : NULL);
	else
		for (int i = 0; i < st.nvifs; i++)
			if (selected(vif ? &sel : NULL, &st.vif[i]))
				print_vif(xs, &st.vif[i],
					  xnt_stats_find(&fronts, st.vif[i].domid,
							 st.vif[i].devid));
	xnt_stats_free(&fronts);
	xnt_stats_free(&st);
	if (xs)
		xs_close(xs);
	return rc < 0 ? 1 : rc;
}
