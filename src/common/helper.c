/* Deadlines for helper children that run with a user's rights. */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
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

int
helper_reap(pid_t pid, int killit)
{
	int st = 0;

	if (killit)
		kill(pid, SIGKILL);	/* ends a stopped process too */
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return st;
}
