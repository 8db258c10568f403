/*
 * Programs plugins run (bmd_spawn): a fresh process state, a clean
 * environment, and a process tree of their own (platform.h) that
 * bmd_kill_tree ends as a whole, even what left the program's session.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bmd/plugin.h>

#include "bmd.h"
#include "xmalloc.h"

#define SPAWN_GROUPS	256
#define NOBODY_ID	65534

/* The tree of each spawned program not yet reaped. */
struct tree {
	pid_t			 t_pid;
	struct plat_tree	*t_tree;
};
static struct tree	*trees;
static size_t		 ntrees, captrees;

static void
tree_add(pid_t pid, struct plat_tree *t)
{
	ARRAY_GROW(trees, ntrees, captrees);
	trees[ntrees].t_pid = pid;
	trees[ntrees].t_tree = t;
	ntrees++;
}

static struct tree *
tree_find(pid_t pid)
{
	size_t i;

	for (i = 0; i < ntrees; i++)
		if (trees[i].t_pid == pid)
			return &trees[i];
	return NULL;
}

/* The program was reaped: its tree is released (see plat_tree_free). */
void
spawn_reaped(pid_t pid)
{
	struct tree *t = tree_find(pid);

	if (t == NULL)
		return;
	plat_tree_free(t->t_tree);
	*t = trees[--ntrees];
}

int
bmd_kill_tree(pid_t pid, int sig)
{
	struct tree *t = tree_find(pid);

	if (pid <= 0 || t == NULL) {
		errno = ESRCH;
		return -1;
	}
	plat_tree_kill(t->t_tree, pid, sig);
	return 0;
}


/*
 * Who a program runs as, worked out before the fork from what bmd knows
 * of the user (users.c): no name service is asked, not even in the
 * child, which would wait there with the hook's time running.
 */
struct spawn_ids {
	uid_t	 sx_uid;
	gid_t	 sx_gid;
	gid_t	 sx_groups[SPAWN_GROUPS];
	int	 sx_ngroups;
};

/*
 * sp_gid, or the user's primary group (nobody's when unknown); then the
 * user's other groups.
 */
static void
spawn_ids(const struct bmd_spawn *sp, struct spawn_ids *si)
{
	const struct user_info *ui = users_get(sp->sp_uid);
	int i;

	si->sx_uid = sp->sp_uid;
	si->sx_gid = sp->sp_gid;
	if (si->sx_gid == (gid_t)-1)
		si->sx_gid = ui != NULL && ui->ui_name != NULL ? ui->ui_gid :
		    NOBODY_ID;
	si->sx_groups[0] = si->sx_gid;
	si->sx_ngroups = 1;
	for (i = 0; ui != NULL && i < ui->ui_ngroups &&
	    si->sx_ngroups < SPAWN_GROUPS; i++)
		if (ui->ui_groups[i] != ui->ui_gid &&
		    ui->ui_groups[i] != si->sx_gid)
			si->sx_groups[si->sx_ngroups++] = ui->ui_groups[i];
}

static void
drop_privileges(const struct spawn_ids *si)
{
	if (setgroups(si->sx_ngroups, si->sx_groups) == -1 ||
	    setgid(si->sx_gid) == -1 || setuid(si->sx_uid) == -1 ||
	    (si->sx_uid != 0 && setuid(0) != -1)) {
		dprintf(2, "bmd: cannot switch to uid %lu gid %lu: %s\n",
		    (unsigned long)si->sx_uid, (unsigned long)si->sx_gid,
		    strerror(errno));
		_exit(126);
	}
}

/* In the child: a fresh program's process state, then exec. */
static _Noreturn void
spawn_child(const struct bmd_spawn *sp, const struct spawn_ids *si,
    char **env)
{
	int nul, exe = -1, out;

	proc_child_reset();
	/* above the numbers they go to, so that no dup2 clobbers another */
	if ((nul = fcntl(open("/dev/null", O_RDWR | O_CLOEXEC), F_DUPFD,
	    10)) == -1 || (sp->sp_fd >= 0 && (exe = fcntl(sp->sp_fd, F_DUPFD,
	    10)) == -1) || (out = sp->sp_out_fd >= 0 ? fcntl(sp->sp_out_fd,
	    F_DUPFD, 10) : nul) == -1)
		_exit(127);
	if (dup2(nul, 0) == -1 || dup2(out, 1) == -1 || dup2(out, 2) == -1 ||
	    (exe >= 0 && dup2(exe, 3) == -1))
		_exit(127);
	plat_closefrom(exe >= 0 ? 4 : 3);
	plat_oom_unprotect();
	if (sp->sp_uid != (uid_t)-1 && sp->sp_uid != 0)
		drop_privileges(si);
	if (exe >= 0)
		fexecve(3, sp->sp_argv, env);
	else
		execve(sp->sp_path, sp->sp_argv, env);
	dprintf(2, "bmd: cannot execute %s: %s\n", sp->sp_path,
	    strerror(errno));
	_exit(127);
}

pid_t
bmd_spawn(const struct bmd_spawn *sp)
{
	struct spawn_ids si;
	struct plat_tree *t;
	char **env;
	pid_t pid;
	int e;

	if (sp == NULL || sp->sp_argv == NULL || sp->sp_argv[0] == NULL ||
	    (sp->sp_fd < 0 && sp->sp_path == NULL)) {
		errno = EINVAL;
		return -1;
	}
	/* a clean environment: the user's basics and sp_env, not bmd's */
	env = proc_env(sp->sp_uid != (uid_t)-1 ? sp->sp_uid : getuid(),
	    sp->sp_env);
	spawn_ids(sp, &si);
	t = plat_tree_new();
	if ((pid = fork()) == -1) {
		e = errno;
		proc_env_free(env);
		plat_tree_free(t);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		if (plat_tree_join(t) == -1)
			_exit(127);
		spawn_child(sp, &si, env);
	}
	proc_env_free(env);
	tree_add(pid, t);
	return pid;
}

