/*
 * Unit tests for the networks of a VM (src/conf/network.c and the
 * user_bridges global key): derived MAC addresses, tap names, and which
 * bridges a VM of another owner than root may join.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "intern.h"
#include "keys.h"

#define PATH	"/nonexistent-bmd-unit/t.conf"

static char *
mac_text(const char *name, size_t index)
{
	static char out[18];
	uint8_t mac[6];

	conf_net_mac(name, index, mac);
	conf_mac_format(mac, out);
	return out;
}

/* The function is an interface: guests keep these addresses for life. */
static void
test_mac_golden(void **state)
{
	(void)state;
	assert_string_equal(mac_text("g1", 0), "6e:66:07:6f:06:d0");
	assert_string_equal(mac_text("g1", 1), "7e:d3:78:97:58:c0");
	assert_string_equal(mac_text("web", 0), "f2:ec:67:c0:f4:6b");
	assert_string_equal(mac_text("a", 1), "ca:97:21:8b:6e:ee");
	assert_string_equal(mac_text("", 0), "d2:e9:16:d5:e6:c4");
}

static void
test_mac_properties(void **state)
{
	char names[64][8], seen[64 * 4][18];
	uint8_t mac[6], again[6];
	size_t i, k, j, n = 0;

	(void)state;
	for (i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "vm%zu", i);
		for (k = 0; k < 4; k++) {
			conf_net_mac(names[i], k, mac);
			/* unicast, locally administered */
			assert_int_equal(mac[0] & 0x01, 0);
			assert_int_equal(mac[0] & 0x02, 0x02);
			/* stable */
			conf_net_mac(names[i], k, again);
			assert_memory_equal(mac, again, 6);
			conf_mac_format(mac, seen[n]);
			for (j = 0; j < n; j++)
				assert_string_not_equal(seen[j], seen[n]);
			n++;
		}
	}
}

static void
test_tap_name(void **state)
{
	char buf[CONF_TAPNAMSIZ];

	(void)state;
	assert_int_equal(conf_net_tap_name(0, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "bmd0n0");
	assert_int_equal(conf_net_tap_name(123, 7, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "bmd123n7");
	/* 15 characters fit IFNAMSIZ, 16 do not */
	assert_int_equal(conf_net_tap_name(2147483647, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "bmd2147483647n0");
	assert_int_equal(conf_net_tap_name(2147483647, 10, buf, sizeof(buf)),
	    -1);
}

/* origins: keep where values were set, as show config --origin does */
static struct conf *
load_how(const char *text, struct diags *ds, int origins)
{
	struct conf_load_opts lo = { .lo_path = PATH, .lo_origins = origins };

	diags_init(ds);
	return conf_load_buffer(PATH, text, strlen(text), &lo, ds);
}

static struct conf *
load(const char *text, struct diags *ds)
{
	return load_how(text, ds, 0);
}

static const char *
bridge(const struct global_conf *gc, size_t i)
{
	return *CLIST_AT(&gc->gc_user_bridges, char *, i);
}

static void
test_user_bridges_key(void **state)
{
	struct diags ds;
	struct conf *c;

	(void)state;
	if (geteuid() != 0)
		skip();	/* global sections count only in root's files */
	c = load("global { user_bridges = br1, br2; }\n"
	    "global { user_bridges = lost; user_bridges += br3; }\n"
	    "vm a { memory = 1G; }\n", &ds);
	assert_int_equal(ds.ds_nerrors, 0);
	assert_int_equal(ds.ds_n, 1);	/* the second "=" is ignored */
	assert_non_null(strstr(ds.ds_v[0].d_text, "\"user_bridges\" is "
	    "already set"));
	assert_int_equal(c->c_global.gc_user_bridges.l_n, 3);
	assert_string_equal(bridge(&c->c_global, 0), "br1");
	assert_string_equal(bridge(&c->c_global, 1), "br2");
	assert_string_equal(bridge(&c->c_global, 2), "br3");
	conf_free(c);
	diags_free(&ds);
}

static void
test_user_bridges_check(void **state)
{
	struct diags ds, chk;
	struct conf *c;
	struct vm_conf *vc;
	int origins;

	(void)state;
	if (geteuid() != 0)
		skip();
	for (origins = 0; origins < 2; origins++) {
	c = load_how("global { user_bridges = br1; }\n"
	    "vm a { memory = 1G; network = br0, [02:00:00:00:00:01]:br1, "
	    "none; }\n", &ds, origins);
	assert_int_equal(ds.ds_nerrors, 0);
	vc = conf_find_vm(c, "a");
	assert_non_null(vc);
	/* root's VM: any bridge */
	diags_init(&chk);
	assert_int_equal(conf_check_user_bridges(vc, &c->c_global, &chk), 0);
	assert_int_equal(chk.ds_n, 0);
	/* another owner: br0 only is refused, at its value */
	vc->vc_owner = 4242;
	intern_drop(vc->vc_owner_name);
	vc->vc_owner_name = intern("alice");
	assert_int_equal(conf_check_user_bridges(vc, &c->c_global, &chk), -1);
	assert_int_equal(chk.ds_nerrors, 1);
	/* a loaded VM keeps no positions but for --origin: its section */
	assert_string_equal(chk.ds_v[0].d_text, origins ? PATH ":2:31: "
	    "vm \"a\": \"network\": bridge br0 is not in user_bridges; a VM "
	    "owned by alice may not join it" : PATH ":2:1: vm \"a\": "
	    "\"network\": bridge br0 is not in user_bridges; a VM owned by "
	    "alice may not join it");
	diags_free(&chk);
	conf_free(c);
	diags_free(&ds);
	}
}

/* The MAC a NIC gets: the configured one wins over the derived one. */
static void
test_guest_mac(void **state)
{
	struct diags ds;
	struct conf *c;
	uint8_t mac[6];
	char t[18];

	(void)state;
	c = load("vm g1 { memory = 1G; network = [52:54:0:0:10:1]:br0, "
	    "e1000:none; }\n", &ds);
	assert_int_equal(ds.ds_nerrors, 0);
	conf_net_guest_mac(conf_find_vm(c, "g1"), 0, mac);
	conf_mac_format(mac, t);
	assert_string_equal(t, "52:54:00:00:10:01");
	conf_net_guest_mac(conf_find_vm(c, "g1"), 1, mac);
	conf_mac_format(mac, t);
	assert_string_equal(t, mac_text("g1", 1));
	conf_free(c);
	diags_free(&ds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_golden),
		cmocka_unit_test(test_mac_properties),
		cmocka_unit_test(test_tap_name),
		cmocka_unit_test(test_user_bridges_key),
		cmocka_unit_test(test_user_bridges_check),
		cmocka_unit_test(test_guest_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
