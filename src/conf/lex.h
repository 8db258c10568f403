/* bmd.conf tokens and lexer, and the internals parse.c and ast.c share. */
#ifndef BMD_LEX_H
#define BMD_LEX_H

#include <limits.h>
#include <stddef.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"
#include "xmalloc.h"

enum tok_type {
	TK_EOF,
	TK_VALUE,	/* a word, a quoted string, $var or $((...)) */
	TK_LBRACE, TK_RBRACE, TK_LPAREN, TK_RPAREN,
	TK_COMMA, TK_SEMI, TK_EQ, TK_PLUSEQ,
	TK_GLOBAL, TK_VM, TK_TEMPLATE, TK_INCLUDE, TK_APPLY
};

/* What a TK_VALUE token was written as. */
enum tok_kind { TV_WORD, TV_STRING, TV_VAR, TV_ARITH };

struct token {
	enum tok_type	 tk_type;
	enum tok_kind	 tk_kind;
	struct piece	*tk_pieces;	/* TK_VALUE: its pieces (lx_arena) */
	size_t		 tk_npieces;
	struct pos	 tk_pos;	/* first byte */
	int		 tk_eline;	/* line of the byte after the token */
	size_t		 tk_off, tk_len;	/* raw bytes, for messages */
};

/*
 * ast.c: builds the pieces of a value.  Adjacent text is merged, and empty
 * text is kept only when it is all there is (so '' differs from nothing).
 * Its arrays are scratch, reused from one value to the next; the pieces
 * it finishes are copied to the arena.
 */
struct vbuild {
	struct piece	*vb_pieces;
	size_t		 vb_n, vb_cap;
	struct buf	 vb_text;	/* pending text */
	struct pos	 vb_textpos;
	int		 vb_havetext;
	struct arena	*vb_arena;
};

struct lexer {
	const char	*lx_buf;
	size_t		 lx_len, lx_off;
	struct pos	 lx_pos;	/* of lx_buf[lx_off] */
	/*
	 * The previous token was a value and nothing separated it from
	 * here: "//" and "/" "*" are then part of the value, not comments,
	 * and a following word cannot be a keyword.
	 */
	int		 lx_glued;
	/*
	 * Skimming (skim.c): values are passed over, not decoded, and their
	 * errors not looked for; TK_VALUE tokens have no pieces.
	 */
	int		 lx_skim;
	struct diags	*lx_diags;
	struct arena	*lx_arena;	/* of the tree: pieces, text, $((...)) */
	struct vbuild	 lx_vb;		/* scratch for one token */
};

/* The pieces of tokens come from ar; lex_end frees the lexer's scratch. */
void		 lex_init(struct lexer *, const char *path, const char *buf,
		    size_t len, struct arena *ar, struct diags *);
void		 lex_end(struct lexer *);
void		 lex_next(struct lexer *, struct token *);
/* Forget a token's pieces (they stay in the arena until the tree goes). */
void		 tok_free(struct token *);

/* The character classes use ASCII only, whatever the locale. */
static inline int
is_namestart(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static inline int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_namechar(int c)
{
	return is_namestart(c) || is_digit(c);
}

/* lex.c: the ASCII bytes other than name characters that words take */
extern const unsigned char lex_wordpunct[128];

/*
 * skim.c: what lex_skim_body makes of each byte.  SK_WORD and SK_SLASH
 * are the bytes is_wordchar takes but "$" and "+", which may start
 * something else; SK_SEP white space but newlines, and ";" "=" "," "("
 * ")"; SK_STOP what the token loop must take.
 */
enum { SK_STOP, SK_WORD, SK_SLASH, SK_SEP, SK_NL, SK_HASH, SK_QUOTE };
extern const unsigned char lex_skim_kind[256];

/* "$" "*" "+" "/" are literal unless they start something else. */
static inline int
is_wordchar(int c)
{
	if (is_namechar(c))
		return 1;
	return c > 0 && c < 0x80 && lex_wordpunct[c];
}

/* The byte ahead of the cursor, or -1 past the end. */
static inline int
lex_peek(const struct lexer *lx, size_t ahead)
{
	if (ahead >= lx->lx_len - lx->lx_off)
		return -1;
	return (unsigned char)lx->lx_buf[lx->lx_off + ahead];
}

static inline void
lex_adv(struct lexer *lx)
{
	if (lx->lx_off >= lx->lx_len)
		return;
	if (lx->lx_buf[lx->lx_off++] == '\n') {
		if (lx->lx_pos.line < INT_MAX)
			lx->lx_pos.line++;
		lx->lx_pos.col = 1;
	} else if (lx->lx_pos.col < INT_MAX)
		lx->lx_pos.col++;
}

void		 lex_advn(struct lexer *, int);
int		 lex_continuation(const struct lexer *);
int		 lex_dollar_expands(const struct lexer *);
/* skim.c: pass over the value at the cursor (c); -1: none starts here */
int		 lex_skim_value(struct lexer *, struct token *, int c);
/* skim.c: inside a skipped section, over what cannot end or nest it */
void		 lex_skim_body(struct lexer *);
/* skim.c: 0 keeps lex_skim_body to its byte loop (a test compares) */
extern int	 lex_skim_vector;

void		 vb_init(struct vbuild *, struct arena *);
void		 vb_free(struct vbuild *);
void		 vb_text(struct vbuild *, const struct pos *);
void		 vb_add(struct vbuild *, const struct piece *);
void		 vb_reset(struct vbuild *);
void		 vb_finish(struct vbuild *, struct piece **, size_t *);

/* ast.c: an empty tree; hint is the length of its text, if known. */
struct ast_file	*ast_file_new(size_t hint);

#endif
