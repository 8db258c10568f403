/*
 * The console broker (spec 4.7, issue 4): bmd owns every serial port it
 * manages for the whole life of the VM.
 *
 * For QEMU each managed port (comN = auto) is a chardev socket in the run
 * directory.  bmd connects to it as soon as QEMU starts, retrying until
 * the socket exists, and then never stops reading: the guest is never
 * throttled (a connected client that does not read would make the guest
 * UART wait on every character), output written while nobody is attached
 * lands in a ring buffer of console_buffer bytes, and console_logfile
 * (com1) gets a copy.
 *
 * Clients attach through the control socket ("console" request): bmd
 * answers with one end of a socketpair (SCM_RIGHTS).  The stream is raw
 * in both directions, like the device itself; bmd speaks on it only in
 * bracketed notices ("[bmd: vm1 stopped]") just before it ends a session.
 * Each client is a cursor into the ring, so there is no per-client copy
 * of the output: a client that falls behind by more than the ring skips
 * ahead (and is told how much it missed), and nothing ever waits for it.
 *
 * One client per port may write (interactive); a second one is refused
 * unless it forces a takeover; read-only viewers are not limited.  A
 * client's end of the socketpair is the lock: when the process dies the
 * kernel closes it, so a port is never left locked.
 *
 * A session lasts as long as the run: guest reboots and boot = always
 * restarts of QEMU keep it; the final stop ends it.  The ring is kept
 * after the stop so that `console --dump` shows a failed boot.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

#ifndef TAILQ_FOREACH_SAFE	/* not in glibc's sys/queue.h */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define CONS_NPORTS		4
#define CONS_IN_MAX		16384	/* keystrokes queued for the guest */
#define CONS_READ_CHUNK		65536
#define RETRY_MIN_MS		5
#define RETRY_MAX_MS		50
#define CLOSE_GRACE_SEC		5	/* for a last notice to be read */
/* Output is sent to clients at most this often while it streams. */
#define COALESCE_USEC		2000

enum cons_mode { CM_WRITER, CM_VIEWER, CM_DUMP };

struct cons_port;

struct cons_client {
	struct cons_port *cc_port;
	int		 cc_fd;
	enum cons_mode	 cc_mode;
	uid_t		 cc_uid;
	pid_t		 cc_pid;
	char		*cc_user;
	struct event	*cc_rev, *cc_wev;
	struct event	*cc_grace;	/* closing: the notice's deadline */
	uint64_t	 cc_pos;	/* next ring byte to send */
	uint64_t	 cc_end;	/* dump: stop here */
	char		*cc_note;	/* a notice to send first */
	size_t		 cc_notelen, cc_noteoff;
	char		*cc_final;	/* the last notice, after the output */
	int		 cc_closing;	/* close once cc_final is out */
	int		 cc_paused;	/* input paused: guest queue full */
	TAILQ_ENTRY(cons_client) cc_entry;
};
TAILQ_HEAD(cons_clients, cons_client);

struct cons_port {
	struct vm	*cp_vm;
	int		 cp_index;	/* 0: com1 */
	char		*cp_path;	/* a socket to connect to (QEMU) */
	int		 cp_dev;	/* or a device bmd holds (bhyve), -1 */
	int		 cp_fd;		/* -1: not connected */
	struct event	*cp_rev, *cp_wev, *cp_retry;
	int		 cp_retry_ms;
	struct event	*cp_flush;	/* the next send to clients */
	struct timeval	 cp_last;	/* of the last send to clients */
	int		 cp_want;	/* QEMU runs: keep connected */
	int		 cp_log_fd;	/* console_logfile, -1: none */
	uint64_t	 cp_log_pos;	/* ring bytes before it are written */
	/* the scrollback: the last cp_cap bytes of cp_total ever read */
	unsigned char	*cp_ring;
	size_t		 cp_cap;
	uint64_t	 cp_total;
	uint64_t	 cp_run_pos;	/* where the current run began */
	int		 cp_run_new;	/* cp_run_pos is set at the next open */
	/* keystrokes of the writer not yet taken by QEMU */
	unsigned char	 cp_in[CONS_IN_MAX];
	size_t		 cp_inlen;
	struct cons_client *cp_writer;
	struct cons_clients cp_clients;
	/* console_expect: type cp_answer once cp_expect has been read */
	char		*cp_expect, *cp_answer;
	size_t		 cp_matched;
};

struct console {
	struct cons_port *cs_port[CONS_NPORTS];
};

static size_t	nclients;

static void	port_connect(struct cons_port *);
static void	port_use(struct cons_port *, int);
static void	port_attach_dev(struct cons_port *);
static void	port_flush_in(struct cons_port *);
static void	port_flush_out(int, short, void *);
static int	client_flush(struct cons_client *);

static const char *
vm_name(const struct cons_port *p)
{
	return p->cp_vm->vm_conf->vc_name;
}

static uint64_t
ring_low(const struct cons_port *p)
{
	return p->cp_total > p->cp_cap ? p->cp_total - p->cp_cap : 0;
}

static void
ring_add(struct cons_port *p, const unsigned char *d, size_t n)
{
	size_t off, first;

	if (n >= p->cp_cap) {
		d += n - p->cp_cap;
		p->cp_total += n - p->cp_cap;
		n = p->cp_cap;
	}
	off = (size_t)(p->cp_total % p->cp_cap);
	first = p->cp_cap - off < n ? p->cp_cap - off : n;
	memcpy(p->cp_ring + off, d, first);
	memcpy(p->cp_ring, d + first, n - first);
	p->cp_total += n;
}

/* Does a VM's port i go through the broker?  Its driver says. */
static const char *
port_unmanaged(const struct vm_conf *vc, int i)
{
	const struct vm_driver *drv = driver_for(vc);

	if (drv->d_com_unmanaged == NULL)
		return "this backend has no console broker";
	return drv->d_com_unmanaged(vc, i);
}

static size_t
buffer_size(void)
{
	return bmd.b_console_buffer > 0 ? bmd.b_console_buffer :
	    CONSOLE_BUFFER_DEFAULT;
}

static struct cons_port *
port_get(struct vm *vm, int i)
{
	struct cons_port *p;

	if (vm->vm_console == NULL)
		vm->vm_console = xcalloc(1, sizeof(*vm->vm_console));
	if ((p = vm->vm_console->cs_port[i]) != NULL)
		return p;
	p = xcalloc(1, sizeof(*p));
	p->cp_vm = vm;
	p->cp_index = i;
	p->cp_fd = -1;
	p->cp_dev = -1;
	p->cp_log_fd = -1;
	p->cp_cap = buffer_size();
	p->cp_ring = xmalloc(p->cp_cap);
	p->cp_run_new = 1;
	p->cp_flush = evtimer_new(bmd.b_base, port_flush_out, p);
	TAILQ_INIT(&p->cp_clients);
	vm->vm_console->cs_port[i] = p;
	return p;
}

/* ---- console_logfile ---- */

static void
clog_open(struct cons_port *p)
{
	const char *path = p->cp_vm->vm_conf->vc_console_logfile;
	int fd;

	if (p->cp_index != 0 || path == NULL || p->cp_log_fd != -1)
		return;
	/* as the owner, 0640, no symlink, a regular file (owner_io.c) */
	if ((fd = owner_open_log(p->cp_vm->vm_conf, "console_logfile",
	    path)) == -1)
		return;
	p->cp_log_fd = fd;
	p->cp_log_pos = p->cp_total;
}

static void
clog_write(struct cons_port *p, const unsigned char *d, size_t n)
{
	if (p->cp_log_fd == -1 || n == 0)
		return;
	if (write(p->cp_log_fd, d, n) != (ssize_t)n) {
		log_warn("vm %s: console_logfile %s; no longer written",
		    vm_name(p), p->cp_vm->vm_conf->vc_console_logfile);
		close(p->cp_log_fd);
		p->cp_log_fd = -1;
	}
}

/* Append what the ring holds beyond cp_log_pos. */
static void
clog_flush(struct cons_port *p)
{
	uint64_t low = ring_low(p);
	size_t off, len;

	if (p->cp_log_pos < low)
		p->cp_log_pos = low;	/* cannot happen: see log_output */
	while (p->cp_log_fd != -1 && p->cp_log_pos < p->cp_total) {
		off = (size_t)(p->cp_log_pos % p->cp_cap);
		len = p->cp_cap - off;
		if (p->cp_total - p->cp_log_pos < len)
			len = (size_t)(p->cp_total - p->cp_log_pos);
		clog_write(p, p->cp_ring + off, len);
		p->cp_log_pos += len;
	}
}

/*
 * New output, before it enters the ring.  The file is written from the
 * ring with the sends to clients (one write per burst, not per byte),
 * or at once when the ring could otherwise overwrite unwritten bytes.
 */
static void
clog_output(struct cons_port *p, const unsigned char *d, size_t n)
{
	if (p->cp_log_fd == -1 ||
	    p->cp_total - p->cp_log_pos + n <= p->cp_cap / 2)
		return;
	clog_flush(p);
	if (n > p->cp_cap / 2) {
		clog_write(p, d, n);
		p->cp_log_pos += n;
	}
}

static void
clog_close(struct cons_port *p)
{
	clog_flush(p);
	if (p->cp_log_fd != -1)
		close(p->cp_log_fd);
	p->cp_log_fd = -1;
}

/* ---- clients ---- */

static void
client_free(struct cons_client *c)
{
	struct cons_port *p = c->cc_port;

	log_debug("%s: vm %s com%d: %s (pid %d) detached", __func__,
	    vm_name(p), p->cp_index + 1, c->cc_user, (int)c->cc_pid);
	TAILQ_REMOVE(&p->cp_clients, c, cc_entry);
	if (p->cp_writer == c)
		p->cp_writer = NULL;
	event_free(c->cc_rev);
	event_free(c->cc_wev);
	if (c->cc_grace != NULL)
		event_free(c->cc_grace);
	close(c->cc_fd);
	free(c->cc_user);
	free(c->cc_note);
	free(c->cc_final);
	limit_release(LIM_CONSOLE, c->cc_uid);
	free(c);
	nclients--;
}

static void
client_grace_over(int fd, short what, void *arg)
{
	client_free(arg);
}

/*
 * Queue a notice (sent before more output).  The last one ends the
 * session, once it is read or CLOSE_GRACE_SEC later.  1 if c was freed.
 */
static int
client_note(struct cons_client *c, int last, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
client_note(struct cons_client *c, int last, const char *fmt, ...)
{
	struct timeval tv = { CLOSE_GRACE_SEC, 0 };
	va_list ap;
	char *s, *n;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatal("%s", __func__);
	va_end(ap);
	if (last) {
		/* the output up to now, then this, then the end */
		free(c->cc_final);
		c->cc_final = xprintf("\r\n[bmd: %s]\r\n", s);
		c->cc_end = c->cc_port->cp_total;
		c->cc_closing = 1;
		if (c->cc_port->cp_writer == c)
			c->cc_port->cp_writer = NULL;
		event_del(c->cc_rev);
	} else {
		n = xprintf("%.*s\r\n[bmd: %s]\r\n", (int)(c->cc_notelen -
		    c->cc_noteoff), c->cc_note != NULL ? c->cc_note +
		    c->cc_noteoff : "", s);
		free(c->cc_note);
		c->cc_note = n;
		c->cc_notelen = strlen(n);
		c->cc_noteoff = 0;
	}
	free(s);
	if (client_flush(c))
		return 1;
	if (last && c->cc_grace == NULL) {
		c->cc_grace = evtimer_new(bmd.b_base, client_grace_over, c);
		evtimer_add(c->cc_grace, &tv);
	}
	return 0;
}

/* Send one buffer; 1 if all of it went, 0 if the socket is full, -1 gone. */
static int
client_send(struct cons_client *c, const void *d, size_t n, size_t *sent)
{
	ssize_t w;

	*sent = 0;
	while (*sent < n) {
		w = send(c->cc_fd, (const char *)d + *sent, n - *sent,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		*sent += (size_t)w;
	}
	return 1;
}

/*
 * Send what the client has not seen yet, as far as its socket takes it.
 * 1 if the client was freed (gone, or its session is over).
 */
static int
client_flush(struct cons_client *c)
{
	struct cons_port *p = c->cc_port;
	uint64_t end, low, lost;
	size_t off, len, sent;
	int rc;

	for (;;) {
		if (c->cc_note != NULL) {
			rc = client_send(c, c->cc_note + c->cc_noteoff,
			    c->cc_notelen - c->cc_noteoff, &sent);
			c->cc_noteoff += sent;
			if (rc <= 0)
				break;
			free(c->cc_note);
			c->cc_note = NULL;
			c->cc_notelen = c->cc_noteoff = 0;
			continue;
		}
		low = ring_low(p);
		if (c->cc_pos < low) {
			/* fell behind by more than the ring: skip ahead */
			lost = low - c->cc_pos;
			c->cc_pos = low;
			if (c->cc_mode != CM_DUMP)
				return client_note(c, 0, "%llu bytes of "
				    "output skipped (client too slow); bmdctl "
				    "console --dump shows the last %zu",
				    (unsigned long long)lost, p->cp_cap);
		}
		end = c->cc_end < p->cp_total ? c->cc_end : p->cp_total;
		if (c->cc_pos >= end) {
			if (c->cc_final != NULL) {
				c->cc_note = c->cc_final;
				c->cc_notelen = strlen(c->cc_note);
				c->cc_noteoff = 0;
				c->cc_final = NULL;
				continue;
			}
			if (c->cc_mode == CM_DUMP || c->cc_closing)
				goto gone;
			event_del(c->cc_wev);
			return 0;
		}
		off = (size_t)(c->cc_pos % p->cp_cap);
		len = p->cp_cap - off;
		if (end - c->cc_pos < len)
			len = (size_t)(end - c->cc_pos);
		rc = client_send(c, p->cp_ring + off, len, &sent);
		c->cc_pos += sent;
		if (rc <= 0)
			break;
	}
	if (rc == -1)
		goto gone;
	event_add(c->cc_wev, NULL);
	return 0;
gone:
	client_free(c);
	return 1;
}

static void
client_writable(int fd, short what, void *arg)
{
	client_flush(arg);
}

static void
client_pause(struct cons_client *c, int pause)
{
	if (c->cc_paused == pause)
		return;
	c->cc_paused = pause;
	if (pause)
		event_del(c->cc_rev);
	else
		event_add(c->cc_rev, NULL);
}

/* Keystrokes: the writer's go to the guest; the others' are dropped. */
static void
client_readable(int fd, short what, void *arg)
{
	struct cons_client *c = arg;
	struct cons_port *p = c->cc_port;
	unsigned char b[4096];
	size_t room;
	ssize_t r;

	if (p->cp_writer == c) {
		room = sizeof(p->cp_in) - p->cp_inlen;
		if (room == 0) {
			client_pause(c, 1);
			return;
		}
		r = recv(fd, p->cp_in + p->cp_inlen, room, MSG_DONTWAIT);
	} else
		r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		/* closed, or the process died: the port is free again */
		client_free(c);
		return;
	}
	if (p->cp_writer == c) {
		p->cp_inlen += (size_t)r;
		port_flush_in(p);
	}
}

/* Is the client's process still holding its end? */
static int
client_alive(const struct cons_client *c)
{
	struct pollfd pfd = { c->cc_fd, POLLIN | POLLRDHUP, 0 };

	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP |
	    POLLERR | POLLNVAL)))
		return 0;
	return 1;
}

static char *
user_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw != NULL ? xstrdup(pw->pw_name) : xprintf("%u",
	    (unsigned)uid);
}

/* ---- the connection to QEMU ---- */

static void
port_disconnect(struct cons_port *p)
{
	if (p->cp_fd == -1)
		return;
	event_free(p->cp_rev);
	event_free(p->cp_wev);
	p->cp_rev = p->cp_wev = NULL;
	close(p->cp_fd);
	p->cp_fd = -1;
}

/* Send what is new to every client that has room for it. */
static void
port_flush_out(int fd, short what, void *arg)
{
	struct cons_port *p = arg;
	struct cons_client *c, *next;

	event_base_gettimeofday_cached(bmd.b_base, &p->cp_last);
	clog_flush(p);
	/* clients waiting for room are sent to when they have some */
	TAILQ_FOREACH_SAFE(c, &p->cp_clients, cc_entry, next)
		if (!event_pending(c->cc_wev, EV_WRITE, NULL))
			client_flush(c);
}

/*
 * QEMU writes every byte the guest's UART sends on its own, and its
 * socket holds only a few hundred of them (each is a buffer of its own),
 * so bmd reads at once, always: waiting would stall the guest.  Sending
 * on to the clients is what can wait: while output streams, at most once
 * every COALESCE_USEC, in larger pieces; the echo of a key typed after a
 * quiet moment goes out at once.
 */
static void
port_new_output(struct cons_port *p)
{
	struct timeval now, d, wait;

	if (evtimer_pending(p->cp_flush, NULL))
		return;
	event_base_gettimeofday_cached(bmd.b_base, &now);
	timersub(&now, &p->cp_last, &d);
	if (d.tv_sec != 0 || d.tv_usec >= COALESCE_USEC) {
		port_flush_out(-1, 0, p);
		return;
	}
	wait.tv_sec = 0;
	wait.tv_usec = COALESCE_USEC - d.tv_usec;
	evtimer_add(p->cp_flush, &wait);
}

static void
port_expect_clear(struct cons_port *p)
{
	free(p->cp_expect);
	free(p->cp_answer);
	p->cp_expect = p->cp_answer = NULL;
	p->cp_matched = 0;
}

/* Did the prompt appear?  Then its answer is typed, once. */
static void
port_expect_scan(struct cons_port *p, const unsigned char *b, size_t n)
{
	const char *e = p->cp_expect;
	size_t i, len;

	for (i = 0; i < n && e[p->cp_matched] != '\0'; i++) {
		if (b[i] == (unsigned char)e[p->cp_matched])
			p->cp_matched++;
		else
			p->cp_matched = b[i] == (unsigned char)e[0] ? 1 : 0;
	}
	if (e[p->cp_matched] != '\0')
		return;
	len = strlen(p->cp_answer);
	if (len > sizeof(p->cp_in) - p->cp_inlen)
		len = sizeof(p->cp_in) - p->cp_inlen;
	memcpy(p->cp_in + p->cp_inlen, p->cp_answer, len);
	p->cp_inlen += len;
	log_info("vm %s: com%d: typed %zu bytes at the prompt \"%s\"",
	    vm_name(p), p->cp_index + 1, len, e);
	port_expect_clear(p);
	port_flush_in(p);
}

/*
 * Type text into port i once prompt has been read from it (grub's
 * first prompt); a NULL prompt cancels.  Only output read from now on
 * counts.
 */
void
console_expect(struct vm *vm, int i, const char *prompt, const char *text)
{
	struct cons_port *p;

	if (vm->vm_console == NULL && prompt == NULL)
		return;
	p = port_get(vm, i);
	port_expect_clear(p);
	if (prompt == NULL || prompt[0] == '\0' || text == NULL)
		return;
	p->cp_expect = xstrdup(prompt);
	p->cp_answer = xstrdup(text);
}

/* Guest output: into the ring and the log, then on to every client. */
static void
port_readable(int fd, short what, void *arg)
{
	struct cons_port *p = arg;
	unsigned char b[CONS_READ_CHUNK];
	ssize_t r;

	r = read(fd, b, sizeof(b));
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		/* QEMU exited (or dropped us): reconnect while it runs */
		log_debug("%s: vm %s com%d: %s", __func__, vm_name(p),
		    p->cp_index + 1, r == 0 ? "closed" : strerror(errno));
		port_disconnect(p);
		if (p->cp_want)
			port_connect(p);
		return;
	}
	clog_output(p, b, (size_t)r);
	ring_add(p, b, (size_t)r);
	port_new_output(p);
	if (p->cp_expect != NULL)
		port_expect_scan(p, b, (size_t)r);
}

/* Keystrokes to QEMU; the writer is paused while QEMU does not take them. */
static void
port_flush_in(struct cons_port *p)
{
	ssize_t w;

	if (p->cp_fd == -1) {
		if (p->cp_writer != NULL && p->cp_inlen == sizeof(p->cp_in))
			client_pause(p->cp_writer, 1);
		return;
	}
	while (p->cp_inlen > 0) {
		/* non-blocking; SIGPIPE is ignored: EPIPE */
		w = write(p->cp_fd, p->cp_in, p->cp_inlen);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		memmove(p->cp_in, p->cp_in + w, p->cp_inlen - (size_t)w);
		p->cp_inlen -= (size_t)w;
	}
	if (p->cp_inlen > 0)
		event_add(p->cp_wev, NULL);
	else
		event_del(p->cp_wev);
	if (p->cp_writer != NULL)
		client_pause(p->cp_writer, p->cp_inlen == sizeof(p->cp_in));
}

static void
port_writable(int fd, short what, void *arg)
{
	port_flush_in(arg);
}

static void
port_retry(int fd, short what, void *arg)
{
	port_connect(arg);
}

/*
 * Connect to QEMU's chardev socket; until it exists (QEMU is starting),
 * retry with a short, growing delay.
 */
static void
port_connect(struct cons_port *p)
{
	struct sockaddr_un sun;
	struct timeval tv;
	int fd;

	if (!p->cp_want || p->cp_fd != -1)
		return;
	if (p->cp_dev != -1) {
		port_attach_dev(p);
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p->cp_path) >=
	    (int)sizeof(sun.sun_path)) {
		log_warnx("vm %s: %s: path too long", vm_name(p), p->cp_path);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("vm %s: socket", vm_name(p));
		return;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		if (p->cp_retry == NULL)
			p->cp_retry = evtimer_new(bmd.b_base, port_retry, p);
		if (p->cp_retry_ms < RETRY_MIN_MS)
			p->cp_retry_ms = RETRY_MIN_MS;
		tv.tv_sec = 0;
		tv.tv_usec = p->cp_retry_ms * 1000;
		evtimer_add(p->cp_retry, &tv);
		if (p->cp_retry_ms < RETRY_MAX_MS)
			p->cp_retry_ms *= 2;
		return;
	}
	p->cp_retry_ms = 0;
	port_use(p, fd);
	log_debug("%s: vm %s com%d: connected to %s", __func__, vm_name(p),
	    p->cp_index + 1, p->cp_path);
}

static void
port_use(struct cons_port *p, int fd)
{
	p->cp_fd = fd;
	p->cp_rev = event_new(bmd.b_base, fd, EV_READ | EV_PERSIST,
	    port_readable, p);
	p->cp_wev = event_new(bmd.b_base, fd, EV_WRITE | EV_PERSIST,
	    port_writable, p);
	event_add(p->cp_rev, NULL);
	port_flush_in(p);
}

/* A device (a null-modem or pty side bmd holds): a duplicate of it. */
static void
port_attach_dev(struct cons_port *p)
{
	int fd;

	if ((fd = fcntl(p->cp_dev, F_DUPFD_CLOEXEC, 3)) == -1) {
		log_warn("vm %s: com%d: dup", vm_name(p), p->cp_index + 1);
		return;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		log_warn("vm %s: com%d: O_NONBLOCK", vm_name(p),
		    p->cp_index + 1);
	port_use(p, fd);
}

/* What QEMU wrote before it exited, up to what the socket holds. */
static void
port_drain(struct cons_port *p)
{
	struct pollfd pfd;
	int n;

	for (n = 0; p->cp_fd != -1 && n < 64; n++) {
		pfd.fd = p->cp_fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) != 1)
			return;
		port_readable(p->cp_fd, EV_READ, p);
	}
}

/* ---- the life of a run ---- */

/* A process of the run started: connect every managed port to it. */
void
console_open(struct vm *vm)
{
	struct cons_port *p;
	int i;

	for (i = 0; i < CONS_NPORTS; i++) {
		if (port_unmanaged(vm->vm_conf, i) != NULL)
			continue;
		p = port_get(vm, i);
		free(p->cp_path);
		p->cp_path = NULL;
		if (vm->vm_run->rn_drv->d_com_endpoint(vm, i, &p->cp_path,
		    &p->cp_dev) == -1)
			continue;
		p->cp_want = 1;
		p->cp_retry_ms = 0;
		if (p->cp_run_new)
			p->cp_run_pos = p->cp_total;
		p->cp_run_new = 0;
		clog_open(p);
		port_disconnect(p);
		port_connect(p);
	}
}

/* QEMU is gone (its output was read to the end, or it was killed). */
void
console_close(struct vm *vm)
{
	struct cons_port *p;
	int i;

	if (vm->vm_console == NULL)
		return;
	for (i = 0; i < CONS_NPORTS; i++) {
		if ((p = vm->vm_console->cs_port[i]) == NULL)
			continue;
		p->cp_want = 0;
		port_drain(p);
		port_disconnect(p);
		p->cp_dev = -1;		/* the driver's, closed by it */
		if (p->cp_retry != NULL)
			evtimer_del(p->cp_retry);
	}
}

static const char *
end_reason(const struct vm *vm)
{
	if (bmd.b_stopping)
		return "stopped (bmd is shutting down)";
	switch (vm->vm_after) {
	case AFTER_FAIL:
		return "failed";
	case AFTER_REMOVE:
		return "stopped and removed from the configuration";
	case AFTER_RESTART:
		return "stopped (restarting with the new configuration)";
	default:
		return "stopped";
	}
}

/* The final stop: every session ends (the ring stays for --dump). */
void
console_run_end(struct vm *vm)
{
	struct cons_client *c, *next;
	struct cons_port *p;
	int i;

	console_close(vm);
	if (vm->vm_console == NULL)
		return;
	for (i = 0; i < CONS_NPORTS; i++) {
		if ((p = vm->vm_console->cs_port[i]) == NULL)
			continue;
		clog_close(p);
		p->cp_inlen = 0;
		p->cp_run_new = 1;
		TAILQ_FOREACH_SAFE(c, &p->cp_clients, cc_entry, next) {
			if (c->cc_mode == CM_DUMP || c->cc_closing)
				continue;
			client_note(c, 1, "%s %s", vm_name(p), end_reason(vm));
		}
	}
}

void
console_free(struct vm *vm)
{
	struct cons_client *c;
	struct cons_port *p;
	int i;

	if (vm->vm_console == NULL)
		return;
	for (i = 0; i < CONS_NPORTS; i++) {
		if ((p = vm->vm_console->cs_port[i]) == NULL)
			continue;
		while ((c = TAILQ_FIRST(&p->cp_clients)) != NULL)
			client_free(c);
		port_disconnect(p);
		clog_close(p);
		if (p->cp_retry != NULL)
			event_free(p->cp_retry);
		event_free(p->cp_flush);
		free(p->cp_path);
		free(p->cp_ring);
		port_expect_clear(p);
		free(p);
	}
	free(vm->vm_console);
	vm->vm_console = NULL;
}

/* ---- the "console" request ---- */

static int
parse_port(const char *s)
{
	if (s == NULL || strcasecmp(s, "console") == 0)
		return 0;
	if (strncasecmp(s, "com", 3) == 0 && s[3] >= '1' && s[3] <= '4' &&
	    s[4] == '\0')
		return s[3] - '1';
	return -1;
}

static int
parse_mode(const char *s, enum cons_mode *m, int *force)
{
	*force = 0;
	if (s == NULL || strcmp(s, "interactive") == 0)
		*m = CM_WRITER;
	else if (strcmp(s, "force") == 0) {
		*m = CM_WRITER;
		*force = 1;
	} else if (strcmp(s, "read-only") == 0)
		*m = CM_VIEWER;
	else if (strcmp(s, "dump") == 0)
		*m = CM_DUMP;
	else
		return -1;
	return 0;
}

/* "replay": true (default) the scrollback, false nothing, "run" this run's. */
static uint64_t
replay_from(const struct cons_port *p, const json_t *rv)
{
	uint64_t low = ring_low(p);

	if (json_is_false(rv))
		return p->cp_total;
	if (json_is_string(rv) && strcmp(json_string_value(rv), "run") == 0) {
		if (p->cp_run_new)
			return p->cp_total;
		return p->cp_run_pos > low ? p->cp_run_pos : low;
	}
	return low;
}

/* The one writer: free, stale (its process is gone) or taken over. */
static json_t *
claim_writer(struct cons_port *p, struct cons_client *c, int force)
{
	struct cons_client *w = p->cp_writer;

	if (w != NULL && !client_alive(w)) {
		client_free(w);
		w = NULL;
	}
	if (w != NULL && !force)
		return proto_reply_error("console of %s is in use by %s (pid "
		    "%d); use --force to take over or --read-only to watch",
		    vm_name(p), w->cc_user, (int)w->cc_pid);
	if (w != NULL) {
		log_info("vm %s: com%d taken over by %s (pid %d) from %s "
		    "(pid %d)", vm_name(p), p->cp_index + 1, c->cc_user,
		    (int)c->cc_pid, w->cc_user, (int)w->cc_pid);
		client_note(w, 1, "console of %s taken over by %s (pid %d)",
		    vm_name(p), c->cc_user, (int)c->cc_pid);
	}
	p->cp_writer = c;
	return NULL;
}

/*
 * {"command": "console", "name": N, "port": "com1".."com4",
 *  "mode": "interactive" | "force" | "read-only" | "dump",
 *  "replay": true}  ->  ok, "port", "path"; the session as an fd.
 */
json_t *
console_attach(struct ctl_req *rq, struct vm *vm)
{
	const struct peercred *pc = rq->rq_cred;
	json_t *req = rq->rq_msg;
	const char *why, *ps = json_string_value(json_object_get(req, "port"));
	char limit_why[128];
	json_t *rv = json_object_get(req, "replay"), *r;
	struct cons_client *c;
	struct cons_port *p;
	enum cons_mode mode;
	int i, force, sv[2];

	if ((i = parse_port(ps)) == -1)
		return proto_reply_error("invalid port");
	if (parse_mode(json_string_value(json_object_get(req, "mode")), &mode,
	    &force) == -1)
		return proto_reply_error("invalid console mode");
	if (mode != CM_DUMP && (why = port_unmanaged(vm->vm_conf, i)) != NULL)
		return proto_reply_error("com%d of %s: %s", i + 1,
		    vm->vm_conf->vc_name, why);
	if (mode != CM_DUMP && vm->vm_run == NULL)
		return proto_reply_error("%s is not running",
		    vm->vm_conf->vc_name);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", __func__);
		return proto_reply_error("failed to open comport");
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s: O_NONBLOCK", __func__);
	if (mode == CM_DUMP && (vm->vm_console == NULL ||
	    vm->vm_console->cs_port[i] == NULL)) {
		/* nothing was ever read from this port: an empty dump */
		close(sv[0]);
		rq->rq_fd = sv[1];
		return proto_reply_ok();
	}
	if (limit_take(LIM_CONSOLE, pc->pc_uid, limit_why,
	    sizeof(limit_why)) == -1) {
		close(sv[0]);
		close(sv[1]);
		return proto_reply_error("%s", limit_why);
	}
	p = port_get(vm, i);
	c = xcalloc(1, sizeof(*c));
	c->cc_port = p;
	c->cc_fd = sv[0];
	c->cc_mode = mode;
	c->cc_uid = pc->pc_uid;
	c->cc_pid = pc->pc_pid;
	c->cc_user = user_name(pc->pc_uid);
	c->cc_end = mode == CM_DUMP ? p->cp_total : UINT64_MAX;
	c->cc_pos = replay_from(p, mode == CM_DUMP ? NULL : rv);
	if (mode == CM_WRITER && (r = claim_writer(p, c, force)) != NULL) {
		close(sv[0]);
		close(sv[1]);
		free(c->cc_user);
		free(c);
		limit_release(LIM_CONSOLE, pc->pc_uid);
		return r;
	}
	c->cc_rev = event_new(bmd.b_base, c->cc_fd, EV_READ | EV_PERSIST,
	    client_readable, c);
	c->cc_wev = event_new(bmd.b_base, c->cc_fd, EV_WRITE | EV_PERSIST,
	    client_writable, c);
	TAILQ_INSERT_TAIL(&p->cp_clients, c, cc_entry);
	nclients++;
	event_add(c->cc_rev, NULL);
	log_debug("%s: vm %s com%d: %s (pid %d) attached (%s)", __func__,
	    vm->vm_conf->vc_name, i + 1, c->cc_user, (int)c->cc_pid,
	    mode == CM_WRITER ? "writer" : mode == CM_VIEWER ? "viewer" :
	    "dump");
	/* the scrollback is replayed from here, as the client reads */
	client_flush(c);
	rq->rq_fd = sv[1];
	r = proto_reply_ok();
	json_object_set_new(r, "port", json_sprintf("com%d", i + 1));
	if (p->cp_path != NULL)
		json_object_set_new(r, "path", json_string(p->cp_path));
	return r;
}
