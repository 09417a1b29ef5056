/*
 * failover.h — a passthrough link and the PV vif as one interface
 * (active-backup, passthrough preferred), for xnetfront.
 *
 * The guest's interface stays the vif's TAP: its addresses and sockets live
 * there. A link in the guest's namespace with the TAP's MAC (a VF; in tests
 * a veth end), up and with carrier, is made the TAP's active path: the
 * kernel redirects what the TAP sends to the link, and what the link
 * receives into the TAP (tc mirred on clsact hooks, set up over rtnetlink).
 * When the link goes (unplugged, moved away) or loses carrier, the
 * redirects go and the TAP's frames reach xnetfront and the rings again;
 * what comes in on the rings always reaches the TAP. After each switch a
 * gratuitous ARP for the TAP's IPv4 addresses goes out the new path, so
 * bridges learn at once where the MAC now is.
 *
 * Internal API: functions return 0 or -errno unless they say otherwise.
 */
#ifndef XNF_FAILOVER_H
#define XNF_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xnx_link.h"

/* Which links may pair with a TAP. */
struct xnf_fo_match {
	uint8_t mac[6];		/* the TAP's MAC: a partner has the same */
	unsigned tap_id;	/* the TAP itself never pairs with itself */
	const char *name;	/* only the link of this name; NULL: any */
};

/* Could link L pair with the TAP (right MAC, name and kind)? */
bool xnf_fo_candidate(const struct xnx_link_info *l, const struct xnf_fo_match *m);

/* Can a candidate carry traffic now (up, with carrier)? */
bool xnf_fo_usable(const struct xnx_link_info *l);

/* The link that should be the TAP's active path among LINKS (N of them):
 * CURRENT while it stays usable (no needless switches), else the usable
 * candidate with the lowest link id; never REFUSED (a link whose
 * redirects could not be set up). 0: the PV path. */
unsigned xnf_fo_choose(const struct xnx_link_info *links, size_t n,
		       const struct xnf_fo_match *m, unsigned current,
		       unsigned refused);

/* What a change of active path is, from OLD to NEW (0: the PV path). */
enum xnf_fo_move {
	XNF_FO_STAY,		/* no change */
	XNF_FO_FAILBACK,	/* PV → passthrough */
	XNF_FO_FAILOVER,	/* passthrough → PV */
	XNF_FO_SWITCH,		/* one passthrough link → another */
};
enum xnf_fo_move xnf_fo_move(unsigned old, unsigned new_id);

/*
 * The daemon's side: one rtnetlink subscription to link changes for every
 * TAP that pairs. SPEC is "auto" (pair with any link of the TAP's MAC) or a
 * link name (only that one, and only if it has the TAP's MAC).
 */
struct xnf_failover;

/* NULL with errno set (EINVAL: SPEC is neither "auto" nor a link name). */
struct xnf_failover *xnf_fo_open(const char *spec);
/* Undo every redirect, log the totals, free. NULL is fine. */
void xnf_fo_close(struct xnf_failover *fo);
/* Readable when link changes wait: then call xnf_fo_dispatch. */
int xnf_fo_fd(const struct xnf_failover *fo);
void xnf_fo_dispatch(struct xnf_failover *fo);
/* Pair TAP (a name) from now on / no more (before the TAP is closed). */
int xnf_fo_add(struct xnf_failover *fo, const char *tap);
void xnf_fo_remove(struct xnf_failover *fo, const char *tap);

#endif
