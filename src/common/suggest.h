/* "Did you mean": the closest of some names to a mistyped one. */
#ifndef BMD_SUGGEST_H
#define BMD_SUGGEST_H

#include <stddef.h>

/* Remember CAND if it is closer to NAME than the best so far. */
struct suggest {
	const char	*s_name;
	const char	*s_best;
	size_t		 s_dist;
};

void	 suggest_init(struct suggest *, const char *name);
void	 suggest_add(struct suggest *, const char *cand);
/* The best candidate, or NULL when none is close enough. */
const char *suggest_best(const struct suggest *);

#endif
