/* A byte count in the largest unit it is a whole multiple of. */
#include <stdio.h>

#include "sizetext.h"

int
size_text(long long n, char *buf, size_t len)
{
	static const char units[] = "TGMK";
	int shift = 40, i;

	for (i = 0; units[i] != '\0'; i++, shift -= 10)
		if (n != 0 && n % (1LL << shift) == 0) {
			snprintf(buf, len, "%lld%c", n >> shift, units[i]);
			return 1;
		}
	snprintf(buf, len, "%lld", n);
	return 0;
}
