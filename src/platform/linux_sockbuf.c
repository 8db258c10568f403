/*
 * Linux: a bigger send buffer for the hypervisor's end of a console
 * socket, so that a stream of one-byte writes can wait for bmd's next
 * read instead of blocking the guest's UART (console.c paces its reads).
 */
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open	434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd	438
#endif

/* Is fd the accepted (not listening) end of a connection to path? */
static int
is_conn_to(int fd, const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof(sun);
	int listening = 0;
	socklen_t ll = sizeof(listening);

	memset(&sun, 0, sizeof(sun));
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) == -1 ||
	    listening)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_family != AF_UNIX)
		return 0;
	return strncmp(sun.sun_path, path, sizeof(sun.sun_path)) == 0;
}

/*
 * The socket of process pid that accepted a connection on path gets a
 * send buffer of `bytes` (SO_SNDBUFFORCE: root, the hypervisor's
 * supervisor).  It is reached through a duplicate (pidfd_getfd, Linux
 * 5.6): the same socket, so the option holds for the hypervisor.
 */
int
plat_peer_sndbuf(pid_t pid, const char *path, int bytes)
{
	char dir[64], link[384], target[64];
	struct dirent *de;
	int pidfd, fd, found = 0;
	ssize_t n;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		close(pidfd);
		return -1;
	}
	while (!found && (de = readdir(d)) != NULL) {
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, "socket:", 7) != 0)
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		if (fd == -1)
			continue;
		if (is_conn_to(fd, path) && setsockopt(fd, SOL_SOCKET,
		    SO_SNDBUFFORCE, &bytes, sizeof(bytes)) == 0)
			found = 1;
		close(fd);
	}
	closedir(d);
	close(pidfd);
	if (!found)
		errno = ENOENT;
	return found ? 0 : -1;
}
