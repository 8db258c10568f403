/*
 * Unit tests for holding a user (src/conf/held.c): the hold after a
 * process of hers is given up doubles up to 15 minutes, touches nobody
 * else, counts once per load, and the 3 s budget of one load holds her
 * only when crossed.  The message's two clock times give the hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "load.h"

/* seconds between the message's "at T1" and "before T2"; -1 if none */
static int
hold_of(uid_t uid)
{
	const char *why = conf_user_held(uid), *at, *before;
	int h1, m1, s1, h2, m2, s2;

	if (why == NULL)
		return -1;
	at = strstr(why, " at ");
	before = strstr(why, " before ");
	assert_non_null(at);
	assert_non_null(before);
	assert_int_equal(sscanf(at, " at %d:%d:%d", &h1, &m1, &s1), 3);
	assert_int_equal(sscanf(before, " before %d:%d:%d", &h2, &m2, &s2), 3);
	return ((h2 - h1) * 3600 + (m2 - m1) * 60 + (s2 - s1) + 86400) % 86400;
}

static void
test_hold_doubles_up_to_15_minutes(void **state)
{
	static const int want[] = { 30, 60, 120, 240, 480, 900, 900 };
	size_t i;

	assert_int_equal(hold_of(5001), -1);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		conf_user_gave_up(5001, 0);
		conf_user_load_end();
		assert_int_equal(hold_of(5001), want[i]);
	}
	assert_non_null(strstr(conf_user_held(5001), "did not answer within "
	    "10 s"));
	assert_null(conf_user_held(5002));	/* nobody else */
	assert_null(conf_user_held(0));
}

static void
test_one_strike_per_load(void **state)
{
	conf_user_gave_up(5003, 0);
	conf_user_took(5003, 10000);		/* the same process's time */
	conf_user_gave_up(5003, 0);		/* the same load again */
	assert_int_equal(hold_of(5003), 30);
	conf_user_load_end();
}

static void
test_budget_of_one_load(void **state)
{
	conf_user_took(5004, 2000);
	conf_user_took(5004, 999);
	assert_null(conf_user_held(5004));
	conf_user_took(5005, 2999);		/* another user's share */
	conf_user_took(5004, 1);
	assert_int_equal(hold_of(5004), 30);
	assert_non_null(strstr(conf_user_held(5004), "took more than 3 s in "
	    "one load"));
	assert_null(conf_user_held(5005));
	conf_user_load_end();
	/* a new load starts from nothing */
	conf_user_took(5005, 2999);
	assert_null(conf_user_held(5005));
	conf_user_load_end();
	conf_user_took(5005, 2999);
	assert_null(conf_user_held(5005));
	conf_user_load_end();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold_doubles_up_to_15_minutes),
		cmocka_unit_test(test_one_strike_per_load),
		cmocka_unit_test(test_budget_of_one_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
