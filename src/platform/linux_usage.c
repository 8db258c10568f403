/* Linux: a process's CPU time and resident memory, and our descriptors. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

/* The first line of a small /proc file; -1 if it cannot be read. */
static int
read_proc(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

int
plat_proc_usage(pid_t pid, struct plat_usage *u)
{
	unsigned long long utime, stime, pages;
	char path[64], buf[1024], *p;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_proc(path, buf, sizeof(buf)) == -1)
		return -1;
	/* the command name may hold spaces and parentheses: skip past it */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* utime and stime are fields 14 and 15, rss field 24 */
	for (field = 2; field < 14 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu %llu", &utime, &stime) != 2)
		return -1;
	for (; field < 24 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &pages) != 1 || tick <= 0 ||
	    page <= 0)
		return -1;
	u->pu_cpu_usec = (utime + stime) * 1000000ULL / (unsigned long)tick;
	u->pu_rss = pages * (unsigned long)page;
	return 0;
}

int
plat_open_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* not the directory's own */
}
