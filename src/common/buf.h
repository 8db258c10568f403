/* A growable, always NUL-terminated byte buffer. */
#ifndef BMD_BUF_H
#define BMD_BUF_H

#include <stddef.h>

struct buf {
	char	*b_data;
	size_t	 b_len;
	size_t	 b_cap;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_reserve(struct buf *, size_t more);	/* room for more bytes */
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_addc(struct buf *, char);
void	 buf_adds(struct buf *, const char *);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*buf_release(struct buf *);	/* returns the string, resets buf */
const char *buf_str(struct buf *);	/* "" when empty, never NULL */

#endif
