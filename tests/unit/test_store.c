/*
 * test_store.c — xnet-simd's xenstore through real libxenstore: basic
 * operations, transactions (commit, abort, conflict → EAGAIN, events only
 * at commit), watches (initial event, order, removal, relative paths,
 * special watches, unreadable nodes), permissions (guest denied, granted,
 * inherited, owner change), quotas, domain introduce/release.
 */
#include "test_store_harness.h"
#include "cunit_run.h"

static struct xs_handle *d0, *g1, *g2;

static int suite_init(void)
{
	if (h_start())
		return -1;
	d0 = h_open(0);
	g1 = h_open(1);
	g2 = h_open(2);
	return d0 && g1 && g2 ? 0 : -1;
}

static int suite_clean(void)
{
	xs_close(d0);
	xs_close(g1);
	xs_close(g2);
	return h_stop();
}

static char *rd(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned len;

	return xs_read(xs, t, path, &len);
}

static int value_is(struct xs_handle *xs, const char *path, const char *want)
{
	char *v = rd(xs, XBT_NULL, path);
	int ok = v && !strcmp(v, want);

	free(v);
	return ok;
}

static bool wr(struct xs_handle *xs, xs_transaction_t t, const char *path,
	       const char *v)
{
	return xs_write(xs, t, path, v, (unsigned)strlen(v));
}

/* ---- basics ------------------------------------------------------------- */

static void test_store_basic_ops(void)
{
	unsigned n;
	char **dir;

	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/basic/a/b", "hello"));
	CU_ASSERT_TRUE(value_is(d0, "/basic/a/b", "hello"));
	CU_ASSERT_TRUE(value_is(d0, "/basic/a", ""));	/* implicit parent */
	CU_ASSERT_TRUE(xs_mkdir(d0, XBT_NULL, "/basic/c"));
	CU_ASSERT_TRUE(xs_mkdir(d0, XBT_NULL, "/basic/c"));	/* exists: fine */
	dir = xs_directory(d0, XBT_NULL, "/basic", &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(dir[0], "a");	/* creation order */
	CU_ASSERT_STRING_EQUAL(dir[1], "c");
	free(dir);
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/basic/a"));
	CU_ASSERT_PTR_NULL(rd(d0, XBT_NULL, "/basic/a/b"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/basic/gone"));	/* parent exists */
	CU_ASSERT_FALSE(xs_rm(d0, XBT_NULL, "/basic/gone/deeper"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_FALSE(xs_rm(d0, XBT_NULL, "/"));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_FALSE(wr(d0, XBT_NULL, "/bad//path", "x"));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_FALSE(wr(d0, XBT_NULL, "/bad/", "x"));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_FALSE(wr(d0, XBT_NULL, "/bad/sp ace", "x"));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* Relative paths are under the caller's home. */
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "data/rel", "r"));
	CU_ASSERT_TRUE(value_is(d0, "/local/domain/1/data/rel", "r"));
	CU_ASSERT_TRUE(value_is(g1, "data/rel", "r"));
}

static void test_store_binary_value(void)
{
	static const char v[] = { 'a', 0, 'b', (char)0xff };
	unsigned len;
	char *r;

	CU_ASSERT_TRUE(xs_write(d0, XBT_NULL, "/bin/v", v, sizeof(v)));
	r = xs_read(d0, XBT_NULL, "/bin/v", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(len, sizeof(v));
	CU_ASSERT_EQUAL(memcmp(r, v, sizeof(v)), 0);
	free(r);
}

static void test_store_directory_part(void)
{
	char path[128], **dir;
	unsigned n;
	int ok = 1;

	/* Far more than one 4096-byte reply: libxenstore gets E2BIG for
	 * DIRECTORY and pages through DIRECTORY_PART. */
	for (int i = 0; i < 600 && ok; i++) {
		snprintf(path, sizeof(path), "/many/child-with-a-long-name-%04d", i);
		ok = xs_write(d0, XBT_NULL, path, "", 0);
	}
	CU_ASSERT_TRUE(ok);
	dir = xs_directory(d0, XBT_NULL, "/many", &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	CU_ASSERT_EQUAL(n, 600);
	for (unsigned i = 0; i < n && ok; i++) {
		snprintf(path, sizeof(path), "child-with-a-long-name-%04u", i);
		ok = !strcmp(dir[i], path);
	}
	CU_ASSERT_TRUE(ok);
	free(dir);
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/many"));
}

static void test_store_domain_path(void)
{
	char *p = xs_get_domain_path(g1, 7);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(p, "/local/domain/7");
	free(p);
	CU_ASSERT_TRUE(xs_is_domain_introduced(d0, 1));
	CU_ASSERT_FALSE(xs_is_domain_introduced(d0, 9));
	/* Privileged operations are dom0's. */
	CU_ASSERT_FALSE(xs_is_domain_introduced(g1, 1));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_FALSE(xs_introduce_domain(g1, 5, 0, 0));
	CU_ASSERT_EQUAL(errno, EACCES);
}

static void test_store_skeleton(void)
{
	struct xs_permissions *p;
	unsigned n;

	CU_ASSERT_TRUE(value_is(g1, "/local/domain/1/name", "guest1"));
	CU_ASSERT_TRUE(value_is(g1, "/local/domain/1/domid", "1"));
	p = xs_get_permissions(d0, XBT_NULL, "/local/domain/1/device", &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(p[0].id, 1);	/* owned by the domain */
	free(p);
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "/local/domain/1/device/vif/0/state", "1"));
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "control/shutdown", "poweroff"));
	/* The home node itself is the toolstack's. */
	CU_ASSERT_FALSE(wr(g1, XBT_NULL, "/local/domain/1/name", "evil"));
	CU_ASSERT_EQUAL(errno, EACCES);
}

/* ---- transactions -------------------------------------------------------- */

static void test_store_txn_commit(void)
{
	xs_transaction_t t = xs_transaction_start(d0);
	char *v;

	CU_ASSERT_NOT_EQUAL_FATAL(t, XBT_NULL);
	CU_ASSERT_TRUE(wr(d0, t, "/txn/a", "1"));
	CU_ASSERT_TRUE(wr(d0, t, "/txn/b", "2"));
	v = rd(d0, t, "/txn/a");	/* visible inside */
	CU_ASSERT_TRUE(v && !strcmp(v, "1"));
	free(v);
	CU_ASSERT_PTR_NULL(rd(g2, XBT_NULL, "/txn/a"));	/* not outside */
	CU_ASSERT_PTR_NULL(rd(d0, XBT_NULL, "/txn/a"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_TRUE(xs_transaction_end(d0, t, false));
	CU_ASSERT_TRUE(value_is(d0, "/txn/a", "1"));
	CU_ASSERT_TRUE(value_is(d0, "/txn/b", "2"));
}

static void test_store_txn_abort(void)
{
	xs_transaction_t t;

	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/txa/keep", "old"));
	t = xs_transaction_start(d0);
	CU_ASSERT_TRUE(wr(d0, t, "/txa/keep", "new"));
	CU_ASSERT_TRUE(xs_rm(d0, t, "/txa/keep"));
	CU_ASSERT_TRUE(wr(d0, t, "/txa/other", "x"));
	CU_ASSERT_TRUE(xs_transaction_end(d0, t, true));
	CU_ASSERT_TRUE(value_is(d0, "/txa/keep", "old"));
	CU_ASSERT_PTR_NULL(rd(d0, XBT_NULL, "/txa/other"));
	/* The id is gone after the end. */
	CU_ASSERT_FALSE(xs_transaction_end(d0, t, false));
	CU_ASSERT_EQUAL(errno, ENOENT);
}

static void test_store_txn_conflict(void)
{
	xs_transaction_t t;
	char *v;
	int tries = 0;
	bool ok;

	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/txc/n", "0"));
	t = xs_transaction_start(d0);
	v = rd(d0, t, "/txc/n");
	free(v);
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/txc/n", "other"));	/* intervening */
	CU_ASSERT_TRUE(wr(d0, t, "/txc/n", "mine"));
	CU_ASSERT_FALSE(xs_transaction_end(d0, t, false));
	CU_ASSERT_EQUAL(errno, EAGAIN);
	CU_ASSERT_TRUE(value_is(d0, "/txc/n", "other"));	/* nothing applied */
	/* A client retries and then succeeds. */
	do {
		t = xs_transaction_start(d0);
		wr(d0, t, "/txc/n", "mine");
		ok = xs_transaction_end(d0, t, false);
	} while (!ok && errno == EAGAIN && ++tries < 5);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_TRUE(value_is(d0, "/txc/n", "mine"));
	/* Unrelated changes do not conflict. */
	t = xs_transaction_start(d0);
	CU_ASSERT_TRUE(wr(d0, t, "/txc/n", "again"));
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/txc2/x", "y"));
	CU_ASSERT_TRUE(xs_transaction_end(d0, t, false));
	/* A node created meanwhile that the transaction saw absent does. */
	t = xs_transaction_start(d0);
	CU_ASSERT_PTR_NULL(rd(d0, t, "/txc/new"));
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/txc/new", "1"));
	CU_ASSERT_TRUE(wr(d0, t, "/txc/other", "1"));
	CU_ASSERT_FALSE(xs_transaction_end(d0, t, false));
	CU_ASSERT_EQUAL(errno, EAGAIN);
}

static void test_store_txn_watch_at_commit(void)
{
	xs_transaction_t t;

	/* /txw exists first: creating it in the transaction would make the
	 * transaction depend on / too, which the sentinel writes change. */
	CU_ASSERT_TRUE(xs_mkdir(d0, XBT_NULL, "/txw"));
	CU_ASSERT_TRUE(xs_watch(d0, "/txw", "tw"));
	CU_ASSERT_TRUE(h_expect(d0, "/txw", "tw"));
	t = xs_transaction_start(d0);
	CU_ASSERT_TRUE(wr(d0, t, "/txw/a", "1"));
	CU_ASSERT_TRUE(h_no_event(d0, d0));	/* nothing before commit */
	CU_ASSERT_TRUE(xs_transaction_end(d0, t, false));
	CU_ASSERT_TRUE(h_expect(d0, "/txw/a", "tw"));
	/* An aborted transaction fires nothing. */
	t = xs_transaction_start(d0);
	CU_ASSERT_TRUE(wr(d0, t, "/txw/b", "1"));
	CU_ASSERT_TRUE(xs_transaction_end(d0, t, true));
	CU_ASSERT_TRUE(h_no_event(d0, d0));
	CU_ASSERT_TRUE(xs_unwatch(d0, "/txw", "tw"));
}

static void test_store_txn_quota(void)
{
	xs_transaction_t t[11];
	int i;

	for (i = 0; i < 10; i++) {
		t[i] = xs_transaction_start(g1);
		CU_ASSERT_NOT_EQUAL(t[i], XBT_NULL);
	}
	t[10] = xs_transaction_start(g1);
	CU_ASSERT_EQUAL(t[10], XBT_NULL);
	CU_ASSERT_EQUAL(errno, ENOSPC);
	/* One transaction may touch 1024 nodes. */
	char p[64], *v = NULL;
	int k;
	for (k = 0; k < 1100; k++) {
		snprintf(p, sizeof(p), "data/nonexistent-%d", k);
		v = rd(g1, t[0], p);
		if (!v && errno != ENOENT)
			break;
		free(v);
	}
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_TRUE(k > 1000 && k < 1100);
	for (i = 0; i < 10; i++)
		CU_ASSERT_TRUE(xs_transaction_end(g1, t[i], true));
}

/* ---- watches -------------------------------------------------------------- */

static void test_store_watch_order(void)
{
	char p[64];

	CU_ASSERT_TRUE(xs_watch(g1, "/local/domain/1/data/w", "tok"));
	CU_ASSERT_TRUE(h_expect(g1, "/local/domain/1/data/w", "tok"));	/* initial */
	for (int i = 0; i < 50; i++) {
		snprintf(p, sizeof(p), "/local/domain/1/data/w/k%d", i);
		CU_ASSERT_TRUE(wr(d0, XBT_NULL, p, "v"));
	}
	for (int i = 0; i < 50; i++) {
		snprintf(p, sizeof(p), "/local/domain/1/data/w/k%d", i);
		CU_ASSERT_TRUE(h_expect(g1, p, "tok"));
	}
	/* Two watches on one connection, told apart by token. */
	CU_ASSERT_TRUE(xs_watch(g1, "/local/domain/1/data/w/k1", "second"));
	CU_ASSERT_TRUE(h_expect(g1, "/local/domain/1/data/w/k1", "second"));
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/local/domain/1/data/w/k1", "x"));
	CU_ASSERT_TRUE(h_expect(g1, "/local/domain/1/data/w/k1", "tok"));
	CU_ASSERT_TRUE(h_expect(g1, "/local/domain/1/data/w/k1", "second"));
	/* Duplicate watch is refused; removal stops events. */
	CU_ASSERT_FALSE(xs_watch(g1, "/local/domain/1/data/w/k1", "second"));
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_TRUE(xs_unwatch(g1, "/local/domain/1/data/w/k1", "second"));
	CU_ASSERT_TRUE(xs_unwatch(g1, "/local/domain/1/data/w", "tok"));
	CU_ASSERT_FALSE(xs_unwatch(g1, "/local/domain/1/data/w", "tok"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/local/domain/1/data/w/k2", "y"));
	CU_ASSERT_TRUE(h_no_event(g1, d0));
}

static void test_store_watch_rm_children(void)
{
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/rmw/a/b/c", "1"));
	CU_ASSERT_TRUE(xs_watch(d0, "/rmw/a/b", "child"));
	CU_ASSERT_TRUE(h_expect(d0, "/rmw/a/b", "child"));
	CU_ASSERT_TRUE(xs_watch(d0, "/rmw", "top"));
	CU_ASSERT_TRUE(h_expect(d0, "/rmw", "top"));
	CU_ASSERT_TRUE(xs_rm(d0, XBT_NULL, "/rmw/a"));
	/* Bottom-up: the watched child exactly, then the removed root for
	 * the watch above it. */
	CU_ASSERT_TRUE(h_expect(d0, "/rmw/a/b", "child"));
	CU_ASSERT_TRUE(h_expect(d0, "/rmw/a", "top"));
	CU_ASSERT_TRUE(xs_unwatch(d0, "/rmw/a/b", "child"));
	CU_ASSERT_TRUE(xs_unwatch(d0, "/rmw", "top"));
}

static void test_store_watch_relative(void)
{
	CU_ASSERT_TRUE(xs_watch(g1, "data/rw", "rel"));
	CU_ASSERT_TRUE(h_expect(g1, "data/rw", "rel"));
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "/local/domain/1/data/rw/x", "1"));
	CU_ASSERT_TRUE(h_expect(g1, "data/rw/x", "rel"));
	CU_ASSERT_TRUE(xs_unwatch(g1, "data/rw", "rel"));
}

static void test_store_watch_unreadable(void)
{
	char *v;

	/* Guest 1 watches in guest 2's area: no event for what it cannot
	 * read, nor for a node whose parent it cannot read. */
	CU_ASSERT_TRUE(xs_watch(g1, "/local/domain/2/data", "spy"));
	CU_ASSERT_TRUE(h_expect(g1, "/local/domain/2/data", "spy"));
	CU_ASSERT_TRUE(wr(g2, XBT_NULL, "/local/domain/2/data/secret", "s3cret"));
	CU_ASSERT_TRUE(h_no_event(g1, d0));
	/* Readable parent: the event fires (xenstored's rule), but the
	 * value stays private. */
	CU_ASSERT_TRUE(wr(g2, XBT_NULL, "/local/domain/2/data/pub/hidden", ""));
	struct xs_permissions pub[2] = { { .id = 2, .perms = XS_PERM_NONE },
					 { .id = 1, .perms = XS_PERM_READ } };
	CU_ASSERT_TRUE(xs_set_permissions(g2, XBT_NULL, "/local/domain/2/data/pub",
					  pub, 2));
	CU_ASSERT_TRUE(h_expect(g1, "/local/domain/2/data/pub", "spy"));
	CU_ASSERT_TRUE(wr(g2, XBT_NULL, "/local/domain/2/data/pub/hidden", "v"));
	CU_ASSERT_TRUE(h_expect(g1, "/local/domain/2/data/pub/hidden", "spy"));
	v = rd(g1, XBT_NULL, "/local/domain/2/data/pub/hidden");
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(errno, EACCES);
	free(v);
	CU_ASSERT_TRUE(xs_unwatch(g1, "/local/domain/2/data", "spy"));
}

static void test_store_watch_quota(void)
{
	char p[64];
	int i, ok = 1;

	for (i = 0; i < 128 && ok; i++) {
		snprintf(p, sizeof(p), "data/q%d", i);
		ok = xs_watch(g2, p, "q");
	}
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_FALSE(xs_watch(g2, "data/one-too-many", "q"));
	CU_ASSERT_EQUAL(errno, E2BIG);
	for (i = 0; i < 128; i++) {
		snprintf(p, sizeof(p), "data/q%d", i);
		xs_unwatch(g2, p, "q");
	}
	/* Initial events of those watches are still queued: drain them. */
	for (i = 0; i < 128; i++) {
		snprintf(p, sizeof(p), "data/q%d", i);
		CU_ASSERT_TRUE(h_expect(g2, p, "q"));
	}
}

static void release2(void *arg)
{
	*(int *)arg = sim_store_domain_release(H.st, 2);
}

static void introduce3(void *arg)
{
	char path[128];

	h_sock(3, path, sizeof(path));
	*(int *)arg = sim_store_listen(H.st, 3, path) ||
		      sim_store_domain_introduce(H.st, 3, "guest3");
}

static void test_store_special_watches(void)
{
	int rc = -1;

	CU_ASSERT_TRUE(xs_watch(d0, "@introduceDomain", "intro"));
	CU_ASSERT_TRUE(h_expect(d0, "@introduceDomain", "intro"));
	CU_ASSERT_TRUE(xs_watch(d0, "@releaseDomain", "rel"));
	CU_ASSERT_TRUE(h_expect(d0, "@releaseDomain", "rel"));
	/* A guest may watch them but, lacking permission, hears nothing
	 * after the initial event. */
	CU_ASSERT_TRUE(xs_watch(g1, "@releaseDomain", "grel"));
	CU_ASSERT_TRUE(h_expect(g1, "@releaseDomain", "grel"));

	h_call(introduce3, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(h_expect(d0, "@introduceDomain", "intro"));
	CU_ASSERT_TRUE(value_is(d0, "/local/domain/3/name", "guest3"));

	CU_ASSERT_TRUE(wr(g2, XBT_NULL, "data/before-release", "1"));
	struct xs_permissions own2 = { .id = 2, .perms = XS_PERM_NONE };
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/owned-by-2", ""));
	CU_ASSERT_TRUE(xs_set_permissions(d0, XBT_NULL, "/owned-by-2", &own2, 1));
	h_call(release2, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(h_expect(d0, "@releaseDomain", "rel"));
	CU_ASSERT_PTR_NULL(rd(d0, XBT_NULL, "/local/domain/2"));
	/* What it owned elsewhere is domain 0's now (its id may come back). */
	struct xs_permissions *pp = xs_get_permissions(d0, XBT_NULL, "/owned-by-2",
						       &(unsigned){0});
	CU_ASSERT_TRUE(pp && pp[0].id == 0);
	free(pp);
	CU_ASSERT_FALSE(xs_is_domain_introduced(d0, 2));
	/* Guest 2's connection is gone with it. */
	CU_ASSERT_PTR_NULL(rd(g2, XBT_NULL, "domid"));
	CU_ASSERT_TRUE(h_no_event(g1, d0));

	/* The toolstack may let a guest see them (as a changed node, the
	 * permission change itself fires too). */
	struct xs_permissions see[2] = { { .id = 0, .perms = XS_PERM_NONE },
					 { .id = 1, .perms = XS_PERM_READ } };
	CU_ASSERT_TRUE(xs_set_permissions(d0, XBT_NULL, "@releaseDomain", see, 2));
	CU_ASSERT_TRUE(h_expect(d0, "@releaseDomain", "rel"));
	CU_ASSERT_TRUE(h_expect(g1, "@releaseDomain", "grel"));

	/* INTRODUCE and RELEASE over the wire. */
	CU_ASSERT_TRUE(xs_introduce_domain(d0, 9, 0, 0));
	CU_ASSERT_TRUE(h_expect(d0, "@introduceDomain", "intro"));
	CU_ASSERT_TRUE(xs_is_domain_introduced(d0, 9));
	CU_ASSERT_TRUE(xs_release_domain(d0, 9));
	CU_ASSERT_TRUE(h_expect(d0, "@releaseDomain", "rel"));
	CU_ASSERT_TRUE(h_expect(g1, "@releaseDomain", "grel"));
	CU_ASSERT_FALSE(xs_is_domain_introduced(d0, 9));
	CU_ASSERT_FALSE(xs_release_domain(d0, 9));
	CU_ASSERT_EQUAL(errno, ENOENT);
	xs_unwatch(d0, "@introduceDomain", "intro");
	xs_unwatch(d0, "@releaseDomain", "rel");
	xs_unwatch(g1, "@releaseDomain", "grel");
}

/* ---- permissions ------------------------------------------------------------ */

static void test_store_perms_guest_denied(void)
{
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/local/domain/0/backend/vif/1/0/mac", "00:16:3e:00:00:01"));
	CU_ASSERT_PTR_NULL(rd(g1, XBT_NULL, "/local/domain/0/backend/vif/1/0/mac"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_FALSE(wr(g1, XBT_NULL, "/local/domain/0/backend/vif/1/0/mac", "x"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "data/mine", "1"));
	CU_ASSERT_PTR_NULL(rd(g2, XBT_NULL, "/local/domain/1/data/mine"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_FALSE(wr(g2, XBT_NULL, "/local/domain/1/data/mine", "x"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_FALSE(xs_rm(g2, XBT_NULL, "/local/domain/1/data/mine"));
	CU_ASSERT_EQUAL(errno, EACCES);
	/* Not even whether a node exists leaks. */
	CU_ASSERT_PTR_NULL(rd(g2, XBT_NULL, "/local/domain/1/data/nonexistent"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_PTR_NULL(xs_directory(g1, XBT_NULL, "/", &(unsigned){0}));
	CU_ASSERT_EQUAL(errno, EACCES);
	/* Domain 0 sees everything. */
	CU_ASSERT_TRUE(value_is(d0, "/local/domain/1/data/mine", "1"));
}

static void test_store_perms_granted_inherited(void)
{
	struct xs_permissions grant[2] = { { .id = 0, .perms = XS_PERM_NONE },
					   { .id = 1, .perms = XS_PERM_READ | XS_PERM_WRITE } };
	struct xs_permissions *p;
	unsigned n;

	CU_ASSERT_TRUE(xs_mkdir(d0, XBT_NULL, "/local/domain/0/backend/vif/1/1"));
	CU_ASSERT_TRUE(xs_set_permissions(d0, XBT_NULL, "/local/domain/0/backend/vif/1/1",
					  grant, 2));
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "/local/domain/0/backend/vif/1/1/sub/key", "v"));
	CU_ASSERT_TRUE(value_is(g1, "/local/domain/0/backend/vif/1/1/sub/key", "v"));
	/* A guest's new nodes inherit the parent's perms, owned by it. */
	p = xs_get_permissions(d0, XBT_NULL, "/local/domain/0/backend/vif/1/1/sub/key", &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(p[0].id, 1);
	CU_ASSERT_EQUAL(p[0].perms, XS_PERM_NONE);
	CU_ASSERT_EQUAL(p[1].id, 1);
	CU_ASSERT_EQUAL(p[1].perms, XS_PERM_READ | XS_PERM_WRITE);
	free(p);
	/* Domain 0's new nodes inherit unchanged. */
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/local/domain/0/backend/vif/1/1/state", "1"));
	p = xs_get_permissions(g1, XBT_NULL, "/local/domain/0/backend/vif/1/1/state", &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p[0].id, 0);
	free(p);
	CU_ASSERT_PTR_NULL(rd(g2, XBT_NULL, "/local/domain/0/backend/vif/1/1/state"));
	CU_ASSERT_EQUAL(errno, EACCES);
	/* Only the owner may change perms, and a guest may not give a node
	 * away. */
	CU_ASSERT_FALSE(xs_set_permissions(g1, XBT_NULL, "/local/domain/0/backend/vif/1/1",
					   grant, 2));
	CU_ASSERT_EQUAL(errno, EACCES);
	struct xs_permissions away = { .id = 2, .perms = XS_PERM_NONE };
	CU_ASSERT_FALSE(xs_set_permissions(g1, XBT_NULL, "data/mine", &away, 1));
	CU_ASSERT_EQUAL(errno, EPERM);
	struct xs_permissions share[2] = { { .id = 1, .perms = XS_PERM_NONE },
					   { .id = 2, .perms = XS_PERM_READ } };
	CU_ASSERT_TRUE(xs_set_permissions(g1, XBT_NULL, "data/mine", share, 2));
	CU_ASSERT_TRUE(value_is(g2, "/local/domain/1/data/mine", "1"));
}

/* ---- quotas ------------------------------------------------------------------ */

static void test_store_node_quota(void)
{
	char p[64];
	int i, ok = 1;

	/* Guest 1 already owns some nodes; fill up to the 1000 limit. */
	for (i = 0; i < 1100 && ok; i++) {
		snprintf(p, sizeof(p), "data/quota/n%d", i);
		ok = wr(g1, XBT_NULL, p, "x");
	}
	CU_ASSERT_FALSE(ok);
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_TRUE(i > 900);
	/* Removing frees quota; the connection is fine. */
	CU_ASSERT_TRUE(xs_rm(g1, XBT_NULL, "data/quota"));
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "data/after-quota", "ok"));
}

static void test_store_value_quota(void)
{
	char *big = malloc(3001), *r;
	unsigned len;

	memset(big, 'v', 3000);
	big[3000] = '\0';
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "data/big", big));
	r = xs_control_command(d0, "quota", "value-size\0" "2048", 16);
	CU_ASSERT_PTR_NOT_NULL(r);
	free(r);
	CU_ASSERT_FALSE(wr(g1, XBT_NULL, "data/big", big));
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_TRUE(wr(d0, XBT_NULL, "/big", big));	/* dom0 is exempt */
	r = xs_read(d0, XBT_NULL, "/big", &len);
	CU_ASSERT_EQUAL(len, 3000);
	free(r);
	r = xs_control_command(d0, "quota", "value-size\0" "4096", 16);
	free(r);
	free(big);
}

static void test_store_control(void)
{
	char *r = xs_control_command(d0, "log", NULL, 0);

	CU_ASSERT_PTR_NOT_NULL(r);
	free(r);
	r = xs_control_command(d0, "log", "debug", 6);
	CU_ASSERT_PTR_NOT_NULL(r);
	free(r);
	r = xs_control_command(d0, "log", NULL, 0);
	CU_ASSERT_TRUE(r && !strcmp(r, "debug"));
	free(r);
	r = xs_control_command(d0, "log", "warn", 5);
	free(r);
	r = xs_control_command(d0, "dump", "/local/domain/1/control", 24);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "/local/domain/1/control/shutdown = \"poweroff\" (n1)"));
	free(r);
	r = xs_control_command(g1, "dump", NULL, 0);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(errno, EACCES);
}

static void test_store_set_target(void)
{
	CU_ASSERT_TRUE(wr(g2, XBT_NULL, "data/for-target", "t"));
	CU_ASSERT_PTR_NULL(rd(g1, XBT_NULL, "/local/domain/2/data/for-target"));
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_FALSE(xs_set_target(g1, 1, 2));	/* dom0 only */
	CU_ASSERT_EQUAL(errno, EACCES);
	CU_ASSERT_FALSE(xs_set_target(d0, 1, 42));	/* no such domain */
	CU_ASSERT_EQUAL(errno, ENOENT);
	/* Domain 1 now acts for domain 2 (as a device model would). */
	CU_ASSERT_TRUE(xs_set_target(d0, 1, 2));
	CU_ASSERT_TRUE(value_is(g1, "/local/domain/2/data/for-target", "t"));
	CU_ASSERT_TRUE(wr(g1, XBT_NULL, "/local/domain/2/data/from-dm", "1"));
	/* One way only. */
	CU_ASSERT_PTR_NULL(rd(g2, XBT_NULL, "/local/domain/1/data/rel"));
	CU_ASSERT_EQUAL(errno, EACCES);
}

int main(void)
{
	static const struct cunit_case tests[] = {
		{ "basic_ops", test_store_basic_ops },
		{ "binary_value", test_store_binary_value },
		{ "directory_part", test_store_directory_part },
		{ "domain_path", test_store_domain_path },
		{ "skeleton", test_store_skeleton },
		{ "txn_commit", test_store_txn_commit },
		{ "txn_abort", test_store_txn_abort },
		{ "txn_conflict", test_store_txn_conflict },
		{ "txn_watch_at_commit", test_store_txn_watch_at_commit },
		{ "txn_quota", test_store_txn_quota },
		{ "watch_order", test_store_watch_order },
		{ "watch_rm_children", test_store_watch_rm_children },
		{ "watch_relative", test_store_watch_relative },
		{ "watch_unreadable", test_store_watch_unreadable },
		{ "watch_quota", test_store_watch_quota },
		{ "perms_guest_denied", test_store_perms_guest_denied },
		{ "perms_granted_inherited", test_store_perms_granted_inherited },
		{ "node_quota", test_store_node_quota },
		{ "value_quota", test_store_value_quota },
		{ "control", test_store_control },
		{ "set_target", test_store_set_target },
		{ "special_watches", test_store_special_watches },
	};

	return CUNIT_RUN("store", suite_init, suite_clean, tests);
}
