/*
 * The control socket: a UNIX stream socket of length-prefixed JSON
 * frames (proto.h).  Every connection is non-blocking with its own input
 * and output buffers, so a slow, idle or hostile client never holds up
 * another: a bad frame gets an error reply and the connection is closed;
 * a client that sends no complete request for CONN_IDLE_SEC is dropped.
 * How many connections each peer uid may hold is limit.c's.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

#define CONN_IDLE_SEC	30
#define CONN_INBUF_MAX	(4 + PROTO_MAX_FRAME)
#define CONN_OUT_HIGH	(1024 * 1024)	/* stop reading above this */
#define BIG_REPLY	(64 * 1024)
/* A stream's reader this far behind is dropped, not waited for. */
#define STREAM_BACKLOG_MAX	(4 * 1024 * 1024)

struct conn {
	int		 c_fd;
	struct peercred	 c_cred;
	struct event	*c_rev, *c_wev, *c_idle;
	unsigned char	*c_in;
	size_t		 c_inlen, c_incap;
	unsigned char	*c_out;
	size_t		 c_outlen, c_outoff, c_outcap;
	int		 c_closing;	/* close once c_out is written */
	int		 c_stream;	/* events: frames pushed, input ignored */
	struct ctl_wait	*c_wait;	/* a reply owed: no new request */
	int		 c_dispatching;	/* a request's handler is running */
	json_t		*c_early;	/* its deferred reply, given already */
	int		 c_passfd;	/* sent with byte c_passoff; -1: none */
	size_t		 c_passoff;
	TAILQ_ENTRY(conn) c_entry;
};

static TAILQ_HEAD(, conn) conns = TAILQ_HEAD_INITIALIZER(conns);
static size_t		 nconns;
static int		 big_replies;	/* since the last trim */
static struct event	*trim_ev;
static int		 listen_fd = -1;
static struct event	*listen_ev, *pause_ev;

/* A reply given later (control_defer); w_conn NULL: the peer is gone. */
struct ctl_wait {
	struct conn	*w_conn;
	struct audit	*w_audit;	/* the request's, logged with the answer */
};

static void	conn_update(struct conn *);

static void
conn_free(struct conn *c)
{
	TAILQ_REMOVE(&conns, c, c_entry);
	nconns--;
	limit_release(LIM_CONN, c->c_cred.pc_uid);
	users_cancel(c);
	if (c->c_stream)
		events_gone(c);
	if (c->c_wait != NULL)
		c->c_wait->w_conn = NULL;
	event_free(c->c_rev);
	event_free(c->c_wev);
	event_free(c->c_idle);
	close(c->c_fd);
	if (c->c_passfd != -1)
		close(c->c_passfd);
	free(c->c_in);
	free(c->c_out);
	free(c);
	/*
	 * A big reply (list of many VMs) leaves freed pages: give them back,
	 * a second later, so that a burst of lists trims once rather than
	 * fault the same pages in again for every request.
	 */
	if (big_replies > 0 && trim_ev != NULL &&
	    !evtimer_pending(trim_ev, NULL)) {
		struct timeval tv = { 1, 0 };

		evtimer_add(trim_ev, &tv);
	}
}

static void
trim_now(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	big_replies = 0;
	plat_trim_memory();
}

/* A frame to send, and the descriptor to send with it (-1: none). */
static void
append_out(struct conn *c, const unsigned char *frame, size_t len, int fd)
{
	if (c->c_outoff > 0) {
		memmove(c->c_out, c->c_out + c->c_outoff, c->c_outlen -
		    c->c_outoff);
		c->c_outlen -= c->c_outoff;
		c->c_passoff -= c->c_passfd != -1 ? c->c_outoff : 0;
		c->c_outoff = 0;
	}
	if (fd != -1 && c->c_passfd == -1) {
		c->c_passfd = fd;
		c->c_passoff = c->c_outlen;
	} else if (fd != -1)
		close(fd);	/* one at a time: bmdctl waits */
	/* doubling: a stream appends many small frames to a backlog */
	if (c->c_outcap < c->c_outlen + len) {
		c->c_outcap = c->c_outcap * 2 > c->c_outlen + len ?
		    c->c_outcap * 2 : c->c_outlen + len;
		c->c_out = xreallocarray(c->c_out, c->c_outcap, 1);
	}
	memcpy(c->c_out + c->c_outlen, frame, len);
	c->c_outlen += len;
	if (len > BIG_REPLY)
		big_replies++;
}

/* A reply, and the descriptor to send with it (-1: none). */
static void
queue_reply(struct conn *c, json_t *msg, int fd)
{
	unsigned char *frame;
	size_t len;

	frame = proto_encode(msg, &len);
	json_decref(msg);
	if (frame == NULL) {
		if (fd != -1)
			close(fd);
		c->c_closing = 1;
		return;
	}
	append_out(c, frame, len, fd);
	free(frame);
}

/* The raw frame a reply announced ("raw": len); takes data. */
static void
queue_raw(struct conn *c, char *data, size_t len)
{
	unsigned char hdr[4] = { (unsigned char)(len >> 24),
	    (unsigned char)(len >> 16), (unsigned char)(len >> 8),
	    (unsigned char)len };

	append_out(c, hdr, sizeof(hdr), -1);
	append_out(c, (unsigned char *)data, len, -1);
	free(data);
}

/* The first byte of a frame carrying a descriptor, with SCM_RIGHTS. */
static ssize_t
send_fd(struct conn *c)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh;
	struct iovec iov;
	ssize_t w;

	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = c->c_out + c->c_outoff;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &c->c_passfd, sizeof(int));
	if ((w = sendmsg(c->c_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL)) == 1) {
		close(c->c_passfd);
		c->c_passfd = -1;
	}
	return w;
}

/* Write what the socket takes; 0 when done, -1 when the peer is gone. */
static int
flush_out(struct conn *c)
{
	size_t len;
	ssize_t w;

	while (c->c_outoff < c->c_outlen) {
		len = c->c_outlen - c->c_outoff;
		if (c->c_passfd != -1 && c->c_passoff == c->c_outoff)
			w = send_fd(c);
		else {
			if (c->c_passfd != -1 && c->c_passoff - c->c_outoff <
			    len)
				len = c->c_passoff - c->c_outoff;
			w = send(c->c_fd, c->c_out + c->c_outoff, len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN)
			return 0;
		if (w <= 0)
			return -1;
		c->c_outoff += (size_t)w;
	}
	c->c_outoff = c->c_outlen = 0;
	return 0;
}

static void
idle_restart(struct conn *c)
{
	struct timeval tv = { CONN_IDLE_SEC, 0 };

	evtimer_add(c->c_idle, &tv);
}

static void	handle_frames(struct conn *);

/* bmd knows who c's peer is now (users.c), or has waited long enough. */
static void
peer_known(void *arg)
{
	struct conn *c = arg;

	handle_frames(c);
	conn_update(c);
}

/*
 * Answer every complete frame in the input buffer, once bmd knows who
 * asks: the name goes into the audit log and the reasons it gives.
 */
static void
handle_frames(struct conn *c)
{
	enum proto_status st;
	const char *why = NULL;
	size_t used = 0, off = 0;
	struct ctl_req rq;
	struct audit *a;
	json_t *req, *reply;

	if (c->c_stream)
		off = c->c_inlen;	/* a stream reads nothing more */
	else if (!users_wait(c->c_cred.pc_uid, peer_known, c))
		return;
	while (!c->c_stream && !c->c_closing && c->c_wait == NULL &&
	    c->c_outlen < CONN_OUT_HIGH) {
		st = proto_parse(c->c_in + off, c->c_inlen - off, &used, &req,
		    &why);
		if (st == PROTO_INCOMPLETE)
			break;
		if (st == PROTO_BAD) {
			log_debug("%s: uid %u: %s", __func__,
			    (unsigned)c->c_cred.pc_uid, why);
			queue_reply(c, proto_reply_error("bad request: %s",
			    why), -1);
			c->c_closing = 1;
			break;
		}
		off += used;
		rq.rq_cred = &c->c_cred;
		rq.rq_msg = req;
		rq.rq_fd = -1;
		rq.rq_conn = c;
		rq.rq_raw = NULL;
		a = audit_begin(&c->c_cred, req);
		c->c_dispatching = 1;
		reply = dispatch(&rq);
		c->c_dispatching = 0;
		json_decref(req);
		if (reply == NULL && c->c_early != NULL) {
			reply = c->c_early;
			c->c_early = NULL;
		}
		if (reply == NULL && c->c_wait != NULL) {
			if (rq.rq_fd != -1)
				close(rq.rq_fd);
			c->c_wait->w_audit = a;
			break;		/* control_defer(): comes later */
		}
		if (reply == NULL)
			reply = proto_reply_error("internal error");
		audit_end(a, reply);
		queue_reply(c, reply, rq.rq_fd);
		if (rq.rq_raw != NULL)
			queue_raw(c, rq.rq_raw, rq.rq_rawlen);
		if (!c->c_stream)
			idle_restart(c);
	}
	memmove(c->c_in, c->c_in + off, c->c_inlen - off);
	c->c_inlen -= off;
}

static void
conn_read(int fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t r;

	if (c->c_incap < CONN_INBUF_MAX && c->c_incap - c->c_inlen < 65536) {
		c->c_incap = c->c_incap ? c->c_incap * 2 : 65536;
		if (c->c_incap > CONN_INBUF_MAX)
			c->c_incap = CONN_INBUF_MAX;
		c->c_in = xreallocarray(c->c_in, c->c_incap, 1);
	}
	if (c->c_inlen == c->c_incap) {
		/* Cannot happen (a full buffer holds a frame): be safe. */
		queue_reply(c, proto_reply_error("bad request: too large"), -1);
		c->c_closing = 1;
		conn_update(c);
		return;
	}
	r = recv(fd, c->c_in + c->c_inlen, c->c_incap - c->c_inlen,
	    MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		/* EOF: answer what was sent, then close. */
		handle_frames(c);
		c->c_closing = 1;
		conn_update(c);
		return;
	}
	c->c_inlen += (size_t)r;
	handle_frames(c);
	conn_update(c);
}

static void
conn_write(int fd, short what, void *arg)
{
	struct conn *c = arg;

	if (flush_out(c) == -1) {
		conn_free(c);
		return;
	}
	/* Output drained below the mark: frames may be waiting. */
	handle_frames(c);
	conn_update(c);
}

static void
conn_idle(int fd, short what, void *arg)
{
	struct conn *c = arg;

	log_debug("%s: uid %u: idle for %d s; closed", __func__,
	    (unsigned)c->c_cred.pc_uid, CONN_IDLE_SEC);
	conn_free(c);
}

/* Choose the events to wait for; close when finished. */
static void
conn_update(struct conn *c)
{
	if (flush_out(c) == -1 || (c->c_closing && c->c_outlen == 0 &&
	    c->c_wait == NULL)) {
		conn_free(c);
		return;
	}
	if (c->c_outlen > 0)
		event_add(c->c_wev, NULL);
	else
		event_del(c->c_wev);
	if (!c->c_closing && c->c_outlen < CONN_OUT_HIGH)
		event_add(c->c_rev, NULL);
	else
		event_del(c->c_rev);
}

static void
accept_pause_end(int fd, short what, void *arg)
{
	event_add(listen_ev, NULL);
}

/* Out of descriptors or at the limit: stop accepting for a second. */
static void
accept_pause(void)
{
	struct timeval tv = { 1, 0 };

	event_del(listen_ev);
	evtimer_add(pause_ev, &tv);
}

/*
 * Over a limit: the reason as a reply, written at once if the socket
 * takes it (bmdctl reads it even when its request cannot be sent), and
 * the connection closed.
 */
static void
refuse(int fd, uid_t uid, const char *why)
{
	json_t *r = proto_reply_error("%s", why);
	unsigned char *frame;
	size_t len;

	log_debug("%s: uid %u: %s", __func__, (unsigned)uid, why);
	frame = proto_encode(r, &len);
	json_decref(r);
	if (frame != NULL) {
		if (send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
			log_debug("%s: uid %u: %s", __func__, (unsigned)uid,
			    strerror(errno));
		free(frame);
	}
	close(fd);
}

static void
control_accept(int lfd, short what, void *arg)
{
	char why[128];
	struct conn *c;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warn("%s", __func__);
			accept_pause();
		}
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->c_fd = fd;
	c->c_passfd = -1;
	if (plat_peercred(fd, &c->c_cred) == -1) {
		/* Spec 3: unknown peers are nobody. */
		log_warn("%s: peer credentials", __func__);
		c->c_cred.pc_uid = 65534;
		c->c_cred.pc_gid = 65534;
	}
	if (limit_take(LIM_CONN, c->c_cred.pc_uid, why, sizeof(why)) == -1) {
		refuse(fd, c->c_cred.pc_uid, why);
		free(c);
		return;
	}
	c->c_rev = event_new(bmd.b_base, fd, EV_READ | EV_PERSIST, conn_read,
	    c);
	c->c_wev = event_new(bmd.b_base, fd, EV_WRITE | EV_PERSIST, conn_write,
	    c);
	c->c_idle = evtimer_new(bmd.b_base, conn_idle, c);
	TAILQ_INSERT_TAIL(&conns, c, c_entry);
	nconns++;
	(void)users_get(c->c_cred.pc_uid);	/* looked up meanwhile */
	event_add(c->c_rev, NULL);
	idle_restart(c);
}

/* Is a daemon answering on path? */
static int
socket_alive(const struct sockaddr_un *sun)
{
	int fd, alive;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return alive;
}

/*
 * Create the control socket: refuse when another bmd answers on it,
 * remove a stale one, bind with the umask that gives the socket its mode.
 */
int
control_listen(void)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    bmd.b_sock_path) >= (int)sizeof(sun.sun_path)) {
		log_warnx("%s: socket path too long", bmd.b_sock_path);
		return -1;
	}
	if (lstat(bmd.b_sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("%s exists and is not a socket",
			    bmd.b_sock_path);
			return -1;
		}
		if (socket_alive(&sun)) {
			log_warnx("another bmd is running on %s",
			    bmd.b_sock_path);
			return -1;
		}
		unlink(bmd.b_sock_path);
	}
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (listen_fd == -1) {
		log_warn("socket");
		return -1;
	}
	/* made with its mode: a chmod by path could follow a link put there */
	old = umask(~bmd.b_sock_mode & 0777);
	if (bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_warn("cannot bind %s", bmd.b_sock_path);
		return -1;
	}
	umask(old);
	if (listen(listen_fd, 64) == -1) {
		log_warn("%s", bmd.b_sock_path);
		unlink(bmd.b_sock_path);
		return -1;
	}
	return 0;
}

/* After the event base exists (and after daemon(3)). */
void
control_start(void)
{
	listen_ev = event_new(bmd.b_base, listen_fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	pause_ev = evtimer_new(bmd.b_base, accept_pause_end, NULL);
	trim_ev = evtimer_new(bmd.b_base, trim_now, NULL);
	event_add(listen_ev, NULL);
}

/*
 * Daemon stop: no new clients and the socket file goes away; connected
 * clients are still answered until the daemon exits.
 */
void
control_close(void)
{
	if (listen_fd == -1)
		return;
	if (listen_ev != NULL) {
		event_free(listen_ev);
		event_free(pause_ev);
		listen_ev = pause_ev = NULL;
	}
	close(listen_fd);
	listen_fd = -1;
	unlink(bmd.b_sock_path);
}

/*
 * From a command handler in dispatch(): its reply comes later, through
 * control_answer() (a load, the prestart hooks), or even before the
 * handler returns (a load run on the event loop).  The connection reads
 * no other request meanwhile and is not timed out.  A request without a
 * connection (the fuzzer's) gets a wait whose answer is dropped.
 */
struct ctl_wait *
control_defer(struct ctl_req *rq)
{
	struct conn *c = rq->rq_conn;
	struct ctl_wait *w;

	if (c != NULL && c->c_wait != NULL)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	if (c == NULL)
		return w;
	w->w_conn = c;
	c->c_wait = w;
	evtimer_del(c->c_idle);
	return w;
}

/* The deferred reply; dropped if the peer has gone meanwhile. */
void
control_answer(struct ctl_wait *w, json_t *reply)
{
	struct conn *c = w->w_conn;

	audit_end(w->w_audit, reply);
	free(w);
	if (c == NULL) {
		json_decref(reply);
		return;
	}
	c->c_wait = NULL;
	if (c->c_dispatching) {
		/*
		 * Answered before its handler returned (a load run on the
		 * event loop): handle_frames, further up, sends it in turn
		 * and goes on with the next request itself.
		 */
		c->c_early = reply;
		return;
	}
	queue_reply(c, reply, -1);
	idle_restart(c);
	handle_frames(c);
	conn_update(c);
}

/*
 * From a command handler: after its reply the connection carries frames
 * that bmd pushes (control_push) until the peer closes it.  It is never
 * timed out, so an idle stream costs no wake-up.  -1: no connection.
 */
int
control_stream(struct ctl_req *rq)
{
	struct conn *c = rq->rq_conn;

	if (c == NULL || c->c_wait != NULL)
		return -1;
	c->c_stream = 1;
	evtimer_del(c->c_idle);
	return 0;
}

/*
 * One frame for a stream.  A reader that lets STREAM_BACKLOG_MAX bytes
 * pile up is told so and dropped: bmd does not hold memory for it.
 */
void
control_push(struct conn *c, const unsigned char *frame, size_t len)
{
	if (c->c_closing)
		return;
	if (c->c_outlen - c->c_outoff + len > STREAM_BACKLOG_MAX) {
		log_info("%s: uid %u: the reader is %d bytes behind; closed",
		    __func__, (unsigned)c->c_cred.pc_uid, STREAM_BACKLOG_MAX);
		queue_reply(c, proto_reply_error("more than %d bytes of events "
		    "were not read; closed", STREAM_BACKLOG_MAX), -1);
		c->c_closing = 1;
	} else
		append_out(c, frame, len, -1);
	conn_update(c);
}

/* Control connections open now, streams included (metrics). */
size_t
control_nconns(void)
{
	return nconns;
}
