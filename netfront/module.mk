# netfront: libxnetfront (library) and the xnetfront daemon.
PROGS += xnetfront
xnetfront_MAIN := netfront/xnetfront_main.c
MAINS += $(xnetfront_MAIN)
