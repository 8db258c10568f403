/* libFuzzer harness: lexer, parser, evaluator and validation on any input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "diag.h"

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
	return 0;
}
