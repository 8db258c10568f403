/* Waiting for a helper child that runs with a user's rights: never for ever. */
#ifndef BMD_HELPER_H
#define BMD_HELPER_H

#include <sys/types.h>

#include <time.h>

/*
 * A user can stop (SIGSTOP) a process that runs as her, so the daemon
 * gives such a helper (the parser of her file, the check of her paths,
 * the opener of her log) this long to answer, then kills it.
 */
#define HELPER_TIMEOUT_MS	10000

/* The moment ms milliseconds from now, on the monotonic clock. */
void	helper_deadline(struct timespec *, int ms);
/* Of the ms that deadline dl was set ahead, how many have passed. */
int	helper_ms_used(const struct timespec *dl, int ms);
/* 0 once fd is readable (or at end of file); -1 past the deadline. */
int	helper_wait(int fd, const struct timespec *deadline);
/*
 * Reap pid (SIGKILLed first if killit); its wait status.  One that has
 * not ended HELPER_REAP_MAX_NS later is killed and left to
 * helper_reap_lost (SIGCHLD): it waits in a file system that does not
 * answer, and waiting for it could last for ever.
 */
#define HELPER_REAP_MAX_NS	500000000L
int	helper_reap(pid_t pid, int killit);
void	helper_reap_lost(void);
/* pid was left to helper_reap_lost and has not ended yet */
int	helper_lost(pid_t pid);

#endif
