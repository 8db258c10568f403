/* A growable, always NUL-terminated byte buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmalloc.h"

void
buf_init(struct buf *b)
{
	b->b_data = NULL;
	b->b_len = b->b_cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->b_data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->b_len = 0;
	if (b->b_data != NULL)
		b->b_data[0] = '\0';
}

void
buf_reserve(struct buf *b, size_t more)
{
	size_t need = b->b_len + more + 1;

	if (need <= b->b_cap)
		return;
	if (b->b_cap == 0)
		b->b_cap = 32;
	while (b->b_cap < need)
		b->b_cap *= 2;
	b->b_data = xreallocarray(b->b_data, b->b_cap, 1);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->b_data + b->b_len, p, n);
	b->b_len += n;
	b->b_data[b->b_len] = '\0';
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->b_data + b->b_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->b_len += (size_t)n;
}

char *
buf_release(struct buf *b)
{
	char *s = b->b_data != NULL ? b->b_data : xstrdup("");

	buf_init(b);
	return s;
}

const char *
buf_str(struct buf *b)
{
	return b->b_data != NULL ? b->b_data : "";
}
