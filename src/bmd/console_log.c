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

static int
clog_open_fd(struct cons_port *p, int keep)
{
	const struct vm_conf *vc = p->cp_vm->vm_conf;
	struct stat st;
	int fd;

	/* as the owner, 0640, no symlink, a regular file (owner_io.c) */
	if ((fd = owner_open_log(vc, "console_logfile", vc->vc_console_logfile,
	    keep)) == -1)
		return -1;
	p->cp_log_size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return fd;
}

void
clog_open(struct cons_port *p)
{
	if (p->cp_index != 0 || p->cp_vm->vm_conf->vc_console_logfile ==
	    NULL || p->cp_log_fd != -1)
		return;
	if ((p->cp_log_fd = clog_open_fd(p, 0)) == -1)
		return;
	p->cp_log_pos = p->cp_total;
	clog_event(p, "%s started", vm_name(p));
}

/* The file is full: the next one, the old ones moved up (as the owner). */
static void
clog_rotate(struct cons_port *p)
{
	const struct vm_conf *vc = p->cp_vm->vm_conf;

	close(p->cp_log_fd);
	p->cp_log_fd = clog_open_fd(p, (int)vc->vc_console_logfile_keep);
	if (p->cp_log_fd != -1)
		log_info("vm %s: console_logfile %s rotated", vm_name(p),
		    vc->vc_console_logfile);
}

static void
clog_write(struct cons_port *p, const unsigned char *d, size_t n)
{
	uint64_t max = p->cp_vm->vm_conf->vc_console_logfile_max.m_bytes;

	if (p->cp_log_fd == -1 || n == 0)
		return;
	if (max > 0 && p->cp_log_size > 0 && p->cp_log_size + n > max)
		clog_rotate(p);
	if (p->cp_log_fd == -1)
		return;
	if (write(p->cp_log_fd, d, n) != (ssize_t)n) {
		log_warn("vm %s: console_logfile %s; no longer written",
		    vm_name(p), p->cp_vm->vm_conf->vc_console_logfile);
		close(p->cp_log_fd);
		p->cp_log_fd = -1;
		return;
	}
	p->cp_log_size += n;
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
	line = xprintf("\r\n[-- bmd %s: %s --]\r\n", when, what);
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

/* Output is about to be written: a time stamp first, if one is due. */
static void
clog_mark(struct cons_port *p)
{
	long long every = p->cp_vm->vm_conf->vc_console_log_mark;

	if (every > 0 && time(NULL) - p->cp_log_stamp >= every)
		clog_line(p, "mark");
}

/* Append what the ring holds beyond cp_log_pos. */
void
clog_flush(struct cons_port *p)
{
	uint64_t low = ring_low(p);
	size_t off, len;

	if (p->cp_log_pos < low)
		p->cp_log_pos = low;	/* cannot happen: see log_output */
	if (p->cp_log_fd != -1 && p->cp_log_pos < p->cp_total)
		clog_mark(p);
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
		if ((p->cp_log_fd = clog_open_fd(p, 0)) != -1)
			clog_line(p, "console_logfile opened again");
	}
}
