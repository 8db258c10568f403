/* Linux implementation of the platform layer (see platform.h). */
#include <sys/socket.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "platform.h"

/*
 * /dev/kvm may open on hosts that cannot run KVM guests (a software
 * virtualiser module on a CPU without vmx/svm): trust the CPU flags too.
 */
int
plat_kvm_usable(void)
{
	char line[4096];
	FILE *fp;
	int fd, ok = 0;

	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) == -1)
		return 0;
	close(fd);
	if ((fp = fopen("/proc/cpuinfo", "r")) == NULL)
		return 0;
	while (!ok && fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "flags", 5) == 0)
			ok = strstr(line, " vmx") != NULL ||
			    strstr(line, " svm") != NULL;
	fclose(fp);
	return ok;
}

const char *
plat_accel_name(int accel)
{
	switch (accel) {
	case ACCEL_KVM:
		return "kvm";
	case ACCEL_TCG:
		return "tcg";
	default:
		return plat_kvm_usable() ? "kvm" : "tcg";
	}
}

int
plat_oom_protect(void)
{
	int fd, rc = -1;

	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) != -1) {
		if (write(fd, "-1000", 5) == 5)
			rc = 0;
		close(fd);
	}
	return rc;
}

int
plat_peercred(int fd, struct peercred *pc)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	socklen_t glen = sizeof(pc->pc_groups);

	memset(pc, 0, sizeof(*pc));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return -1;
	pc->pc_pid = uc.pid;
	pc->pc_uid = uc.uid;
	pc->pc_gid = uc.gid;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, pc->pc_groups,
	    &glen) == 0)
		pc->pc_ngroups = (int)(glen / sizeof(gid_t));
	return 0;
}

int
plat_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

void
plat_oom_unprotect(void)
{
	int fd;

	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd != -1) {
		if (write(fd, "0", 1) != 1) {
			/* not fatal: the child keeps the protection */
		}
		close(fd);
	}
}

void
plat_closefrom(int lowfd)
{
	DIR *d;
	struct dirent *de;
	int fd;

	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	/* Kernels before 5.9: walk /proc/self/fd. */
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (fd >= lowfd && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

void
plat_trim_memory(void)
{
	malloc_trim(0);
}
