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
 * group, `~^Y` only bmdctl, `~w` asks for the write side (when it is
 * free), `~r` gives it up (watch only), `~?` lists the escapes, `~~`
 * sends one `~`, and `~` followed by anything else sends both
 * characters.  --raw (scripts): no terminal, no escapes.
 *
 * Replay: the scrollback sent first may hold the guest's queries to a
 * terminal (ESC [ 6 n...); the local terminal answers them as if they
 * were new.  Input that starts with ESC is dropped until the replay is
 * out and ANSWER_MS after, so those answers never reach the guest.
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
#include <time.h>
#include <unistd.h>

#include "bmdctl.h"

#define KEYBUF		4096
#define ANSWER_MS	500	/* a terminal answers a query within it */
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
	const struct term_args *k_ta;
};

static void
say(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "\r\n[bmdctl: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "]\r\n");
}

/* ~w, ~r: ask bmd; the local filter follows what bmd granted. */
static void
change_mode(struct keys *k, int writer)
{
	char err[512];

	if (ctl_console_mode(k->k_ta->t_name, k->k_ta->t_port,
	    k->k_ta->t_session, writer, err, sizeof(err)) == -1) {
		say("%s%s", err, "");
		return;
	}
	k->k_readonly = !writer;
	say("%s of %s", writer ? "you may type on the console" :
	    "watching (read-only) the console", k->k_ta->t_name);
}

static void
list_escapes(void)
{
	fprintf(stderr, "\r\n[bmdctl: escapes (after ~):\r\n"
	    "  .  or ^D  disconnect\r\n"
	    "  ^Z        suspend bmdctl and its process group\r\n"
	    "  ^Y        suspend bmdctl only\r\n"
	    "  w         take the write side, if nobody has it\r\n"
	    "  r         give up the write side (watch only)\r\n"
	    "  ?         this list\r\n"
	    "  ~         send one ~]\r\n");
}

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
		if (k->k_ta->t_raw) {
			key_out(k, c);
			continue;
		}
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
		else if (c == 'w' || c == 'r')
			change_mode(k, c == 'w');
		else if (c == '?')
			list_escapes();
		else if (c == '~')
			key_out(k, '~');
		else {
			key_out(k, '~');
			key_out(k, c);
		}
	}
	return 0;
}

/* Where the replay is: input is filtered until ANSWER_MS after it. */
struct replay {
	long long	 r_left;	/* bytes of it not yet written */
	struct timespec	 r_done;	/* when it was all written */
	int		 r_over;
};

static long
ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) /
	    1000000;
}

/* Is input now a terminal's answer to replayed output?  Then drop it. */
static int
replay_answer(struct replay *rp, const char *b, size_t n)
{
	if (rp->r_over)
		return 0;
	if (rp->r_left <= 0 && ms_since(&rp->r_done) > ANSWER_MS) {
		rp->r_over = 1;
		return 0;
	}
	return n > 0 && b[0] == '\033';
}

/* Session output to stdout: 1 at the end of the session, -1 on error. */
static int
pump_out(int fd, struct replay *rp)
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
	if (write_all(STDOUT_FILENO, b, (size_t)r) == -1)
		return -1;
	if (rp->r_left > 0 && (rp->r_left -= r) <= 0)
		clock_gettime(CLOCK_MONOTONIC, &rp->r_done);
	return 0;
}

int
term_session(const struct term_args *ta)
{
	struct replay rp;
	struct keys k;
	struct pollfd pfd[2];
	char b[KEYBUF / 2];
	int fd = ta->t_fd, stdin_open = 1, rc = -1, done = 0, st;
	ssize_t r;

	memset(&k, 0, sizeof(k));
	memset(&rp, 0, sizeof(rp));
	k.k_readonly = ta->t_readonly;
	k.k_ta = ta;
	rp.r_left = ta->t_raw ? 0 : ta->t_replay;
	rp.r_over = rp.r_left <= 0;
	is_tty = !ta->t_raw && isatty(STDIN_FILENO) &&
	    tcgetattr(STDIN_FILENO, &saved) == 0;
	if (is_tty)
		fprintf(stderr, "[bmdctl: %s %s of %s; ~. disconnects, ~? "
		    "lists the escapes]\n", ta->t_readonly ?
		    "watching (read-only)" : "attached to", ta->t_port,
		    ta->t_name);
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
			if ((st = pump_out(fd, &rp)) != 0) {
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
			else if (r > 0 && replay_answer(&rp, b, (size_t)r))
				;	/* the terminal answering the replay */
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
		    ta->t_name);
	else if (rc == -1 || rc == 1)
		fprintf(stderr, "bmdctl: console of %s: %s\n", ta->t_name,
		    strerror(errno));
	return rc == -1 ? 1 : rc;
}
