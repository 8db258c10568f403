/* The per-VM lock file: one hypervisor per VM (vmlock.h). */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmlock.h"
#include "vmpaths.h"
#include "xmalloc.h"

/*
 * Named after the run directory as the kernel finds it, so that every
 * spelling of one directory (a trailing slash, "./", a symlink) shares
 * one lock root: two daemons on one directory must meet on its lock.
 * A directory not made yet: the path without its trailing slashes.
 */
char *
vmlock_root(const char *run_dir)
{
	char real[PATH_MAX];
	size_t n = strlen(run_dir);

	if (realpath(run_dir, real) != NULL)
		return xprintf("%s.lock", real);
	while (n > 1 && run_dir[n - 1] == '/')
		n--;
	return xprintf("%.*s.lock", (int)n, run_dir);
}

/* A directory of uid's, no symlink, that nobody else may write. */
static int
check_dir(const char *path, uid_t uid, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		snprintf(err, errlen, "lock directory %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != uid ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "lock directory %s: not a directory of "
		    "uid %u that only it may write", path, (unsigned)uid);
		return -1;
	}
	return 0;
}

static int
make_dir(const char *path, uid_t uid, mode_t mode, char *err, size_t errlen)
{
	if (mkdir(path, 0700) == 0) {
		/* mode and owner set explicitly: the umask is not ours */
		if (lchown(path, uid, (gid_t)-1) == -1 ||
		    chmod(path, mode) == -1) {
			snprintf(err, errlen, "lock directory %s: %s", path,
			    strerror(errno));
			return -1;
		}
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "lock directory %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return check_dir(path, uid, err, errlen);
}

int
vmlock_prepare(const char *root, uid_t owner, char *err, size_t errlen)
{
	char *dir;
	int rc;

	if (make_dir(root, 0, 0711, err, errlen) == -1)
		return -1;
	dir = xprintf("%s/%u", root, (unsigned)owner);
	rc = make_dir(dir, owner, 0700, err, errlen);
	free(dir);
	return rc;
}

/* The lock is held: say by whom, as far as the file tells. */
static void
held(int fd, char *err, size_t errlen)
{
	char buf[32];
	ssize_t n;
	long pid;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid > 0)
		snprintf(err, errlen, "already running (pid %ld)", pid);
	else
		snprintf(err, errlen, "already running");
}

/*
 * Open the lock file: a plain file of the owner's, never a link.  Only
 * a file created here is given to the owner (root making it in the
 * owner's directory); one found there must be the owner's already.
 */
static int
open_file(int dfd, const char *path, const char *file, uid_t owner,
    char *err, size_t errlen)
{
	const int flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
	struct stat st;
	int fd, made = 1;

	fd = openat(dfd, file, flags | O_CREAT | O_EXCL, 0600);
	if (fd == -1 && errno == EEXIST) {
		made = 0;
		fd = openat(dfd, file, flags);
	}
	if (fd == -1) {
		snprintf(err, errlen, "lock file %s/%s: %s", path, file,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || (st.st_uid != owner && !made) ||
	    (st.st_uid != owner && fchown(fd, owner, (gid_t)-1) == -1)) {
		snprintf(err, errlen, "lock file %s/%s: not a plain file of "
		    "uid %u", path, file, (unsigned)owner);
		close(fd);
		return -1;
	}
	return fd;
}

/* Lock FILE in the directory DIR: a descriptor, or -1 with err set. */
static int
take_in(const char *dir, const char *file, uid_t owner, char *err,
    size_t errlen)
{
	int dfd, fd = -1, taken = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		snprintf(err, errlen, "lock directory %s: %s", dir,
		    strerror(errno));
	else if ((fd = open_file(dfd, dir, file, owner, err, errlen)) != -1 &&
	    flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if ((taken = errno == EWOULDBLOCK))
			held(fd, err, errlen);
		else
			snprintf(err, errlen, "lock file %s/%s: %s", dir, file,
			    strerror(errno));
		close(fd);
		fd = -1;
	}
	if (dfd != -1)
		close(dfd);
	/*
	 * A new file must take a pid now: later ones are written over it
	 * in place, so a full file system cannot leave a lock that names
	 * no holder once bmd is gone.
	 */
	if (fd != -1 && vmlock_note_pid(fd, getpid()) == -1) {
		snprintf(err, errlen, "lock file %s/%s: cannot record its "
		    "holder: %s", dir, file, strerror(errno));
		close(fd);
		fd = -1;
	}
	errno = taken ? EWOULDBLOCK : errno;	/* held, for the caller */
	return fd;
}

int
vmlock_take(const char *root, uid_t owner, const char *name, int cloexec,
    char *err, size_t errlen)
{
	char *dir, *file;
	int fd;

	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL) {
		snprintf(err, errlen, "no lock file for this name");
		return -1;
	}
	dir = xprintf("%s/%u", root, (unsigned)owner);
	file = vm_file_name(name, "lock");
	fd = take_in(dir, file, owner, err, errlen);
	free(dir);
	free(file);
	if (fd != -1 && !cloexec && fcntl(fd, F_SETFD, 0) == -1) {
		snprintf(err, errlen, "lock file: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
vmlock_daemon(const char *root, char *err, size_t errlen)
{
	if (make_dir(root, 0, 0711, err, errlen) == -1)
		return -1;
	return take_in(root, VMLOCK_DAEMON, 0, err, errlen);
}

int
vmlock_daemon_is(const char *root, int fd)
{
	struct stat mine, there;
	char *path = xprintf("%s/%s", root, VMLOCK_DAEMON);
	int same;

	same = fstat(fd, &mine) == 0 && lstat(path, &there) == 0 &&
	    S_ISREG(there.st_mode) && mine.st_dev == there.st_dev &&
	    mine.st_ino == there.st_ino && flock(fd, LOCK_EX | LOCK_NB) == 0;
	free(path);
	return same;
}

/*
 * System calls and the stack only: a child under vfork calls it before
 * its execve, so that the file never names a process other than the
 * holder that outlives bmd.  "PID\n", or "PID loader\n" for a loader,
 * which holds the lock for a while but is not the VM.
 */
static int
note(int fd, pid_t pid, int loader)
{
	static const char role[] = " loader";
	struct stat st;
	char buf[48];
	size_t len, i;
	ssize_t w;
	int n = (int)sizeof(buf);
	unsigned long v = pid > 0 ? (unsigned long)pid : 0;

	/*
	 * Written over, then cut only if it was longer: a truncation to
	 * zero costs a journal update on ext4 and makes its last close
	 * write the file out (what protects files replaced by rewriting),
	 * at every start and stop of a VM.  A reader between the two calls
	 * sees the new pid first, and stops at its newline.
	 */
	buf[--n] = '\n';
	for (i = sizeof(role) - 1; loader && i > 0; i--)
		buf[--n] = role[i - 1];
	do
		buf[--n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	len = sizeof(buf) - (size_t)n;
	if ((w = pwrite(fd, buf + n, len, 0)) != (ssize_t)len) {
		if (w >= 0)
			errno = ENOSPC;		/* a short write */
		return -1;
	}
	if (fstat(fd, &st) == 0 && st.st_size > (off_t)len)
		(void)ftruncate(fd, (off_t)len);
	return 0;
}

int
vmlock_note_pid(int fd, pid_t pid)
{
	return note(fd, pid, 0);
}

int
vmlock_note_loader(int fd, pid_t pid)
{
	return note(fd, pid, 1);
}

/*
 * Is the lock held, and by which pid (as the file says)?  1: held; 0:
 * free or no such file.  Re-adoption asks this when a VM's runtime
 * record is missing or unreadable.
 */
char *
vmlock_path(const char *root, uid_t owner, const char *name)
{
	char *dir = xprintf("%s/%u", root, (unsigned)owner), *path;

	path = vm_path(dir, name, "lock");
	free(dir);
	return path;
}

int
vmlock_holder(const char *root, uid_t owner, const char *name, pid_t *pid,
    int *loader)
{
	char *path, buf[48], *end;
	ssize_t n;
	int fd, held_by_other;

	*pid = 0;
	*loader = 0;
	path = vmlock_path(root, owner, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return 0;
	held_by_other = flock(fd, LOCK_EX | LOCK_NB) == -1 &&
	    errno == EWOULDBLOCK;
	if (held_by_other && (n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		*pid = (pid_t)strtol(buf, &end, 10);
		*loader = strncmp(end, " loader\n", 8) == 0;
	}
	close(fd);	/* drops the lock if it was taken here */
	return held_by_other;
}

int
vmlock_disk(int fd, int rw)
{
	if (flock(fd, (rw ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 ||
	    errno != EWOULDBLOCK)
		return 0;
	return -1;
}
