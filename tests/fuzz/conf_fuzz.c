/* libFuzzer harness: lexer, parser, evaluator and validation on any input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "conf.h"
#include "diag.h"
#include "lex.h"

#define FUZZ_PATH	"/nonexistent/fuzz.conf"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* bmd -n's load (lo_discard_vms) must say what a full load says. */
static void
same_as_full(const struct conf *full, const struct diags *fds,
    const struct conf *check, const struct diags *cds)
{
	size_t i;

	if (fds->ds_n != cds->ds_n || full->c_fatal != check->c_fatal ||
	    full->c_nvms != check->c_naccepted || check->c_nvms != 0)
		abort();
	for (i = 0; i < fds->ds_n; i++)
		if (fds->ds_v[i].d_level != cds->ds_v[i].d_level ||
		    strcmp(fds->ds_v[i].d_text, cds->ds_v[i].d_text) != 0)
			abort();
}

/* A section body skimmed 16 bytes at a time ends where the byte loop does. */
static void
skim_end(const uint8_t *data, size_t len, int vector, struct lexer *out)
{
	struct diags ds;
	struct arena ar;

	diags_init(&ds);
	arena_init(&ar, 0);
	lex_init(out, FUZZ_PATH, (const char *)data, len, &ar, &ds);
	lex_skim_vector = vector;
	lex_skim_body(out);
	lex_skim_vector = 1;
	lex_end(out);
	arena_free(&ar);
	diags_free(&ds);
}

static void
skims_agree(const uint8_t *data, size_t len)
{
	struct lexer a, b;

	skim_end(data, len, 0, &a);
	skim_end(data, len, 1, &b);
	if (a.lx_off != b.lx_off || a.lx_pos.line != b.lx_pos.line ||
	    a.lx_pos.col != b.lx_pos.col || a.lx_glued != b.lx_glued)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	/* No file checks and no includes reach outside a fake directory. */
	/* origins too: show config --origin reads any root's file */
	struct conf_load_opts lo = { .lo_path = FUZZ_PATH, .lo_origins = 1 };
	struct diags ds, cds;
	struct conf *c, *check;

	conf_set_follow_includes(0);
	diags_init(&ds);
	c = conf_load_buffer(FUZZ_PATH, (const char *)data, len, &lo, &ds);
	lo.lo_discard_vms = 1;
	diags_init(&cds);
	check = conf_load_buffer(FUZZ_PATH, (const char *)data, len, &lo,
	    &cds);
	same_as_full(c, &ds, check, &cds);
	conf_free(check);
	diags_free(&cds);
	conf_free(c);
	diags_free(&ds);
	/* bmdctl's globals-only load skims what the above parsed */
	lo.lo_discard_vms = 0;
	lo.lo_globals_only = 1;
	diags_init(&ds);
	c = conf_load_buffer(FUZZ_PATH, (const char *)data, len, &lo, &ds);
	conf_free(c);
	diags_free(&ds);
	skims_agree(data, len);
	return 0;
}
