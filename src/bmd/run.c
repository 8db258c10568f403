/* One run of a VM: its command lines, processes, exits and restarts. */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bmd.h"
#include "log.h"
#include "vmlock.h"
#include "xmalloc.h"

static void
log_diags(const char *vmname, const struct diags *ds)
{
	size_t i;

	for (i = 0; i < ds->ds_n; i++)
		log_warnx("vm %s: %s", vmname, ds->ds_v[i].d_text);
}

/* Ask the backend for the exact command lines of this start. */
static int
build_cmdline(struct vm *vm)
{
	const struct vm_conf *vc = vm->vm_conf;
	struct vm_run *rn = vm->vm_run;
	const struct backend *be = backend_get(vc->vc_backend);
	struct be_params bp;
	struct diags ds;
	int rc;

	memset(&bp, 0, sizeof(bp));
	bp.bp_localbase = LOCALBASE;
	bp.bp_run_dir = bmd.b_run_dir;
	bp.bp_vars_dir = bmd.b_vars_dir;
	bp.bp_freebsd_version = bmd.b_freebsd_version;
	bp.bp_nmdm_offset = bmd.b_nmdm_offset;
	bp.bp_install = vm->vm_install || vc->vc_install;
	bp.bp_daemon_pid = getpid();
	bp.bp_accel = plat_accel_name(vc->vc_accel);
	net_params(vm, &bp);
	if (owner_params(vm, &bp) == -1)
		return -1;
	if (rn->rn_drv->d_params != NULL && rn->rn_drv->d_params(vm, &bp) == -1)
		return -1;
	if (be == NULL) {
		log_warnx("vm %s: no backend", vc->vc_name);
		return -1;
	}
	diags_init(&ds);
	memset(&rn->rn_cmd, 0, sizeof(rn->rn_cmd));
	rc = be->be_commands(vc, &bp, &rn->rn_cmd, &ds);
	log_diags(vc->vc_name, &ds);
	diags_free(&ds);
	if (rc == -1 || rn->rn_cmd.cl_nprocs < 1) {
		cmdline_free(&rn->rn_cmd);
		memset(&rn->rn_cmd, 0, sizeof(rn->rn_cmd));
		return -1;
	}
	rn->rn_nextproc = 0;
	return 0;
}

/* The device map of the run's loader: gone once the loader is. */
static void
aux_remove(struct vm_run *rn)
{
	if (rn == NULL || rn->rn_aux_path == NULL)
		return;
	if (unlink(rn->rn_aux_path) == -1 && errno != ENOENT)
		log_warn("unlink %s", rn->rn_aux_path);
	free(rn->rn_aux_path);
	rn->rn_aux_path = NULL;
}

/* Why the last start failed, for bmdctl boot; "" when it did not. */
static char	start_error[512];

const char *
run_error(void)
{
	return start_error[0] != '\0' ? start_error : NULL;
}

int
run_fail(const struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(start_error, sizeof(start_error), fmt, ap);
	va_end(ap);
	log_warnx("vm %s: %s", vm->vm_conf->vc_name, start_error);
	return -1;
}

/*
 * One hypervisor per VM (vmlock.h): the lock is taken before anything
 * of the run exists, and held by bmd and by every process of the run.
 */
static int
take_lock(struct vm *vm)
{
	const struct vm_conf *vc = vm->vm_conf;
	char err[512];

	if (vmlock_prepare(bmd.b_lock_dir, vc->vc_owner, err,
	    sizeof(err)) == -1 ||
	    (vm->vm_run->rn_lock_fd = vmlock_take(bmd.b_lock_dir, vc->vc_owner,
	    vc->vc_name, 1, err, sizeof(err))) == -1)
		return run_fail(vm, "%s", err);
	return 0;
}

/* Every owner bmd knows has a lock directory, for its bmdctl run. */
void
run_lock_dirs(void)
{
	char err[512];
	uid_t *seen = NULL;
	size_t i, j, n = 0, cap = 0;
	struct vm *vm;
	uid_t u;

	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		u = vm_ident(vm)->vc_owner;
		for (j = 0; j < n && seen[j] != u; j++)
			;
		if (j < n)
			continue;
		ARRAY_GROW(seen, n, cap);
		seen[n++] = u;
		if (vmlock_prepare(bmd.b_lock_dir, u, err, sizeof(err)) == -1)
			log_warnx("%s", err);
	}
	free(seen);
}

/* The owner's quotas (quota.c) allow this start. */
static int
quota_ok(struct vm *vm)
{
	char why[512];

	if (quota_check(vm, why, sizeof(why)) == 0)
		return 0;
	return run_fail(vm, "%s", why);
}

int
run_begin(struct vm *vm)
{
	struct vm_run *rn = xcalloc(1, sizeof(*rn));

	start_error[0] = '\0';

	rn->rn_log_fd = -1;
	rn->rn_out_fd = -1;
	rn->rn_lock_fd = -1;
	rn->rn_drv = driver_for(vm->vm_conf);
	vm->vm_run = rn;
	rn->rn_first = 1;
	if (quota_ok(vm) == -1 || take_lock(vm) == -1 || net_setup(vm) == -1 ||
	    (rn->rn_drv->d_begin != NULL && rn->rn_drv->d_begin(vm) == -1)) {
		if (rn->rn_drv->d_end != NULL)
			rn->rn_drv->d_end(vm);
		net_teardown(vm);
		owner_run_end(vm);
		if (rn->rn_lock_fd != -1)
			close(rn->rn_lock_fd);
		free(rn);
		vm->vm_run = NULL;
		return -1;
	}
	return 0;
}

/*
 * The descriptors a process gets, from 3 up: the files opened as the
 * owner (the same numbers in a loader and the hypervisor), the taps and
 * sockets, then the lock.
 */
static int
pass_list(const struct vm *vm, const int *fds, int n, int *out)
{
	const int *own;
	int no = owner_pass_fds(vm, &own);

	if (n < 0 || no + n >= PROC_MAXFDS)
		return -1;
	if (no > 0)
		memcpy(out, own, (size_t)no * sizeof(*out));
	if (n > 0)
		memcpy(out + no, fds, (size_t)n * sizeof(*out));
	out[no + n] = vm->vm_run->rn_lock_fd;
	return no + n + 1;
}

/*
 * A file a process needs (grub's device map), written before it runs.
 * pc_file_path is a template in bmd's run directory (root, 0700): the
 * file is created exclusively (mkstemp), so nothing planted there (a
 * FIFO, a symlink) is ever opened, and its real name replaces the
 * template in the argv.  It is removed when the process has exited.
 */
static int
write_aux_file(struct vm *vm, struct proc_cmd *pc)
{
	struct vm_run *rn = vm->vm_run;
	char *path;
	size_t i, len;
	int fd;

	if (pc->pc_file_path == NULL || pc->pc_file_data == NULL)
		return 0;
	aux_remove(rn);
	path = xstrdup(pc->pc_file_path);
	if ((fd = mkstemp(path)) == -1) {
		run_fail(vm, "%s: %s", pc->pc_file_path, strerror(errno));
		free(path);
		return -1;
	}
	rn->rn_aux_path = path;
	len = strlen(pc->pc_file_data);
	if (write(fd, pc->pc_file_data, len) != (ssize_t)len) {
		run_fail(vm, "%s: %s", path, strerror(errno));
		close(fd);
		aux_remove(rn);
		return -1;
	}
	close(fd);
	for (i = 0; i < pc->pc_argv.a_n; i++)
		if (strcmp(pc->pc_argv.a_v[i], pc->pc_file_path) == 0) {
			free(pc->pc_argv.a_v[i]);
			pc->pc_argv.a_v[i] = xstrdup(path);
		}
	return 0;
}

static void
log_exit(const struct vm *vm, pid_t pid, int st)
{
	const char *n = vm->vm_conf->vc_name;

	if (st == PROC_STATUS_UNKNOWN)
		log_info("vm %s: process %d exited (started by an earlier bmd: "
		    "its status is unknown)", n, (int)pid);
	else if (WIFSIGNALED(st))
		log_info("vm %s: process %d killed by signal %d%s", n, (int)pid,
		    WTERMSIG(st), WCOREDUMP(st) ? " (core dumped)" : "");
	else
		log_info("vm %s: process %d exited with status %d", n, (int)pid,
		    WEXITSTATUS(st));
}

/* The process of a run was reaped: tidy up, then tell the state machine. */
static void
proc_exited(pid_t pid, int st, void *arg)
{
	struct vm *vm = arg;
	struct vm_run *rn = vm->vm_run;

	vm->vm_pid = 0;
	rn->rn_status = st;
	aux_remove(rn);
	vmgroup_close(vm);
	log_exit(vm, pid, st);
	logfile_drain(vm);
	rn->rn_reboot = 0;
	if (rn->rn_nextproc >= rn->rn_cmd.cl_nprocs) {
		rn->rn_reboot = why_exit(vm, st);
		rn->rn_drv->d_close(vm);
	}
	vm_event(vm, VE_EXIT);
}

/*
 * Spawn the next process of the run.  When every process has run (a
 * boot = always restart), the command lines are built again.
 */
int
run_spawn_next(struct vm *vm)
{
	struct vm_run *rn = vm->vm_run;
	struct proc_cmd *pc;
	const int *taps = NULL;
	struct proc_cred cr;
	int out = -1, cg, last, ntaps, keep[PROC_MAXFDS];
	char why[PATH_MAX + 128];
	pid_t pid;

	start_error[0] = '\0';
	if (rn->rn_nextproc >= rn->rn_cmd.cl_nprocs) {
		cmdline_free(&rn->rn_cmd);
		/*
		 * Built after PRESTART: they depend on the check of the
		 * owner's paths there (TCG when she has no /dev/kvm).  A
		 * restart in place is a start: the quotas are checked again
		 * (and her paths, in PRESTART again: act_run_exited).
		 */
		if (!rn->rn_first && quota_ok(vm) == -1)
			return -1;
		rn->rn_first = 0;
		if (build_cmdline(vm) == -1)
			return -1;
	}
	pc = &rn->rn_cmd.cl_procs[rn->rn_nextproc];
	last = rn->rn_nextproc == rn->rn_cmd.cl_nprocs - 1;
	if (write_aux_file(vm, pc) == -1)
		return -1;
	if (last && rn->rn_drv->d_prepare != NULL &&
	    rn->rn_drv->d_prepare(vm) == -1)
		return -1;
	/* only the hypervisor gets the taps, not a loader */
	ntaps = last ? net_pass_fds(vm, &taps) : 0;
	/* and what the driver opened for it (a user's QEMU: its sockets) */
	if (last && rn->rn_drv->d_pass_fds != NULL &&
	    (ntaps = rn->rn_drv->d_pass_fds(vm, taps, ntaps, &taps)) == -1)
		return -1;
	if ((ntaps = pass_list(vm, taps, ntaps, keep)) == -1)
		return run_fail(vm, "too many descriptors to pass");
	if (logfile_open(vm, &out) == 0)
		logfile_write_argv(vm, pc);
	owner_cred(vm->vm_conf, &cr);
	if (vmgroup_open(vm, &cg, why, sizeof(why)) == -1)
		pid = run_fail(vm, "%s", why);
	else
		pid = proc_spawn_cred(pc, out, keep, ntaps, &cr, cg,
		    &(struct proc_lock){ rn->rn_lock_fd, !last });
	owner_cred_free(&cr);
	if (cg != -1)
		close(cg);
	if (last && rn->rn_drv->d_spawned != NULL)
		rn->rn_drv->d_spawned(vm);
	if (last)
		owner_files_done(vm);
	if (out != -1)
		close(out);
	if (pid == -1) {
		aux_remove(rn);
		logfile_drain(vm);
		return -1;
	}
	rn->rn_nextproc++;
	vm->vm_pid = pid;
	rn->rn_started = time(NULL);
	if (last)
		why_clear(vm);
	if (plat_proc_identity(pid, &rn->rn_ident, &(uid_t){ 0 }) == -1)
		rn->rn_ident = 0;
	free(rn->rn_reason);
	rn->rn_reason = NULL;
	proc_watch(pid, proc_exited, vm);
	log_info("vm %s: started %s (pid %d)", vm->vm_conf->vc_name,
	    pc->pc_path, (int)pid);
	rn->rn_drv->d_open(vm);
	return 0;
}

/* The final stop: release everything of the run. */
void
run_end(struct vm *vm)
{
	struct vm_run *rn = vm->vm_run;

	if (rn == NULL)
		return;
	if (vm->vm_pid != 0) {
		/* Not reached by the table; never leave an orphan behind. */
		proc_unwatch(vm->vm_pid);
		run_kill(vm, SIGKILL);
		vm->vm_pid = 0;
	}
	rn->rn_drv->d_close(vm);
	if (rn->rn_drv->d_end != NULL)
		rn->rn_drv->d_end(vm);
	runrec_remove(vm);
	logfile_close(vm);
	console_run_end(vm);
	net_teardown(vm);
	owner_run_end(vm);
	if (rn->rn_lock_fd != -1)
		close(rn->rn_lock_fd);	/* the process is gone: free */
	aux_remove(rn);
	cmdline_free(&rn->rn_cmd);
	free(rn->rn_reason);
	free(rn->rn_digest);
	free(rn);
	vm->vm_run = NULL;
}

static time_t
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* boot = always: may it restart again (at most CRASH_LIMIT per window)? */
int
run_crash_ok(struct vm *vm)
{
	time_t now = now_mono();

	if (vm->vm_ncrash == CRASH_LIMIT) {
		if (now - vm->vm_crash[0] < CRASH_WINDOW_SEC)
			return 0;
		memmove(&vm->vm_crash[0], &vm->vm_crash[1],
		    (CRASH_LIMIT - 1) * sizeof(vm->vm_crash[0]));
		vm->vm_ncrash--;
	}
	vm->vm_crash[vm->vm_ncrash++] = now;
	return 1;
}

/* Signal the VM's process group (QEMU leads its own session). */
void
run_kill(struct vm *vm, int sig)
{
	if (vm->vm_pid <= 0)
		return;
	if (kill(-vm->vm_pid, sig) == -1 && kill(vm->vm_pid, sig) == -1 &&
	    errno != ESRCH)
		log_warn("vm %s: kill %d", vm->vm_conf->vc_name,
		    (int)vm->vm_pid);
}

/*
 * Re-adoption (adopt.c): the run of a live process an earlier bmd
 * started.  Nothing is spawned; its exit comes through a watch.
 */
int
run_adopt(struct vm *vm, pid_t pid, unsigned long long ident, time_t started,
    json_t *drv, int proven)
{
	struct vm_run *rn = xcalloc(1, sizeof(*rn));

	rn->rn_log_fd = -1;
	rn->rn_out_fd = -1;
	rn->rn_drv = driver_for(vm->vm_conf);
	rn->rn_adopted = 1;
	rn->rn_proven = proven;
	rn->rn_lock_fd = -1;	/* the hypervisor holds it */
	rn->rn_ident = ident;
	rn->rn_started = started;
	vm->vm_run = rn;
	if (rn->rn_drv->d_adopt(vm, drv) == -1 ||
	    proc_watch_adopted(pid, proc_exited, vm) == -1) {
		free(rn);
		vm->vm_run = NULL;
		return -1;
	}
	vm->vm_pid = pid;
	return 0;
}
