# xnet — top-level GNU Makefile.
#
# Every folder contributes a `module.mk` fragment. All non-entry-point C files
# of a folder go into one static library (lib<folder>.a); a folder declares its
# programs as `PROGS += name` with `name_MAIN := folder/file.c`. Unit tests are
# tests/unit/test_*.c, one CUnit program each, linked against every library.
#
# Variants: B=build (plain) and B=build-asan (SAN=1: ASan + UBSan).

B   ?= build
SAN ?= 0
CC  ?= gcc

PKGS     := xenstore xengnttab xenevtchn xencontrol libmnl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wmissing-prototypes -Wshadow -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -D_GNU_SOURCE -Icommon -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lcunit -lpthread -lm
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

# Library order matters for static linking: users before what they use.
COMPONENTS := bench tools hotplug netback netfront xenstore-schema sim common
PROGS      :=
MAINS      :=

include $(wildcard */module.mk)

lib_srcs = $(filter-out $(MAINS) $(EXCLUDE_$(1)),$(wildcard $(1)/*.c))
LIBS     := $(foreach c,$(COMPONENTS),$(if $(call lib_srcs,$(c)),$(B)/lib/lib$(subst -,_,$(c)).a))

define LIB_RULE
$(B)/lib/lib$(subst -,_,$(1)).a: $$(patsubst %.c,$(B)/%.o,$$(call lib_srcs,$(1)))
	@mkdir -p $$(@D)
	$$(AR) rcs $$@ $$^
endef
$(foreach c,$(COMPONENTS),$(if $(call lib_srcs,$(c)),$(eval $(call LIB_RULE,$(c)))))

define PROG_RULE
$(B)/bin/$(1): $(B)/$$(patsubst %.c,%.o,$$($(1)_MAIN)) $$(LIBS)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $$(LIBS) $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call PROG_RULE,$(p))))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
UNIT_COMMON := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))

$(B)/tests/%: $(B)/tests/unit/%.o $(patsubst %.c,$(B)/%.o,$(UNIT_COMMON)) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(patsubst %.c,$(B)/%.o,$(UNIT_COMMON)) $(LIBS) $(LDLIBS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

BINS := $(addprefix $(B)/bin/,$(PROGS))

.PHONY: all deps build unit unit-asan integration check check-xen demo bench clean headers
all: build
build: $(LIBS) $(BINS) $(UNIT_BINS) headers

# Each public header must compile on its own.
HEADERS := $(wildcard common/*.h netfront/*.h xenstore-schema/*.h)
headers: $(patsubst %.h,$(B)/hdr/%.ok,$(HEADERS))
$(B)/hdr/%.ok: %.h
	@mkdir -p $(@D)
	@echo '#include "$<"' | $(CC) $(CFLAGS) -x c -fsyntax-only - && touch $@

deps:
	@sh tools/install-deps.sh

unit: $(UNIT_BINS) $(BINS)
	@XNET_BIN=$(abspath $(B)/bin) sh tests/run-unit.sh $(UNIT_BINS)

check: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory B=build-asan SAN=1 build
	@sh tests/run-all.sh

demo: deps build
	@XNET_BIN=$(abspath $(B)/bin) sh tools/demo.sh

bench: deps build
	@XNET_BIN=$(abspath $(B)/bin) $(B)/bin/xnet-bench $(BENCH_ARGS)
	@XNET_BIN=$(abspath $(B)/bin) $(B)/bin/xnet-store-bench

check-xen: deps build
	@XNET_BIN=$(abspath $(B)/bin) sh tests/xen/run.sh

clean:
	rm -rf build build-asan

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# Keep test objects: they are intermediates of the unit programs.
.SECONDARY:

-include tests/fuzz/fuzz.mk
-include tools/install.mk
