/* Allocation helpers that never return NULL: they call fatal() instead. */
#ifndef BMD_XMALLOC_H
#define BMD_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*xprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Grow an array (ptr, count, capacity) to hold one more element. */
#define ARRAY_GROW(p, n, cap) do {					\
	if ((n) >= (cap)) {						\
		(cap) = (cap) ? (cap) * 2 : 4;				\
		(p) = xreallocarray((p), (cap), sizeof(*(p)));		\
	}								\
} while (0)

#endif
