/* The POSIX part of the platform layer, built on every OS. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>

#include "platform.h"
#include "posix.h"

int
tty_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) == -1)
		return -1;
	cfmakeraw(&t);
	t.c_cflag &= ~(CSIZE | PARENB | CSTOPB);
	t.c_cflag |= CS8 | CREAD | CLOCAL;
	if (cfsetspeed(&t, B115200) == -1)
		return -1;
	return tcsetattr(fd, TCSANOW, &t);
}

/*
 * Reading by read(2) copied at a third of the speed of mapping on the
 * test machine.  The pages are asked in at once where the system can.
 */
#if defined(MAP_POPULATE)
#define MAP_PAGES_IN	MAP_POPULATE
#elif defined(MAP_PREFAULT_READ)
#define MAP_PAGES_IN	MAP_PREFAULT_READ
#else
#define MAP_PAGES_IN	0
#endif

void *
plat_map_file(int fd, size_t len)
{
	void *p;

	if (len == 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_PAGES_IN, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

void
plat_unmap_file(void *p, size_t len)
{
	(void)munmap(p, len);
}

/* Why another user could change what is in st's directory, or NULL. */
static const char *
open_to_others(const struct stat *st, int last, char *buf, size_t len)
{
	if (st->st_uid != 0) {
		snprintf(buf, len, "it belongs to uid %lu",
		    (unsigned long)st->st_uid);
		return buf;
	}
	/* like /tmp: others may write, but not rename what root made */
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0 ||
	    (!last && (st->st_mode & S_ISVTX) != 0))
		return NULL;
	if ((st->st_mode & S_IWOTH) != 0)
		return "anybody may write it";
	if (st->st_gid == 0)
		return NULL;
	snprintf(buf, len, "group %lu may write it",
	    (unsigned long)st->st_gid);
	return buf;
}

static int
check_one(const char *dir, int last, char *err, size_t errlen)
{
	struct stat st;
	const char *why;
	char buf[64];

	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((why = open_to_others(&st, last, buf, sizeof(buf))) == NULL)
		return 0;
	snprintf(err, errlen, "%s: %s", dir, why);
	return -1;
}

/* Each directory of real (resolved), from / down; whole: real is it. */
static int
check_chain(char *real, int whole, char *err, size_t errlen)
{
	size_t i, n = strlen(real);
	int rc = check_one("/", whole && n == 1, err, errlen);
	char save;

	for (i = 2; rc == 0 && i <= n; i++) {
		if (i < n && real[i] != '/')
			continue;
		save = real[i];
		real[i] = '\0';
		rc = check_one(real, whole && i == n, err, errlen);
		real[i] = save;
	}
	return rc;
}

int
plat_private_dir(const char *path, int sticky, char *err, size_t errlen)
{
	char probe[PATH_MAX], real[PATH_MAX], *p;
	int whole = 1;

	if (snprintf(probe, sizeof(probe), "%s", path) >= (int)sizeof(probe)) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	/* the longest part that exists: root makes the rest, below it */
	while (realpath(probe, real) == NULL) {
		if (errno != ENOENT || (p = strrchr(probe, '/')) == NULL) {
			snprintf(err, errlen, "%s: %s", probe,
			    strerror(errno));
			return -1;
		}
		p[p == probe] = '\0';
		whole = 0;
	}
	return check_chain(real, whole && !sticky, err, errlen);
}
