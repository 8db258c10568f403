/* Argument and environment vectors, and the command lines built from them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "xmalloc.h"

/*
 * The vector is kept NULL-terminated after every call, so a_v can be
 * handed to execve(2) at any time without a finishing step.
 */
void
argv_init(struct argv *av)
{
	av->a_cap = 8;
	av->a_n = 0;
	av->a_v = xcalloc(av->a_cap, sizeof(*av->a_v));
}

void
argv_free(struct argv *av)
{
	size_t i;

	if (av->a_v != NULL)
		for (i = 0; i < av->a_n; i++)
			free(av->a_v[i]);
	free(av->a_v);
	memset(av, 0, sizeof(*av));
}

/* Take ownership of an allocated string. */
static void
argv_push(struct argv *av, char *s)
{
	/* One more slot than a_n for the terminating NULL. */
	if (av->a_n + 1 >= av->a_cap || av->a_v == NULL) {
		av->a_cap = av->a_cap ? av->a_cap * 2 : 8;
		av->a_v = xreallocarray(av->a_v, av->a_cap,
		    sizeof(*av->a_v));
	}
	av->a_v[av->a_n++] = s;
	av->a_v[av->a_n] = NULL;
}

void
argv_add(struct argv *av, const char *s)
{
	argv_push(av, xstrdup(s));
}

void
argv_addf(struct argv *av, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int len;

	/* vsnprintf twice keeps this plain C17 (no vasprintf). */
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	s = xmalloc((size_t)len + 1);
	va_start(ap, fmt);
	if (vsnprintf(s, (size_t)len + 1, fmt, ap) < 0)
		s[0] = '\0';
	va_end(ap);
	argv_push(av, s);
}

static void
proc_cmd_free(struct proc_cmd *pc)
{
	free(pc->pc_path);
	argv_free(&pc->pc_argv);
	argv_free(&pc->pc_env);
	free(pc->pc_file_path);
	free(pc->pc_file_data);
	memset(pc, 0, sizeof(*pc));
}

/* Every slot is freed: unused ones are zeroed, which argv_free accepts. */
void
cmdline_free(struct cmdline *cl)
{
	size_t i;

	for (i = 0; i < sizeof(cl->cl_procs) / sizeof(cl->cl_procs[0]); i++)
		proc_cmd_free(&cl->cl_procs[i]);
	cl->cl_nprocs = 0;
}
