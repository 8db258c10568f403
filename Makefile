# bmd: GNU make build.  `make`, `make check`, `make install PREFIX=...`.

PREFIX		?= /usr/local
LOCALBASE	?= /usr/local
DESTDIR		?=
CC		?= cc
CFLAGS		?= -O2 -g
WERROR		?= 1
BUILD		:= build

WARN	:= -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	   -Wpointer-arith -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN	+= -Werror
endif
PKGS	:= libevent jansson
ALL_CPPFLAGS := -D_GNU_SOURCE -DLOCALBASE=\"$(LOCALBASE)\" \
	   -Isrc/common -Isrc/conf -Isrc/backend -Isrc/platform -Iinclude \
	   $(shell pkg-config --cflags $(PKGS)) $(CPPFLAGS)
ALL_CFLAGS := -std=c17 $(WARN) $(CFLAGS)
LIBS	:= $(shell pkg-config --libs $(PKGS)) $(LDLIBS)

LIB_SRCS := $(wildcard src/common/*.c src/conf/*.c src/backend/*.c) \
	    $(wildcard src/platform/linux*.c)
BMD_SRCS := $(wildcard src/bmd/*.c)
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

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(call obj,$(LIB_SRCS))
	$(AR) rcs $@ $^

# plugin.exports: the only symbols plugins can bind to
$(BUILD)/bmd: $(call obj,$(BMD_SRCS)) $(LIB) src/bmd/plugin.exports
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) \
	    -Wl,--dynamic-list=src/bmd/plugin.exports -o $@ \
	    $(filter-out %.exports,$^) $(LIBS) -ldl

$(BUILD)/bmdctl: $(call obj,$(CTL_SRCS)) $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

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
.PHONY: all check check-unit check-conf check-bhyve check-e2e fuzz check-fuzz \
	guest install clean bench

check: all check-unit check-conf check-bhyve check-fuzz check-e2e

check-unit: $(UNITS)
	@fail=0; for t in $(UNITS); do echo "== $$t"; $$t || fail=1; done; \
	    exit $$fail

check-conf: all
	sh tests/conf/run.sh $(BUILD)/bmd $(BUILD)/bmdctl

check-bhyve: all
	BMDCTL=$(abspath $(BUILD)/bmdctl) sh tests/bhyve/run.sh

guest:
	$(MAKE) -C tests/guest

check-e2e: all guest
	BMD_BUILD=$(abspath $(BUILD)) tests/e2e/run.sh

FUZZ_CC	?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
$(BUILD)/conf-fuzzer: tests/fuzz/conf_fuzz.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=c17 $(FUZZ_FLAGS) -o $@ \
	    tests/fuzz/conf_fuzz.c $(LIB_SRCS) $(LIBS)

fuzz: $(BUILD)/conf-fuzzer
	mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/conf-fuzzer -max_total_time=$${FUZZ_SECONDS:-300} \
	    -artifact_prefix=$(BUILD)/ \
	    -dict=tests/fuzz/conf.dict $(BUILD)/fuzz-corpus tests/fuzz/seeds

check-fuzz:
	$(MAKE) fuzz FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

bench: all
	bench/conf-scale

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/etc \
	    $(DESTDIR)$(PREFIX)/libexec/bmd
	install -m 755 $(BUILD)/bmd $(BUILD)/bmdctl $(DESTDIR)$(PREFIX)/sbin/
	install -m 644 man/bmd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/bmd.8 man/bmdctl.8 man/bmd-hookcmd.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 755 $(INSTALL_PLUGINS) $(DESTDIR)$(PREFIX)/libexec/bmd/
	install -d $(DESTDIR)$(PREFIX)/include/bmd
	install -m 644 include/bmd/plugin.h $(DESTDIR)$(PREFIX)/include/bmd/
	install -m 644 examples/bmd.conf.example $(DESTDIR)$(PREFIX)/etc/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
