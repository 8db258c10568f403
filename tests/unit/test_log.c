/*
 * Unit tests for the log (src/common/log.c): one message is one line,
 * whatever text of a user's it carries, and a child forked while
 * another thread logs can log too.  bmd forks children that do not
 * execute a program (the Wake-on-LAN monitor, a user's file opener and
 * parser): one that inherited the log's lock held would wait forever,
 * holding every descriptor bmd had (its lock, the VMs' locks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

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

/*
 * Text a user chooses reaches the log (an error a user's QMP program
 * sends, a path of hers): a newline in it must not start a line that
 * looks like bmd's own, nor an escape sequence reach an admin's terminal.
 */
static void
test_control_characters_are_escaped(void **state)
{
	char path[] = "/tmp/test_log.XXXXXX", buf[512];
	FILE *fp;
	int fd, lines = 0;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	log_init("test_log", LOG_TO_FILE, LOG_DAEMON);
	assert_int_equal(log_file(path), 0);
	log_warnx("vm %s: QMP: %s", "v", "x\n2026-12-07T18:30:00Z bmd[1]: "
	    "request: uid 0: poweroff b: done\r\033[2J\tend\177");
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(buf, sizeof(buf), fp) != NULL)
		lines++;
	fclose(fp);
	unlink(path);
	assert_int_equal(lines, 1);
	assert_non_null(strstr(buf, "vm v: QMP: x\\n2026-12-07T18:30:00Z "
	    "bmd[1]: request: uid 0: poweroff b: done\\r\\x1b[2J\\tend"
	    "\\x7f\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_characters_are_escaped),
		cmocka_unit_test(test_child_logs_while_another_thread_logs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
