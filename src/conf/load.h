/* Reading configuration files: checks, includes, parsing as the owner. */
#ifndef BMD_LOAD_H
#define BMD_LOAD_H

#include <sys/stat.h>

#include "ast.h"
#include "eval.h"

#define MAX_INCLUDE_DEPTH	16
#define MAX_CONF_FILES		100000
#define MAX_FILE_SIZE		(64 * 1024 * 1024)
/* Bounds of the files of each user other than root, per load. */
#define MAX_USER_FILE_SIZE	(1024 * 1024)
#define MAX_USER_FILES		256
#define MAX_USER_BYTES		(4 * 1024 * 1024)

/* A file waiting in the FIFO of files to read. */
struct qfile {
	char		*q_path;	/* realpath */
	uid_t		 q_reader;	/* who asked for it (the includer) */
	int		 q_depth;
	struct stat	 q_st;		/* from the includer's checks */
	int		 q_globals;	/* only its global sections matter */
};

/* An include found while parsing a file, already checked. */
struct incl {
	char		*i_path;	/* realpath */
	struct pos	 i_pos;
	struct stat	 i_st;
};

struct parsed {
	struct ast_file	*p_ast;
	struct incl	*p_incl;
	size_t		 p_nincl, p_capincl;
};

/*
 * parse one file as the current process, with its includes expanded;
 * reuse: a tree no longer wanted, its memory for this one (or NULL)
 */
void	load_parse_here(const struct qfile *, const char *data, size_t len,
	    uid_t owner, struct ast_file *reuse, struct parsed *,
	    struct diags *);
/* only expand the includes of a file parsed before (cache.c) */
void	load_expand_here(const struct qfile *, const struct ast_file *,
	    uid_t owner, struct parsed *, struct diags *);
int	load_open_file(const struct qfile *, struct stat *, struct diags *);
int	load_check_opened(const struct qfile *, const struct stat *,
	    struct diags *);
int	load_as_agent(const struct qfile *);
int	load_read_fd(int, const struct qfile *, char **, size_t *,
	    struct diags *);
/*
 * The same in a child process running as owner (privsep.c); with a tree
 * parsed before (cached != NULL) the child only expands its includes.
 */
int	load_parse_as(uid_t owner, const struct qfile *, const char *data,
	    size_t len, const struct ast_file *cached, struct parsed *,
	    struct diags *);
void	parsed_free_incl(struct parsed *);
/*
 * The whole tree of a file kept as text (eval_file ef_text), parsed
 * again; into reuse, an earlier one, if not NULL.
 */
struct ast_file *load_reparse(const struct eval_file *, struct ast_file *);
/*
 * A user's paths, reached with her rights by an agent process, never by
 * the calling thread (asuser.c); when bmd is not root or uid is root,
 * directly.  -1 with errno; conf_as_strerror tells ETIMEDOUT (the agent
 * did not answer) and EDEADLK (an earlier one still waits) apart.
 */
int	conf_stat_as(uid_t uid, gid_t group, const char *path, struct stat *);
int	conf_open_as(uid_t uid, const char *path, struct stat *);
int	conf_read_as(uid_t uid, char **data, size_t *len, struct stat *after);
void	conf_agents_end(void);
const char *conf_as_strerror(int err);
/* why nothing is read or parsed as uid now (held.c), or NULL */
const char *conf_user_held(uid_t uid);
#define STALLED_WHY	"a process reading as this user still waits in a " \
			"file system that does not answer"
/* after helper_reap(pid, 1) of a process of uid's that did not answer */
void	conf_user_gave_up(uid_t uid, pid_t pid);
/* a process of uid's answered in ms; the load's total may hold uid */
void	conf_user_took(uid_t uid, long ms);
void	conf_user_load_end(void);

#endif
