/* The bmd.conf lexer: bytes to tokens; also reads $((...)) into trees. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"
#include "lex.h"
#include "xmalloc.h"

#define AR_MAXPAREN	64	/* parentheses open at once in $((...)) */
#define AR_MAXNODES	512	/* keeps trees (and their JSON) shallow */

/* A table, not strchr(): this runs for every byte of every word. */
const unsigned char lex_wordpunct[128] = {
	['!'] = 1, ['%'] = 1, ['&'] = 1, ['-'] = 1, ['.'] = 1, [':'] = 1,
	['<'] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1, ['['] = 1, [']'] = 1,
	['^'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1, ['$'] = 1, ['*'] = 1,
	['+'] = 1, ['/'] = 1,
};

#define KW(s)	s, sizeof(s) - 1
static const struct {
	const char	*kw_name;
	size_t		 kw_len;	/* compared first: most words are not */
	enum tok_type	 kw_type;
} keywords[] = {
	{ KW("global"),		TK_GLOBAL },
	{ KW("vm"),		TK_VM },
	{ KW("template"),	TK_TEMPLATE },
	{ KW(".include"),	TK_INCLUDE },
	{ KW(".apply"),		TK_APPLY },
};
#undef KW


void
lex_init(struct lexer *lx, const char *path, const char *buf, size_t len,
    struct arena *ar, struct diags *ds)
{
	memset(lx, 0, sizeof(*lx));
	lx->lx_buf = buf;
	lx->lx_len = buf != NULL ? len : 0;
	lx->lx_pos.file = pos_intern(path);
	lx->lx_pos.line = 1;
	lx->lx_pos.col = 1;
	lx->lx_diags = ds;
	lx->lx_arena = ar;
	vb_init(&lx->lx_vb, ar);
}

void
lex_end(struct lexer *lx)
{
	vb_free(&lx->lx_vb);
}

void
lex_advn(struct lexer *lx, int n)
{
	while (n-- > 0)
		lex_adv(lx);
}

/* Skimmed text is not checked (bmd -n is): its stray bytes are let be. */
static void
lex_badchar(struct lexer *lx, int c)
{
	if (!lx->lx_skim)
		diag_error(lx->lx_diags, &lx->lx_pos, "unexpected character "
		    "0x%02x", c);
}

/* Does the "$" under the cursor start a variable or $((...))? */
int
lex_dollar_expands(const struct lexer *lx)
{
	int c = lex_peek(lx, 1);

	return is_namestart(c) || c == '{' ||
	    (c == '(' && lex_peek(lx, 2) == '(');
}

/* ---- comments and white space ---- */

static void
lex_skip_line(struct lexer *lx)
{
	int c;

	while ((c = lex_peek(lx, 0)) >= 0 && c != '\n') {
		if (c == 0)
			lex_badchar(lx, c);
		lex_adv(lx);
	}
}

static void
lex_skip_block(struct lexer *lx)
{
	struct pos start = lx->lx_pos;
	int c;

	lex_advn(lx, 2);
	for (;;) {
		if ((c = lex_peek(lx, 0)) < 0) {
			diag_error(lx->lx_diags, &start,
			    "unterminated comment");
			return;
		}
		if (c == '*' && lex_peek(lx, 1) == '/') {
			lex_advn(lx, 2);
			return;
		}
		if (c == 0)
			lex_badchar(lx, c);
		lex_adv(lx);
	}
}

/* Length of a backslash-newline (with an optional CR) here, or 0. */
int
lex_continuation(const struct lexer *lx)
{
	if (lex_peek(lx, 0) != '\\')
		return 0;
	if (lex_peek(lx, 1) == '\n')
		return 2;
	if (lex_peek(lx, 1) == '\r' && lex_peek(lx, 2) == '\n')
		return 3;
	return 0;
}

/*
 * Unlike jail.conf, "//" and "/" "*" glued to a value are part of it, so
 * that URLs and paths work unquoted; "#" always starts a comment.
 */
static void
lex_skip(struct lexer *lx)
{
	int c, c1, n;

	for (;;) {
		c = lex_peek(lx, 0);
		c1 = lex_peek(lx, 1);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			lex_adv(lx);
			lx->lx_glued = 0;
		} else if ((n = lex_continuation(lx)) > 0)
			lex_advn(lx, n);
		else if (c == '#') {
			lex_skip_line(lx);
			lx->lx_glued = 0;
		} else if (c == '/' && c1 == '/' && !lx->lx_glued)
			lex_skip_line(lx);
		else if (c == '/' && c1 == '*' && !lx->lx_glued)
			lex_skip_block(lx);
		else
			return;
	}
}

/* ---- escapes, variables, words and strings ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the escape whose backslash is under the cursor. */
static int
lex_escape_value(struct lexer *lx)
{
	static const char from[] = "abfnrtv", to[] = "\a\b\f\n\r\t\v";
	const char *p;
	int c = lex_peek(lx, 0), v = 0, i;

	if (c >= '0' && c <= '7') {
		for (i = 0; i < 3 && (c = lex_peek(lx, 0)) >= '0' && c <= '7';
		    i++, lex_adv(lx))
			v = v * 8 + (c - '0');
		return v & 0xff;
	}
	if (c == 'x' && hexval(lex_peek(lx, 1)) >= 0) {
		lex_adv(lx);
		for (i = 0; i < 2 && hexval(lex_peek(lx, 0)) >= 0;
		    i++, lex_adv(lx))
			v = v * 16 + hexval(lex_peek(lx, 0));
		return v;
	}
	lex_adv(lx);
	if (c > 0 && (p = strchr(from, c)) != NULL)
		return to[p - from];
	return c;
}

static void
lex_escape(struct lexer *lx, struct vbuild *vb)
{
	struct pos start = lx->lx_pos;
	int n, c;

	if ((n = lex_continuation(lx)) > 0) {
		lex_advn(lx, n);
		return;
	}
	lex_adv(lx);
	if ((c = lex_peek(lx, 0)) < 0) {	/* a backslash at the end */
		vb_text(vb, &start);
		buf_addc(&vb->vb_text, '\\');
		return;
	}
	if (c == 0) {
		lex_badchar(lx, c);
		lex_adv(lx);
		return;
	}
	if ((c = lex_escape_value(lx)) == 0) {
		/* Values are C strings: a NUL byte cannot be kept. */
		diag_error(lx->lx_diags, &start, "escape sequence gives a NUL "
		    "byte");
		return;
	}
	vb_text(vb, &start);
	buf_addc(&vb->vb_text, (char)c);
}

/* $name or ${anything but newline and braces}; the cursor is on "$". */
static char *
lex_varname(struct lexer *lx)
{
	struct pos start = lx->lx_pos;
	struct buf b;
	char *name;
	size_t s;
	int c;

	lex_adv(lx);
	if (lex_peek(lx, 0) != '{') {
		s = lx->lx_off;
		while (is_namechar(lex_peek(lx, 0)))
			lex_adv(lx);
		return arena_strndup(lx->lx_arena, lx->lx_buf + s,
		    lx->lx_off - s);
	}
	lex_adv(lx);
	buf_init(&b);
	while ((c = lex_peek(lx, 0)) != '}') {
		if (c < 0 || c == '\n' || c == '{') {
			diag_error(lx->lx_diags, &start, "unterminated ${");
			buf_free(&b);
			return NULL;
		}
		if (c == 0)
			lex_badchar(lx, c);
		else
			buf_addc(&b, (char)c);
		lex_adv(lx);
	}
	lex_adv(lx);
	if (b.b_len == 0) {
		diag_error(lx->lx_diags, &start, "empty variable name ${}");
		buf_free(&b);
		return NULL;
	}
	name = arena_strndup(lx->lx_arena, buf_str(&b), b.b_len);
	buf_free(&b);
	return name;
}

/* ---- $((...)) ---- */

/* The state of one $((...)); only its first error is reported. */
struct arp {
	struct lexer	*ap_lx;
	struct pos	 ap_start;
	int		 ap_err;
	int		 ap_open;
	int		 ap_nodes;
};

static struct arith	*ar_expr(struct arp *);

static void __attribute__((format(printf, 3, 4)))
ar_error(struct arp *ap, const struct pos *p, const char *fmt, ...)
{
	char msg[256];
	va_list va;

	if (ap->ap_err)
		return;
	ap->ap_err = 1;
	va_start(va, fmt);
	vsnprintf(msg, sizeof(msg), fmt, va);
	va_end(va);
	diag_error(ap->ap_lx->lx_diags, p, "%s", msg);
}

static void
ar_space(struct arp *ap)
{
	int c;

	for (;;) {
		c = lex_peek(ap->ap_lx, 0);
		if (c == '\\' && lex_peek(ap->ap_lx, 1) == '\n')
			lex_adv(ap->ap_lx);
		else if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		lex_adv(ap->ap_lx);
	}
}

static void
ar_unexpected(struct arp *ap, const char *expected)
{
	const struct pos *p = &ap->ap_lx->lx_pos;
	int c = lex_peek(ap->ap_lx, 0);

	if (c < 0)
		ar_error(ap, &ap->ap_start, "unterminated $((");
	else if (c == '"')
		ar_error(ap, p, "syntax error: unexpected '\"' in $((...)) "
		    "(expected %s)", expected);
	else if (c > 0x20 && c < 0x7f)
		ar_error(ap, p, "syntax error: unexpected \"%c\" in $((...)) "
		    "(expected %s)", c, expected);
	else
		ar_error(ap, p, "syntax error: unexpected character 0x%02x in "
		    "$((...))", c);
}

/* A node over l and r (either may be NULL). */
static struct arith *
ar_node(struct arp *ap, enum arith_op op, struct arith *l, struct arith *r,
    const struct pos *p)
{
	struct arith *a;

	if (++ap->ap_nodes > AR_MAXNODES) {
		ar_error(ap, p, "expression too long");
		return NULL;
	}
	a = arena_calloc(ap->ap_lx->lx_arena, 1, sizeof(*a));
	a->a_op = op;
	a->a_pos = *p;
	a->a_l = l;
	a->a_r = r;
	return a;
}

/* Decimal, octal (leading 0) or hex (0x); -1 invalid, -2 overflow. */
static int
ar_convert(const char *s, size_t len, int neg, long long *out)
{
	unsigned long long v = 0, lim = LLONG_MAX;
	size_t i = 0;
	int ovf = 0, base = 10, d;

	if (neg)
		lim += 1;
	if (len > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
		if (len == 2)
			return -1;
	} else if (len > 1 && s[0] == '0')
		base = 8;
	for (; i < len; i++) {
		if ((d = hexval((unsigned char)s[i])) < 0 || d >= base)
			return -1;
		if (v > (lim - (unsigned)d) / (unsigned)base)
			ovf = 1;
		if (!ovf)
			v = v * (unsigned)base + (unsigned)d;
	}
	if (ovf)
		return -2;
	if (!neg)
		*out = (long long)v;
	else
		*out = v == lim ? LLONG_MIN : -(long long)v;
	return 0;
}

/* Skip a run of name characters (a number or a name); its length. */
static int
ar_run(struct lexer *lx)
{
	size_t s = lx->lx_off;

	while (is_namechar(lex_peek(lx, 0)))
		lex_adv(lx);
	return (int)(lx->lx_off - s > 32 ? 32 : lx->lx_off - s);
}

/* A literal; neg folds a unary minus in so that LLONG_MIN is writable. */
static struct arith *
ar_number(struct arp *ap, const struct pos *p, int neg)
{
	struct lexer *lx = ap->ap_lx;
	struct pos numpos = lx->lx_pos;
	struct arith *a;
	const char *s = lx->lx_buf + lx->lx_off;
	char why[64];
	long long v;
	size_t n, i;
	int r, len;

	len = ar_run(lx);
	n = (size_t)(lx->lx_buf + lx->lx_off - s);
	r = ar_convert(s, n, neg, &v);
	for (i = 0; i < n && is_digit((unsigned char)s[i]); i++)
		;
	if (r == -1 && i < n) {
		/* "0x", "0xg", "1a": malformed, not only out of range */
		ar_error(ap, &numpos, "invalid number %.*s", len, s);
		return NULL;
	}
	/*
	 * A literal that is well formed but has no value (08, or beyond the
	 * range) is an evaluation error: it rejects the VM, not the load.
	 */
	if ((a = ar_node(ap, r == 0 ? AR_NUM : AR_BAD, NULL, NULL,
	    r == 0 ? p : &numpos)) == NULL)
		return NULL;
	if (r == 0)
		a->a_num = v;
	else if (r == -1) {
		snprintf(why, sizeof(why), "invalid number %.*s", len, s);
		a->a_var = arena_strdup(lx->lx_arena, why);
	} else
		a->a_var = arena_strdup(lx->lx_arena, "integer overflow");
	return a;
}

static struct arith *
ar_var(struct arp *ap)
{
	struct pos p = ap->ap_lx->lx_pos;
	struct arith *a;
	char *name;
	int c = lex_peek(ap->ap_lx, 1);

	if (c != '{' && (!is_namechar(c) || is_digit(c))) {
		ar_unexpected(ap, "a number, $variable or \"(\"");
		return NULL;
	}
	if ((name = lex_varname(ap->ap_lx)) == NULL) {
		ap->ap_err = 1;		/* lex_varname reported it */
		return NULL;
	}
	if ((a = ar_node(ap, AR_VAR, NULL, NULL, &p)) == NULL)
		return NULL;
	a->a_var = name;
	return a;
}

static struct arith *
ar_paren(struct arp *ap)
{
	struct arith *a;

	if (ap->ap_open >= AR_MAXPAREN) {
		ar_error(ap, &ap->ap_lx->lx_pos,
		    "expression nested too deeply");
		return NULL;
	}
	lex_adv(ap->ap_lx);
	ap->ap_open++;
	if ((a = ar_expr(ap)) == NULL)
		return NULL;
	ar_space(ap);
	if (lex_peek(ap->ap_lx, 0) != ')') {
		ar_unexpected(ap, "\")\"");
		return NULL;
	}
	lex_adv(ap->ap_lx);
	ap->ap_open--;
	return a;
}

/* A bare name is a classic mistake ($((ID+1))): say what is missing. */
static void
ar_barename(struct arp *ap)
{
	struct lexer *lx = ap->ap_lx;
	struct pos p = lx->lx_pos;
	const char *s = lx->lx_buf + lx->lx_off;
	int len = ar_run(lx);

	ar_error(ap, &p, "syntax error: variable \"%.*s\" needs a \"$\" in "
	    "$((...)) (write $%.*s)", len, s, len, s);
}

static struct arith *
ar_primary(struct arp *ap)
{
	struct pos p;
	int c;

	ar_space(ap);
	p = ap->ap_lx->lx_pos;
	c = lex_peek(ap->ap_lx, 0);
	if (is_digit(c))
		return ar_number(ap, &p, 0);
	if (c == '$')
		return ar_var(ap);
	if (c == '(')
		return ar_paren(ap);
	if (is_namechar(c))
		ar_barename(ap);
	else if (c == '+')
		ar_error(ap, &p, "syntax error: unary \"+\" is not allowed in "
		    "$((...))");
	else
		ar_unexpected(ap, "a number, $variable or \"(\"");
	return NULL;
}

/* Unary minus applies directly to a number, variable or (...) only. */
static struct arith *
ar_unary(struct arp *ap)
{
	struct arith *a;
	struct pos p;

	ar_space(ap);
	if (lex_peek(ap->ap_lx, 0) != '-')
		return ar_primary(ap);
	p = ap->ap_lx->lx_pos;
	lex_adv(ap->ap_lx);
	ar_space(ap);
	if (is_digit(lex_peek(ap->ap_lx, 0)))
		return ar_number(ap, &p, 1);
	if ((a = ar_primary(ap)) == NULL)
		return NULL;
	return ar_node(ap, AR_NEG, a, NULL, &p);
}

/* One left-associative precedence level: ops[i] gives types[i]. */
static struct arith *
ar_level(struct arp *ap, const char *ops, const enum arith_op *types,
    struct arith *(*sub)(struct arp *))
{
	struct arith *l, *r;
	const char *o;
	struct pos p;
	int c;

	if ((l = sub(ap)) == NULL)
		return NULL;
	for (;;) {
		ar_space(ap);
		c = lex_peek(ap->ap_lx, 0);
		if (c <= 0 || (o = strchr(ops, c)) == NULL)
			return l;
		p = ap->ap_lx->lx_pos;
		lex_adv(ap->ap_lx);
		if ((r = sub(ap)) == NULL)
			return NULL;
		if ((l = ar_node(ap, types[o - ops], l, r, &p)) == NULL)
			return NULL;
	}
}

static struct arith *
ar_term(struct arp *ap)
{
	static const enum arith_op t[] = { AR_MUL, AR_DIV, AR_MOD };

	return ar_level(ap, "*/%", t, ar_unary);
}

static struct arith *
ar_expr(struct arp *ap)
{
	static const enum arith_op t[] = { AR_ADD, AR_SUB };

	return ar_level(ap, "+-", t, ar_term);
}

/*
 * After an error, skip to the "))" that closes this $((, so that the
 * lexer carries on with what follows; stop early at ";" or a quote.
 */
static void
ar_resync(struct arp *ap)
{
	struct lexer *lx = ap->ap_lx;
	int depth = ap->ap_open, c;

	while ((c = lex_peek(lx, 0)) >= 0 && c != ';' && c != '"') {
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (c == ')' && lex_peek(lx, 1) == ')') {
			lex_advn(lx, 2);
			return;
		}
		lex_adv(lx);
	}
}

static struct arith *
arith_parse(struct lexer *lx, const struct pos *start)
{
	struct arp ap;
	struct arith *a;

	memset(&ap, 0, sizeof(ap));
	ap.ap_lx = lx;
	ap.ap_start = *start;
	if ((a = ar_expr(&ap)) != NULL) {
		ar_space(&ap);
		if (lex_peek(lx, 0) == ')' && lex_peek(lx, 1) == ')') {
			lex_advn(lx, 2);
			return a;
		}
		ar_unexpected(&ap, "\"))\"");
	}
	ar_resync(&ap);
	return NULL;
}

/* A variable or $((...)), the cursor on "$". */
static void
lex_dollar(struct lexer *lx, struct vbuild *vb)
{
	struct piece pc;

	memset(&pc, 0, sizeof(pc));
	pc.p_pos = lx->lx_pos;
	if (lex_peek(lx, 1) == '(') {
		lex_advn(lx, 3);
		pc.p_type = PC_ARITH;
		if ((pc.p_arith = arith_parse(lx, &pc.p_pos)) == NULL)
			return;
	} else {
		pc.p_type = PC_VAR;
		if ((pc.p_text = lex_varname(lx)) == NULL)
			return;
	}
	vb_add(vb, &pc);
}

static void
lex_word(struct lexer *lx, struct vbuild *vb)
{
	int c;

	for (;;) {
		c = lex_peek(lx, 0);
		if (c == '\\') {
			lex_escape(lx, vb);
			continue;
		}
		if (!is_wordchar(c) || (c == '$' && lex_dollar_expands(lx)) ||
		    (c == '+' && lex_peek(lx, 1) == '='))
			return;
		vb_text(vb, &lx->lx_pos);
		buf_addc(&vb->vb_text, (char)c);
		lex_adv(lx);
	}
}

/* '...' or "..."; only the latter expands variables and $((...)). */
static void
lex_quoted(struct lexer *lx, struct vbuild *vb)
{
	struct pos start = lx->lx_pos;
	int q = lex_peek(lx, 0), c;

	vb_text(vb, &start);
	lex_adv(lx);
	for (;;) {
		if ((c = lex_peek(lx, 0)) < 0) {
			diag_error(lx->lx_diags, &start, "unterminated string");
			return;
		}
		if (c == q) {
			lex_adv(lx);
			return;
		}
		if (c == '\\')
			lex_escape(lx, vb);
		else if (c == '$' && q == '"' && lex_dollar_expands(lx))
			lex_dollar(lx, vb);
		else {
			if (c == 0)
				lex_badchar(lx, c);
			else {
				vb_text(vb, &lx->lx_pos);
				buf_addc(&vb->vb_text, (char)c);
			}
			lex_adv(lx);
		}
	}
}

/* ---- tokens ---- */

static void
lex_keyword(struct lexer *lx, struct token *tk, size_t off)
{
	size_t i, len = lx->lx_off - off;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (keywords[i].kw_len == len &&
		    memcmp(keywords[i].kw_name, lx->lx_buf + off, len) == 0) {
			tk->tk_type = keywords[i].kw_type;
			return;
		}
	}
}

static int
lex_value(struct lexer *lx, struct token *tk, int c)
{
	struct vbuild *vb = &lx->lx_vb;
	size_t off = lx->lx_off;

	if (lx->lx_skim) {
		if (lex_skim_value(lx, tk, c) == -1)
			return 0;
	} else if (c == '"' || c == '\'') {
		tk->tk_kind = TV_STRING;
		lex_quoted(lx, vb);
	} else if (c == '$' && lex_dollar_expands(lx)) {
		tk->tk_kind = lex_peek(lx, 1) == '(' ? TV_ARITH : TV_VAR;
		lex_dollar(lx, vb);
	} else if (c == '\\' || is_wordchar(c)) {
		tk->tk_kind = TV_WORD;
		lex_word(lx, vb);
	} else
		return 0;
	tk->tk_type = TK_VALUE;
	/* Only a whole, separate word is a keyword: "a"vm is "avm". */
	if (tk->tk_kind == TV_WORD && !lx->lx_glued)
		lex_keyword(lx, tk, off);
	/* A keyword's text never goes to the tree: it has no use for it. */
	if (tk->tk_type == TK_VALUE && !lx->lx_skim)
		vb_finish(vb, &tk->tk_pieces, &tk->tk_npieces);
	else
		vb_reset(vb);
	lx->lx_glued = tk->tk_type == TK_VALUE;
	return 1;
}

static int
lex_token(struct lexer *lx, struct token *tk, int c)
{
	static const char punct[] = "{}(),;=";
	static const enum tok_type ptype[] = {
		TK_LBRACE, TK_RBRACE, TK_LPAREN, TK_RPAREN,
		TK_COMMA, TK_SEMI, TK_EQ
	};
	const char *p;

	if (c == '+' && lex_peek(lx, 1) == '=') {
		lex_advn(lx, 2);
		tk->tk_type = TK_PLUSEQ;
	} else if (c > 0 && (p = strchr(punct, c)) != NULL) {
		lex_adv(lx);
		tk->tk_type = ptype[p - punct];
	} else
		return lex_value(lx, tk, c);
	lx->lx_glued = 0;
	return 1;
}

void
lex_next(struct lexer *lx, struct token *tk)
{
	int c;

	memset(tk, 0, sizeof(*tk));
	for (;;) {
		lex_skip(lx);
		tk->tk_pos = lx->lx_pos;
		tk->tk_off = lx->lx_off;
		if ((c = lex_peek(lx, 0)) < 0) {
			tk->tk_type = TK_EOF;
			break;
		}
		if (lex_token(lx, tk, c))
			break;
		/* Report a stray byte, drop it and carry on. */
		lex_badchar(lx, c);
		lex_adv(lx);
		lx->lx_glued = 0;
	}
	tk->tk_len = lx->lx_off - tk->tk_off;
	tk->tk_eline = lx->lx_pos.line;
}

void
tok_free(struct token *tk)
{
	tk->tk_pieces = NULL;
	tk->tk_npieces = 0;
}
