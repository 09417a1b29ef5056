# tests/fuzz/fuzz.mk — libFuzzer targets (included from the top-level
# Makefile, whose COMPONENTS, MAINS and lib_srcs it reuses).
#
#   make fuzz                      build every tests/fuzz/fuzz_*.c into $(FUZZ_B)/
#   make fuzz-run [FUZZ_SECONDS=N] run each target N seconds on its corpus
#   make fuzz-clean                remove $(FUZZ_B)
#
# The sources under test are compiled again with clang, with the fuzzer's
# coverage instrumentation plus ASan and UBSan (UB aborts), into libraries
# of their own: the gcc-built ones are never linked in.

FUZZ_B       ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -std=gnu11 -D_GNU_SOURCE -Icommon -I. $(PKG_CFLAGS) \
		-Wall -Wextra -Wmissing-prototypes -Wshadow -Wno-unused-parameter \
		$(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP
# Targets are ours: warnings are errors. The code under test keeps its
# warnings visible, but a clang-only warning must not stop the fuzz build.
FUZZ_TFLAGS  := -Werror
FUZZ_LDLIBS  := $(PKG_LIBS) -lpthread -lm

# Only what the targets reach; libraries ordered as in the top-level build.
# Of the command line (tools/) only the pure vifspec parser is needed.
FUZZ_COMPONENTS := tools netback netfront xenstore-schema sim common
FUZZ_SRCS_tools := tools/vifspec.c
fuzz_lib_srcs    = $(or $(FUZZ_SRCS_$(1)),$(call lib_srcs,$(1)))
FUZZ_LIBS := $(foreach c,$(FUZZ_COMPONENTS),\
	$(if $(call fuzz_lib_srcs,$(c)),$(FUZZ_B)/lib/lib$(subst -,_,$(c)).a))

define FUZZ_LIB_RULE
$(FUZZ_B)/lib/lib$(subst -,_,$(1)).a: $$(patsubst %.c,$(FUZZ_B)/obj/%.o,$$(call fuzz_lib_srcs,$(1)))
	@mkdir -p $$(@D)
	rm -f $$@ && $$(AR) rcs $$@ $$^
endef
$(foreach c,$(FUZZ_COMPONENTS),$(if $(call fuzz_lib_srcs,$(c)),$(eval $(call FUZZ_LIB_RULE,$(c)))))

# The schema library's built-in copy of vif.schema, generated as the
# xenstore-schema module does for the main build.
FUZZ_XSC_BUILTIN := $(FUZZ_B)/obj/gen/builtin_schema
$(FUZZ_XSC_BUILTIN).c: xenstore-schema/vif.schema
	@mkdir -p $(@D)
	{ echo '#include "xenstore-schema/xsc.h"'; \
	  echo 'const char xsc_builtin_schema[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; } > $@.tmp && mv $@.tmp $@
$(FUZZ_XSC_BUILTIN).o: $(FUZZ_XSC_BUILTIN).c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_B)/lib/libxenstore_schema.a: $(FUZZ_XSC_BUILTIN).o

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/obj/tests/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_TFLAGS) -c -o $@ $<

# A target whose code under test is not in the tree yet (its source names
# a header that does not exist) is left out rather than breaking the build.
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
fuzz_ready    = $(shell sed -n 's/^\/\* fuzz-requires: \(.*\) \*\/$$/\1/p' $(1))
FUZZ_READY   := $(foreach s,$(FUZZ_SRCS),$(if $(strip $(foreach f,$(call fuzz_ready,$(s)),$(if $(wildcard $(f)),,missing))),,$(s)))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(FUZZ_READY))

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIBS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIBS) $(FUZZ_LDLIBS)

.PRECIOUS: $(FUZZ_B)/obj/tests/fuzz/%.o
.PHONY: fuzz fuzz-run fuzz-clean
fuzz: $(FUZZ_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_B)

fuzz-run: fuzz
	@sh tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

-include $(shell find $(FUZZ_B)/obj -name '*.d' 2>/dev/null)
