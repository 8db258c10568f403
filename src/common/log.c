/* OpenBSD-style logging shared by bmd and bmdctl: syslog and/or stderr. */
#include <errno.h>
#include <fcntl.h>
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
file_vwrite(const char *fmt, va_list ap)
{
	char line[2304], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int n, m;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%ld]: ", stamp, log_ident,
	    (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n = (size_t)(n + m) >= sizeof(line) - 1 ? (int)sizeof(line) - 2 :
	    n + m;
	line[n++] = '\n';
	if (write(log_fd, line, (size_t)n) == -1)
		return;		/* nowhere left to report it */
}

void
log_init(const char *ident, int dest, int facility)
{
	log_ident = ident;
	log_dest = dest;
	if (dest & LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
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

void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	va_list ap2;

	if (pri == LOG_DEBUG && !log_verbose)
		return;
	if (log_dest & LOG_TO_SYSLOG) {
		va_copy(ap2, ap);
		vsyslog(pri, fmt, ap2);
		va_end(ap2);
	}
	if ((log_dest & LOG_TO_FILE) && log_fd != -1) {
		va_copy(ap2, ap);
		file_vwrite(fmt, ap2);
		va_end(ap2);
	}
	if (log_dest & LOG_TO_STDERR) {
		fprintf(stderr, "%s: ", log_ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
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
