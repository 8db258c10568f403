/*
 * Who a uid is (name, home, shell, groups) for the event loop, which
 * never asks the name service itself: a name service that does not
 * answer (an LDAP server gone) would stop every request.  Lookups run
 * in a thread of their own, one at a time; each load looks up the VMs'
 * owners too (loadjob.c), so a boot runs its VM with the owner's groups
 * as they are then.  What is known is kept, and looked up again in the
 * background once older than USERS_TTL_SEC.  A request from a uid not
 * known yet waits for its lookup, at most USERS_WAIT_MS, then goes on
 * without the name.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>		/* getgrouplist(3) on FreeBSD (glibc: grp.h) */

#include <event2/event.h>

#include "bmd.h"
#include "log.h"
#include "strmap.h"
#include "xmalloc.h"

#define USERS_TTL_SEC	60
#define USERS_WAIT_MS	2000
#define USERS_GROUPS	256
#define USERS_PWBUF	16384

struct waiter {
	uid_t			 w_uid;
	users_fn		 w_fn;
	void			*w_arg;
	struct event		*w_timer;
	TAILQ_ENTRY(waiter)	 w_entry;
};

/* zeroed maps are empty: the first load puts owners before users_init */
static struct strmap	 known;		/* "uid" -> struct user_info */
static struct strmap	 asked;		/* "uid" -> ASKED or OVERDUE */
#define ASKED	((void *)1)	/* looked up or queued */
#define OVERDUE	((void *)2)	/* the same, waited for in vain */
static TAILQ_HEAD(, waiter) waiters = TAILQ_HEAD_INITIALIZER(waiters);

/* the thread's queue and results, under lock */
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 more = PTHREAD_COND_INITIALIZER;
static uid_t		*todo;
static size_t		 ntodo, todo_cap;
static struct user_info	**found;
static size_t		 nfound, found_cap;
static int		 wake[2] = { -1, -1 };
static struct event	*wake_ev;
static int		 threaded;

static void
key_of(uid_t uid, char *key, size_t len)
{
	snprintf(key, len, "%lu", (unsigned long)uid);
}

static time_t
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Ask the name service about uid (any thread: reentrant calls only).
 * A uid it does not know gets a record without a name.
 */
struct user_info *
users_lookup(uid_t uid)
{
	struct user_info *ui = xcalloc(1, sizeof(*ui));
	struct passwd pwbuf, *pw = NULL;
	char *buf = xmalloc(USERS_PWBUF);
	int n = USERS_GROUPS;

	ui->ui_uid = uid;
	ui->ui_at = now_sec();
	if (getpwuid_r(uid, &pwbuf, buf, USERS_PWBUF, &pw) == 0 &&
	    pw != NULL) {
		ui->ui_name = xstrdup(pw->pw_name);
		ui->ui_home = xstrdup(pw->pw_dir);
		ui->ui_shell = xstrdup(pw->pw_shell != NULL &&
		    pw->pw_shell[0] != '\0' ? pw->pw_shell : "/bin/sh");
		ui->ui_gid = pw->pw_gid;
		ui->ui_groups = xcalloc(USERS_GROUPS, sizeof(gid_t));
		if (getgrouplist(pw->pw_name, pw->pw_gid, ui->ui_groups,
		    &n) == -1)
			n = USERS_GROUPS;	/* truncated: the first ones */
		ui->ui_ngroups = n;
	}
	free(buf);
	return ui;
}

static int
uid_cmp(const void *a, const void *b)
{
	uid_t x = *(const uid_t *)a, y = *(const uid_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * From a load (its thread): the owners of c's VMs, and with self bmd's
 * own user (hooks run as it), looked up, each once, for users_put on the
 * event loop; how many in *n.
 */
struct user_info **
users_lookup_owners(const struct conf *c, int self, size_t *n)
{
	size_t i, k = 0, nvms = c != NULL ? c->c_nvms : 0;
	struct user_info **v;
	uid_t *uids;

	uids = xcalloc(nvms + 1, sizeof(*uids));
	for (i = 0; i < nvms; i++)
		uids[i] = c->c_vms[i]->vc_owner;
	if (self)
		uids[nvms++] = getuid();
	qsort(uids, nvms, sizeof(*uids), uid_cmp);
	for (i = 0; i < nvms; i++)
		if (k == 0 || uids[k - 1] != uids[i])
			uids[k++] = uids[i];
	v = xcalloc(k, sizeof(*v));
	for (i = 0; i < k; i++)
		v[i] = users_lookup(uids[i]);
	free(uids);
	*n = k;
	return v;
}

void
users_info_free(void *p)
{
	struct user_info *ui = p;

	if (ui == NULL)
		return;
	free(ui->ui_name);
	free(ui->ui_home);
	free(ui->ui_shell);
	free(ui->ui_groups);
	free(ui);
}

/* A wait ends: its callback is called (fn_too), then it is gone. */
static void
waiter_end(struct waiter *w, int fn_too)
{
	TAILQ_REMOVE(&waiters, w, w_entry);
	event_free(w->w_timer);
	if (fn_too)
		w->w_fn(w->w_arg);
	free(w);
}

/* Each wait for uid ends (a callback may end or add others: start over). */
static void
wake_waiters(uid_t uid)
{
	struct waiter *w;

	for (;;) {
		TAILQ_FOREACH(w, &waiters, w_entry)
			if (w->w_uid == uid)
				break;
		if (w == NULL)
			return;
		waiter_end(w, 1);
	}
}

/* On the event loop: what a lookup found replaces what was known. */
void
users_put(struct user_info *ui)
{
	char key[32];

	key_of(ui->ui_uid, key, sizeof(key));
	users_info_free(strmap_put(&known, key, ui));
	wake_waiters(ui->ui_uid);
}

static void *
work(void *arg)
{
	struct user_info *ui;
	uid_t uid;
	char c = 'x';

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (ntodo == 0)
			pthread_cond_wait(&more, &lock);
		uid = todo[0];
		memmove(todo, todo + 1, --ntodo * sizeof(*todo));
		pthread_mutex_unlock(&lock);
		ui = users_lookup(uid);
		pthread_mutex_lock(&lock);
		if (nfound == found_cap)
			found = xreallocarray(found, found_cap = found_cap * 2 +
			    8, sizeof(*found));
		found[nfound++] = ui;
		while (write(wake[1], &c, 1) == -1 && errno == EINTR)
			;
	}
	return NULL;
}

static void
woken(evutil_socket_t fd, short what, void *arg)
{
	struct user_info **got;
	char buf[64], key[32];
	size_t n, i;

	(void)what;
	(void)arg;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&lock);
	got = found;
	n = nfound;
	found = NULL;
	nfound = found_cap = 0;
	pthread_mutex_unlock(&lock);
	for (i = 0; i < n; i++) {
		key_of(got[i]->ui_uid, key, sizeof(key));
		strmap_put(&asked, key, NULL);
		users_put(got[i]);
	}
	free(got);
}

/* Queue a lookup of uid, unless one is queued (no thread: do it now). */
static void
ask(uid_t uid)
{
	char key[32];

	key_of(uid, key, sizeof(key));
	if (strmap_get(&asked, key) != NULL)
		return;
	if (!threaded) {
		users_put(users_lookup(uid));
		return;
	}
	strmap_put(&asked, key, ASKED);
	pthread_mutex_lock(&lock);
	if (ntodo == todo_cap)
		todo = xreallocarray(todo, todo_cap = todo_cap * 2 + 8,
		    sizeof(*todo));
	todo[ntodo++] = uid;
	pthread_cond_signal(&more);
	pthread_mutex_unlock(&lock);
}

/*
 * What is known of uid, or NULL when nothing is yet; never waits.  A
 * record older than USERS_TTL_SEC is returned, and looked up again.
 */
const struct user_info *
users_get(uid_t uid)
{
	struct user_info *ui;
	char key[32];

	key_of(uid, key, sizeof(key));
	ui = strmap_get(&known, key);
	if (ui == NULL || now_sec() - ui->ui_at >= USERS_TTL_SEC)
		ask(uid);
	return strmap_get(&known, key);
}

static void
waited(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	char key[32];

	(void)fd;
	(void)what;
	log_warnx("the name service has not answered about uid %lu within "
	    "%d ms: going on without its name", (unsigned long)w->w_uid,
	    USERS_WAIT_MS);
	key_of(w->w_uid, key, sizeof(key));
	strmap_put(&asked, key, OVERDUE);
	waiter_end(w, 1);
}

/*
 * 1 when uid is known, or its lookup has been waited for in vain (no
 * one waits for it again until it ends); else 0, and fn(arg) is called
 * once the lookup ends or after USERS_WAIT_MS, whichever comes first
 * (never from within this call).
 */
int
users_wait(uid_t uid, users_fn fn, void *arg)
{
	struct timeval tv = { USERS_WAIT_MS / 1000,
	    (USERS_WAIT_MS % 1000) * 1000 };
	struct waiter *w;
	char key[32];

	key_of(uid, key, sizeof(key));
	if (users_get(uid) != NULL || strmap_get(&asked, key) == OVERDUE)
		return 1;
	TAILQ_FOREACH(w, &waiters, w_entry)
		if (w->w_arg == arg)
			return 0;
	w = xcalloc(1, sizeof(*w));
	w->w_uid = uid;
	w->w_fn = fn;
	w->w_arg = arg;
	if ((w->w_timer = evtimer_new(bmd.b_base, waited, w)) == NULL)
		fatalx("users: cannot make a timer");
	evtimer_add(w->w_timer, &tv);
	TAILQ_INSERT_TAIL(&waiters, w, w_entry);
	return 0;
}

/* arg goes away: its wait, if any, with it. */
void
users_cancel(void *arg)
{
	struct waiter *w, *next;

	TAILQ_FOREACH_SAFE(w, &waiters, w_entry, next)
		if (w->w_arg == arg)
			waiter_end(w, 0);
}

/* A user's name for messages, allocated; the number when it has none. */
char *
user_name(uid_t uid)
{
	const struct user_info *ui = users_get(uid);

	return ui != NULL && ui->ui_name != NULL ? xstrdup(ui->ui_name) :
	    xprintf("%lu", (unsigned long)uid);
}

/*
 * The thread gets no signal: they are the event loop's.  It is never
 * joined: at exit it may still wait on the name service.
 */
void
users_init(void)
{
	pthread_t t;
	sigset_t all, old;
	int rc;

	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    (wake_ev = event_new(bmd.b_base, wake[0], EV_READ | EV_PERSIST,
	    woken, NULL)) == NULL || event_add(wake_ev, NULL) == -1) {
		log_warn("users: no lookup thread; user lookups block "
		    "requests");
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t, NULL, work, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("users: no lookup thread; user lookups block "
		    "requests");
		return;
	}
	pthread_detach(t);
	threaded = 1;
}
