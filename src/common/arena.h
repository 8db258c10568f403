/* Bump allocation in chunks, all freed at once (a parsed file's tree). */
#ifndef BMD_ARENA_H
#define BMD_ARENA_H

#include <stddef.h>

struct arena_chunk;

/*
 * A tree of a large file is millions of small nodes: one malloc each
 * cost a fifth of a load's CPU and as much again in per-allocation
 * overhead.  Nothing is freed alone; arena_free frees everything.
 */
struct arena {
	struct arena_chunk	*ar_chunks;	/* newest first */
	char			*ar_next, *ar_end;	/* room in the newest */
	size_t			 ar_grow;	/* size of the next chunk */
	size_t			 ar_size;	/* bytes of all chunks, spare too */
	struct arena_chunk	*ar_spare;	/* kept by arena_reset */
};

/* hint: about the bytes expected (0: unknown); the first chunk's size. */
void	 arena_init(struct arena *, size_t hint);
void	 arena_free(struct arena *);
/*
 * Forget everything allocated but keep the chunks for what comes next:
 * freeing and allocating again the memory of one file after another
 * made malloc give it back to the system and fault it in again.
 */
void	 arena_reset(struct arena *);
/* Aligned for any node of a tree (pointers, long long); not zeroed. */
void	*arena_alloc(struct arena *, size_t);
void	*arena_calloc(struct arena *, size_t n, size_t size);
void	*arena_memdup(struct arena *, const void *, size_t);	/* 0: NULL */
/* Give back p (of size bytes) if nothing was allocated after it. */
void	 arena_pop(struct arena *, void *p, size_t size);
char	*arena_strdup(struct arena *, const char *);
char	*arena_strndup(struct arena *, const char *, size_t);	/* as strndup */

#endif
