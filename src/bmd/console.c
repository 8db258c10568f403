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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "console.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"


static void	port_connect(struct cons_port *);
static void	port_use(struct cons_port *, int);
static void	port_attach_dev(struct cons_port *);
static void	port_flush_out(int, short, void *);

const char *
vm_name(const struct cons_port *p)
{
	return p->cp_vm->vm_conf->vc_name;
}

uint64_t
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
const char *
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

struct cons_port *
port_find(const struct vm *vm, int i)
{
	const struct console *cs = vm->vm_console;

	return cs != NULL && i >= 0 && i < cs->cs_n ? cs->cs_port[i] : NULL;
}

/* Room for port i: the com ports always, virtio consoles as used. */
static struct console *
console_grow(struct vm *vm, int i)
{
	struct console *cs = vm->vm_console;
	int old = cs != NULL ? cs->cs_n : 0, n;

	if (i < old)
		return cs;
	n = i < CONS_NCOM ? CONS_NCOM : i + 1;
	cs = realloc(cs, sizeof(*cs) + (size_t)n * sizeof(cs->cs_port[0]));
	if (cs == NULL)
		fatal("%s", __func__);
	memset(&cs->cs_port[old], 0, (size_t)(n - old) *
	    sizeof(cs->cs_port[0]));
	cs->cs_n = n;
	return vm->vm_console = cs;
}

struct cons_port *
port_get(struct vm *vm, int i)
{
	struct cons_port *p;

	if ((p = port_find(vm, i)) != NULL)
		return p;
	console_grow(vm, i);
	p = xcalloc(1, sizeof(*p));
	p->cp_vm = vm;
	p->cp_index = i;
	if (i < CONS_NCOM)
		snprintf(p->cp_label, sizeof(p->cp_label), "com%d", i + 1);
	else
		snprintf(p->cp_label, sizeof(p->cp_label), "vconsole%d",
		    i - CONS_NCOM);
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

/* ---- the connection to QEMU ---- */

static void
port_disconnect(struct cons_port *p)
{
	if (p->cp_fd == -1)
		return;
	if (p->cp_pause != NULL)
		evtimer_del(p->cp_pause);
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
	log_info("vm %s: %s: typed %zu bytes at the prompt \"%s\"",
	    vm_name(p), p->cp_label, len, e);
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

static void
port_resume(int fd, short what, void *arg)
{
	struct cons_port *p = arg;

	if (p->cp_rev != NULL)
		event_add(p->cp_rev, NULL);
}

/*
 * QEMU writes each byte of the guest's UART on its own: reading each one
 * would wake bmd about a million times per MiB.  Once QEMU's end of the
 * socket can hold many such writes (plat_peer_sndbuf, tried at the first
 * output of a connection, for root's QEMU only), the first output after a quiet moment (an
 * echo) is still read at once, but while output streams the next read
 * waits up to PAUSE_MAX_US so that bytes gather.  A read that finds much
 * halves the wait, so a fast guest is not held back by it.
 */
static void
port_pace(struct cons_port *p, ssize_t r)
{
	struct timeval now, d, tv;
	int streaming;

	/*
	 * Only root's hypervisor: plat_peer_sndbuf takes duplicates of the
	 * process's descriptors, and a user's process could swap one for a
	 * file whose close never returns (FUSE) or hold thousands to scan.
	 */
	if (p->cp_paced == -1)
		p->cp_paced = p->cp_path != NULL && p->cp_vm->vm_pid > 0 &&
		    vm_ident(p->cp_vm)->vc_owner == 0 &&
		    plat_peer_sndbuf(p->cp_vm->vm_pid, p->cp_path,
		    CONS_PEER_SNDBUF) == 0;
	if (!p->cp_paced)
		return;
	event_base_gettimeofday_cached(bmd.b_base, &now);
	timersub(&now, &p->cp_last_read, &d);
	streaming = d.tv_sec == 0 && d.tv_usec < STREAM_QUIET_US;
	p->cp_last_read = now;
	if (!streaming) {
		p->cp_pause_us = PAUSE_MAX_US;
		return;
	}
	if (r >= FULL_READ)
		p->cp_pause_us /= 2;
	else if (p->cp_pause_us < PAUSE_MIN_US)
		p->cp_pause_us = PAUSE_MIN_US;
	else if (p->cp_pause_us < PAUSE_MAX_US)
		p->cp_pause_us *= 2;
	if (p->cp_pause_us > PAUSE_MAX_US)
		p->cp_pause_us = PAUSE_MAX_US;
	if (p->cp_pause_us < PAUSE_MIN_US)
		return;
	if (p->cp_pause == NULL)
		p->cp_pause = evtimer_new(bmd.b_base, port_resume, p);
	tv.tv_sec = 0;
	tv.tv_usec = p->cp_pause_us;
	event_del(p->cp_rev);
	evtimer_add(p->cp_pause, &tv);
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
		log_debug("%s: vm %s %s: %s", __func__, vm_name(p),
		    p->cp_label, r == 0 ? "closed" : strerror(errno));
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
	if (what != 0)		/* not port_drain's last reads */
		port_pace(p, r);
}

/* Keystrokes to QEMU; the writer is paused while QEMU does not take them. */
void
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
	log_debug("%s: vm %s %s: connected to %s", __func__, vm_name(p),
	    p->cp_label, p->cp_path);
}

static void
port_use(struct cons_port *p, int fd)
{
	p->cp_fd = fd;
	p->cp_paced = -1;	/* a new connection: QEMU's end is new too */
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
		log_warn("vm %s: %s: dup", vm_name(p), p->cp_label);
		return;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
		log_warn("vm %s: %s: O_NONBLOCK", vm_name(p), p->cp_label);
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
		port_readable(p->cp_fd, 0, p);
	}
}

/* ---- the life of a run ---- */

/* Connect port p to the run's process (again, after a restart). */
void
port_start(struct vm *vm, struct cons_port *p)
{
	free(p->cp_path);
	p->cp_path = NULL;
	if (vm->vm_run->rn_drv->d_com_endpoint(vm, p->cp_index, &p->cp_path,
	    &p->cp_dev) == -1)
		return;
	p->cp_want = 1;
	p->cp_retry_ms = 0;
	if (p->cp_run_new)
		p->cp_run_pos = p->cp_total;
	p->cp_run_new = 0;
	clog_open(p);
	port_disconnect(p);
	port_connect(p);
}

/*
 * A process of the run started: connect every managed com port to it,
 * and the virtio consoles a session has used (the others stay free
 * until someone attaches: bmd holds those from then on).
 */
void
console_open(struct vm *vm)
{
	struct cons_port *p;
	int i;

	for (i = 0; i < CONS_NCOM; i++)
		if (port_unmanaged(vm->vm_conf, i) == NULL)
			port_start(vm, port_get(vm, i));
	for (i = CONS_NCOM; vm->vm_console != NULL &&
	    i < vm->vm_console->cs_n; i++)
		if ((p = vm->vm_console->cs_port[i]) != NULL &&
		    port_unmanaged(vm->vm_conf, i) == NULL)
			port_start(vm, p);
}

/* QEMU is gone (its output was read to the end, or it was killed). */
void
console_close(struct vm *vm)
{
	struct cons_port *p;
	int i;

	if (vm->vm_console == NULL)
		return;
	for (i = 0; i < vm->vm_console->cs_n; i++) {
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
	for (i = 0; i < vm->vm_console->cs_n; i++) {
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
	for (i = 0; i < vm->vm_console->cs_n; i++) {
		if ((p = vm->vm_console->cs_port[i]) == NULL)
			continue;
		while ((c = TAILQ_FIRST(&p->cp_clients)) != NULL)
			client_free(c);
		port_disconnect(p);
		clog_close(p);
		if (p->cp_retry != NULL)
			event_free(p->cp_retry);
		event_free(p->cp_flush);
		if (p->cp_pause != NULL)
			event_free(p->cp_pause);
		free(p->cp_path);
		free(p->cp_ring);
		port_expect_clear(p);
		free(p);
	}
	free(vm->vm_console);
	vm->vm_console = NULL;
}
