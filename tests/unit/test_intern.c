/* Interned strings (intern.c) and VM configurations that hold them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "intern.h"
#include "keys.h"
#include "tfork.h"

static void
test_one_copy(void **state)
{
	char text[] = "bridge0";
	size_t n0 = intern_count();
	char *a, *b, *c;

	(void)state;
	assert_null(intern(NULL));
	intern_drop(NULL);
	a = intern(text);
	b = intern("bridge0");
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, text);
	c = intern("bridge1");
	assert_ptr_not_equal(a, c);
	assert_int_equal(intern_count(), n0 + 2);
	intern_drop(a);
	/* b still holds it */
	assert_int_equal(intern_count(), n0 + 2);
	assert_string_equal(b, "bridge0");
	assert_ptr_equal(intern("bridge0"), b);
	intern_drop(b);
	intern_drop(b);
	intern_drop(c);
	assert_int_equal(intern_count(), n0);
}

/* Growth and removal in the middle of probe runs keep every text found. */
static void
test_many(void **state)
{
	enum { N = 5000 };
	static char *p[N];
	size_t n0 = intern_count(), i;
	char s[32];

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(s, sizeof(s), "s%zu", i);
		p[i] = intern(s);
	}
	assert_int_equal(intern_count(), n0 + N);
	for (i = 0; i < N; i += 2)
		intern_drop(p[i]);
	assert_int_equal(intern_count(), n0 + N / 2);
	for (i = 1; i < N; i += 2) {
		snprintf(s, sizeof(s), "s%zu", i);
		assert_ptr_equal(intern(s), p[i]);
		intern_drop(p[i]);
		assert_string_equal(p[i], s);
	}
	for (i = 0; i < N; i += 2) {
		snprintf(s, sizeof(s), "s%zu", i);
		p[i] = intern(s);
	}
	assert_int_equal(intern_count(), n0 + N);
	for (i = 0; i < N; i++)
		intern_drop(p[i]);
	assert_int_equal(intern_count(), n0);
}

static int
set(struct vm_conf *vc, const char *name, const char *val, int append)
{
	struct buf err;
	int rc;

	buf_init(&err);
	rc = key_set(keys_find(name), vc, val, append, NULL, &err);
	buf_free(&err);
	return rc;
}

/* Two VMs built apart share their texts; equality and freeing hold. */
static void
test_vm_conf(void **state)
{
	struct vm_conf *a, *b, *c;
	size_t n0;

	(void)state;
	a = vm_conf_new();
	n0 = intern_count();
	b = vm_conf_new();
	/* the defaults are shared, not copied */
	assert_int_equal(intern_count(), n0);
	assert_int_equal(set(a, "qemu_machine", "q35", 0), 0);
	assert_int_equal(set(a, "bhyve_env", "A=1", 0), 0);
	assert_int_equal(set(a, "bhyve_env", "B=2", 1), 0);
	assert_int_equal(set(b, "qemu_machine", "q35", 0), 0);
	assert_int_equal(set(b, "bhyve_env", "A=1", 0), 0);
	assert_ptr_equal(a->vc_qemu_machine, b->vc_qemu_machine);
	assert_false(vm_conf_equal(a, b));
	assert_int_equal(set(b, "bhyve_env", "B=2", 1), 0);
	assert_true(vm_conf_equal(a, b));
	c = vm_conf_dup(a);
	assert_ptr_equal(c->vc_qemu_machine, a->vc_qemu_machine);
	assert_true(vm_conf_equal(a, c));
	assert_int_equal(set(c, "qemu_machine", "pc", 0), 0);
	assert_false(vm_conf_equal(a, c));
	assert_string_equal(a->vc_qemu_machine, "q35");
	assert_int_equal(set(c, "qemu_machine", "q35", 0), 0);
	assert_true(vm_conf_equal(a, c));
	vm_conf_free(a);
	vm_conf_free(c);
	/* b alone holds them now */
	assert_string_equal(b->vc_qemu_machine, "q35");
	assert_string_equal(*CLIST_AT(&b->vc_bhyve_env, char *, 1), "B=2");
	vm_conf_free(b);
	/* b held q35, A=1 and B=2 only: all gone, the defaults stay */
	assert_int_equal(intern_count(), n0);
}

static void
churn(void)
{
	intern_drop(intern("churned by the other thread"));
}

static void
child_interns(void)
{
	intern_drop(intern("interned in the child"));
}

/*
 * A child forked while another thread interns (a user's parser, forked
 * by a load while the daemon frees a configuration) can intern too.
 */
static void
test_fork_while_another_thread_interns(void **state)
{
	(void)state;
	intern_drop(intern("first"));
	assert_int_equal(tfork_during(churn, child_interns, 400, 5000), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_copy),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_vm_conf),
		cmocka_unit_test(test_fork_while_another_thread_interns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
