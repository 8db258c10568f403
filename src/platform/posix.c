/* The POSIX part of the platform layer, built on every OS. */
#include <sys/mman.h>

#include <stddef.h>
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
