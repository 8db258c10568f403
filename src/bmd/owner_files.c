/*
 * The files of a user's VM whose hypervisor runs as root (bhyve): opened
 * by the start check, as the owner, and passed to bhyve and bhyveload as
 * /dev/fd/N.  Opened by path as root after the check, they would be
 * whatever a link she swapped in between names.  Disks, root's VMs' too,
 * are locked on the descriptors bhyve inherits: two VMs never write one
 * disk, whatever paths name it.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "fdpass.h"
#include "vmlock.h"
#include "xmalloc.h"

_Static_assert(BE_MAXOWNERFILES <= FDPASS_MAX, "one message passes them");

/* A disk as a file or device, whatever path reached it. */
struct disk_id {
	int		 di_set;
	int		 di_dev;		/* a device: by its number */
	dev_t		 di_fs;
	ino_t		 di_ino;
};

struct owner_files {
	size_t		 f_n;				/* paths */
	size_t		 f_nfd;				/* received */
	int		 f_fd[BE_MAXOWNERFILES];
	char		*f_path[BE_MAXOWNERFILES];	/* as checked */
	char		 f_as[BE_MAXOWNERFILES][24];	/* "/dev/fd/N" */
	const char	*f_asp[BE_MAXOWNERFILES];
	/* the disks, for as long as the run lasts */
	char		 f_lock[BE_MAXOWNERFILES];	/* 0, 'r' or 'w' */
	char		 f_mark[BE_MAXOWNERFILES];	/* 'L': locked */
	struct disk_id	 f_id[BE_MAXOWNERFILES];
};

static int
list(const struct vm_conf *vc, struct owner_file *of)
{
	const struct backend *be = backend_get(vc->vc_backend);

	if (be == NULL || be->be_owner_files == NULL)
		return 0;
	return be->be_owner_files(vc, of, BE_MAXOWNERFILES);
}

/* Has a start of this VM files to open and lock in its check? */
int
owner_files_wanted(const struct vm_conf *vc)
{
	struct owner_file of[BE_MAXOWNERFILES];

	return list(vc, of) != 0;
}

/*
 * The lock bhyve does not take, on a disk: 'L' when another process
 * holds one (bmd says which VM, if it is one of its own), else '-'.
 */
static char
lock(int fd, const struct owner_file *of)
{
	return of->of_lock && vmlock_disk(fd, of->of_rw) == -1 ? 'L' : '-';
}

/*
 * At the check's start: the files it opens (NULL: none).  A restart in
 * place (prev: the run's last files) still holds the disks it names
 * again, as known, until its check answers: its bhyve, and the lock,
 * are gone meanwhile.
 */
struct owner_files *
owner_files_begin(const struct vm_conf *vc, const struct owner_files *prev)
{
	struct owner_file of[BE_MAXOWNERFILES];
	struct owner_files *f;
	size_t j;
	int i, n = list(vc, of);

	if (n <= 0)
		return NULL;	/* too many: the check says so */
	f = xcalloc(1, sizeof(*f));
	for (i = 0; i < n; i++) {
		f->f_lock[f->f_n] = !of[i].of_lock ? 0 : of[i].of_rw ? 'w' :
		    'r';
		for (j = 0; prev != NULL && j < prev->f_n; j++)
			if (f->f_lock[f->f_n] != 0 && prev->f_lock[j] != 0 &&
			    strcmp(prev->f_path[j], of[i].of_path) == 0)
				f->f_id[f->f_n] = prev->f_id[j];
		f->f_path[f->f_n++] = xstrdup(of[i].of_path);
	}
	return f;
}

/* In the check's child, as the owner: open and send them, or say why not. */
void
owner_files_child(int sock, const struct vm_conf *vc, const char *user)
{
	struct owner_file of[BE_MAXOWNERFILES];
	int i, n = list(vc, of), fds[BE_MAXOWNERFILES], fl;
	char marks[BE_MAXOWNERFILES];

	if (n < 0) {
		dprintf(sock, "more than %d files for bhyve to open",
		    BE_MAXOWNERFILES);
		_exit(1);
	}
	for (i = 0; i < n; i++) {
		/* non-blocking for the open only: a tty waits for carrier */
		fds[i] = open(of[i].of_path, (of[i].of_rw ? O_RDWR :
		    O_RDONLY) | O_NOCTTY | O_NONBLOCK);
		if (fds[i] == -1 || (fl = fcntl(fds[i], F_GETFL)) == -1 ||
		    fcntl(fds[i], F_SETFL, fl & ~O_NONBLOCK) == -1) {
			dprintf(sock, "%s %s: %s cannot open it (%s)",
			    of[i].of_key, of[i].of_path, user,
			    strerror(errno));
			_exit(1);
		}
		marks[i] = lock(fds[i], &of[i]);
	}
	/* a mark each, the descriptors with them */
	if (n > 0 && fdpass_send(sock, marks, (size_t)n, fds, (size_t)n) == -1)
		_exit(1);
}

/*
 * In bmd: read what the check says, keeping in f the descriptors that
 * come with it (NULL: closed).  As read(2).
 */
ssize_t
owner_files_read(int sock, char *buf, size_t len, struct owner_files *f)
{
	int fds[FDPASS_MAX];
	size_t n, k;
	ssize_t r;

	r = fdpass_recv(sock, buf, len, fds, FDPASS_MAX, &n);
	if (r > 0 && n > 0 && f != NULL && f->f_nfd == 0) {
		/* the marks came with them: not part of what it says */
		k = (size_t)r < f->f_n ? (size_t)r : f->f_n;
		memcpy(f->f_mark, buf, k);
		memmove(buf, buf + k, (size_t)r - k);
		r -= (ssize_t)k;
		if (r == 0)
			r = -1, errno = EAGAIN;	/* not the end: read on */
	}
	for (k = 0; k < n; k++) {
		if (f != NULL && f->f_nfd < f->f_n)
			f->f_fd[f->f_nfd++] = fds[k];
		else
			close(fds[k]);
	}
	return r;
}

static int
same(const struct disk_id *a, const struct disk_id *b)
{
	return a->di_set && b->di_set && a->di_dev == b->di_dev &&
	    a->di_fs == b->di_fs && a->di_ino == b->di_ino;
}

/* Whose and which, to root or to the same owner only. */
static void
conflict(const struct vm *vm, const struct vm *o,
    const struct owner_files *f, size_t i, const char *its, char *why,
    size_t len)
{
	const char *what = f->f_id[i].di_dev ? "device" : "file";

	if (vm->vm_conf->vc_owner != 0 &&
	    vm->vm_conf->vc_owner != o->vm_conf->vc_owner)
		snprintf(why, len, "disk %s is in use by another user's VM "
		    "(the same %s)", f->f_path[i], what);
	else
		snprintf(why, len, "disk %s is in use by vm %s (the same %s "
		    "as its disk %s)", f->f_path[i], o->vm_conf->vc_name,
		    what, its);
}

/* Another VM's run on f's i-th disk: why in why, else 0. */
static int
taken(const struct vm *vm, const struct owner_files *f, size_t i,
    char *why, size_t len)
{
	const struct owner_files *of;
	const struct vm *o;
	size_t k, j;

	for (k = 0; (o = vm_at(k)) != NULL; k++) {
		if (o == vm || !vm_active(o) ||
		    (of = owner_files_of(o)) == NULL)
			continue;
		for (j = 0; j < of->f_n; j++) {
			/* two readers may share a disk */
			if (of->f_lock[j] == 0 ||
			    !same(&f->f_id[i], &of->f_id[j]) ||
			    (f->f_lock[i] != 'w' && of->f_lock[j] != 'w'))
				continue;
			conflict(vm, o, f, i, of->f_path[j], why, len);
			return -1;
		}
	}
	return 0;
}

/*
 * Once the check passed: each disk is known as a file or device, and is
 * not one that another VM's run holds, or that another process holds
 * locked (the kernel's word, also after a restart of bmd; bmd's own
 * word covers devices, which FreeBSD does not lock).  0, or -1 and why.
 */
int
owner_files_claim(const struct vm *vm, struct owner_files *f, char *why,
    size_t len)
{
	struct stat st;
	size_t i;

	for (i = 0; f != NULL && i < f->f_nfd; i++) {
		if (f->f_lock[i] == 0 || fstat(f->f_fd[i], &st) == -1)
			continue;
		f->f_id[i].di_set = 1;
		f->f_id[i].di_dev = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode);
		f->f_id[i].di_fs = f->f_id[i].di_dev ? st.st_rdev : st.st_dev;
		f->f_id[i].di_ino = f->f_id[i].di_dev ? 0 : st.st_ino;
		if (taken(vm, f, i, why, len) == -1)
			return -1;
		if (f->f_mark[i] == 'L') {
			snprintf(why, len, "disk %s: " VMLOCK_DISK_BUSY " (a "
			    "running VM%s?)", f->f_path[i], f->f_lock[i] ==
			    'w' ? "" : " writing it");
			return -1;
		}
	}
	return 0;
}

/* The disks known, for the runtime record (NULL: none). */
json_t *
owner_files_json(const struct owner_files *f)
{
	json_t *a;
	size_t i;

	if (f == NULL)
		return NULL;
	a = json_array();
	for (i = 0; i < f->f_n; i++)
		if (f->f_lock[i] != 0 && f->f_id[i].di_set)
			json_array_append_new(a, json_pack("{s:s,s:b,s:b,s:I,"
			    "s:I}", "path", f->f_path[i], "write",
			    f->f_lock[i] == 'w', "device", f->f_id[i].di_dev,
			    "fs", (json_int_t)f->f_id[i].di_fs, "ino",
			    (json_int_t)f->f_id[i].di_ino));
	return a;
}

/*
 * An adopted run's disks, from its record: compared as bmd's own, so a
 * restart of bmd forgets no device.  NULL: none.
 */
struct owner_files *
owner_files_adopt(json_t *a)
{
	struct owner_files *f;
	const char *path;
	json_t *d;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return NULL;
	f = xcalloc(1, sizeof(*f));
	json_array_foreach(a, i, d) {
		path = json_string_value(json_object_get(d, "path"));
		if (path == NULL || f->f_n == BE_MAXOWNERFILES)
			continue;
		f->f_lock[f->f_n] = json_is_true(json_object_get(d, "write")) ?
		    'w' : 'r';
		f->f_id[f->f_n].di_set = 1;
		f->f_id[f->f_n].di_dev = json_is_true(json_object_get(d,
		    "device"));
		f->f_id[f->f_n].di_fs = (dev_t)json_integer_value(
		    json_object_get(d, "fs"));
		f->f_id[f->f_n].di_ino = (ino_t)json_integer_value(
		    json_object_get(d, "ino"));
		f->f_path[f->f_n++] = xstrdup(path);
	}
	return f;
}

/*
 * The names the processes get the files by: descriptor 3 + i is the
 * i-th (run.c passes them first); root's keep their paths (no fdescfs
 * needed), the descriptors only hold the locks.  -1 when the VM's files
 * are no longer those checked (a reload in between): the start fails.
 */
int
owner_files_params(const struct vm_conf *vc, struct owner_files *f,
    struct be_params *bp)
{
	struct owner_file of[BE_MAXOWNERFILES];
	int n = list(vc, of);
	size_t i;

	if (n == 0)
		return 0;
	if (f == NULL || n < 0 || (size_t)n != f->f_n || f->f_nfd != f->f_n)
		return -1;
	for (i = 0; i < f->f_n; i++) {
		if (strcmp(f->f_path[i], of[i].of_path) != 0)
			return -1;
		snprintf(f->f_as[i], sizeof(f->f_as[i]), "/dev/fd/%zu",
		    3 + i);
		f->f_asp[i] = f->f_as[i];
	}
	if (vc->vc_owner == 0)
		return 0;
	bp->bp_owner_paths = (const char *const *)f->f_path;
	bp->bp_owner_as = f->f_asp;
	bp->bp_nowner = f->f_n;
	return 0;
}

int
owner_files_fds(const struct owner_files *f, const int **fds)
{
	*fds = f != NULL ? f->f_fd : NULL;
	return f != NULL ? (int)f->f_nfd : 0;
}

/* Every process that needs them has them: the disks stay known. */
void
owner_files_close(struct owner_files *f)
{
	size_t i;

	for (i = 0; f != NULL && i < f->f_nfd; i++)
		close(f->f_fd[i]);
	if (f != NULL)
		f->f_nfd = 0;
}

void
owner_files_free(struct owner_files *f)
{
	size_t i;

	if (f == NULL)
		return;
	owner_files_close(f);
	for (i = 0; i < f->f_n; i++)
		free(f->f_path[i]);
	free(f);
}
