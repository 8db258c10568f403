/*
 * Configuration loads run in a thread of their own, one at a time, so
 * that no request waits behind one: a big file, or a user's parser that
 * does not answer (up to HELPER_TIMEOUT_MS), delays only the requests
 * that need the new configuration (reload, boot, install).  The thread
 * only reads files and builds a struct conf; everything it leads to
 * (the VM table, replies) happens on the event loop, in the job's
 * callback.  BMD_LOAD_INLINE in the environment runs loads on the event
 * loop instead, as a single-threaded daemon would (and as one does when
 * no thread can be made), so that this path is tested.
 *
 * Queued loads are taken fairly, not in order: root's first, then the
 * user whose last load began longest ago, so that a user who asks for
 * one boot after another from many connections delays others' requests
 * by one load, not by every load she queued.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "helper.h"
#include "log.h"
#include "xmalloc.h"

struct loadjob {
	loadjob_fn		 lj_done;
	void			*lj_arg;
	struct conf		*lj_conf;
	struct diags		 lj_ds;
	struct conf_cache_stats	 lj_stats;
	char			*lj_only;	/* the vm section wanted, or NULL */
	uid_t			 lj_uid;	/* who asked */
	struct user_info	**lj_users;	/* the owners, looked up */
	size_t			 lj_nusers;
	TAILQ_ENTRY(loadjob)	 lj_entry;
};

static TAILQ_HEAD(, loadjob) queue = TAILQ_HEAD_INITIALIZER(queue);
static struct loadjob	*running;
static pthread_t	 worker;
static int		 wake[2] = { -1, -1 };
static struct event	*wake_ev;
static struct event	*slow_ev;	/* the running load is slow */
static int		 inline_only;	/* BMD_LOAD_INLINE */
/* the files parsed by earlier loads: only one load at a time uses it */
static struct conf_cache *cache;

/* a load running this long is logged: what waits for it is told */
#define SLOW_SEC	15
/* a quit waits this long for a running load: its children's deadline */
#define QUIT_WAIT_MS	(HELPER_TIMEOUT_MS + 2000)

#define SERVED_MAX	64
/* when each user's last load began: 0 root, 1 not lately, then later */
static struct {
	uid_t		uid;
	unsigned long	tick;
} served[SERVED_MAX];
static unsigned long	 ticks = 1;

static void
load(struct loadjob *j)
{
	struct conf_load_opts lo;

	memset(&lo, 0, sizeof(lo));
	lo.lo_path = bmd.b_conf_path;
	lo.lo_ids = bmd.b_ids;
	lo.lo_check_files = 1;
	lo.lo_validate = backend_validate_vm;
	if (cache == NULL)
		cache = conf_cache_new();
	lo.lo_cache = cache;
	lo.lo_only = j->lj_only;
	lo.lo_holder = holders_get;
	j->lj_conf = conf_load(&lo, &j->lj_ds);
	conf_cache_stats(cache, &j->lj_stats);
	/* here, not on the event loop: the name service may be slow */
	j->lj_users = users_lookup_owners(j->lj_conf, 0, &j->lj_nusers);
}

static void *
work(void *arg)
{
	struct loadjob *j = arg;
	char c = 'x';

	load(j);
	while (write(wake[1], &c, 1) == -1 && errno == EINTR)
		;
	return NULL;
}

static void
finish(struct loadjob *j)
{
	size_t i;

	for (i = 0; i < j->lj_nusers; i++)
		users_put(j->lj_users[i]);
	free(j->lj_users);
	if (j->lj_conf != NULL)
		log_info("configuration loaded: %zu files parsed, %zu "
		    "unchanged, %zu VMs evaluated", j->lj_stats.cs_parsed,
		    j->lj_stats.cs_reused, j->lj_conf->c_nevaluated);
	ids_save();	/* the load may have handed out IDs */
	holders_save();
	j->lj_done(j->lj_conf, &j->lj_ds, j->lj_arg);
	free(j->lj_only);
	free(j);
}

static void start_next(void);

/* uid's place in the order (root's: *none, always 0) */
static unsigned long *
served_slot(uid_t uid, unsigned long *none)
{
	size_t i, old = 0;

	*none = 0;
	if (uid == 0)
		return none;
	for (i = 0; i < SERVED_MAX; i++) {
		if (served[i].tick != 0 && served[i].uid == uid)
			return &served[i].tick;
		if (served[i].tick < served[old].tick)
			old = i;
	}
	served[old].uid = uid;
	served[old].tick = 1;
	return &served[old].tick;
}

/* The queued job to run next: the earliest of the least recently served. */
static struct loadjob *
pick(void)
{
	struct loadjob *j, *best = NULL;
	unsigned long t, bt = 0, none;

	TAILQ_FOREACH(j, &queue, lj_entry) {
		t = *served_slot(j->lj_uid, &none);
		if (best == NULL || t < bt) {
			best = j;
			bt = t;
		}
	}
	if (best != NULL)
		*served_slot(best->lj_uid, &none) = ++ticks;
	return best;
}

static void
woken(evutil_socket_t fd, short what, void *arg)
{
	struct loadjob *j = running;
	char c;

	(void)what;
	(void)arg;
	if (read(fd, &c, 1) != 1 || j == NULL)
		return;
	pthread_join(worker, NULL);
	running = NULL;
	evtimer_del(slow_ev);
	finish(j);
	start_next();
}

/* Once per load: nothing else shows why boots and reloads wait. */
static void
slow(evutil_socket_t fd, short what, void *arg)
{
	struct loadjob *j;
	size_t n = 0;

	(void)fd;
	(void)what;
	(void)arg;
	TAILQ_FOREACH(j, &queue, lj_entry)
		n++;
	log_warnx("a configuration load has run for %d s and has not ended "
	    "(a user's file or the name service does not answer?); boot, "
	    "install and reload wait for it, %zu more queued", SLOW_SEC, n);
}

/* The thread gets no signal: they are the event loop's. */
static int
spawn(struct loadjob *j)
{
	static const struct timeval slow_tv = { SLOW_SEC, 0 };
	sigset_t all, old;
	int rc;

	if (wake_ev == NULL || inline_only)
		return -1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&worker, NULL, work, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		evtimer_add(slow_ev, &slow_tv);
	return rc == 0 ? 0 : -1;
}

static void
start_next(void)
{
	struct loadjob *j;

	while (running == NULL && (j = pick()) != NULL) {
		TAILQ_REMOVE(&queue, j, lj_entry);
		running = j;
		if (spawn(j) == 0)
			return;
		/* no thread: load here, as a single-threaded daemon would */
		running = NULL;
		load(j);
		finish(j);
	}
}

void
loadjob_init(void)
{
	if (getenv("BMD_LOAD_INLINE") != NULL) {
		inline_only = 1;
		log_info("configuration loads run on the event loop");
		return;
	}
	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("loadjob: pipe; configuration loads block requests");
		return;
	}
	wake_ev = event_new(bmd.b_base, wake[0], EV_READ | EV_PERSIST, woken,
	    NULL);
	if (wake_ev == NULL || event_add(wake_ev, NULL) == -1 ||
	    (slow_ev = evtimer_new(bmd.b_base, slow, NULL)) == NULL)
		fatalx("loadjob: cannot watch the pipe");
}

/*
 * Load the configuration, then call done(c, ds, arg) on the event loop;
 * done owns c and ds (c is NULL when bmd quit before the load ran).
 * Loads queued meanwhile start after this one, so each sees the files
 * as they are when it starts.
 */
void
loadjob_submit(loadjob_fn done, void *arg)
{
	loadjob_submit_for(NULL, 0, done, arg);
}

/*
 * The same for a boot asked by uid: only the VM of vm section `only' is
 * wanted, so the others need not be evaluated (conf.h, lo_only).
 */
void
loadjob_submit_for(const char *only, uid_t uid, loadjob_fn done, void *arg)
{
	struct loadjob *j = xcalloc(1, sizeof(*j));

	j->lj_only = only != NULL ? xstrdup(only) : NULL;
	j->lj_uid = uid;
	j->lj_done = done;
	j->lj_arg = arg;
	diags_init(&j->lj_ds);
	TAILQ_INSERT_TAIL(&queue, j, lj_entry);
	start_next();
}

/*
 * bmd quits: a running load ends first, so that no parser child it
 * started outlives the daemon; it kills them itself at their deadline.
 * A load that is not over by then waits on something no deadline covers
 * (the name service): bmd goes without it, and the process's end ends it.
 */
void
loadjob_fini(void)
{
	struct pollfd pfd = { .fd = wake[0], .events = POLLIN };
	struct loadjob *j;
	char c;
	int n;

	if ((j = running) != NULL) {
		while ((n = poll(&pfd, 1, QUIT_WAIT_MS)) == -1 &&
		    errno == EINTR)
			;
		if (n != 1) {
			log_warnx("a configuration load has not ended within "
			    "%d s: quitting without it", QUIT_WAIT_MS / 1000);
			return;
		}
		(void)read(wake[0], &c, 1);
		pthread_join(worker, NULL);
		running = NULL;
		finish(j);
	}
	/* never loaded: their callbacks get no configuration */
	while ((j = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, j, lj_entry);
		finish(j);
	}
	conf_cache_free(cache);
	cache = NULL;
}

/* Is a load running or waiting (an upgrade waits for it)? */
int
loadjob_busy(void)
{
	return running != NULL || !TAILQ_EMPTY(&queue);
}
