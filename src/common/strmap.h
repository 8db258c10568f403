/* A string-keyed hash map (open addressing) for names, IDs and templates. */
#ifndef BMD_STRMAP_H
#define BMD_STRMAP_H

#include <stddef.h>

struct strmap_ent {
	char		*se_key;	/* NULL: empty slot */
	void		*se_val;
	unsigned long long se_hash;	/* of se_key: not hashed again */
};

struct strmap {
	struct strmap_ent *sm_v;
	size_t		   sm_n, sm_cap;	/* cap is a power of two */
};

void	 strmap_init(struct strmap *);
void	 strmap_free(struct strmap *, void (*)(void *));
void	*strmap_get(const struct strmap *, const char *);
int	 strmap_has(const struct strmap *, const char *);
/* Insert or replace; returns the previous value or NULL. */
void	*strmap_put(struct strmap *, const char *, void *);

#endif
