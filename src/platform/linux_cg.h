/* cgroup helpers shared by linux_tree.c and linux_cgroup.c. */
#ifndef LINUX_CG_H
#define LINUX_CG_H

/* Each pid listed in dir/cgroup.procs: signalled, or moved to `to`. */
int	cg_each(const char *dir, int sig, const char *to);
/*
 * sig to every member of the group dir: cgroup.kill for SIGKILL where the
 * kernel has it (5.14), else each member in rounds, as one may fork
 * meanwhile.
 */
void	cg_signal_all(const char *dir, int sig);

#endif
