/* "Did you mean": edit distance between a mistyped name and candidates. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"
#include "xmalloc.h"

/* Levenshtein distance, case-insensitive: 'Alpha' is one typo of 'alpha'. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, *row, prev, cur, d;

	row = xcalloc(lb + 1, sizeof(*row));
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = row[j];
			d = prev + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			if (row[j] + 1 < d)
				d = row[j] + 1;
			if (row[j - 1] + 1 < d)
				d = row[j - 1] + 1;
			row[j] = d;
			prev = cur;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

void
suggest_init(struct suggest *s, const char *name)
{
	s->s_name = name;
	s->s_best = NULL;
	s->s_dist = (size_t)-1;
}

void
suggest_add(struct suggest *s, const char *cand)
{
	size_t d = distance(s->s_name, cand);

	if (d < s->s_dist) {
		s->s_dist = d;
		s->s_best = cand;
	}
}

/* Close enough: at most 2 edits, and fewer than half the name. */
const char *
suggest_best(const struct suggest *s)
{
	size_t len = strlen(s->s_name);

	if (s->s_best == NULL || s->s_dist == 0 || s->s_dist > 2 ||
	    s->s_dist * 2 >= len + (len == 1))
		return NULL;
	return s->s_best;
}
