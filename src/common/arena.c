/* Bump allocation in chunks that double up to a bound, freed together. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "platform.h"
#include "xmalloc.h"

/*
 * The first chunk is sized from a hint, and each next one is half of
 * what the arena holds, up to ARENA_MAX: the room left unused at the
 * end is at most a third of a small tree (the many one-VM files of a
 * daemon's cache), and a small part of a large one.
 */
#define ARENA_MIN	256
#define ARENA_MAX	(64 * 1024)
#define ARENA_ALIGN	8

struct arena_chunk {
	struct arena_chunk	*ac_next;
	size_t			 ac_size;
	/* the bytes follow, aligned as this header is */
};

void
arena_init(struct arena *ar, size_t hint)
{
	memset(ar, 0, sizeof(*ar));
	ar->ar_grow = hint < ARENA_MIN ? ARENA_MIN :
	    hint > ARENA_MAX ? ARENA_MAX : hint;
}

static void
chunks_free(struct arena_chunk *c)
{
	struct arena_chunk *next;

	for (; c != NULL; c = next) {
		next = c->ac_next;
		free(c);
	}
}

void
arena_free(struct arena *ar)
{
	chunks_free(ar->ar_chunks);
	chunks_free(ar->ar_spare);
	memset(ar, 0, sizeof(*ar));
}

void
arena_reset(struct arena *ar)
{
	struct arena_chunk *c;

	if ((c = ar->ar_chunks) != NULL) {
		while (c->ac_next != NULL)
			c = c->ac_next;
		c->ac_next = ar->ar_spare;
		ar->ar_spare = ar->ar_chunks;
	}
	ar->ar_chunks = NULL;
	ar->ar_next = ar->ar_end = NULL;
}

static struct arena_chunk *
arena_unlink(struct arena_chunk **cp)
{
	struct arena_chunk *c = *cp;

	*cp = c->ac_next;
	return c;
}

/* The smallest spare chunk with room for size bytes, off the list. */
static struct arena_chunk *
arena_spare(struct arena *ar, size_t size)
{
	struct arena_chunk **cp, **best = NULL;

	for (cp = &ar->ar_spare; *cp != NULL; cp = &(*cp)->ac_next)
		if ((*cp)->ac_size >= size + ARENA_ALIGN &&
		    (best == NULL || (*cp)->ac_size < (*best)->ac_size))
			best = cp;
	return best != NULL ? arena_unlink(best) : NULL;
}

/* A spare chunk, or a new one, with room for size bytes; not linked. */
static struct arena_chunk *
arena_chunk(struct arena *ar, size_t size)
{
	struct arena_chunk *c;
	size_t n = ar->ar_grow;

	if (size > SIZE_MAX - sizeof(*c) - ARENA_ALIGN)
		fatalx("arena: allocation too large");
	if ((c = arena_spare(ar, size)) != NULL)
		return c;
	if (n < ARENA_MIN)		/* a zeroed struct arena */
		n = ARENA_MIN;
	if (n < size + ARENA_ALIGN)
		n = size + ARENA_ALIGN;
	c = xmalloc(sizeof(*c) + n);
	/* a large tree's chunks: one call maps the pages, not a fault each */
	if (n >= 16384)
		plat_prefault(c + 1, n);
	c->ac_size = n;
	ar->ar_size += n;
	ar->ar_grow = ar->ar_size / 2 < ARENA_MIN ? ARENA_MIN :
	    ar->ar_size / 2 > ARENA_MAX ? ARENA_MAX : ar->ar_size / 2;
	return c;
}

static void *
arena_bytes(struct arena *ar, size_t size, size_t align)
{
	struct arena_chunk *c;
	uintptr_t at;

	at = ((uintptr_t)ar->ar_next + align - 1) & ~(uintptr_t)(align - 1);
	if (ar->ar_next != NULL && at <= (uintptr_t)ar->ar_end &&
	    size <= (uintptr_t)ar->ar_end - at) {
		ar->ar_next = (char *)at + size;
		return (char *)at;
	}
	c = arena_chunk(ar, size);
	/*
	 * A large allocation gets a chunk of its own behind the newest,
	 * whose room is left for what follows.  A chunk's bytes are
	 * aligned as its header is.
	 */
	if (ar->ar_chunks != NULL && size > ARENA_MAX / 4) {
		c->ac_next = ar->ar_chunks->ac_next;
		ar->ar_chunks->ac_next = c;
		return c + 1;
	}
	c->ac_next = ar->ar_chunks;
	ar->ar_chunks = c;
	ar->ar_next = (char *)(c + 1) + size;
	ar->ar_end = (char *)(c + 1) + c->ac_size;
	return c + 1;
}

void *
arena_alloc(struct arena *ar, size_t size)
{
	return arena_bytes(ar, size, ARENA_ALIGN);
}

void *
arena_calloc(struct arena *ar, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		fatalx("arena: allocation too large");
	p = arena_bytes(ar, n * size, ARENA_ALIGN);
	memset(p, 0, n * size);
	return p;
}

/* NULL for none: an empty array of a tree is NULL, as it always was. */
void *
arena_memdup(struct arena *ar, const void *src, size_t size)
{
	void *p;

	if (size == 0)
		return NULL;
	p = arena_bytes(ar, size, ARENA_ALIGN);
	memcpy(p, src, size);
	return p;
}

void
arena_pop(struct arena *ar, void *p, size_t size)
{
	if (p != NULL && ar->ar_chunks != NULL &&
	    (char *)p >= (char *)(ar->ar_chunks + 1) &&
	    (char *)p + size == ar->ar_next)
		ar->ar_next = p;
}

/* Strings need no alignment: they pack between the nodes. */
char *
arena_strndup(struct arena *ar, const char *s, size_t len)
{
	char *p;

	len = strnlen(s, len);
	if (len == SIZE_MAX)
		fatalx("arena: allocation too large");
	p = arena_bytes(ar, len + 1, 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *ar, const char *s)
{
	return arena_strndup(ar, s, strlen(s));
}
