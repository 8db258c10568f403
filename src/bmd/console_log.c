/* console_logfile: a copy of com1's output, written as the owner. */
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

void
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
void
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
void
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

void
clog_close(struct cons_port *p)
{
	clog_flush(p);
	if (p->cp_log_fd != -1)
		close(p->cp_log_fd);
	p->cp_log_fd = -1;
}
