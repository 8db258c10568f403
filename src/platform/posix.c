/* The POSIX part of the platform layer, built on every OS. */
#include <termios.h>

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
