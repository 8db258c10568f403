/* Unit tests for validate.c: image checks remembered within one load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "diag.h"

static char	dir[] = "/tmp/bmd-test-validate.XXXXXX";

/* Load text with image checks; the number of VMs loaded. */
static size_t
load(const char *text)
{
	struct conf_load_opts lo = { .lo_path = "/nonexistent/v.conf",
	    .lo_check_files = 1 };
	struct diags ds;
	struct conf *c;
	size_t n;

	diags_init(&ds);
	c = conf_load_buffer(lo.lo_path, text, strlen(text), &lo, &ds);
	assert_false(c->c_fatal);
	n = c->c_nvms;
	conf_free(c);
	diags_free(&ds);
	return n;
}

/* A file that appears between two loads is found by the second. */
static void
test_new_load_looks_again(void **state)
{
	char text[1024], img[256];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(text, sizeof(text), "vm a { memory = 1G; disk = %s; }\n"
	    "vm b { memory = 1G; disk = %s; }\n", img, img);
	assert_int_equal(load(text), 0);
	assert_non_null(f = fopen(img, "w"));
	fclose(f);
	assert_int_equal(load(text), 2);
	assert_int_equal(unlink(img), 0);
	assert_int_equal(load(text), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_load_looks_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
