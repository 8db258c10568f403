/* Which file systems may hold a log that bmd writes for a VM (Linux). */
#include <sys/vfs.h>

#include <linux/magic.h>

#include <stddef.h>

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
