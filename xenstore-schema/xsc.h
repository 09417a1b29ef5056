/*
 * xsc.h — the vif xenstore schema (xenstore-schema/vif.schema): parse it,
 * render it as Markdown, and check a live store (or an in-memory tree) for
 * keys that break it.
 *
 * Public API: functions return -1 (or NULL) and set errno on failure; the
 * schema parser also fills a message naming file:line and what is wrong.
 */
#ifndef XSC_H
#define XSC_H

#include <stddef.h>
#include <stdio.h>

struct xs_handle;
struct xsc_schema;
struct xsc_tree;

/* ---- the schema -------------------------------------------------------- */

/* The text of vif.schema compiled into the library (NUL-terminated). */
extern const char xsc_builtin_schema[];

/* Parse schema TEXT; NAME is used in error messages ("NAME:LINE: ..."). On
 * error returns NULL, sets errno (EINVAL, ENOMEM) and writes a one-line
 * message to ERR (if ERRLEN > 0). */
struct xsc_schema *xsc_schema_parse(const char *text, const char *name,
				    char *err, size_t errlen);
/* Read and parse FILE. */
struct xsc_schema *xsc_schema_load(const char *file, char *err, size_t errlen);
/* The schema to use at run time: $XNET_SCHEMA if set; else, next to the
 * running binary, ../share/xnet/vif.schema (installed) or
 * ../../xenstore-schema/vif.schema (source tree); else the built-in copy. */
struct xsc_schema *xsc_schema_default(char *err, size_t errlen);
/* Where S came from: a file name or "built-in". */
const char *xsc_schema_source(const struct xsc_schema *s);
/* Number of key entries (both sides). */
size_t xsc_schema_count(const struct xsc_schema *s);
void xsc_schema_free(struct xsc_schema *s);

/* Write S as Markdown (vif-keys.md) to OUT. 0, or -1 with errno. */
int xsc_render_markdown(const struct xsc_schema *s, FILE *out);

/* ---- store trees ---------------------------------------------------------- */

/* An in-memory copy of the parts of a store the checker reads. Tests build
 * one from a table; xsc_tree_from_store snapshots a live store. */
struct xsc_tree *xsc_tree_new(void);
void xsc_tree_free(struct xsc_tree *t);
/* Set absolute PATH to VALUE, creating missing parents with empty values.
 * 0, or -1 with errno (EINVAL for a malformed path). */
int xsc_tree_set(struct xsc_tree *t, const char *path, const char *value);
/* The value at PATH, or NULL when there is no such node. */
const char *xsc_tree_get(const struct xsc_tree *t, const char *path);
/* Snapshot, in one read-only transaction (retried on EAGAIN), every device
 * directory the schema's dir patterns name. NULL with errno on failure. */
struct xsc_tree *xsc_tree_from_store(struct xs_handle *xs,
				     const struct xsc_schema *s);

/* ---- checking ------------------------------------------------------------- */

enum xsc_kind {
	XSC_V_UNKNOWN = 1,	/* a key the schema does not know */
	XSC_V_VALUE,		/* value of the wrong type or out of range */
	XSC_V_MISSING,		/* a required key is absent in this state */
	XSC_V_FORBIDDEN,	/* a key that must not be there (queue layout) */
	XSC_V_MISMATCH,		/* front and back do not point at each other */
	XSC_V_PEER,		/* needs a feature or limit the other side lacks */
};

struct xsc_violation {
	enum xsc_kind kind;
	const char *path;	/* the node, or where the missing one belongs */
	const char *reason;	/* one line, names the value and the rule */
};

typedef void (*xsc_report_fn)(const struct xsc_violation *v, void *arg);

/* "unknown-key", "bad-value", "missing", "forbidden", "mismatch", "peer". */
const char *xsc_kind_name(enum xsc_kind k);

/* Check every vif device in T (only those of frontend domain DOMID unless
 * DOMID is -1), calling FN for each violation. Returns the number of
 * violations, or -1 with errno. */
int xsc_check_tree(const struct xsc_tree *t, const struct xsc_schema *s,
		   int domid, xsc_report_fn fn, void *arg);
/* Snapshot XS and check it. */
int xsc_check_store(struct xs_handle *xs, const struct xsc_schema *s,
		    int domid, xsc_report_fn fn, void *arg);

/* ---- command entry points ------------------------------------------------ */

/* `check [-s SCHEMA] [DOMAIN]` (argv[0] is the subcommand name): prints
 * violations one per line ("PATH: KIND: REASON") on stdout and a summary on
 * stderr. DOMAIN is a domain id or name. Exit status: 0 clean, 1 violations
 * found, 2 usage or access error. */
int xsc_main_check(int argc, char **argv);
/* `render [SCHEMA]`: Markdown of SCHEMA (default: the run-time schema) on
 * stdout. Exit status 0, or 2 on error. */
int xsc_main_render(int argc, char **argv);
/* The xnet-schema program: `check ...`, `render ...`, `path`. */
int xsc_main(int argc, char **argv);

#endif
