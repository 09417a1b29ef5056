# tools: the `xnet` command (see the top-level Makefile).
# The program is declared once the sim's control client (common/) is in the
# tree; until then its entry point only stays out of libtools.a.
MAINS += tools/xnet_main.c
