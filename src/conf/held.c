/* Users whose processes bmd had to give up: nothing is read as them a while. */
/*
 * A process that reads or parses as a user (an agent, the parser of her
 * file) and does not answer within HELPER_TIMEOUT_MS is killed.  Were
 * the next load to start another, she could make every load, everyone's,
 * wait that long: she may stop her parser, or answer nothing from her
 * FUSE mount.  So, once one is given up, nothing is read or parsed as
 * her while it still waits in the kernel, and for a while after: 30 s,
 * doubled each time it happens again within an hour, up to 15 min.  The
 * same holds once her processes have taken HOLD_BUDGET_MS in all in one
 * load, each under the limit.  Her files keep the VMs they had meanwhile.
 */
#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "helper.h"
#include "load.h"
#include "xmalloc.h"

#define HELD_MAX	64
#define HOLD_FIRST	30		/* seconds */
#define HOLD_MOST	900
#define HOLD_FORGET	3600		/* a quiet hour starts again at HOLD_FIRST */
#define HOLD_BUDGET_MS	3000		/* a user's processes, in one load */

enum { HELD_LATE, HELD_SLOW };

static struct held {
	uid_t	h_uid;
	pid_t	h_pid;		/* the last given up, if still in the kernel */
	int	h_used;
	int	h_why;		/* HELD_LATE, HELD_SLOW */
	int	h_hold;		/* seconds from h_mono */
	time_t	h_mono;		/* CLOCK_MONOTONIC when it was given up */
	time_t	h_wall;		/* the same, for messages */
} held[HELD_MAX];
static pthread_mutex_t held_mtx = PTHREAD_MUTEX_INITIALIZER;

/* what each user's processes took in this thread's current load */
static _Thread_local struct ledger {
	uid_t	l_uid;
	long	l_ms;
} *ledger;
static _Thread_local size_t nledger, capledger;

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* uid's entry, else a free one, else the one that ends first */
static struct held *
held_slot(uid_t uid)
{
	struct held *h, *pick = NULL;

	for (h = held; h < held + HELD_MAX; h++) {
		if (h->h_used && h->h_uid == uid)
			return h;
		if (pick == NULL || (pick->h_used && (!h->h_used ||
		    h->h_mono + h->h_hold < pick->h_mono + pick->h_hold)))
			pick = h;
	}
	pick->h_used = 0;
	return pick;
}

/* again: a second in the same load, which only updates why and the pid */
static void
strike(uid_t uid, pid_t pid, int why, int again)
{
	struct held *h;
	time_t now = mono_now();

	pthread_mutex_lock(&held_mtx);
	h = held_slot(uid);
	if (again && h->h_used) {
		h->h_why = why;
		if (pid != 0 && helper_lost(pid))
			h->h_pid = pid;
		pthread_mutex_unlock(&held_mtx);
		return;
	}
	if (!h->h_used || now - h->h_mono > HOLD_FORGET)
		h->h_hold = HOLD_FIRST;
	else if (h->h_hold < HOLD_MOST)
		h->h_hold = h->h_hold * 2 < HOLD_MOST ? h->h_hold * 2 :
		    HOLD_MOST;
	h->h_used = 1;
	h->h_why = why;
	h->h_uid = uid;
	h->h_pid = pid != 0 && helper_lost(pid) ? pid : 0;
	h->h_mono = now;
	h->h_wall = time(NULL);
	pthread_mutex_unlock(&held_mtx);
}

/* uid's time in this load */
static long *
ledger_of(uid_t uid)
{
	size_t i;

	for (i = 0; i < nledger && ledger[i].l_uid != uid; i++)
		;
	if (i == nledger) {
		ARRAY_GROW(ledger, nledger, capledger);
		ledger[nledger].l_uid = uid;
		ledger[nledger++].l_ms = 0;
	}
	return &ledger[i].l_ms;
}

void
conf_user_gave_up(uid_t uid, pid_t pid)
{
	long *ms = ledger_of(uid);
	int again = *ms >= HOLD_BUDGET_MS;

	*ms = HOLD_BUDGET_MS;	/* one strike per load */
	strike(uid, pid, HELD_LATE, again);
}

void
conf_user_took(uid_t uid, long ms)
{
	long *sum = ledger_of(uid);

	if (*sum < HOLD_BUDGET_MS &&
	    (*sum += ms) >= HOLD_BUDGET_MS)
		strike(uid, 0, HELD_SLOW, 0);
}

/* the load thread ends after each load: nothing of it may stay */
void
conf_user_load_end(void)
{
	free(ledger);
	ledger = NULL;
	nledger = capledger = 0;
}

static void
clock_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

_Static_assert(HELPER_TIMEOUT_MS == 10000 && HOLD_BUDGET_MS == 3000,
    "the message says 10 s and 3 s");

const char *
conf_user_held(uid_t uid)
{
	static _Thread_local char why[200];
	char at[32], until[32];
	struct held *h;
	const char *r = NULL;
	time_t now = mono_now();

	pthread_mutex_lock(&held_mtx);
	for (h = held; h < held + HELD_MAX; h++) {
		if (!h->h_used || h->h_uid != uid)
			continue;
		if (h->h_pid != 0 && helper_lost(h->h_pid)) {
			r = STALLED_WHY;
		} else if (now < h->h_mono + h->h_hold) {
			clock_text(h->h_wall, at, sizeof(at));
			clock_text(h->h_wall + h->h_hold, until, sizeof(until));
			snprintf(why, sizeof(why), "%s at %s; nothing is read "
			    "as this user before %s", h->h_why == HELD_LATE ?
			    "a process running as this user did not answer "
			    "within 10 s" : "processes running as this user "
			    "took more than 3 s in one load", at, until);
			r = why;
		}
		break;
	}
	pthread_mutex_unlock(&held_mtx);
	return r;
}
