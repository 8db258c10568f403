/* Linux control groups for VMs (platform.h): a group per running VM. */
#include <sys/stat.h>
#include <sys/vfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linux_cg.h"
#include "platform.h"

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC	0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif

/*
 * "vm-" keeps a VM's group clear of the files every group holds
 * (cgroup.procs, tasks, cpu.weight...), whatever the VM's name.
 */
static int
group_path(char *buf, size_t len, const char *dir, const char *name,
    const char *file)
{
	int n = snprintf(buf, len, "%s/vm-%s%s%s", dir, name,
	    file != NULL ? "/" : "", file != NULL ? file : "");

	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
plat_cgroup_prepare(const char *dir, char *err, size_t len)
{
	struct statfs sf;
	char path[PATH_MAX];
	int fd;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, len, "cannot create %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (statfs(dir, &sf) == -1) {
		snprintf(err, len, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (sf.f_type != CGROUP2_SUPER_MAGIC && sf.f_type != CGROUP_SUPER_MAGIC) {
		snprintf(err, len, "%s is not in a cgroup file system", dir);
		return -1;
	}
	/*
	 * cgroup v2: give each VM's group the cpu controller, so that a VM
	 * weighs as one, however many threads it runs.  Best effort: the
	 * controller may not be enabled above dir.
	 */
	if (sf.f_type == CGROUP2_SUPER_MAGIC &&
	    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir) <
	    (int)sizeof(path) &&
	    (fd = open(path, O_WRONLY | O_CLOEXEC)) != -1) {
		(void)write(fd, "+cpu", 4);
		close(fd);
	}
	return 0;
}

int
plat_cgroup_open(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (group_path(path, sizeof(path), dir, name, NULL) == -1 ||
	    (mkdir(path, 0755) == -1 && errno != EEXIST) ||
	    group_path(path, sizeof(path), dir, name, "cgroup.procs") == -1)
		return -1;
	return open(path, O_WRONLY | O_CLOEXEC);
}

int
plat_cgroup_move(int fd, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld", (long)pid);

	return write(fd, buf, (size_t)n) == n ? 0 : -1;
}

int
plat_cgroup_remove(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (group_path(path, sizeof(path), dir, name, NULL) == -1)
		return -1;
	return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
plat_cgroup_name(const char *dir, const char *name, char *buf, size_t len)
{
	return group_path(buf, len, dir, name, NULL);
}

/* SIGKILL to every process in the VM's group. */
int
plat_cgroup_kill(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (group_path(path, sizeof(path), dir, name, NULL) == -1)
		return -1;
	cg_signal_all(path, SIGKILL);
	return 0;
}

/* Remove every empty VM group in dir; those with members stay. */
int
plat_cgroup_sweep(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "vm-", 3) == 0 &&
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(path) && rmdir(path) == 0)
			n++;
	closedir(d);
	return n;
}
