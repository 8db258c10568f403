/*
 * Unit tests for what the event loop knows of users (src/bmd/users.c):
 * lookups by the thread, the wait of a request for an unknown uid, its
 * cancellation, and what a load looks up.  The name service is this
 * machine's: root exists, and the uids below 4,000,000 chosen here do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/bmd/users.c"

struct bmd bmd;

#define NOBODY_HERE	3999999u
#define NOBODY_TOO	3999998u

static void
called(void *arg)
{
	(*(int *)arg)++;
}

/* Run the loop until pred(arg) holds, at most about 5 s. */
static void
loop_until(int (*pred)(void *), void *arg)
{
	struct timeval tick = { 0, 10000 };
	int i;

	for (i = 0; i < 500 && !pred(arg); i++) {
		event_base_loopexit(bmd.b_base, &tick);
		event_base_dispatch(bmd.b_base);
	}
	assert_true(pred(arg));
}

static int
flag_set(void *arg)
{
	return *(int *)arg != 0;
}

static int
known_uid(void *arg)
{
	return users_get(*(uid_t *)arg) != NULL;
}

static int
setup(void **state)
{
	(void)state;
	if ((bmd.b_base = event_base_new()) == NULL)
		return -1;
	users_init();
	return threaded ? 0 : -1;
}

static void
test_a_wait_ends_with_the_lookup(void **state)
{
	const struct user_info *ui;
	int flag = 0, i, root_group = 0;

	(void)state;
	/* not known yet: the lookup runs in the thread, the call returns */
	assert_int_equal(users_wait(0, called, &flag), 0);
	assert_int_equal(flag, 0);
	loop_until(flag_set, &flag);
	assert_int_equal(flag, 1);
	ui = users_get(0);
	assert_non_null(ui);
	assert_string_equal(ui->ui_name, "root");
	assert_non_null(ui->ui_home);
	assert_int_equal(ui->ui_gid, 0);
	for (i = 0; i < ui->ui_ngroups; i++)
		root_group |= ui->ui_groups[i] == 0;
	assert_true(root_group);
	/* known now: no wait, no call */
	assert_int_equal(users_wait(0, called, &flag), 1);
	assert_int_equal(flag, 1);
	free(user_name(0));
}

static void
test_an_unknown_uid_is_known_as_unknown(void **state)
{
	const struct user_info *ui;
	char *name;
	int flag = 0;

	(void)state;
	assert_int_equal(users_wait(NOBODY_HERE, called, &flag), 0);
	loop_until(flag_set, &flag);
	ui = users_get(NOBODY_HERE);
	assert_non_null(ui);
	assert_null(ui->ui_name);
	assert_int_equal(ui->ui_ngroups, 0);
	name = user_name(NOBODY_HERE);
	assert_string_equal(name, "3999999");
	free(name);
}

static void
test_a_cancelled_wait_is_never_called(void **state)
{
	uid_t uid = NOBODY_TOO;
	int flag = 0;

	(void)state;
	assert_int_equal(users_wait(uid, called, &flag), 0);
	users_cancel(&flag);
	loop_until(known_uid, &uid);
	assert_int_equal(flag, 0);
	assert_true(TAILQ_EMPTY(&waiters));
}

static void
test_a_load_looks_up_each_owner_once(void **state)
{
	struct vm_conf a, b, c, *vms[] = { &a, &b, &c };
	struct conf conf;
	struct user_info **v;
	size_t n, i;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	memset(vms[0], 0, sizeof(a));
	memset(vms[1], 0, sizeof(b));
	memset(vms[2], 0, sizeof(c));
	a.vc_owner = NOBODY_HERE;
	b.vc_owner = 0;
	c.vc_owner = NOBODY_HERE;
	conf.c_vms = vms;
	conf.c_nvms = 3;
	v = users_lookup_owners(&conf, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0]->ui_uid, 0);
	assert_string_equal(v[0]->ui_name, "root");
	assert_int_equal(v[1]->ui_uid, NOBODY_HERE);
	assert_null(v[1]->ui_name);
	for (i = 0; i < n; i++)
		users_info_free(v[i]);
	free(v);
	/* bmd's own user too, when asked; no VM at all is no owner */
	v = users_lookup_owners(NULL, 1, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0]->ui_uid, getuid());
	users_info_free(v[0]);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_wait_ends_with_the_lookup),
		cmocka_unit_test(test_an_unknown_uid_is_known_as_unknown),
		cmocka_unit_test(test_a_cancelled_wait_is_never_called),
		cmocka_unit_test(test_a_load_looks_up_each_owner_once),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
