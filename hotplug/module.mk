# hotplug: xnet-hotplugd and the vif hotplug scripts, installed next to the
# programs (where xnet-hotplugd looks for a bare script name).
# The program is declared once the platform layer (common/) is in the tree;
# until then its entry point only stays out of libhotplug.a.
MAINS += hotplug/hotplugd_main.c

HOTPLUG_SCRIPTS := $(addprefix $(B)/bin/,vif-bridge vif-common.sh)
build: $(HOTPLUG_SCRIPTS)
$(HOTPLUG_SCRIPTS): $(B)/bin/%: hotplug/%
	@mkdir -p $(@D)
	cp $< $@
	chmod 755 $@
