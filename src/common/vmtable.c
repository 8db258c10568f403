/* The `bmdctl list` table: columns, sorting and rendering, shared by both
 * programs (bmd renders it for the common case; bmdctl for old replies). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmtable.h"
#include "xmalloc.h"

/* Spec 5.3: right-aligned columns of these widths; numbers sort as such. */
static const struct {
	const char	*cl_name;
	int		 cl_width;
	int		 cl_numeric;
} cols[VT_NCOLS] = {
	{ "id", 4, 1 }, { "name", 20, 0 }, { "ncpu", 5, 1 },
	{ "memory", 7, 1 }, { "loader", 10, 0 }, { "state", 12, 0 },
	{ "owner", 12, 0 },
};

/* qsort has no context argument: the sort order of the current render. */
static int	sort_col, sort_reverse;

int
vt_col_find(const char *name)
{
	int c;

	for (c = 0; c < VT_NCOLS; c++)
		if (strcasecmp(name, cols[c].cl_name) == 0)
			return c;
	return -1;
}

/* Decimal digits of n, right to left, ending at end; returns the start. */
static char *
num_text(long long n, char *end)
{
	unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n :
	    (unsigned long long)n;

	*end = '\0';
	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (n < 0)
		*--end = '-';
	return end;
}

const char *
vt_human_size(long long n, char buf[32])
{
	static const char units[] = "KMGTP";
	long long u = 1;
	int i, best = -1;
	char *p;

	if (n > 0)
		for (i = 0; units[i] != '\0'; i++) {
			u *= 1024;
			if (n % u == 0)
				best = i;
		}
	if (best < 0)
		return num_text(n, buf + 31);
	for (u = 1, i = 0; i <= best; i++)
		u *= 1024;
	p = num_text(n / u, buf + 30);
	buf[30] = units[best];
	buf[31] = '\0';
	return p;
}

void
vt_row_set(struct vt_row *r, long long id, const char *name, long long ncpu,
    long long memory, const char *loader, const char *state,
    const char *owner)
{
	memset(r, 0, sizeof(*r));
	r->vr_num[VT_ID] = id;
	r->vr_num[VT_NCPU] = ncpu;
	r->vr_num[VT_MEMORY] = memory;
	r->vr_cell[VT_NAME] = name != NULL ? name : "-";
	r->vr_cell[VT_LOADER] = loader != NULL ? loader : "-";
	r->vr_cell[VT_STATE] = state != NULL ? state : "-";
	r->vr_cell[VT_OWNER] = owner != NULL ? owner : "-";
}

static int
row_cmp(const void *a, const void *b)
{
	const struct vt_row *ra = a, *rb = b;
	int d;

	if (cols[sort_col].cl_numeric)
		d = (ra->vr_num[sort_col] > rb->vr_num[sort_col]) -
		    (ra->vr_num[sort_col] < rb->vr_num[sort_col]);
	else
		d = strcmp(ra->vr_cell[sort_col], rb->vr_cell[sort_col]);
	if (d == 0)	/* keep equal rows in id order */
		d = (ra->vr_num[VT_ID] > rb->vr_num[VT_ID]) -
		    (ra->vr_num[VT_ID] < rb->vr_num[VT_ID]);
	return sort_reverse ? -d : d;
}

/* Right-aligned; a value too wide still gets one space before it. */
static void
cell(struct buf *b, int c, const char *s)
{
	static const char spaces[] = "                                ";
	size_t len = strlen(s), w = (size_t)cols[c].cl_width;

	if (c > 0) {
		buf_addc(b, ' ');
		w--;
	}
	if (len < w)
		buf_add(b, spaces, w - len);
	buf_add(b, s, len);
}

/* The text of column c of r; numbers are written into buf. */
static const char *
cell_text(const struct vt_row *r, int c, char buf[32])
{
	if (c == VT_MEMORY)
		return vt_human_size(r->vr_num[c], buf);
	if (cols[c].cl_numeric)
		return num_text(r->vr_num[c], buf + 31);
	return r->vr_cell[c];
}

void
vt_render(struct vt_row *rows, size_t n, int col, int reverse, struct buf *b)
{
	char num[32];
	size_t i;
	int c;

	sort_col = col >= 0 && col < VT_NCOLS ? col : VT_ID;
	sort_reverse = reverse;
	qsort(rows, n, sizeof(*rows), row_cmp);
	/* a line is 77 bytes with the default widths: no copying growth */
	buf_reserve(b, (n + 2) * 80);
	for (c = 0; c < VT_NCOLS; c++)
		cell(b, c, cols[c].cl_name);
	buf_adds(b, "\n --- ------------------- ---- ------ --------- "
	    "-----------  ----------\n");
	for (i = 0; i < n; i++) {
		for (c = 0; c < VT_NCOLS; c++)
			cell(b, c, cell_text(&rows[i], c, num));
		buf_addc(b, '\n');
	}
}
