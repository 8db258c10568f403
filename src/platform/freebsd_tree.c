/* FreeBSD process trees (platform.h): bmd as reaper, a subtree per tree. */
#include <sys/param.h>
#include <sys/procctl.h>
#include <sys/sysctl.h>
#include <sys/user.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform.h"

/*
 * bmd takes the reaper status (procctl(2) PROC_REAP_ACQUIRE) before its
 * first tree.  From then on, whatever a child of bmd starts stays among
 * bmd's reaper descendants even when its parent exits: it is
 * reparented to bmd, not to init, and keeps as its subtree id the pid
 * of the child of bmd it descends from.  A tree is the subtree of its
 * leader, and PROC_REAP_KILL with REAPER_KILL_SUBTREE reaches all of it
 * (the leader included), setsid(2) or not, even once the leader is
 * gone.
 *
 * Why not a reaper per tree: the leader must be bmd's own child (bmd
 * waits for it), and a forked reaper adopts only what it forks itself.
 * Nor the leader as its own reaper: its descendants go to init the
 * moment it exits, and PROC_REAP_KILL aimed at a process that is no
 * longer a reaper signals the tree of the reaper above it.  Every
 * procctl here is bmd's on itself.
 *
 * The cost: orphans reparented to bmd are bmd's children, and bmd
 * waits only for the children it registered.  They are reaped here, at
 * each tree operation (zombies until then): a reparented orphan's
 * subtree id differs from its own pid, which is never true of a child
 * bmd forked itself, so no registered child's status is ever taken.
 */
struct plat_tree {
	char	t_none;		/* the kernel keeps the tree: nothing here */
};

#define TREE_ROUNDS	8

/* 1: bmd is a reaper; -1: it cannot be one; 0: not asked yet. */
static int	reaper;

static int
reaper_acquire(void)
{
	struct procctl_reaper_status rs;

	if (reaper != 0)
		return reaper == 1 ? 0 : -1;
	memset(&rs, 0, sizeof(rs));
	/* a bmd that exec'd itself (upgrade) is a reaper already */
	if (procctl(P_PID, getpid(), PROC_REAP_ACQUIRE, NULL) == 0 ||
	    (procctl(P_PID, getpid(), PROC_REAP_STATUS, &rs) == 0 &&
	    (rs.rs_flags & REAPER_STATUS_OWNED)))
		reaper = 1;
	else
		reaper = -1;
	return reaper == 1 ? 0 : -1;
}

/* Reap the orphans reparented to bmd that have exited. */
static void
reap_orphans(void)
{
	struct procctl_reaper_status rs;
	struct procctl_reaper_pids rp;
	struct procctl_reaper_pidinfo *pi;
	u_int i, n;

	if (reaper != 1)
		return;
	memset(&rs, 0, sizeof(rs));
	if (procctl(P_PID, getpid(), PROC_REAP_STATUS, &rs) == -1 ||
	    rs.rs_descendants == 0)
		return;
	n = rs.rs_descendants + 16;	/* it may grow meanwhile */
	if ((pi = calloc(n, sizeof(*pi))) == NULL)
		return;
	memset(&rp, 0, sizeof(rp));
	rp.rp_count = n;
	rp.rp_pids = pi;
	if (procctl(P_PID, getpid(), PROC_REAP_GETPIDS, &rp) == 0)
		for (i = 0; i < n && (pi[i].pi_flags & REAPER_PIDINFO_VALID);
		    i++)
			if ((pi[i].pi_flags & REAPER_PIDINFO_CHILD) &&
			    pi[i].pi_subtree != pi[i].pi_pid)
				(void)waitpid(pi[i].pi_pid, NULL, WNOHANG);
	free(pi);
}

/* NULL if bmd cannot be a reaper: plat_tree_kill then sweeps sessions. */
struct plat_tree *
plat_tree_new(void)
{
	if (reaper_acquire() == -1)
		return NULL;
	reap_orphans();
	return calloc(1, sizeof(struct plat_tree));
}

/* Nothing to do in the child: being forked by the reaper is joining. */
int
plat_tree_join(const struct plat_tree *t)
{
	return 0;
}

/*
 * Without a tree: the leader's session and process group (it called
 * setsid), which misses what left the session.
 */
static void
session_kill(pid_t leader, int sig)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_SESSION, (int)leader };
	struct kinfo_proc *kp = NULL;
	size_t len = 0, i;

	if (sysctl(mib, 4, NULL, &len, NULL, 0) == 0 && len > 0) {
		len += len / 4 + sizeof(*kp);
		if ((kp = malloc(len)) != NULL &&
		    sysctl(mib, 4, kp, &len, NULL, 0) == 0 &&
		    len >= sizeof(*kp) && kp[0].ki_structsize == sizeof(*kp))
			for (i = 0; i < len / sizeof(*kp); i++)
				if (kp[i].ki_pid != leader &&
				    kp[i].ki_sid == leader)
					kill(kp[i].ki_pid, sig);
		free(kp);
	}
	if (kill(-leader, sig) == -1)
		kill(leader, sig);
}

/*
 * The leader is not reaped yet, so its pid still names its subtree.
 * SIGKILL is repeated while it finds members: one may be forking.
 */
void
plat_tree_kill(struct plat_tree *t, pid_t leader, int sig)
{
	struct procctl_reaper_kill rk;
	int i, rounds = sig == SIGKILL ? TREE_ROUNDS : 1;

	if (leader <= 1)
		return;
	if (t == NULL || reaper != 1) {
		session_kill(leader, sig);
		return;
	}
	for (i = 0; i < rounds; i++) {
		memset(&rk, 0, sizeof(rk));
		rk.rk_sig = sig;
		rk.rk_flags = REAPER_KILL_SUBTREE;
		rk.rk_subtree = leader;
		if (procctl(P_PID, getpid(), PROC_REAP_KILL, &rk) == -1 ||
		    rk.rk_killed == 0)
			break;
	}
	reap_orphans();
}

/*
 * The leader was reaped: survivors of a tree that was not killed go on
 * as bmd's children (reaped by a later tree operation once they have
 * exited).  The leader's pid is not used again: it may name another
 * process by now.
 */
void
plat_tree_free(struct plat_tree *t)
{
	reap_orphans();
	free(t);
}
