/* Descriptors passed over a UNIX socket (SCM_RIGHTS), with some bytes. */
#ifndef BMD_FDPASS_H
#define BMD_FDPASS_H

#include <sys/types.h>

#include <stddef.h>

#define FDPASS_MAX	32	/* descriptors in one message */

/* Send len bytes (at least one) and n descriptors.  As sendmsg(2). */
ssize_t	fdpass_send(int sock, const void *data, size_t len, const int *fds,
	    size_t n);
/*
 * Receive up to len bytes; the descriptors that come with them (made
 * close-on-exec) go to fds, at most max, their number to *nfds; any
 * beyond max are closed.  As recvmsg(2), retried on EINTR.
 */
ssize_t	fdpass_recv(int sock, void *buf, size_t len, int *fds, size_t max,
	    size_t *nfds);

#endif
