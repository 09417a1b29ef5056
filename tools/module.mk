# tools: the `xnet` command (see the top-level Makefile).
PROGS += xnet
xnet_MAIN := tools/xnet_main.c
MAINS += $(xnet_MAIN)
