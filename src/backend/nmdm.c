/* Pure nmdm(4) numbering: automatic com device numbers and A/B names. */
#include <limits.h>
#include <string.h>

#include "nmdm.h"
#include "xmalloc.h"

#define NMDM_PREFIX	"/dev/nmdm"
/* "/dev/nmdm" + one digit + side: anything shorter is not a pair end. */
#define NMDM_MINLEN	11

int
nmdm_next(long long offset, const int *used, size_t nused)
{
	long long max;
	size_t i;

	/* A negative offset is accepted by the parser; /dev/nmdm-1B is not. */
	max = offset > 0 ? offset - 1 : -1;
	for (i = 0; i < nused; i++)
		if (used[i] > max)
			max = used[i];
	if (max >= INT_MAX)
		return -1;
	return (int)(max + 1);
}

int
nmdm_number(const char *s)
{
	const char *p;
	long long n;

	if (s == NULL || (p = strstr(s, "nmdm")) == NULL)
		return -1;
	p += 4;
	if (*p < '0' || *p > '9')
		return -1;
	for (n = 0; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > INT_MAX)
			return -1;
	}
	return (int)n;
}

char *
nmdm_bhyve_path(int n)
{
	return xprintf(NMDM_PREFIX "%dB", n);
}

char *
nmdm_user_path(int n)
{
	return xprintf(NMDM_PREFIX "%dA", n);
}

char *
nmdm_peer(const char *path)
{
	char *s;
	size_t len;

	s = xstrdup(path);
	len = strlen(s);
	if (len < NMDM_MINLEN || strncmp(s, NMDM_PREFIX,
	    sizeof(NMDM_PREFIX) - 1) != 0)
		return s;
	if (s[len - 1] == 'A')
		s[len - 1] = 'B';
	else if (s[len - 1] == 'B')
		s[len - 1] = 'A';
	return s;
}
