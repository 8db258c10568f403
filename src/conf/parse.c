/* The bmd.conf parser: tokens to the tree of ast.h, with error recovery. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"
#include "lex.h"
#include "xmalloc.h"

struct parser {
	struct lexer	 p_lx;
	struct token	 p_tok;		/* the current token */
	struct token	 p_next;	/* lookahead, when p_havenext */
	int		 p_havenext;
	int		 p_prevline;	/* the line the last token ended on */
	struct pos	 p_lasterr;
	struct diags	*p_diags;
	struct ast_file	*p_file;
	struct arena	*p_ar;		/* the tree's */
	int		 p_globals;	/* skip vm and template sections */
	/*
	 * Scratch, reused: a value of several tokens, and the arrays being
	 * built (no two of a kind at once), each copied to the arena at its
	 * final size once complete.
	 */
	struct vbuild	 p_vb;
	struct section	*p_sects;
	size_t		 p_nsects, p_capsects;
	struct stmt	*p_stmts;
	size_t		 p_capstmts;
	struct apply_target *p_targets;
	size_t		 p_captargets;
	struct value	*p_vals;
	size_t		 p_capvals;
	struct argdef	*p_args;
	size_t		 p_capargs;
};

/* ---- tokens and errors ---- */

static void
advance(struct parser *p)
{
	p->p_prevline = p->p_tok.tk_eline;
	tok_free(&p->p_tok);
	if (p->p_havenext) {
		p->p_tok = p->p_next;
		p->p_havenext = 0;
	} else
		lex_next(&p->p_lx, &p->p_tok);
}

static enum tok_type
peek(struct parser *p)
{
	if (!p->p_havenext) {
		lex_next(&p->p_lx, &p->p_next);
		p->p_havenext = 1;
	}
	return p->p_next.tk_type;
}

static void
perr(struct parser *p, const struct pos *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report an error, but only one per position: recovery may re-meet it. */
static void
perr(struct parser *p, const struct pos *at, const char *fmt, ...)
{
	char msg[512];
	va_list va;

	if (at->line == p->p_lasterr.line && at->col == p->p_lasterr.col)
		return;
	p->p_lasterr = *at;
	va_start(va, fmt);
	vsnprintf(msg, sizeof(msg), fmt, va);
	va_end(va);
	diag_error(p->p_diags, at, "%s", msg);
}

/* Describe a token for "unexpected ..." messages, quoting its raw text. */
static void
tok_describe(const struct lexer *lx, const struct token *tk, char *out,
    size_t sz)
{
	struct buf b;
	size_t i, n = tk->tk_len > 32 ? 32 : tk->tk_len;
	unsigned char c;

	if (tk->tk_type == TK_EOF) {
		snprintf(out, sz, "end of file");
		return;
	}
	buf_init(&b);
	if (tk->tk_type == TK_VALUE)
		buf_adds(&b, "value ");
	else if (tk->tk_type >= TK_GLOBAL)
		buf_adds(&b, "keyword ");
	buf_addc(&b, '"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)lx->lx_buf[tk->tk_off + i];
		if (c == '"' || c == '\\')
			buf_printf(&b, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			buf_addc(&b, (char)c);
		else
			buf_printf(&b, "\\x%02x", c);
	}
	buf_adds(&b, n < tk->tk_len ? "...\"" : "\"");
	snprintf(out, sz, "%s", buf_str(&b));
	buf_free(&b);
}

static void
unexpected(struct parser *p, const char *expected)
{
	char what[128];

	tok_describe(&p->p_lx, &p->p_tok, what, sizeof(what));
	if (expected != NULL)
		perr(p, &p->p_tok.tk_pos, "syntax error: unexpected %s "
		    "(expected %s)", what, expected);
	else
		perr(p, &p->p_tok.tk_pos, "syntax error: unexpected %s", what);
}

static int
is_keyword(enum tok_type t)
{
	return t >= TK_GLOBAL;
}

static int
is_section_keyword(enum tok_type t)
{
	return t == TK_GLOBAL || t == TK_VM || t == TK_TEMPLATE;
}

/* ---- recovery ---- */

/* Skip the rest of a bad statement: to ";" (eaten) or "}" (left). */
static void
skip_stmt(struct parser *p)
{
	int depth = 0;
	enum tok_type t;

	while ((t = p->p_tok.tk_type) != TK_EOF) {
		if (depth == 0 && (t == TK_RBRACE || is_section_keyword(t)))
			return;
		if (t == TK_LBRACE)
			depth++;
		else if (t == TK_RBRACE)
			depth--;
		advance(p);
		if (depth == 0 && t == TK_SEMI)
			return;
	}
}

/* Skip a bad top-level item up to the next section keyword. */
static void
skip_top(struct parser *p, int eatfirst)
{
	int depth = 0;
	enum tok_type t;

	for (; (t = p->p_tok.tk_type) != TK_EOF; eatfirst = 0) {
		if (!eatfirst && depth == 0 &&
		    (is_section_keyword(t) || t == TK_INCLUDE))
			return;
		if (t == TK_LBRACE)
			depth++;
		else if (t == TK_RBRACE && depth > 0)
			depth--;
		advance(p);
		if (depth == 0 && (t == TK_SEMI || t == TK_RBRACE))
			return;
	}
}

/* After a bad section header: 0 if a "{" is found, to check the body. */
static int
skip_header(struct parser *p)
{
	enum tok_type t;

	for (;;) {
		t = p->p_tok.tk_type;
		if (t == TK_EOF || is_section_keyword(t) || t == TK_INCLUDE)
			return -1;
		if (t == TK_LBRACE)
			return 0;
		advance(p);
		if (t == TK_SEMI || t == TK_RBRACE)
			return -1;
	}
}

/* ---- values ---- */

/*
 * Adjacent value tokens make one value.  A keyword on the same line as
 * the value is a mistake for a value; on a later line it more likely
 * starts the next section after a missing ";", so it is left alone.
 */
static int
parse_value(struct parser *p, struct value *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->v_pos = p->p_tok.tk_pos;
	/* Most values are one token: its pieces are already the value's. */
	if (p->p_tok.tk_type == TK_VALUE && peek(p) != TK_VALUE) {
		v->v_pieces = p->p_tok.tk_pieces;
		v->v_npieces = p->p_tok.tk_npieces;
		p->p_tok.tk_pieces = NULL;
		p->p_tok.tk_npieces = 0;
		advance(p);
		goto check;
	}
	while (p->p_tok.tk_type == TK_VALUE) {
		for (i = 0; i < p->p_tok.tk_npieces; i++)
			vb_add(&p->p_vb, &p->p_tok.tk_pieces[i]);
		advance(p);
	}
	vb_finish(&p->p_vb, &v->v_pieces, &v->v_npieces);
check:
	if (is_keyword(p->p_tok.tk_type) &&
	    p->p_tok.tk_pos.line == p->p_prevline) {
		perr(p, &p->p_tok.tk_pos, "syntax error: unexpected keyword "
		    "\"%.*s\" (quote it to use it as a value)",
		    (int)p->p_tok.tk_len, p->p_lx.lx_buf + p->p_tok.tk_off);
		advance(p);
		v->v_pieces = NULL;
		v->v_npieces = 0;
		return -1;
	}
	return 0;
}

/* value { "," value }: every element may be empty. */
static int
parse_values(struct parser *p, struct value **vals, size_t *n)
{
	struct value v;
	size_t i = 0;

	for (;;) {
		if (parse_value(p, &v) == -1)
			return -1;
		ARRAY_GROW(p->p_vals, i, p->p_capvals);
		p->p_vals[i++] = v;
		if (p->p_tok.tk_type != TK_COMMA)
			break;
		advance(p);
	}
	*vals = arena_memdup(p->p_ar, p->p_vals, i * sizeof(*p->p_vals));
	*n = i;
	return 0;
}

/* A key or name: written as words or strings, without expansions. */
static int
parse_name(struct parser *p, char **out, const char *what)
{
	struct value v;

	if (parse_value(p, &v) == -1)
		return -1;
	if (v.v_npieces == 0) {
		unexpected(p, what);
		return -1;
	}
	if (v.v_npieces > 1 || v.v_pieces[0].p_type != PC_TEXT) {
		perr(p, &v.v_pos, "syntax error: %s cannot contain variables "
		    "or $((...))", what);
		return -1;
	}
	*out = v.v_pieces[0].p_text;
	/* the name is kept, its array of one piece is not */
	arena_pop(p->p_ar, v.v_pieces, sizeof(*v.v_pieces));
	return 0;
}

static int
expect(struct parser *p, enum tok_type t, const char *what)
{
	if (p->p_tok.tk_type != t) {
		unexpected(p, what);
		return -1;
	}
	advance(p);
	return 0;
}

/* ---- statements ---- */

/* target := value [ "(" [value] { "," [value] } ")" ] */
static int
parse_target(struct parser *p, struct apply_target *t)
{
	memset(t, 0, sizeof(*t));
	t->t_pos = p->p_tok.tk_pos;
	if (parse_value(p, &t->t_name) == -1)
		return -1;
	if (t->t_name.v_npieces == 0) {
		unexpected(p, "a template name");
		return -1;
	}
	if (p->p_tok.tk_type != TK_LPAREN)
		return 0;
	advance(p);
	if (parse_values(p, &t->t_args, &t->t_nargs) == -1)
		return -1;
	return expect(p, TK_RPAREN, "\",\" or \")\"");
}

static int
parse_apply(struct parser *p, struct stmt *st)
{
	struct apply_target t;
	size_t n = 0;

	st->s_type = ST_APPLY;
	advance(p);
	for (;;) {
		if (parse_target(p, &t) == -1)
			return -1;
		ARRAY_GROW(p->p_targets, n, p->p_captargets);
		p->p_targets[n++] = t;
		if (p->p_tok.tk_type != TK_COMMA)
			break;
		advance(p);
	}
	st->s_targets = arena_memdup(p->p_ar, p->p_targets,
	    n * sizeof(*p->p_targets));
	st->s_ntargets = n;
	st->s_valpos = st->s_targets[0].t_pos;
	return expect(p, TK_SEMI, "\";\"");
}

/* KEY or $VAR, "=" or "+=", then the values. */
static int
parse_assign(struct parser *p, struct stmt *st)
{
	if (p->p_tok.tk_type == TK_VALUE && p->p_tok.tk_kind == TV_VAR &&
	    p->p_tok.tk_npieces == 1 &&
	    (peek(p) == TK_EQ || peek(p) == TK_PLUSEQ)) {
		st->s_type = ST_VAR;
		st->s_name = p->p_tok.tk_pieces[0].p_text;
		p->p_tok.tk_pieces[0].p_text = NULL;
		advance(p);
	} else {
		st->s_type = ST_KEY;
		if (parse_name(p, &st->s_name, "a key") == -1)
			return -1;
	}
	if (p->p_tok.tk_type != TK_EQ && p->p_tok.tk_type != TK_PLUSEQ) {
		unexpected(p, "\"=\" or \"+=\"");
		return -1;
	}
	st->s_append = p->p_tok.tk_type == TK_PLUSEQ;
	advance(p);
	if (parse_values(p, &st->s_vals, &st->s_nvals) == -1)
		return -1;
	st->s_valpos = st->s_vals[0].v_pos;
	return expect(p, TK_SEMI, "\";\"");
}

static int
parse_stmt(struct parser *p, struct stmt *st)
{
	memset(st, 0, sizeof(*st));
	st->s_pos = p->p_tok.tk_pos;
	if (p->p_tok.tk_type == TK_APPLY)
		return parse_apply(p, st);
	return parse_assign(p, st);
}

/* A keyword where a statement should start. 1: the section is over. */
static int
stmt_keyword(struct parser *p)
{
	const struct token *tk = &p->p_tok;
	enum tok_type next;

	if (tk->tk_type == TK_INCLUDE) {
		perr(p, &tk->tk_pos,
		    ".include is only allowed at the top level");
		advance(p);
		skip_stmt(p);
		return 0;
	}
	next = peek(p);
	if (next != TK_EQ && next != TK_PLUSEQ) {
		perr(p, &tk->tk_pos, "syntax error: unexpected keyword "
		    "\"%.*s\" (missing \"}\")", (int)tk->tk_len,
		    p->p_lx.lx_buf + tk->tk_off);
		return 1;
	}
	perr(p, &tk->tk_pos, "syntax error: unexpected keyword \"%.*s\" "
	    "(quote it to use it as a key)", (int)tk->tk_len,
	    p->p_lx.lx_buf + tk->tk_off);
	advance(p);
	skip_stmt(p);
	return 0;
}

static size_t	parse_stmts_in(struct parser *);

/* stmts "}", the "{" already eaten. */
static void
parse_stmts(struct parser *p, struct section *sc)
{
	sc->sc_nstmts = parse_stmts_in(p);
	sc->sc_stmts = arena_memdup(p->p_ar, p->p_stmts,
	    sc->sc_nstmts * sizeof(*p->p_stmts));
}

/* The statements, in p_stmts; their number. */
static size_t
parse_stmts_in(struct parser *p)
{
	struct stmt st;
	size_t n = 0;

	for (;;) {
		switch (p->p_tok.tk_type) {
		case TK_EOF:
			perr(p, &p->p_tok.tk_pos, "syntax error: unexpected "
			    "end of file (missing \"}\")");
			return n;
		case TK_RBRACE:
			advance(p);
			return n;
		case TK_SEMI:
			perr(p, &p->p_tok.tk_pos, "syntax error: unexpected "
			    "\";\" (empty statement)");
			advance(p);
			break;
		case TK_GLOBAL:
		case TK_VM:
		case TK_TEMPLATE:
		case TK_INCLUDE:
			if (stmt_keyword(p))
				return n;
			break;
		default:
			if (parse_stmt(p, &st) == -1) {
				skip_stmt(p);
				break;
			}
			ARRAY_GROW(p->p_stmts, n, p->p_capstmts);
			p->p_stmts[n++] = st;
		}
	}
}

/* ---- sections ---- */

/* "(" argdef { "," argdef } ")", also accepting "()". */
static int
parse_argdefs(struct parser *p, struct section *sc)
{
	struct argdef *ad;
	size_t n = 0;

	advance(p);
	if (p->p_tok.tk_type == TK_RPAREN) {
		advance(p);
		return 0;
	}
	for (;;) {
		ARRAY_GROW(p->p_args, n, p->p_capargs);
		ad = &p->p_args[n];
		memset(ad, 0, sizeof(*ad));
		ad->ad_pos = p->p_tok.tk_pos;
		if (parse_name(p, &ad->ad_name, "an argument name") == -1)
			return -1;
		n++;
		if (p->p_tok.tk_type == TK_EQ) {
			advance(p);
			ad->ad_default = arena_calloc(p->p_ar, 1,
			    sizeof(*ad->ad_default));
			if (parse_value(p, ad->ad_default) == -1)
				return -1;
		}
		if (p->p_tok.tk_type != TK_COMMA)
			break;
		advance(p);
	}
	sc->sc_args = arena_memdup(p->p_ar, p->p_args, n * sizeof(*p->p_args));
	sc->sc_nargs = n;
	return expect(p, TK_RPAREN, "\",\" or \")\"");
}

static int
parse_header(struct parser *p, struct section *sc)
{
	const char *what = sc->sc_type == SC_VM ? "a vm name" :
	    "a template name";

	if (sc->sc_type != SC_GLOBAL &&
	    parse_name(p, &sc->sc_name, what) == -1)
		return -1;
	if (sc->sc_type == SC_TEMPLATE && p->p_tok.tk_type == TK_LPAREN &&
	    parse_argdefs(p, sc) == -1)
		return -1;
	if (p->p_tok.tk_type != TK_LBRACE) {
		unexpected(p, "\"{\"");
		return -1;
	}
	return 0;
}

static void
add_section(struct parser *p, const struct section *sc)
{
	ARRAY_GROW(p->p_sects, p->p_nsects, p->p_capsects);
	p->p_sects[p->p_nsects++] = *sc;
}

/*
 * Only the global sections are wanted (bmdctl looking for its socket): a
 * vm or template section is passed over token by token, its values
 * skimmed (skim.c), to its matching "}" or, as parse_stmts and
 * skip_header recover, to a section keyword that does not start a
 * statement.  Its errors are bmd -n's to report, except an end of file
 * that may have hidden a global section.
 */
static void
skip_section(struct parser *p)
{
	enum tok_type t;
	int depth = 0;

	p->p_lx.lx_skim = 1;
	for (advance(p); (t = p->p_tok.tk_type) != TK_EOF; advance(p)) {
		if (t == TK_LBRACE)
			depth++;
		else if (t == TK_RBRACE && depth <= 1)
			break;
		else if (t == TK_RBRACE)
			depth--;
		else if (depth == 0 && (t == TK_SEMI ||
		    is_section_keyword(t) || t == TK_INCLUDE))
			break;
		else if (depth == 1 && is_section_keyword(t) &&
		    peek(p) != TK_EQ && peek(p) != TK_PLUSEQ)
			break;
		if (depth == 1 && !p->p_havenext)
			lex_skim_body(&p->p_lx);
	}
	p->p_lx.lx_skim = 0;
	if (t == TK_EOF && depth == 0)
		unexpected(p, "\"{\"");
	else if (t == TK_EOF)
		perr(p, &p->p_tok.tk_pos, "syntax error: unexpected end of "
		    "file (missing \"}\")");
	else if (t == TK_RBRACE || t == TK_SEMI)
		advance(p);
}

static void
parse_section(struct parser *p)
{
	struct section sc;
	int ok;

	if (p->p_globals && p->p_tok.tk_type != TK_GLOBAL) {
		skip_section(p);
		return;
	}
	memset(&sc, 0, sizeof(sc));
	sc.sc_pos = p->p_tok.tk_pos;
	if (p->p_tok.tk_type == TK_GLOBAL)
		sc.sc_type = SC_GLOBAL;
	else
		sc.sc_type = p->p_tok.tk_type == TK_VM ? SC_VM : SC_TEMPLATE;
	advance(p);
	/* A bad header still has its body checked, then is dropped. */
	ok = parse_header(p, &sc) == 0;
	if (!ok && skip_header(p) == -1)
		return;
	advance(p);
	parse_stmts(p, &sc);
	if (ok)
		add_section(p, &sc);
}

/* .include value ";" */
static void
parse_include(struct parser *p)
{
	struct section sc;

	memset(&sc, 0, sizeof(sc));
	sc.sc_type = SC_INCLUDE;
	sc.sc_pos = p->p_tok.tk_pos;
	advance(p);
	if (parse_value(p, &sc.sc_include) == -1)
		goto fail;
	if (sc.sc_include.v_npieces == 0) {
		unexpected(p, "a file name pattern");
		goto fail;
	}
	if (expect(p, TK_SEMI, "\";\"") == -1)
		goto fail;
	add_section(p, &sc);
	return;
fail:
	skip_top(p, 0);
}

static void
parse_top(struct parser *p)
{
	enum tok_type t;

	while ((t = p->p_tok.tk_type) != TK_EOF) {
		if (is_section_keyword(t))
			parse_section(p);
		else if (t == TK_INCLUDE)
			parse_include(p);
		else {
			if (t == TK_APPLY)
				perr(p, &p->p_tok.tk_pos, ".apply is only "
				    "allowed inside a section");
			else if (t == TK_SEMI || t == TK_RBRACE)
				unexpected(p, NULL);
			else
				unexpected(p, "\"global\", \"vm\", "
				    "\"template\" or \".include\"");
			skip_top(p, 1);
		}
	}
}

static struct ast_file *
parse_buffer(const char *path, const char *data, size_t len,
    struct diags *ds, int globals, struct ast_file *reuse)
{
	struct parser p;

	memset(&p, 0, sizeof(p));
	p.p_globals = globals;
	p.p_diags = ds;
	if ((p.p_file = reuse) != NULL) {
		arena_reset(&reuse->af_arena);
		reuse->af_sects = NULL;
		reuse->af_nsects = 0;
	} else
		p.p_file = ast_file_new(len);
	p.p_ar = &p.p_file->af_arena;
	vb_init(&p.p_vb, p.p_ar);
	lex_init(&p.p_lx, path, data, len, p.p_ar, ds);
	p.p_file->af_path = p.p_lx.lx_pos.file;
	lex_next(&p.p_lx, &p.p_tok);
	parse_top(&p);
	p.p_file->af_sects = arena_memdup(p.p_ar, p.p_sects,
	    p.p_nsects * sizeof(*p.p_sects));
	p.p_file->af_nsects = p.p_nsects;
	lex_end(&p.p_lx);
	vb_free(&p.p_vb);
	free(p.p_sects);
	free(p.p_stmts);
	free(p.p_targets);
	free(p.p_vals);
	free(p.p_args);
	return p.p_file;
}

struct ast_file *
ast_parse_buffer(const char *path, const char *data, size_t len,
    struct diags *ds)
{
	return parse_buffer(path, data, len, ds, 0, NULL);
}

struct ast_file *
ast_parse_reuse(struct ast_file *old, const char *path, const char *data,
    size_t len, struct diags *ds)
{
	return parse_buffer(path, data, len, ds, 0, old);
}

struct ast_file *
ast_parse_globals(const char *path, const char *data, size_t len,
    struct diags *ds)
{
	return parse_buffer(path, data, len, ds, 1, NULL);
}

/* Read all of fd into b; -1 with errno set on failure. */
static int
read_all(int fd, struct buf *b)
{
	char chunk[8192];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == 0)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf_add(b, chunk, (size_t)n);
	}
}

struct ast_file *
ast_parse_file(const char *path, struct diags *ds)
{
	struct pos where = { pos_intern(path), 0, 0 };
	struct ast_file *af;
	struct buf b;
	int fd, r;

	buf_init(&b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (r = read_all(fd, &b)) == -1) {
		diag_error(ds, &where, "cannot read %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		buf_free(&b);
		return NULL;
	}
	close(fd);
	af = ast_parse_buffer(path, b.b_data, b.b_len, ds);
	buf_free(&b);
	return af;
}
