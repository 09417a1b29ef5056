/*
 * xsc_int.h — the parsed schema and the store tree as the library's files
 * share them; not part of the public API (see xsc.h).
 */
#ifndef XSC_INT_H
#define XSC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "xsc.h"

#define XSC_KEY_MAX 128
#define XSC_WORD_MAX 256
#define XSC_DESC_MAX 768
#define XSC_PATTERN_MAX 256
#define XSC_STATE_ANY 0		/* req without @STATE */

enum xsc_side { XSC_BACK = 0, XSC_FRONT = 1 };
#define XSC_OTHER(side) ((side) == XSC_BACK ? XSC_FRONT : XSC_BACK)

enum xsc_type {
	XSC_T_UINT, XSC_T_BOOL, XSC_T_MAC, XSC_T_LINKID, XSC_T_GREF,
	XSC_T_EVTCHN, XSC_T_STATE, XSC_T_DOMID, XSC_T_STRING, XSC_T_IFNAME,
	XSC_T_PATH, XSC_T_RATE, XSC_T_IPLIST, XSC_T_ENUM, XSC_T_DIR,
};

enum xsc_eq { XSC_EQ_NONE, XSC_EQ_DOMID, XSC_EQ_DEVID, XSC_EQ_BDOM, XSC_EQ_PEER };
enum xsc_mq { XSC_MQ_ANY, XSC_MQ_YES, XSC_MQ_NO };

#define XSC_W_TOOLSTACK 0x1
#define XSC_W_BACKEND 0x2
#define XSC_W_FRONTEND 0x4
#define XSC_W_SCRIPT 0x8

struct xsc_entry {
	int line;
	enum xsc_side side;
	char key[XSC_KEY_MAX];		/* as written, with queue-<N> and '*' */
	bool prefix;			/* ends in '*' */
	bool per_queue;			/* has a queue-<N> segment */
	unsigned writers;		/* XSC_W_* */
	enum xsc_type type;
	char type_text[XSC_WORD_MAX];	/* TYPE as written, for the doc */
	unsigned long min, max;		/* uint range; string: max length */
	char words[XSC_WORD_MAX];	/* enum: the words, ',' separated */
	bool required;
	int from_state;			/* XSC_STATE_ANY or a XenbusState */
	enum xsc_mq mq;
	char if_key[XSC_KEY_MAX];	/* sibling names, "" when unused */
	char unless_key[XSC_KEY_MAX];
	char peer_key[XSC_KEY_MAX];
	char max_key[XSC_KEY_MAX];
	unsigned long max_def;
	bool has_must;
	char must[XSC_WORD_MAX];
	enum xsc_eq eq;
	bool empty_ok;
	char def[XSC_WORD_MAX];		/* "" when not given */
	char desc[XSC_DESC_MAX];
};

struct xsc_schema {
	char source[256];
	char dir[2][XSC_PATTERN_MAX];	/* indexed by enum xsc_side */
	struct xsc_entry *e;
	size_t n, cap;
};

/* Check value V (LEN bytes) against E's type; 0, or -1 with a one-line
 * reason in WHY. Pure. */
int xsc_value_ok(const struct xsc_entry *e, const char *v, size_t len,
		 char *why, size_t whylen);

/* Does relative path REL match E's key? On a queue-<N> match, *QUEUE gets N
 * (else -1). */
bool xsc_key_match(const struct xsc_entry *e, const char *rel, long *queue);

/* The state name for a XenbusState number; "Invalid" out of range. */
const char *xsc_state_name(int s);

/* ---- the tree ---- */

struct xsc_node {
	char *name;
	char *value;
	size_t len;		/* value length (a value may hold a NUL) */
	struct xsc_node *child;	/* first child; siblings sorted by name */
	struct xsc_node *next;
};

struct xsc_tree {
	struct xsc_node root;	/* "/" */
	size_t nodes;
};

const struct xsc_node *xsc_tree_node(const struct xsc_tree *t,
				     const char *path);
/* Like xsc_tree_set with an explicit length. */
int xsc_tree_setn(struct xsc_tree *t, const char *path, const char *value,
		  size_t len);

#endif
