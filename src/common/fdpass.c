/* Descriptors passed over a UNIX socket (fdpass.h). */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

union fdpass_cmsg {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
};

ssize_t
fdpass_send(int sock, const void *data, size_t len, const int *fds,
    size_t n)
{
	union fdpass_cmsg u;
	struct msghdr msg;
	struct cmsghdr *cm;
	struct iovec iov;

	if (n > FDPASS_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	memset(&u, 0, sizeof(u));
	iov.iov_base = (void *)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (n > 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/* Take the descriptors of one control message. */
static void
take(const struct cmsghdr *cm, int *fds, size_t max, size_t *nfds)
{
	size_t k, n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	int fd;

	for (k = 0; k < n; k++) {
		memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
		if (*nfds < max)
			fds[(*nfds)++] = fd;
		else
			close(fd);
	}
}

ssize_t
fdpass_recv(int sock, void *buf, size_t len, int *fds, size_t max,
    size_t *nfds)
{
	union fdpass_cmsg u;
	struct msghdr msg;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t r;

	*nfds = 0;
	do {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf;
		iov.iov_len = len;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			take(cm, fds, max, nfds);
	return r;
}
