/*
 * Unit tests for the log (src/common/log.c): a child forked while
 * another thread logs can log too.  bmd forks children that do not
 * execute a program (the Wake-on-LAN monitor, a user's file opener and
 * parser): one that inherited the log's lock held would wait forever,
 * holding every descriptor bmd had (its lock, the VMs' locks).
 */
#include <sys/wait.h>

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/common/log.h"

#define FORKS		400
#define CHILD_WAIT_MS	5000

static volatile int	stop;

static void *
chatter(void *arg)
{
	(void)arg;
	while (!stop)
		log_warnx("test_log: the other thread logs");
	return NULL;
}

/* The child's exit within the deadline: 0, or -1 if it hangs. */
static int
reaped(pid_t pid)
{
	const struct timespec nap = { 0, 1000000 };
	int i, st;

	for (i = 0; i < CHILD_WAIT_MS; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
		nanosleep(&nap, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void
test_child_logs_while_another_thread_logs(void **state)
{
	pthread_t t;
	pid_t pid;
	int i, hung = 0;

	(void)state;
	/* syslog: with no syslog daemon here, every line is counted lost */
	log_init("test_log", LOG_TO_SYSLOG, LOG_DAEMON);
	assert_int_equal(pthread_create(&t, NULL, chatter, NULL), 0);
	for (i = 0; i < FORKS && !hung; i++) {
		if ((pid = fork()) == 0) {
			log_warnx("test_log: the child logs");
			_exit(0);
		}
		assert_true(pid > 0);
		hung = reaped(pid) == -1;
	}
	stop = 1;
	pthread_join(t, NULL);
	assert_false(hung);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_logs_while_another_thread_logs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
