/* statsc.c — the client of xnetback's stats socket: connect, read the
 * answer to EOF, parse its "key value" lines (format in
 * netback/stats_sock.c) strictly, and group drop counters by reason. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xnet.h"
#include "xnx_sim.h"

#define ANSWER_MAX (16u << 20)	/* more than any backend can have to say */
#define READ_TIMEOUT_MS 5000

const char *xnt_stats_socket(void)
{
	static char path[256];
	const char *env = getenv("XNET_STATS_SOCKET");

	if (env && *env)
		return env;
	snprintf(path, sizeof(path), "%s/xnetback.sock", xnx_sim_dir());
	return path;
}

/* Read everything the server sends, bounded in size and time. */
static int read_all(int fd, char **out, size_t *outlen)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);

	while (buf) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, READ_TIMEOUT_MS) == 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			return -e;
		}
		if (n == 0) {
			buf[len] = '\0';
			*out = buf;
			*outlen = len;
			return 0;
		}
		len += (size_t)n;
		if (len == cap) {
			char *nb = cap >= ANSWER_MAX ? NULL : realloc(buf, cap * 2 + 1);
			if (!nb)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	return -ENOMEM;
}

static int fetch_text(const char *path, char **text, size_t *len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = read_all(fd, text, len);
	close(fd);
	return rc;
}

static int add_counter(struct xnt_counters *c, const char *name, const char *val)
{
	char *end;
	unsigned long long v;

	if (c->n >= XNT_MAX_COUNTERS || strlen(name) >= sizeof(c->c[0].name))
		return -ENOSPC;
	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-' || val[0] == '+')
		return -EINVAL;
	snprintf(c->c[c->n].name, sizeof(c->c[0].name), "%s", name);
	c->c[c->n++].v = v;
	return 0;
}

struct parser {
	struct xnt_stats *s;
	struct xnt_vifstats *vif;
	struct xnt_counters *cur;	/* where counters go now; NULL: header */
	bool ended;
};

static int parse_header(struct parser *p, const char *key, const char *val)
{
	unsigned long v;
	char *end;

	if (!strcmp(key, "platform")) {
		snprintf(p->s->platform, sizeof(p->s->platform), "%s", val);
		return 0;
	}
	v = strtoul(val, &end, 10);
	if (end == val || *end)
		return -EINVAL;
	if (!strcmp(key, "pid"))
		p->s->pid = (long)v;
	else if (!strcmp(key, "domain"))
		p->s->domain = (unsigned)v;
	else if ((!strcmp(key, "xnetback") || !strcmp(key, "xnetfront")) && v != 1)
		return -EPROTONOSUPPORT;
	return 0;
}

static int start_vif(struct parser *p, const char *val)
{
	struct xnt_stats *s = p->s;
	struct xnt_vifstats *nv;
	char extra;

	nv = realloc(s->vif, (size_t)(s->nvifs + 1) * sizeof(*s->vif));
	if (!nv)
		return -ENOMEM;
	s->vif = nv;
	p->vif = &s->vif[s->nvifs++];
	memset(p->vif, 0, sizeof(*p->vif));
	p->vif->bdomid = s->domain;
	if (sscanf(val, "%u %u%c", &p->vif->domid, &p->vif->devid, &extra) != 2)
		return -EINVAL;
	p->cur = &p->vif->c;
	return 0;
}

static int start_queue(struct parser *p, const char *val)
{
	unsigned long id;
	char *end;

	if (!p->vif || p->vif->nq >= XNT_MAX_QUEUES)
		return -EINVAL;
	id = strtoul(val, &end, 10);
	if (end == val || *end)
		return -EINVAL;
	p->vif->q[p->vif->nq].id = (unsigned)id;
	p->cur = &p->vif->q[p->vif->nq++].c;
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	char *val = strchr(line, ' ');

	if (p->ended)
		return -EINVAL;
	if (!strcmp(line, "end")) {
		p->ended = true;
		return 0;
	}
	if (!val)
		return -EINVAL;
	*val++ = '\0';
	if (!strcmp(line, "vif"))
		return start_vif(p, val);
	if (!strcmp(line, "queue"))
		return start_queue(p, val);
	if (!p->cur)
		return parse_header(p, line, val);
	if (!strcmp(line, "name") && p->cur == &p->vif->c) {
		snprintf(p->vif->name, sizeof(p->vif->name), "%s", val);
		return 0;
	}
	return add_counter(p->cur, line, val);
}

int xnt_stats_fetch(const char *path, struct xnt_stats *out, char *why, size_t whylen)
{
	struct parser p = { .s = out };
	char *text = NULL, *line, *save = NULL;
	size_t len;
	int rc, n = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->socket, sizeof(out->socket), "%s", path);
	snprintf(why, whylen, "%s", "");
	if ((rc = fetch_text(path, &text, &len)) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		n++;
		if ((rc = parse_line(&p, line)) < 0)
			break;
	}
	if (rc == 0 && !p.ended)
		rc = -EPROTO, snprintf(why, whylen, "%s: answer cut short (no 'end')", path);
	else if (rc < 0)
		snprintf(why, whylen, "%s: line %d: %s", path, n,
			 rc == -EPROTONOSUPPORT ? "unknown format version" : "malformed");
	free(text);
	if (rc < 0) {
		xnt_stats_free(out);
		return -EPROTO;
	}
	out->nbackends = 1;
	snprintf(out->be[0].socket, sizeof(out->be[0].socket), "%s", path);
	out->be[0].pid = out->pid;
	out->be[0].domain = out->domain;
	snprintf(out->be[0].platform, sizeof(out->be[0].platform), "%s", out->platform);
	return 0;
}

/* Append ONE's backend and vifs to ALL (ONE is emptied). */
static int merge(struct xnt_stats *all, struct xnt_stats *one)
{
	struct xnt_vifstats *nv;

	if (all->nbackends == 0) {
		*all = *one;
		one->vif = NULL;
		one->nvifs = 0;
		return 0;
	}
	if (all->nbackends >= XNT_MAX_BACKENDS)
		return -ENOSPC;
	nv = realloc(all->vif, (size_t)(all->nvifs + one->nvifs + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	memcpy(nv + all->nvifs, one->vif, (size_t)one->nvifs * sizeof(*nv));
	all->vif = nv;
	all->nvifs += one->nvifs;
	all->be[all->nbackends++] = one->be[0];
	xnt_stats_free(one);
	return 0;
}

/* Is NAME PREFIX-dom<N>.sock (a driver domain's xnetback, a guest's
 * xnetfront)? */
static bool dom_socket(const char *name, const char *prefix)
{
	size_t len = strlen(prefix);
	unsigned n;
	int end = 0;

	return !strncmp(name, prefix, len) &&
	       sscanf(name + len, "-dom%u.sock%n", &n, &end) == 1 && name[len + end] == '\0';
}

static bool driver_socket(const char *name)
{
	return dom_socket(name, "xnetback");
}

int xnt_stats_fetch_all(const char *sock, struct xnt_stats *out, char *why, size_t whylen)
{
	const char *env = getenv("XNET_STATS_SOCKET");
	char path[512];
	struct dirent *e;
	DIR *dir;
	int rc, first = -ENOENT;

	if (sock || (env && *env))
		return xnt_stats_fetch(sock ? sock : env, out, why, whylen);
	memset(out, 0, sizeof(*out));
	snprintf(why, whylen, "%s: %s", xnt_stats_socket(), strerror(ENOENT));
	/* Domain 0's first, so its answer heads the list. */
	if ((dir = opendir(xnx_sim_dir())) == NULL)
		return -ENOENT;
	for (int pass = 0; pass < 2; pass++) {
		rewinddir(dir);
		while ((e = readdir(dir)) != NULL) {
			struct xnt_stats one;
			char w[512];

			if (pass == 0 ? strcmp(e->d_name, "xnetback.sock") : !driver_socket(e->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", xnx_sim_dir(), e->d_name);
			rc = xnt_stats_fetch(path, &one, w, sizeof(w));
			if (rc == 0)
				rc = merge(out, &one);
			else if (first == -ENOENT)
				snprintf(why, whylen, "%s", w);
			if (rc < 0 && first == -ENOENT)
				first = rc;
		}
	}
	closedir(dir);
	return out->nbackends > 0 ? 0 : first;
}

int xnt_front_stats_fetch_all(struct xnt_stats *out)
{
	struct dirent *e;
	DIR *dir;

	memset(out, 0, sizeof(*out));
	if ((dir = opendir(xnx_sim_dir())) == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		struct xnt_stats one;
		char path[512], w[512];

		if (!dom_socket(e->d_name, "xnetfront"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", xnx_sim_dir(), e->d_name);
		/* A frontend gone (its file left) or not ours to read: skipped. */
		if (xnt_stats_fetch(path, &one, w, sizeof(w)) == 0 && merge(out, &one) < 0)
			xnt_stats_free(&one);
	}
	closedir(dir);
	return 0;
}

void xnt_stats_free(struct xnt_stats *s)
{
	free(s->vif);
	s->vif = NULL;
	s->nvifs = 0;
}

unsigned long long xnt_ctr(const struct xnt_counters *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->c[i].name, name))
			return c->c[i].v;
	return 0;
}

const struct xnt_vifstats *xnt_stats_find(const struct xnt_stats *s, unsigned domid,
					  unsigned devid)
{
	for (int i = 0; i < s->nvifs; i++)
		if (s->vif[i].domid == domid && s->vif[i].devid == devid)
			return &s->vif[i];
	return NULL;
}

/* Which drop counters make up each group (netback's drop names). */
static const char *const groups[XNT_DG_MAX][10] = {
	[XNT_DG_RING_FULL] = { "drop_tx_tap_full", "drop_rx_too_big" },
	[XNT_DG_BAD_REQUEST] = { "drop_tx_bad_size", "drop_tx_copy_error",
				 "drop_tx_csum_setup", "drop_tx_mcast_refused",
				 "drop_tx_over_mtu", "drop_tx_vlan_tagged",
				 "drop_rx_copy_error", "drop_rx_bad_vnet_hdr" },
	[XNT_DG_RATE_LIMITED] = { "tx_throttled" },
	[XNT_DG_SPOOFED] = { "drop_tx_spoofed_mac", "drop_tx_spoofed_ip" },
	[XNT_DG_NO_RX_BUFFER] = { "drop_rx_no_buffer" },
	[XNT_DG_FILTERED] = { "drop_rx_mcast_filtered", "drop_rx_wrong_vlan" },
};

const char *xnt_drop_group_name(enum xnt_drop_group g)
{
	static const char *const names[XNT_DG_MAX] = {
		"ring_full", "bad_request", "rate_limited", "spoofed", "no_rx_buffer",
		"filtered",
	};
	return (unsigned)g < XNT_DG_MAX ? names[g] : "unknown";
}

unsigned long long xnt_drop_group(const struct xnt_counters *c, enum xnt_drop_group g)
{
	unsigned long long sum = 0;

	for (int i = 0; i < 10 && groups[g][i]; i++)
		sum += xnt_ctr(c, groups[g][i]);
	return sum;
}

unsigned long long xnt_drops_total(const struct xnt_counters *c)
{
	unsigned long long sum = 0;

	for (int i = 0; i < c->n; i++)
		if (!strncmp(c->c[i].name, "drop_", 5))
			sum += c->c[i].v;
	return sum;
}
