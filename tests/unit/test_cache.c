/*
 * Unit tests for the cache of parsed files (src/conf/cache.c) through
 * conf_load() with lo_cache: what is reused, and that every change a
 * load must see (a rewrite of the same size, a new or removed file of
 * an .include glob, an error, a template of another file) is seen;
 * and a boot's load that evaluates one VM alone (lo_only).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "keys.h"
#include "tfile.h"

static char			 tmpdir[64];
static struct conf_cache	*cache;
static struct conf		*cur;
static struct conf_cache_stats	 stats;
static char			 errs[4096];
static const char		*only;		/* lo_only of the next loads */

static void
rm(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	assert_int_equal(unlink(path), 0);
}

/* Load main.conf with the cache; errs: diagnostics without tmpdir/. */
static struct conf *
load(void)
{
	char path[256];
	struct conf_load_opts lo = { .lo_path = path, .lo_cache = cache,
	    .lo_only = only };
	struct diags ds;
	size_t i, n = 0, skip = strlen(tmpdir) + 1;

	snprintf(path, sizeof(path), "%s/main.conf", tmpdir);
	conf_free(cur);
	diags_init(&ds);
	cur = conf_load(&lo, &ds);
	errs[0] = '\0';
	for (i = 0; i < ds.ds_n; i++) {
		const char *t = ds.ds_v[i].d_text;

		if (strncmp(t, tmpdir, skip - 1) == 0)
			t += skip;
		n += (size_t)snprintf(errs + n, sizeof(errs) - n, "%s%s",
		    i > 0 ? "\n" : "", t);
		if (n >= sizeof(errs))
			n = sizeof(errs) - 1;
	}
	diags_free(&ds);
	conf_cache_stats(cache, &stats);
	return cur;
}

static const char *
val(const char *vmname, const char *keyname)
{
	static char out[256];
	const struct vm_conf *vc = conf_find_vm(cur, vmname);
	struct buf b;

	if (vc == NULL)
		fail_msg("vm %s not loaded:\n%s", vmname, errs);
	buf_init(&b);
	key_text(keys_find(keyname), vc, &b);
	snprintf(out, sizeof(out), "%s", buf_str(&b));
	buf_free(&b);
	return out;
}

#define MAIN \
	"global { $mem = 256M; }\n" \
	"template base(n = 1) { memory = $mem; ncpu = $n; boot = no; }\n" \
	".include \"vms/*.conf\";\n"

static int
setup(void **state)
{
	char *real, path[256];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bmd-unit-cache.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if ((real = realpath(tmpdir, NULL)) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", real);
	free(real);
	snprintf(path, sizeof(path), "%s/vms", tmpdir);
	if (mkdir(path, 0755) == -1)
		return -1;
	tfile_put(tmpdir, "main.conf", MAIN);
	tfile_put(tmpdir, "vms/a.conf", "vm a { .apply base(2); }\n");
	cache = conf_cache_new();
	/* the files were written just now: trust their times anyway */
	conf_cache_set_margin(cache, -1);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	only = NULL;
	conf_free(cur);
	cur = NULL;
	conf_cache_free(cache);
	cache = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_unchanged_not_parsed(void **state)
{
	(void)state;
	load();
	assert_int_equal(stats.cs_parsed, 2);
	assert_int_equal(stats.cs_reused, 0);
	load();
	assert_string_equal(errs, "");
	assert_int_equal(stats.cs_parsed, 0);
	assert_int_equal(stats.cs_reused, 2);
	/* evaluated again all the same: the template and the global */
	assert_string_equal(val("a", "memory"), "256M");
	assert_string_equal(val("a", "ncpu"), "2");
}

/* Another file's template and variable change: the reused file sees it. */
static void
test_other_file_changes(void **state)
{
	(void)state;
	load();
	tfile_put(tmpdir, "main.conf", "global { $mem = 1024M; }\n"
	    "template base(n = 1) { memory = $mem; ncpu = $(($n * 2)); "
	    "boot = no; }\n.include \"vms/*.conf\";\n");
	load();
	assert_string_equal(errs, "");
	assert_int_equal(stats.cs_parsed, 1);
	assert_int_equal(stats.cs_reused, 1);
	assert_string_equal(val("a", "memory"), "1024M");
	assert_string_equal(val("a", "ncpu"), "4");
}

static void
test_glob_new_and_removed(void **state)
{
	(void)state;
	load();
	tfile_put(tmpdir, "vms/b.conf", "vm b { .apply base; }\n");
	load();
	assert_int_equal(stats.cs_parsed, 1);
	assert_int_equal(stats.cs_reused, 2);
	assert_string_equal(val("b", "ncpu"), "1");
	rm("vms/a.conf");
	load();
	assert_null(conf_find_vm(cur, "a"));
	assert_non_null(conf_find_vm(cur, "b"));
	assert_int_equal(cur->c_nvms, 1);
}

/* An error in a changed file: reported where it is, as without cache. */
static void
test_error_in_changed_file(void **state)
{
	(void)state;
	load();
	tfile_put(tmpdir, "vms/a.conf", "vm a {\n\t.apply base(2)\n}\n");
	load();
	assert_true(cur->c_fatal);
	assert_string_equal(errs, "vms/a.conf:3:1: syntax error: "
	    "unexpected \"}\" (expected \";\")");
	/* not kept: the same error again, then the fix is seen */
	load();
	assert_true(cur->c_fatal);
	assert_int_equal(stats.cs_parsed, 1);
	tfile_put(tmpdir, "vms/a.conf", "vm a { .apply base(3); }\n");
	load();
	assert_false(cur->c_fatal);
	assert_string_equal(val("a", "ncpu"), "3");
}

/* A file renamed into the glob's directory is a new path. */
static void
test_renamed_file(void **state)
{
	char from[256], to[256];

	(void)state;
	load();
	snprintf(from, sizeof(from), "%s/vms/a.conf", tmpdir);
	snprintf(to, sizeof(to), "%s/vms/c.conf", tmpdir);
	assert_int_equal(rename(from, to), 0);
	load();
	assert_string_equal(errs, "");
	assert_non_null(conf_find_vm(cur, "a"));
	assert_string_equal(conf_find_vm(cur, "a")->vc_file, to);
}

/*
 * Times are coarse: a rewrite of the same size soon after a load may
 * keep them.  With the daemon's margin such a recent file is never
 * kept, so the rewrite is seen.
 */
static void
test_same_size_rewrite(void **state)
{
	(void)state;
	conf_cache_set_margin(cache, 2000);
	load();
	tfile_put(tmpdir, "vms/a.conf", "vm a { .apply base(5); }\n");
	load();
	assert_string_equal(val("a", "ncpu"), "5");
	assert_int_equal(stats.cs_parsed, 2);
	tfile_put(tmpdir, "vms/a.conf", "vm a { .apply base(7); }\n");
	load();
	assert_string_equal(val("a", "ncpu"), "7");
}

/* Only files older than the margin are kept. */
static void
test_margin(void **state)
{
	(void)state;
	conf_cache_set_margin(cache, 3600 * 1000);
	load();
	load();
	assert_int_equal(stats.cs_parsed, 2);
	assert_int_equal(stats.cs_reused, 0);
	conf_cache_set_margin(cache, -1);
	load();
	load();
	assert_int_equal(stats.cs_reused, 2);
}

/* A boot's load evaluates its VM alone, with its errors where they are. */
static void
test_only_one_vm(void **state)
{
	(void)state;
	tfile_put(tmpdir, "vms/b.conf", "vm b {\n\t.apply base;\n\tncpu = x;\n}\n"
	    "vm c { .apply base(4); }\n");
	only = "c";
	load();
	assert_string_equal(errs, "");
	assert_int_equal(cur->c_nevaluated, 1);
	assert_int_equal(cur->c_nvms, 1);
	assert_string_equal(val("c", "ncpu"), "4");
	assert_string_equal(val("c", "memory"), "256M");
	only = "b";
	load();
	assert_int_equal(cur->c_nevaluated, 1);
	assert_null(conf_find_vm(cur, "b"));
	assert_true(conf_rejected(cur, "b"));
	assert_non_null(strstr(errs, "vms/b.conf:3:9: "));
	only = NULL;
	load();
	assert_int_equal(cur->c_nevaluated, 3);
}

/* When another section could take the name first, all are evaluated. */
static void
test_only_falls_back(void **state)
{
	(void)state;
	only = "a";
	tfile_put(tmpdir, "vms/b.conf", "vm a { .apply base; }\n");
	load();
	assert_int_equal(cur->c_nevaluated, 2);
	assert_non_null(strstr(errs, "vm \"a\" is already defined at"));
	tfile_put(tmpdir, "vms/b.conf", "vm b { .apply base; name = a; }\n");
	load();
	assert_int_equal(cur->c_nevaluated, 2);
	assert_non_null(strstr(errs, "vm \"a\" is already defined at"));
	tfile_put(tmpdir, "vms/b.conf", "template t() { name = a; }\nvm b { .apply t; }\n");
	load();
	assert_int_equal(cur->c_nevaluated, 2);
	rm("vms/b.conf");
	load();
	assert_int_equal(cur->c_nevaluated, 1);
	assert_string_equal(errs, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unchanged_not_parsed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_file_changes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_glob_new_and_removed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_in_changed_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_renamed_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_size_rewrite,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_margin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_one_vm, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_only_falls_back, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
