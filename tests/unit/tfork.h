/* Unit tests' forked children: each must end within a deadline. */
#ifndef BMD_TFORK_H
#define BMD_TFORK_H

#include <sys/wait.h>

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

/* 0: pid exited 0 within ms; -1: it did not (killed, then reaped). */
static int
tfork_reaped(pid_t pid, int ms)
{
	const struct timespec nap = { 0, 1000000 };
	int i, st;

	for (i = 0; i < ms; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
		nanosleep(&nap, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static volatile int	 tfork_stop;
static void		(*tfork_busy)(void);

static void *
tfork_loop(void *arg)
{
	(void)arg;
	while (!tfork_stop)
		tfork_busy();
	return NULL;
}

/*
 * Fork n children, each running child() then exiting 0, while another
 * thread runs busy() over and over (a lock it takes may be held at the
 * fork): 0 if each child ended within ms, -1 at the first that did not.
 */
static int
tfork_during(void (*busy)(void), void (*child)(void), int n, int ms)
{
	pthread_t t;
	pid_t pid;
	int i, rc = 0;

	tfork_busy = busy;
	tfork_stop = 0;
	if (pthread_create(&t, NULL, tfork_loop, NULL) != 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if ((pid = fork()) == 0) {
			child();
			_exit(0);
		}
		rc = pid == -1 ? -1 : tfork_reaped(pid, ms);
	}
	tfork_stop = 1;
	pthread_join(t, NULL);
	return rc;
}

#endif
