/*
 * console_logfile: a copy of com1's output, opened as the owner, with
 * bmd's own lines in it ("[-- bmd TIME: ... --]": attaches, detaches,
 * takeovers, and a time stamp at most every console_log_mark seconds
 * while output flows), rotated at console_logfile_max and opened again
 * on SIGUSR1.
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

enum { CLOG_START, CLOG_ROTATE, CLOG_REOPEN };

static void	clog_line(struct cons_port *, const char *);

/* The file is open (fd -1: it could not be). */
static void
clog_set(struct cons_port *p, int fd)
{
	const struct vm_conf *vc = p->cp_vm->vm_conf;
	struct stat st;
	char *line;

	if ((p->cp_log_fd = fd) == -1)
		return;
	p->cp_log_size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	p->cp_log_mid = p->cp_log_size > 0;	/* what ends it is unknown */
	if (p->cp_log_why == CLOG_START) {
		line = xprintf("%s started", vm_name(p));
		clog_line(p, line);
		free(line);
	} else if (p->cp_log_why == CLOG_ROTATE)
		log_info("vm %s: console_logfile %s rotated", vm_name(p),
		    vc->vc_console_logfile);
	else
		clog_line(p, "console_logfile opened again");
}

/* A user's file, opened later: then what the ring kept meanwhile. */
static void
clog_opened(void *arg, int fd)
{
	struct cons_port *p = arg;

	p->cp_log_job = NULL;
	clog_set(p, fd);
	clog_flush(p);
}

/*
 * As the owner, 0640, no symlink, a regular file (owner_io.c).  A
 * user's is opened without waiting for her: the ring keeps what comes
 * meanwhile, from cp_log_pos on.
 */
static void
clog_open_fd(struct cons_port *p, int keep, int why)
{
	const struct vm_conf *vc = p->cp_vm->vm_conf;
	int fd;

	p->cp_log_why = why;
	fd = owner_open_log(vc, "console_logfile", vc->vc_console_logfile,
	    keep, clog_opened, p, &p->cp_log_job);
	if (fd != OWNER_PENDING)
		clog_set(p, fd);
}

void
clog_open(struct cons_port *p)
{
	if (p->cp_index != 0 || p->cp_vm->vm_conf->vc_console_logfile ==
	    NULL || p->cp_log_fd != -1 || p->cp_log_job != NULL)
		return;
	p->cp_log_pos = p->cp_total;
	clog_open_fd(p, 0, CLOG_START);
}

/* The file is full: the next one, the old ones moved up (as the owner). */
static void
clog_rotate(struct cons_port *p)
{
	close(p->cp_log_fd);
	p->cp_log_fd = -1;
	clog_open_fd(p, (int)p->cp_vm->vm_conf->vc_console_logfile_keep,
	    CLOG_ROTATE);
}

/* -1: not written, the file is being opened again (or is gone). */
static int
clog_write(struct cons_port *p, const unsigned char *d, size_t n)
{
	uint64_t max = p->cp_vm->vm_conf->vc_console_logfile_max.m_bytes;

	if (p->cp_log_fd == -1 || n == 0)
		return p->cp_log_fd == -1 ? -1 : 0;
	if (max > 0 && p->cp_log_size > 0 && p->cp_log_size + n > max)
		clog_rotate(p);
	if (p->cp_log_fd == -1)
		return -1;
	/* as the owner would write it: her quota, not root's reserve */
	if (plat_write_as(p->cp_vm->vm_conf->vc_owner,
	    p->cp_vm->vm_conf->vc_group, p->cp_log_fd, d, n) != (ssize_t)n) {
		log_warn("vm %s: console_logfile %s; no longer written",
		    vm_name(p), p->cp_vm->vm_conf->vc_console_logfile);
		close(p->cp_log_fd);
		p->cp_log_fd = -1;
		return -1;
	}
	p->cp_log_size += n;
	p->cp_log_mid = d[n - 1] != '\n';
	return 0;
}

/* One line of bmd's, on a line of its own, with the time. */
static void
clog_line(struct cons_port *p, const char *what)
{
	char when[64], *line;
	struct tm tm;
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z",
	    localtime_r(&now, &tm));
	line = xprintf("%s[-- bmd %s: %s --]\r\n", p->cp_log_mid ? "\r\n" :
	    "", when, what);
	clog_write(p, (const unsigned char *)line, strlen(line));
	free(line);
	p->cp_log_stamp = now;
}

/* An event: after the output that came before it. */
void
clog_event(struct cons_port *p, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (p->cp_log_fd == -1)
		return;
	clog_flush(p);
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatal("%s", __func__);
	va_end(ap);
	clog_line(p, s);
	free(s);
}

/* Is a time stamp due? */
static int
clog_mark_due(const struct cons_port *p)
{
	long long every = p->cp_vm->vm_conf->vc_console_log_mark;

	return every > 0 && time(NULL) - p->cp_log_stamp >= every;
}

/*
 * Output is about to be written: a time stamp first, if one is due and
 * the file is between two lines (a stamp never cuts the guest's line).
 */
static void
clog_mark(struct cons_port *p)
{
	if (!p->cp_log_mid && clog_mark_due(p))
		clog_line(p, "mark");
}

/*
 * Append what the ring holds beyond cp_log_pos.  A time stamp due in
 * the middle of a line comes after the end of that line.
 */
void
clog_flush(struct cons_port *p)
{
	uint64_t low = ring_low(p);
	const unsigned char *nl;
	size_t off, len;

	if (p->cp_log_pos < low)
		p->cp_log_pos = low;	/* cannot happen: see log_output */
	while (p->cp_log_fd != -1 && p->cp_log_pos < p->cp_total) {
		off = (size_t)(p->cp_log_pos % p->cp_cap);
		len = p->cp_cap - off;
		if (p->cp_total - p->cp_log_pos < len)
			len = (size_t)(p->cp_total - p->cp_log_pos);
		clog_mark(p);
		if (p->cp_log_mid && clog_mark_due(p) &&
		    (nl = memchr(p->cp_ring + off, '\n', len)) != NULL)
			len = (size_t)(nl - (p->cp_ring + off)) + 1;
		if (clog_write(p, p->cp_ring + off, len) == -1)
			break;		/* kept in the ring meanwhile */
		p->cp_log_pos += len;
	}
}

/*
 * New output, before it enters the ring.  The file is written from the
 * ring with the sends to clients (one write per burst, not per byte),
 * or at once when the ring could otherwise overwrite unwritten bytes.
 */
void
clog_output(struct cons_port *p, const unsigned char *d, size_t n)
{
	if (p->cp_log_fd == -1 ||
	    p->cp_total - p->cp_log_pos + n <= p->cp_cap / 2)
		return;
	clog_flush(p);
	if (n > p->cp_cap / 2) {
		clog_mark(p);
		clog_write(p, d, n);
		p->cp_log_pos += n;
	}
}

void
clog_close(struct cons_port *p)
{
	clog_flush(p);
	if (p->cp_log_fd != -1)
		close(p->cp_log_fd);
	p->cp_log_fd = -1;
	owner_open_cancel(p->cp_log_job);
	p->cp_log_job = NULL;
}

/* SIGUSR1: every console_logfile is opened again (after a rotation). */
void
console_reopen_logs(void)
{
	struct cons_port *p;
	struct vm *vm;
	size_t i;

	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		if ((p = port_find(vm, 0)) == NULL || p->cp_log_fd == -1)
			continue;
		clog_flush(p);
		close(p->cp_log_fd);
		p->cp_log_fd = -1;
		clog_open_fd(p, 0, CLOG_REOPEN);
	}
}
