/*
 * Unit tests for bmd -n's load (lo_discard_vms): every VM is checked and
 * counted but not kept, and the vm sections are parsed again file by
 * file; the diagnostics, counts and IDs must be a full load's.  Also
 * the arena the trees are allocated from (src/common/arena.c).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "ast.h"
#include "backend.h"
#include "conf.h"
#include "tfile.h"

#define GOLDENS	"tests/conf"

static char	tmpdir[64];

/* ---- the arena ---- */

static void
test_arena_alloc(void **state)
{
	struct arena ar;
	char *s, *big;
	long long *n[1000];
	size_t i;

	(void)state;
	arena_init(&ar, 0);
	for (i = 0; i < 1000; i++) {
		/* strings between nodes must not misalign the nodes */
		s = arena_strdup(&ar, i % 2 ? "x" : "abc");
		assert_string_equal(s, i % 2 ? "x" : "abc");
		n[i] = arena_calloc(&ar, 1, sizeof(*n[i]));
		assert_int_equal((uintptr_t)n[i] % 8, 0);
		assert_true(*n[i] == 0);
		*n[i] = (long long)i;
	}
	for (i = 0; i < 1000; i++)
		assert_true(*n[i] == (long long)i);
	/* larger than any chunk: a chunk of its own */
	big = arena_alloc(&ar, 1 << 20);
	memset(big, 'b', 1 << 20);
	assert_int_equal(n[999][0], 999);
	assert_true(ar.ar_size >= (1 << 20));
	/* as strndup: at most len bytes, and not past a NUL */
	assert_string_equal(arena_strndup(&ar, "abcdef", 3), "abc");
	assert_string_equal(arena_strndup(&ar, "ab", 10), "ab");
	assert_null(arena_memdup(&ar, "x", 0));
	assert_memory_equal(arena_memdup(&ar, "xyz", 3), "xyz", 3);
	/* only the newest allocation can be given back */
	s = arena_alloc(&ar, 16);
	arena_pop(&ar, s, 16);
	assert_ptr_equal(arena_alloc(&ar, 16), s);
	big = arena_alloc(&ar, 16);
	arena_pop(&ar, s, 16);
	assert_ptr_not_equal(arena_alloc(&ar, 16), s);
	assert_ptr_not_equal(arena_alloc(&ar, 16), big);
	arena_free(&ar);
	assert_null(ar.ar_chunks);
	assert_int_equal(ar.ar_size, 0);
	/* a freed (or zeroed) arena can be used again */
	assert_string_equal(arena_strdup(&ar, "again"), "again");
	arena_free(&ar);
}

/* After arena_reset the same allocations need no more chunks. */
static void
test_arena_reset(void **state)
{
	struct arena ar;
	size_t i, size, held = 0;
	char *p;

	(void)state;
	arena_init(&ar, 0);
	for (i = 0; i < 4; i++) {
		arena_reset(&ar);
		memset(arena_alloc(&ar, 100), 'a', 100);
		/* a large one: a chunk of its own, kept for the next round */
		memset(arena_alloc(&ar, 200000), 'x', 200000);
		for (size = 0; size < 500000; size += 1000) {
			p = arena_alloc(&ar, 1000);
			memset(p, 'y', 1000);
		}
		assert_true(ar.ar_size < 1000000);
		if (i > 0)
			assert_int_equal(ar.ar_size, held);
		held = ar.ar_size;
	}
	arena_free(&ar);
	assert_null(ar.ar_spare);
}

/* A tree parsed into the memory of another is the tree parsed anew. */
static void
test_parse_reuse(void **state)
{
	static const char a[] = "vm a { memory = $((1 + 2))G; }\n"
	    "template t(x = 1) { ncpu = $x; }\n";
	static const char b[] = "global { $y = 2; }\nvm b { .apply t(3); }\n";
	struct diags ds;
	struct ast_file *af, *fresh;
	char *j1, *j2;

	(void)state;
	diags_init(&ds);
	af = ast_parse_buffer("a.conf", a, sizeof(a) - 1, &ds);
	af = ast_parse_reuse(af, "b.conf", b, sizeof(b) - 1, &ds);
	fresh = ast_parse_buffer("b.conf", b, sizeof(b) - 1, &ds);
	assert_int_equal(ds.ds_n, 0);
	j1 = ast_to_json(af);
	j2 = ast_to_json(fresh);
	assert_string_equal(j1, j2);
	assert_ptr_equal(af->af_path, fresh->af_path);
	free(j1);
	free(j2);
	ast_free(af);
	ast_free(fresh);
	diags_free(&ds);
}

/* Small trees take small chunks; large ones do not grow per node. */
static void
test_arena_tree_size(void **state)
{
	struct diags ds;
	struct ast_file *af;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	size_t i;

	(void)state;
	diags_init(&ds);
	af = ast_parse_buffer("t.conf", "vm a { memory = 1G; }\n", 22, &ds);
	assert_int_equal(ds.ds_nerrors, 0);
	assert_true(af->af_arena.ar_size <= 1024);
	ast_free(af);
	fp = open_memstream(&text, &len);
	for (i = 0; i < 5000; i++)
		fprintf(fp, "vm v%zu { memory = $((%zu * 2))M; }\n", i, i);
	fclose(fp);
	af = ast_parse_buffer("t.conf", text, len, &ds);
	assert_int_equal(ds.ds_nerrors, 0);
	assert_int_equal(af->af_nsects, 5000);
	assert_string_equal(af->af_sects[4999].sc_name, "v4999");
	/* some 600 bytes a section of 37: a bound against regressions */
	assert_true(af->af_arena.ar_size < len * 20);
	/* the newest chunk is at most a third of the whole */
	assert_true((size_t)(af->af_arena.ar_end - af->af_arena.ar_next) <=
	    af->af_arena.ar_size / 3);
	ast_free(af);
	free(text);
	diags_free(&ds);
}

/* The tree without its vm sections keeps the rest, in order. */
static void
test_without_vms(void **state)
{
	static const char src[] =
	    "global { $x = 1; }\n"
	    "vm a { memory = 1G; }\n"
	    "template t(m = 2G) { memory = $m; }\n"
	    ".include \"none/*.conf\";\n"
	    "vm b { .apply t; }\n";
	struct diags ds;
	struct ast_file *af, *rest;

	(void)state;
	diags_init(&ds);
	af = ast_parse_buffer("t.conf", src, sizeof(src) - 1, &ds);
	assert_int_equal(ds.ds_nerrors, 0);
	assert_non_null(rest = ast_without_vms(af));
	assert_int_equal(rest->af_nsects, 3);
	assert_int_equal(rest->af_sects[0].sc_type, SC_GLOBAL);
	assert_int_equal(rest->af_sects[1].sc_type, SC_TEMPLATE);
	assert_string_equal(rest->af_sects[1].sc_name, "t");
	assert_int_equal(rest->af_sects[1].sc_nargs, 1);
	assert_int_equal(rest->af_sects[1].sc_pos.line, 3);
	assert_int_equal(rest->af_sects[2].sc_type, SC_INCLUDE);
	assert_ptr_equal(rest->af_path, af->af_path);
	ast_free(rest);
	ast_free(af);
	af = ast_parse_buffer("t.conf", "global { }\n", 11, &ds);
	assert_null(ast_without_vms(af));	/* nothing to leave out */
	ast_free(af);
	diags_free(&ds);
}

/* ---- bmd -n's load against a full one ---- */

struct result {
	struct diags	 r_ds;
	int		 r_fatal;
	size_t		 r_naccepted, r_nvms, r_nusererrors;
};

static void
load_path(const char *path, int discard, struct idmap *ids,
    struct result *r)
{
	struct conf_load_opts lo = { .lo_path = path, .lo_ids = ids,
	    .lo_check_files = 1, .lo_validate = backend_validate_vm,
	    .lo_discard_vms = discard };
	struct conf *c;

	diags_init(&r->r_ds);
	c = conf_load(&lo, &r->r_ds);
	r->r_fatal = c->c_fatal;
	r->r_naccepted = c->c_naccepted;
	r->r_nvms = c->c_nvms;
	r->r_nusererrors = c->c_nusererrors;
	conf_free(c);
}

/* The same diagnostics in the same order, the same counts. */
static void
compare(const char *path, struct idmap *ids1, struct idmap *ids2)
{
	struct result full, check;
	size_t i;

	load_path(path, 0, ids1, &full);
	load_path(path, 1, ids2, &check);
	if (full.r_ds.ds_n != check.r_ds.ds_n)
		fail_msg("%s: %zu diagnostics, %zu with lo_discard_vms", path,
		    full.r_ds.ds_n, check.r_ds.ds_n);
	for (i = 0; i < full.r_ds.ds_n; i++) {
		assert_int_equal(full.r_ds.ds_v[i].d_level,
		    check.r_ds.ds_v[i].d_level);
		assert_string_equal(full.r_ds.ds_v[i].d_text,
		    check.r_ds.ds_v[i].d_text);
	}
	assert_int_equal(full.r_ds.ds_nerrors, check.r_ds.ds_nerrors);
	assert_int_equal(full.r_fatal, check.r_fatal);
	assert_int_equal(full.r_nusererrors, check.r_nusererrors);
	assert_int_equal(full.r_naccepted, full.r_nvms);
	assert_int_equal(check.r_naccepted, full.r_nvms);
	assert_int_equal(check.r_nvms, 0);
	diags_free(&full.r_ds);
	diags_free(&check.r_ds);
}

/* Every case of the golden tests: the pass-* and the fail-* alike. */
static void
test_goldens_same(void **state)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t len, n = 0;
	DIR *d;

	(void)state;
	if ((d = opendir(GOLDENS)) == NULL)
		fail_msg("cannot open %s (run from the top directory)",
		    GOLDENS);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", GOLDENS, de->d_name);
		compare(path, NULL, NULL);
		n++;
	}
	closedir(d);
	assert_true(n > 100);
}

static int
setup(void **state)
{
	char *real;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bmd-unit-check.XXXXXX");
	if (mkdtemp(tmpdir) == NULL ||
	    (real = realpath(tmpdir, NULL)) == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", real);
	free(real);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * Many files: templates defined after the VMs that apply them, errors
 * in several files, a name defined twice across files, and sections
 * met again (their ID keys count per file).
 */
static void
test_files_same(void **state)
{
	char main[256], key[512];
	struct idmap *ids1 = idmap_new(), *ids2 = idmap_new();
	int i;

	(void)state;
	tfile_put(tmpdir, "main.conf", "global { $img = /var/vm; }\n"
	    ".include \"a.conf\";\n.include \"b.conf\";\n"
	    "vm m { .apply late(512M); disk = noexist:$img/$NAME; }\n"
	    "vm d { memory = 1G; }\n");
	tfile_put(tmpdir, "a.conf", "vm a1 { .apply late; graphics_port = $((5900 + $ID)); }\n"
	    "vm a2 { memory = 1G; ncpu = $((1 / 0)); }\n"
	    "vm d { memory = 1G; name = d2; }\n"
	    "vm d { memory = 1G; name = d3; }\n"
	    "vm a3 { memory = 1G; unknown_key = 1; }\n");
	tfile_put(tmpdir, "b.conf", "template late(mem = 1G) { memory = $mem; }\n"
	    "vm b1 { .apply nosuch; }\nvm d { memory = 1G; name = m; }\n"
	    "vm d { memory = 1G; name = d4; }\nvm b2 { memory = 2G; }\n");
	snprintf(main, sizeof(main), "%s/main.conf", tmpdir);
	compare(main, ids1, ids2);
	/* the ID keys: "d" again in a.conf is its first there, second... */
	for (i = 0; i < 2; i++) {
		assert_int_equal(idmap_get(i ? ids2 : ids1, "m"), 0);
		assert_int_equal(idmap_get(i ? ids2 : ids1, "d"), 1);
		snprintf(key, sizeof(key), "d\n0\n%s/a.conf\n0", tmpdir);
		assert_int_equal(idmap_get(i ? ids2 : ids1, key), 4);
		snprintf(key, sizeof(key), "d\n0\n%s/a.conf\n1", tmpdir);
		assert_int_equal(idmap_get(i ? ids2 : ids1, key), 5);
		snprintf(key, sizeof(key), "d\n0\n%s/b.conf\n1", tmpdir);
		assert_int_equal(idmap_get(i ? ids2 : ids1, key), 9);
	}
	idmap_free(ids1);
	idmap_free(ids2);
	/* a syntax error in an included file: fatal in both */
	tfile_put(tmpdir, "b.conf", "vm b1 { memory = ; ; }\nvm b2 { memory 1G; }\n");
	compare(main, NULL, NULL);
}

/* The same section name three times in one file, and in another. */
static void
test_repeated_sections(void **state)
{
	char main[256], key[512];
	struct idmap *ids1 = idmap_new(), *ids2 = idmap_new();
	struct idmap *ids;
	int i;

	(void)state;
	tfile_put(tmpdir, "main.conf", "vm a { memory = 1G; name = a1; }\n"
	    "vm a { memory = 1G; name = a2; }\n.include \"o.conf\";\n"
	    "vm a { memory = 1G; name = a3; }\n");
	tfile_put(tmpdir, "o.conf", "vm a { memory = 1G; name = o1; }\n"
	    "vm a { memory = 1G; name = o2; }\n");
	snprintf(main, sizeof(main), "%s/main.conf", tmpdir);
	compare(main, ids1, ids2);
	for (i = 0; i < 2; i++) {
		ids = i ? ids2 : ids1;
		assert_int_equal(idmap_get(ids, "a"), 0);
		snprintf(key, sizeof(key), "a\n0\n%s\n1", main);
		assert_int_equal(idmap_get(ids, key), 1);
		snprintf(key, sizeof(key), "a\n0\n%s\n2", main);
		assert_int_equal(idmap_get(ids, key), 2);
		snprintf(key, sizeof(key), "a\n0\n%s/o.conf\n0", tmpdir);
		assert_int_equal(idmap_get(ids, key), 3);
		snprintf(key, sizeof(key), "a\n0\n%s/o.conf\n1", tmpdir);
		assert_int_equal(idmap_get(ids, key), 4);
		assert_int_equal(idmap_get(ids, "new"), 5);
	}
	idmap_free(ids1);
	idmap_free(ids2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_alloc),
		cmocka_unit_test(test_arena_reset),
		cmocka_unit_test(test_parse_reuse),
		cmocka_unit_test(test_arena_tree_size),
		cmocka_unit_test(test_without_vms),
		cmocka_unit_test(test_goldens_same),
		cmocka_unit_test_setup_teardown(test_files_same, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repeated_sections, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
