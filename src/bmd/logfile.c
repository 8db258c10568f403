/*
 * err_logfile: the hypervisor's stdout and stderr come through a pipe
 * and are appended to the VM's log file, after the command line.
 * Appending to a local regular file is the one kind of write done in
 * the event loop; anything else (a FIFO, a device) is refused.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "buf.h"
#include "log.h"
#include "xmalloc.h"

/* What a user's log may hold in memory while it is being opened. */
#define LOG_WAIT_MAX	65536

/* As the owner would write it: her quota, not root's reserve. */
static ssize_t
owner_log_write(const struct vm *vm, const void *d, size_t n)
{
	return plat_write_as(vm->vm_conf->vc_owner, vm->vm_conf->vc_group,
	    vm->vm_run->rn_log_fd, d, n);
}

static void
wait_free(struct vm_run *rn)
{
	if (rn->rn_log_wait == NULL)
		return;
	buf_free(rn->rn_log_wait);
	free(rn->rn_log_wait);
	rn->rn_log_wait = NULL;
}

static void
log_opened(void *arg, int fd)
{
	struct vm *vm = arg;
	struct vm_run *rn = vm->vm_run;

	rn->rn_log_job = NULL;
	rn->rn_log_fd = fd;
	if (fd != -1 && rn->rn_log_wait != NULL &&
	    owner_log_write(vm, rn->rn_log_wait->b_data,
	    rn->rn_log_wait->b_len) == -1)
		log_debug("%s: vm %s: write: %s", __func__,
		    vm->vm_conf->vc_name, strerror(errno));
	wait_free(rn);
}

/*
 * As the owner, 0640, no symlink, a regular file (owner_io.c); a user's
 * is opened without waiting for her: its output waits in memory.
 */
static void
open_log(struct vm *vm)
{
	struct vm_run *rn = vm->vm_run;
	int fd;

	fd = owner_open_log(vm->vm_conf, "err_logfile",
	    vm->vm_conf->vc_err_logfile, 0, log_opened, vm, &rn->rn_log_job);
	rn->rn_log_fd = fd >= 0 ? fd : -1;
}

/* Append to the log, or keep it while the log is being opened. */
static void
log_put(struct vm *vm, const char *d, size_t n)
{
	struct vm_run *rn = vm->vm_run;

	if (rn->rn_log_fd != -1) {
		if (owner_log_write(vm, d, n) == -1)
			log_debug("%s: vm %s: write: %s", __func__,
			    vm->vm_conf->vc_name, strerror(errno));
		return;
	}
	if (rn->rn_log_job == NULL)
		return;
	if (rn->rn_log_wait == NULL) {
		rn->rn_log_wait = xmalloc(sizeof(*rn->rn_log_wait));
		buf_init(rn->rn_log_wait);
	}
	if (rn->rn_log_wait->b_len + n <= LOG_WAIT_MAX)
		buf_add(rn->rn_log_wait, d, n);
}

/* Read what the pipe holds; at EOF (or a drain) close it. */
static void
pump(struct vm *vm, int drain)
{
	struct vm_run *rn = vm->vm_run;
	char b[16384];
	ssize_t r;

	for (;;) {
		r = read(rn->rn_out_fd, b, sizeof(b));
		if (r == -1 && errno == EINTR)
			continue;
		if (r > 0) {
			log_put(vm, b, (size_t)r);
			continue;
		}
		if (r == -1 && errno == EAGAIN && !drain)
			return;
		break;
	}
	event_free(rn->rn_out_ev);
	rn->rn_out_ev = NULL;
	close(rn->rn_out_fd);
	rn->rn_out_fd = -1;
}

static void
out_readable(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg, 0);
}

/*
 * Open the log (once per run) and a fresh pipe for the next process.
 * *child_out gets the pipe's write end, or -1 when there is no log.
 */
int
logfile_open(struct vm *vm, int *child_out)
{
	struct vm_run *rn = vm->vm_run;
	int p[2];

	*child_out = -1;
	if (vm->vm_conf->vc_err_logfile == NULL)
		return -1;
	if (rn->rn_log_fd == -1 && rn->rn_log_job == NULL)
		open_log(vm);
	if (rn->rn_log_fd == -1 && rn->rn_log_job == NULL)
		return -1;
	logfile_drain(vm);
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("%s: pipe", __func__);
		return -1;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s: fcntl", __func__);
	rn->rn_out_fd = p[0];
	rn->rn_out_ev = event_new(bmd.b_base, p[0], EV_READ | EV_PERSIST,
	    out_readable, vm);
	event_add(rn->rn_out_ev, NULL);
	*child_out = p[1];
	return 0;
}

/* Quote an argument when the shell would split or expand it. */
static void
add_arg(struct buf *b, const char *a)
{
	const char *p;

	if (*a != '\0' && strpbrk(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") == NULL) {
		buf_adds(b, a);
		return;
	}
	buf_addc(b, '\'');
	for (p = a; *p != '\0'; p++)
		if (*p == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *p);
	buf_addc(b, '\'');
}

void
logfile_write_argv(struct vm *vm, const struct proc_cmd *pc)
{
	struct buf b;
	size_t i;

	if (vm->vm_run->rn_log_fd == -1 && vm->vm_run->rn_log_job == NULL)
		return;
	buf_init(&b);
	for (i = 0; i < pc->pc_argv.a_n; i++) {
		if (i > 0)
			buf_addc(&b, ' ');
		add_arg(&b, pc->pc_argv.a_v[i]);
	}
	buf_addc(&b, '\n');
	log_put(vm, b.b_data, b.b_len);
	buf_free(&b);
}

/* After an exit: copy what is left in the pipe, then close it. */
void
logfile_drain(struct vm *vm)
{
	if (vm->vm_run != NULL && vm->vm_run->rn_out_fd != -1)
		pump(vm, 1);
}

void
logfile_close(struct vm *vm)
{
	struct vm_run *rn = vm->vm_run;

	logfile_drain(vm);
	if (rn == NULL)
		return;
	if (rn->rn_log_fd != -1) {
		close(rn->rn_log_fd);
		rn->rn_log_fd = -1;
	}
	owner_open_cancel(rn->rn_log_job);
	rn->rn_log_job = NULL;
	wait_free(rn);
}

/* SIGUSR1 and SIGHUP: for log rotation, open every open log again. */
void
logfile_reopen_all(void)
{
	struct vm_run *rn;
	struct vm *vm;
	size_t i;

	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		rn = vm->vm_run;
		if (rn == NULL || rn->rn_log_fd == -1)
			continue;	/* none, or being opened */
		close(rn->rn_log_fd);
		open_log(vm);
	}
}
