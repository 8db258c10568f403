/*
 * bmdctl run [-i] [-s] NAME (spec 4.13): one VM in the foreground,
 * without the daemon, its com1 on this terminal.
 *
 * com1 becomes QEMU's stdio chardev (QEMU puts the terminal in raw mode
 * and gives it back), boot becomes oneshot so that a guest reboot ends
 * the run, and -i is install mode.  The QMP and other chardev sockets go
 * to a private temporary directory, so a run never touches the daemon's
 * run directory.  The exit status is 0 when the VM stopped.
 *
 * Not here: -s (single user) is for bhyve's loaders, QEMU has none and it
 * is refused; networks need the taps bmd creates and are left out (with
 * a warning); prestart/poststop plugins do not run.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "backend.h"
#include "bmdctl.h"
#include "platform.h"
#include "vmlock.h"
#include "xmalloc.h"

extern char **environ;

static volatile sig_atomic_t child_pid;
static int	lock_fd = -1;	/* the VM's lock; its processes inherit it */

/* Stop requests for bmdctl go to the VM, which then exits. */
static void
forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/*
 * One hypervisor per VM (vmlock.h): the VM's lock, inherited by the
 * processes run here.  Root makes the lock directories bmd would.
 */
static int
take_lock(const struct conf *c, const struct vm_conf *vc)
{
	char *root = vmlock_root(c->c_global.gc_run_directory), err[512];
	int fd = -1;

	if (geteuid() != 0 ||
	    vmlock_prepare(root, vc->vc_owner, err, sizeof(err)) == 0)
		fd = vmlock_take(root, vc->vc_owner, vc->vc_name, 0, err,
		    sizeof(err));
	if (fd == -1)
		fprintf(stderr, "bmdctl: run: vm %s: %s\n", vc->vc_name, err);
	free(root);
	return fd;
}

/*
 * One VM per disk: the locks bmd takes for a hypervisor without its own
 * (bhyve), on descriptors the processes run here inherit.  -1: a disk
 * is locked by another process (said).
 */
static int
lock_disks(const struct vm_conf *vc)
{
	const struct backend *be = backend_get(vc->vc_backend);
	struct owner_file of[BE_MAXOWNERFILES];
	int i, n, fd;

	n = be->be_owner_files != NULL ? be->be_owner_files(vc, of,
	    BE_MAXOWNERFILES) : 0;
	for (i = 0; i < n; i++) {
		if (!of[i].of_lock || (fd = open(of[i].of_path, of[i].of_rw ?
		    O_RDWR : O_RDONLY)) == -1)
			continue;	/* the hypervisor says why */
		if (vmlock_disk(fd, of[i].of_rw) == -1) {
			fprintf(stderr, "bmdctl: run: vm %s: disk %s: "
			    VMLOCK_DISK_BUSY "\n", vc->vc_name, of[i].of_path);
			return -1;
		}
	}
	return 0;
}

static void
remove_dir(const char *dir)
{
	struct dirent *de;
	char *p;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			p = xprintf("%s/%s", dir, de->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* One process in the foreground; its wait status, or -1. */
static int
run_proc(const struct proc_cmd *pc)
{
	struct sigaction sa, old[3];
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	pid_t pid;
	size_t i;
	int st;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "bmdctl: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		(void)vmlock_note_pid(lock_fd, getpid());	/* as bmd's */
		for (i = 0; i < pc->pc_env.a_n; i++)
			putenv(pc->pc_env.a_v[i]);
		execve(pc->pc_path, pc->pc_argv.a_v, environ);
		fprintf(stderr, "bmdctl: %s: %s\n", pc->pc_path,
		    strerror(errno));
		_exit(127);
	}
	child_pid = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	for (i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	child_pid = 0;
	return st;
}

/* The changes of spec 4.13 on the VM's configuration. */
static int
adjust(struct vm_conf *vc, int install, int single)
{
	if (single && !backend_get(vc->vc_backend)->be_single_user) {
		fprintf(stderr, "bmdctl: run -s: single-user boot is passed to "
		    "a bhyve loader; %s uses the %s backend, which has none "
		    "(add the guest's own single-user flag to cmdline)\n",
		    vc->vc_name, backend_get(vc->vc_backend)->be_name);
		return -1;
	}
	conf_com_set(&vc->vc_com[0], "stdio");
	vc->vc_boot = BOOT_ONESHOT;
	vc->vc_install = vc->vc_install || install;
	vc->vc_single_user = single;
	if (vc->vc_network.l_n > 0) {
		fprintf(stderr, "bmdctl: run: the networks of %s are left out "
		    "(their taps are made by bmd)\n", vc->vc_name);
		vc->vc_network.l_n = 0;
	}
	return 0;
}

static int
run_vm(const struct conf *c, struct vm_conf *vc)
{
	const struct backend *be = backend_get(vc->vc_backend);
	char dir[] = "/tmp/bmdctl-run.XXXXXX";
	struct termios tio;
	struct be_params bp;
	struct cmdline cl;
	struct diags ds;
	int i, st = 0, rc = 1, tty;

	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bmdctl: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	memset(&bp, 0, sizeof(bp));
	bp.bp_localbase = LOCALBASE;
	bp.bp_run_dir = dir;
	bp.bp_vars_dir = c->c_global.gc_vars_directory;
	bp.bp_nmdm_offset = c->c_global.gc_nmdm_offset;
	bp.bp_install = vc->vc_install;
	bp.bp_single_user = vc->vc_single_user;
	bp.bp_daemon_pid = getpid();
	bp.bp_accel = plat_accel_name(vc->vc_accel);
	memset(&cl, 0, sizeof(cl));
	diags_init(&ds);
	if (be->be_commands(vc, &bp, &cl, &ds) == -1 || cl.cl_nprocs < 1) {
		diags_print(&ds, stderr);
		goto out;
	}
	diags_print(&ds, stderr);
	/* QEMU restores the terminal itself, unless it is killed */
	tty = tcgetattr(STDIN_FILENO, &tio) == 0;
	for (i = 0; i < cl.cl_nprocs; i++) {
		st = run_proc(&cl.cl_procs[i]);
		if (tty)
			tcsetattr(STDIN_FILENO, TCSADRAIN, &tio);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			break;
	}
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		rc = 0;
	else if (st != -1 && WIFSIGNALED(st))
		fprintf(stderr, "bmdctl: %s: killed by signal %d\n",
		    cl.cl_procs[i].pc_path, WTERMSIG(st));
	else if (st != -1)
		fprintf(stderr, "bmdctl: %s exited with status %d\n",
		    cl.cl_procs[i].pc_path, WEXITSTATUS(st));
out:
	diags_free(&ds);
	cmdline_free(&cl);
	remove_dir(dir);
	return rc;
}

static int
run_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	struct ctl_opts o;
	struct vm_conf *vc;
	struct conf *c;
	int ch, errs, install = 0, single = 0, rc;

	ctl_getopts(self, &o);
	while ((ch = getopt_long(argc, argv, o.o_short, o.o_long, NULL)) !=
	    -1) {
		if (ch == 'i')
			install = 1;
		else if (ch == 's')
			single = 1;
		else
			return ctl_usage(self);
	}
	if ((c = ctl_load_conf(0, &errs)) == NULL)
		return 1;
	if ((vc = conf_find_vm(c, argv[optind])) == NULL) {
		ctl_no_vm("run", c, argv[optind]);
		conf_free(c);
		return 1;
	}
	if ((lock_fd = take_lock(c, vc)) == -1) {
		conf_free(c);
		return 1;
	}
	rc = adjust(vc, install, single) == -1 || lock_disks(vc) == -1 ? 1 :
	    run_vm(c, vc);
	close(lock_fd);
	conf_free(c);
	return rc;
}

const struct ctl_cmd cmd_run = {
	"run", NULL, "[-i] [-s] NAME", 1, 1, run_exec,
	"run a VM in the foreground without bmd, com1 on this terminal",
	CTL_ON_HOST	/* reads the configuration: run on the host */
};
