# hotplug: xnet-hotplugd and the vif hotplug scripts, installed next to the
# programs (where xnet-hotplugd looks for a bare script name).
PROGS += xnet-hotplugd
xnet-hotplugd_MAIN := hotplug/hotplugd_main.c
MAINS += $(xnet-hotplugd_MAIN)

HOTPLUG_SCRIPTS := $(addprefix $(B)/bin/,vif-bridge vif-route vif-vnic vif-openvswitch \
	vif-common.sh vif-pool.sh)
build: $(HOTPLUG_SCRIPTS)
$(HOTPLUG_SCRIPTS): $(B)/bin/%: hotplug/%
	@mkdir -p $(@D)
	cp $< $@
	chmod 755 $@
