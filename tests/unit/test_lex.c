/* Unit tests for the bmd.conf lexer (src/conf/lex.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"
#include "lex.h"

/* The last run's token dump and diagnostics, freed by the next run. */
static char	*dumped;
static char	*errors;

static void
dump_text(struct buf *b, const char *s)
{
	unsigned char c;

	buf_addc(b, '"');
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			buf_addc(b, (char)c);
		else
			buf_printf(b, "\\x%02x", c);
	}
	buf_addc(b, '"');
}

static void
dump_arith(struct buf *b, const struct arith *a)
{
	static const char ops[] = "nv-+-*/%";

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
dump_token(struct buf *b, const struct token *tk)
{
	static const char *punct[] = {
		[TK_LBRACE] = "{", [TK_RBRACE] = "}", [TK_LPAREN] = "(",
		[TK_RPAREN] = ")", [TK_COMMA] = ",", [TK_SEMI] = ";",
		[TK_EQ] = "=", [TK_PLUSEQ] = "+=", [TK_GLOBAL] = "KW(global)",
		[TK_VM] = "KW(vm)", [TK_TEMPLATE] = "KW(template)",
		[TK_INCLUDE] = "KW(.include)", [TK_APPLY] = "KW(.apply)"
	};
	size_t i;

	if (tk->tk_type != TK_VALUE) {
		buf_adds(b, punct[tk->tk_type]);
		return;
	}
	buf_addc(b, "WSVA"[tk->tk_kind]);
	buf_addc(b, '[');
	for (i = 0; i < tk->tk_npieces; i++) {
		if (i > 0)
			buf_addc(b, '|');
		if (tk->tk_pieces[i].p_type == PC_TEXT)
			dump_text(b, tk->tk_pieces[i].p_text);
		else if (tk->tk_pieces[i].p_type == PC_VAR)
			buf_printf(b, "$<%s>", tk->tk_pieces[i].p_text);
		else
			dump_arith(b, tk->tk_pieces[i].p_arith);
	}
	buf_addc(b, ']');
}

static void
join_errors(const struct diags *ds)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < ds->ds_n; i++)
		buf_printf(&b, "%s%s", i > 0 ? "\n" : "", ds->ds_v[i].d_text);
	free(errors);
	errors = buf_release(&b);
}

/* Lex n bytes; returns the tokens as text, "" for none. */
static const char *
lexn(const char *src, size_t n)
{
	struct diags ds;
	struct lexer lx;
	struct token tk;
	struct arena ar;
	struct buf b;
	int count = 0;

	diags_init(&ds);
	buf_init(&b);
	arena_init(&ar, 0);
	lex_init(&lx, "t.conf", src, n, &ar, &ds);
	for (;;) {
		lex_next(&lx, &tk);
		if (tk.tk_type == TK_EOF)
			break;
		if (count++ > 0)
			buf_addc(&b, ' ');
		dump_token(&b, &tk);
		tok_free(&tk);
	}
	lex_end(&lx);
	arena_free(&ar);
	join_errors(&ds);
	diags_free(&ds);
	free(dumped);
	dumped = buf_release(&b);
	return dumped;
}

static const char *
lex(const char *src)
{
	return lexn(src, strlen(src));
}

/* The arena of the last token_at: its pieces live until the next call. */
static struct arena tok_arena;

/* Lex src and return its token number i (0-based), pieces included. */
static struct token
token_at(const char *src, int i)
{
	struct diags ds;
	struct lexer lx;
	struct token tk;

	diags_init(&ds);
	arena_free(&tok_arena);
	lex_init(&lx, "t.conf", src, strlen(src), &tok_arena, &ds);
	for (;;) {
		lex_next(&lx, &tk);
		if (i-- == 0 || tk.tk_type == TK_EOF)
			break;
		tok_free(&tk);
	}
	lex_end(&lx);
	diags_free(&ds);
	return tk;
}

#define LEX(src, want) do {						\
	assert_string_equal(lex(src), (want));				\
	assert_string_equal(errors, "");				\
} while (0)

#define LEXERR(src, want, err) do {					\
	assert_string_equal(lex(src), (want));				\
	assert_string_equal(errors, (err));				\
} while (0)

static void
test_punctuation(void **state)
{
	(void)state;
	LEX("{ } ( ) , ; = +=", "{ } ( ) , ; = +=");
	LEX("{}(),;=+=", "{ } ( ) , ; = +=");
	LEX("", "");
	LEX("  \t\r\n ", "");
}

static void
test_words(void **state)
{
	(void)state;
	LEX("abc_09", "W[\"abc_09\"]");
	LEX("!%&-.:<>?@[]^`|~", "W[\"!%&-.:<>?@[]^`|~\"]");
	LEX("a*b+c/d$", "W[\"a*b+c/d$\"]");
	LEX("* + / $", "W[\"*\"] W[\"+\"] W[\"/\"] W[\"$\"]");
	LEX("a+=b", "W[\"a\"] += W[\"b\"]");
	LEX("a=b;", "W[\"a\"] = W[\"b\"] ;");
	LEX("a,b", "W[\"a\"] , W[\"b\"]");
	LEX("/dev/zvol/x", "W[\"/dev/zvol/x\"]");
	LEX("a b", "W[\"a\"] W[\"b\"]");
}

static void
test_keywords(void **state)
{
	(void)state;
	LEX("global vm template .include .apply",
	    "KW(global) KW(vm) KW(template) KW(.include) KW(.apply)");
	/* Only the exact lower-case words (no wildcard-dot quirk). */
	LEX("vm1 Xapply xinclude .APPLY VM Global globals",
	    "W[\"vm1\"] W[\"Xapply\"] W[\"xinclude\"] W[\".APPLY\"] "
	    "W[\"VM\"] W[\"Global\"] W[\"globals\"]");
	LEX("vm\"a\"", "KW(vm) S[\"a\"]");
	LEX("vm{", "KW(vm) {");
	/* Glued to a previous value, a word is part of that value. */
	LEX("\"a\"vm", "S[\"a\"] W[\"vm\"]");
	LEX("$x.apply", "V[$<x>] W[\".apply\"]");
	LEX("'vm'", "S[\"vm\"]");
}

static void
test_escapes(void **state)
{
	(void)state;
	LEX("a\\=b", "W[\"a=b\"]");
	LEX("\\a\\b\\f\\n\\r\\t\\v",
	    "W[\"\\x07\\x08\\x0c\\x0a\\x0d\\x09\\x0b\"]");
	LEX("\\101\\60\\0601\\7", "W[\"A001\\x07\"]");
	LEX("\\x41\\x4a\\x4G\\xg", "W[\"AJ\\x04Gxg\"]");
	LEX("\\q\\\\\\;\\ \\\"", "W[\"q\\\\; \\\"\"]");
	LEX("\\377\\777", "W[\"\\xff\\xff\"]");
	/* Backslash-newline is deleted, with or without a CR. */
	LEX("ab\\\ncd", "W[\"abcd\"]");
	LEX("ab\\\r\ncd", "W[\"abcd\"]");
	LEX("a \\\n b", "W[\"a\"] W[\"b\"]");
	LEX("\"a\\\nb\"", "S[\"ab\"]");
	LEX("'\\t'", "S[\"\\x09\"]");
	LEX("a\\", "W[\"a\\\\\"]");
	LEXERR("a\\0b", "W[\"ab\"]",
	    "t.conf:1:2: escape sequence gives a NUL byte");
	LEXERR("\"\\x00\"", "S[\"\"]",
	    "t.conf:1:2: escape sequence gives a NUL byte");
}

static void
test_quotes(void **state)
{
	(void)state;
	LEX("'a $x ${y} $((1)) \\t'", "S[\"a $x ${y} $((1)) \\x09\"]");
	LEX("\"a $x b\"", "S[\"a \"|$<x>|\" b\"]");
	LEX("\"${a b}$c\"", "S[$<a b>|$<c>]");
	LEX("\"port $((1+2))\"", "S[\"port \"|(+ 1 2)]");
	LEX("\"$5 $ $(x)\"", "S[\"$5 $ $(x)\"]");
	LEX("'' \"\"", "S[\"\"] S[\"\"]");
	LEX("\"a\\\"b\" 'a\\'b'", "S[\"a\\\"b\"] S[\"a'b\"]");
	LEX("\"a\nb\" 'c\nd'", "S[\"a\\x0ab\"] S[\"c\\x0ad\"]");
	LEX("\"a\"\"b\"c", "S[\"a\"] S[\"b\"] W[\"c\"]");
	LEX("\"\xc3\xa9 # // /*\"", "S[\"\\xc3\\xa9 # // /*\"]");
	LEXERR("x = \"abc", "W[\"x\"] = S[\"abc\"]",
	    "t.conf:1:5: unterminated string");
	LEXERR("x\n 'ab\ncd", "W[\"x\"] S[\"ab\\x0acd\"]",
	    "t.conf:2:2: unterminated string");
}

static void
test_variables(void **state)
{
	(void)state;
	LEX("$x ${a b} $x_1y ${x}", "V[$<x>] V[$<a b>] V[$<x_1y>] V[$<x>]");
	LEX("$5 $ $(x) $-",
	    "W[\"$5\"] W[\"$\"] W[\"$\"] ( W[\"x\"] ) W[\"$-\"]");
	LEX("a$x", "W[\"a\"] V[$<x>]");
	LEX("${a$b\\c}", "V[$<a$b\\c>]");
	LEXERR("${abc\n}", "V[] }", "t.conf:1:1: unterminated ${");
	LEXERR("x ${a{b}", "W[\"x\"] V[] { W[\"b\"] }",
	    "t.conf:1:3: unterminated ${");
	LEXERR("${", "V[]", "t.conf:1:1: unterminated ${");
	LEXERR("${}", "V[]", "t.conf:1:1: empty variable name ${}");
}

static void
test_comments(void **state)
{
	(void)state;
	LEX("a # c ; d\nb", "W[\"a\"] W[\"b\"]");
	LEX("a#b\nc", "W[\"a\"] W[\"c\"]");
	LEX("// c\nx // y", "W[\"x\"]");
	LEX("/* c\n*/x /**/ y", "W[\"x\"] W[\"y\"]");
	LEX("x/**/ y", "W[\"x/**/\"] W[\"y\"]");
	/* Our fix: "//" and "/" "*" inside a value are literal. */
	LEX("c = http://x/y;", "W[\"c\"] = W[\"http://x/y\"] ;");
	LEX("d = /a//b;", "W[\"d\"] = W[\"/a//b\"] ;");
	LEX("bmd.d/*;", "W[\"bmd.d/*\"] ;");
	LEX("\"a\"//b $x/*", "S[\"a\"] W[\"//b\"] V[$<x>] W[\"/*\"]");
	LEX("x = a // comment ;\n;", "W[\"x\"] = W[\"a\"] ;");
	LEX("x = /* c */ a;", "W[\"x\"] = W[\"a\"] ;");
	LEX("=//c\n", "=");
	LEX("'a'#c", "S[\"a\"]");
	LEXERR("a /* b\n c", "W[\"a\"]", "t.conf:1:3: unterminated comment");
	LEXERR("/*/", "", "t.conf:1:1: unterminated comment");
}

static void
test_bad_chars(void **state)
{
	(void)state;
	LEXERR("a \xc3\xa9 b", "W[\"a\"] W[\"b\"]",
	    "t.conf:1:3: unexpected character 0xc3\n"
	    "t.conf:1:4: unexpected character 0xa9");
	LEXERR("a\x01" "b", "W[\"a\"] W[\"b\"]",
	    "t.conf:1:2: unexpected character 0x01");
	LEXERR("x\fy", "W[\"x\"] W[\"y\"]",
	    "t.conf:1:2: unexpected character 0x0c");
	assert_string_equal(lexn("a\0b", 3), "W[\"a\"] W[\"b\"]");
	assert_string_equal(errors, "t.conf:1:2: unexpected character 0x00");
	assert_string_equal(lexn("\"a\0b\"", 5), "S[\"ab\"]");
	assert_string_equal(errors, "t.conf:1:3: unexpected character 0x00");
	assert_string_equal(lexn("# a\0b\nc", 7), "W[\"c\"]");
	assert_string_equal(errors, "t.conf:1:4: unexpected character 0x00");
	assert_string_equal(lexn("a\\\0", 3), "W[\"a\"]");
	assert_string_equal(errors, "t.conf:1:3: unexpected character 0x00");
	assert_string_equal(lexn("${a\0}", 5), "V[$<a>]");
	assert_string_equal(errors, "t.conf:1:4: unexpected character 0x00");
	/* A NULL buffer of any length is empty. */
	assert_string_equal(lexn(NULL, 10), "");
}

static void
test_arith_tokens(void **state)
{
	(void)state;
	LEX("$((1+2*3))", "A[(+ 1 (* 2 3))]");
	LEX("$((1))x$((2))", "A[1] W[\"x\"] A[2]");
	LEX("$(( (1) ))", "A[1]");
	LEX("$(((1)))", "A[1]");
	LEX("$(( $a * ${b c} ))", "A[(* $a $b c)]");
	LEX("$(( 1 +\n 2 \\\n ))", "A[(+ 1 2)]");
	/* After an error the lexer resumes after the closing "))". */
	LEXERR("$((1+)) x", "A[] W[\"x\"]",
	    "t.conf:1:6: syntax error: unexpected \")\" in $((...)) "
	    "(expected a number, $variable or \"(\")");
	LEXERR("$(( (1+) )) x", "A[] W[\"x\"]",
	    "t.conf:1:8: syntax error: unexpected \")\" in $((...)) "
	    "(expected a number, $variable or \"(\")");
	LEXERR("$((1+2;", "A[] ;", "t.conf:1:7: syntax error: unexpected "
	    "\";\" in $((...)) (expected \"))\")");
	LEXERR("$((1+2", "A[]", "t.conf:1:1: unterminated $((");
	LEXERR("\"a $((x)) b\"", "S[\"a  b\"]",
	    "t.conf:1:7: syntax error: variable \"x\" needs a \"$\" in "
	    "$((...)) (write $x)");
	LEXERR("\"$((1 \" x", "S[\"\"] W[\"x\"]",
	    "t.conf:1:7: syntax error: unexpected '\"' in $((...)) "
	    "(expected \"))\")");
}

static void
test_positions(void **state)
{
	struct token tk;

	(void)state;
	tk = token_at("a = b;\n  c\t\"d\ne\" f", 4);
	assert_int_equal(tk.tk_pos.line, 2);
	assert_int_equal(tk.tk_pos.col, 3);
	tok_free(&tk);
	tk = token_at("a = b;\n  c\t\"d\ne\" f", 5);
	assert_int_equal(tk.tk_kind, TV_STRING);
	assert_int_equal(tk.tk_pos.line, 2);
	assert_int_equal(tk.tk_pos.col, 5);
	assert_int_equal(tk.tk_eline, 3);
	assert_ptr_equal(tk.tk_pos.file, pos_intern("t.conf"));
	tok_free(&tk);
	tk = token_at("a = b;\n  c\t\"d\ne\" f", 6);
	assert_int_equal(tk.tk_pos.line, 3);
	assert_int_equal(tk.tk_pos.col, 4);
	tok_free(&tk);
	/* Line continuations count as lines. */
	tk = token_at("a\\\nb c", 1);
	assert_int_equal(tk.tk_pos.line, 2);
	assert_int_equal(tk.tk_pos.col, 3);
	tok_free(&tk);
	/* Piece positions inside a string. */
	tk = token_at("  \"ab $x c\"", 0);
	assert_int_equal(tk.tk_npieces, 3);
	assert_int_equal(tk.tk_pieces[0].p_pos.col, 3);
	assert_int_equal(tk.tk_pieces[1].p_pos.col, 7);
	assert_int_equal(tk.tk_pieces[2].p_pos.col, 9);
	tok_free(&tk);
	tk = token_at("x $((1 + 2))", 1);
	assert_int_equal(tk.tk_pieces[0].p_pos.col, 3);
	assert_int_equal(tk.tk_pieces[0].p_arith->a_pos.col, 8);
	assert_int_equal(tk.tk_pieces[0].p_arith->a_l->a_pos.col, 6);
	assert_int_equal(tk.tk_pieces[0].p_arith->a_r->a_pos.col, 10);
	tok_free(&tk);
	tk = token_at("x", 3);
	assert_int_equal(tk.tk_type, TK_EOF);
	assert_int_equal(tk.tk_pos.col, 2);
}

#define AR(expr, want)	LEX("$((" expr "))", "A[" want "]")
#define ARERR(expr, err)	LEXERR("$((" expr "))", "A[]", err)
#define EXPECTED	"(expected a number, $variable or \"(\")"

static void
test_arith(void **state)
{
	struct buf b;
	int i;

	(void)state;
	AR("1+2*3", "(+ 1 (* 2 3))");
	AR("1*2+3", "(+ (* 1 2) 3)");
	AR("8-3-2", "(- (- 8 3) 2)");
	AR("8/4/2", "(/ (/ 8 4) 2)");
	AR("7%4*2", "(* (% 7 4) 2)");
	AR("2*(3+4)", "(* 2 (+ 3 4))");
	AR(" ( ( 1 ) ) ", "1");
	AR("-5", "-5");
	AR("- 5", "-5");
	AR("-$x", "(neg $x)");
	AR("-${a b}", "(neg $a b)");
	AR("-(1+2)", "(neg (+ 1 2))");
	AR("1 - -2", "(- 1 -2)");
	AR("1--2", "(- 1 -2)");
	AR("2*-3", "(* 2 -3)");
	AR("0x1F + 0X10 + 0xaBc", "(+ (+ 31 16) 2748)");
	AR("017 + 0 + 00", "(+ (+ 15 0) 0)");
	AR("$ID * 2", "(* $ID 2)");
	AR("9223372036854775807", "9223372036854775807");
	AR("-9223372036854775808", "-9223372036854775808");
	AR("0x7fffffffffffffff", "9223372036854775807");
	/* well formed but valueless: an evaluation error (rejects the VM) */
	AR("08", "(bad invalid number 08)");
	AR("1 + 09", "(+ 1 (bad invalid number 09))");
	AR("99999999999999999999", "(bad integer overflow)");
	ARERR("0x", "t.conf:1:4: invalid number 0x");
	ARERR("0xg", "t.conf:1:4: invalid number 0xg");
	ARERR("12abc", "t.conf:1:4: invalid number 12abc");
	AR("9223372036854775808", "(bad integer overflow)");
	AR("-9223372036854775809", "(bad integer overflow)");
	AR("0x8000000000000000", "(bad integer overflow)");
	AR("99999999999999999999999", "(bad integer overflow)");
	ARERR("+1", "t.conf:1:4: syntax error: unary \"+\" is not allowed "
	    "in $((...))");
	ARERR("2*+1", "t.conf:1:6: syntax error: unary \"+\" is not allowed "
	    "in $((...))");
	ARERR("--1", "t.conf:1:5: syntax error: unexpected \"-\" in $((...)) "
	    EXPECTED);
	ARERR("1+", "t.conf:1:6: syntax error: unexpected \")\" in $((...)) "
	    EXPECTED);
	ARERR("", "t.conf:1:4: syntax error: unexpected \")\" in $((...)) "
	    EXPECTED);
	ARERR("ID+1", "t.conf:1:4: syntax error: variable \"ID\" needs a "
	    "\"$\" in $((...)) (write $ID)");
	ARERR("$x = 1", "t.conf:1:7: syntax error: unexpected \"=\" in "
	    "$((...)) (expected \"))\")");
	ARERR("1 & 2", "t.conf:1:6: syntax error: unexpected \"&\" in "
	    "$((...)) (expected \"))\")");
	ARERR("1 == 2", "t.conf:1:6: syntax error: unexpected \"=\" in "
	    "$((...)) (expected \"))\")");
	ARERR("1 < 2", "t.conf:1:6: syntax error: unexpected \"<\" in "
	    "$((...)) (expected \"))\")");
	ARERR("~1", "t.conf:1:4: syntax error: unexpected \"~\" in $((...)) "
	    EXPECTED);
	ARERR("$5", "t.conf:1:4: syntax error: unexpected \"$\" in $((...)) "
	    EXPECTED);
	ARERR("1 \t\x01", "t.conf:1:7: syntax error: unexpected character "
	    "0x01 in $((...))");
	/* 64 parentheses deep is fine, 65 is not. */
	buf_init(&b);
	buf_adds(&b, "$((");
	for (i = 0; i < 64; i++)
		buf_addc(&b, '(');
	buf_addc(&b, '1');
	for (i = 0; i < 64; i++)
		buf_addc(&b, ')');
	buf_adds(&b, "))");
	assert_string_equal(lex(buf_str(&b)), "A[1]");
	assert_string_equal(errors, "");
	buf_reset(&b);
	buf_adds(&b, "$((");
	for (i = 0; i < 65; i++)
		buf_addc(&b, '(');
	buf_adds(&b, "1)))");
	assert_string_equal(lex(buf_str(&b)), "A[]");
	assert_string_equal(errors,
	    "t.conf:1:68: expression nested too deeply");
	/* A tree may hold 512 nodes: 256 terms, but not 257. */
	buf_reset(&b);
	buf_adds(&b, "$((1");
	for (i = 1; i < 256; i++)
		buf_adds(&b, "+1");
	buf_adds(&b, "))");
	lex(buf_str(&b));
	assert_string_equal(errors, "");
	buf_reset(&b);
	buf_adds(&b, "$((1");
	for (i = 1; i < 257; i++)
		buf_adds(&b, "+1");
	buf_adds(&b, "))");
	assert_string_equal(lex(buf_str(&b)), "A[]");
	assert_string_equal(errors, "t.conf:1:515: expression too long");
	buf_free(&b);
}

/* Random input never hangs or crashes (run it under ASan and UBSan). */
static void
test_random(void **state)
{
	static const char *atoms[] = {
		"a", "vm", "\"", "'", "$", "$((", "))", "(", ")", "${", "}",
		"{", "\\", "\n", "/", "*", "//", "/*", "*/", "#", " ", "\0",
		"\xff", "+", "=", "0x", "08", "-", ";", ",", "\\x", "\\0"
	};
	char in[64];
	size_t i, n, k, len;
	unsigned int seed = 1;

	(void)state;
	for (i = 0; i < 20000; i++) {
		for (n = 0, k = 0; k < 12; k++) {
			seed = seed * 1103515245 + 12345;
			const char *a = atoms[(seed >> 16) % 32];
			len = a[0] == '\0' ? 1 : strlen(a);
			if (n + len > sizeof(in))
				break;
			memcpy(in + n, a, len);
			n += len;
		}
		lexn(in, n);
	}
}

static int
teardown(void **state)
{
	(void)state;
	free(dumped);
	free(errors);
	dumped = errors = NULL;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_punctuation),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_bad_chars),
		cmocka_unit_test(test_arith_tokens),
		cmocka_unit_test(test_arith),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
