/*
 * What bmd does on behalf of a VM's owner (spec 3, 4.9).
 *
 * A VM owned by an ordinary user runs its hypervisor as that user when
 * the backend allows (QEMU), with the VM's group (else the user's
 * primary group) and the user's supplementary groups.  Everything that
 * needs root is done first, by bmd: the taps are opened (net.c), and the
 * driver binds its sockets (src/backend/qemu_fds.c).
 *
 * Paths a user's VM names (disks, ISOs, kernel, initrd, sharefs) are
 * opened by QEMU itself, so with the owner's rights only: a symlink
 * swapped after bmd's check cannot reach anything the owner cannot.
 * bmd checks them first, in a child running as the owner, only to
 * refuse the start with a clear message ("disk /x: alice cannot
 * read/write it").  The files bmd itself opens for the VM (err_logfile,
 * console_logfile) are opened by a child running as the owner, created
 * 0640, never through a symlink (O_NOFOLLOW), and only if the owner owns
 * the regular file found; the descriptor comes back over a socketpair.
 * The UEFI variable file lives in bmd's vars directory: bmd opens it and
 * passes it to QEMU as an fdset (-add-fd).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>		/* setgroups(2) on glibc */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "fdpass.h"
#include "helper.h"
#include "log.h"
#include "xmalloc.h"

#define OWN_MAXGROUPS	256

struct owner_job;

struct vm_owner {
	int		 o_tcg;			/* accel auto, no /dev/kvm */
	struct owner_job *o_job;		/* the check, running */
	struct owner_files *o_files;		/* opened by the check */
};

/* Does this VM's hypervisor run as an ordinary user? */
int
owner_unprivileged(const struct vm_conf *vc)
{
	return vc->vc_owner != 0 &&
	    backend_get(vc->vc_backend)->be_runs_as_owner;
}

/*
 * The owner's credentials: owner, the VM's group, the owner's groups as
 * the load before this start found them (users.c).
 */
static void
fill_cred(const struct vm_conf *vc, struct proc_cred *cr)
{
	const struct user_info *ui = users_get(vc->vc_owner);

	memset(cr, 0, sizeof(*cr));
	cr->cr_uid = vc->vc_owner;
	cr->cr_set = 1;
	if (ui == NULL || ui->ui_name == NULL) {
		/* unknown uid: no supplementary groups at all */
		cr->cr_gid = vc->vc_group != (gid_t)-1 ? vc->vc_group :
		    (gid_t)65534;
		return;
	}
	cr->cr_gid = vc->vc_group != (gid_t)-1 ? vc->vc_group : ui->ui_gid;
	cr->cr_ngroups = ui->ui_ngroups < OWN_MAXGROUPS ? ui->ui_ngroups :
	    OWN_MAXGROUPS;
	cr->cr_groups = xcalloc(OWN_MAXGROUPS, sizeof(gid_t));
	memcpy(cr->cr_groups, ui->ui_groups, (size_t)cr->cr_ngroups *
	    sizeof(gid_t));
}

/* The credentials of the VM's processes (none: they run as root). */
int
owner_cred(const struct vm_conf *vc, struct proc_cred *cr)
{
	memset(cr, 0, sizeof(*cr));
	if (owner_unprivileged(vc))
		fill_cred(vc, cr);
	return 0;
}

void
owner_cred_free(struct proc_cred *cr)
{
	free(cr->cr_groups);
	cr->cr_groups = NULL;
}

/* In a child: become the owner for good (or _exit). */
static void
become(const struct proc_cred *cr)
{
	if (setgroups((size_t)cr->cr_ngroups, cr->cr_groups) == -1 ||
	    setgid(cr->cr_gid) == -1 || setuid(cr->cr_uid) == -1)
		_exit(126);
	if (cr->cr_uid != 0 && (setuid(0) != -1 || geteuid() != cr->cr_uid))
		_exit(126);
}

/* ---- the start check: can the owner reach what the VM names? ---- */

static void
check_path(int fd, const char *what, const char *path, int mode, int noexist,
    const char *user)
{
	const char *how;

	if (path == NULL || access(path, mode) == 0)
		return;
	if (noexist && errno == ENOENT)
		return;
	how = (mode & W_OK) ? "read/write" : (mode & X_OK) ? "read and enter" :
	    "read";
	dprintf(fd, "%s %s: %s cannot %s it (%s)", what, path, user, how,
	    strerror(errno));
	_exit(1);
}

/*
 * Why root's bind of a socket in dir could land elsewhere, or NULL: dir
 * is reached through a link, or a directory above it is one she could
 * replace.
 */
static const char *
redirectable(const char *dir, char *why, size_t len)
{
	char real[PATH_MAX], up[PATH_MAX], *slash;

	if (realpath(dir, real) == NULL)
		return strerror(errno);
	if (strcmp(dir, real) != 0) {
		snprintf(why, len, "%s is reached through a symbolic link",
		    dir);
		return why;
	}
	snprintf(up, sizeof(up), "%s", real);
	if ((slash = strrchr(up, '/')) != NULL)
		slash[slash == up] = '\0';
	return plat_private_dir(up, 1, why, len) == -1 ? why : NULL;
}

/*
 * bhyve's VNC socket, created by root after this check: only where the
 * owner could have created it, never in place of a file that is not her
 * socket, and only in a directory she cannot swap for another.
 */
static void
check_vnc_path(int fd, const char *path, const char *user)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	char why[PATH_MAX + 64];
	const char *no = NULL;
	struct stat st;

	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if ((slash != NULL && access(dir, W_OK | X_OK) == -1) ||
	    (lstat(path, &st) == 0 && (!S_ISSOCK(st.st_mode) ||
	    st.st_uid != getuid()))) {
		dprintf(fd, "graphics_path %s: %s cannot create a socket "
		    "there", path, user);
		_exit(1);
	}
	if (slash == NULL || (no = redirectable(dir, why, sizeof(why))) !=
	    NULL) {
		dprintf(fd, "graphics_path %s: bhyve makes it as root, so its "
		    "directory must be a plain path that %s cannot replace: %s",
		    path, user, no != NULL ? no : "no directory named");
		_exit(1);
	}
	free(dir);
}

/*
 * bhyve and its loaders open everything as root: the devices (serial
 * ports, sound) must be the owner's to open, the VNC socket goes only
 * where she may create it, and the bhyveload -l library, loaded into
 * root's bhyveload, must be root's and writable by root only.
 */
static void
check_bhyve(int fd, const struct vm_conf *vc, const char *user)
{
	const char *ldr = vc->vc_bhyveload_loader;
	const struct conf_hda *h;
	char what[8];
	struct stat st;
	size_t i;
	int c;

	for (c = 0; c < 4; c++) {
		snprintf(what, sizeof(what), "com%d", c + 1);
		if (vc->vc_com[c].cm_kind == COM_DEV)
			check_path(fd, what, vc->vc_com[c].cm_text, R_OK | W_OK, 0,
			    user);
	}
	for (i = 0; i < vc->vc_hda.l_n; i++) {
		h = CLIST_AT(&vc->vc_hda, struct conf_hda, i);
		check_path(fd, "hda", h->h_play, R_OK | W_OK, 0, user);
		check_path(fd, "hda", h->h_rec, R_OK | W_OK, 0, user);
	}
	if (vc->vc_graphics && vc->vc_graphics_path != NULL)
		check_vnc_path(fd, vc->vc_graphics_path, user);
	if (ldr == NULL)
		return;
	check_path(fd, "bhyveload_loader", ldr, R_OK, 0, user);
	if (stat(ldr, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
	    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return;
	dprintf(fd, "bhyveload_loader %s: it runs in bhyveload as root: it "
	    "must be a file owned by root that only root may write", ldr);
	_exit(1);
}

static _Noreturn void
check_child(int fd, const struct vm_conf *vc, const struct proc_cred *cr)
{
	const struct conf_disk *d;
	const struct conf_iso *iso;
	const struct conf_sharefs *sf;
	const char *user = vc->vc_owner_name != NULL ? vc->vc_owner_name :
	    "the owner";
	size_t i;
	int kvm;

	if (fd != 3 && (dup2(fd, 3) == -1 || close(fd) == -1))
		_exit(126);
	fd = 3;
	plat_closefrom(4);
	if (vc->vc_owner == 0) {
		owner_files_child(fd, vc, "root");	/* the disk locks */
		_exit(0);
	}
	become(cr);
	for (i = 0; i < vc->vc_disk.l_n; i++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, i);
		check_path(fd, "disk", d->d_path, (d->d_flags & DISK_READONLY) ?
		    R_OK : R_OK | W_OK, (d->d_flags & DISK_NOEXIST) != 0, user);
	}
	for (i = 0; i < vc->vc_iso.l_n; i++) {
		iso = CLIST_AT(&vc->vc_iso, struct conf_iso, i);
		check_path(fd, "iso", iso->i_path, R_OK, iso->i_noexist, user);
	}
	check_path(fd, "kernel", vc->vc_kernel, R_OK, 0, user);
	check_path(fd, "initrd", vc->vc_initrd, R_OK, 0, user);
	for (i = 0; i < vc->vc_sharefs.l_n; i++) {
		sf = CLIST_AT(&vc->vc_sharefs, struct conf_sharefs, i);
		check_path(fd, "sharefs", sf->sf_path, sf->sf_readonly ?
		    R_OK | X_OK : R_OK | W_OK | X_OK, 0, user);
	}
	if (vc->vc_tpm.t_set)
		check_path(fd, "tpm", vc->vc_tpm.t_dev, R_OK | W_OK, 0, user);
	if (!backend_get(vc->vc_backend)->be_runs_as_owner) {
		check_bhyve(fd, vc, user);	/* root opens them */
		owner_files_child(fd, vc, user);	/* or rather, her */
	}
	kvm = access("/dev/kvm", R_OK | W_OK) == 0;
	if (vc->vc_accel == ACCEL_KVM && !kvm) {
		dprintf(fd, "accel kvm: %s cannot open /dev/kvm (not in its "
		    "group?)", user);
		_exit(1);
	}
	_exit(kvm ? 0 : 2);
}

/*
 * The child that checks a user's VM's paths as its owner: its pid, and
 * in *fd the pipe it answers on.  -1 (run_error) if it cannot start.
 */
static pid_t
check_fork(struct vm *vm, int *fd)
{
	const struct vm_conf *vc = vm->vm_conf;
	struct proc_cred cr;
	pid_t pid;
	int p[2];

	/* a user's bhyve VM too: bhyve, running as root, opens its files */
	fill_cred(vc, &cr);
	/* a socket: the files opened as her come back with the answer */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == -1) {
		owner_cred_free(&cr);
		return run_fail(vm, "socketpair: %s", strerror(errno));
	}
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		owner_cred_free(&cr);
		return run_fail(vm, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(p[0]);
		check_child(p[1], vc, &cr);
	}
	owner_cred_free(&cr);
	close(p[1]);
	*fd = p[0];
	return pid;
}

/* What the check said (st: the child's wait status): 0, or -1 (run_error). */
static int
check_verdict(struct vm *vm, int st, int late, const char *msg)
{
	const struct vm_conf *vc = vm->vm_conf;
	const char *user = vc->vc_owner_name != NULL ? vc->vc_owner_name :
	    "its owner";
	char why[PATH_MAX * 2 + 128];

	if (vc->vc_owner == 0)
		user = "root";
	if (late)
		return run_fail(vm, "the check of its files as %s did not "
		    "answer within %d s; killed", user, HELPER_TIMEOUT_MS / 1000);
	if (WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 2)) {
		if (WEXITSTATUS(st) == 2 && owner_unprivileged(vc))
			vm->vm_run->rn_owner->o_tcg = 1;
		if (owner_files_claim(vm, vm->vm_run->rn_owner->o_files, why,
		    sizeof(why)) == -1)
			return run_fail(vm, "%s", why);
		return 0;
	}
	if (msg[0] != '\0')
		return run_fail(vm, "%s", msg);
	return run_fail(vm, "cannot check the files of the VM as %s", user);
}

/* ---- at a start, while the event loop goes on (PRESTART) ---- */

struct owner_job {
	pid_t		 oj_pid;
	int		 oj_fd;
	struct event	*oj_ev;
	size_t		 oj_len;
	char		 oj_msg[512];
};

static void
job_end(struct vm_owner *o, int killit, int *st)
{
	struct owner_job *j = o->o_job;

	event_free(j->oj_ev);
	close(j->oj_fd);
	*st = helper_reap(j->oj_pid, killit);
	free(j);
	o->o_job = NULL;
}

static void
check_answered(evutil_socket_t fd, short what, void *arg)
{
	struct vm *vm = arg;
	struct owner_job *j = vm->vm_run->rn_owner->o_job;
	int late = (what & EV_TIMEOUT) != 0, st;
	char msg[sizeof(j->oj_msg)];
	ssize_t r = 0;

	if (!late) {
		r = owner_files_read(fd, j->oj_msg + j->oj_len,
		    sizeof(j->oj_msg) - 1 - j->oj_len,
		    vm->vm_run->rn_owner->o_files);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			return;
		if (r > 0 && (j->oj_len += (size_t)r) < sizeof(j->oj_msg) - 1)
			return;		/* more may come, until end of file */
	}
	j->oj_msg[j->oj_len] = '\0';
	memcpy(msg, j->oj_msg, j->oj_len + 1);
	job_end(vm->vm_run->rn_owner, late, &st);
	plugin_prestart_answer(vm, check_verdict(vm, st, late, msg) == -1 ?
	    run_error() : NULL);
}

/* Has a start of this VM a check to wait for? */
int
owner_check_wanted(const struct vm_conf *vc)
{
	return vc->vc_owner != 0 || owner_files_wanted(vc);
}

/* The files the check opens as her: what they replace is closed. */
static int
files_begin(struct vm *vm)
{
	struct owner_files *old;
	struct vm_owner *o;
	char err[256];

	if (vm->vm_run->rn_owner == NULL)
		vm->vm_run->rn_owner = xcalloc(1, sizeof(struct vm_owner));
	o = vm->vm_run->rn_owner;
	old = o->o_files;
	o->o_files = owner_files_begin(vm->vm_conf, old);
	owner_files_free(old);
	if (o->o_files == NULL)
		return 0;
	/* root's keep their paths */
	if (vm->vm_conf->vc_owner == 0 ||
	    plat_fd_names(err, sizeof(err)) == 0)
		return 0;
	return run_fail(vm, "%s", err);
}

/*
 * At a start of a user's VM (and at a restart in place): check every
 * path it names as its owner, in a child; the answer goes to PRESTART
 * (plugin_prestart_answer) when it comes.  Root's VM: the child only
 * opens and locks the disks of a hypervisor that does not (bhyve).
 * 1: an answer is owed; 0: nothing to check, or the check could not
 * start (PRESTART was told why).
 */
int
owner_check_begin(struct vm *vm)
{
	struct timeval tv = { HELPER_TIMEOUT_MS / 1000, 0 };
	struct owner_job *j;
	pid_t pid;
	int fd = -1;

	if (!owner_check_wanted(vm->vm_conf))
		return 0;
	if (files_begin(vm) == -1 || (pid = check_fork(vm, &fd)) == -1) {
		plugin_prestart_refuse(vm, run_error());
		return 0;
	}
	j = xcalloc(1, sizeof(*j));
	j->oj_pid = pid;
	j->oj_fd = fd;
	j->oj_ev = event_new(bmd.b_base, fd, EV_READ | EV_PERSIST,
	    check_answered, vm);
	if (j->oj_ev == NULL || event_add(j->oj_ev, &tv) == -1)
		fatalx("%s: cannot watch the check", __func__);
	vm->vm_run->rn_owner->o_job = j;
	plugin_prestart_owe(vm);
	return 1;
}
/*
 * An owner without /dev/kvm gets TCG when accel = auto (the check); a
 * root-run hypervisor gets the files the check opened.  -1 (run_error)
 * if they are no longer the VM's.
 */
int
owner_params(const struct vm *vm, struct be_params *bp)
{
	const struct vm_owner *o = vm->vm_run->rn_owner;

	if (o != NULL && o->o_tcg && vm->vm_conf->vc_accel == ACCEL_AUTO)
		bp->bp_accel = "tcg";
	if (owner_files_params(vm->vm_conf, o != NULL ? o->o_files : NULL,
	    bp) == -1)
		return run_fail((struct vm *)vm, "its files are not those "
		    "opened by its check (changed meanwhile?); boot it again");
	return 0;
}

int
owner_pass_fds(const struct vm *vm, const int **fds)
{
	const struct vm_owner *o = vm->vm_run->rn_owner;

	return owner_files_fds(o != NULL ? o->o_files : NULL, fds);
}

/* Every process that needs them has them. */
void
owner_files_done(struct vm *vm)
{
	struct vm_owner *o = vm->vm_run->rn_owner;

	if (o != NULL)
		owner_files_close(o->o_files);
}

/* An adopted run: the disks its record names. */
void
owner_adopt(struct vm *vm, json_t *disks)
{
	struct owner_files *f = owner_files_adopt(disks);

	if (f == NULL || vm->vm_run == NULL) {
		owner_files_free(f);
		return;
	}
	if (vm->vm_run->rn_owner == NULL)
		vm->vm_run->rn_owner = xcalloc(1, sizeof(struct vm_owner));
	owner_files_free(vm->vm_run->rn_owner->o_files);
	vm->vm_run->rn_owner->o_files = f;
}

/* The disks the VM's run holds (NULL: none known). */
const struct owner_files *
owner_files_of(const struct vm *vm)
{
	return vm->vm_run != NULL && vm->vm_run->rn_owner != NULL ?
	    vm->vm_run->rn_owner->o_files : NULL;
}

void
owner_run_end(struct vm *vm)
{
	int st;

	if (vm->vm_run == NULL || vm->vm_run->rn_owner == NULL)
		return;
	if (vm->vm_run->rn_owner->o_job != NULL)
		job_end(vm->vm_run->rn_owner, 1, &st);
	owner_files_free(vm->vm_run->rn_owner->o_files);
	free(vm->vm_run->rn_owner);
	vm->vm_run->rn_owner = NULL;
}

/* ---- log files, opened as the owner ---- */

/* PATH.1 .. PATH.keep-1 move up by one, PATH becomes PATH.1. */
static void
rotate_here(const char *path, int keep)
{
	char from[PATH_MAX], to[PATH_MAX];
	int k;

	for (k = keep - 1; k >= 0; k--) {
		if (k == 0)
			snprintf(from, sizeof(from), "%s", path);
		else
			snprintf(from, sizeof(from), "%s.%d", path, k);
		snprintf(to, sizeof(to), "%s.%d", path, k + 1);
		(void)rename(from, to);	/* renames a link, never follows */
	}
}

static int
open_log_here(const char *path, uid_t owner, int check_owner, int keep,
    char *err, size_t errsz)
{
	struct stat st;
	const char *fs;
	mode_t old;
	int fd;

	if (keep > 0)
		rotate_here(path, keep);
	old = umask(027);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK | O_NOFOLLOW, 0640);
	umask(old);
	if (fd == -1) {
		snprintf(err, errsz, "%s%s", strerror(errno), errno == ELOOP ?
		    " (a symbolic link: refused)" : "");
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "not a regular file; not used");
		close(fd);
		return -1;
	}
	/* bmd writes the log as root: nothing where that is a privilege */
	if ((fs = plat_fs_unfit_for_logs(fd)) != NULL) {
		snprintf(err, errsz, "on a %s file system; not used", fs);
		close(fd);
		return -1;
	}
	if (check_owner && st.st_uid != owner) {
		snprintf(err, errsz, "owned by uid %lu, not by the VM's owner; "
		    "not used", (unsigned long)st.st_uid);
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_fd(int sock, int fd, const char *err)
{
	if (fd == -1)
		return fdpass_send(sock, err, strlen(err) + 1, NULL, 0) == -1 ?
		    -1 : 0;
	return fdpass_send(sock, "", 1, &fd, 1) == -1 ? -1 : 0;
}

static int
recv_fd(int sock, char *err, size_t errsz)
{
	ssize_t n;
	size_t nfd;
	int fd = -1;

	if ((n = fdpass_recv(sock, err, errsz - 1, &fd, 1, &nfd)) <= 0) {
		snprintf(err, errsz, "no answer from the opener");
		return -1;
	}
	if (nfd == 0) {
		err[n] = '\0';
		return -1;
	}
	return fd;
}

/* A user's log is opened by a child running as her, answered later. */
struct owner_open {
	pid_t		 oo_pid;
	int		 oo_sock;
	struct event	*oo_ev;
	owner_opened_fn	 oo_fn;
	void		*oo_arg;
	uid_t		 oo_uid;
	char		*oo_what;	/* "vm NAME: err_logfile PATH" */
};

static void
open_free(struct owner_open *oo, int killit)
{
	event_free(oo->oo_ev);
	close(oo->oo_sock);
	helper_reap(oo->oo_pid, killit);
	free(oo->oo_what);
	free(oo);
}

void
owner_open_cancel(struct owner_open *oo)
{
	if (oo != NULL)
		open_free(oo, 1);
}

static void
opened(evutil_socket_t sock, short what, void *arg)
{
	struct owner_open *oo = arg;
	owner_opened_fn fn = oo->oo_fn;
	void *fnarg = oo->oo_arg;
	int late = (what & EV_TIMEOUT) != 0, fd = -1;
	char err[256];

	err[0] = '\0';
	if (late)
		snprintf(err, sizeof(err), "the opener running as uid %lu did "
		    "not answer within %d s; killed", (unsigned long)oo->oo_uid,
		    HELPER_TIMEOUT_MS / 1000);
	else
		fd = recv_fd(sock, err, sizeof(err));
	if (fd == -1)
		log_warnx("%s: %s", oo->oo_what, err[0] != '\0' ? err :
		    "cannot open");
	open_free(oo, late);
	fn(fnarg, fd);
}

/* The opener's child: its pid, *sock the socket of its answer; -1 (err). */
static pid_t
open_fork(const struct vm_conf *vc, const char *path, int keep, int *sock,
    char *err, size_t errsz)
{
	struct proc_cred cr;
	pid_t pid;
	int sv[2], fd;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errsz, "socketpair: %s", strerror(errno));
		return -1;
	}
	fill_cred(vc, &cr);	/* a bhyve VM of a user too: as the owner */
	if ((pid = fork()) == -1) {
		snprintf(err, errsz, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		owner_cred_free(&cr);
		return -1;
	}
	if (pid == 0) {
		if (sv[1] != 3 && (dup2(sv[1], 3) == -1))
			_exit(126);
		plat_closefrom(4);
		become(&cr);
		fd = open_log_here(path, cr.cr_uid, 1, keep, err, errsz);
		_exit(send_fd(3, fd, err) == -1 ? 1 : 0);
	}
	owner_cred_free(&cr);
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

/*
 * Open a log file (err_logfile, console_logfile) of the VM for
 * appending; keep > 0 rotates it first, keeping that many old files.
 * Created 0640; never through a symlink; an existing file must be a
 * regular file owned by the VM's owner.  Logs why on failure.  The
 * descriptor of a root-owned VM's log, or -1; a user's is opened by a
 * child running as her, which may wait in her file system: then
 * OWNER_PENDING, *job is set, and fn(arg, fd) is called from the event
 * loop once it has answered, unless owner_open_cancel(*job) first.
 */
int
owner_open_log(const struct vm_conf *vc, const char *what, const char *path,
    int keep, owner_opened_fn fn, void *arg, struct owner_open **job)
{
	struct timeval tv = { HELPER_TIMEOUT_MS / 1000, 0 };
	struct owner_open *oo;
	char err[256];
	pid_t pid;
	int fd, sock;

	err[0] = '\0';
	*job = NULL;
	/*
	 * Root's VM too: a file another user made first where she may
	 * write (a sticky /tmp) would give her root's console.
	 */
	if (vc->vc_owner == 0 || geteuid() != 0)
		fd = open_log_here(path, geteuid(), vc->vc_owner == 0, keep,
		    err, sizeof(err));
	else if ((pid = open_fork(vc, path, keep, &sock, err,
	    sizeof(err))) == -1)
		fd = -1;
	else {
		oo = xcalloc(1, sizeof(*oo));
		oo->oo_pid = pid;
		oo->oo_sock = sock;
		oo->oo_fn = fn;
		oo->oo_arg = arg;
		oo->oo_uid = vc->vc_owner;
		oo->oo_what = xprintf("vm %s: %s %s", vc->vc_name, what, path);
		oo->oo_ev = event_new(bmd.b_base, sock, EV_READ, opened, oo);
		if (oo->oo_ev == NULL || event_add(oo->oo_ev, &tv) == -1)
			fatalx("%s: cannot watch the opener", __func__);
		*job = oo;
		return OWNER_PENDING;
	}
	if (fd == -1)
		log_warnx("vm %s: %s %s: %s", vc->vc_name, what, path,
		    err[0] != '\0' ? err : "cannot open");
	return fd;
}
