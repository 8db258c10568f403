/*
 * hookcmd: run programs at points of a VM's life (bmd-hookcmd(8)).
 *
 *	hookcmd = PATH;		on every state change, as the VM's owner
 *				and group; runs of one VM one at a time, in
 *				order; the exit status is only logged
 *	prestart = PATH;	as root, before the VM starts: it starts
 *				only if the program exits 0
 *	poststop = PATH;	as root, after the VM stopped for good and
 *				before its resources are released
 *	hook_timeout = SECONDS;	a program still running then is killed
 *
 * Each program gets argv (basename, VM, STATE) and a clean environment
 * (PATH, HOME, USER, LOGNAME, SHELL of the user it runs as) plus the
 * VM's VM_* variables.  A program killed at its timeout is killed with
 * everything it started, even what left its session.  prestart and poststop run
 * only from root-owned files that nobody else may write, set in files
 * owned by root; they are executed through the descriptor that was
 * checked.  No hook blocks the daemon: processes are watched through the
 * event loop.
 */
#define _POSIX_C_SOURCE 200809L

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bmd/plugin.h>

#define DEFAULT_TIMEOUT	"60"
#define MAX_TIMEOUT	86400

extern const struct bmd_plugin bmd_plugin;

enum hook { HOOKCMD, PRESTART, POSTSTOP };
static const char *const hook_keys[] = { "hookcmd", "prestart", "poststop" };

/* One run of a program. */
struct job {
	struct job	*j_next;	/* in its queue, or in `running` */
	struct jobq	*j_queue;	/* hookcmd runs only */
	enum hook	 j_hook;
	char		*j_vm;
	struct bmd_vm	*j_bvm;		/* prestart, poststop: until answered */
	char		*j_path;
	char		*j_state;
	char		**j_env;
	uid_t		 j_uid;		/* (uid_t)-1: as the daemon (root) */
	gid_t		 j_gid;
	long long	 j_timeout;
	pid_t		 j_pid;
	struct bmd_watch *j_timer;
	int		 j_timed_out;
};

/*
 * The hookcmd runs of one VM: one at a time, in the order of changes.
 * A VM is its name and its owner: when the name passes to another owner,
 * the new VM's runs never wait behind the old one's (a program of the
 * old owner's that hangs holds only its own queue).
 */
struct jobq {
	struct jobq	*q_next;
	char		*q_vm;
	uid_t		 q_uid;		/* the runs' (the owner's, or -1) */
	struct job	*q_head, *q_tail;
	struct job	*q_running;
};

static struct jobq	*queues;

/* ---- key checks (also run by bmd -n and bmdctl) ---- */

static int
check_program(const char *path, struct stat *st, char *err, size_t len)
{
	if (stat(path, st) == -1) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, len, "%s is not a regular file", path);
		return -1;
	}
	if (!(st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
		snprintf(err, len, "%s is not executable", path);
		return -1;
	}
	return 0;
}

/* What root runs must be root's, and nobody else may change it. */
static int
root_owned(const char *path, const struct stat *st, char *err, size_t len)
{
	if (st->st_uid != 0) {
		snprintf(err, len, "'%s' is not owned by root", path);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, len, "'%s' is writable by group or others",
		    path);
		return -1;
	}
	return 0;
}

static int
check_hookcmd(const struct bmd_keycheck *kc, char *err, size_t len)
{
	struct stat st;

	return check_program(kc->kc_value, &st, err, len);
}

static int
check_root_hook(const struct bmd_keycheck *kc, char *err, size_t len)
{
	struct stat st;

	if (kc->kc_writer != 0 || kc->kc_vmfile != 0) {
		snprintf(err, len, "runs as root: it may be set only in a file "
		    "owned by root, for a VM defined in one (this %s belongs "
		    "to uid %lu)", kc->kc_writer != 0 ? "file" : "VM's file",
		    (unsigned long)(kc->kc_writer != 0 ? kc->kc_writer :
		    kc->kc_vmfile));
		return -1;
	}
	if (check_program(kc->kc_value, &st, err, len) == -1)
		return -1;
	return root_owned(kc->kc_value, &st, err, len);
}

static int
check_timeout(const struct bmd_keycheck *kc, char *err, size_t len)
{
	long long v = strtoll(kc->kc_value, NULL, 10);

	if (v < 1 || v > MAX_TIMEOUT) {
		snprintf(err, len, "%lld is not between 1 and %d seconds", v,
		    MAX_TIMEOUT);
		return -1;
	}
	return 0;
}

static const struct bmd_key keys[] = {
	{ .bk_name = "hookcmd", .bk_type = BMD_KEY_PATH,
	  .bk_check = check_hookcmd,
	  .bk_help = "program run as the VM owner on every state change" },
	{ .bk_name = "prestart", .bk_type = BMD_KEY_PATH,
	  .bk_check = check_root_hook,
	  .bk_help = "root's program that must exit 0 for the VM to start" },
	{ .bk_name = "poststop", .bk_type = BMD_KEY_PATH,
	  .bk_check = check_root_hook,
	  .bk_help = "root's program run after the VM stopped" },
	{ .bk_name = "hook_timeout", .bk_type = BMD_KEY_INTEGER,
	  .bk_default = DEFAULT_TIMEOUT, .bk_check = check_timeout,
	  .bk_help = "seconds before a hook program is killed" },
	{ .bk_name = NULL }
};

/* ---- jobs ---- */

static char *
xstrdup(const char *s)
{
	char *d = strdup(s != NULL ? s : "");

	if (d == NULL)
		abort();
	return d;
}

static void
job_free(struct job *j)
{
	bmd_strv_free(j->j_env);
	free(j->j_vm);
	free(j->j_path);
	free(j->j_state);
	free(j);
}

/* Everything the run needs, taken now: the VM may be gone later. */
static struct job *
job_new(struct bmd_vm *vm, enum hook h, const char *path, int state)
{
	struct job *j = calloc(1, sizeof(*j));
	long long uid = 0, gid = -1, timeout = 60;

	if (j == NULL)
		abort();
	j->j_hook = h;
	j->j_vm = xstrdup(bmd_vm_str(vm, "name", 0));
	j->j_path = xstrdup(path);
	j->j_state = xstrdup(bmd_state_name(state));
	j->j_env = bmd_vm_env(vm);
	bmd_vm_int(vm, "hook_timeout", 0, &timeout);
	j->j_timeout = timeout;
	j->j_uid = (uid_t)-1;
	if (h == HOOKCMD) {
		bmd_vm_int(vm, "uid", 0, &uid);
		bmd_vm_int(vm, "gid", 0, &gid);
		/* the VM's group, else (-1) the owner's primary group */
		if (uid != 0) {
			j->j_uid = (uid_t)uid;
			j->j_gid = (gid_t)gid;
		}
	}
	return j;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static void	job_exited(pid_t, int, void *);
static void	job_timeout(void *);

/*
 * Root's programs are opened here, checked, and executed through that
 * descriptor; the owner's run by path with the owner's rights.
 */
static int
job_open(const struct job *j, char *err, size_t len)
{
	struct stat st;
	int fd;

	if (j->j_hook == HOOKCMD)
		return -1;
	if ((fd = open(j->j_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, len, "%s: %s", j->j_path, strerror(errno));
		return -2;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    !(st.st_mode & S_IXUSR)) {
		snprintf(err, len, "%s is not an executable file", j->j_path);
		close(fd);
		return -2;
	}
	if (root_owned(j->j_path, &st, err, len) == -1) {
		close(fd);
		return -2;
	}
	return fd;
}

/* Start the program; -1 (with err) if it cannot run. */
static int
job_start(struct job *j, char *err, size_t len)
{
	char *argv[4];
	struct bmd_spawn sp;
	int fd;

	if ((fd = job_open(j, err, len)) == -2)
		return -1;
	argv[0] = (char *)base_name(j->j_path);
	argv[1] = j->j_vm;
	argv[2] = j->j_state;
	argv[3] = NULL;
	memset(&sp, 0, sizeof(sp));
	sp.sp_path = j->j_path;
	sp.sp_fd = fd;
	sp.sp_argv = argv;
	sp.sp_env = j->j_env;
	sp.sp_uid = j->j_uid;
	sp.sp_gid = j->j_gid;
	sp.sp_out_fd = -1;
	j->j_pid = bmd_spawn(&sp);
	if (fd >= 0)
		close(fd);
	if (j->j_pid == -1) {
		snprintf(err, len, "cannot run %s: %s", j->j_path,
		    strerror(errno));
		return -1;
	}
	bmd_log(BMD_LOG_INFO, "vm %s: %s %s: %s (pid %ld)", j->j_vm,
	    hook_keys[j->j_hook], j->j_state, j->j_path, (long)j->j_pid);
	bmd_watch_child(j->j_pid, job_exited, j);
	j->j_timer = bmd_watch_timer(j->j_timeout * 1000, job_timeout, j);
	return 0;
}

static void
job_timeout(void *arg)
{
	struct job *j = arg;

	j->j_timer = NULL;	/* a fired timer is gone */
	j->j_timed_out = 1;
	bmd_log(BMD_LOG_WARN, "vm %s: %s %s: %s still runs after %lld s; "
	    "killed", j->j_vm, hook_keys[j->j_hook], j->j_state, j->j_path,
	    j->j_timeout);
	/* the program and whatever it started, in its session or not */
	if (bmd_kill_tree(j->j_pid, SIGKILL) == -1 &&
	    kill(-j->j_pid, SIGKILL) == -1)
		kill(j->j_pid, SIGKILL);
}

/* Why a run failed, for the log and for bmdctl boot; "" if it did not. */
static void
job_result(const struct job *j, int st, char *why, size_t len)
{
	why[0] = '\0';
	if (j->j_timed_out)
		snprintf(why, len, "%s '%s' did not finish within %lld s",
		    hook_keys[j->j_hook], j->j_path, j->j_timeout);
	else if (WIFSIGNALED(st))
		snprintf(why, len, "%s '%s' was killed by signal %d",
		    hook_keys[j->j_hook], j->j_path, WTERMSIG(st));
	else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		snprintf(why, len, "%s '%s' exited with status %d",
		    hook_keys[j->j_hook], j->j_path, WEXITSTATUS(st));
}

static void	queue_next(struct jobq *);

static void
job_exited(pid_t pid, int st, void *arg)
{
	struct job *j = arg;
	struct jobq *q = j->j_queue;
	char why[512];

	if (j->j_timer != NULL)
		bmd_unwatch(j->j_timer);
	job_result(j, st, why, sizeof(why));
	if (why[0] != '\0')
		bmd_log(j->j_hook == HOOKCMD ? BMD_LOG_INFO : BMD_LOG_WARN,
		    "vm %s: %s", j->j_vm, why);
	if (j->j_hook == PRESTART)
		bmd_prestart_done(&bmd_plugin, j->j_bvm, why[0] == '\0', why);
	else if (j->j_hook == POSTSTOP)
		bmd_poststop_done(&bmd_plugin, j->j_bvm);
	job_free(j);
	if (q != NULL) {
		q->q_running = NULL;
		queue_next(q);
	}
}

/* ---- the hookcmd queue of each VM ---- */

static struct jobq *
queue_get(const char *vm, uid_t uid)
{
	struct jobq *q;

	for (q = queues; q != NULL; q = q->q_next)
		if (q->q_uid == uid && strcmp(q->q_vm, vm) == 0)
			return q;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		abort();
	q->q_vm = xstrdup(vm);
	q->q_uid = uid;
	q->q_next = queues;
	queues = q;
	return q;
}

static void
queue_drop(struct jobq *q)
{
	struct jobq **pp;

	for (pp = &queues; *pp != q; pp = &(*pp)->q_next)
		;
	*pp = q->q_next;
	free(q->q_vm);
	free(q);
}

/* Start the next waiting run; an idle, empty queue goes away. */
static void
queue_next(struct jobq *q)
{
	struct job *j;
	char err[512];

	while (q->q_running == NULL && (j = q->q_head) != NULL) {
		if ((q->q_head = j->j_next) == NULL)
			q->q_tail = NULL;
		j->j_next = NULL;
		if (job_start(j, err, sizeof(err)) == 0) {
			q->q_running = j;
			return;
		}
		bmd_log(BMD_LOG_WARN, "vm %s: hookcmd %s: %s", j->j_vm,
		    j->j_state, err);
		job_free(j);
	}
	if (q->q_running == NULL)
		queue_drop(q);
}

/* ---- hooks ---- */

static void
hookcmd_status(struct bmd_vm *vm, int from, int to)
{
	const char *path = bmd_vm_str(vm, "hookcmd", 0);
	struct job *j;
	struct jobq *q;

	if (path == NULL)
		return;
	j = job_new(vm, HOOKCMD, path, to);
	q = queue_get(j->j_vm, j->j_uid);
	j->j_queue = q;
	if (q->q_tail != NULL)
		q->q_tail->j_next = j;
	else
		q->q_head = j;
	q->q_tail = j;
	queue_next(q);
}

/* prestart and poststop: > 0 if the program runs (answer later). */
static int
root_hook(struct bmd_vm *vm, enum hook h, char *why, size_t len)
{
	const char *path = bmd_vm_str(vm, hook_keys[h], 0);
	struct job *j;
	char err[512];

	if (path == NULL)
		return 0;
	j = job_new(vm, h, path, h == PRESTART ? BMD_PRESTART : BMD_POSTSTOP);
	j->j_bvm = vm;
	if (job_start(j, err, sizeof(err)) == 0)
		return 1;
	bmd_log(BMD_LOG_WARN, "vm %s: %s: %s", j->j_vm, hook_keys[h], err);
	if (why != NULL)
		snprintf(why, len, "%s: %s", hook_keys[h], err);
	job_free(j);
	return -1;
}

static int
hookcmd_prestart(struct bmd_vm *vm, char *why, size_t len)
{
	return root_hook(vm, PRESTART, why, len);
}

/* A poststop that cannot run is logged; the cleanup goes on. */
static int
hookcmd_poststop(struct bmd_vm *vm)
{
	return root_hook(vm, POSTSTOP, NULL, 0) > 0;
}

/* Runs still queued when the daemon exits are dropped. */
static void
hookcmd_fini(void)
{
	struct job *j;

	while (queues != NULL) {
		while ((j = queues->q_head) != NULL) {
			queues->q_head = j->j_next;
			job_free(j);
		}
		if (queues->q_running != NULL)
			job_free(queues->q_running);
		queue_drop(queues);
	}
}

const struct bmd_plugin bmd_plugin = {
	BMD_PLUGIN_HEADER,
	.bp_name = "hookcmd",
	.bp_version = "1.0",
	.bp_keys = keys,
	.bp_finalize = hookcmd_fini,
	.bp_status_change = hookcmd_status,
	.bp_prestart = hookcmd_prestart,
	.bp_poststop = hookcmd_poststop,
};
