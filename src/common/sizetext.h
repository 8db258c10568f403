/* A byte count as people write it in bmd.conf: 512M, 2G, or plain. */
#ifndef BMD_SIZETEXT_H
#define BMD_SIZETEXT_H

#include <stddef.h>

/* "NT", "NG", "NM" or "NK" when n is a multiple; else 0 and "N". */
int	size_text(long long n, char *buf, size_t len);

#endif
