/* Source positions and the collected list of configuration diagnostics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "xmalloc.h"

/*
 * File names are interned so that every position can point at one copy
 * that outlives any single load (the daemon keeps old configurations
 * while a reload is evaluated).  The set of configuration files is small.
 */
static char	**interned;
static size_t	  ninterned, capinterned;

const char *
pos_intern(const char *file)
{
	size_t i;

	for (i = ninterned; i > 0; i--)
		if (strcmp(interned[i - 1], file) == 0)
			return interned[i - 1];
	ARRAY_GROW(interned, ninterned, capinterned);
	interned[ninterned] = xstrdup(file);
	return interned[ninterned++];
}

void
diags_init(struct diags *ds)
{
	memset(ds, 0, sizeof(*ds));
}

void
diags_free(struct diags *ds)
{
	size_t i;

	for (i = 0; i < ds->ds_n; i++)
		free(ds->ds_v[i].d_text);
	free(ds->ds_v);
	diags_init(ds);
}

/*
 * A diagnostic is one line of the daemon's log: control characters that
 * came from the text (names, values, a parser child's reply) are written
 * as C escapes, so that a file cannot forge log lines.
 */
static char *
diag_escape(const char *text)
{
	const unsigned char *p;
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "");
	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '\n')
			buf_adds(&b, "\\n");
		else if (*p == '\t')
			buf_adds(&b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(&b, "\\%03o", *p);
		else
			buf_addc(&b, (char)*p);
	}
	return buf_release(&b);
}

void
diag_add_raw(struct diags *ds, enum diag_level lvl, const char *text)
{
	if (ds == NULL)
		return;
	ARRAY_GROW(ds->ds_v, ds->ds_n, ds->ds_cap);
	ds->ds_v[ds->ds_n].d_level = lvl;
	ds->ds_v[ds->ds_n].d_text = diag_escape(text);
	ds->ds_v[ds->ds_n].d_file = NULL;
	ds->ds_n++;
	if (lvl == DIAG_ERROR)
		ds->ds_nerrors++;
}

static void
diag_vadd(struct diags *ds, enum diag_level lvl, const struct pos *p,
    const char *fmt, va_list ap)
{
	struct buf b;
	char *msg;

	if (ds == NULL)
		return;
	buf_init(&b);
	if (p != NULL && p->file != NULL) {
		if (p->line > 0)
			buf_printf(&b, "%s:%d:%d: ", p->file, p->line, p->col);
		else
			buf_printf(&b, "%s: ", p->file);
	}
	if (lvl == DIAG_WARNING)
		buf_adds(&b, "warning: ");
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	buf_adds(&b, msg != NULL ? msg : "(out of memory)");
	free(msg);
	diag_add_raw(ds, lvl, buf_str(&b));
	if (p != NULL)
		ds->ds_v[ds->ds_n - 1].d_file = p->file;
	buf_free(&b);
}

void
diag_error(struct diags *ds, const struct pos *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ds, DIAG_ERROR, p, fmt, ap);
	va_end(ap);
}

void
diag_warn(struct diags *ds, const struct pos *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ds, DIAG_WARNING, p, fmt, ap);
	va_end(ap);
}

void
diags_print(const struct diags *ds, void *fp)
{
	size_t i;

	for (i = 0; i < ds->ds_n; i++)
		fprintf(fp, "%s\n", ds->ds_v[i].d_text);
}
