/*
 * The terminal side of a console session (spec 5.4).
 *
 * The local terminal is put in raw mode: no line editing, echo or output
 * processing, and INTR, QUIT, SUSP, STOP/START (^S/^Q) are plain bytes,
 * so ^C, ^Z, ^S and ^Q reach the guest.  One process polls both
 * directions: the session socket to stdout, and keystrokes (after the
 * escapes) to the socket, with a small bounded buffer; when the guest
 * does not take input, stdin is simply not read.
 *
 * Escapes: `~` is recognised at any position (not only after a newline
 * as in cu): `~.` or `~^D` disconnect, `~^Z` suspends bmdctl's process
 * group, `~^Y` only bmdctl, `~~` sends one `~`, and `~` followed by
 * anything else sends both characters.
 *
 * Window size: a serial line carries no size, so there is nothing to
 * send on SIGWINCH; the local terminal keeps its size and the guest
 * learns a new one from `resize` (xterm's, or busybox's) run inside it.
 *
 * The session ends when bmd ends it (the VM stopped, another client took
 * over): bmd writes a one-line notice first, and the exit status is 0.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "bmdctl.h"

#define KEYBUF		4096
#define KEY_CTRL(c)	((c) & 0x1f)

static struct termios	 saved;
static int		 is_tty, is_raw;
static volatile sig_atomic_t got_sig, got_cont;

static void
tty_restore(void)
{
	if (is_raw && tcsetattr(STDIN_FILENO, TCSADRAIN, &saved) == 0)
		is_raw = 0;
}

static void
tty_raw(void)
{
	struct termios t = saved;

	if (!is_tty)
		return;
	cfmakeraw(&t);
	t.c_iflag &= ~(IXON | IXOFF | IXANY);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
		is_raw = 1;
}

static void
on_signal(int sig)
{
	if (sig == SIGCONT)
		got_cont = 1;
	else if (sig != SIGWINCH)
		got_sig = sig;
}

static void
set_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCONT,
	    SIGWINCH };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() returns so that the flags are seen */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ~^Z: the whole process group (as cu); ~^Y: bmdctl only. */
static void
suspend(int group)
{
	tty_restore();
	kill(group ? 0 : getpid(), SIGTSTP);
	tty_raw();
}

static int
write_all(int fd, const char *b, size_t n)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	ssize_t w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w == -1 && errno == EAGAIN) {
			poll(&pfd, 1, -1);
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

struct keys {
	char	 k_buf[KEYBUF];
	size_t	 k_len;
	int	 k_tilde;	/* a `~` is pending */
	int	 k_readonly;
};

static void
key_out(struct keys *k, char c)
{
	if (!k->k_readonly && k->k_len < sizeof(k->k_buf))
		k->k_buf[k->k_len++] = c;
}

/* Keystrokes through the escapes; 1 when the user disconnects. */
static int
keys_feed(struct keys *k, const char *b, size_t n)
{
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		c = b[i];
		if (!k->k_tilde) {
			if (c == '~')
				k->k_tilde = 1;
			else
				key_out(k, c);
			continue;
		}
		k->k_tilde = 0;
		if (c == '.' || c == KEY_CTRL('D'))
			return 1;
		if (c == KEY_CTRL('Z') || c == KEY_CTRL('Y'))
			suspend(c == KEY_CTRL('Z'));
		else if (c == '~')
			key_out(k, '~');
		else {
			key_out(k, '~');
			key_out(k, c);
		}
	}
	return 0;
}

/* Session output to stdout: 1 at the end of the session, -1 on error. */
static int
pump_out(int fd)
{
	char b[65536];
	ssize_t r;

	r = read(fd, b, sizeof(b));
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r == -1 && errno != ECONNRESET)
		return -1;
	if (r <= 0)
		return 1;
	return write_all(STDOUT_FILENO, b, (size_t)r) == -1 ? -1 : 0;
}

int
term_session(int fd, const char *name, int com, int readonly)
{
	struct keys k;
	struct pollfd pfd[2];
	char b[KEYBUF / 2];
	int stdin_open = 1, rc = -1, done = 0, st;
	ssize_t r;

	memset(&k, 0, sizeof(k));
	k.k_readonly = readonly;
	is_tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (is_tty)
		fprintf(stderr, "[bmdctl: %s com%d of %s; ~. disconnects]\n",
		    readonly ? "watching (read-only)" : "attached to", com + 1,
		    name);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		fprintf(stderr, "bmdctl: console: %s\n", strerror(errno));
		return 1;
	}
	set_signals();
	tty_raw();
	while (!done) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN | (k.k_len > 0 ? POLLOUT : 0);
		pfd[1].fd = stdin_open && k.k_len + sizeof(b) * 2 <=
		    sizeof(k.k_buf) ? STDIN_FILENO : -1;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno != EINTR)
				break;
			if (got_cont) {
				got_cont = 0;
				tty_raw();	/* after a foreign stop */
			}
			if (got_sig) {
				rc = 128 + got_sig;
				break;
			}
			continue;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((st = pump_out(fd)) != 0) {
				rc = st == 1 ? 0 : 1;
				break;
			}
		}
		if (pfd[1].fd != -1 && (pfd[1].revents & (POLLIN | POLLHUP |
		    POLLERR))) {
			r = read(STDIN_FILENO, b, sizeof(b));
			if (r == 0 || (r == -1 && errno != EINTR &&
			    errno != EAGAIN))
				stdin_open = 0;	/* output goes on */
			else if (r > 0 && keys_feed(&k, b, (size_t)r)) {
				done = 1;
				rc = 0;
			}
		}
		if (k.k_len > 0 && !done) {
			r = send(fd, k.k_buf, k.k_len, MSG_DONTWAIT |
			    MSG_NOSIGNAL);
			if (r > 0) {
				memmove(k.k_buf, k.k_buf + r, k.k_len -
				    (size_t)r);
				k.k_len -= (size_t)r;
			} else if (r == -1 && errno != EAGAIN &&
			    errno != EINTR)
				k.k_len = 0;	/* bmd is gone: EOF follows */
		}
	}
	tty_restore();
	if (done && is_tty)
		fprintf(stderr, "\n[bmdctl: disconnected from %s]\n",
		    name);
	else if (rc == -1 || rc == 1)
		fprintf(stderr, "bmdctl: console of %s: %s\n", name,
		    strerror(errno));
	return rc == -1 ? 1 : rc;
}
