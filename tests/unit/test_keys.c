/*
 * Unit tests for the key table (src/conf/keys.c, keytable.c) and the value
 * types (ktypes*.c): lookups, suggestions, every type's parser, defaults,
 * lists, copies and comparisons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "intern.h"
#include "keys.h"
#include "ktypes.h"
#include "paths.h"

/* ---- helpers ---- */

static const struct conf_key *
key(const char *name)
{
	const struct conf_key *k = keys_find(name);

	if (k == NULL)
		fail_msg("no key \"%s\"", name);
	return k;
}

/* key_set on vc; returns 0/-1 and keeps the message in *msg (static). */
static int
set(struct vm_conf *vc, const char *name, const char *val, int append)
{
	static char msg[512];
	struct buf err;
	int rc;

	buf_init(&err);
	rc = key_set(key(name), vc, val, append, NULL, &err);
	snprintf(msg, sizeof(msg), "%s", buf_str(&err));
	buf_free(&err);
	if (rc == -1 && msg[0] == '\0')
		fail_msg("%s = \"%s\": rejected without a message", name, val);
	return rc;
}

static char *
text_of(const struct vm_conf *vc, const char *name)
{
	struct buf b;

	buf_init(&b);
	key_text(key(name), vc, &b);
	buf_adds(&b, "");
	return buf_release(&b);
}

static char *
json_of(const struct vm_conf *vc, const char *name)
{
	json_t *j = key_json(key(name), vc);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY);

	json_decref(j);
	return s;
}

#define assert_text(vc, name, want) do {				\
	char *t_ = text_of((vc), (name));				\
	assert_string_equal(t_, (want));				\
	free(t_);							\
} while (0)

#define assert_json(vc, name, want) do {				\
	char *j_ = json_of((vc), (name));				\
	assert_string_equal(j_, (want));				\
	free(j_);							\
} while (0)

struct tcase {
	const char	*key;
	const char	*val;
	int		 ok;
};

/* Each value on a fresh VM: accepted (0) or rejected (-1) as listed. */
static void
check_cases(const struct tcase *tc, size_t n)
{
	struct vm_conf *vc;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		vc = vm_conf_new();
		rc = set(vc, tc[i].key, tc[i].val, 0);
		if ((rc == 0) != tc[i].ok)
			fail_msg("%s = \"%s\": %s, expected %s", tc[i].key,
			    tc[i].val, rc == 0 ? "accepted" : "rejected",
			    tc[i].ok ? "accepted" : "rejected");
		if (rc == 0 && !key_isset(key(tc[i].key), vc))
			fail_msg("%s = \"%s\": accepted but not marked set",
			    tc[i].key, tc[i].val);
		vm_conf_free(vc);
	}
}

/* ---- run-time registration (must run before any vm_conf_new) ---- */

static void
test_register(void **state)
{
	const struct conf_key *k;
	struct vm_conf *vc;
	size_t before = keys_count();

	(void)state;
	k = keys_register("hookcmd", "path", 0, NULL, "a hook");
	assert_non_null(k);
	assert_int_equal(keys_count(), before + 1);
	assert_ptr_equal(keys_find("HookCmd"), k);
	assert_null(keys_register("hookcmd", "string", 0, NULL, NULL));
	assert_null(keys_register("memory", "string", 0, NULL, NULL));
	assert_null(keys_register("comport", "string", 0, NULL, NULL));
	assert_null(keys_register("x_weird", "float", 0, NULL, NULL));
	assert_non_null(keys_register("x_list", "string", KEY_LIST, NULL,
	    NULL));
	assert_non_null(keys_register("x_count", "integer", 0, "7", NULL));
	assert_non_null(keys_register("x_flag", "boolean", 0, "yes", NULL));

	vc = vm_conf_new();
	assert_false(key_isset(k, vc));
	assert_json(vc, "hookcmd", "null");
	assert_json(vc, "x_count", "7");
	assert_json(vc, "x_flag", "true");
	assert_json(vc, "x_list", "[]");
	assert_int_equal(set(vc, "hookcmd", "relative", 0), -1);
	assert_int_equal(set(vc, "hookcmd", "/usr/local/bin/hook", 0), 0);
	assert_json(vc, "hookcmd", "\"/usr/local/bin/hook\"");
	assert_int_equal(set(vc, "x_list", "a", 0), 0);
	assert_int_equal(set(vc, "x_list", "b", 1), 0);
	assert_json(vc, "x_list", "[\"a\",\"b\"]");
	assert_int_equal(set(vc, "x_count", "x", 0), -1);
	assert_int_equal(set(vc, "x_flag", "maybe", 0), -1);
	assert_int_equal(set(vc, "x_flag", "off", 0), 0);
	assert_json(vc, "x_flag", "false");
	vm_conf_free(vc);

	/* Once VMs exist the table is frozen. */
	assert_null(keys_register("too_late", "string", 0, NULL, NULL));
	assert_null(keys_find("too_late"));
}

/* ---- lookups ---- */

static void
test_find_case_insensitive(void **state)
{
	static const char *const names[] = { "memory", "MEMORY", "Memory",
	    "mEmOrY" };
	const struct conf_key *m = keys_find("memory");
	size_t i;

	(void)state;
	assert_non_null(m);
	assert_string_equal(m->k_name, "memory");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_ptr_equal(keys_find(names[i]), m);
	assert_null(keys_find(""));
	assert_null(keys_find("memory "));
	assert_null(keys_find("memor"));
	assert_null(keys_find("memroy"));
	/* single_user is not a configuration key */
	assert_null(keys_find("single_user"));
}

static void
test_find_aliases(void **state)
{
	(void)state;
	assert_string_equal(key("comport")->k_name, "com1");
	assert_string_equal(key("COMPORT")->k_name, "com1");
	assert_ptr_equal(key("comport"), key("com1"));
	assert_string_equal(key("vconsole_nc")->k_name,
	    "virt_console_ncontrollers");
	assert_string_equal(key("vconsole_np")->k_name, "virt_console_nports");
	assert_string_equal(key("VConsole_Tmpl")->k_name,
	    "virt_console_template");
}

static void
test_every_spec_key(void **state)
{
	/* spec 2.2 and the additions */
	static const char *const names[] = { "backend", "bhyve_env",
	    "bhyveload_env", "bhyveload_loader", "boot", "boot_delay",
	    "com1", "com2", "com3", "com4", "cpu_pin", "debug_port", "disk",
	    "err_logfile", "graphics", "graphics_listen", "graphics_port",
	    "graphics_path", "graphics_password", "graphics_res",
	    "graphics_vga", "graphics_wait", "grub_run_partition", "hda",
	    "hostbridge", "install", "installcmd", "iso", "keymap", "loadcmd",
	    "loader", "loader_timeout", "memory", "name", "ncpu", "network",
	    "owner", "passthru", "reboot_on_change", "sharefs",
	    "stop_timeout", "tpm", "utctime", "virt_console_ncontrollers",
	    "virt_console_nports", "virt_console_template", "virt_random",
	    "wired_memory", "x2apic", "xhci_mouse" };
	static const char *const lists[] = { "bhyve_env", "bhyveload_env",
	    "cpu_pin", "disk", "hda", "iso", "network", "passthru",
	    "sharefs" };
	size_t i, j, n = sizeof(lists) / sizeof(lists[0]);
	const struct conf_key *k;
	int islist;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		k = key(names[i]);
		for (islist = 0, j = 0; j < n; j++)
			if (strcmp(lists[j], names[i]) == 0)
				islist = 1;
		if (islist != ((k->k_flags & KEY_LIST) != 0))
			fail_msg("%s: list flag is %d", names[i], !islist);
		assert_ptr_equal(keys_at((size_t)k->k_index), k);
	}
	for (i = 0; i < keys_count(); i++)
		assert_int_equal(keys_at(i)->k_index, (int)i);
	assert_null(keys_at(keys_count()));
}

static void
test_global_keys(void **state)
{
	static const char *const names[] = { "cmd_socket_path",
	    "cmd_socket_mode", "vars_directory", "nmdm_offset", "pid_file",
	    "plugin_directory" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_non_null(gkeys_find(names[i]));
		assert_true(gkeys_find(names[i])->k_flags & KEY_GLOBAL);
	}
	/* global keys are case-sensitive and separate from VM keys */
	assert_null(gkeys_find("PID_FILE"));
	assert_null(gkeys_find("Pid_file"));
	assert_null(gkeys_find("memory"));
	assert_null(keys_find("pid_file"));
	assert_non_null(gkeys_at(0));
	assert_null(gkeys_at(gkeys_count()));
}

static void
assert_suggest(const struct conf_key *(*fn)(const char *), const char *typo,
    const char *want)
{
	const struct conf_key *k = fn(typo);

	if (want == NULL && k != NULL)
		fail_msg("\"%s\": suggested \"%s\", expected nothing", typo,
		    k->k_name);
	if (want != NULL && (k == NULL || strcmp(k->k_name, want) != 0))
		fail_msg("\"%s\": suggested %s%s%s, expected \"%s\"", typo,
		    k ? "\"" : "", k ? k->k_name : "nothing", k ? "\"" : "",
		    want);
}

static void
test_suggest(void **state)
{
	(void)state;
	assert_suggest(keys_suggest, "memroy", "memory");
	assert_suggest(keys_suggest, "memry", "memory");
	assert_suggest(keys_suggest, "disks", "disk");
	assert_suggest(keys_suggest, "ncpus", "ncpu");
	assert_suggest(keys_suggest, "graphic", "graphics");
	assert_suggest(keys_suggest, "ownr", "owner");
	assert_suggest(keys_suggest, "frobnicate", NULL);
	assert_suggest(keys_suggest, "single_user", NULL);
	assert_suggest(gkeys_suggest, "cmd_socket_pth", "cmd_socket_path");
	assert_suggest(gkeys_suggest, "pidfile", "pid_file");
	assert_suggest(gkeys_suggest, "memory", NULL);
}

/* VM keys are case-insensitive, so the suggestion must be too. */
static void
test_suggest_case_insensitive(void **state)
{
	(void)state;
	assert_suggest(keys_suggest, "MEMROY", "memory");
	assert_suggest(keys_suggest, "Disks", "disk");
}

/* ---- defaults ---- */

static void
test_vm_defaults(void **state)
{
	struct vm_conf *vc = vm_conf_new();
	size_t i;

	(void)state;
	for (i = 0; i < keys_count(); i++)
		if (key_isset(keys_at(i), vc))
			fail_msg("%s is set on a new VM", keys_at(i)->k_name);
	assert_null(vc->vc_memory.m_text);
	assert_int_equal(vc->vc_memory.m_bytes, 0);
	assert_int_equal(vc->vc_ncpu.nc_cpus, 1);
	assert_int_equal(vc->vc_ncpu.nc_sockets, 1);
	assert_int_equal(vc->vc_ncpu.nc_cores, 1);
	assert_int_equal(vc->vc_ncpu.nc_threads, 1);
	assert_int_equal(vc->vc_utctime, 1);
	assert_int_equal(vc->vc_wired_memory, 0);
	assert_int_equal(vc->vc_x2apic, 0);
	assert_int_equal(vc->vc_graphics, 0);
	assert_int_equal(vc->vc_graphics_port, 5900);
	assert_string_equal(vc->vc_graphics_listen, "0.0.0.0");
	assert_string_equal(vc->vc_graphics_vga, "io");
	assert_int_equal(vc->vc_graphics_res.r_width, 1024);
	assert_int_equal(vc->vc_graphics_res.r_height, 768);
	assert_int_equal(vc->vc_boot, BOOT_NO);
	assert_int_equal(vc->vc_boot_delay, 0);
	assert_int_equal(vc->vc_stop_timeout, 300);
	assert_int_equal(vc->vc_loader_timeout, 15);
	assert_int_equal(vc->vc_hostbridge, HB_STANDARD);
#ifdef __FreeBSD__
	assert_int_equal(vc->vc_backend, BACKEND_BHYVE);
#else
	assert_int_equal(vc->vc_backend, BACKEND_QEMU);
#endif
	assert_null(vc->vc_loader);
	assert_int_equal(vc->vc_vconsole_nc, 0);
	assert_int_equal(vc->vc_vconsole_np, 0);
	assert_null(vc->vc_vconsole_tmpl);
	for (i = 0; i < 4; i++)
		assert_int_equal(vc->vc_com[i].cm_kind, COM_NONE);
	assert_int_equal(vc->vc_disk.l_n, 0);
	assert_int_equal(vc->vc_network.l_n, 0);
	assert_int_equal(vc->vc_tpm.t_set, 0);
	assert_int_equal((int)vc->vc_group, -1);
	assert_json(vc, "memory", "null");
	assert_json(vc, "tpm", "null");
	assert_json(vc, "com1", "null");
	assert_json(vc, "disk", "[]");
	assert_json(vc, "ncpu",
	    "{\"cores\":1,\"cpus\":1,\"sockets\":1,\"threads\":1}");
	assert_json(vc, "graphics_res", "{\"height\":768,\"width\":1024}");
	assert_json(vc, "boot", "\"no\"");
	assert_json(vc, "utctime", "true");
	assert_json(vc, "stop_timeout", "300");
	vm_conf_free(vc);
}

static void
test_global_defaults(void **state)
{
	struct global_conf gc;
	size_t i;

	(void)state;
	global_conf_init(&gc);
	for (i = 0; i < gkeys_count(); i++)
		assert_false(key_isset(gkeys_at(i), &gc));
	assert_string_equal(gc.gc_cmd_socket_mode, "0666");	/* every request is checked per VM */
	assert_int_equal(gc.gc_nmdm_offset, 200);
	/* the install directories the build was made with */
	assert_string_equal(gc.gc_vars_directory, BMD_LOCALSTATEDIR "/cache/bmd");
	assert_string_equal(gc.gc_plugin_directory, BMD_LIBEXECDIR);
	assert_non_null(gc.gc_cmd_socket_path);
	assert_true(gc.gc_cmd_socket_path[0] == '/');
	assert_non_null(gc.gc_pid_file);
	global_conf_clear(&gc);
}

/* ---- value types ---- */

static void
test_memory(void **state)
{
	static const struct {
		const char	*v;
		uint64_t	 bytes;
	} ok[] = {
		{ "1", 1ULL << 20 }, { "512", 512ULL << 20 },
		{ "1k", 1ULL << 10 }, { "64K", 64ULL << 10 },
		{ "256m", 256ULL << 20 }, { "256M", 256ULL << 20 },
		{ "2g", 2ULL << 30 }, { "2G", 2ULL << 30 },
		{ "1t", 1ULL << 40 }, { "3T", 3ULL << 40 },
		{ "1048576K", 1ULL << 30 },
	};
	static const char *const bad[] = { "", "0", "0G", "-1", "-1G",
	    "+1G", "1.5G", "1G1", "1GB", "G", "0x10", " 1G", "1G ", "1P",
	    "16777216T", "99999999999999999999", "ten" };
	struct vm_conf *vc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		vc = vm_conf_new();
		if (set(vc, "memory", ok[i].v, 0) == -1)
			fail_msg("memory = %s rejected", ok[i].v);
		assert_int_equal(vc->vc_memory.m_bytes, ok[i].bytes);
		assert_string_equal(vc->vc_memory.m_text, ok[i].v);
		assert_text(vc, "memory", ok[i].v);
		vm_conf_free(vc);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vc = vm_conf_new();
		if (set(vc, "memory", bad[i], 0) == 0)
			fail_msg("memory = \"%s\" accepted", bad[i]);
		assert_false(key_isset(key("memory"), vc));
		vm_conf_free(vc);
	}
	/* an invalid value leaves the previous one */
	vc = vm_conf_new();
	assert_int_equal(set(vc, "memory", "1G", 0), 0);
	assert_int_equal(set(vc, "memory", "1.5G", 0), -1);
	assert_int_equal(vc->vc_memory.m_bytes, 1ULL << 30);
	assert_json(vc, "memory", "1073741824");
	vm_conf_free(vc);
}

static void
test_ncpu(void **state)
{
	static const struct tcase tc[] = {
		{ "ncpu", "1", 1 }, { "ncpu", "4", 1 }, { "ncpu", "2:2", 1 },
		{ "ncpu", "2:2:2", 1 }, { "ncpu", "1024", 1 },
		{ "ncpu", "2:2:0", 0 }, { "ncpu", "0", 0 }, { "ncpu", "-1", 0 },
		{ "ncpu", "", 0 }, { "ncpu", "1:1:1:1", 0 }, { "ncpu", "a", 0 },
		{ "ncpu", "2:", 0 }, { "ncpu", ":2", 0 }, { "ncpu", "1025", 0 },
		{ "ncpu", "32:32:2", 0 }, { "ncpu", "2.0", 0 },
	};
	struct vm_conf *vc = vm_conf_new();

	(void)state;
	check_cases(tc, sizeof(tc) / sizeof(tc[0]));
	assert_int_equal(set(vc, "ncpu", "4", 0), 0);
	assert_int_equal(vc->vc_ncpu.nc_cpus, 4);
	assert_int_equal(vc->vc_ncpu.nc_sockets, 4);
	assert_int_equal(vc->vc_ncpu.nc_cores, 1);
	assert_int_equal(vc->vc_ncpu.nc_threads, 1);
	assert_int_equal(set(vc, "ncpu", "2:3:2", 0), 0);
	assert_int_equal(vc->vc_ncpu.nc_cpus, 12);
	assert_json(vc, "ncpu",
	    "{\"cores\":3,\"cpus\":12,\"sockets\":2,\"threads\":2}");
	assert_int_equal(set(vc, "ncpu", "2:2:0", 0), -1);
	assert_int_equal(vc->vc_ncpu.nc_cpus, 12);
	vm_conf_free(vc);
}

static void
test_int_bool_enum(void **state)
{
	static const struct tcase tc[] = {
		{ "boot_delay", "0", 1 }, { "boot_delay", "86400", 1 },
		{ "boot_delay", "-1", 0 }, { "boot_delay", "86401", 0 },
		{ "boot_delay", "", 0 }, { "boot_delay", "5s", 0 },
		{ "boot_delay", " 5", 0 }, { "boot_delay", "0x10", 0 },
		{ "boot_delay", "1.0", 0 },
		{ "stop_timeout", "300", 1 }, { "stop_timeout", "-5", 0 },
		{ "loader_timeout", "-1", 1 }, { "loader_timeout", "0", 1 },
		{ "graphics_port", "1", 1 }, { "graphics_port", "65535", 1 },
		{ "graphics_port", "0", 0 }, { "graphics_port", "65536", 0 },
		{ "vconsole_nc", "16", 1 }, { "vconsole_nc", "17", 0 },
		{ "vconsole_np", "0", 1 }, { "vconsole_np", "-1", 0 },
		{ "install", "yes", 1 }, { "install", "YES", 1 },
		{ "install", "no", 1 }, { "install", "true", 1 },
		{ "install", "False", 1 }, { "install", "on", 1 },
		{ "install", "OFF", 1 }, { "install", "1", 1 },
		{ "install", "0", 1 }, { "install", "", 0 },
		{ "install", "2", 0 }, { "install", "y", 0 },
		{ "install", "n", 0 }, { "install", "enable", 0 },
		{ "install", "yes ", 0 },
		{ "boot", "no", 1 }, { "boot", "yes", 1 }, { "boot", "true", 1 },
		{ "boot", "oneshot", 1 }, { "boot", "ALWAYS", 1 },
		{ "boot", "install", 0 }, { "boot", "", 0 },
		{ "hostbridge", "none", 1 }, { "hostbridge", "Standard", 1 },
		{ "hostbridge", "intel", 1 }, { "hostbridge", "AMD", 1 },
		{ "hostbridge", "via", 0 },
		{ "backend", "qemu", 1 }, { "backend", "bhyve", 1 },
		{ "backend", "xen", 0 },
		{ "accel", "auto", 1 }, { "accel", "kvm", 1 },
		{ "accel", "tcg", 1 }, { "accel", "hvf", 0 },
		{ "loader", "bhyveload", 1 }, { "loader", "grub", 1 },
		{ "loader", "uefi", 1 }, { "loader", "csm", 1 },
		{ "loader", "bios", 1 }, { "loader", "UEFI", 0 },
		{ "loader", "", 0 },
	};
	struct vm_conf *vc = vm_conf_new();

	(void)state;
	check_cases(tc, sizeof(tc) / sizeof(tc[0]));
	assert_int_equal(set(vc, "boot", "OneShot", 0), 0);
	assert_int_equal(vc->vc_boot, BOOT_ONESHOT);
	assert_json(vc, "boot", "\"oneshot\"");
	assert_int_equal(set(vc, "boot", "true", 0), 0);
	assert_int_equal(vc->vc_boot, BOOT_YES);
	assert_int_equal(set(vc, "hostbridge", "AMD", 0), 0);
	assert_int_equal(vc->vc_hostbridge, HB_AMD);
	assert_json(vc, "hostbridge", "\"amd\"");
	assert_int_equal(set(vc, "utctime", "off", 0), 0);
	assert_int_equal(vc->vc_utctime, 0);
	assert_json(vc, "utctime", "false");
	assert_int_equal(set(vc, "utctime", "maybe", 0), -1);
	assert_int_equal(vc->vc_utctime, 0);
	assert_int_equal(set(vc, "stop_timeout", "42", 0), 0);
	assert_int_equal(vc->vc_stop_timeout, 42);
	assert_json(vc, "stop_timeout", "42");
	vm_conf_free(vc);
}

static void
test_strings_and_paths(void **state)
{
	static const struct tcase tc[] = {
		{ "keymap", "", 1 }, { "keymap", "jp", 1 },
		{ "debug_port", "1234", 1 }, { "loadcmd", "a b (c)", 1 },
		{ "err_logfile", "/var/log/x", 1 }, { "err_logfile", "x", 0 },
		{ "err_logfile", "", 0 }, { "graphics_path", "/s", 1 },
		{ "graphics_path", "s", 0 }, { "kernel", "/boot/k", 1 },
		{ "qemu_binary", "qemu", 0 }, { "bhyveload_loader", "/b", 1 },
		{ "bhyveload_loader", "b", 0 },
		{ "graphics_res", "1024x768", 1 }, { "graphics_res", "1x1", 1 },
		{ "graphics_res", "800", 0 }, { "graphics_res", "0x600", 0 },
		{ "graphics_res", "800x0", 0 }, { "graphics_res", "1280X720", 0 },
		{ "graphics_res", "x", 0 }, { "graphics_res", "a x b", 0 },
		{ "vconsole_tmpl", "port", 1 }, { "vconsole_tmpl", "p=/s", 1 },
		{ "vconsole_tmpl", "p=s", 0 }, { "vconsole_tmpl", "", 0 },
		{ "vconsole_tmpl", "=/s", 0 },
		{ "bhyve_env", "A=1", 1 }, { "bhyve_env", "A=", 1 },
		{ "bhyve_env", "A", 0 }, { "bhyve_env", "=1", 0 },
		{ "bhyveload_env", "boot_verbose=YES", 1 },
		{ "passthru", "ppt0", 1 }, { "passthru", "ppt12", 1 },
		{ "passthru", "1/0/130", 1 }, { "passthru", "ppt", 0 },
		{ "passthru", "pptx", 0 }, { "passthru", "1/a/0", 0 },
		{ "passthru", "", 0 }, { "passthru", "/", 0 },
		{ "com1", "auto", 1 }, { "com1", "AUTO", 1 },
		{ "com1", "stdio", 1 }, { "com1", "/dev/nmdm0A", 1 },
		{ "com2", "tcp=127.0.0.1:4000", 1 },
		{ "com3", "tcp=[::1]:4000", 1 }, { "com4", "tcp=host:1", 1 },
		{ "com1", "tcp=host", 0 }, { "com1", "tcp=:1", 0 },
		{ "com1", "tcp=h:0", 0 }, { "com1", "tcp=h:65536", 0 },
		{ "com1", "tcp=[::1]", 0 }, { "com1", "serial", 0 },
		{ "com1", "", 0 },
	};

	(void)state;
	check_cases(tc, sizeof(tc) / sizeof(tc[0]));
}

/* A port's kind decides what bmd does with it; the text stays as written. */
static void
test_com_kinds(void **state)
{
	struct vm_conf *vc = vm_conf_new();

	(void)state;
	assert_int_equal(set(vc, "com1", "AUTO", 0), 0);
	assert_int_equal(vc->vc_com[0].cm_kind, COM_AUTO);
	assert_text(vc, "com1", "AUTO");
	assert_int_equal(set(vc, "com2", "tcp=[::1]:4000", 0), 0);
	assert_int_equal(vc->vc_com[1].cm_kind, COM_TCP);
	assert_string_equal(vc->vc_com[1].cm_host, "::1");
	assert_int_equal(vc->vc_com[1].cm_port, 4000);
	assert_int_equal(set(vc, "com2", "tcp=h.example:22", 0), 0);
	assert_string_equal(vc->vc_com[1].cm_host, "h.example");
	assert_int_equal(vc->vc_com[1].cm_port, 22);
	assert_json(vc, "com2", "\"tcp=h.example:22\"");
	assert_int_equal(set(vc, "com3", "/dev/ttyS0", 0), 0);
	assert_int_equal(vc->vc_com[2].cm_kind, COM_DEV);
	assert_string_equal(vc->vc_com[2].cm_text, "/dev/ttyS0");
	assert_int_equal(set(vc, "com4", "stdio", 0), 0);
	assert_int_equal(vc->vc_com[3].cm_kind, COM_STDIO);
	/* a rejected value leaves the port as it was */
	assert_int_not_equal(set(vc, "com4", "tcp=x", 0), 0);
	assert_int_equal(vc->vc_com[3].cm_kind, COM_STDIO);
	vm_conf_free(vc);
}

static void
test_disk(void **state)
{
	static const struct tcase tc[] = {
		{ "disk", "/x", 1 }, { "disk", "noexist:/x", 1 },
		{ "disk", "ahci:/x", 1 }, { "disk", "ahci-hd:/x", 1 },
		{ "disk", "nvme:/x", 1 }, { "disk", "virtio-blk:/x", 1 },
		{ "disk", "readonly:nodelete:/x", 1 },
		{ "disk", "/x:y", 1 }, { "disk", "disk.img", 0 },
		{ "disk", "", 0 }, { "disk", "foo:/x", 0 },
		{ "disk", "noexist:x/y", 0 }, { "disk", "x/y", 0 },
		{ "disk", "ahci:nvme:/x", 0 }, { "disk", "noexist:", 0 },
	};
	struct vm_conf *vc = vm_conf_new();
	const struct conf_disk *d;

	(void)state;
	check_cases(tc, sizeof(tc) / sizeof(tc[0]));
	assert_int_equal(set(vc, "disk",
	    "nvme:noexist:direct:nocache:readonly:/dev/zvol/images/test2", 0), 0);
	assert_int_equal(vc->vc_disk.l_n, 1);
	d = CLIST_AT(&vc->vc_disk, struct conf_disk, 0);
	assert_int_equal(d->d_type, DISK_NVME);
	assert_int_equal(d->d_flags, DISK_NOEXIST | DISK_DIRECT | DISK_NOCACHE |
	    DISK_READONLY);
	assert_string_equal(d->d_path, "/dev/zvol/images/test2");
	assert_json(vc, "disk", "[{\"direct\":true,\"nocache\":true,"
	    "\"nodelete\":false,\"noexist\":true,\"path\":"
	    "\"/dev/zvol/images/test2\",\"readonly\":true,\"type\":\"nvme\"}]");
	assert_text(vc, "disk", "nvme:nocache:direct:readonly:noexist:"
	    "/dev/zvol/images/test2");
	assert_int_equal(set(vc, "disk", "/plain", 1), 0);
	d = CLIST_AT(&vc->vc_disk, struct conf_disk, 1);
	assert_int_equal(d->d_type, DISK_VIRTIO_BLK);
	assert_int_equal(d->d_flags, 0);
	assert_string_equal(conf_disk_type_name(DISK_AHCI_HD), "ahci-hd");
	vm_conf_free(vc);
}

static void
test_iso(void **state)
{
	static const struct tcase tc[] = {
		{ "iso", "/x.iso", 1 }, { "iso", "ahci-cd:/x.iso", 1 },
		{ "iso", "noexist:/x.iso", 1 },
		{ "iso", "ahci-cd:noexist:/x.iso", 1 }, { "iso", "x.iso", 0 },
		{ "iso", "ahci:/x.iso", 0 }, { "iso", "", 0 },
	};
	struct vm_conf *vc = vm_conf_new();
	const struct conf_iso *iso;

	(void)state;
	check_cases(tc, sizeof(tc) / sizeof(tc[0]));
	assert_int_equal(set(vc, "iso", "ahci-cd:noexist:/i.iso", 0), 0);
	iso = CLIST_AT(&vc->vc_iso, struct conf_iso, 0);
	assert_true(iso->i_noexist);
	assert_string_equal(iso->i_path, "/i.iso");
	assert_json(vc, "iso", "[{\"noexist\":true,\"path\":\"/i.iso\","
	    "\"type\":\"ahci-cd\"}]");
	vm_conf_free(vc);
}

static void
test_network(void **state)
{
	static const struct tcase tc[] = {
		{ "network", "bridge0", 1 }, { "network", "none", 1 },
		{ "network", "vale0", 1 }, { "network", "e1000:bridge0", 1 },
		{ "network", "virtio-net:bridge0", 1 },
		{ "network", "wol:[02:00:00:00:00:01]:bridge0", 1 },
		{ "network", "[2:a:b:c:d:e]:br", 1 },
		{ "network", "wol:bridge0", 0 },
		{ "network", "[01:00:00:00:00:01]:br", 0 },
		{ "network", "[00:00:00:00:00:00]:br", 0 },
		{ "network", "[02:00:00:00:01]:br", 0 },
		{ "network", "[02:00:00:00:00:001]:br", 0 },
		{ "network", "[02:00:00:00:00:0g]:br", 0 },
		{ "network", "[02:00:00:00:00:01]br", 0 },
		{ "network", "", 0 }, { "network", "e1000:", 0 },
		{ "network", "a b", 0 }, { "network", "abcdefghijklmnop", 0 },
	};
	struct vm_conf *vc = vm_conf_new();
	const struct conf_net *n;
	uint8_t mac[6];
	char s[18];

	(void)state;
	check_cases(tc, sizeof(tc) / sizeof(tc[0]));
	assert_int_equal(set(vc, "network",
	    "e1000:wol:[22:11:33:44:55:66]:bridge0", 0), 0);
	n = CLIST_AT(&vc->vc_network, struct conf_net, 0);
	assert_int_equal(n->n_type, NET_E1000);
	assert_true(n->n_wol);
	assert_true(n->n_hasmac);
	assert_string_equal(n->n_bridge, "bridge0");
	conf_mac_format(n->n_mac, s);
	assert_string_equal(s, "22:11:33:44:55:66");
	assert_json(vc, "network", "[{\"bridge\":\"bridge0\",\"mac\":"
	    "\"22:11:33:44:55:66\",\"type\":\"e1000\",\"wol\":true}]");
	assert_int_equal(set(vc, "network", "none", 1), 0);
	assert_json(vc, "network", "[{\"bridge\":\"bridge0\",\"mac\":"
	    "\"22:11:33:44:55:66\",\"type\":\"e1000\",\"wol\":true},"
	    "{\"bridge\":\"none\",\"mac\":null,\"type\":\"virtio-net\","
	    "\"wol\":false}]");
	assert_int_equal(kt_parse_mac("2:a:B:c:d:EE", mac), 0);
	conf_mac_format(mac, s);
	assert_string_equal(s, "02:0a:0b:0c:0d:ee");
	assert_int_equal(kt_parse_mac("02:00:00:00:00", mac), -1);
	assert_int_equal(kt_parse_mac("02:00:00:00:00:00:00", mac), -1);
	assert_int_equal(kt_parse_mac("02:00:00:00:00:100", mac), -1);
	assert_int_equal(kt_parse_mac("02-00-00-00-00-01", mac), -1);
	assert_int_equal(kt_parse_mac("", mac), -1);
	vm_conf_free(vc);
}

static void
test_sharefs_cpupin_hda_tpm(void **state)
{
	static const struct tcase tc[] = {
		{ "sharefs", "a=/x", 1 }, { "sharefs", "readonly:a=/x", 1 },
		{ "sharefs", "a=/x=y", 1 }, { "sharefs", "a", 0 },
		{ "sharefs", "=/x", 0 }, { "sharefs", "a=x", 0 },
		{ "sharefs", "readonly:", 0 },
		{ "cpu_pin", "0:0", 1 }, { "cpu_pin", "3:17", 1 },
		{ "cpu_pin", "0", 0 }, { "cpu_pin", "-1:0", 0 },
		{ "cpu_pin", "0:-1", 0 }, { "cpu_pin", "a:b", 0 },
		{ "cpu_pin", ":", 0 }, { "cpu_pin", "0:0:0", 0 },
		{ "hda", "/dev/dsp", 1 }, { "hda", "/dev/dsp:/dev/dsp1", 1 },
		{ "hda", ":/dev/dsp", 1 }, { "hda", "dsp", 0 },
		{ "hda", ":", 0 }, { "hda", "", 0 }, { "hda", "/a:b", 0 },
		{ "tpm", "/dev/tpm0", 1 }, { "tpm", "passthru:/dev/tpm0", 1 },
		{ "tpm", "swtpm:/s", 1 }, { "tpm", "/dev/tpm0:2.0", 1 },
		{ "tpm", "swtpm:/s:1.2", 1 }, { "tpm", "foo:/d:2.0", 0 },
		{ "tpm", "/d:x", 0 }, { "tpm", "tpm0", 0 },
		{ "tpm", "swtpm:/a:1:2", 0 }, { "tpm", "", 0 },
		{ "tpm", "swtpm:", 0 },
	};
	struct vm_conf *vc = vm_conf_new();

	(void)state;
	check_cases(tc, sizeof(tc) / sizeof(tc[0]));
	assert_int_equal(set(vc, "sharefs", "readonly:share=/srv=x", 0), 0);
	assert_json(vc, "sharefs", "[{\"name\":\"share\",\"path\":\"/srv=x\","
	    "\"readonly\":true}]");
	assert_int_equal(set(vc, "cpu_pin", "1:3", 0), 0);
	assert_json(vc, "cpu_pin", "[{\"hostcpu\":3,\"vcpu\":1}]");
	assert_int_equal(set(vc, "hda", ":/dev/dsp", 0), 0);
	assert_json(vc, "hda", "[{\"play\":null,\"rec\":\"/dev/dsp\"}]");
	assert_int_equal(set(vc, "tpm", "/dev/tpm0:2.0", 0), 0);
	assert_json(vc, "tpm", "{\"dev\":\"/dev/tpm0\",\"type\":\"passthru\","
	    "\"version\":\"2.0\"}");
	assert_int_equal(set(vc, "tpm", "swtpm:/run/s", 0), 0);
	assert_json(vc, "tpm", "{\"dev\":\"/run/s\",\"type\":\"swtpm\","
	    "\"version\":null}");
	assert_int_equal(set(vc, "tpm", "bad", 0), -1);
	assert_json(vc, "tpm", "{\"dev\":\"/run/s\",\"type\":\"swtpm\","
	    "\"version\":null}");
	vm_conf_free(vc);
}

static void
test_mode(void **state)
{
	static const struct {
		const char	*s;
		int		 ok;
		unsigned	 mode;
	} tc[] = {
		{ "0600", 1, 0600 }, { "0660", 1, 0660 }, { "660", 1, 0660 },
		{ "0", 1, 0 }, { "07777", 1, 07777 }, { "ug=rw", 1, 0660 },
		{ "u=rwx,go=rx", 1, 0755 }, { "a=r", 1, 0444 },
		{ "=rw", 1, 0666 }, { "o+w", 1, 0002 },
		{ "0999", 0, 0 }, { "010000", 0, 0 }, { "", 0, 0 },
		{ "u=rwz", 0, 0 }, { "x=r", 0, 0 }, { "ug", 0, 0 },
	};
	unsigned m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		m = 12345;
		if ((conf_parse_mode(tc[i].s, &m) == 0) != tc[i].ok)
			fail_msg("mode \"%s\": wrong verdict", tc[i].s);
		if (tc[i].ok && m != tc[i].mode)
			fail_msg("mode \"%s\": %o, expected %o", tc[i].s, m,
			    tc[i].mode);
	}
}

static void
test_global_set(void **state)
{
	struct global_conf gc;
	struct buf err;

	(void)state;
	global_conf_init(&gc);
	buf_init(&err);
	assert_int_equal(key_set(gkeys_find("cmd_socket_mode"), &gc, "ug=rw",
	    0, NULL, &err), 0);
	assert_string_equal(gc.gc_cmd_socket_mode, "ug=rw");
	assert_true(key_isset(gkeys_find("cmd_socket_mode"), &gc));
	assert_int_equal(key_set(gkeys_find("cmd_socket_mode"), &gc, "0999",
	    0, NULL, &err), -1);
	assert_string_equal(gc.gc_cmd_socket_mode, "ug=rw");
	assert_int_equal(key_set(gkeys_find("nmdm_offset"), &gc, "1000", 0,
	    NULL, &err), 0);
	assert_int_equal(gc.gc_nmdm_offset, 1000);
	assert_int_equal(key_set(gkeys_find("nmdm_offset"), &gc, "x", 0, NULL,
	    &err), -1);
	assert_int_equal(key_set(gkeys_find("pid_file"), &gc, "rel", 0, NULL,
	    &err), -1);
	buf_free(&err);
	global_conf_clear(&gc);
}

/* ---- lists ---- */

static void
test_list_append_clear(void **state)
{
	struct vm_conf *vc = vm_conf_new();
	const struct conf_key *k = key("disk");

	(void)state;
	assert_int_equal(set(vc, "disk", "/a", 0), 0);
	assert_int_equal(set(vc, "disk", "/b", 1), 0);
	assert_int_equal(vc->vc_disk.l_n, 2);
	assert_text(vc, "disk", "virtio-blk:/a, virtio-blk:/b");
	/* a rejected value changes nothing, appended or not */
	assert_int_equal(set(vc, "disk", "rel", 1), -1);
	assert_int_equal(set(vc, "disk", "rel", 0), -1);
	assert_int_equal(vc->vc_disk.l_n, 2);
	/* "=" replaces */
	assert_int_equal(set(vc, "disk", "/c", 0), 0);
	assert_int_equal(vc->vc_disk.l_n, 1);
	assert_string_equal(CLIST_AT(&vc->vc_disk, struct conf_disk, 0)->d_path,
	    "/c");
	key_clear(k, vc);
	assert_int_equal(vc->vc_disk.l_n, 0);
	assert_json(vc, "disk", "[]");
	/* "+=" on an empty list */
	assert_int_equal(set(vc, "disk", "/d", 1), 0);
	assert_int_equal(vc->vc_disk.l_n, 1);
	/* a scalar key_clear */
	assert_int_equal(set(vc, "keymap", "jp", 0), 0);
	key_clear(key("keymap"), vc);
	assert_null(vc->vc_keymap);
	vm_conf_free(vc);
}

static void
test_positions(void **state)
{
	struct vm_conf *vc = vm_conf_new();
	struct pos p1 = { "x.conf", 3, 5 }, p2 = { "x.conf", 4, 9 };
	const struct pos *p;
	struct buf err;

	(void)state;
	buf_init(&err);
	vc->vc_pos = (struct pos){ "x.conf", 1, 1 };
	vm_conf_positions(vc, 1);
	p = key_pos(key("memory"), vc);
	assert_int_equal(p->line, 1);
	assert_int_equal(key_set(key("memory"), vc, "1G", 0, &p1, &err), 0);
	assert_int_equal(key_pos(key("memory"), vc)->line, 3);
	assert_int_equal(key_pos(key("memory"), vc)->col, 5);
	assert_int_equal(key_set(key("disk"), vc, "/a", 0, &p1, &err), 0);
	assert_int_equal(key_set(key("disk"), vc, "/b", 1, &p2, &err), 0);
	assert_int_equal(vc->vc_disk.l_pos[0].line, 3);
	assert_int_equal(vc->vc_disk.l_pos[1].line, 4);
	assert_int_equal(vc->vc_disk.l_pos[1].col, 9);
	buf_free(&err);
	vm_conf_free(vc);
}

/* A loaded VM keeps no positions: errors then point at its section. */
static void
test_positions_dropped(void **state)
{
	struct vm_conf *vc = vm_conf_new(), *c;
	struct pos p1 = { "x.conf", 3, 5 };
	struct buf err;

	(void)state;
	buf_init(&err);
	vc->vc_pos = (struct pos){ "x.conf", 1, 1 };
	assert_null(vc->vc_kpos);
	assert_int_equal(key_set(key("disk"), vc, "/a", 0, &p1, &err), 0);
	assert_null(vc->vc_disk.l_pos);
	/* items set before tracking began point at the section */
	vm_conf_positions(vc, 1);
	assert_non_null(vc->vc_disk.l_pos);
	assert_int_equal(vc->vc_disk.l_pos[0].line, 1);
	assert_int_equal(key_set(key("disk"), vc, "/b", 1, &p1, &err), 0);
	assert_int_equal(key_set(key("memory"), vc, "1G", 0, &p1, &err), 0);
	assert_int_equal(vc->vc_disk.l_pos[1].line, 3);
	c = vm_conf_dup(vc);
	assert_int_equal(c->vc_disk.l_pos[1].line, 3);
	assert_int_equal(key_pos(key("memory"), c)->line, 3);
	vm_conf_positions(vc, 0);
	assert_null(vc->vc_kpos);
	assert_null(vc->vc_disk.l_pos);
	assert_int_equal(key_pos(key("memory"), vc)->line, 1);
	assert_int_equal(vc->vc_disk.l_n, 2);
	assert_true(vm_conf_equal(vc, c));
	vm_conf_free(c);
	c = vm_conf_dup(vc);
	assert_null(c->vc_kpos);
	assert_null(c->vc_disk.l_pos);
	assert_true(vm_conf_equal(vc, c));
	assert_int_equal(key_set(key("disk"), vc, "/c", 1, &p1, &err), 0);
	assert_null(vc->vc_disk.l_pos);
	assert_false(vm_conf_equal(vc, c));
	buf_free(&err);
	vm_conf_free(c);
	vm_conf_free(vc);
}

/* ---- dup / equal ---- */

static struct vm_conf *
full_vm(void)
{
	struct vm_conf *vc = vm_conf_new();
	static const char *const kv[][2] = {
		{ "memory", "2G" }, { "ncpu", "2:2" }, { "disk", "noexist:/a" },
		{ "iso", "noexist:/i" }, { "network", "[02:0:0:0:0:1]:br0" },
		{ "sharefs", "s=/s" }, { "cpu_pin", "0:0" }, { "hda", "/dev/x" },
		{ "tpm", "/dev/tpm0" }, { "com1", "auto" }, { "keymap", "jp" },
		{ "graphics_res", "800x600" }, { "boot", "always" },
		{ "bhyve_env", "A=1" }, { "passthru", "ppt0" },
		{ "hookcmd", "/h" }, { "x_list", "v" },
	};
	size_t i;

	vc->vc_name = intern("full");
	vc->vc_section = intern("full");
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (set(vc, kv[i][0], kv[i][1], 0) == -1)
			fail_msg("%s = %s rejected", kv[i][0], kv[i][1]);
	return vc;
}

static void
test_dup_equal(void **state)
{
	struct vm_conf *a = full_vm(), *b, *c;
	size_t i;

	(void)state;
	b = vm_conf_dup(a);
	assert_true(vm_conf_equal(a, b));
	assert_true(vm_conf_equal(b, a));
	/* the copy is deep, but for interned strings: those are shared */
	assert_ptr_not_equal(a->vc_disk.l_v, b->vc_disk.l_v);
	assert_ptr_equal(a->vc_keymap, b->vc_keymap);
	assert_string_equal(b->vc_name, "full");
	for (i = 0; i < keys_count(); i++)
		assert_int_equal(key_isset(keys_at(i), a),
		    key_isset(keys_at(i), b));

	/* every kind of difference is seen */
	c = vm_conf_dup(a);
	assert_int_equal(set(c, "disk", "noexist:/b", 0), 0);
	assert_false(vm_conf_equal(a, c));
	vm_conf_free(c);
	c = vm_conf_dup(a);
	assert_int_equal(set(c, "disk", "noexist:/b", 1), 0);
	assert_false(vm_conf_equal(a, c));
	vm_conf_free(c);
	c = vm_conf_dup(a);
	assert_int_equal(set(c, "memory", "2048M", 0), 0);
	assert_false(vm_conf_equal(a, c));	/* same bytes, other text */
	vm_conf_free(c);
	c = vm_conf_dup(a);
	assert_int_equal(set(c, "tpm", "/dev/tpm0:2.0", 0), 0);
	assert_false(vm_conf_equal(a, c));
	vm_conf_free(c);
	c = vm_conf_dup(a);
	assert_int_equal(set(c, "network", "[02:0:0:0:0:2]:br0", 0), 0);
	assert_false(vm_conf_equal(a, c));
	vm_conf_free(c);
	c = vm_conf_dup(a);
	assert_int_equal(set(c, "hookcmd", "/other", 0), 0);
	assert_false(vm_conf_equal(a, c));
	vm_conf_free(c);
	c = vm_conf_dup(a);
	c->vc_owner = 1;
	assert_false(vm_conf_equal(a, c));
	vm_conf_free(c);
	c = vm_conf_dup(a);
	c->vc_group = 1;
	assert_false(vm_conf_equal(a, c));
	vm_conf_free(c);
	c = vm_conf_dup(a);
	key_clear(key("keymap"), c);
	assert_false(vm_conf_equal(a, c));
	vm_conf_free(c);

	/* an unchanged value set again is still equal */
	assert_int_equal(set(b, "keymap", "jp", 0), 0);
	assert_true(vm_conf_equal(a, b));
	vm_conf_free(a);
	vm_conf_free(b);

	a = vm_conf_new();
	b = vm_conf_new();
	assert_true(vm_conf_equal(a, b));
	vm_conf_free(a);
	vm_conf_free(b);
}

static void
test_vm_json(void **state)
{
	struct vm_conf *vc = full_vm();
	json_t *o;
	size_t i;

	(void)state;
	vc->vc_owner_name = intern("root");
	vc->vc_file = "/etc/bmd.conf";
	o = vm_conf_json(vc);
	assert_string_equal(json_string_value(json_object_get(o, "name")),
	    "full");
	assert_string_equal(json_string_value(json_object_get(o, "owner")),
	    "root");
	assert_true(json_is_null(json_object_get(o, "group")));
	assert_true(json_is_integer(json_object_get(o, "id")));
	assert_string_equal(json_string_value(json_object_get(o, "file")),
	    "/etc/bmd.conf");
	/* every visible key of the table is a member */
	for (i = 0; i < keys_count(); i++) {
		if (keys_at(i)->k_flags & KEY_HIDDEN)
			continue;
		if (json_object_get(o, keys_at(i)->k_name) == NULL)
			fail_msg("%s missing from the JSON", keys_at(i)->k_name);
	}
	assert_null(json_object_get(o, "comport"));
	assert_int_equal(json_integer_value(json_object_get(o, "memory")),
	    2LL << 30);
	assert_string_equal(json_string_value(json_object_get(o, "com1")),
	    "auto");
	json_decref(o);
	vm_conf_free(vc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: registration is closed once a VM exists */
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_find_case_insensitive),
		cmocka_unit_test(test_find_aliases),
		cmocka_unit_test(test_every_spec_key),
		cmocka_unit_test(test_global_keys),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_suggest_case_insensitive),
		cmocka_unit_test(test_vm_defaults),
		cmocka_unit_test(test_global_defaults),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_ncpu),
		cmocka_unit_test(test_int_bool_enum),
		cmocka_unit_test(test_strings_and_paths),
		cmocka_unit_test(test_com_kinds),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_iso),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_sharefs_cpupin_hda_tpm),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_global_set),
		cmocka_unit_test(test_list_append_clear),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_positions_dropped),
		cmocka_unit_test(test_dup_equal),
		cmocka_unit_test(test_vm_json),
	};

	return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
