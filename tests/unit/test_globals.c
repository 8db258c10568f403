/* Unit tests for the globals-only parse (parse.c skip_section, skim.c). */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"
#include "lex.h"
#include "load.h"
#include "platform.h"

/* The tree of af with only its global and .include sections, as JSON. */
static char *
globals_json(const struct ast_file *af)
{
	struct ast_file g = { .af_path = af->af_path };
	char *s;
	size_t i;

	g.af_sects = calloc(af->af_nsects + 1, sizeof(*g.af_sects));
	for (i = 0; i < af->af_nsects; i++)
		if (af->af_sects[i].sc_type == SC_GLOBAL ||
		    af->af_sects[i].sc_type == SC_INCLUDE)
			g.af_sects[g.af_nsects++] = af->af_sects[i];
	s = ast_to_json(&g);
	free(g.af_sects);
	return s;
}

static char *
all_text(const struct diags *ds)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < ds->ds_n; i++)
		buf_printf(&b, "%s\n", ds->ds_v[i].d_text);
	return buf_release(&b);
}

/* Parse src both ways; the globals-only errors go to *errs. */
static void
both(const char *src, size_t len, char **full, size_t *nfull, char **glob,
    char **errs)
{
	struct ast_file *af;
	struct diags ds;

	diags_init(&ds);
	af = ast_parse_buffer("t.conf", src, len, &ds);
	*full = globals_json(af);
	*nfull = ds.ds_nerrors;
	ast_free(af);
	diags_free(&ds);
	diags_init(&ds);
	af = ast_parse_globals("t.conf", src, len, &ds);
	*glob = globals_json(af);
	*errs = all_text(&ds);
	ast_free(af);
	diags_free(&ds);
}

/* Valid text: the same global sections, at the same places, no error. */
static void
same(const char *src)
{
	char *full, *glob, *errs;
	size_t nfull;

	both(src, strlen(src), &full, &nfull, &glob, &errs);
	if (nfull != 0)
		fail_msg("not valid: %s", src);
	assert_string_equal(errs, "");
	assert_string_equal(glob, full);
	free(full);
	free(glob);
	free(errs);
}

/* Only the global sections are in the tree. */
static void
test_tree(void **state)
{
	struct ast_file *af;
	struct diags ds;
	const char *src = "global { $a = 1; }\nvm x { memory = 1G; }\n"
	    "template t(m = 2) { ncpu = $m; }\n.include \"d/*.conf\";\n"
	    "global { cmd_socket_path = \"/run/$a.sock\"; }\n";

	(void)state;
	diags_init(&ds);
	af = ast_parse_globals("t.conf", src, strlen(src), &ds);
	assert_int_equal(ds.ds_n, 0);
	assert_int_equal(af->af_nsects, 3);
	assert_int_equal(af->af_sects[0].sc_type, SC_GLOBAL);
	assert_int_equal(af->af_sects[1].sc_type, SC_INCLUDE);
	assert_int_equal(af->af_sects[2].sc_type, SC_GLOBAL);
	assert_int_equal(af->af_sects[2].sc_pos.line, 5);
	assert_string_equal(af->af_sects[2].sc_stmts[0].s_name,
	    "cmd_socket_path");
	ast_free(af);
	diags_free(&ds);
}

/* Values whose extent a skim could get wrong, each followed by a global. */
static const char *const tricky[] = {
	"vm a { cmdline = \"}\"; disk = '{'; }",
	"vm a { x = \"a\\\"}\"; y = 'b\\'{'; }",
	"vm a { x = a\\}b; y = \\{; }",
	"vm a { x = \"${we\"ird}\"; y = \"${o}}\"; }",
	"vm a { x = $(( (1 + ${b}) * 2 )); y = \"$((3))}\"; }",
	"vm a { x = http://h/p//q; y = a/*b*/c; }",
	"vm a { x = 1; # } comment\n}",
	"vm a { x = 1; /* } */ }",
	"vm a { x = 1; // }\n}",
	"vm a { x = a\\\n\\}b; }",
	"vm a { x = \"line\\\n}\"; }",
	"vm a { x = a$b\\}; z = $$; }",
	"template t(a = \"}\", b = \\{) { }",
	"template t(a = '}', b) { .apply u(\"}\", $((1))); }",
	"vm \"}\" { .apply t; }",
	"vm a { x += $a$((1))\"}\"'{'; }",
	/* what the byte loop of lex_skim_body passes over, or stops at */
	"vm a { x = \"${n}}{\"; y = 'a\"}b'; z = \"a'{b\"; }",
	"vm a { x = vm_x; y = globals; t = \"vm\"; u = a.vm; }",
	"vm a {\r\n\tx = a, b;\r\n}",
	"vm a { x = \"multi\nline }\"; y = 'two\n{'; }",
	"vm a { y = \"$(x)}\"; z = 1+2; w = a$; }",
	"vm a { x = a#}\n; y = \"b\"#{\n; }",
	"vm a { x = /p/q; y = \"s\"//c\n; }",
};

static void
test_tricky_values(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b);
	for (i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		buf_reset(&b);
		buf_printf(&b, "global { $g = 1; }\n%s\nglobal {\n"
		    "\tcmd_socket_path = \"/r/${g}x\";\n}\n", tricky[i]);
		same(b.b_data);
	}
	buf_free(&b);
}

/* skim.c's table of bytes says what lex.c's classes say. */
static void
test_skim_kinds(void **state)
{
	int c, want;

	(void)state;
	for (c = 0; c < 256; c++) {
		if (c == '\n')
			want = SK_NL;
		else if (c == ' ' || c == '\t' || c == '\r' || c == ';' ||
		    c == '=' || c == ',' || c == '(' || c == ')')
			want = SK_SEP;
		else if (c == '#')
			want = SK_HASH;
		else if (c == '"' || c == '\'')
			want = SK_QUOTE;
		else if (c == '/')
			want = SK_SLASH;
		else if (is_wordchar(c) && c != '$' && c != '+')
			want = SK_WORD;
		else
			want = SK_STOP;
		if (lex_skim_kind[c] != want)
			fail_msg("byte %d: kind %d, not %d", c,
			    lex_skim_kind[c], want);
	}
}

/* Errors inside vm and template sections are not reported. */
static void
test_vm_errors_ignored(void **state)
{
	static const char *const bad[] = {
		"vm a { memory = ; ncpu = = 2; }",
		"vm a { x = $((1 +)); y = ${}; z = ${a;\n}",
		"vm a { x = $((1 + ; y = 2; }",
		"vm a { \001 \xc3; nokey; }",
		"vm a { x = \"\\0\"; }",
		"template t(a b) { .apply = 1; vm = 2; }",
		"vm a x y { .include \"z\"; }",
		"vm { x = 1; }",
		"vm a { x = { y }; }",
		"vm a { memory = 1G;",		/* missing "}": recovered */
	};
	char *full, *glob, *errs;
	struct buf b;
	size_t i, nfull;

	(void)state;
	buf_init(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&b);
		buf_printf(&b, "%s\nglobal { cmd_socket_path = /s; }\n",
		    bad[i]);
		both(b.b_data, b.b_len, &full, &nfull, &glob, &errs);
		if (nfull == 0)
			fail_msg("valid: %s", bad[i]);
		assert_string_equal(errs, "");
		assert_non_null(strstr(glob, "cmd_socket_path"));
		free(full);
		free(glob);
		free(errs);
	}
	buf_free(&b);
}

static void
check_errors(const char *src, const char *want)
{
	char *full, *glob, *errs;
	size_t nfull;

	both(src, strlen(src), &full, &nfull, &glob, &errs);
	assert_string_equal(errs, want);
	free(full);
	free(glob);
	free(errs);
}

/* What may hide a global section, and the global sections' own errors. */
static void
test_errors_reported(void **state)
{
	(void)state;
	check_errors("vm a {\n\tx = 1;\n", "t.conf:3:1: syntax error: "
	    "unexpected end of file (missing \"}\")\n");
	check_errors("vm a", "t.conf:1:5: syntax error: unexpected end of "
	    "file (expected \"{\")\n");
	check_errors("vm a { x = \"y; }\nglobal { z = 1; }\n",
	    "t.conf:1:12: unterminated string\n"
	    "t.conf:3:1: syntax error: unexpected end of file "
	    "(missing \"}\")\n");
	check_errors("vm a { /* x = 1; }\n",
	    "t.conf:1:8: unterminated comment\n"
	    "t.conf:2:1: syntax error: unexpected end of file "
	    "(missing \"}\")\n");
	check_errors("vm a { x = ; }\nglobal {\n\tk = /s\n}\n",
	    "t.conf:4:1: syntax error: unexpected \"}\" (expected \";\")\n");
	check_errors("vm a { }\nglobal { k = \"${}\"; }\n",
	    "t.conf:2:15: empty variable name ${}\n");
	check_errors("vm a { }\nglobal { .include \"x\"; }\n",
	    "t.conf:2:10: .include is only allowed at the top level\n");
}

/* Random valid files: both parses agree on the global sections. */
static const char *const values[] = {
	"w", "\"s }{ $x ${y z} $((1+2))\"", "'q}{\\''", "$v", "${w w}",
	"$((-(2)*3 + ${n}))", "a\\}b", "http://h/p", "\"\\x41\\101\\n\"",
	"a\\\nb", "\"}\"\"{\"", "0", "x$y",
};
static const char *const gaps[] = {
	" ", "\n", "\t", " # } {\n", " /* } { */ ", " // }\n", "\\\n",
};

static unsigned int seed = 11;

static const char *
pick(const char *const *v, size_t n)
{
	seed = seed * 1103515245 + 12345;
	return v[(seed >> 16) % n];
}

#define PICK(v)	pick((v), sizeof(v) / sizeof((v)[0]))

static void
random_section(struct buf *b, int i)
{
	static const char *const heads[] = {
		"global", "vm v%d", "template t%d", "template u%d(a, b = 1)",
		"vm \"w%d\"",
	};
	int k, n;

	buf_printf(b, PICK(heads), i);
	buf_printf(b, "%s{%s", PICK(gaps), PICK(gaps));
	n = (int)((seed >> 8) % 4);
	for (k = 0; k < n; k++) {
		if ((seed >> 20) % 5 == 0)
			buf_printf(b, ".apply t(%s);", PICK(values));
		else
			buf_printf(b, "%s %s= %s%s%s;%s", (seed >> 12) % 2 ?
			    "$k" : "k", (seed >> 14) % 2 ? "+" : "",
			    PICK(values), PICK(gaps), PICK(values),
			    PICK(gaps));
	}
	buf_printf(b, "}%s", PICK(gaps));
}

static void
test_random_valid(void **state)
{
	char *full, *glob, *errs;
	struct buf b;
	size_t nfull;
	int i, j, checked = 0;

	(void)state;
	buf_init(&b);
	for (i = 0; i < 3000; i++) {
		buf_reset(&b);
		for (j = 0; j < 4; j++)
			random_section(&b, j);
		both(b.b_data, b.b_len, &full, &nfull, &glob, &errs);
		if (nfull == 0) {
			assert_string_equal(errs, "");
			assert_string_equal(glob, full);
			checked++;
		}
		free(full);
		free(glob);
		free(errs);
	}
	buf_free(&b);
	/* the generator must mostly write valid text to test anything */
	assert_true(checked > 2000);
}

/* Up to count atoms picked at random, as many as fit in size bytes. */
static size_t
of_atoms(char *in, size_t size, int count, const char *const *atoms,
    size_t natoms)
{
	size_t n = 0, len;
	const char *a;

	while (count-- > 0) {
		a = pick(atoms, natoms);
		if ((len = strlen(a)) + n > size)
			break;
		memcpy(in + n, a, len);
		n += len;
	}
	return n;
}

/* Any bytes: the skim ends, and a tree comes back (run with ASan too). */
static void
test_random_garbage(void **state)
{
	static const char *const atoms[] = {
		"vm", "global", "template", ".include", "{", "}", "(", ")",
		";", "=", "+=", "\"", "'", "\\", "$", "${", "$((", "))", "#",
		"//", "/*", "*/", "\n", " ", "a", "\xc3", "\001", "}}",
	};
	struct ast_file *af;
	struct diags ds;
	char in[96];
	size_t i, n;

	(void)state;
	for (i = 0; i < 20000; i++) {
		n = of_atoms(in, sizeof(in), 24, atoms,
		    sizeof(atoms) / sizeof(atoms[0]));
		diags_init(&ds);
		af = ast_parse_globals("t.conf", in, n, &ds);
		assert_non_null(af);
		ast_free(af);
		diags_free(&ds);
	}
}

/* Where lex_skim_body leaves the cursor of src from off, one way. */
static void
skim_from(const char *src, size_t n, size_t off, int vector, size_t *end,
    int *line, int *col, int *glued)
{
	struct diags ds;
	struct lexer lx;
	struct arena ar;

	diags_init(&ds);
	arena_init(&ar, 0);
	lex_init(&lx, "t.conf", src, n, &ar, &ds);
	lex_advn(&lx, (int)off);
	lex_skim_vector = vector;
	lex_skim_body(&lx);
	lex_skim_vector = 1;
	*end = lx.lx_off;
	*line = lx.lx_pos.line;
	*col = lx.lx_pos.col;
	*glued = lx.lx_glued;
	lex_end(&lx);
	arena_free(&ar);
	diags_free(&ds);
}

static void
skim_same(const char *src, size_t n, size_t off)
{
	size_t e0, e1;
	int l0, l1, c0, c1, g0, g1;

	skim_from(src, n, off, 0, &e0, &l0, &c0, &g0);
	skim_from(src, n, off, 1, &e1, &l1, &c1, &g1);
	if (e0 != e1 || l0 != l1 || c0 != c1 || g0 != g1)
		fail_msg("from %zu of \"%.*s\": the byte loop ends at %zu "
		    "(%d:%d, glued %d), 16 at a time at %zu (%d:%d, glued %d)",
		    off, (int)n, src, e0, l0, c0, g0, e1, l1, c1, g1);
}

/*
 * Runs of plain words and white space are passed over 16 bytes at a
 * time: the cursor ends where the byte loop leaves it, on any bytes, at
 * any alignment, on near-keywords and at the end of the buffer.
 */
static void
test_vector_skim(void **state)
{
	static const char *const atoms[] = {
		"vm", "vmlinuz", "gl", "global", "globals", "tem", "template",
		"te", "xvm", "/", "//", "/*", "*", "$", "${a}", "+", "+=", "\\",
		"\\\n", "\"", "'", "\"s t\"", "#", "\r", "\n", "\t", " ",
		";", "=", ",", "(", ")", "{", "}", "\xc3", "\x7f", "|", "~",
		"a", "/work/main/tests/guest/out/vmlinuz", "abcdefghijklmnopq",
		" = ", ";\n\t", "\"console=ttyS0 quiet $ panic=-1\"",
	};
	char in[256], run[64];
	size_t i, k, n, off;
	int c;

	(void)state;
	for (i = 0; i < 50000; i++) {
		n = of_atoms(in, sizeof(in), 40, atoms,
		    sizeof(atoms) / sizeof(atoms[0]));
		skim_same(in, n, 0);
		skim_same(in, n, (seed >> 8) % n);
	}
	/* every byte value, at every place in a block */
	for (c = 0; c < 256; c++)
		for (off = 0; off < 20; off++) {
			memset(run, 'a', sizeof(run));
			for (k = 0; k < sizeof(run); k += 5)
				run[k] = ' ';
			run[off + 3] = (char)c;
			skim_same(run, sizeof(run), 0);
			skim_same(run, sizeof(run), off);
		}
}

/*
 * bmdctl maps a large file (confload.c): the global section is found
 * there, and a file truncated under the mapping ends the parse with an
 * error, not the process with SIGBUS.
 */
static void
test_mapped_file(void **state)
{
	char path[] = "/tmp/bmd-test-globals.XXXXXX";
	struct qfile q;
	struct parsed pd;
	struct diags ds;
	struct buf b;
	char *map;
	int fd, i, truncated;

	(void)state;
	buf_init(&b);
	for (i = 0; i < 2000; i++)
		buf_printf(&b, "vm v%d {\n\tmemory = 1G;\n\tcmdline = "
		    "\"console=ttyS0 quiet\";\n}\n", i);
	buf_printf(&b, "global { cmd_socket_path = /m.sock; }\n");
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, b.b_data, b.b_len), (ssize_t)b.b_len);
	for (truncated = 0; truncated < 2; truncated++) {
		memset(&q, 0, sizeof(q));
		q.q_path = path;
		q.q_globals = 1;
		map = plat_map_file(fd, b.b_len);
		assert_non_null(map);
		if (truncated)
			assert_int_equal(ftruncate(fd, 0), 0);
		diags_init(&ds);
		load_parse_here(&q, map, b.b_len, 0, NULL, &pd, &ds);
		if (!truncated) {
			assert_int_equal(ds.ds_n, 0);
			assert_non_null(pd.p_ast);
			assert_int_equal(pd.p_ast->af_nsects, 1);
			assert_string_equal(pd.p_ast->af_sects[0].sc_stmts[0].
			    s_name, "cmd_socket_path");
		} else {
			assert_null(pd.p_ast);
			assert_int_equal(ds.ds_n, 1);
			assert_non_null(strstr(ds.ds_v[0].d_text,
			    "the file changed while it was read"));
		}
		ast_free(pd.p_ast);
		parsed_free_incl(&pd);
		diags_free(&ds);
		plat_unmap_file(map, b.b_len);
	}
	close(fd);
	unlink(path);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_tricky_values),
		cmocka_unit_test(test_skim_kinds),
		cmocka_unit_test(test_vm_errors_ignored),
		cmocka_unit_test(test_errors_reported),
		cmocka_unit_test(test_random_valid),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_vector_skim),
		cmocka_unit_test(test_mapped_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
