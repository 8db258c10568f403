/* Deadlines for helper children that run with a user's rights. */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "helper.h"

void
helper_deadline(struct timespec *dl, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	dl->tv_sec += ms / 1000;
	dl->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
}

static int
ms_left(const struct timespec *dl)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(dl->tv_sec - now.tv_sec) * 1000 +
	    (dl->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 3600000 ? 3600000 : (int)ms;
}

int
helper_ms_used(const struct timespec *dl, int ms)
{
	return ms - ms_left(dl);
}

int
helper_wait(int fd, const struct timespec *dl)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int r;

	for (;;) {
		r = poll(&pfd, 1, ms_left(dl));
		if (r > 0)
			return 0;
		if (r == 0 || errno != EINTR) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

/*
 * A helper that does not end soon after it has answered (or after
 * SIGKILL) waits in the kernel for a file system served by a process
 * that does not answer (a user's FUSE): not even SIGKILL ends it before
 * that server answers or goes.  It is left here, and reaped when
 * SIGCHLD says it has ended (helper_reap_lost).
 */
#define LOST_MAX	256
static _Atomic pid_t	lost[LOST_MAX];

static void
lose(pid_t pid)
{
	pid_t none;
	int i;

	for (i = 0; i < LOST_MAX; i++) {
		none = 0;
		if (atomic_compare_exchange_strong(&lost[i], &none, pid))
			return;
	}
	/* all taken: a zombie until bmd exits, rather than a hung bmd */
}

int
helper_lost(pid_t pid)
{
	int i;

	/* not reaped here: only the event loop does (SIGCHLD) */
	for (i = 0; i < LOST_MAX; i++)
		if (atomic_load(&lost[i]) == pid)
			return 1;
	return 0;
}

void
helper_reap_lost(void)
{
	pid_t pid;
	int i, st;

	for (i = 0; i < LOST_MAX; i++)
		if ((pid = atomic_load(&lost[i])) != 0 &&
		    waitpid(pid, &st, WNOHANG) == pid)
			atomic_store(&lost[i], 0);
}

int
helper_reap(pid_t pid, int killit)
{
	struct timespec nap = { 0, 50000 };
	long waited = 0;
	int st = 0;
	pid_t r;

	if (killit)
		kill(pid, SIGKILL);	/* ends a stopped process too */
	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r == -1 && errno != EINTR)
			return 0;
		if (waited >= HELPER_REAP_MAX_NS)
			break;
		nanosleep(&nap, NULL);
		waited += nap.tv_nsec;
		if (nap.tv_nsec < 20000000)
			nap.tv_nsec *= 2;
	}
	kill(pid, SIGKILL);
	lose(pid);
	return SIGKILL;		/* as a wait status: killed by it */
}
