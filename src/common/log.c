/* OpenBSD-style logging shared by bmd and bmdctl: syslog and/or stderr. */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int	 log_dest = LOG_TO_STDERR;
static int	 log_verbose;
static const char *log_ident = "bmd";
static char	*log_path;
static int	 log_fd = -1;

/*
 * syslog without ever waiting.  A syslog daemon that stops reading (a
 * journald stuck on its disk) leaves room for a handful of datagrams on
 * its socket, then syslog(3)'s blocking send would stop the daemon's
 * event loop, and every request with it.  Lines it does not take are
 * counted, and the count is logged first once it takes them again.
 */
static int	 sl_fd = -1;
static int	 sl_facility = LOG_DAEMON;
static time_t	 sl_tried;	/* the last connect(2), at most one a second */
static unsigned long sl_lost;
static pthread_mutex_t sl_lock = PTHREAD_MUTEX_INITIALIZER;

static int
open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY | O_NOFOLLOW, 0640);
}

int
log_file(const char *path)
{
	int fd;

	if ((fd = open_file(path)) == -1)
		return -1;
	if (log_fd != -1)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	log_path = strdup(path);
	return 0;
}

/* After the file was rotated (SIGUSR1): a new one at the same path. */
void
log_reopen(void)
{
	int fd;

	if (log_path == NULL || (fd = open_file(log_path)) == -1)
		return;
	close(log_fd);
	log_fd = fd;
}

/* One line: time stamp (UTC), ident, pid, message; one write(2). */
static void
file_write(const char *msg)
{
	char line[2304], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s\n", stamp, log_ident,
	    (long)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(log_fd, line, (size_t)n) == -1)
		return;		/* nowhere left to report it */
}

static void
sl_connect(void)
{
	struct sockaddr_un sun;
	time_t now = time(NULL);

	if (sl_fd != -1 || now == sl_tried)
		return;
	sl_tried = now;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	if ((sl_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return;
	if (connect(sl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(sl_fd);
		sl_fd = -1;
	}
}

/* One line as syslog daemons read it (RFC 3164); -1: not taken. */
static int
sl_send(int pri, const char *msg)
{
	char line[2304], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int n, tries;

	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S",
	    localtime_r(&now, &tm));
	n = snprintf(line, sizeof(line), "<%d>%s %s[%ld]: %s",
	    sl_facility | pri, stamp, log_ident, (long)getpid(), msg);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	for (tries = 0; tries < 2; tries++) {
		sl_connect();
		if (sl_fd == -1)
			return -1;
		if (send(sl_fd, line, (size_t)n, MSG_NOSIGNAL) != -1)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS)
			return -1;	/* full: never wait */
		/* the daemon went, or was started again: connect again */
		close(sl_fd);
		sl_fd = -1;
		sl_tried = 0;
	}
	return -1;
}

static void
sl_write(int pri, const char *msg)
{
	char note[96];
	int e = errno;

	pthread_mutex_lock(&sl_lock);
	if (sl_lost > 0) {
		snprintf(note, sizeof(note), "%lu log message%s not taken by "
		    "syslog", sl_lost, sl_lost == 1 ? "" : "s");
		if (sl_send(LOG_WARNING, note) == 0)
			sl_lost = 0;
	}
	if (sl_lost > 0 || sl_send(pri, msg) == -1)
		sl_lost++;	/* in order or not at all */
	pthread_mutex_unlock(&sl_lock);
	errno = e;
}

/*
 * bmd forks children that log without executing a program (the Wake-on-
 * LAN monitor, a user's file opener): one forked while another thread
 * held the lock would wait for it forever, holding every descriptor.
 */
static void
sl_fork_prepare(void)
{
	pthread_mutex_lock(&sl_lock);
}

static void
sl_fork_done(void)
{
	pthread_mutex_unlock(&sl_lock);
}

void
log_init(const char *ident, int dest, int facility)
{
	static int atfork;

	log_ident = ident;
	log_dest = dest;
	if (dest & LOG_TO_SYSLOG) {
		sl_facility = facility;
		sl_connect();
	}
	if (!atfork)
		atfork = pthread_atfork(sl_fork_prepare, sl_fork_done,
		    sl_fork_done) == 0;
	tzset();
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return log_verbose;
}

/*
 * Messages carry text users choose (a VM's name is checked, but not an
 * error their QMP program sends, nor a path of theirs): each control
 * character is written as an escape, so that one message stays one
 * line and no user writes a line that reads as bmd's own, nor sends an
 * escape sequence to the terminal of whoever reads the log.
 */
static void
escape_controls(const char *in, char *out, size_t outlen)
{
	static const char named[] = "\a" "a" "\b" "b" "\t" "t" "\n" "n"
	    "\v" "v" "\f" "f" "\r" "r";
	const char *p;
	size_t n = 0;
	unsigned char c;

	for (; (c = (unsigned char)*in) != '\0' && n + 5 < outlen; in++) {
		if (c >= 0x20 && c != 0x7f)
			out[n++] = (char)c;
		else if ((p = strchr(named, c)) != NULL) {
			out[n++] = '\\';
			out[n++] = p[1];
		} else
			n += (size_t)snprintf(out + n, outlen - n, "\\x%02x",
			    c);
	}
	out[n] = '\0';
}

void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	char raw[2048], msg[2048];

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape_controls(raw, msg, sizeof(msg));
	if (log_dest & LOG_TO_SYSLOG)
		sl_write(pri, msg);
	if ((log_dest & LOG_TO_FILE) && log_fd != -1)
		file_write(msg);
	if (log_dest & LOG_TO_STDERR) {
		fprintf(stderr, "%s: %s\n", log_ident, msg);
		fflush(stderr);
	}
}

static void
log_str(int pri, const char *s)
{
	log_write(pri, "%s", s);
}

/* Format the caller's message, then append strerror(saved) when asked. */
static void
log_fmt(int pri, int saved, const char *fmt, va_list ap)
{
	char buf[2048];
	size_t len;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (saved) {
		len = strlen(buf);
		snprintf(buf + len, sizeof(buf) - len, ": %s", strerror(saved));
	}
	log_str(pri, buf);
}

void
log_write(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(pri, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_fmt(LOG_ERR, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fmt(LOG_ERR, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_fmt(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fmt(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
