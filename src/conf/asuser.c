/* A user's paths, reached by a process with her rights: never bmd's threads. */
/*
 * A user may point a disk or an include at a file system that never
 * answers (her FUSE mount): whatever waits there waits for ever, not
 * even SIGKILL ends it.  So bmd stats and reads her paths through an
 * agent, a child running with her effective rights (its real uid stays
 * root, so that she can neither signal nor trace it), one per user and
 * group per load.  An agent that does not answer within
 * HELPER_TIMEOUT_MS is killed and given up; for a while after (held.c),
 * nothing more is asked as that user, in this load or the next: such
 * requests fail at once (EDEADLK, conf_as_strerror).
 *
 * Her own FUSE mount (sshfs) lets in only processes whose real, effective
 * and saved ids are all hers, so a path that answers EACCES is asked
 * again of a second agent with all of her ids, as her hypervisor would
 * open it.  She can stop that one, as she can the parser of her file:
 * held.c bounds what that costs others.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "load.h"
#include "platform.h"
#include "xmalloc.h"

enum { A_STAT = 1, A_OPEN, A_READ };

struct areq {
	uint32_t	op, len;	/* len bytes of path follow */
};

struct arep {
	int32_t		rc, err;
	uint32_t	len;		/* bytes of file that follow */
	uint32_t	more;		/* A_READ: another reply follows */
	struct stat	st;
};

#define AGENT_FD	3
#define CHUNK		65536
#define AGENTS_MAX	32	/* users with an agent in one load */

struct agent {
	uid_t	a_uid;
	gid_t	a_gid;	/* as asked: (gid_t)-1 is her primary group */
	int	a_full;	/* real and saved ids hers too */
	pid_t	a_pid;
	int	a_fd;
};

/* loads run one at a time, but at start on the main thread */
static _Thread_local struct agent agents[AGENTS_MAX];
static _Thread_local size_t nagents;

/* why the last request of this thread was not tried (EDEADLK) */
static _Thread_local const char *held_why;
/* which agent opened the file conf_read_as reads */
static _Thread_local int opened_full;

static int
io_full(int fd, void *buf, size_t n, int out)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		/* a gone peer is an error here, never a SIGPIPE */
		r = out ? send(fd, p, n, MSG_NOSIGNAL) : read(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
reply(int rc, int err, const struct stat *st, const void *data, size_t len,
    int more)
{
	struct arep r;

	memset(&r, 0, sizeof(r));
	r.rc = rc;
	r.err = err;
	r.len = (uint32_t)len;
	r.more = (uint32_t)more;
	if (st != NULL)
		r.st = *st;
	if (io_full(AGENT_FD, &r, sizeof(r), 1) == -1 ||
	    (len > 0 && io_full(AGENT_FD, (void *)data, len, 1) == -1))
		_exit(0);
}

/* The file opened last, whole, in pieces; then its fstat. */
static void
agent_read(int fd)
{
	static char buf[CHUNK];
	size_t total = 0;
	struct stat st;
	ssize_t r;

	for (;;) {
		if ((r = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if ((total += (size_t)r) > MAX_FILE_SIZE) {
			reply(-1, EFBIG, NULL, NULL, 0, 0);
			return;
		}
		reply(0, 0, NULL, buf, (size_t)r, 1);
	}
	if (r == -1 || fstat(fd, &st) == -1)
		reply(-1, errno, NULL, NULL, 0, 0);
	else
		reply(0, 0, &st, NULL, 0, 0);
}

/* Only what is safe in the child of a threaded process: no malloc. */
static void __attribute__((noreturn))
agent_main(void)
{
	char path[PATH_MAX];
	struct areq q;
	struct stat st;
	int fd = -1, rc;

	for (;;) {
		if (io_full(AGENT_FD, &q, sizeof(q), 0) == -1 ||
		    q.len >= sizeof(path) ||
		    io_full(AGENT_FD, path, q.len, 0) == -1)
			_exit(0);
		path[q.len] = '\0';
		switch (q.op) {
		case A_STAT:
			rc = stat(path, &st);
			reply(rc, rc == -1 ? errno : 0, &st, NULL, 0, 0);
			break;
		case A_OPEN:
			if (fd != -1)
				close(fd);
			fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
			if (fd == -1 || fstat(fd, &st) == -1)
				reply(-1, errno, NULL, NULL, 0, 0);
			else
				reply(0, 0, &st, NULL, 0, 0);
			break;
		case A_READ:
			if (fd == -1)
				reply(-1, EBADF, NULL, NULL, 0, 0);
			else
				agent_read(fd);
			break;
		default:
			_exit(0);
		}
	}
}

static void
agent_drop(struct agent *a, int late)
{
	close(a->a_fd);
	helper_reap(a->a_pid, 1);
	if (late)
		conf_user_gave_up(a->a_uid, a->a_pid);
	*a = agents[--nagents];
}

static struct agent *
agent_start(uid_t uid, gid_t gid, int full)
{
	struct passwd pwbuf, *pw = NULL;
	gid_t groups[NGROUPS_MAX];
	int ng = NGROUPS_MAX, sv[2];
	char buf[4096];
	struct agent *a;
	pid_t pid;

	if (nagents == AGENTS_MAX)
		agent_drop(&agents[0], 0);
	if (getpwuid_r(uid, &pwbuf, buf, sizeof(buf), &pw) != 0 || pw == NULL) {
		errno = EACCES;
		return NULL;
	}
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) == -1)
		ng = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return NULL;
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		if (dup2(sv[1], AGENT_FD) == -1)
			_exit(3);
		plat_closefrom(AGENT_FD + 1);
		if ((full ? plat_child_become : plat_become_effective)(uid,
		    gid == (gid_t)-1 ? pw->pw_gid : gid, (size_t)ng,
		    groups) == -1)
			_exit(3);
		agent_main();
	}
	close(sv[1]);
	a = &agents[nagents++];
	a->a_uid = uid;
	a->a_gid = gid;
	a->a_full = full;
	a->a_pid = pid;
	a->a_fd = sv[0];
	return a;
}

static struct agent *
agent_for(uid_t uid, gid_t gid, int full)
{
	size_t i;

	if ((held_why = conf_user_held(uid)) != NULL) {
		errno = EDEADLK;
		return NULL;
	}
	for (i = 0; i < nagents; i++)
		if (agents[i].a_uid == uid && agents[i].a_gid == gid &&
		    agents[i].a_full == full)
			return &agents[i];
	return agent_start(uid, gid, full);
}

/* n bytes from the agent by the deadline; -1 with errno otherwise */
static int
agent_recv(struct agent *a, void *buf, size_t n, const struct timespec *dl)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		if (helper_wait(a->a_fd, dl) == -1)
			return -1;	/* ETIMEDOUT */
		if ((r = read(a->a_fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = EIO;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* An agent that failed: gone (EIO), or given up (ETIMEDOUT). */
static int
agent_fail(struct agent *a)
{
	int err = errno;

	agent_drop(a, err == ETIMEDOUT);
	errno = err == ETIMEDOUT ? ETIMEDOUT : EIO;
	return -1;
}

/* One reply: r->rc and r->err are the agent's answer. */
static int
agent_ask(struct agent *a, int op, const char *path, struct arep *r,
    const struct timespec *dl)
{
	struct areq q = { (uint32_t)op, (uint32_t)strlen(path) };

	if (io_full(a->a_fd, &q, sizeof(q), 1) == -1 ||
	    io_full(a->a_fd, (void *)path, q.len, 1) == -1 ||
	    agent_recv(a, r, sizeof(*r), dl) == -1 ||
	    (r->len > 0 && op != A_READ)) {
		if (errno != ETIMEDOUT)
			errno = EIO;
		return agent_fail(a);
	}
	return 0;
}

static struct agent *
agent_with_deadline(uid_t uid, gid_t gid, int full, struct timespec *dl)
{
	helper_deadline(dl, HELPER_TIMEOUT_MS);
	return agent_for(uid, gid, full);
}

/* what was asked since agent_with_deadline counts to uid's time */
static void
agent_took(uid_t uid, const struct timespec *dl)
{
	conf_user_took(uid, helper_ms_used(dl, HELPER_TIMEOUT_MS));
}

/* A_STAT or A_OPEN, by one agent: the answer's stat */
static int
ask_stat_of(uid_t uid, gid_t gid, int full, int op, const char *path,
    struct stat *st)
{
	struct timespec dl;
	struct agent *a;
	struct arep r;
	int rc;

	if ((a = agent_with_deadline(uid, gid, full, &dl)) == NULL)
		return -1;
	rc = agent_ask(a, op, path, &r, &dl);
	agent_took(uid, &dl);
	if (rc == -1)
		return -1;
	if (r.rc == -1) {
		errno = r.err;
		return -1;
	}
	*st = r.st;
	return 0;
}

/* EACCES, maybe her own FUSE mount: then as her in all her ids */
static int
ask_stat(uid_t uid, gid_t gid, int op, const char *path, struct stat *st)
{
	int full = 0, rc;

	if ((rc = ask_stat_of(uid, gid, 0, op, path, st)) == -1 &&
	    errno == EACCES)
		rc = ask_stat_of(uid, gid, full = 1, op, path, st);
	if (op == A_OPEN)
		opened_full = full;
	return rc;
}

int
conf_stat_as(uid_t uid, gid_t gid, const char *path, struct stat *st)
{
	if (geteuid() != 0 || uid == 0)
		return stat(path, st);
	return ask_stat(uid, gid, A_STAT, path, st);
}

int
conf_open_as(uid_t uid, const char *path, struct stat *st)
{
	return ask_stat(uid, (gid_t)-1, A_OPEN, path, st);
}

/*
 * The file conf_open_as opened last, whole, into *data (*len bytes);
 * after: its fstat once read.
 */
int
conf_read_as(uid_t uid, char **data, size_t *len, struct stat *after)
{
	struct timespec dl;
	struct agent *a;
	struct arep r;
	size_t cap = 0;
	int op = A_READ, rc = -1;

	*data = NULL;
	*len = 0;
	if ((a = agent_with_deadline(uid, (gid_t)-1, opened_full, &dl)) ==
	    NULL)
		return -1;
	for (;;) {
		if (op == A_READ ? agent_ask(a, A_READ, "", &r, &dl) == -1 :
		    agent_recv(a, &r, sizeof(r), &dl) == -1)
			break;
		op = 0;
		if (r.len > CHUNK || *len + r.len > MAX_FILE_SIZE) {
			errno = EIO;
			break;
		}
		if (*len + r.len > cap) {
			cap = cap ? cap * 2 : (size_t)CHUNK * 2;
			*data = xreallocarray(*data, cap, 1);
		}
		if (r.len > 0 && agent_recv(a, *data + *len, r.len, &dl) == -1)
			break;
		*len += r.len;
		if (r.more)
			continue;
		if (r.rc == -1) {
			errno = r.err;
			goto fail;
		}
		*after = r.st;
		rc = 0;
		goto done;
	}
	if (op == 0)
		agent_fail(a);
fail:
	free(*data);
	*data = NULL;
done:
	agent_took(uid, &dl);
	return rc;
}

void
conf_agents_end(void)
{
	while (nagents > 0)
		agent_drop(&agents[nagents - 1], 0);
	conf_user_load_end();
}

_Static_assert(HELPER_TIMEOUT_MS == 10000, "the message says 10 s");

const char *
conf_as_strerror(int err)
{
	static _Thread_local char why[240];

	if (err == ETIMEDOUT)
		return "no answer within 10 s; given up (a file system that "
		    "does not answer?)";
	if (err == EDEADLK) {
		snprintf(why, sizeof(why), "not tried: %s", held_why ?
		    held_why : STALLED_WHY);
		return why;
	}
	return strerror(err);
}
