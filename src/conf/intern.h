/* Interned strings: one copy of each value that many VMs share. */
#ifndef BMD_INTERN_H
#define BMD_INTERN_H

#include <stddef.h>

/*
 * The one copy of s, counted once more; NULL for NULL.  The text must
 * never be written nor given to free(3): intern_drop instead.
 */
char	*intern(const char *s);
void	 intern_drop(const char *);
/* Distinct strings held (tests). */
size_t	 intern_count(void);

#endif
