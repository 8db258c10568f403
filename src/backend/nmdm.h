/* Pure nmdm(4) numbering: automatic com device numbers and A/B names. */
#ifndef BMD_NMDM_H
#define BMD_NMDM_H

#include <stddef.h>

/*
 * The next automatic nmdm number: 1 + max(used ∪ {offset - 1}), so the
 * first number handed out is the offset and numbers only grow (spec
 * 4.7).  An offset below 0 counts as 0.  Returns -1 if the result does
 * not fit an int.
 */
int	 nmdm_next(long long offset, const int *used, size_t nused);

/*
 * The number of an nmdm device named anywhere in s (the digits right
 * after "nmdm", as in "/dev/nmdm12B"), or -1 when s names none.
 */
int	 nmdm_number(const char *s);

/* "/dev/nmdmNB", the side bhyve opens. */
char	*nmdm_bhyve_path(int n);
/* "/dev/nmdmNA", the side users connect to. */
char	*nmdm_user_path(int n);

/*
 * What a user sees for an assigned com device: an nmdm path (at least
 * 11 characters, ending in A or B) with its side swapped, anything else
 * verbatim.  The result is allocated.
 */
char	*nmdm_peer(const char *path);

#endif
