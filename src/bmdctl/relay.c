/*
 * bmdctl stdio: the far end of -H.  Run by ssh on the VM's host, it
 * connects to bmd's socket as the login user (so bmd sees that user as
 * the peer and applies its own checks) and carries the control protocol
 * between its stdin/stdout and the socket.
 *
 * It knows no command.  Bytes from stdin go to bmd as they are; frames
 * from bmd go to stdout as they are, for as long as both sides stay open
 * (a reply, then any frames that follow it: events).  The one exception
 * is a frame that arrives with a descriptor (console): a descriptor
 * cannot cross ssh, so that frame is sent with "relayed": true added,
 * and from then on the relay carries the descriptor's bytes both ways
 * instead.  The relay ends when either stdin or the socket closes: a
 * client that closes its side is done, as on the local socket.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmdctl.h"
#include "buf.h"
#include "proto.h"

#define CHUNK	65536
#define MAXFDS	4	/* room for more than bmd sends, to close extras */

struct relay {
	int		 rl_sock;	/* bmd, then the descriptor it passed */
	int		 rl_streaming;	/* rl_sock is that descriptor */
	int		 rl_sock_open;
	int		 rl_in_open;
	int		 rl_up_dead;	/* bmd takes no more: drop stdin */
	struct buf	 rl_frames;	/* from bmd, not yet a whole frame */
	uint64_t	 rl_at;		/* stream offset of rl_frames */
	int		 rl_fd;		/* a descriptor not yet relayed */
	uint64_t	 rl_fd_at;	/* offset of the read that brought it */
	struct buf	 rl_down;	/* for stdout */
	size_t		 rl_down_off;
	char		 rl_up[CHUNK];	/* from stdin, for rl_sock */
	size_t		 rl_uplen;
};

static void
buf_drop(struct buf *b, size_t n)
{
	memmove(b->b_data, b->b_data + n, b->b_len - n);
	b->b_len -= n;
	b->b_data[b->b_len] = '\0';
}

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* The first descriptor of a message is kept; any other is closed. */
static void
take_fds(struct relay *rl, struct msghdr *mh, uint64_t at)
{
	struct cmsghdr *c;
	int fds[MAXFDS];
	size_t i, n;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (i = 0; i < n; i++)
			if (rl->rl_fd == -1) {
				rl->rl_fd = fds[i];
				rl->rl_fd_at = at;
			} else
				close(fds[i]);
	}
}

/* The frame that came with the descriptor: marked, then its stream. */
static int
relay_fd_frame(struct relay *rl, size_t len)
{
	const char *why;
	unsigned char *b;
	json_t *msg;
	size_t used, n;

	if (proto_parse_max((unsigned char *)rl->rl_frames.b_data, len,
	    PROTO_MAX_REPLY, &used, &msg, &why) != PROTO_OK) {
		fprintf(stderr, "bmdctl: stdio: reply from bmd: %s\n", why);
		return -1;
	}
	json_object_set_new(msg, "relayed", json_true());
	b = proto_encode(msg, &n);
	json_decref(msg);
	buf_add(&rl->rl_down, b, n);
	free(b);
	/* bmd is done with the control connection once it passed one */
	close(rl->rl_sock);
	rl->rl_sock = rl->rl_fd;
	rl->rl_fd = -1;
	rl->rl_streaming = 1;
	nonblock(rl->rl_sock);
	buf_reset(&rl->rl_frames);
	return 0;
}

/* Whole frames from rl_frames to rl_down; -1 on a malformed one. */
static int
relay_frames(struct relay *rl)
{
	const unsigned char *p;
	size_t len;
	uint32_t n;

	while (!rl->rl_streaming && rl->rl_frames.b_len >= 4) {
		p = (const unsigned char *)rl->rl_frames.b_data;
		n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (n == 0 || n > PROTO_MAX_REPLY) {
			fprintf(stderr, "bmdctl: stdio: frame of %u bytes from "
			    "bmd\n", (unsigned)n);
			return -1;
		}
		len = 4 + (size_t)n;
		if (rl->rl_frames.b_len < len)
			break;
		if (rl->rl_fd != -1 && rl->rl_at + len > rl->rl_fd_at)
			return relay_fd_frame(rl, len);
		buf_add(&rl->rl_down, rl->rl_frames.b_data, len);
		buf_drop(&rl->rl_frames, len);
		rl->rl_at += len;
	}
	return 0;
}

/* From bmd (or the passed descriptor); -1: stop now. */
static int
relay_from_sock(struct relay *rl)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(MAXFDS * sizeof(int))];
	} cm;
	char b[CHUNK];
	struct msghdr mh;
	struct iovec iov = { b, sizeof(b) };
	ssize_t r;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (!rl->rl_streaming) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		r = recvmsg(rl->rl_sock, &mh, MSG_CMSG_CLOEXEC);
	} else	/* a console session may be a pipe: read, not recvmsg */
		r = read(rl->rl_sock, b, sizeof(b));
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r <= 0) {
		rl->rl_sock_open = 0;
		return 0;
	}
	if (rl->rl_streaming) {
		buf_add(&rl->rl_down, b, (size_t)r);
		return 0;
	}
	take_fds(rl, &mh, rl->rl_at + rl->rl_frames.b_len);
	buf_add(&rl->rl_frames, b, (size_t)r);
	return relay_frames(rl);
}

static void
relay_from_stdin(struct relay *rl)
{
	ssize_t r;

	r = read(STDIN_FILENO, rl->rl_up + rl->rl_uplen, CHUNK -
	    rl->rl_uplen);
	if (r == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0)
		rl->rl_in_open = 0;
	else if (!rl->rl_up_dead)
		rl->rl_uplen += (size_t)r;
}

static void
relay_to_sock(struct relay *rl)
{
	ssize_t w;

	w = write(rl->rl_sock, rl->rl_up, rl->rl_uplen);
	if (w == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (w <= 0) {
		/* bmd may still answer (a refusal): keep reading it */
		rl->rl_up_dead = 1;
		rl->rl_uplen = 0;
		return;
	}
	memmove(rl->rl_up, rl->rl_up + w, rl->rl_uplen - (size_t)w);
	rl->rl_uplen -= (size_t)w;
}

/* -1 when nobody reads stdout any more. */
static int
relay_to_stdout(struct relay *rl)
{
	ssize_t w;

	w = write(STDOUT_FILENO, rl->rl_down.b_data + rl->rl_down_off,
	    rl->rl_down.b_len - rl->rl_down_off);
	if (w == -1 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (w <= 0)
		return -1;
	rl->rl_down_off += (size_t)w;
	if (rl->rl_down_off == rl->rl_down.b_len) {
		buf_reset(&rl->rl_down);
		rl->rl_down_off = 0;
	}
	return 0;
}

static int
relay_done(const struct relay *rl)
{
	if (!rl->rl_in_open && rl->rl_uplen == 0)
		return 1;	/* the client is gone */
	return !rl->rl_sock_open && rl->rl_down.b_len == 0;
}

static int
relay_loop(struct relay *rl)
{
	struct pollfd pfd[3];
	size_t pending;

	while (!relay_done(rl)) {
		pending = rl->rl_down.b_len - rl->rl_down_off;
		pfd[0].fd = rl->rl_in_open && rl->rl_uplen < CHUNK ?
		    STDIN_FILENO : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = rl->rl_sock_open ? rl->rl_sock : -1;
		/* read bmd only as fast as stdout takes it */
		pfd[1].events = (pending < CHUNK ? POLLIN : 0) |
		    (rl->rl_uplen > 0 ? POLLOUT : 0);
		pfd[2].fd = pending > 0 ? STDOUT_FILENO : -1;
		pfd[2].events = POLLOUT;
		if (poll(pfd, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[0].revents != 0)
			relay_from_stdin(rl);
		if (pfd[1].revents & (POLLOUT | POLLERR) && rl->rl_uplen > 0)
			relay_to_sock(rl);
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR) &&
		    relay_from_sock(rl) == -1)
			return 1;
		if (pfd[2].revents != 0 && relay_to_stdout(rl) == -1)
			return 0;	/* the client is gone */
	}
	return 0;
}

static int
stdio_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	struct relay *rl;
	int fd, rc, inflags, outflags;

	if ((fd = ctl_connect()) == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return 1;
	rl->rl_sock = fd;
	rl->rl_sock_open = rl->rl_in_open = 1;
	rl->rl_fd = -1;
	buf_init(&rl->rl_frames);
	buf_init(&rl->rl_down);
	nonblock(fd);
	/* restored after: a terminal shares its flags with the shell */
	inflags = fcntl(STDIN_FILENO, F_GETFL);
	outflags = fcntl(STDOUT_FILENO, F_GETFL);
	nonblock(STDIN_FILENO);
	nonblock(STDOUT_FILENO);
	rc = relay_loop(rl);
	fcntl(STDIN_FILENO, F_SETFL, inflags);
	fcntl(STDOUT_FILENO, F_SETFL, outflags);
	close(rl->rl_sock);
	if (rl->rl_fd != -1)
		close(rl->rl_fd);
	buf_free(&rl->rl_frames);
	buf_free(&rl->rl_down);
	free(rl);
	return rc;
}

const struct ctl_cmd cmd_stdio = {
	"stdio", NULL, "", 0, 0, stdio_exec,
	"relay the control protocol between standard input and output and "
	    "bmd\n      (what -H runs on the remote host)", CTL_LOCAL
};
