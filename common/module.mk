# common: programs built from this folder (see the top-level Makefile).
