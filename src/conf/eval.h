/* Evaluation of parsed files into VM configurations (internal to src/conf). */
#ifndef BMD_EVAL_H
#define BMD_EVAL_H

#include <sys/types.h>

#include "ast.h"
#include "buf.h"
#include "conf.h"

struct var {
	char	*v_name;
	char	*v_value;
};

/* A small ordered set of variables; lookups search from the end. */
struct vars {
	struct var	*vs_v;
	size_t		 vs_n, vs_cap;
};

void		 vars_free(struct vars *);
const char	*vars_get(const struct vars *, const char *);
void		 vars_set(struct vars *, const char *, const char *);
void		 vars_del(struct vars *, const char *);

/* Lookup order: template arguments, then the VM, then globals. */
struct scope {
	struct vars	*sc_args;
	struct vars	*sc_local;
	struct vars	*sc_global;
	size_t		*sc_budget;	/* bytes left to expand; NULL: no limit */
};

/* No expanded value is longer (nested ${v} would grow exponentially). */
#define MAX_VALUE_LEN		65536
#define MAX_VALUE_LEN_STR	"65536"
/* The text all of one user's files may expand in one load. */
#define MAX_USER_EVAL		(64 * 1024 * 1024)
#define MAX_USER_EVAL_STR	"64 MiB"
/* The VMs all of one user's files may define. */
#define MAX_USER_VMS		1000

/*
 * Concatenate a value's pieces; -1 (with a diagnostic) on error.  The
 * value's length counts against sc_budget; once that is spent, -1 with
 * one diagnostic, then -1 without any.
 */
int	 eval_value(const struct value *, const struct scope *, struct buf *,
	    struct diags *);
int	 eval_arith(const struct arith *, const struct scope *, long long *,
	    struct diags *);

/* tmplcheck.c: warnings about a template's definition. */
void	 tmpl_check_params(const struct section *, struct diags *);

/* One parsed file with the identity it is read under. */
struct eval_file {
	struct ast_file	*ef_ast;
	uid_t		 ef_owner;	/* owner of the file */
	int		 ef_cached;	/* the tree is the cache's, not the load's */
	/*
	 * lo_discard_vms: ef_ast has no vm sections; they are parsed again
	 * from this text, one file at a time, when they are evaluated.
	 */
	char		*ef_text;
	size_t		 ef_len;
};

struct eval_in {
	struct eval_file *ei_files;	/* in load order */
	size_t		  ei_nfiles;
	const struct conf_load_opts *ei_opts;
};

struct conf	*conf_eval(const struct eval_in *, struct diags *);
/* evalone.c: may only the vm section of that name be evaluated? */
int		 eval_one_safe(const struct eval_in *, const char *);

/* validate.c */
int	 conf_validate_vm(struct vm_conf *, const struct conf_load_opts *,
	    struct diags *);
/* A new load: what files were like in the last one is forgotten. */
void	 conf_validate_begin(void);

#endif
