/* Parsed files kept between loads (cache.c), internal to src/conf. */
#ifndef BMD_CACHE_H
#define BMD_CACHE_H

#include <sys/stat.h>

#include "ast.h"
#include "conf.h"

/* A new load: files not used by it are dropped by cache_sweep. */
void	cache_begin(struct conf_cache *);
/* The tree of path if st says the file is the one parsed, else NULL. */
const struct ast_file *cache_lookup(struct conf_cache *, const char *path,
	    const struct stat *st);
/*
 * Keep af, parsed from path whose stat was before (when opened) and
 * after (once read).  1: the cache owns af; 0: not kept, the caller
 * frees it (changed while read, or too recently to tell a next change).
 */
int	cache_store(struct conf_cache *, const char *path,
	    const struct stat *before, const struct stat *after,
	    struct ast_file *);
void	cache_sweep(struct conf_cache *);

#endif
