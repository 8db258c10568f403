/* libFuzzer harness: lexer, parser, evaluator and validation on any input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "conf.h"
#include "diag.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	/* No file checks and no includes reach outside a fake directory. */
	/* origins too: show config --origin reads any root's file */
	struct conf_load_opts lo = { .lo_path = "/nonexistent/fuzz.conf",
	    .lo_origins = 1 };
	struct diags ds;
	struct conf *c;

	conf_set_follow_includes(0);
	diags_init(&ds);
	c = conf_load_buffer("/nonexistent/fuzz.conf", (const char *)data, len,
	    &lo, &ds);
	conf_free(c);
	diags_free(&ds);
	/* bmdctl's globals-only load skims what the above parsed */
	lo.lo_globals_only = 1;
	diags_init(&ds);
	c = conf_load_buffer("/nonexistent/fuzz.conf", (const char *)data, len,
	    &lo, &ds);
	conf_free(c);
	diags_free(&ds);
	return 0;
}
