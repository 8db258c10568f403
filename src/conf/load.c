/* Reading configuration files: checks, includes, parsing as the owner. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "lex.h"
#include "log.h"
#include "load.h"
#include "platform.h"
#include "xmalloc.h"

/* ---- reading one file ---- */

static int
same_file(const struct stat *a, const struct stat *b)
{
	/* only the identity: the includer may have passed just dev and ino */
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* st, of the file opened for q: the regular file the includer saw? */
int
load_check_opened(const struct qfile *q, const struct stat *st,
    struct diags *ds)
{
	struct pos p = { pos_intern(q->q_path), 0, 0 };

	if (!S_ISREG(st->st_mode)) {
		diag_error(ds, &p, "not a regular file");
		return -1;
	}
	if (q->q_st.st_ino != 0 && !same_file(st, &q->q_st)) {
		diag_error(ds, &p, "file changed while it was being read; "
		    "refused");
		return -1;
	}
	return 0;
}

/*
 * Open once (never blocking on a FIFO swapped in) and check it.  Only
 * for a file bmd reads with its own rights (load_as_agent: not).  The
 * descriptor, or -1.
 */
int
load_open_file(const struct qfile *q, struct stat *st, struct diags *ds)
{
	struct pos p = { pos_intern(q->q_path), 0, 0 };
	int fd;

	if ((fd = open(q->q_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		diag_error(ds, &p, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1)
		st->st_mode = 0;
	if (load_check_opened(q, st, ds) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A file of a user's, read as her by root: through her agent (asuser.c). */
int
load_as_agent(const struct qfile *q)
{
	return q->q_reader != 0 && geteuid() == 0;
}

/* Read fd (from load_open_file) whole; the caller closes it. */
int
load_read_fd(int fd, const struct qfile *q, char **data, size_t *len,
    struct diags *ds)
{
	struct pos p = { pos_intern(q->q_path), 0, 0 };
	struct stat st;
	size_t cap = 0;
	ssize_t r = 0;

	*data = NULL;
	*len = 0;
	/* Room for the whole file at once: growing would copy it. */
	if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < MAX_FILE_SIZE) {
		cap = (size_t)st.st_size + 65536;
		*data = xmalloc(cap);
		plat_prefault(*data, (size_t)st.st_size);
	}
	for (;;) {
		if (*len + 65536 > cap) {
			cap = cap ? cap * 2 : 65536;
			*data = xreallocarray(*data, cap, 1);
		}
		if ((r = read(fd, *data + *len, cap - *len)) <= 0)
			break;
		*len += (size_t)r;
		if (*len > MAX_FILE_SIZE) {
			diag_error(ds, &p, "file is larger than %d bytes",
			    MAX_FILE_SIZE);
			goto fail;
		}
	}
	if (r == -1) {
		diag_error(ds, &p, "cannot read: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	free(*data);
	*data = NULL;
	return -1;
}

/* ---- includes ---- */

static int	follow_includes = 1;

void
conf_set_follow_includes(int on)
{
	follow_includes = on;
}

static void
add_incl(struct parsed *pd, const char *path, const struct pos *p,
    const struct stat *st)
{
	ARRAY_GROW(pd->p_incl, pd->p_nincl, pd->p_capincl);
	pd->p_incl[pd->p_nincl].i_path = xstrdup(path);
	pd->p_incl[pd->p_nincl].i_pos = *p;
	pd->p_incl[pd->p_nincl].i_st = *st;
	pd->p_nincl++;
}

void
parsed_free_incl(struct parsed *pd)
{
	size_t i;

	for (i = 0; i < pd->p_nincl; i++)
		free(pd->p_incl[i].i_path);
	free(pd->p_incl);
	pd->p_incl = NULL;
	pd->p_nincl = pd->p_capincl = 0;
}

/* One glob match, checked with the rights of the process parsing. */
static void
include_match(const char *self, const char *match, const struct pos *p,
    struct parsed *pd, struct diags *ds)
{
	struct stat lst, st;
	char real[PATH_MAX];

	if (lstat(match, &lst) == -1 || stat(match, &st) == -1)
		return;		/* vanished or dangling: nothing to read */
	if (S_ISLNK(lst.st_mode) && (lst.st_uid != st.st_uid ||
	    lst.st_gid != st.st_gid)) {
		diag_error(ds, p, ".include \"%s\": the symlink's owner differs "
		    "from its target's; refused", match);
		return;
	}
	if (realpath(match, real) == NULL)
		return;
	if (strcmp(real, self) == 0)
		return;		/* a file matching its own glob */
	if (strncmp(real, "/dev/", 5) == 0 || strncmp(real, "/proc/", 6) == 0 ||
	    strncmp(real, "/sys/", 5) == 0) {
		diag_error(ds, p, ".include \"%s\": device and kernel files "
		    "cannot be included", match);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		diag_error(ds, p, ".include \"%s\": not a regular file", match);
		return;
	}
	if (!follow_includes)
		return;
	if (access(real, R_OK) == -1) {
		diag_error(ds, p, ".include \"%s\": %s", match, strerror(errno));
		return;
	}
	add_incl(pd, real, p, &st);
}

static void
include_glob(const char *self, const char *pattern, const struct pos *p,
    struct parsed *pd, struct diags *ds)
{
	char *dir = NULL, *tmp, *full;
	glob_t g;
	size_t i;
	int rc;

	if (pattern[0] == '\0') {
		diag_error(ds, p, ".include: empty pattern");
		return;
	}
	if (pattern[0] == '/')
		full = xstrdup(pattern);
	else {
		tmp = xstrdup(self);
		dir = xstrdup(dirname(tmp));
		free(tmp);
		full = xprintf("%s/%s", dir, pattern);
	}
	rc = glob(full, 0, NULL, &g);
	if (rc == 0)
		for (i = 0; i < g.gl_pathc; i++)
			include_match(self, g.gl_pathv[i], p, pd, ds);
	else if (rc != GLOB_NOMATCH)
		diag_error(ds, p, ".include \"%s\": cannot expand the pattern",
		    pattern);
	if (rc == 0)
		globfree(&g);
	free(full);
	free(dir);
}

/*
 * Patterns may use LOCALBASE and the global variables defined earlier in
 * the same file (only a root-owned file has global variables).
 */
static void
expand_includes(const char *self, uid_t owner, struct parsed *pd,
    struct diags *ds)
{
	const struct ast_file *af = pd->p_ast;
	struct vars globals = { 0 };
	struct scope sc = { NULL, NULL, &globals, NULL };
	const struct section *s;
	struct buf b;
	size_t i, j;

	buf_init(&b);
	vars_set(&globals, "LOCALBASE", LOCALBASE);
	for (i = 0; i < af->af_nsects; i++) {
		s = &af->af_sects[i];
		if (s->sc_type == SC_GLOBAL && owner == 0) {
			for (j = 0; j < s->sc_nstmts; j++)
				if (s->sc_stmts[j].s_type == ST_VAR &&
				    s->sc_stmts[j].s_nvals > 0 &&
				    eval_value(&s->sc_stmts[j].s_vals[0], &sc,
				    &b, NULL) == 0)
					vars_set(&globals,
					    s->sc_stmts[j].s_name, buf_str(&b));
		} else if (s->sc_type == SC_INCLUDE) {
			if (eval_value(&s->sc_include, &sc, &b, ds) == 0)
				include_glob(self, buf_str(&b), &s->sc_pos, pd,
				    ds);
		}
	}
	vars_free(&globals);
	buf_free(&b);
}

/*
 * A user's files may define MAX_USER_VMS VMs in all: the vm sections of
 * one file past the first MAX_USER_VMS + 1 (that one carries the error)
 * are dropped here, before they cost the daemon any evaluation.  Their
 * nodes stay in the tree's arena (a user's file is at most
 * MAX_USER_FILE_SIZE); when bmd runs as root, users' trees come from
 * the parser child, and the child sends none of them.
 */
static void
drop_extra_vms(struct ast_file *af)
{
	size_t i, n = 0, nvm = 0;

	for (i = 0; i < af->af_nsects; i++) {
		if (af->af_sects[i].sc_type == SC_VM && ++nvm > MAX_USER_VMS + 1)
			continue;
		if (n != i)
			af->af_sects[n] = af->af_sects[i];
		n++;
	}
	af->af_nsects = n;
}

static sigjmp_buf	bus_jmp;

static void
bus_caught(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

/*
 * The global sections of a file that may be mapped (confload.c): one
 * truncated while it is read raises SIGBUS, which ends this parse with
 * an error instead of the process.  Only bmdctl parses this way.
 */
static struct ast_file *
parse_globals(const struct qfile *q, const char *data, size_t len,
    struct diags *ds)
{
	struct pos p = { pos_intern(q->q_path), 0, 0 };
	struct ast_file *volatile af = NULL;
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bus_caught;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old) == -1)
		return ast_parse_globals(q->q_path, data, len, ds);
	if (sigsetjmp(bus_jmp, 1) == 0)
		af = ast_parse_globals(q->q_path, data, len, ds);
	else
		diag_error(ds, &p, "the file changed while it was read");
	(void)sigaction(SIGBUS, &old, NULL);
	return af;
}

void
load_parse_here(const struct qfile *q, const char *data, size_t len,
    uid_t owner, struct ast_file *reuse, struct parsed *pd,
    struct diags *ds)
{
	size_t nerr = ds->ds_nerrors;

	memset(pd, 0, sizeof(*pd));
	if (q->q_globals) {
		ast_free(reuse);
		pd->p_ast = parse_globals(q, data, len, ds);
	} else
		pd->p_ast = ast_parse_reuse(reuse, q->q_path, data, len, ds);
	/* Any syntax error rejects the whole load: keep no partial tree. */
	if (pd->p_ast != NULL && ds->ds_nerrors != nerr) {
		ast_free(pd->p_ast);
		pd->p_ast = NULL;
	}
	if (pd->p_ast != NULL && owner != 0)
		drop_extra_vms(pd->p_ast);
	if (pd->p_ast != NULL)
		expand_includes(q->q_path, owner, pd, ds);
}

/*
 * The text parsed without errors before, as the same process: the same
 * tree, and no diagnostics (they were reported then).
 */
struct ast_file *
load_reparse(const struct eval_file *ef, struct ast_file *reuse)
{
	struct ast_file *af;
	struct diags ds;

	diags_init(&ds);
	af = ast_parse_reuse(reuse, ef->ef_ast->af_path, ef->ef_text,
	    ef->ef_len, &ds);
	if (ef->ef_owner != 0)
		drop_extra_vms(af);
	diags_free(&ds);
	return af;
}

/*
 * A file parsed by an earlier load and unchanged: its includes are
 * expanded again (a glob may match other files now).  pd->p_ast is af,
 * still the cache's.
 */
void
load_expand_here(const struct qfile *q, const struct ast_file *af,
    uid_t owner, struct parsed *pd, struct diags *ds)
{
	memset(pd, 0, sizeof(*pd));
	pd->p_ast = (struct ast_file *)af;
	expand_includes(q->q_path, owner, pd, ds);
}
