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

char *
vt_human_size(long long n)
{
	static const char units[] = "KMGTP";
	long long u = 1;
	int i, best = -1;

	if (n <= 0)
		return xprintf("%lld", n);
	for (i = 0; units[i] != '\0'; i++) {
		u *= 1024;
		if (n % u == 0)
			best = i;
	}
	if (best < 0)
		return xprintf("%lld", n);
	for (u = 1, i = 0; i <= best; i++)
		u *= 1024;
	return xprintf("%lld%c", n / u, units[best]);
}

void
vt_row_set(struct vt_row *r, long long id, const char *name, long long ncpu,
    long long memory, const char *loader, const char *state,
    const char *owner)
{
	r->vr_num[VT_ID] = id;
	r->vr_num[VT_NCPU] = ncpu;
	r->vr_num[VT_MEMORY] = memory;
	r->vr_cell[VT_ID] = xprintf("%lld", id);
	r->vr_cell[VT_NAME] = xstrdup(name);
	r->vr_cell[VT_NCPU] = xprintf("%lld", ncpu);
	r->vr_cell[VT_MEMORY] = vt_human_size(memory);
	r->vr_cell[VT_LOADER] = xstrdup(loader);
	r->vr_cell[VT_STATE] = xstrdup(state);
	r->vr_cell[VT_OWNER] = xstrdup(owner);
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
	if (c == 0)
		buf_printf(b, "%*s", cols[c].cl_width, s);
	else
		buf_printf(b, " %*s", cols[c].cl_width - 1, s);
}

void
vt_render(struct vt_row *rows, size_t n, int col, int reverse, struct buf *b)
{
	size_t i;
	int c;

	sort_col = col >= 0 && col < VT_NCOLS ? col : VT_ID;
	sort_reverse = reverse;
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (c = 0; c < VT_NCOLS; c++)
		cell(b, c, cols[c].cl_name);
	buf_adds(b, "\n --- ------------------- ---- ------ --------- "
	    "-----------  ----------\n");
	for (i = 0; i < n; i++) {
		for (c = 0; c < VT_NCOLS; c++)
			cell(b, c, rows[i].vr_cell[c]);
		buf_addc(b, '\n');
	}
}

void
vt_rows_free(struct vt_row *rows, size_t n)
{
	size_t i;
	int c;

	for (i = 0; i < n; i++)
		for (c = 0; c < VT_NCOLS; c++)
			free(rows[i].vr_cell[c]);
	free(rows);
}
