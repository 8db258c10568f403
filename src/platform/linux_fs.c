/* VMs' files (Linux): where bmd may write logs, and how; /dev/fd. */
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include <linux/capability.h>
#include <linux/magic.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC	0x65735546
#endif
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC		0x62656570
#endif

/*
 * A write to one of these is a request, checked against the privileges
 * of the writer (bmd: root) rather than of the file's owner, or it is
 * served by a process that may never answer (FUSE).
 */
static const struct {
	unsigned long	 magic;
	const char	*name;
} refused[] = {
	{ PROC_SUPER_MAGIC,	"proc" },
	{ SYSFS_MAGIC,		"sysfs" },
	{ CGROUP_SUPER_MAGIC,	"cgroup" },
	{ CGROUP2_SUPER_MAGIC,	"cgroup2" },
	{ DEBUGFS_MAGIC,	"debugfs" },
	{ TRACEFS_MAGIC,	"tracefs" },
	{ SECURITYFS_MAGIC,	"securityfs" },
	{ SELINUX_MAGIC,	"selinuxfs" },
	{ SMACK_MAGIC,		"smackfs" },
	{ BPF_FS_MAGIC,		"bpf" },
	{ CONFIGFS_MAGIC,	"configfs" },
	{ EFIVARFS_MAGIC,	"efivarfs" },
	{ PSTOREFS_MAGIC,	"pstore" },
	{ BINFMTFS_MAGIC,	"binfmt_misc" },
	{ FUSE_SUPER_MAGIC,	"FUSE" },
};

const char *
plat_fs_unfit_for_logs(int fd)
{
	struct statfs sf;
	size_t i;

	if (fstatfs(fd, &sf) == -1)
		return NULL;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if ((unsigned long)sf.f_type == refused[i].magic)
			return refused[i].name;
	return NULL;
}

/*
 * Quotas are not enforced against CAP_SYS_RESOURCE, and ext4's reserve
 * serves its resuid (root) and CAP_SYS_RESOURCE: both are given up for
 * the one call.  fsuid and capabilities belong to this thread only.
 */
ssize_t
plat_write_as(uid_t uid, gid_t gid, int fd, const void *buf, size_t n)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct was[2], less[2];
	int i = CAP_TO_INDEX(CAP_SYS_RESOURCE), err;
	ssize_t r;

	if (uid == 0 || geteuid() != 0)
		return write(fd, buf, n);
	if (syscall(SYS_capget, &h, was) == -1)
		return -1;
	memcpy(less, was, sizeof(less));
	less[i].effective &= ~(uint32_t)CAP_TO_MASK(CAP_SYS_RESOURCE);
	if (gid != (gid_t)-1)
		(void)setfsgid(gid);
	(void)setfsuid(uid);
	if (syscall(SYS_capset, &h, less) == -1)
		r = -1;
	else
		r = write(fd, buf, n);
	err = errno;
	(void)syscall(SYS_capset, &h, was);
	(void)setfsuid(0);
	(void)setfsgid(0);
	errno = err;
	return r;
}

/* /dev/fd/N names descriptor N: procfs's magic links reopen its file. */
int
plat_fd_names(char *err, size_t errlen)
{
	if (access("/proc/self/fd", X_OK) == 0)
		return 0;
	snprintf(err, errlen, "/proc is not mounted: /dev/fd/N names "
	    "nothing");
	return -1;
}
