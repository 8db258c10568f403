/* Unit tests for the bmd.conf parser (src/conf/parse.c) and ast.c's JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"

/* The last parse: its tree, dump and diagnostics, freed by the next. */
static struct ast_file	*tree;
static char		*dumped;
static char		*errors;

/* ---- dumping a tree as compact text ---- */

/*
 * With allpos set, every position is dumped too (its file as a pointer,
 * which must be the interned one), so that equal dumps mean equal trees.
 */
static int	allpos;

static void
dump_pos(struct buf *b, const struct pos *p)
{
	if (allpos)
		buf_printf(b, "@%p:%d:%d", (const void *)p->file, p->line,
		    p->col);
}

static void
dump_text(struct buf *b, const char *s)
{
	unsigned char c;

	buf_addc(b, '\'');
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '\'' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			buf_addc(b, (char)c);
		else
			buf_printf(b, "\\x%02x", c);
	}
	buf_addc(b, '\'');
}

static void
dump_arith(struct buf *b, const struct arith *a)
{
	static const char ops[] = "nv-+-*/%";

	dump_pos(b, &a->a_pos);
	switch (a->a_op) {
	case AR_NUM:
		buf_printf(b, "%lld", a->a_num);
		break;
	case AR_VAR:
		buf_printf(b, "$%s", a->a_var);
		break;
	case AR_BAD:
		buf_printf(b, "(bad %s)", a->a_var);
		break;
	case AR_NEG:
		buf_adds(b, "(neg ");
		dump_arith(b, a->a_l);
		buf_addc(b, ')');
		break;
	default:
		buf_printf(b, "(%c ", ops[a->a_op]);
		dump_arith(b, a->a_l);
		buf_addc(b, ' ');
		dump_arith(b, a->a_r);
		buf_addc(b, ')');
	}
}

static void
dump_value(struct buf *b, const struct value *v)
{
	size_t i;

	dump_pos(b, &v->v_pos);
	if (v->v_npieces == 0)
		buf_adds(b, "<>");
	for (i = 0; i < v->v_npieces; i++) {
		dump_pos(b, &v->v_pieces[i].p_pos);
		if (v->v_pieces[i].p_type == PC_TEXT)
			dump_text(b, v->v_pieces[i].p_text);
		else if (v->v_pieces[i].p_type == PC_VAR)
			buf_printf(b, "$%s", v->v_pieces[i].p_text);
		else {
			buf_adds(b, "$((");
			dump_arith(b, v->v_pieces[i].p_arith);
			buf_adds(b, "))");
		}
	}
}

static void
dump_values(struct buf *b, const struct value *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		dump_value(b, &v[i]);
	}
}

static void
dump_stmt(struct buf *b, const struct stmt *st)
{
	const struct apply_target *t;
	size_t i;

	dump_pos(b, &st->s_pos);
	dump_pos(b, &st->s_valpos);
	if (st->s_type == ST_APPLY) {
		buf_adds(b, ".apply ");
		for (i = 0; i < st->s_ntargets; i++) {
			t = &st->s_targets[i];
			if (i > 0)
				buf_addc(b, ',');
			dump_pos(b, &t->t_pos);
			dump_value(b, &t->t_name);
			if (t->t_nargs > 0) {
				buf_addc(b, '(');
				dump_values(b, t->t_args, t->t_nargs);
				buf_addc(b, ')');
			}
		}
	} else {
		buf_printf(b, "%s%s%s", st->s_type == ST_VAR ? "$" : "",
		    st->s_name, st->s_append ? "+=" : "=");
		dump_values(b, st->s_vals, st->s_nvals);
	}
	buf_addc(b, ';');
}

static void
dump_section(struct buf *b, const struct section *sc)
{
	size_t i;

	dump_pos(b, &sc->sc_pos);
	switch (sc->sc_type) {
	case SC_INCLUDE:
		buf_adds(b, ".include ");
		dump_value(b, &sc->sc_include);
		return;
	case SC_GLOBAL:
		buf_adds(b, "global");
		break;
	case SC_VM:
		buf_printf(b, "vm %s", sc->sc_name);
		break;
	case SC_TEMPLATE:
		buf_printf(b, "template %s", sc->sc_name);
		for (i = 0; i < sc->sc_nargs; i++) {
			buf_printf(b, "%c%s", i == 0 ? '(' : ',',
			    sc->sc_args[i].ad_name);
			dump_pos(b, &sc->sc_args[i].ad_pos);
			if (sc->sc_args[i].ad_default != NULL) {
				buf_addc(b, '=');
				dump_value(b, sc->sc_args[i].ad_default);
			}
		}
		if (sc->sc_nargs > 0)
			buf_addc(b, ')');
		break;
	}
	buf_adds(b, " {");
	for (i = 0; i < sc->sc_nstmts; i++)
		dump_stmt(b, &sc->sc_stmts[i]);
	buf_addc(b, '}');
}

static char *
dump_file(const struct ast_file *af)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	if (allpos)
		buf_printf(&b, "%p\n", (const void *)af->af_path);
	for (i = 0; i < af->af_nsects; i++) {
		if (i > 0)
			buf_addc(&b, '\n');
		dump_section(&b, &af->af_sects[i]);
	}
	return buf_release(&b);
}

static void
reset(void)
{
	ast_free(tree);
	free(dumped);
	free(errors);
	tree = NULL;
	dumped = errors = NULL;
}

static void
collect_errors(const struct diags *ds)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < ds->ds_n; i++)
		buf_printf(&b, "%s%s", i > 0 ? "\n" : "", ds->ds_v[i].d_text);
	errors = buf_release(&b);
}

/* Parse n bytes as "t.conf": returns the dump, errors go to "errors". */
static const char *
parsen(const char *src, size_t n)
{
	struct diags ds;

	reset();
	diags_init(&ds);
	tree = ast_parse_buffer("t.conf", src, n, &ds);
	assert_non_null(tree);
	collect_errors(&ds);
	diags_free(&ds);
	dumped = dump_file(tree);
	return dumped;
}

static const char *
parse(const char *src)
{
	return parsen(src, strlen(src));
}

#define OK(src, want) do {						\
	assert_string_equal(parse(src), (want));			\
	assert_string_equal(errors, "");				\
} while (0)

#define BAD(src, want, err) do {					\
	assert_string_equal(parse(src), (want));			\
	assert_string_equal(errors, (err));				\
} while (0)

/* ---- JSON round trips ---- */

/* Do two trees hold the same data, positions included? */
static int
file_eq(const struct ast_file *a, const struct ast_file *b)
{
	char *da, *db;
	int eq;

	allpos = 1;
	da = dump_file(a);
	db = dump_file(b);
	allpos = 0;
	eq = strcmp(da, db) == 0;
	free(da);
	free(db);
	return eq;
}

/* to JSON, back, and to JSON again: both trees and texts must agree. */
static void
roundtrip(const struct ast_file *af)
{
	struct ast_file *back;
	char *j1, *j2;

	j1 = ast_to_json(af);
	back = ast_from_json(j1, strlen(j1));
	assert_non_null(back);
	assert_true(file_eq(af, back));
	j2 = ast_to_json(back);
	assert_string_equal(j1, j2);
	free(j1);
	free(j2);
	ast_free(back);
}

/* ---- parsing ---- */

static void
test_concat(void **state)
{
	(void)state;
	OK("vm a { x = a b c; }", "vm a {x='abc';}");
	OK("vm a { x = a \"b c\" d; }", "vm a {x='ab cd';}");
	OK("vm a { x = a$y\"-$z\"'$w'; }", "vm a {x='a'$y'-'$z'$w';}");
	OK("vm a { x = \"\" ''; y = \"\"$v\"\"; }", "vm a {x='';y=$v;}");
	OK("vm a { x = ; y = a,,b; z = ,; }",
	    "vm a {x=<>;y='a',<>,'b';z=<>,<>;}");
	OK("vm a { x = 1, \"2\" 3 , $((4)); }", "vm a {x='1','23',$((4));}");
	OK("vm a { c = http://x/y; d = /a//b; e = a // c\n; }",
	    "vm a {c='http://x/y';d='/a//b';e='a';}");
	OK("vm a { x = a\\\nb; y = a\\=b; }", "vm a {x='ab';y='a=b';}");
	OK("vm a { x = '\\t' \"$NAME\" '$NAME'; }",
	    "vm a {x='\\x09'$NAME'$NAME';}");
	assert_int_equal(tree->af_sects[0].sc_stmts[0].s_nvals, 1);
	assert_int_equal(tree->af_sects[0].sc_stmts[0].s_vals[0].v_npieces, 3);
}

static void
test_keys_and_names(void **state)
{
	(void)state;
	OK("vm \"my vm\" { \"memory\" = 2G; 'a b' += c; }",
	    "vm my vm {memory='2G';a b+='c';}");
	OK("vm a\"b\"c{}vm vm1{}", "vm abc {}\nvm vm1 {}");
	OK("global { $x = 1; ${a b} += 2; MEMORY=1; }",
	    "global {$x='1';$a b+='2';MEMORY='1';}");
	OK("vm a { x = vm1; y = \"vm\"; z = 'global' tem\"plate\"; }",
	    "vm a {x='vm1';y='vm';z='globaltemplate';}");
	OK("vm a { x = \"a\"vm; }", "vm a {x='avm';}");
	OK("vm a { Xapply = .APPLY; xinclude = 1; }",
	    "vm a {Xapply='.APPLY';xinclude='1';}");
	OK("", "");
	OK("# only a comment\n", "");
	assert_ptr_equal(tree->af_path, pos_intern("t.conf"));
	assert_int_equal(tree->af_nsects, 0);
}

static void
test_keyword_values(void **state)
{
	(void)state;
	BAD("vm a {\nx = vm;\n}", "vm a {}", "t.conf:2:5: syntax error: "
	    "unexpected keyword \"vm\" (quote it to use it as a value)");
	BAD("vm a { x = global; y = a template; z = 1; }", "vm a {z='1';}",
	    "t.conf:1:12: syntax error: unexpected keyword \"global\" "
	    "(quote it to use it as a value)\n"
	    "t.conf:1:26: syntax error: unexpected keyword \"template\" "
	    "(quote it to use it as a value)");
	BAD("vm a { x = .apply; .apply .include; }", "vm a {}",
	    "t.conf:1:12: syntax error: unexpected keyword \".apply\" "
	    "(quote it to use it as a value)\n"
	    "t.conf:1:27: syntax error: unexpected keyword \".include\" "
	    "(quote it to use it as a value)");
	BAD("vm vm { }", "", "t.conf:1:4: syntax error: unexpected keyword "
	    "\"vm\" (quote it to use it as a value)");
	BAD("vm a { vm = 1; ok = 2; }", "vm a {ok='2';}",
	    "t.conf:1:8: syntax error: unexpected keyword \"vm\" "
	    "(quote it to use it as a key)");
}

static void
test_top_level_errors(void **state)
{
	(void)state;
	BAD("Global { x = 1; }", "", "t.conf:1:1: syntax error: unexpected "
	    "value \"Global\" (expected \"global\", \"vm\", \"template\" or "
	    "\".include\")");
	BAD(";", "", "t.conf:1:1: syntax error: unexpected \";\"");
	BAD("vm a { } ; }", "vm a {}",
	    "t.conf:1:10: syntax error: unexpected \";\"\n"
	    "t.conf:1:12: syntax error: unexpected \"}\"");
	BAD(".apply t; vm a { }", "vm a {}",
	    "t.conf:1:1: .apply is only allowed inside a section");
	BAD("global foo { x = 1; }", "", "t.conf:1:8: syntax error: "
	    "unexpected value \"foo\" (expected \"{\")");
	BAD("vm { x = 1; }", "",
	    "t.conf:1:4: syntax error: unexpected \"{\" (expected a vm name)");
	BAD("vm $x { }", "", "t.conf:1:4: syntax error: a vm name cannot "
	    "contain variables or $((...))");
	BAD("template t(a, b { x = ); } vm c {}", "vm c {}",
	    "t.conf:1:17: syntax error: unexpected \"{\" (expected \",\" or "
	    "\")\")\n"
	    "t.conf:1:23: syntax error: unexpected \")\" (expected \";\")");
	BAD("template t(\"$a\") {}", "", "t.conf:1:12: syntax error: an "
	    "argument name cannot contain variables or $((...))");
	BAD("vm a {}\nvm", "vm a {}", "t.conf:2:3: syntax error: unexpected "
	    "end of file (expected a vm name)");
	BAD("vm a b = c; vm d {}", "vm d {}", "t.conf:1:8: syntax error: "
	    "unexpected \"=\" (expected \"{\")");
	BAD(".include ;", "", "t.conf:1:10: syntax error: unexpected \";\" "
	    "(expected a file name pattern)");
	BAD(".include \"a\" vm b {}", "", "t.conf:1:14: syntax error: "
	    "unexpected keyword \"vm\" (quote it to use it as a value)");
	BAD(".include \"a\"\nvm b {}", "vm b {}", "t.conf:2:1: syntax error: "
	    "unexpected keyword \"vm\" (expected \";\")");
}

static void
test_stmt_errors(void **state)
{
	(void)state;
	BAD("vm a { x = 1 }", "vm a {}",
	    "t.conf:1:14: syntax error: unexpected \"}\" (expected \";\")");
	BAD("vm a { x = 1;; y = 2; ; }", "vm a {x='1';y='2';}",
	    "t.conf:1:14: syntax error: unexpected \";\" (empty statement)\n"
	    "t.conf:1:23: syntax error: unexpected \";\" (empty statement)");
	BAD("vm a { x = 1;", "vm a {x='1';}", "t.conf:1:14: syntax error: "
	    "unexpected end of file (missing \"}\")");
	BAD("vm a { .include \"x\"; y = 1; }", "vm a {y='1';}",
	    "t.conf:1:8: .include is only allowed at the top level");
	BAD("vm a { x 1; }", "vm a {}", "t.conf:1:11: syntax error: "
	    "unexpected \";\" (expected \"=\" or \"+=\")");
	BAD("vm a { = 1; }", "vm a {}",
	    "t.conf:1:8: syntax error: unexpected \"=\" (expected a key)");
	BAD("vm a { x = (1); y = a=b; z = {q; r}; ok = 1; }", "vm a {ok='1';}",
	    "t.conf:1:12: syntax error: unexpected \"(\" (expected \";\")\n"
	    "t.conf:1:22: syntax error: unexpected \"=\" (expected \";\")\n"
	    "t.conf:1:30: syntax error: unexpected \"{\" (expected \";\")");
	BAD("vm a { $x$y = 1; \"$x\" = 2; $((1)) = 3; }", "vm a {}",
	    "t.conf:1:8: syntax error: a key cannot contain variables or "
	    "$((...))\n"
	    "t.conf:1:18: syntax error: a key cannot contain variables or "
	    "$((...))\n"
	    "t.conf:1:28: syntax error: a key cannot contain variables or "
	    "$((...))");
	BAD("vm a { .apply ; .apply t(; .apply t(a b, c d), $x(1); }",
	    "vm a {.apply 't'('ab','cd'),$x('1');}",
	    "t.conf:1:15: syntax error: unexpected \";\" (expected a template "
	    "name)\n"
	    "t.conf:1:26: syntax error: unexpected \";\" (expected \",\" or "
	    "\")\")");
	BAD("vm a { x = \"abc; }", "vm a {}",
	    "t.conf:1:12: unterminated string\n"
	    "t.conf:1:19: syntax error: unexpected end of file "
	    "(expected \";\")");
	BAD("vm a { x = a\xc3\xa9; }", "vm a {x='a';}",
	    "t.conf:1:13: unexpected character 0xc3\n"
	    "t.conf:1:14: unexpected character 0xa9");
	assert_string_equal(parsen("vm a { x = a\0b; }", 17), "vm a {x='ab';}");
	assert_string_equal(errors, "t.conf:1:13: unexpected character 0x00");
}

static void
test_missing_brace(void **state)
{
	(void)state;
	BAD("vm a {\n x = 1;\nvm b {\n y = 2;\n}\n",
	    "vm a {x='1';}\nvm b {y='2';}", "t.conf:3:1: syntax error: "
	    "unexpected keyword \"vm\" (missing \"}\")");
	BAD("vm a {\n x = 1\nvm b { y = 2; }", "vm a {}\nvm b {y='2';}",
	    "t.conf:3:1: syntax error: unexpected keyword \"vm\" "
	    "(expected \";\")");
	BAD("vm a {\n .include \"x\";\n}\n.include \"y\";",
	    "vm a {}\n.include 'y'",
	    "t.conf:2:2: .include is only allowed at the top level");
}

/* One run reports every error, and keeps what was right. */
static void
test_multiple_errors(void **state)
{
	(void)state;
	BAD("global {\n"
	    "  $a = 1;;\n"
	    "}\n"
	    "vm one {\n"
	    "  x = vm;\n"
	    "  y = \"ok\";\n"
	    "  z = 1\n"
	    "}\n"
	    ".include ;\n"
	    "vm two {\n"
	    "  memory = $((ID+1));\n"
	    "  .include \"x\";\n"
	    "}\n"
	    ";\n"
	    "template t(a = 1, b) { q = $((08)); }\n",
	    "global {$a='1';}\nvm one {y='ok';}\nvm two {memory=<>;}\n"
	    "template t(a='1',b) {q=$(((bad invalid number 08)));}",
	    "t.conf:2:10: syntax error: unexpected \";\" (empty statement)\n"
	    "t.conf:5:7: syntax error: unexpected keyword \"vm\" "
	    "(quote it to use it as a value)\n"
	    "t.conf:8:1: syntax error: unexpected \"}\" (expected \";\")\n"
	    "t.conf:9:10: syntax error: unexpected \";\" (expected a file name "
	    "pattern)\n"
	    "t.conf:11:15: syntax error: variable \"ID\" needs a \"$\" in "
	    "$((...)) (write $ID)\n"
	    "t.conf:12:3: .include is only allowed at the top level\n"
	    "t.conf:14:1: syntax error: unexpected \";\"");
}

static void
test_include_apply(void **state)
{
	const struct stmt *st;

	(void)state;
	OK(".include \"bmd.d/*.conf\";\n.include $LOCALBASE/etc/x;\n"
	    ".include bmd.d/*;",
	    ".include 'bmd.d/*.conf'\n.include $LOCALBASE'/etc/x'\n"
	    ".include 'bmd.d/*'");
	assert_int_equal(tree->af_sects[0].sc_type, SC_INCLUDE);
	assert_null(tree->af_sects[0].sc_name);
	OK("vm a { .apply t1, t2(x, y), $v(a b), t3(), t4(,x), \"t 5\"; }",
	    "vm a {.apply 't1','t2'('x','y'),$v('ab'),'t3'(<>),'t4'(<>,'x'),"
	    "'t 5';}");
	st = &tree->af_sects[0].sc_stmts[0];
	assert_int_equal(st->s_type, ST_APPLY);
	assert_int_equal(st->s_ntargets, 6);
	assert_int_equal(st->s_targets[0].t_nargs, 0);
	assert_int_equal(st->s_targets[1].t_nargs, 2);
	assert_int_equal(st->s_targets[3].t_nargs, 1);
	assert_int_equal(st->s_targets[3].t_args[0].v_npieces, 0);
	assert_int_equal(st->s_targets[4].t_nargs, 2);
	assert_null(st->s_name);
	assert_int_equal(st->s_nvals, 0);
	OK("template t { .apply u; }", "template t {.apply 'u';}");
}

static void
test_template_args(void **state)
{
	const struct section *sc;

	(void)state;
	OK("template t(a, b = x, c = \"$y z\", d = ) { }",
	    "template t(a,b='x',c=$y' z',d=<>) {}");
	sc = &tree->af_sects[0];
	assert_int_equal(sc->sc_type, SC_TEMPLATE);
	assert_int_equal(sc->sc_nargs, 4);
	assert_null(sc->sc_args[0].ad_default);
	assert_non_null(sc->sc_args[3].ad_default);
	assert_int_equal(sc->sc_args[3].ad_default->v_npieces, 0);
	OK("template t() { x = 1; } template \"t x\"(a) {}",
	    "template t {x='1';}\ntemplate t x(a) {}");
	assert_int_equal(tree->af_sects[0].sc_nargs, 0);
	BAD("template t(a = 1 2, b = vm) {}", "", "t.conf:1:25: syntax error: "
	    "unexpected keyword \"vm\" (quote it to use it as a value)");
	BAD("template (a) {}", "", "t.conf:1:10: syntax error: unexpected "
	    "\"(\" (expected a template name)");
}

static void
test_arith_values(void **state)
{
	(void)state;
	OK("vm a { x = $((1+2*3)); y = \"port $((5900 + ${ID}))\"; }",
	    "vm a {x=$(((+ 1 (* 2 3))));y='port '$(((+ 5900 $ID)));}");
	OK("vm a { x = $((1))x$((-2)); }", "vm a {x=$((1))'x'$((-2));}");
	BAD("vm a { x = $((1+)); y = 2; }", "vm a {x=<>;y='2';}",
	    "t.conf:1:17: syntax error: unexpected \")\" in $((...)) "
	    "(expected a number, $variable or \"(\")");
	BAD("vm a { x = $((1 % 0x)), $((+1)); }", "vm a {x=<>,<>;}",
	    "t.conf:1:19: invalid number 0x\n"
	    "t.conf:1:28: syntax error: unary \"+\" is not allowed in "
	    "$((...))");
}

static void
test_positions(void **state)
{
	const struct section *sc;
	const struct stmt *st;
	const char *f = pos_intern("t.conf");

	(void)state;
	OK("vm a {\n  x = b \"c\",  d$e;\n  .apply t(1), u;\n}\n"
	    "template t(p = 1) { $v += $((2*3)); }\n.include \"f\";",
	    "vm a {x='bc','d'$e;.apply 't'('1'),'u';}\n"
	    "template t(p='1') {$v+=$(((* 2 3)));}\n.include 'f'");
	assert_ptr_equal(tree->af_path, f);
	sc = &tree->af_sects[0];
	assert_true(sc->sc_pos.file == f && sc->sc_pos.line == 1 &&
	    sc->sc_pos.col == 1);
	st = &sc->sc_stmts[0];
	assert_true(st->s_pos.line == 2 && st->s_pos.col == 3);
	assert_true(st->s_valpos.line == 2 && st->s_valpos.col == 7);
	assert_true(st->s_vals[0].v_pos.col == 7);
	assert_true(st->s_vals[0].v_pieces[0].p_pos.col == 7);
	assert_true(st->s_vals[1].v_pos.col == 15);
	assert_true(st->s_vals[1].v_pieces[0].p_pos.col == 15);
	assert_true(st->s_vals[1].v_pieces[1].p_pos.col == 16);
	assert_ptr_equal(st->s_vals[1].v_pieces[1].p_pos.file, f);
	st = &sc->sc_stmts[1];
	assert_true(st->s_pos.line == 3 && st->s_pos.col == 3);
	assert_true(st->s_valpos.line == 3 && st->s_valpos.col == 10);
	assert_true(st->s_targets[0].t_pos.col == 10);
	assert_true(st->s_targets[0].t_args[0].v_pos.col == 12);
	assert_true(st->s_targets[1].t_pos.col == 16);
	sc = &tree->af_sects[1];
	assert_true(sc->sc_pos.line == 5 && sc->sc_pos.col == 1);
	assert_true(sc->sc_args[0].ad_pos.line == 5 &&
	    sc->sc_args[0].ad_pos.col == 12);
	assert_true(sc->sc_args[0].ad_default->v_pos.col == 16);
	st = &sc->sc_stmts[0];
	assert_true(st->s_type == ST_VAR && st->s_append);
	assert_true(st->s_pos.col == 21 && st->s_valpos.col == 27);
	assert_true(st->s_vals[0].v_pieces[0].p_pos.col == 27);
	assert_true(st->s_vals[0].v_pieces[0].p_arith->a_pos.col == 31);
	assert_true(st->s_vals[0].v_pieces[0].p_arith->a_l->a_pos.col == 30);
	assert_true(st->s_vals[0].v_pieces[0].p_arith->a_r->a_pos.col == 32);
	sc = &tree->af_sects[2];
	assert_true(sc->sc_pos.line == 6 && sc->sc_pos.col == 1);
	assert_true(sc->sc_include.v_pos.line == 6 &&
	    sc->sc_include.v_pos.col == 10);
	/* An empty value sits where its element would have started. */
	OK("vm a { x = , ; }", "vm a {x=<>,<>;}");
	st = &tree->af_sects[0].sc_stmts[0];
	assert_true(st->s_vals[0].v_pos.col == 12 &&
	    st->s_vals[1].v_pos.col == 14);
}

static void
test_parse_file(void **state)
{
	char path[] = "/tmp/bmd-test-parse-XXXXXX";
	const char *src = "vm a { x = 1; }\n";
	struct ast_file *af;
	struct diags ds;
	char *want;
	int fd;

	(void)state;
	diags_init(&ds);
	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, src, strlen(src)), (ssize_t)strlen(src));
	close(fd);
	assert_non_null(af = ast_parse_file(path, &ds));
	assert_int_equal(ds.ds_n, 0);
	assert_ptr_equal(af->af_path, pos_intern(path));
	assert_int_equal(af->af_nsects, 1);
	ast_free(af);
	unlink(path);
	assert_null(ast_parse_file(path, &ds));
	assert_int_equal(ds.ds_nerrors, 1);
	assert_true(asprintf(&want, "%s: cannot read %s: No such file or "
	    "directory", path, path) > 0);
	assert_string_equal(ds.ds_v[0].d_text, want);
	free(want);
	assert_null(ast_parse_file("/", &ds));
	assert_string_equal(ds.ds_v[1].d_text,
	    "/: cannot read /: Is a directory");
	diags_free(&ds);
}

/* ---- JSON ---- */

static const char rich[] =
    "global { $g = \"\\xff\\x01bin\" 'é';\n"
    "  LOCAL = $((-9223372036854775808)); }\n"
    "vm \"my vm\" {\n"
    "  memory = 2G; disk += a, , \"$x/${y z}\";\n"
    "  $n = $((1 + 2 * (3 - $ID) / -$k % -(4)));\n"
    "  .apply t1, t2(,b c, $d), $tmpl();\n"
    "}\n"
    "template t2(a, b = x, c = \"\", d = ) { q = ; .apply t1; }\n"
    ".include \"$LOCALBASE/etc/bmd.d/*.conf\";\n"
    "template t1 { }\n";

static void
test_json_roundtrip(void **state)
{
	struct ast_file *af;
	struct diags ds;
	struct pos p;
	char *j;

	(void)state;
	parse(rich);
	assert_string_equal(errors, "");
	roundtrip(tree);
	/* The comparison itself sees a single moved position. */
	j = ast_to_json(tree);
	assert_non_null(af = ast_from_json(j, strlen(j)));
	af->af_sects[1].sc_stmts[2].s_vals[0].v_pieces[0].p_arith->a_r->
	    a_pos.col++;
	assert_false(file_eq(tree, af));
	ast_free(af);
	free(j);
	OK("", "");
	roundtrip(tree);
	/* A file name that is not UTF-8 is carried as hex. */
	diags_init(&ds);
	af = ast_parse_buffer("t\xff.conf", "vm a { x = \"\xfe\"; }", 17, &ds);
	assert_int_equal(ds.ds_n, 0);
	roundtrip(af);
	j = ast_to_json(af);
	assert_non_null(strstr(j, "{\"hex\":\"74ff2e636f6e66\"}"));
	free(j);
	/* Positions without a file, and a NULL path. */
	p = af->af_sects[0].sc_pos;
	af->af_sects[0].sc_pos.file = NULL;
	af->af_sects[0].sc_pos.line = 0;
	af->af_path = NULL;
	roundtrip(af);
	af->af_sects[0].sc_pos = p;
	ast_free(af);
	diags_free(&ds);
}

/* Read JSON written with ' for ", which keeps the tables legible. */
static struct ast_file *
from_squoted(const char *fmt, const char *arg)
{
	struct ast_file *af;
	struct buf b;
	char *p;

	buf_init(&b);
	buf_printf(&b, fmt, arg);
	for (p = b.b_data; p != NULL && *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	af = ast_from_json(buf_str(&b), b.b_len);
	buf_free(&b);
	return af;
}

#define P	"'pos':[0,1,1]"
#define VAL(pieces)	"{" P ",'pieces':[" pieces "]}"
#define ARITH(a)	"{'type':'include'," P ",'include':" \
			VAL("{'type':'arith'," P ",'a':" a "}") "}"
#define STMT(st)	"{'type':'global'," P ",'stmts':[" st "]}"

/* Each must be refused (NULL), and nothing may leak. */
static void
test_json_invalid(void **state)
{
	static const char *const top[] = {
		"", "x", "[]", "{}", "null", "{'path':'a','sections':[]}",
		"{'path':1,'files':[],'sections':[]}",
		"{'path':'a\\u0000b','files':[],'sections':[]}",
		"{'path':{'hex':'6'},'files':[],'sections':[]}",
		"{'path':{'hex':'zz'},'files':[],'sections':[]}",
		"{'path':{'hex':'6100'},'files':[],'sections':[]}",
		"{'path':{'hex':'6A'},'files':[],'sections':[]}",
		"{'path':'a','path':'b','files':[],'sections':[]}",
		"{'path':'a','files':[1],'sections':[]}",
		"{'path':'a','files':[],'sections':{}}",
		"{'path':'a','files':[],'sections':[1]}",
		"{'path':'a','files':[],'sections':[{'type':'vm'}]}",
	};
	static const char *const sect[] = {
		"{'type':'xx'," P ",'stmts':[]}",
		"{'type':'global','pos':[1,1,1],'stmts':[]}",
		"{'type':'global','pos':[-2,1,1],'stmts':[]}",
		"{'type':'global','pos':[0,-1,1],'stmts':[]}",
		"{'type':'global','pos':[0,1,2147483648],'stmts':[]}",
		"{'type':'global','pos':[0,1],'stmts':[]}",
		"{'type':'global','pos':[0,1,1,1],'stmts':[]}",
		"{'type':'global','pos':[0,'1',1],'stmts':[]}",
		"{'type':'global'," P "}",
		"{'type':'vm'," P ",'stmts':[]}",
		"{'type':'template'," P ",'name':'t','stmts':[]}",
		"{'type':'template'," P ",'name':'t','stmts':[],"
		    "'args':[{'name':'a'}]}",
		"{'type':'template'," P ",'name':'t','stmts':[],"
		    "'args':[{'name':'a'," P ",'default':1}]}",
		"{'type':'include'," P "}",
		"{'type':'include'," P ",'include':{" P "}}",
		"{'type':'include'," P ",'include':"
		    VAL("{'type':'var'," P ",'s':''}") "}",
		"{'type':'include'," P ",'include':"
		    VAL("{'type':'text'," P "}") "}",
		ARITH("{'op':'add'," P ",'l':{'op':'num'," P ",'n':1}}"),
		ARITH("{'op':'num'," P ",'n':1.5}"),
		ARITH("{'op':'var'," P "}"),
		ARITH("{'op':'pow'," P "}"),
		STMT("{'type':'key'," P ",'valpos':[0,1,1],'name':'k',"
		    "'append':false,'vals':[]}"),
		STMT("{'type':'key'," P ",'valpos':[0,1,1],'name':'k',"
		    "'append':0,'vals':[" VAL("") "]}"),
		STMT("{'type':'var'," P ",'valpos':[0,1,1],'name':'',"
		    "'append':true,'vals':[" VAL("") "]}"),
		STMT("{'type':'apply'," P ",'valpos':[0,1,1],'targets':[]}"),
		STMT("{'type':'apply'," P ",'valpos':[0,1,1],'targets':"
		    "[{'name':" VAL("") "," P "}]}"),
	};
	struct ast_file *af;
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		assert_null(from_squoted("%s", top[i]));
	for (i = 0; i < sizeof(sect) / sizeof(sect[0]); i++)
		assert_null(from_squoted("{'path':'a','files':['a'],"
		    "'sections':[%s]}", sect[i]));
	assert_null(ast_from_json(NULL, 0));
	/* Controls: the same shapes, made valid, are accepted. */
	af = from_squoted("{'path':'a','files':['a'],'sections':[%s]}",
	    STMT("{'type':'key'," P ",'valpos':[0,1,1],'name':'k',"
	    "'append':false,'vals':[" VAL("") "]}") ","
	    ARITH("{'op':'neg'," P ",'l':{'op':'num'," P ",'n':1}}"));
	assert_non_null(af);
	assert_int_equal(af->af_nsects, 2);
	ast_free(af);
	/* The smallest valid tree; then too many file names. */
	af = from_squoted("{'path':null,'files':[],'sections':[%s]}", "");
	assert_non_null(af);
	assert_null(af->af_path);
	ast_free(af);
	buf_init(&b);
	for (i = 0; i < 65; i++)
		buf_adds(&b, i == 0 ? "'f'" : ",'f'");
	assert_null(from_squoted("{'path':null,'sections':[],'files':[%s]}",
	    buf_str(&b)));
	buf_free(&b);
}

/* Try a mutated document: it is refused, or it reads back stably. */
static void
try_json(json_t *root, int *refused)
{
	struct ast_file *af, *again;
	char *s, *j;

	s = json_dumps(root, JSON_COMPACT);
	assert_non_null(s);
	if ((af = ast_from_json(s, strlen(s))) == NULL)
		(*refused)++;
	else {
		j = ast_to_json(af);
		again = ast_from_json(j, strlen(j));
		assert_non_null(again);
		assert_true(file_eq(af, again));
		ast_free(again);
		ast_free(af);
		free(j);
	}
	free(s);
}

/*
 * Replace each node in turn by a value of every other type, and remove
 * it: the reader must never crash or leak, whatever it is sent.
 */
static void
mutate(json_t *root, json_t *node, int *refused)
{
	json_t *(*const make[])(void) = {
		json_null, json_true, json_object, json_array
	};
	json_t *child;
	const char *key;
	char **keys;
	size_t i, k, n;

	if (json_is_object(node)) {
		/* Re-adding a key moves it last: walk a copy of the keys. */
		keys = calloc(json_object_size(node), sizeof(*keys));
		n = 0;
		json_object_foreach(node, key, child)
			keys[n++] = strdup(key);
		for (i = 0; i < n; i++) {
			key = keys[i];
			child = json_incref(json_object_get(node, key));
			for (k = 0; k < 4; k++) {
				json_object_set_new(node, key, make[k]());
				try_json(root, refused);
			}
			json_object_set_new(node, key, json_integer(-1));
			try_json(root, refused);
			json_object_del(node, key);
			try_json(root, refused);
			json_object_set_new(node, key, child);
			mutate(root, child, refused);
			free(keys[i]);
		}
		free(keys);
	} else if (json_is_array(node)) {
		n = json_array_size(node);
		for (i = 0; i < n; i++) {
			child = json_incref(json_array_get(node, i));
			for (k = 0; k < 4; k++) {
				json_array_set_new(node, i, make[k]());
				try_json(root, refused);
			}
			json_array_set_new(node, i, json_integer(99));
			try_json(root, refused);
			json_array_remove(node, i);
			try_json(root, refused);
			json_array_insert_new(node, i, child);
			mutate(root, child, refused);
		}
	}
}

static void
test_json_mutations(void **state)
{
	json_t *root;
	size_t len;
	char *j;
	int refused = 0;

	(void)state;
	parse("vm a { x = a $b $((1 - -$c)), ; .apply t(1,); }\n"
	    "template t(p, q = \"\xff\") { y += 1; }\n.include i;\nglobal {}");
	assert_string_equal(errors, "");
	j = ast_to_json(tree);
	root = json_loads(j, 0, NULL);
	assert_non_null(root);
	mutate(root, root, &refused);
	assert_true(refused > 100);
	/* Every truncation of the text is refused. */
	for (len = 0; len < strlen(j); len++)
		assert_null(ast_from_json(j, len));
	json_decref(root);
	free(j);
}

/* Random token soup: no hang, no crash, and partial trees round-trip. */
static void
test_random(void **state)
{
	static const char *const atoms[] = {
		"vm", "global", "template", ".include", ".apply", "{", "}",
		"(", ")", ",", ";", "=", "+=", "a", "\"s $x\"", "'q'", "$v",
		"${w w}", "$((1+$x))", "$((", "\n", " ", "#c\n", "/*", "\"",
		"$((-(2)*3))", "08", "\\", "\xc3", "x=1;", "vm v {", "}"
	};
	char in[128];
	size_t i, k, n, len;
	unsigned int seed = 7;

	(void)state;
	for (i = 0; i < 20000; i++) {
		for (n = 0, k = 0; k < 16; k++) {
			seed = seed * 1103515245 + 12345;
			len = strlen(atoms[(seed >> 16) % 32]);
			if (n + len > sizeof(in))
				break;
			memcpy(in + n, atoms[(seed >> 16) % 32], len);
			n += len;
		}
		parsen(in, n);
		roundtrip(tree);
	}
}

static int
teardown(void **state)
{
	(void)state;
	reset();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concat),
		cmocka_unit_test(test_keys_and_names),
		cmocka_unit_test(test_keyword_values),
		cmocka_unit_test(test_top_level_errors),
		cmocka_unit_test(test_stmt_errors),
		cmocka_unit_test(test_missing_brace),
		cmocka_unit_test(test_multiple_errors),
		cmocka_unit_test(test_include_apply),
		cmocka_unit_test(test_template_args),
		cmocka_unit_test(test_arith_values),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_invalid),
		cmocka_unit_test(test_json_mutations),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
