# netback: the xnetback daemon (see the top-level Makefile).
PROGS += xnetback
xnetback_MAIN := netback/xnetback_main.c
MAINS += $(xnetback_MAIN)
