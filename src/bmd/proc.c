/* Child processes: fork and exec with a clean environment, and reaping. */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "helper.h"
#include "log.h"
#include "vmlock.h"
#include "xmalloc.h"

struct child {
	pid_t		 c_pid;
	proc_exit_cb	 c_cb;
	void		*c_arg;
	int		 c_fd;		/* adopted: the exit watch; else -1 */
	struct event	*c_ev;
};

static struct child	*children;
static size_t		 nchildren, capchildren;

/*
 * Give the child keep[i] as descriptor 3 + i.  They are first copied
 * above the targets, so that moving one never overwrites another.
 */
static void
child_keep_fds(const int *keep, int nkeep)
{
	int i, tmp[PROC_MAXFDS];

	for (i = 0; i < nkeep; i++)
		if ((tmp[i] = fcntl(keep[i], F_DUPFD, 3 + nkeep)) == -1)
			_exit(127);
	for (i = 0; i < nkeep; i++)
		if (dup2(tmp[i], 3 + i) == -1)
			_exit(127);
}

/*
 * In a child about to exec: its own session (a terminal's ^C reaches bmd,
 * never the VM) and every signal as exec leaves a fresh program: those
 * bmd catches, and those it ignores, itself or because it was started so
 * (a background job ignores SIGINT and SIGQUIT, nohup SIGHUP).  System
 * calls only: it may run under vfork.
 */
void
proc_child_reset(void)
{
	setsid();
	plat_child_signals_default();
}

/* In the child: stdio, signals and descriptors as a fresh program expects. */
static void
child_setup(int out_fd, const int *keep, int nkeep)
{
	int nul;

	proc_child_reset();
	if ((nul = open("/dev/null", O_RDWR)) == -1)
		_exit(127);
	if (out_fd == -1)
		out_fd = nul;
	if (dup2(nul, 0) == -1 || dup2(out_fd, 1) == -1 ||
	    dup2(out_fd, 2) == -1)
		_exit(127);
	child_keep_fds(keep, nkeep);
	plat_closefrom(3 + nkeep);
	/* bmd protects itself from the OOM killer; its VMs should not be. */
	plat_oom_unprotect();
}

/* PATH of the programs bmd starts: bmd's own never reaches them. */
#define PATH_ROOT	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
			"/sbin:/bin"
#define PATH_USER	"/usr/local/bin:/usr/bin:/bin"

static void
env_set(char ***env, size_t *n, char *entry)
{
	size_t i, len = strcspn(entry, "=");

	for (i = 0; i < *n; i++)
		if (strncmp((*env)[i], entry, len + 1) == 0) {
			free((*env)[i]);
			(*env)[i] = entry;
			return;
		}
	*env = xreallocarray(*env, *n + 2, sizeof(**env));
	(*env)[(*n)++] = entry;
	(*env)[*n] = NULL;
}

/*
 * The whole environment of a program bmd runs as uid (a VM's process, a
 * hook): PATH, HOME, USER, LOGNAME and SHELL of that user as bmd knows
 * it (users.c; HOME=/ and the number until then), then extra
 * ("NAME=value", replacing one of those).  Nothing of bmd's own
 * environment is passed on.  Built before the fork; free with
 * proc_env_free().
 */
char **
proc_env(uid_t uid, char *const *extra)
{
	const struct user_info *ui = users_get(uid);
	char **env = xcalloc(1, sizeof(*env));
	size_t n = 0, i;

	env_set(&env, &n, xprintf("PATH=%s", uid == 0 ? PATH_ROOT :
	    PATH_USER));
	if (ui != NULL && ui->ui_name != NULL) {
		env_set(&env, &n, xprintf("HOME=%s", ui->ui_home));
		env_set(&env, &n, xprintf("USER=%s", ui->ui_name));
		env_set(&env, &n, xprintf("LOGNAME=%s", ui->ui_name));
		env_set(&env, &n, xprintf("SHELL=%s", ui->ui_shell));
	} else {
		env_set(&env, &n, xstrdup("HOME=/"));
		env_set(&env, &n, xprintf("USER=%lu", (unsigned long)uid));
		env_set(&env, &n, xprintf("LOGNAME=%lu", (unsigned long)uid));
		env_set(&env, &n, xstrdup("SHELL=/bin/sh"));
	}
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		if (strchr(extra[i], '=') != NULL)
			env_set(&env, &n, xstrdup(extra[i]));
	return env;
}

void
proc_env_free(char **env)
{
	size_t i;

	for (i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* The signals bmd's event loop handles; blocked outside it. */
const int	 handled_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1,
    SIGUSR2, SIGCHLD };
const size_t	 nhandled_signals = sizeof(handled_signals) /
    sizeof(handled_signals[0]);

void
block_signals(int how)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < nhandled_signals; i++)
		sigaddset(&set, handled_signals[i]);
	sigprocmask(how, &set, NULL);
}

/* fork+exec pc; its stdout and stderr go to out_fd (-1: /dev/null). */
pid_t
proc_spawn(const struct proc_cmd *pc, int out_fd)
{
	return proc_spawn_fds(pc, out_fd, NULL, 0);
}

/* proc_spawn, and the child gets keep[i] as descriptor 3 + i (taps). */
pid_t
proc_spawn_fds(const struct proc_cmd *pc, int out_fd, const int *keep,
    int nkeep)
{
	return proc_spawn_cred(pc, out_fd, keep, nkeep, NULL, -1, NULL);
}

/*
 * proc_spawn_fds, the program running as cr (a VM's owner) if set, in
 * the control group whose cgroup.procs cg_fd is (-1: bmd's own), with
 * its pid written by itself into the VM's lock file lk (NULL: none)
 * before it executes anything: a bmd killed just after the spawn then
 * leaves a lock naming the process that holds it, not the dead bmd.  The
 * program is moved into the group as soon as it has been executed, not
 * by the child before: the exec would then wait for a CPU among the VMs,
 * and bmd with it.
 *
 * vfork: the child borrows bmd's memory until it execs, so bmd's pages
 * are neither copied nor made copy-on-write (after a fork, each page bmd
 * then wrote cost a fault and a TLB flush on every CPU: most of a boot's
 * CPU time).  The child may therefore only make system calls and leave
 * memory alone: everything it needs (env) is built before, credentials
 * change by plat_child_become, and no signal handler of bmd's may run in
 * it, so all signals stay blocked until child_setup has reset them.  (On
 * Linux before 5.9, plat_closefrom falls back to opendir, which allocates
 * and frees: safe, as the thread it borrows is stopped outside malloc.)
 */
pid_t
proc_spawn_cred(const struct proc_cmd *pc, int out_fd, const int *keep,
    int nkeep, const struct proc_cred *cr, int cg_fd,
    const struct proc_lock *lk)
{
	char **env;
	sigset_t all, old;
	pid_t pid;

	if (nkeep < 0 || nkeep > PROC_MAXFDS) {
		log_warnx("%s: %d descriptors to pass", __func__, nkeep);
		return -1;
	}
	env = proc_env(cr != NULL && cr->cr_set ? cr->cr_uid : getuid(),
	    pc->pc_env.a_v);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((pid = vfork()) == 0) {
		if (lk != NULL && lk->pl_loader)
			(void)vmlock_note_loader(lk->pl_fd, getpid());
		else if (lk != NULL)
			(void)vmlock_note_pid(lk->pl_fd, getpid());
		child_setup(out_fd, keep, nkeep);
		if (cr != NULL && cr->cr_set && plat_child_become(cr->cr_uid,
		    cr->cr_gid, (size_t)cr->cr_ngroups, cr->cr_groups) == -1)
			_exit(126);
		execve(pc->pc_path, pc->pc_argv.a_v, env);
		dprintf(2, "bmd: cannot execute %s: %s\n", pc->pc_path,
		    strerror(errno));
		_exit(127);
	}
	if (pid == -1)
		log_warn("%s: vfork", __func__);
	else if (cg_fd != -1 && plat_cgroup_move(cg_fd, pid) == -1 &&
	    errno != ESRCH) {	/* ESRCH: it could not exec: reaped as such */
		log_warn("%s: cannot move %s (pid %d) into its control group",
		    __func__, pc->pc_path, (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	proc_env_free(env);
	return pid;
}

void
proc_watch(pid_t pid, proc_exit_cb cb, void *arg)
{
	ARRAY_GROW(children, nchildren, capchildren);
	children[nchildren].c_pid = pid;
	children[nchildren].c_cb = cb;
	children[nchildren].c_arg = arg;
	children[nchildren].c_fd = -1;
	children[nchildren].c_ev = NULL;
	nchildren++;
}

static void
child_forget(size_t i)
{
	if (children[i].c_ev != NULL)
		event_free(children[i].c_ev);
	if (children[i].c_fd != -1)
		close(children[i].c_fd);
	children[i] = children[--nchildren];
}

void
proc_unwatch(pid_t pid)
{
	size_t i;

	for (i = 0; i < nchildren; i++)
		if (children[i].c_pid == pid) {
			child_forget(i);
			return;
		}
}

/*
 * An adopted process exited.  It is a child again only after bmd
 * re-executed itself (an upgrade): then waitpid has its status.
 */
static void
adopted_exit(int fd, short what, void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;
	proc_exit_cb cb;
	void *cbarg;
	size_t i;
	int st = PROC_STATUS_UNKNOWN;

	for (i = 0; i < nchildren && children[i].c_pid != pid; i++)
		;
	if (i == nchildren)
		return;
	if (waitpid(pid, &st, WNOHANG) != pid)
		st = PROC_STATUS_UNKNOWN;
	cb = children[i].c_cb;
	cbarg = children[i].c_arg;
	child_forget(i);
	cb(pid, st, cbarg);
}

/* Watch a process bmd did not spawn (re-adoption): -1 if it cannot. */
int
proc_watch_adopted(pid_t pid, proc_exit_cb cb, void *arg)
{
	struct event *ev;
	int fd;

	if ((fd = plat_proc_watch_open(pid)) == -1) {
		log_warn("%s: pid %d", __func__, (int)pid);
		return -1;
	}
	ev = event_new(bmd.b_base, fd, EV_READ, adopted_exit,
	    (void *)(intptr_t)pid);
	if (ev == NULL || event_add(ev, NULL) == -1) {
		if (ev != NULL)
			event_free(ev);
		close(fd);
		return -1;
	}
	proc_watch(pid, cb, arg);
	children[nchildren - 1].c_fd = fd;
	children[nchildren - 1].c_ev = ev;
	return 0;
}

/*
 * SIGCHLD: reap only the children registered here (waitpid on each pid,
 * never -1), so that helpers waited for elsewhere are left alone.  The
 * exits are collected first and reported afterwards, because a callback
 * may spawn (a restart) or delete a VM.
 */
void
proc_sigchld(void)
{
	struct child *done;
	size_t i, ndone = 0;
	int *status;
	pid_t r;
	int st;

	helper_reap_lost();
	if (nchildren == 0)
		return;
	done = xcalloc(nchildren, sizeof(*done));
	status = xcalloc(nchildren, sizeof(*status));
	for (i = 0; i < nchildren;) {
		if (children[i].c_fd != -1) {
			i++;	/* adopted: adopted_exit reaps it */
			continue;
		}
		r = waitpid(children[i].c_pid, &st, WNOHANG);
		if (r == 0 || (r == -1 && errno == EINTR)) {
			i++;
			continue;
		}
		if (r == -1) {
			log_warn("%s: waitpid %d", __func__,
			    (int)children[i].c_pid);
			st = 0;
		}
		status[ndone] = st;
		done[ndone++] = children[i];
		children[i] = children[--nchildren];
	}
	for (i = 0; i < ndone; i++)
		done[i].c_cb(done[i].c_pid, status[i], done[i].c_arg);
	free(done);
	free(status);
}

