/* bmd.conf tokens and lexer, and the internals parse.c and ast.c share. */
#ifndef BMD_LEX_H
#define BMD_LEX_H

#include <stddef.h>

#include "ast.h"
#include "buf.h"
#include "diag.h"

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
	struct piece	*tk_pieces;	/* TK_VALUE: its decoded pieces */
	size_t		 tk_npieces;
	struct pos	 tk_pos;	/* first byte */
	int		 tk_eline;	/* line of the byte after the token */
	size_t		 tk_off, tk_len;	/* raw bytes, for messages */
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
	struct diags	*lx_diags;
};

void		 lex_init(struct lexer *, const char *path, const char *buf,
		    size_t len, struct diags *);
void		 lex_next(struct lexer *, struct token *);
void		 tok_free(struct token *);

/*
 * ast.c: builds the pieces of a value.  Adjacent text is merged, and empty
 * text is kept only when it is all there is (so '' differs from nothing).
 */
struct vbuild {
	struct piece	*vb_pieces;
	size_t		 vb_n, vb_cap;
	struct buf	 vb_text;	/* pending text */
	struct pos	 vb_textpos;
	int		 vb_havetext;
};

void		 vb_init(struct vbuild *);
void		 vb_text(struct vbuild *, const struct pos *);
void		 vb_add(struct vbuild *, struct piece *);	/* takes it */
void		 vb_finish(struct vbuild *, struct piece **, size_t *);

/* ast.c: free the contents of one element. */
void		 stmt_free(struct stmt *);
void		 section_free(struct section *);

#endif
