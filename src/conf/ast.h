/* The syntax tree of one bmd.conf file, produced by parse.c, read by eval.c. */
#ifndef BMD_AST_H
#define BMD_AST_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"

/* $(( ... )) expressions, parsed when the file is parsed. */
enum arith_op {
	AR_NUM,		/* a_num */
	AR_VAR,		/* a_var: the variable name, without $ or braces */
	AR_NEG,		/* -a_l */
	AR_ADD, AR_SUB, AR_MUL, AR_DIV, AR_MOD,	/* a_l OP a_r */
	AR_BAD		/* a_var: why the literal is invalid (08, overflow) */
};

struct arith {
	enum arith_op	 a_op;
	union {
		long long	 a_num;
		char		*a_var;
	};
	struct arith	*a_l, *a_r;
	struct pos	 a_pos;
};

/* A value is the concatenation of its pieces. */
enum piece_type {
	PC_TEXT,	/* p_text: literal bytes, escapes already decoded */
	PC_VAR,		/* p_text: variable name ($x or ${x}) */
	PC_ARITH	/* p_arith */
};

struct piece {
	enum piece_type	 p_type;
	union {
		char		*p_text;
		struct arith	*p_arith;
	};
	struct pos	 p_pos;
};

/*
 * One value: adjacent words and strings are concatenated into one value
 * ("a b" unquoted gives "ab").  npieces == 0 is the empty value (x = ;).
 */
struct value {
	struct piece	*v_pieces;
	size_t		 v_npieces;
	struct pos	 v_pos;
};

struct apply_target {
	struct value	 t_name;	/* may contain variables */
	struct value	*t_args;	/* an empty value means "omitted" */
	size_t		 t_nargs;
	struct pos	 t_pos;
};

enum stmt_type {
	ST_KEY,		/* s_name = s_vals  (s_append for +=) */
	ST_VAR,		/* $s_name = s_vals */
	ST_APPLY	/* .apply s_targets */
};

struct stmt {
	enum stmt_type	 s_type;
	int		 s_append;	/* += */
	char		*s_name;	/* key name as written, or variable name */
	struct value	*s_vals;
	size_t		 s_nvals;
	struct apply_target *s_targets;
	size_t		 s_ntargets;
	struct pos	 s_pos;		/* position of the key / $var / .apply */
	struct pos	 s_valpos;	/* position of the first value */
};

struct argdef {
	char		*ad_name;
	struct value	*ad_default;	/* NULL: no default */
	struct pos	 ad_pos;
};

enum sect_type { SC_GLOBAL, SC_TEMPLATE, SC_VM, SC_INCLUDE };

struct section {
	enum sect_type	 sc_type;
	char		*sc_name;	/* vm and template; NULL otherwise */
	struct argdef	*sc_args;	/* template arguments */
	size_t		 sc_nargs;
	struct stmt	*sc_stmts;
	size_t		 sc_nstmts;
	struct value	 sc_include;	/* SC_INCLUDE: the pattern */
	struct pos	 sc_pos;	/* position of the keyword */
};

/*
 * A parsed file: its top-level items in file order.  Every node, array
 * and string of the tree is allocated from af_arena: no part of a tree
 * is freed alone, ast_free frees it all.
 */
struct ast_file {
	const char	*af_path;	/* interned */
	struct section	*af_sects;
	size_t		 af_nsects;
	struct arena	 af_arena;
};

/*
 * Parse a buffer (need not be NUL-terminated).  Every lexical and syntax
 * error is added to diags as "FILE:LINE:COL: message"; parsing resumes
 * after an error so that one run reports all of them.  Returns the tree
 * (possibly partial) or NULL; callers must treat any error as fatal for
 * the whole load (see bmd.conf(5)).
 */
struct ast_file	*ast_parse_buffer(const char *path, const char *data,
		    size_t len, struct diags *);
/*
 * The same with only the global sections and .include lines in the tree:
 * vm and template sections are passed over, their errors not looked for
 * (only one that leaves a section open at the end of the file).
 */
struct ast_file	*ast_parse_globals(const char *path, const char *data,
		    size_t len, struct diags *);
struct ast_file	*ast_parse_file(const char *path, struct diags *);
/*
 * ast_parse_buffer into old, a tree no longer wanted (NULL: none), whose
 * memory is reused: for parsing one file after another.
 */
struct ast_file	*ast_parse_reuse(struct ast_file *old, const char *path,
		    const char *data, size_t len, struct diags *);
void		 ast_free(struct ast_file *);

/* A copy of the tree without its vm sections; NULL if it has none. */
struct ast_file	*ast_without_vms(const struct ast_file *);

/* Serialisation, used to carry a tree from an unprivileged parser child. */
struct json_t;
char		*ast_to_json(const struct ast_file *);
struct ast_file	*ast_from_json(const char *json, size_t len);

#endif
