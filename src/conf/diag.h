/* Source positions and the collected list of configuration diagnostics. */
#ifndef BMD_DIAG_H
#define BMD_DIAG_H

#include <stddef.h>

/* A place in a configuration file; file names are interned for life. */
struct pos {
	const char	*file;
	int		 line;	/* 1-based */
	int		 col;	/* 1-based, in bytes */
};

enum diag_level { DIAG_ERROR, DIAG_WARNING };

struct diag {
	enum diag_level	 d_level;
	char		*d_text;	/* "FILE:LINE:COL: message" */
	const char	*d_file;	/* FILE (interned), or NULL */
};

/* Every diagnostic of one load, in the order found. */
struct diags {
	struct diag	*ds_v;
	size_t		 ds_n, ds_cap;
	size_t		 ds_nerrors;
};

const char *pos_intern(const char *file);

void	 diags_init(struct diags *);
void	 diags_free(struct diags *);
void	 diag_error(struct diags *, const struct pos *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 diag_warn(struct diags *, const struct pos *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* Append an already formatted line (used when a child process sent it). */
void	 diag_add_raw(struct diags *, enum diag_level, const char *);
void	 diags_print(const struct diags *, void *fp);	/* fp: FILE * */

#endif
