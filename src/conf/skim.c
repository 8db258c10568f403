/* Skimming values: their extent as lex.c finds it, without decoding them. */
#include <string.h>

#include "lex.h"

/*
 * bmdctl looks for its socket in the global sections only (parse.c,
 * ast_parse_globals): the values of vm and template sections are passed
 * over here without building their pieces, which is most of what a full
 * parse costs.  Every function ends where its lex.c counterpart would on
 * valid text; on invalid text it ends somewhere near, silently, since
 * checking a VM is bmd -n's work, not bmdctl's.
 */

/*
 * Pass over the bytes from the cursor that plain(byte, arg) takes, none
 * of them a newline: most of a value goes this way, a run at a time.
 */
static void
skim_run(struct lexer *lx, int (*plain)(int, int), int arg)
{
	size_t i = lx->lx_off, n;

	while (i < lx->lx_len && plain((unsigned char)lx->lx_buf[i], arg))
		i++;
	n = i - lx->lx_off;
	lx->lx_off = i;
	if (n > (size_t)(INT_MAX - lx->lx_pos.col))
		lx->lx_pos.col = INT_MAX;
	else
		lx->lx_pos.col += (int)n;
}

static int
plain_word(int c, int unused)
{
	return is_namechar(c);
}

/* In a string quoted with q: what ends it, escapes or expands is not. */
static int
plain_quoted(int c, int q)
{
	return c != q && c != '\\' && c != '$' && c != '\n';
}

/* A backslash: an escape or a line continuation (lex_escape). */
static void
skim_escape(struct lexer *lx)
{
	int n;

	if ((n = lex_continuation(lx)) > 0)
		lex_advn(lx, n);
	else
		lex_advn(lx, 2);
}

/* ${name}: up to "}", or where lex_varname gives up. */
static void
skim_braced(struct lexer *lx)
{
	int c;

	lex_advn(lx, 2);
	while ((c = lex_peek(lx, 0)) >= 0 && c != '\n' && c != '{') {
		lex_adv(lx);
		if (c == '}')
			return;
	}
}

/*
 * $((...)): to the "))" that closes it, counting parentheses; stops at
 * ";" or a quote as lex.c's ar_resync does after an error.
 */
static void
skim_arith(struct lexer *lx)
{
	int depth = 0, c;

	lex_advn(lx, 3);
	while ((c = lex_peek(lx, 0)) >= 0 && c != ';' && c != '"') {
		if (c == '$' && lex_peek(lx, 1) == '{') {
			skim_braced(lx);
			continue;
		}
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

/* A variable or $((...)), the cursor on a "$" that expands. */
static void
skim_dollar(struct lexer *lx)
{
	if (lex_peek(lx, 1) == '(')
		skim_arith(lx);
	else if (lex_peek(lx, 1) == '{')
		skim_braced(lx);
	else {
		lex_adv(lx);
		while (is_namechar(lex_peek(lx, 0)))
			lex_adv(lx);
	}
}

static void
skim_word(struct lexer *lx)
{
	int c;

	for (;;) {
		skim_run(lx, plain_word, 0);
		c = lex_peek(lx, 0);
		if (c == '\\') {
			skim_escape(lx);
			continue;
		}
		if (!is_wordchar(c) || (c == '$' && lex_dollar_expands(lx)) ||
		    (c == '+' && lex_peek(lx, 1) == '='))
			return;
		lex_adv(lx);
	}
}

/*
 * A string that does not end takes the rest of the file with it, and
 * may hide a global section: that is reported, as lex.c does.
 */
static void
skim_quoted(struct lexer *lx)
{
	struct pos start = lx->lx_pos;
	int q = lex_peek(lx, 0), c;

	lex_adv(lx);
	for (skim_run(lx, plain_quoted, q); (c = lex_peek(lx, 0)) != q;
	    skim_run(lx, plain_quoted, q)) {
		if (c < 0) {
			diag_error(lx->lx_diags, &start, "unterminated string");
			return;
		}
		if (c == '\\')
			skim_escape(lx);
		else if (c == '$' && q == '"' && lex_dollar_expands(lx))
			skim_dollar(lx);
		else
			lex_adv(lx);
	}
	lex_adv(lx);
}

int
lex_skim_value(struct lexer *lx, struct token *tk, int c)
{
	if (c == '"' || c == '\'') {
		tk->tk_kind = TV_STRING;
		skim_quoted(lx);
	} else if (c == '$' && lex_dollar_expands(lx)) {
		tk->tk_kind = lex_peek(lx, 1) == '(' ? TV_ARITH : TV_VAR;
		skim_dollar(lx);
	} else if (c == '\\' || is_wordchar(c)) {
		tk->tk_kind = TV_WORD;
		skim_word(lx);
	} else
		return -1;
	return 0;
}

/* ---- the body of a skipped section, a byte at a time ---- */

int lex_skim_vector = 1;

#ifdef __SSE2__
#include <emmintrin.h>

#define EQ(x, c)	_mm_cmpeq_epi8((x), _mm_set1_epi8((char)(c)))
#define OR(a, b)	_mm_or_si128((a), (b))
#define AND(a, b)	_mm_and_si128((a), (b))
#endif

/* Where the cursor of lex_skim_body is: committed at token starts. */
struct body {
	size_t	 i;		/* offset */
	int	 line;
	size_t	 ls;		/* offset where col was lc */
	int	 lc;
};

static void
body_newline(struct body *bd)
{
	if (bd->line < INT_MAX)
		bd->line++;
	bd->ls = bd->i + 1;
	bd->lc = 1;
}

static void
body_commit(struct lexer *lx, const struct body *bd, int glued)
{
	size_t n = bd->i - bd->ls;

	lx->lx_off = bd->i;
	lx->lx_pos.line = bd->line;
	lx->lx_pos.col = n > (size_t)(INT_MAX - bd->lc) ? INT_MAX :
	    bd->lc + (int)n;
	lx->lx_glued = glued;
}

/*
 * In a string quoted with q: the next byte from i that ends it, escapes,
 * expands or is a newline (n: none).
 */
static size_t
string_plain(const char *b, size_t n, size_t i, int q)
{
#ifdef __SSE2__
	__m128i x;
	unsigned int m;

	for (; lex_skim_vector && n - i >= 16; i += 16) {
		x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
		m = (unsigned int)_mm_movemask_epi8(OR(OR(EQ(x, q),
		    EQ(x, '\\')), OR(EQ(x, '$'), EQ(x, '\n'))));
		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	while (i < n && b[i] != q && b[i] != '\\' && b[i] != '$' &&
	    b[i] != '\n')
		i++;
	return i;
}

/* A quoted string; 0 (nothing consumed) on what only lex.c decides. */
static int
body_string(const char *b, size_t n, struct body *bd)
{
	struct body at = *bd;
	int q = b[at.i++];
	size_t j;

	for (; at.i < n; at.i++) {
		if ((at.i = string_plain(b, n, at.i, q)) >= n)
			break;
		if (b[at.i] == q) {
			at.i++;
			*bd = at;
			return 1;
		}
		if (b[at.i] == '\\') {
			if (at.i + 1 >= n || b[at.i + 1] == '\n' ||
			    b[at.i + 1] == '\r')
				return 0;
			at.i++;
		} else if (b[at.i] == '$' && q == '"' && at.i + 1 < n &&
		    (b[at.i + 1] == '(' || b[at.i + 1] == '{')) {
			/* ${name} only: anything else as skim_dollar does */
			for (j = at.i + 2; j < n && is_namechar(b[j]); j++)
				;
			if (b[at.i + 1] == '(' || j >= n || b[j] != '}')
				return 0;
			at.i = j;
		} else if (b[at.i] == '\n')
			body_newline(&at);
	}
	return 0;
}

/* A word that the token loop must see: a section keyword may end it. */
static int
body_keyword(const unsigned char *w, size_t len)
{
	return (len == 2 && memcmp(w, "vm", 2) == 0) ||
	    (len == 6 && memcmp(w, "global", 6) == 0) ||
	    (len == 8 && memcmp(w, "template", 8) == 0);
}

/*
 * What the byte loop makes of a byte, in one table lookup (lex.h): the
 * classes of lex.c written out again, so test_globals checks every byte.
 */
#define K_PUNCT(c)	((c) == '!' || (c) == '%' || (c) == '&' || \
    (c) == '-' || (c) == '.' || (c) == ':' || (c) == '<' || (c) == '>' || \
    (c) == '?' || (c) == '@' || (c) == '[' || (c) == ']' || (c) == '^' || \
    (c) == '`' || (c) == '|' || (c) == '~' || (c) == '*')
#define K_NAME(c)	(((c) >= 'a' && (c) <= 'z') || \
    ((c) >= 'A' && (c) <= 'Z') || ((c) >= '0' && (c) <= '9') || (c) == '_')
#define K_OF(c)		((c) == '\n' ? SK_NL : \
    (c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == ';' || (c) == '=' || \
    (c) == ',' || (c) == '(' || (c) == ')' ? SK_SEP : \
    (c) == '#' ? SK_HASH : (c) == '"' || (c) == '\'' ? SK_QUOTE : \
    (c) == '/' ? SK_SLASH : K_NAME(c) || K_PUNCT(c) ? SK_WORD : SK_STOP)
#define K4(c)	K_OF(c), K_OF((c) + 1), K_OF((c) + 2), K_OF((c) + 3)
#define K16(c)	K4(c), K4((c) + 4), K4((c) + 8), K4((c) + 12)
#define K64(c)	K16(c), K16((c) + 16), K16((c) + 32), K16((c) + 48)

const unsigned char lex_skim_kind[256] = { K64(0), K64(64), K64(128),
    K64(192) };

/*
 * A word without escapes, "$" or "+" that is not a section keyword: its
 * end, or 0 for the token loop to take it.
 */
static size_t
body_word(const unsigned char *b, size_t n, size_t i)
{
	size_t j = i + 1;
	int k;

	while (j < n && ((k = lex_skim_kind[b[j]]) == SK_WORD ||
	    k == SK_SLASH))
		j++;
	if ((j < n && (b[j] == '$' || b[j] == '\\' || b[j] == '+')) ||
	    body_keyword(b + i, j - i))
		return 0;
	return j;
}

/* ---- the same, 16 bytes at a time where the machine can ---- */

#ifdef __SSE2__
static int
is_wordkind(int c)
{
	return lex_skim_kind[c] == SK_WORD || lex_skim_kind[c] == SK_SLASH;
}

static void
body_lines(struct body *bd, size_t at, unsigned int nl)
{
	unsigned int m;
	int k = 0;

	if (nl == 0)
		return;
	/* a few at most: counted, as x86-64's base set has no popcnt */
	for (m = nl; m != 0; m &= m - 1)
		k++;
	bd->line = bd->line > INT_MAX - k ? INT_MAX : bd->line + k;
	bd->ls = at + (size_t)(32 - __builtin_clz(nl));
	bd->lc = 1;
}

/*
 * The 16 bytes at p, as three masks (bit k for p[k]): what the byte loop
 * must take (a superset of what it stops at: every byte but white space,
 * newlines and the plain word bytes below "{"; a "/" before "/" or "*"), the
 * newlines, and where "vm", "gl" or "tem" may start a section keyword.
 * p[16] and p[17] are read too.
 */
static unsigned int
block_masks(const unsigned char *p, unsigned int *nl, unsigned int *kw)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 1));
	__m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 2));
	__m128i n = EQ(x, '\n'), s, k;

	/* signed: the controls, and every byte from 0x80 */
	s = _mm_andnot_si128(OR(n, EQ(x, '\t')),
	    _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
	s = OR(s, _mm_cmpgt_epi8(x, _mm_set1_epi8('z')));
	s = OR(s, OR(OR(EQ(x, '"'), EQ(x, '#')), OR(EQ(x, '$'), EQ(x, '\''))));
	s = OR(s, OR(EQ(x, '+'), EQ(x, '\\')));
	s = OR(s, AND(EQ(x, '/'), OR(EQ(x1, '/'), EQ(x1, '*'))));
	k = OR(AND(EQ(x, 'v'), EQ(x1, 'm')), AND(EQ(x, 'g'), EQ(x1, 'l')));
	k = OR(k, AND(AND(EQ(x, 't'), EQ(x1, 'e')), EQ(x2, 'm')));
	*nl = (unsigned int)_mm_movemask_epi8(n);
	*kw = (unsigned int)_mm_movemask_epi8(k);
	return (unsigned int)_mm_movemask_epi8(s);
}

/*
 * The candidates of kw that the byte loop stops at (body_word: a word
 * that is a keyword), added to stop; those past its first stop do not
 * matter.  start is where the run began, a token start.
 */
static unsigned int
block_keywords(const unsigned char *b, size_t n, size_t at, size_t start,
    unsigned int stop, unsigned int kw)
{
	size_t k;

	for (; kw != 0; kw &= kw - 1) {
		k = (size_t)__builtin_ctz(kw);
		if (stop != 0 && k > (size_t)__builtin_ctz(stop))
			break;
		if ((at + k == start || !is_wordkind(b[at + k - 1])) &&
		    body_word(b, n, at + k) == 0)
			return stop | 1u << k;
	}
	return stop;
}

/*
 * From the token start at bd->i, over the white space, newlines and plain
 * words the byte loop would take one at a time, 16 bytes a step; it ends
 * at the start of a token, so the byte loop goes on from there as if it
 * had come that way.  1: it moved (and the last byte was white space).
 */
static int
body_vector(const unsigned char *b, size_t n, struct body *bd)
{
	size_t at = bd->i, s;
	unsigned int stop, nl, kw, k;

	for (;;) {
		if (n - at < 18) {
			s = at;
			break;
		}
		stop = block_masks(b + at, &nl, &kw);
		if (kw != 0)
			stop = block_keywords(b, n, at, bd->i, stop, kw);
		if (stop != 0) {
			k = (unsigned int)__builtin_ctz(stop);
			body_lines(bd, at, nl & ((1u << k) - 1));
			s = at + k;
			break;
		}
		body_lines(bd, at, nl);
		at += 16;
	}
	/* back to the start of a word the run ended in */
	while (s > bd->i && is_wordkind(b[s - 1]))
		s--;
	if (s == bd->i)
		return 0;
	bd->i = s;
	return 1;
}
#else
static int
body_vector(const unsigned char *b, size_t n, struct body *bd)
{
	(void)b;
	(void)n;
	(void)bd;
	return 0;
}
#endif

/*
 * Inside a section being skipped (parse.c skip_section, at depth 1): pass
 * over the tokens that cannot end it, nest it or hide a section keyword
 * (white space, "#" comments, plain words, strings, ";" "=" "," "(" ")")
 * in one loop, without a token each.  It stops at the start of anything
 * else ("{", "}", a keyword, "//", "$" outside strings, escapes, stray
 * bytes...) for the token loop to take as before, so the result is the
 * same, only sooner: a bmdctl finding its socket in a file of 10,000 VMs.
 */
void
lex_skim_body(struct lexer *lx)
{
	const unsigned char *b = (const unsigned char *)lx->lx_buf;
	size_t n = lx->lx_len, j;
	struct body bd = { lx->lx_off, lx->lx_pos.line, lx->lx_off,
	    lx->lx_pos.col };
	const unsigned char *nl;
	int glued = lx->lx_glued, k;

	while (bd.i < n) {
		if (lex_skim_vector && body_vector(b, n, &bd)) {
			glued = 0;
			if (bd.i >= n)
				break;
		}
		/* most bytes: white space and words; a branch each, no jump */
		if ((k = lex_skim_kind[b[bd.i]]) == SK_SEP) {
			bd.i++;
			glued = 0;
		} else if (k == SK_WORD || (k == SK_SLASH && (bd.i + 1 >= n ||
		    (b[bd.i + 1] != '/' && b[bd.i + 1] != '*')))) {
			if ((j = body_word(b, n, bd.i)) == 0)
				break;
			bd.i = j;
			glued = 1;
		} else if (k == SK_NL) {
			body_newline(&bd);
			bd.i++;
			glued = 0;
		} else if (k == SK_QUOTE) {
			if (!body_string(lx->lx_buf, n, &bd))
				break;
			glued = 1;
		} else if (k == SK_HASH) {
			nl = memchr(b + bd.i, '\n', n - bd.i);
			bd.i = nl != NULL ? (size_t)(nl - b) : n;
			glued = 0;
		} else
			break;	/* SK_STOP, or a comment starts */
	}
	body_commit(lx, &bd, glued);
}
