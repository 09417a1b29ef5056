/*
 * state.c — the XenbusState handshake as a table of legal steps for a
 * device's own state, and the shortest legal path to a target.
 *
 * Why these steps: a frontend may go Initialising → Connected directly (Linux
 * netfront does) or through Initialised (ours); a backend goes through
 * InitWait; every connected state leaves through Closing; Closed may start
 * over (a frontend reconnecting, a backend going back to InitWait).
 */
#include <errno.h>
#include <stdlib.h>

#include "xnx_state.h"
#include "xnx_xs.h"

#define NSTATES (XenbusStateReconfigured + 1)

static const unsigned short legal[NSTATES] = {
#define S(x) (1u << XenbusState##x)
	[XenbusStateUnknown]       = S(Initialising),
	[XenbusStateInitialising]  = S(InitWait) | S(Initialised) | S(Connected) | S(Closing),
	[XenbusStateInitWait]      = S(Initialised) | S(Connected) | S(Closing),
	[XenbusStateInitialised]   = S(Connected) | S(Closing),
	[XenbusStateConnected]     = S(Closing) | S(Reconfiguring),
	[XenbusStateClosing]       = S(Closed),
	[XenbusStateClosed]        = S(Initialising) | S(InitWait),
	[XenbusStateReconfiguring] = S(Reconfigured) | S(Closing),
	[XenbusStateReconfigured]  = S(Connected) | S(Closing),
#undef S
};

const char *xnx_state_name(enum xenbus_state s)
{
	static const char *const names[NSTATES] = {
		"Unknown", "Initialising", "InitWait", "Initialised", "Connected",
		"Closing", "Closed", "Reconfiguring", "Reconfigured",
	};

	return (unsigned)s < NSTATES ? names[s] : "Invalid";
}

bool xnx_state_step_ok(enum xenbus_state from, enum xenbus_state to)
{
	if ((unsigned)from >= NSTATES || (unsigned)to >= NSTATES)
		return false;
	return legal[from] & (1u << to);
}

/* Breadth-first search over the table; NSTATES is tiny. */
int xnx_state_path(enum xenbus_state from, enum xenbus_state to,
		   enum xenbus_state *path, int max)
{
	int prev[NSTATES], queue[NSTATES], head = 0, tail = 0, n = 0;

	if ((unsigned)from >= NSTATES || (unsigned)to >= NSTATES)
		return -1;
	for (int i = 0; i < NSTATES; i++)
		prev[i] = -1;
	prev[from] = from;
	queue[tail++] = from;
	while (head < tail && prev[to] < 0) {
		int s = queue[head++];
		for (int t = 0; t < NSTATES; t++) {
			if (prev[t] < 0 && (legal[s] & (1u << t))) {
				prev[t] = s;
				queue[tail++] = t;
			}
		}
	}
	if (prev[to] < 0)
		return -1;
	for (int s = to; s != (int)from; s = prev[s])
		n++;
	if (n > max)
		return -1;
	for (int s = to, i = n - 1; s != (int)from; s = prev[s], i--)
		path[i] = (enum xenbus_state)s;
	return n;
}

int xnx_state_parse(const char *s, enum xenbus_state *out)
{
	unsigned long v;
	int rc = xnx_parse_uint(s, 0, NSTATES - 1, &v);

	if (rc < 0)
		return -EINVAL;
	*out = (enum xenbus_state)v;
	return 0;
}
