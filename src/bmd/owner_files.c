/*
 * The files of a user's VM whose hypervisor runs as root (bhyve): opened
 * by the start check, as the owner, and passed to bhyve and bhyveload as
 * /dev/fd/N.  Opened by path as root after the check, they would be
 * whatever a link she swapped in between names.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "xmalloc.h"

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

	if (vc->vc_owner == 0 || be == NULL || be->be_owner_files == NULL)
		return 0;
	return be->be_owner_files(vc, of, BE_MAXOWNERFILES);
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

/* The descriptors, one message, after one byte (the check's answer). */
static int
send_all(int sock, const int *fds, int n)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * BE_MAXOWNERFILES)];
	} u;
	struct msghdr msg;
	struct cmsghdr *cm;
	struct iovec iov;
	char nul = '\0';

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &nul;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	return sendmsg(sock, &msg, 0) == -1 ? -1 : 0;
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
	}
	if (n > 0 && send_all(sock, fds, n) == -1)
		_exit(1);
}

/* Keep the n descriptors at p in f (NULL: close them). */
static void
keep(struct owner_files *f, const unsigned char *p, size_t n)
{
	size_t k;
	int fd;

	for (k = 0; k < n; k++) {
		memcpy(&fd, p + k * sizeof(int), sizeof(int));
		if (f != NULL && f->f_nfd < f->f_n)
			f->f_fd[f->f_nfd++] = fd;
		else
			close(fd);
	}
}

/*
 * In bmd: read what the check says, keeping in f the descriptors that
 * come with it.  As read(2).
 */
ssize_t
owner_files_read(int sock, char *buf, size_t len, struct owner_files *f)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * BE_MAXOWNERFILES)];
	} u;
	struct msghdr msg;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t r;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	if ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) <= 0)
		return r;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS)
			keep(f, CMSG_DATA(cm), (cm->cmsg_len - CMSG_LEN(0)) /
			    sizeof(int));
	return r;
}

/*
 * The names the processes get the files by: descriptor 3 + i is the
 * i-th (run.c passes them first).  -1 when the VM's files are no longer
 * those checked (a reload in between): the start fails.
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
	bp->bp_owner_as = f->f_asp;
	bp->bp_nowner = f->f_n;
	bp->bp_owner_set = 1;
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
