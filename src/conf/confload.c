/* conf_load(): the FIFO of files to read, then evaluation and validation. */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "keys.h"
#include "load.h"
#include "platform.h"
#include "strmap.h"
#include "xmalloc.h"

/* What one user's files have used of the bounds so far. */
struct usage {
	uid_t		 u_uid;
	size_t		 u_files;
	size_t		 u_bytes;
};

struct loader {
	struct qfile	 *l_q;
	size_t		  l_nq, l_capq;
	struct strmap	  l_seen;	/* realpath -> where it was included */
	struct eval_file *l_files;
	size_t		  l_nfiles, l_capfiles;
	char		**l_bad;		/* files that could not be read */
	size_t		  l_nbad, l_capbad;
	size_t		  l_usererrs;	/* errors of users' rejected files */
	struct strmap	  l_foreign;	/* files charged to another user */
	struct usage	 *l_use;
	size_t		  l_nuse, l_capuse;
	int		  l_fatal;
	struct conf_cache *l_cache;	/* NULL: parse every file */
	int		  l_globals;	/* lo_globals_only */
	int		  l_discard;	/* lo_discard_vms */
	struct ast_file	 *l_spare;	/* a tree stripped: the next parse's */
};

/* A file as found by load_queue: its text, or its tree from the cache. */
struct loadfile {
	char			*lf_data;
	size_t			 lf_len;
	int			 lf_mapped;	/* plat_map_file, not read */
	const struct ast_file	*lf_cached;
	struct stat		 lf_st;		/* when opened */
	struct stat		 lf_after;	/* once read */
};

static void
queue(struct loader *l, const char *path, uid_t reader, int depth,
    const struct stat *st)
{
	ARRAY_GROW(l->l_q, l->l_nq, l->l_capq);
	memset(&l->l_q[l->l_nq], 0, sizeof(l->l_q[0]));
	l->l_q[l->l_nq].q_path = xstrdup(path);
	l->l_q[l->l_nq].q_reader = reader;
	l->l_q[l->l_nq].q_depth = depth;
	l->l_q[l->l_nq].q_globals = l->l_globals;
	if (st != NULL)
		l->l_q[l->l_nq].q_st = *st;
	l->l_nq++;
}

static void
queue_includes(struct loader *l, const struct qfile *q, uid_t owner,
    struct parsed *pd, struct diags *ds)
{
	const struct incl *in;
	const char *from;
	size_t i;

	for (i = 0; i < pd->p_nincl; i++) {
		in = &pd->p_incl[i];
		if ((from = strmap_get(&l->l_seen, in->i_path)) != NULL) {
			diag_error(ds, &in->i_pos, ".include \"%s\": already "
			    "included from %s", in->i_path, from);
			continue;
		}
		if (q->q_depth + 1 > MAX_INCLUDE_DEPTH ||
		    l->l_nq >= MAX_CONF_FILES) {
			diag_error(ds, &in->i_pos, ".include \"%s\": includes "
			    "nested too deeply or too many files", in->i_path);
			continue;
		}
		strmap_put(&l->l_seen, in->i_path, xprintf("%s:%d",
		    in->i_pos.file, in->i_pos.line));
		queue(l, in->i_path, owner, q->q_depth + 1, &in->i_st);
	}
}

static void
add_file(struct loader *l, struct ast_file *af, uid_t owner, int cached)
{
	ARRAY_GROW(l->l_files, l->l_nfiles, l->l_capfiles);
	memset(&l->l_files[l->l_nfiles], 0, sizeof(l->l_files[0]));
	l->l_files[l->l_nfiles].ef_ast = af;
	l->l_files[l->l_nfiles].ef_owner = owner;
	l->l_files[l->l_nfiles].ef_cached = cached;
	l->l_nfiles++;
}

/* A tree just parsed goes to the cache, if there is one and it may. */
static int
keep_tree(struct loader *l, const struct qfile *q, const struct loadfile *lf,
    struct ast_file *af)
{
	if (lf->lf_cached != NULL)
		return 1;
	if (l->l_cache == NULL || lf->lf_st.st_ino == 0)
		return 0;
	return cache_store(l->l_cache, q->q_path, &lf->lf_st, &lf->lf_after,
	    af);
}

/*
 * bmd -n: the vm sections of a file parsed here are parsed again when
 * they are evaluated, one file at a time (load_reparse), so that the
 * trees of all the files' VMs never take memory at once; the tree kept
 * until then has only the global and template sections and includes.
 * Trees from the parser child are kept whole: its files are not parsed
 * by this process.
 */
static void
strip_vms(struct loader *l, const struct loadfile *lf)
{
	struct eval_file *ef = &l->l_files[l->l_nfiles - 1];
	struct ast_file *rest;

	if ((rest = ast_without_vms(ef->ef_ast)) == NULL)
		return;
	ast_free(l->l_spare);
	l->l_spare = ef->ef_ast;
	ef->ef_ast = rest;
	ef->ef_text = xmalloc(lf->lf_len + 1);
	memcpy(ef->ef_text, lf->lf_data, lf->lf_len);
	ef->ef_len = lf->lf_len;
}

static void
add_bad(struct loader *l, const char *path)
{
	ARRAY_GROW(l->l_bad, l->l_nbad, l->l_capbad);
	l->l_bad[l->l_nbad++] = xstrdup(path);
}

/*
 * Parse one queued file (as its owner when bmd is root) and queue more.
 * A file that does not parse rejects the whole load only when it is
 * root's text: the main file, or a root-owned file that root's files
 * included.  Any other file is left out alone (its VMs, templates and
 * includes), as if it could not be read, so that no user stops root.
 */
static void
load_one(struct loader *l, size_t qi, const struct loadfile *lf, uid_t owner,
    struct diags *ds)
{
	struct parsed pd;
	struct qfile q = l->l_q[qi];
	size_t nerr = ds->ds_nerrors;
	int child = geteuid() == 0 && owner != 0, kept;

	if (child)
		load_parse_as(owner, &q, lf->lf_data, lf->lf_len,
		    lf->lf_cached, &pd, ds);
	else if (lf->lf_cached != NULL)
		load_expand_here(&q, lf->lf_cached, owner, &pd, ds);
	else {
		load_parse_here(&q, lf->lf_data, lf->lf_len, owner,
		    l->l_spare, &pd, ds);
		l->l_spare = NULL;
	}
	if (pd.p_ast == NULL) {
		if (qi == 0 || (owner == 0 && q.q_reader == 0))
			l->l_fatal = 1;
		else {
			l->l_usererrs += ds->ds_nerrors - nerr;
			add_bad(l, q.q_path);
		}
		parsed_free_incl(&pd);
		return;
	}
	kept = keep_tree(l, &q, lf, pd.p_ast);
	add_file(l, pd.p_ast, owner, kept);
	if (l->l_discard && !kept && !child)
		strip_vms(l, lf);
	queue_includes(l, &q, owner, &pd, ds);
	parsed_free_incl(&pd);
}

static struct usage *
usage_of(struct loader *l, uid_t uid)
{
	size_t i;

	for (i = 0; i < l->l_nuse; i++)
		if (l->l_use[i].u_uid == uid)
			return &l->l_use[i];
	ARRAY_GROW(l->l_use, l->l_nuse, l->l_capuse);
	memset(&l->l_use[i], 0, sizeof(l->l_use[i]));
	l->l_use[i].u_uid = uid;
	l->l_nuse++;
	return &l->l_use[i];
}

/*
 * A user's files are bounded in size and number (charged to the file's
 * owner, or for a root-owned file to the user who included it), so that
 * no user makes a load slow for everyone.  A file past a bound is left
 * out whole.  0: within the bounds.
 */
static int
check_bounds(struct loader *l, const struct qfile *q, const struct stat *st,
    size_t len, struct diags *ds)
{
	struct pos p = { pos_intern(q->q_path), 0, 0 };
	uid_t uid = st->st_uid != 0 ? st->st_uid : q->q_reader;
	struct usage *u;

	if (uid == 0)
		return 0;
	u = usage_of(l, uid);
	if (len > MAX_USER_FILE_SIZE)
		diag_error(ds, &p, "file is larger than %d bytes, the limit "
		    "for a file not owned by root; not loaded",
		    MAX_USER_FILE_SIZE);
	else if (u->u_files + 1 > MAX_USER_FILES)
		diag_error(ds, &p, "more than %d files of uid %lu; not loaded",
		    MAX_USER_FILES, (unsigned long)uid);
	else if (u->u_bytes + len > MAX_USER_BYTES)
		diag_error(ds, &p, "the files of uid %lu are larger than %d "
		    "bytes in total; not loaded", (unsigned long)uid,
		    MAX_USER_BYTES);
	else {
		u->u_files++;
		u->u_bytes += len;
		return 0;
	}
	l->l_usererrs++;
	add_bad(l, q->q_path);
	return -1;
}

/*
 * A file charged to a user other than root and other than the one who
 * runs the load: its errors are that user's, not the caller's (bmd -n
 * and bmdctl reload fail only for the caller's own and root's files).
 */
static void
mark_foreign(struct loader *l, const struct qfile *q, const struct stat *st)
{
	uid_t uid = st->st_uid != 0 ? st->st_uid : q->q_reader;

	if (uid != 0 && uid != geteuid())
		strmap_put(&l->l_foreign, q->q_path, (void *)1);
}

/* The errors since diagnostic `from' that stand in foreign files. */
static size_t
foreign_errors(const struct loader *l, const struct diags *ds, size_t from)
{
	size_t i, n = 0;

	for (i = from; i < ds->ds_n; i++)
		if (ds->ds_v[i].d_level == DIAG_ERROR &&
		    ds->ds_v[i].d_file != NULL &&
		    strmap_has(&l->l_foreign, ds->ds_v[i].d_file))
			n++;
	return n;
}

/*
 * bmdctl finding its socket reads every file but keeps little: a large
 * one is mapped rather than copied (load_parse_here guards the parse).
 */
static int
map_globals(int fd, const struct qfile *q, struct loadfile *lf)
{
	size_t len = (size_t)lf->lf_st.st_size;

	if (!q->q_globals || !S_ISREG(lf->lf_st.st_mode) || len < 65536 ||
	    lf->lf_st.st_size > MAX_FILE_SIZE ||
	    (lf->lf_data = plat_map_file(fd, len)) == NULL)
		return 0;
	lf->lf_mapped = 1;
	lf->lf_len = len;
	if (fstat(fd, &lf->lf_after) == -1)
		lf->lf_st.st_ino = 0;
	return 1;
}

static void
release_file(struct loadfile *lf)
{
	if (lf->lf_mapped)
		plat_unmap_file(lf->lf_data, lf->lf_len);
	else
		free(lf->lf_data);
	lf->lf_data = NULL;
}

/* An unchanged file of an earlier load: its tree is reused, not read. */
static int
unchanged(struct loader *l, const struct qfile *q, struct loadfile *lf)
{
	if (l->l_cache == NULL || (lf->lf_cached = cache_lookup(l->l_cache,
	    q->q_path, &lf->lf_st)) == NULL)
		return 0;
	lf->lf_len = (size_t)lf->lf_st.st_size;
	return 1;
}

/* find_file for a user's file read by root: her agent reads it. */
static int
find_file_as(struct loader *l, const struct qfile *q, struct loadfile *lf,
    struct diags *ds)
{
	struct pos p = { pos_intern(q->q_path), 0, 0 };

	if (conf_open_as(q->q_reader, q->q_path, &lf->lf_st) == -1) {
		diag_error(ds, &p, "cannot open: %s", conf_as_strerror(errno));
		return -1;
	}
	if (load_check_opened(q, &lf->lf_st, ds) == -1)
		return -1;
	if (unchanged(l, q, lf))
		return 0;
	if (conf_read_as(q->q_reader, &lf->lf_data, &lf->lf_len,
	    &lf->lf_after) == -1) {
		if (errno == EFBIG)
			diag_error(ds, &p, "file is larger than %d bytes",
			    MAX_FILE_SIZE);
		else
			diag_error(ds, &p, "cannot read: %s",
			    conf_as_strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Open the file as its reader; an unchanged file of an earlier load is
 * not read again.  -1 (with a diagnostic): it cannot be read.
 */
static int
find_file(struct loader *l, const struct qfile *q, struct loadfile *lf,
    struct diags *ds)
{
	int fd, rc = 0;

	memset(lf, 0, sizeof(*lf));
	if (load_as_agent(q))
		return find_file_as(l, q, lf, ds);
	if ((fd = load_open_file(q, &lf->lf_st, ds)) == -1)
		return -1;
	if (!unchanged(l, q, lf) && !map_globals(fd, q, lf) &&
	    (rc = load_read_fd(fd, q, &lf->lf_data, &lf->lf_len, ds)) == 0 &&
	    fstat(fd, &lf->lf_after) == -1)
		lf->lf_st.st_ino = 0;	/* cannot tell: do not keep it */
	close(fd);
	return rc;
}

static void
load_queue(struct loader *l, size_t from, struct diags *ds)
{
	struct loadfile lf;
	size_t i;

	for (i = from; i < l->l_nq; i++) {
		if (find_file(l, &l->l_q[i], &lf, ds) == -1) {
			if (i == 0)
				l->l_fatal = 1;
			add_bad(l, l->l_q[i].q_path);
			continue;
		}
		mark_foreign(l, &l->l_q[i], &lf.lf_st);
		if (i > 0 && check_bounds(l, &l->l_q[i], &lf.lf_st, lf.lf_len,
		    ds) == -1) {
			release_file(&lf);
			continue;
		}
		load_one(l, i, &lf, lf.lf_st.st_uid, ds);
		release_file(&lf);
	}
}

static struct conf *
load_finish(struct loader *l, const struct conf_load_opts *opts,
    struct diags *ds)
{
	struct eval_in in = { l->l_files, l->l_nfiles, opts };
	struct conf *c = NULL;
	size_t i, before = ds->ds_n;

	ast_free(l->l_spare);
	if (!l->l_fatal)
		c = conf_eval(&in, ds);
	conf_agents_end();
	l->l_usererrs += foreign_errors(l, ds, before);
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		global_conf_init(&c->c_global);
	}
	if (l->l_fatal)
		c->c_fatal = 1;
	c->c_badfiles = l->l_bad;
	c->c_nbadfiles = l->l_nbad;
	c->c_nusererrors = l->l_usererrs;
	if (c->c_fatal) {
		for (i = 0; i < c->c_nvms; i++)
			vm_conf_free(c->c_vms[i]);
		c->c_nvms = 0;
		c->c_naccepted = 0;
	}
	for (i = 0; i < l->l_nfiles; i++) {
		if (!l->l_files[i].ef_cached)
			ast_free(l->l_files[i].ef_ast);
		free(l->l_files[i].ef_text);
	}
	if (l->l_cache != NULL)
		cache_sweep(l->l_cache);
	for (i = 0; i < l->l_nq; i++)
		free(l->l_q[i].q_path);
	free(l->l_files);
	free(l->l_q);
	free(l->l_use);
	strmap_free(&l->l_seen, free);
	strmap_free(&l->l_foreign, NULL);
	return c;
}

struct conf *
conf_load(const struct conf_load_opts *opts, struct diags *ds)
{
	struct loader l;
	char real[PATH_MAX];
	struct pos p = { pos_intern(opts->lo_path), 0, 0 };

	struct stat lst, st;

	memset(&l, 0, sizeof(l));
	/* A tree without its VMs must not be reused by a full load. */
	l.l_globals = opts->lo_globals_only;
	l.l_discard = opts->lo_discard_vms;
	if (!l.l_globals && (l.l_cache = opts->lo_cache) != NULL)
		cache_begin(l.l_cache);
	/* As for includes: a symlink must belong to its target's owner. */
	if (lstat(opts->lo_path, &lst) == 0 && S_ISLNK(lst.st_mode) &&
	    stat(opts->lo_path, &st) == 0 && (lst.st_uid != st.st_uid ||
	    lst.st_gid != st.st_gid)) {
		diag_error(ds, &p, "the symlink's owner differs from its "
		    "target's; refused");
		l.l_fatal = 1;
		return load_finish(&l, opts, ds);
	}
	if (realpath(opts->lo_path, real) == NULL) {
		diag_error(ds, &p, "cannot read the configuration: %s",
		    strerror(errno));
		l.l_fatal = 1;
		return load_finish(&l, opts, ds);
	}
	strmap_put(&l.l_seen, real, xstrdup("the command line"));
	queue(&l, real, geteuid(), 0, NULL);
	load_queue(&l, 0, ds);
	return load_finish(&l, opts, ds);
}

/* For tests and the fuzzer: the main file's text comes from memory. */
struct conf *
conf_load_buffer(const char *path, const char *data, size_t len,
    const struct conf_load_opts *opts, struct diags *ds)
{
	struct loader l;
	struct loadfile lf;
	char real[PATH_MAX];

	memset(&l, 0, sizeof(l));
	memset(&lf, 0, sizeof(lf));
	l.l_globals = opts->lo_globals_only;
	l.l_discard = opts->lo_discard_vms;
	lf.lf_data = (char *)data;
	lf.lf_len = len;
	if (realpath(path, real) == NULL)
		snprintf(real, sizeof(real), "%s", path);
	strmap_put(&l.l_seen, real, xstrdup("the command line"));
	queue(&l, real, geteuid(), 0, NULL);
	load_one(&l, 0, &lf, geteuid(), ds);
	load_queue(&l, 1, ds);
	return load_finish(&l, opts, ds);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->c_nvms; i++)
		vm_conf_free(c->c_vms[i]);
	free(c->c_vms);
	for (i = 0; i < c->c_nrejected; i++)
		free(c->c_rejected[i]);
	free(c->c_rejected);
	if (c->c_rejidx != NULL)
		strmap_free(c->c_rejidx, NULL);
	free(c->c_rejidx);
	for (i = 0; i < c->c_nbadfiles; i++)
		free(c->c_badfiles[i]);
	free(c->c_badfiles);
	global_conf_clear(&c->c_global);
	free(c);
}

void
conf_add_rejected(struct conf *c, const char *name)
{
	if (conf_rejected(c, name))
		return;
	if (c->c_rejidx == NULL)
		c->c_rejidx = xcalloc(1, sizeof(struct strmap));
	strmap_put(c->c_rejidx, name, (void *)1);
	c->c_rejected = xreallocarray(c->c_rejected, c->c_nrejected + 1,
	    sizeof(*c->c_rejected));
	c->c_rejected[c->c_nrejected++] = xstrdup(name);
}

int
conf_rejected(const struct conf *c, const char *name)
{
	return c->c_rejidx != NULL && strmap_has(c->c_rejidx, name);
}

int
conf_file_failed(const struct conf *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->c_nbadfiles; i++)
		if (strcmp(c->c_badfiles[i], path) == 0)
			return 1;
	return 0;
}

struct vm_conf *
conf_find_vm(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->c_nvms; i++)
		if (strcmp(c->c_vms[i]->vc_name, name) == 0)
			return c->c_vms[i];
	return NULL;
}
