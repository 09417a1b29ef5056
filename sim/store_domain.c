/*
 * store_domain.c — domains as the xenstore half sees them: introduced or
 * not, the /local/domain/<id>/ skeleton the toolstack writes, release, and
 * a text dump of the tree for CONTROL.
 *
 * The skeleton follows libxl's: the home node, name, domid and control/
 * belong to domain 0 and are readable by the domain; the directories the
 * domain writes in (device/, data/, drivers/, feature/, attr/, error/,
 * control/shutdown and the control/feature-* nodes) are owned by the
 * domain, so it can create below them and others (backends) only see what
 * it grants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xnx_log.h"

int st_parse_domid(const char *s, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xFFFFul)
		return EINVAL;
	*out = (unsigned)v;
	return 0;
}

struct st_domain *st_domain_find(struct sim_store *st, unsigned domid)
{
	for (struct st_domain *d = st->domains; d; d = d->next)
		if (d->domid == domid)
			return d;
	return NULL;
}

struct st_domain *st_domain_get(struct sim_store *st, unsigned domid)
{
	struct st_domain *d = st_domain_find(st, domid);

	if (!d) {
		d = st_xcalloc(1, sizeof(*d));
		d->domid = domid;
		d->next = st->domains;
		st->domains = d;
	}
	return d;
}

void st_domain_free_all(struct sim_store *st)
{
	while (st->domains) {
		struct st_domain *d = st->domains;

		st->domains = d->next;
		free(d);
	}
}

static void domain_forget(struct sim_store *st, unsigned domid)
{
	for (struct st_domain **p = &st->domains; *p; p = &(*p)->next) {
		if ((*p)->domid == domid) {
			struct st_domain *d = *p;

			*p = d->next;
			free(d);
			return;
		}
	}
}

/* Write PATH = VALUE (NULL: keep the value) with perms OWNER, and if
 * READER is not 0 "r<READER>", as the toolstack (domain 0) would. */
static void put(struct sim_store *st, const char *path, const char *value,
		unsigned owner, unsigned reader)
{
	struct st_view v = { .st = st, .domid = 0 };
	struct xs_permissions p[2] = {
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};
	struct st_node *n;

	if (!st_get(&v, path))
		st_create(&v, path, NULL, 0);
	n = st_modify(&v, path);
	if (value)
		st_node_set_value(n, value, (unsigned)strlen(value));
	st_set_perms(&v, n, p, reader ? 2 : 1);
	st_changed(&v, path, false, n, NULL);
}

static void skeleton(struct sim_store *st, unsigned domid, const char *name)
{
	static const char *const owned[] = {
		"device", "data", "drivers", "feature", "attr", "error",
		"control/shutdown", "control/feature-poweroff",
		"control/feature-reboot", "control/feature-suspend",
		"control/sysrq",
	};
	char home[32], path[96], id[12];

	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	snprintf(id, sizeof(id), "%u", domid);
	put(st, home, NULL, 0, domid);
	snprintf(path, sizeof(path), "%s/name", home);
	put(st, path, name ? name : "", 0, domid);
	snprintf(path, sizeof(path), "%s/domid", home);
	put(st, path, id, 0, domid);
	if (domid == 0)
		return;
	snprintf(path, sizeof(path), "%s/control", home);
	put(st, path, NULL, 0, domid);
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", home, owned[i]);
		put(st, path, NULL, domid, 0);
	}
}

int sim_store_domain_introduce(struct sim_store *st, unsigned domid,
			       const char *name)
{
	if (domid > ST_DOMID_MAX)
		return -EINVAL;
	skeleton(st, domid, name);
	st_domain_get(st, domid)->introduced = true;
	st_special_fire(st, "@introduceDomain");
	xnx_info("xenstore: domain %u introduced", domid);
	st_flush(st);
	return 0;
}

/* A released domain's id may come back as a new domain: give what it
 * owned elsewhere to domain 0 and neutralise its permission entries, as
 * xenstored does, and end any SET_TARGET naming it. */
static void disown(struct sim_store *st, unsigned domid)
{
	for (size_t i = 0; i < st->tree.nb; i++) {
		for (struct st_node *n = st->tree.b[i]; n; n = n->hnext) {
			if (n->nperm && n->perm[0].id == domid) {
				n->perm[0].id = 0;
				st->owned[domid]--;
				st->owned[0]++;
			}
			for (unsigned k = 1; k < n->nperm; k++)
				if (n->perm[k].id == domid)
					n->perm[k].perms |= XS_PERM_IGNORE;
		}
	}
	for (struct st_domain *d = st->domains; d; d = d->next)
		if (d->has_target && d->target == domid)
			d->has_target = false;
}

int sim_store_domain_release(struct sim_store *st, unsigned domid)
{
	struct st_view v = { .st = st, .domid = 0 };
	char home[32];

	if (domid == 0 || domid > ST_DOMID_MAX)
		return -EINVAL;
	if (!st_domain_find(st, domid))
		return -ENOENT;
	st_unlisten(st, domid);
	st_close_domain_conns(st, domid);
	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	if (st_get(&v, home))
		st_remove(&v, home);
	disown(st, domid);
	domain_forget(st, domid);
	st_special_fire(st, "@releaseDomain");
	xnx_info("xenstore: domain %u released", domid);
	st_flush(st);
	return 0;
}

/* ---- dump --------------------------------------------------------------- */

static void dump_value(FILE *f, const char *v, unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch >= 0x20 && ch < 0x7f)
			fputc(ch, f);
		else
			fprintf(f, "\\x%02x", ch);
	}
}

static void dump_node(FILE *f, struct sim_store *st, const char *path)
{
	const struct st_node *n = st_table_get(&st->tree, path);

	if (!n)
		return;
	fprintf(f, "%s = \"", path);
	dump_value(f, n->value, n->vlen);
	fputs("\" (", f);
	for (unsigned i = 0; i < n->nperm; i++) {
		static const char pc[] = "nrwb";

		fprintf(f, "%s%c%u", i ? "," : "",
			pc[n->perm[i].perms & (XS_PERM_READ | XS_PERM_WRITE)],
			n->perm[i].id);
	}
	fputs(")\n", f);
	for (unsigned i = 0; i < n->nkids; i++) {
		char *c;

		if (asprintf(&c, "%s/%s", strcmp(path, "/") ? path : "",
			     n->kids[i]) < 0)
			abort();
		dump_node(f, st, c);
		free(c);
	}
}

char *st_dump(struct sim_store *st, const char *root, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	dump_node(f, st, root);
	if (strcmp(root, "/") == 0) {
		dump_node(f, st, "@introduceDomain");
		dump_node(f, st, "@releaseDomain");
	}
	fclose(f);
	return buf;
}
