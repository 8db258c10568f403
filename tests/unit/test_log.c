/*
 * Unit tests for the log (src/common/log.c): a child forked while
 * another thread logs can log too.  bmd forks children that do not
 * execute a program (the Wake-on-LAN monitor, a user's file opener and
 * parser): one that inherited the log's lock held would wait forever,
 * holding every descriptor bmd had (its lock, the VMs' locks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include <cmocka.h>

#include "../../src/common/log.h"
#include "tfork.h"

static void
parent_logs(void)
{
	log_warnx("test_log: the other thread logs");
}

static void
child_logs(void)
{
	log_warnx("test_log: the child logs");
}

static void
test_child_logs_while_another_thread_logs(void **state)
{
	(void)state;
	/* syslog: with no syslog daemon here, every line is counted lost */
	log_init("test_log", LOG_TO_SYSLOG, LOG_DAEMON);
	assert_int_equal(tfork_during(parent_logs, child_logs, 400, 5000), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_logs_while_another_thread_logs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
