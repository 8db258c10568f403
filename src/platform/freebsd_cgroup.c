/* FreeBSD has no control groups (platform.h): the `cgroup` key is refused. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "platform.h"

int
plat_cgroup_prepare(const char *dir, char *err, size_t len)
{
	snprintf(err, len, "control groups exist only on Linux (on FreeBSD, "
	    "rctl(8) limits processes)");
	return -1;
}

int
plat_cgroup_open(const char *dir, const char *vm)
{
	errno = EOPNOTSUPP;
	return -1;
}

int
plat_cgroup_move(int fd, pid_t pid)
{
	errno = EOPNOTSUPP;
	return -1;
}

int
plat_cgroup_remove(const char *dir, const char *vm)
{
	return 0;
}

int
plat_cgroup_kill(const char *dir, const char *vm)
{
	return 0;
}

int
plat_cgroup_sweep(const char *dir)
{
	return 0;
}

int
plat_cgroup_name(const char *dir, const char *vm, char *buf, size_t len)
{
	errno = EOPNOTSUPP;
	return -1;
}
