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

static int
open_log(const struct vm_conf *vc)
{
	/* as the owner, 0640, no symlink, a regular file (owner_io.c) */
	return owner_open_log(vc, "err_logfile", vc->vc_err_logfile, 0);
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
			if (rn->rn_log_fd != -1 &&
			    write(rn->rn_log_fd, b, (size_t)r) == -1)
				log_debug("%s: vm %s: write: %s", __func__,
				    vm->vm_conf->vc_name, strerror(errno));
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
	if (rn->rn_log_fd == -1)
		rn->rn_log_fd = open_log(vm->vm_conf);
	if (rn->rn_log_fd == -1)
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

	if (vm->vm_run->rn_log_fd == -1)
		return;
	buf_init(&b);
	for (i = 0; i < pc->pc_argv.a_n; i++) {
		if (i > 0)
			buf_addc(&b, ' ');
		add_arg(&b, pc->pc_argv.a_v[i]);
	}
	buf_addc(&b, '\n');
	if (write(vm->vm_run->rn_log_fd, b.b_data, b.b_len) == -1)
		log_debug("%s: vm %s: write: %s", __func__,
		    vm->vm_conf->vc_name, strerror(errno));
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
	logfile_drain(vm);
	if (vm->vm_run != NULL && vm->vm_run->rn_log_fd != -1) {
		close(vm->vm_run->rn_log_fd);
		vm->vm_run->rn_log_fd = -1;
	}
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
			continue;
		close(rn->rn_log_fd);
		rn->rn_log_fd = open_log(vm->vm_conf);
	}
}
