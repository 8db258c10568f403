/*
 * The files of a user's VM whose hypervisor runs as root (bhyve): opened
 * by the start check, as the owner, and passed to bhyve and bhyveload as
 * /dev/fd/N.  Opened by path as root after the check, they would be
 * whatever a link she swapped in between names.  Disks, root's VMs' too,
 * are locked on the descriptors bhyve inherits: two VMs never write one
 * disk, whatever paths name it.
 */

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

struct owner_files {
	size_t		 f_n;				/* paths */
	size_t		 f_nfd;				/* received */
	int		 f_fd[BE_MAXOWNERFILES];
	char		*f_path[BE_MAXOWNERFILES];	/* as checked */
	char		 f_as[BE_MAXOWNERFILES][24];	/* "/dev/fd/N" */
	const char	*f_asp[BE_MAXOWNERFILES];
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
 * A disk another process holds (a VM of another name on another path to
 * it, one started by hand): the lock bhyve does not take.  0, or -1 with
 * the answer written.
 */
static int
lock(int sock, int fd, const struct owner_file *of)
{
	if (!of->of_lock || vmlock_disk(fd, of->of_rw) == 0)
		return 0;
	dprintf(sock, "%s %s: " VMLOCK_DISK_BUSY " (a running VM%s?)",
	    of->of_key, of->of_path, of->of_rw ? "" : " writing it");
	return -1;
}

/* At the check's start: the files it opens (NULL: none). */
struct owner_files *
owner_files_begin(const struct vm_conf *vc)
{
	struct owner_file of[BE_MAXOWNERFILES];
	struct owner_files *f;
	int i, n = list(vc, of);

	if (n <= 0)
		return NULL;	/* too many: the check says so */
	f = xcalloc(1, sizeof(*f));
	for (i = 0; i < n; i++)
		f->f_path[f->f_n++] = xstrdup(of[i].of_path);
	return f;
}

/* In the check's child, as the owner: open and send them, or say why not. */
void
owner_files_child(int sock, const struct vm_conf *vc, const char *user)
{
	struct owner_file of[BE_MAXOWNERFILES];
	int i, n = list(vc, of), fds[BE_MAXOWNERFILES], fl;

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
		if (lock(sock, fds[i], &of[i]) == -1)
			_exit(1);
	}
	/* one byte for the answer, the descriptors with it */
	if (n > 0 && fdpass_send(sock, "", 1, fds, (size_t)n) == -1)
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
	for (k = 0; k < n; k++) {
		if (f != NULL && f->f_nfd < f->f_n)
			f->f_fd[f->f_nfd++] = fds[k];
		else
			close(fds[k]);
	}
	return r;
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

void
owner_files_free(struct owner_files *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->f_nfd; i++)
		close(f->f_fd[i]);
	for (i = 0; i < f->f_n; i++)
		free(f->f_path[i]);
	free(f);
}
