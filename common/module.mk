# common: programs built from this folder (see the top-level Makefile).

# xnet-linkid: link id ↔ name for scripts (linkid).
PROGS += xnet-linkid
xnet-linkid_MAIN := common/linkid_main.c
MAINS += $(xnet-linkid_MAIN)
