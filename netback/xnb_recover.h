/*
 * xnb_recover.h — restart recovery (recover.c): a restarted xnetback takes
 * over the devices a previous instance left in a state past Initialising.
 */
#ifndef XNB_RECOVER_H
#define XNB_RECOVER_H

#include "xnb_vif.h"

/* At start-up, before the loop runs: probe every device under BE's root
 * that a previous instance left (state InitWait..Closed, not an offline
 * Closed one) again, reattaching to a frontend still Connected. Returns
 * how many were found. */
int xnb_recover(struct xnb_backend *be);
/* Start VIF's private ring indices at the shared rsp_prod (Linux's
 * BACK_RING_ATTACH), so a frontend that kept its rings goes on where the
 * previous instance stopped. 0, or -EPROTO (the vif is failed). */
int xnb_recover_attach(struct xnb_vif *vif);

#endif
