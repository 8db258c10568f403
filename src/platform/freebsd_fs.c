/* VMs' files (FreeBSD): where bmd may write logs, and how; /dev/fd. */
#include <sys/param.h>
#include <sys/mount.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

/*
 * A write to one of these is a request to the kernel, checked against
 * the writer (bmd: root), or is served by a process (fusefs).
 */
static const char *const refused[] = {
	"procfs", "linprocfs", "linsysfs", "fdescfs", "devfs", "mqueuefs",
	"fusefs",
};

const char *
plat_fs_unfit_for_logs(int fd)
{
	struct statfs sf;
	size_t i;

	if (fstatfs(fd, &sf) == -1)
		return NULL;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strcmp(sf.f_fstypename, refused[i]) == 0)
			return refused[i];
	return NULL;
}

/* Credentials are per process here: the load thread runs meanwhile. */
ssize_t
plat_write_as(uid_t uid, gid_t gid, int fd, const void *buf, size_t n)
{
	(void)uid;
	(void)gid;
	return write(fd, buf, n);
}

/* /dev/fd/N names descriptor N beyond 2 only on fdescfs(5). */
int
plat_fd_names(char *err, size_t errlen)
{
	struct statfs sf;

	if (statfs("/dev/fd", &sf) == 0 &&
	    strcmp(sf.f_fstypename, "fdescfs") == 0)
		return 0;
	snprintf(err, errlen, "fdescfs(5) is not mounted on /dev/fd: mount "
	    "it (fstab: fdesc /dev/fd fdescfs rw 0 0) for users' bhyve VMs");
	return -1;
}
