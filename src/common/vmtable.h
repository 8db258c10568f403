/* The `bmdctl list` table: columns, sorting and rendering, shared by both
 * programs (bmd renders it for the common case; bmdctl for old replies). */
#ifndef BMD_VMTABLE_H
#define BMD_VMTABLE_H

#include <stddef.h>

#include "buf.h"

enum vt_col { VT_ID, VT_NAME, VT_NCPU, VT_MEMORY, VT_LOADER, VT_STATE,
	VT_OWNER, VT_NCOLS };

/*
 * Text columns borrow the caller's strings, which must outlive the render;
 * numeric ones are formatted as they are written.  No allocation per row:
 * bmd renders 10,000 rows per `list`.
 */
struct vt_row {
	const char	*vr_cell[VT_NCOLS];	/* text columns */
	long long	 vr_num[VT_NCOLS];	/* numeric columns */
};

int	 vt_col_find(const char *name);		/* -1 when unknown */
/* 134217728 -> "128M": the largest unit that divides the size exactly. */
const char *vt_human_size(long long, char buf[32]);
void	 vt_row_set(struct vt_row *, long long id, const char *name,
	    long long ncpu, long long memory, const char *loader,
	    const char *state, const char *owner);
/* Sort by col (ties in id order), reverse if asked, header first. */
void	 vt_render(struct vt_row *, size_t n, int col, int reverse,
	    struct buf *);

#endif
