# bmd: GNU make build.  `make`, `make check`, `make install PREFIX=...`.

# Install directories, built into the binaries (see build/dirs.stamp).
# Defaults fit FreeBSD ports (PREFIX=/usr/local: config in /usr/local/etc);
# PREFIX=/usr gives Debian's (/etc, /var).
PREFIX		?= /usr/local
LOCALBASE	?= /usr/local
ifeq ($(PREFIX),/usr)
SYSCONFDIR	?= /etc
LOCALSTATEDIR	?= /var
else
SYSCONFDIR	?= $(PREFIX)/etc
LOCALSTATEDIR	?= $(PREFIX)/var
endif
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec/bmd
MANDIR		?= $(PREFIX)/share/man
INCLUDEDIR	?= $(PREFIX)/include
PKGCONFIGDIR	?= $(PREFIX)/lib/pkgconfig
DATADIR		?= $(PREFIX)/share
UNAME		:= $(shell uname -s)
# The platform layer of the build host (src/platform/PLATFORM*.c).
# FreeBSD's libc has dlopen: there is no libdl.
ifeq ($(UNAME),FreeBSD)
RUNDIR		?= /var/run
PLATFORM	:= freebsd
DL_LIBS		:=
else
RUNDIR		?= /run
PLATFORM	:= linux
DL_LIBS		:= -ldl
endif
SYSTEMDUNITDIR	?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR	?= $(DATADIR)/bash-completion/completions
ifeq ($(PREFIX),/usr)
ZSHCOMPDIR	?= $(DATADIR)/zsh/vendor-completions
else
ZSHCOMPDIR	?= $(DATADIR)/zsh/site-functions
endif
DESTDIR		?=
CC		?= cc
CFLAGS		?= -O2 -g
WERROR		?= 1
# SANITIZE=1: AddressSanitizer and UndefinedBehaviorSanitizer, in
# build-san/ so that the two builds never mix objects.
SANITIZE	?= 0
ifeq ($(SANITIZE),1)
BUILD		?= build-san
SAN_FLAGS	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		   -fno-omit-frame-pointer
CFLAGS		+= $(SAN_FLAGS)
LDFLAGS		+= $(SAN_FLAGS)
else
BUILD		?= build
endif

WARN_FLAGS := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	   -Wpointer-arith -Wno-unused-parameter
WARN	:= $(WARN_FLAGS)
ifeq ($(WERROR),1)
WARN	+= -Werror
endif
PKGS	:= libevent jansson
DIRS_CPPFLAGS := -DLOCALBASE=\"$(LOCALBASE)\" \
	   -DBMD_SYSCONFDIR=\"$(SYSCONFDIR)\" -DBMD_LIBEXECDIR=\"$(LIBEXECDIR)\" \
	   -DBMD_LOCALSTATEDIR=\"$(LOCALSTATEDIR)\" -DBMD_RUNDIR=\"$(RUNDIR)\"
SRC_CPPFLAGS := -D_GNU_SOURCE $(DIRS_CPPFLAGS) \
	   -Isrc/common -Isrc/conf -Isrc/backend -Isrc/platform -Iinclude
ALL_CPPFLAGS := $(SRC_CPPFLAGS) $(shell pkg-config --cflags $(PKGS)) \
	   $(CPPFLAGS)
ALL_CFLAGS := -std=c17 $(WARN) $(CFLAGS)
LIBS	:= $(shell pkg-config --libs $(PKGS)) $(LDLIBS)

# The backends' runtime halves (src/backend/NAME_run.c) are the daemon's.
RUN_SRCS := $(wildcard src/backend/*_run.c) src/backend/qmp.c \
	    src/backend/qemu_fds.c src/backend/runtime.c
PORTABLE_SRCS := $(filter-out $(RUN_SRCS), \
	    $(wildcard src/common/*.c src/conf/*.c src/backend/*.c))
LIB_SRCS := $(PORTABLE_SRCS) src/platform/posix.c \
	    $(wildcard src/platform/$(PLATFORM)*.c)
BMD_SRCS := $(wildcard src/bmd/*.c) $(RUN_SRCS)
CTL_SRCS := $(wildcard src/bmdctl/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
# plugins/NAME/*.c -> build/plugins/NAME.so (include/bmd/plugin.h only)
PLUGIN_NAMES := $(patsubst plugins/%/,%,$(wildcard plugins/*/))
PLUGINS	:= $(patsubst %,$(BUILD)/plugins/%.so,$(PLUGIN_NAMES))
# the example plugin is built and tested, not installed
INSTALL_PLUGINS := $(filter-out $(BUILD)/plugins/example.so,$(PLUGINS))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB	:= $(BUILD)/libbmd.a
UNITS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

all: $(BUILD)/bmd $(BUILD)/bmdctl $(PLUGINS)

# Rebuild everything when an install directory changes.
DIRS_STAMP := $(BUILD)/dirs.stamp
$(DIRS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(DIRS_CPPFLAGS)' | cmp -s - $@ 2>/dev/null || \
	    echo '$(DIRS_CPPFLAGS)' > $@

$(BUILD)/%.o: %.c $(DIRS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(call obj,$(RUN_SRCS)): ALL_CPPFLAGS += -Isrc/bmd

$(LIB): $(call obj,$(LIB_SRCS))
	$(AR) rcs $@ $^

# plugin.exports: the only symbols plugins can bind to
$(BUILD)/bmd: $(call obj,$(BMD_SRCS)) $(LIB) src/bmd/plugin.exports
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) \
	    -Wl,--dynamic-list=src/bmd/plugin.exports -o $@ \
	    $(filter-out %.exports,$^) $(LIBS) $(DL_LIBS)

$(BUILD)/bmdctl: $(call obj,$(CTL_SRCS)) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# test_fsm includes the table itself
$(BUILD)/tests/test_fsm: src/bmd/fsm.c src/bmd/bmd.h

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LIBS) -lcmocka

# Lazy binding: bmdctl reads a plugin's keys without the daemon's API.
.SECONDEXPANSION:
$(BUILD)/plugins/%.so: $$(wildcard plugins/$$*/*.c) include/bmd/plugin.h
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(ALL_CFLAGS) -fPIC -shared -Wl,-z,lazy $(LDFLAGS) \
	    -o $@ $(filter %.c,$^)

# ---- tests: every tier runs from `make check` ----
.PHONY: check-sanitize
.PHONY: all check check-unit check-conf check-bhyve check-man check-e2e fuzz \
	fuzz-proto fuzz-inspect check-fuzz check-freebsd guest install uninstall clean \
	bench FORCE

# The builds use both cores (CI has 40 minutes); the tiers run one after
# the other, in this order, and stop at the first that fails.
check:
	$(MAKE) -j2 all $(UNITS)
	$(MAKE) check-unit check-conf check-bhyve check-man check-freebsd \
	    check-fuzz check-e2e check-sanitize

check-unit: $(UNITS)
	@fail=0; for t in $(UNITS); do echo "== $$t"; $$t || fail=1; done; \
	    exit $$fail

check-conf: all
	sh tests/conf/run.sh $(BUILD)/bmd $(BUILD)/bmdctl

check-bhyve: all
	BMDCTL=$(abspath $(BUILD)/bmdctl) sh tests/bhyve/run.sh

# mandoc -Tlint -W style, clean for every page.  Cross-references to
# pages this host lacks (bhyve(8) on Linux, or ours before they are
# installed) depend on the host's manual database, not on the page.
MANPAGES := $(wildcard man/*.[1-9])
check-man:
	@fail=0; for m in $(MANPAGES); do \
	    out=$$(mandoc -Tlint -W style $$m 2>&1 | grep -v \
	        -e 'referenced manual not found' -e 'outdated mandoc.db'); \
	    if [ -n "$$out" ]; then echo "$$out"; fail=1; \
	    else echo "PASS $$m"; fi; done; exit $$fail

# Every source file of the daemon, the client, libbmd and the plugins,
# as built for FreeBSD (freebsd*.c for linux*.c), compiled against
# FreeBSD 14's headers with the project's warnings and -Werror.  A
# syntax and type check only: nothing is linked, nothing runs.  The
# sysroot brings event2/ and jansson.h, so no pkg-config flags.
FREEBSD_CC ?= ../shared/tools/freebsd-cc
FBSD_SRCS := $(PORTABLE_SRCS) src/platform/posix.c \
	    $(wildcard src/platform/freebsd*.c) \
	    $(BMD_SRCS) $(CTL_SRCS)
FBSD_PLUGIN_SRCS := $(wildcard plugins/*/*.c)
FBSD_CFLAGS := -std=c17 $(WARN_FLAGS) -Werror
check-freebsd:
	@test -x $(FREEBSD_CC) || { echo "$(FREEBSD_CC): not found" \
	    "(set FREEBSD_CC)"; exit 1; }
	@fail=0; n=0; \
	for f in $(FBSD_SRCS); do n=$$((n + 1)); \
	    if $(FREEBSD_CC) $(SRC_CPPFLAGS) -Isrc/bmd $(FBSD_CFLAGS) $$f; \
	    then echo "PASS $$f"; else echo "FAIL $$f"; fail=$$((fail + 1)); \
	    fi; done; \
	for f in $(FBSD_PLUGIN_SRCS); do n=$$((n + 1)); \
	    if $(FREEBSD_CC) -Iinclude $(FBSD_CFLAGS) $$f; \
	    then echo "PASS $$f"; else echo "FAIL $$f"; fail=$$((fail + 1)); \
	    fi; done; \
	echo "check-freebsd: $$((n - fail)) of $$n files compile for FreeBSD"; \
	test $$fail -eq 0

guest:
	$(MAKE) -C tests/guest

check-e2e: all guest
	BMD_BUILD=$(abspath $(BUILD)) tests/e2e/run.sh

# The unit tests, and the end-to-end files that drive the daemon hardest
# (faults, re-adoption, hostile users and images, the control socket), once more
# with ASan and UBSan: any report fails the run.
SAN_E2E ?= test_adopt.py test_status.py test_faults.py test_socket.py test_events.py \
	test_nss.py test_syslog.py \
	test_bhyve.py test_bhyve_inspect.py \
	$(notdir $(wildcard tests/e2e/test_isolation_*.py))
check-sanitize: guest
	$(MAKE) -j2 SANITIZE=1 all
	# leaks of test scaffolding are not the daemon's: reported in e2e only
	ASAN_OPTIONS=detect_leaks=0 $(MAKE) SANITIZE=1 check-unit
	BMD_BUILD=$(abspath build-san) tests/e2e/run.sh $(SAN_E2E)

FUZZ_CC	?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
$(BUILD)/conf-fuzzer: tests/fuzz/conf_fuzz.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=c17 $(FUZZ_FLAGS) -o $@ \
	    tests/fuzz/conf_fuzz.c $(LIB_SRCS) $(LIBS)

# The control protocol: the daemon without its main() (bmd.c).
FUZZ_BMD_SRCS := $(filter-out src/bmd/bmd.c,$(BMD_SRCS))
$(BUILD)/proto-fuzzer: tests/fuzz/proto_fuzz.c $(FUZZ_BMD_SRCS) $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -Isrc/bmd -std=c17 $(FUZZ_FLAGS) -o $@ \
	    tests/fuzz/proto_fuzz.c $(FUZZ_BMD_SRCS) $(LIB_SRCS) $(LIBS) \
	    $(DL_LIBS)

fuzz-proto: $(BUILD)/proto-fuzzer
	mkdir -p $(BUILD)/proto-corpus
	$(BUILD)/proto-fuzzer -max_total_time=$${FUZZ_SECONDS:-300} \
	    -artifact_prefix=$(BUILD)/proto- \
	    -dict=tests/fuzz/proto.dict $(BUILD)/proto-corpus \
	    tests/fuzz/proto-seeds

# The image readers of loadcmd/installcmd = auto (guests write the images).
$(BUILD)/inspect-fuzzer: tests/fuzz/inspect_fuzz.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=c17 $(FUZZ_FLAGS) -o $@ \
	    tests/fuzz/inspect_fuzz.c $(LIB_SRCS) $(LIBS)

fuzz-inspect: $(BUILD)/inspect-fuzzer
	tests/fuzz/inspect-seeds $(BUILD)/inspect-seeds
	mkdir -p $(BUILD)/inspect-corpus
	$(BUILD)/inspect-fuzzer -max_total_time=$${FUZZ_SECONDS:-300} \
	    -artifact_prefix=$(BUILD)/inspect- $(BUILD)/inspect-corpus \
	    $(BUILD)/inspect-seeds

fuzz: $(BUILD)/conf-fuzzer
	mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/conf-fuzzer -max_total_time=$${FUZZ_SECONDS:-300} \
	    -artifact_prefix=$(BUILD)/ \
	    -dict=tests/fuzz/conf.dict $(BUILD)/fuzz-corpus tests/fuzz/seeds

check-fuzz:
	$(MAKE) -j2 $(BUILD)/conf-fuzzer $(BUILD)/proto-fuzzer \
	    $(BUILD)/inspect-fuzzer
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-60}
	$(MAKE) fuzz-proto FUZZ_SECONDS=$${PROTO_FUZZ_SECONDS:-30}
	$(MAKE) fuzz-inspect FUZZ_SECONDS=$${INSPECT_FUZZ_SECONDS:-20}

bench: all
	bench/conf-scale

# ---- install: `make install DESTDIR=... PREFIX=...`, `make uninstall` ----
VERSION	:= $(shell sed -n 's/^\#define BMD_VERSION[^"]*"\(.*\)"/\1/p' \
	    src/common/version.h)
MAN5	:= man/bmd.conf.5
MAN8	:= man/bmd.8 man/bmdctl.8 man/bmd-hookcmd.8 man/bmd-avahi.8
MAN3	:= man/bmd-plugin.3
# The pages name the default (/usr/local) paths; installed ones name ours.
SUBST	= sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@PREFIX@|$(PREFIX)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@RUNDIR@|$(RUNDIR)|g' \
	    -e 's|@LOCALSTATEDIR@|$(LOCALSTATEDIR)|g'
MANSUBST = sed -e 's|/usr/local/etc/bmd\.conf|$(SYSCONFDIR)/bmd.conf|g' \
	    -e 's|/usr/local/libexec/bmd|$(LIBEXECDIR)|g' \
	    -e 's|/usr/local/var/cache/bmd|$(LOCALSTATEDIR)/cache/bmd|g' \
	    -e 's|/usr/local/include/bmd|$(INCLUDEDIR)/bmd|g' \
	    -e 's|/usr/local/lib/pkgconfig|$(PKGCONFIGDIR)|g' \
	    -e 's|/usr/local/lib/systemd/system|$(SYSTEMDUNITDIR)|g'
GEN	:= $(BUILD)/bmd.service $(BUILD)/bmd-plugin.pc $(BUILD)/bmd.rc \
	    $(BUILD)/bmd.conf $(BUILD)/bmd.conf.example
DEST	= $(DESTDIR)

$(BUILD)/bmd.service: contrib/bmd.service.in $(DIRS_STAMP)
	$(SUBST) contrib/bmd.service.in > $@
$(BUILD)/bmd-plugin.pc: contrib/bmd-plugin.pc.in $(DIRS_STAMP)
	$(SUBST) contrib/bmd-plugin.pc.in > $@
$(BUILD)/bmd.conf: contrib/bmd.conf.in $(DIRS_STAMP)
	$(SUBST) contrib/bmd.conf.in > $@
# the example's paths are the built ones
$(BUILD)/bmd.conf.example: examples/bmd.conf.example $(DIRS_STAMP)
	sed -e 's|$${LOCALBASE}/var/cache/bmd|$(LOCALSTATEDIR)/cache/bmd|' \
	    -e 's|$${LOCALBASE}/libexec/bmd|$(LIBEXECDIR)|' \
	    -e 's|/run/bmd|$(RUNDIR)/bmd|' \
	    -e 's|/usr/local/etc/bmd.conf|$(SYSCONFDIR)/bmd.conf|' \
	    examples/bmd.conf.example > $@
$(BUILD)/bmd.rc: contrib/rc.d/bmd $(DIRS_STAMP)
	$(SUBST) -e 's|/usr/local/sbin/bmd|$(SBINDIR)/bmd|g' \
	    -e 's|/usr/local/etc/bmd.conf|$(SYSCONFDIR)/bmd.conf|g' \
	    -e 's|/var/run/bmd.pid|$(RUNDIR)/bmd.pid|g' contrib/rc.d/bmd > $@

install: all $(GEN)
	install -d $(DEST)$(SBINDIR) $(DEST)$(MANDIR)/man3 \
	    $(DEST)$(MANDIR)/man5 $(DEST)$(MANDIR)/man8 $(DEST)$(SYSCONFDIR) \
	    $(DEST)$(LIBEXECDIR) $(DEST)$(INCLUDEDIR)/bmd \
	    $(DEST)$(PKGCONFIGDIR) $(DEST)$(BASHCOMPDIR) $(DEST)$(ZSHCOMPDIR)
	install -m 755 $(BUILD)/bmd $(BUILD)/bmdctl $(DEST)$(SBINDIR)/
	for m in $(MAN3) $(MAN5) $(MAN8); do \
	    s=$${m##*.}; $(MANSUBST) $$m > $(DEST)$(MANDIR)/man$$s/$${m##*/} && \
	    chmod 644 $(DEST)$(MANDIR)/man$$s/$${m##*/} || exit 1; done
	install -m 755 $(INSTALL_PLUGINS) $(DEST)$(LIBEXECDIR)/
	install -m 644 include/bmd/plugin.h $(DEST)$(INCLUDEDIR)/bmd/
	install -m 644 $(BUILD)/bmd-plugin.pc $(DEST)$(PKGCONFIGDIR)/
	install -m 644 $(BUILD)/bmd.conf.example $(DEST)$(SYSCONFDIR)/
	# never overwrite an administrator's configuration
	test -e $(DEST)$(SYSCONFDIR)/bmd.conf || \
	    install -m 644 $(BUILD)/bmd.conf $(DEST)$(SYSCONFDIR)/bmd.conf
	install -m 644 contrib/completion/bmdctl.bash $(DEST)$(BASHCOMPDIR)/bmdctl
	install -m 644 contrib/completion/bmdctl.bash $(DEST)$(BASHCOMPDIR)/bmd
	install -m 644 contrib/completion/_bmdctl $(DEST)$(ZSHCOMPDIR)/_bmdctl
	install -m 644 contrib/completion/_bmd $(DEST)$(ZSHCOMPDIR)/_bmd
ifeq ($(UNAME),FreeBSD)
	install -d $(DEST)$(PREFIX)/etc/rc.d
	install -m 755 $(BUILD)/bmd.rc $(DEST)$(PREFIX)/etc/rc.d/bmd
else
	install -d $(DEST)$(SYSTEMDUNITDIR)
	install -m 644 $(BUILD)/bmd.service $(DEST)$(SYSTEMDUNITDIR)/
endif

# bmd.conf goes only when it is still the untouched example.
uninstall: $(BUILD)/bmd.conf
	rm -f $(DEST)$(SBINDIR)/bmd $(DEST)$(SBINDIR)/bmdctl
	rm -f $(foreach m,$(MAN3) $(MAN5) $(MAN8),\
	    $(DEST)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	rm -f $(patsubst $(BUILD)/plugins/%,$(DEST)$(LIBEXECDIR)/%,\
	    $(INSTALL_PLUGINS))
	-rmdir $(DEST)$(LIBEXECDIR) 2>/dev/null
	rm -f $(DEST)$(INCLUDEDIR)/bmd/plugin.h
	-rmdir $(DEST)$(INCLUDEDIR)/bmd 2>/dev/null
	rm -f $(DEST)$(PKGCONFIGDIR)/bmd-plugin.pc
	if cmp -s $(BUILD)/bmd.conf $(DEST)$(SYSCONFDIR)/bmd.conf; \
	    then rm -f $(DEST)$(SYSCONFDIR)/bmd.conf; fi
	rm -f $(DEST)$(SYSCONFDIR)/bmd.conf.example
	rm -f $(DEST)$(BASHCOMPDIR)/bmdctl $(DEST)$(BASHCOMPDIR)/bmd \
	    $(DEST)$(ZSHCOMPDIR)/_bmdctl $(DEST)$(ZSHCOMPDIR)/_bmd
	rm -f $(DEST)$(SYSTEMDUNITDIR)/bmd.service $(DEST)$(PREFIX)/etc/rc.d/bmd

clean:
	rm -rf $(BUILD) build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
