/*
 * xnx_state.h — the XenbusState handshake as a table of legal transitions,
 * and a walker that finds the shortest legal path to a target state.
 * States are enum xenbus_state from xen/io/xenbus.h.
 */
#ifndef XNX_STATE_H
#define XNX_STATE_H

#include <stdbool.h>
#include <xen/io/xenbus.h>

const char *xnx_state_name(enum xenbus_state s);
/* Is FROM → TO a legal step for a device's own state? */
bool xnx_state_step_ok(enum xenbus_state from, enum xenbus_state to);
/* Fill PATH with the states after FROM up to and including TO along the
 * shortest legal path; returns its length (0 if FROM == TO) or -1 if TO
 * cannot be reached. MAX bounds PATH. */
int xnx_state_path(enum xenbus_state from, enum xenbus_state to,
		   enum xenbus_state *path, int max);
/* Parse a state key value strictly ("0".."8"). 0 or -EINVAL. */
int xnx_state_parse(const char *s, enum xenbus_state *out);

#endif
