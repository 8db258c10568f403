/* Parsed files kept between loads, reused while the file is unchanged. */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "strmap.h"
#include "xmalloc.h"

/*
 * A file is known unchanged when all of these are: a rewrite changes
 * the times or the size, a replacement the inode (and its ctime).
 */
struct ident {
	dev_t		 id_dev;
	ino_t		 id_ino;
	off_t		 id_size;
	uid_t		 id_uid;
	mode_t		 id_mode;
	struct timespec	 id_mtime, id_ctime;
};

struct centry {
	struct ident	 ce_id;
	struct ast_file	*ce_ast;
	unsigned	 ce_gen;	/* the last load that used it */
};

struct conf_cache {
	struct strmap	 cc_files;	/* realpath -> struct centry */
	unsigned	 cc_gen;
	struct timespec	 cc_now;	/* when this load started */
	long		 cc_margin_ms;
	struct conf_cache_stats cc_stats;
};

/*
 * Timestamps are coarse (a clock tick; a second or two on some file
 * systems): two writes of the same size within one tick look alike.  A
 * file changed so recently is read again at the next load.
 */
#define CACHE_MARGIN_MS	2000

struct conf_cache *
conf_cache_new(void)
{
	struct conf_cache *cc = xcalloc(1, sizeof(*cc));

	cc->cc_margin_ms = CACHE_MARGIN_MS;
	return cc;
}

static void
entry_free(void *p)
{
	struct centry *ce = p;

	ast_free(ce->ce_ast);
	free(ce);
}

void
conf_cache_free(struct conf_cache *cc)
{
	if (cc == NULL)
		return;
	strmap_free(&cc->cc_files, entry_free);
	free(cc);
}

void
conf_cache_set_margin(struct conf_cache *cc, long ms)
{
	cc->cc_margin_ms = ms;
}

void
conf_cache_stats(const struct conf_cache *cc, struct conf_cache_stats *st)
{
	*st = cc->cc_stats;
}

void
cache_begin(struct conf_cache *cc)
{
	cc->cc_gen++;
	memset(&cc->cc_stats, 0, sizeof(cc->cc_stats));
	clock_gettime(CLOCK_REALTIME, &cc->cc_now);
}

static void
ident_of(const struct stat *st, struct ident *id)
{
	memset(id, 0, sizeof(*id));
	id->id_dev = st->st_dev;
	id->id_ino = st->st_ino;
	id->id_size = st->st_size;
	id->id_uid = st->st_uid;
	id->id_mode = st->st_mode;
	id->id_mtime = st->st_mtim;
	id->id_ctime = st->st_ctim;
}

static int
ident_eq(const struct ident *a, const struct ident *b)
{
	return a->id_dev == b->id_dev && a->id_ino == b->id_ino &&
	    a->id_size == b->id_size && a->id_uid == b->id_uid &&
	    a->id_mode == b->id_mode &&
	    a->id_mtime.tv_sec == b->id_mtime.tv_sec &&
	    a->id_mtime.tv_nsec == b->id_mtime.tv_nsec &&
	    a->id_ctime.tv_sec == b->id_ctime.tv_sec &&
	    a->id_ctime.tv_nsec == b->id_ctime.tv_nsec;
}

/* Older than the margin before this load started (future times are not). */
static int
settled(const struct conf_cache *cc, const struct timespec *t)
{
	long long age_ms;

	age_ms = ((long long)cc->cc_now.tv_sec - t->tv_sec) * 1000 +
	    (cc->cc_now.tv_nsec - t->tv_nsec) / 1000000;
	return age_ms > cc->cc_margin_ms;
}

const struct ast_file *
cache_lookup(struct conf_cache *cc, const char *path, const struct stat *st)
{
	struct centry *ce;
	struct ident id;

	/* a miss: the caller reads and parses the file */
	cc->cc_stats.cs_parsed++;
	if ((ce = strmap_get(&cc->cc_files, path)) == NULL)
		return NULL;
	ident_of(st, &id);
	if (!ident_eq(&id, &ce->ce_id))
		return NULL;	/* replaced by cache_store, or swept */
	cc->cc_stats.cs_parsed--;
	ce->ce_gen = cc->cc_gen;
	cc->cc_stats.cs_reused++;
	return ce->ce_ast;
}

int
cache_store(struct conf_cache *cc, const char *path,
    const struct stat *before, const struct stat *after, struct ast_file *af)
{
	struct centry *ce, *old;
	struct ident a, b;

	ident_of(before, &a);
	ident_of(after, &b);
	/* changed while read, or so recently that a change may not show */
	if (!ident_eq(&a, &b) || !settled(cc, &a.id_mtime) ||
	    !settled(cc, &a.id_ctime))
		return 0;
	ce = xcalloc(1, sizeof(*ce));
	ce->ce_id = a;
	ce->ce_ast = af;
	ce->ce_gen = cc->cc_gen;
	if ((old = strmap_put(&cc->cc_files, path, ce)) != NULL)
		entry_free(old);
	return 1;
}

/* Files no load reached this time (removed, no longer included) go. */
void
cache_sweep(struct conf_cache *cc)
{
	struct strmap keep;
	struct strmap_ent *se;
	struct centry *ce;
	size_t i;

	memset(&keep, 0, sizeof(keep));
	for (i = 0; i < cc->cc_files.sm_cap; i++) {
		se = &cc->cc_files.sm_v[i];
		if (se->se_key == NULL)
			continue;
		ce = se->se_val;
		if (ce->ce_gen == cc->cc_gen)
			strmap_put(&keep, se->se_key, ce);
		else
			entry_free(ce);
	}
	strmap_free(&cc->cc_files, NULL);
	cc->cc_files = keep;
}
