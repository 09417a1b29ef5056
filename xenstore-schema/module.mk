# xenstore-schema: the vif key schema (vif.schema), its validator library
# and the xnet-schema program.
PROGS += xnet-schema
xnet-schema_MAIN := xenstore-schema/schema_main.c
MAINS += $(xnet-schema_MAIN)

# The schema text is compiled into the library too, so a binary works with
# no schema file installed. The C file is generated in the build dir.
XSC_BUILTIN := $(B)/xenstore-schema/gen/builtin_schema
$(XSC_BUILTIN).c: xenstore-schema/vif.schema xenstore-schema/module.mk
	@mkdir -p $(@D)
	{ echo '/* Generated from xenstore-schema/vif.schema; do not edit. */'; \
	  echo '#include "xenstore-schema/xsc.h"'; \
	  echo 'const char xsc_builtin_schema[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; } > $@.tmp && mv $@.tmp $@
$(XSC_BUILTIN).o: $(XSC_BUILTIN).c
	$(CC) $(CFLAGS) -c -o $@ $<
$(B)/lib/libxenstore_schema.a: $(XSC_BUILTIN).o

# Regenerate the committed key table after editing vif.schema.
.PHONY: schema-doc
schema-doc: $(B)/bin/xnet-schema
	$(B)/bin/xnet-schema render xenstore-schema/vif.schema > xenstore-schema/vif-keys.md.tmp
	mv xenstore-schema/vif-keys.md.tmp xenstore-schema/vif-keys.md
