# tools/install.mk — `make install` / `make uninstall`, included at the end
# of the top-level Makefile.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [SCRIPTSDIR=...] [B=build]
#
# Programs go to $(SBINDIR) together (xnet finds the daemons, and
# xnet-hotplugd its default scripts, next to itself); the vif scripts to
# $(SCRIPTSDIR), an /etc/xen/scripts-style directory of their own by default
# (Xen ships scripts of the same names in /etc/xen/scripts: set
# SCRIPTSDIR=/etc/xen/scripts to replace those on purpose); man pages,
# the vif schema, systemd units and /etc/default/xnet (which tells the
# units where the scripts are). Nothing outside $(DESTDIR) is touched.

PREFIX         ?= /usr/local
SBINDIR        ?= $(PREFIX)/sbin
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
SYSCONFDIR     ?= /etc
SCRIPTSDIR     ?= $(SYSCONFDIR)/xnet/scripts
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
RUNDIR         ?= /run/xnet
INSTALL        ?= install

XNET_INSTALL_PROGS := xnet xnetback xnetfront xnet-hotplugd xnet-simd xnet-bench \
		      xnet-schema xnet-linkid
XNET_SCRIPTS       := $(wildcard hotplug/vif-*)
XNET_MAN1          := $(wildcard man/*.1)
XNET_MAN8          := $(wildcard man/*.8)
XNET_UNITS         := $(wildcard tools/systemd/*.service)

# The units name the installed paths: filled in at install time.
XNET_UNIT_SED := -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		 -e 's|@SCRIPTSDIR@|$(SCRIPTSDIR)|g' -e 's|@RUNDIR@|$(RUNDIR)|g'

.PHONY: install uninstall install-man
install: $(addprefix $(B)/bin/,$(XNET_INSTALL_PROGS)) install-man
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SCRIPTSDIR) \
		$(DESTDIR)$(DATADIR)/xnet $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/default
	$(INSTALL) -m 755 $(addprefix $(B)/bin/,$(XNET_INSTALL_PROGS)) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 755 $(filter-out %.sh,$(XNET_SCRIPTS)) $(DESTDIR)$(SCRIPTSDIR)/
	$(INSTALL) -m 644 $(filter %.sh,$(XNET_SCRIPTS)) $(DESTDIR)$(SCRIPTSDIR)/
	$(INSTALL) -m 644 xenstore-schema/vif.schema $(DESTDIR)$(DATADIR)/xnet/
	for u in $(XNET_UNITS); do \
		sed $(XNET_UNIT_SED) "$$u" > $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}.tmp && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}.tmp && \
		mv $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/}; \
	done
	@# An existing /etc/default/xnet is the administrator's: left alone.
	test -e $(DESTDIR)$(SYSCONFDIR)/default/xnet || \
		sed $(XNET_UNIT_SED) tools/systemd/xnet.default > $(DESTDIR)$(SYSCONFDIR)/default/xnet

install-man:
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 644 $(XNET_MAN1) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 $(XNET_MAN8) $(DESTDIR)$(MANDIR)/man8/

# Removes what install put there (not /etc/default/xnet: it may be edited).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(XNET_INSTALL_PROGS))
	rm -f $(addprefix $(DESTDIR)$(SCRIPTSDIR)/,$(notdir $(XNET_SCRIPTS)))
	rm -f $(DESTDIR)$(DATADIR)/xnet/vif.schema
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(XNET_MAN1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(XNET_MAN8)))
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(XNET_UNITS)))
	-rmdir $(DESTDIR)$(SCRIPTSDIR) $(DESTDIR)$(DATADIR)/xnet 2>/dev/null

# Every man page must render without a warning.
.PHONY: man-check
man-check:
	@for m in $(XNET_MAN1) $(XNET_MAN8); do \
		out=$$(groff -ww -z -man "$$m" 2>&1) && [ -z "$$out" ] || \
			{ echo "$$m: $$out"; exit 1; }; \
	done; echo "man pages: $(words $(XNET_MAN1) $(XNET_MAN8)) render cleanly"
