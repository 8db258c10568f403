/* Linux process trees (platform.h): a cgroup v2 per tree, else /proc. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux_cg.h"
#include "platform.h"

/*
 * A tree is a cgroup of its own below bmd's (no controllers: it only
 * groups).  Whatever a hook starts stays in it, setsid(2) or not, so
 * cgroup.kill (or signalling every member) reaches all of it.  Without
 * a writable cgroup v2 hierarchy the descendants are found through
 * /proc (parent links and the leader's session): that catches children
 * that left the session while their parent lives, not the orphans of a
 * parent that already exited.
 */
struct plat_tree {
	char	*t_dir;		/* the cgroup; NULL: none */
	char	*t_parent;	/* bmd's own cgroup */
	int	 t_procs;	/* t_dir/cgroup.procs, for the child */
	int	 t_killed;
};

#define CG_ROUNDS	8

/* Directories of killed trees that still had dying members. */
static char	*stale[32];

/* The cgroup2 mount point, or NULL. */
static char *
cg_mount(void)
{
	char line[4096], dev[256], mnt[PATH_MAX], type[64];
	FILE *fp;
	char *found = NULL;

	if ((fp = fopen("/proc/self/mounts", "re")) == NULL)
		return NULL;
	while (found == NULL && fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%255s %4095s %63s", dev, mnt, type) == 3 &&
		    strcmp(type, "cgroup2") == 0)
			found = strdup(mnt);
	fclose(fp);
	return found;
}

/* bmd's own cgroup directory ("0::/path" of /proc/self/cgroup). */
static char *
cg_self(void)
{
	char line[4096], *mnt, *dir = NULL;
	size_t n;
	FILE *fp;

	if ((mnt = cg_mount()) == NULL)
		return NULL;
	if ((fp = fopen("/proc/self/cgroup", "re")) != NULL) {
		while (dir == NULL && fgets(line, sizeof(line), fp) != NULL) {
			if (strncmp(line, "0::/", 4) != 0)
				continue;
			n = strcspn(line + 3, "\n");
			line[3 + n] = '\0';
			if (asprintf(&dir, "%s%s", mnt,
			    strcmp(line + 3, "/") == 0 ? "" : line + 3) == -1)
				dir = NULL;
		}
		fclose(fp);
	}
	free(mnt);
	return dir;
}

static void
stale_retry(void)
{
	size_t i;

	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++)
		if (stale[i] != NULL && (rmdir(stale[i]) == 0 ||
		    errno == ENOENT)) {
			free(stale[i]);
			stale[i] = NULL;
		}
}

struct plat_tree *
plat_tree_new(void)
{
	static unsigned long seq;
	struct plat_tree *t = calloc(1, sizeof(*t));
	char *procs = NULL;

	if (t == NULL)
		return NULL;
	t->t_procs = -1;
	stale_retry();
	if ((t->t_parent = cg_self()) == NULL ||
	    asprintf(&t->t_dir, "%s/bmd-tree.%ld.%lu", t->t_parent,
	    (long)getpid(), ++seq) == -1) {
		t->t_dir = NULL;
		return t;
	}
	if (mkdir(t->t_dir, 0755) == -1 ||
	    asprintf(&procs, "%s/cgroup.procs", t->t_dir) == -1 ||
	    (t->t_procs = open(procs, O_WRONLY | O_CLOEXEC)) == -1) {
		if (t->t_dir != NULL)
			rmdir(t->t_dir);
		free(t->t_dir);
		t->t_dir = NULL;
	}
	free(procs);
	return t;
}

/* In the child, before exec: only async-signal-safe calls. */
int
plat_tree_join(const struct plat_tree *t)
{
	if (t == NULL || t->t_procs == -1)
		return 0;
	return write(t->t_procs, "0", 1) == 1 ? 0 : -1;
}

int
cg_each(const char *dir, int sig, const char *to)
{
	char path[PATH_MAX], buf[32];
	FILE *fp;
	long pid;
	int n = 0, fd = -1;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	if (to != NULL) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", to);
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	while (fscanf(fp, "%ld", &pid) == 1) {
		n++;
		if (to == NULL)
			kill((pid_t)pid, sig);
		else if (fd != -1) {
			snprintf(buf, sizeof(buf), "%ld", pid);
			(void)write(fd, buf, strlen(buf));
		}
	}
	fclose(fp);
	if (fd != -1)
		close(fd);
	return n;
}

static int
cg_kill_all(const char *dir)
{
	char path[PATH_MAX];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

void
cg_signal_all(const char *dir, int sig)
{
	int i;

	if (sig == SIGKILL && cg_kill_all(dir) == 0)
		return;
	for (i = 0; i < CG_ROUNDS && cg_each(dir, sig, NULL) > 0; i++)
		;
}

/* Without a cgroup: pid's parent and session from /proc/PID/stat. */
static int
proc_links(pid_t pid, pid_t *ppid, pid_t *sid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, pgrp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* after "pid (comm) state": ppid pgrp session */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %d %d %d", ppid, &pgrp, sid) != 3)
		return -1;
	return 0;
}

/* Is pid below leader (parent links) or in its session? */
static int
proc_in_tree(pid_t pid, pid_t leader)
{
	pid_t p = pid, ppid, sid;
	int depth;

	if (proc_links(pid, &ppid, &sid) == -1)
		return 0;
	if (sid == leader)
		return 1;
	for (depth = 0; depth < 64 && p > 1; depth++) {
		if (proc_links(p, &ppid, &sid) == -1)
			return 0;
		if (ppid == leader)
			return 1;
		p = ppid;
	}
	return 0;
}

/* Descendants first, the leader last: its exit must not orphan them. */
static void
proc_kill_tree(pid_t leader, int sig)
{
	struct dirent *de;
	DIR *d;
	pid_t pid;

	if ((d = opendir("/proc")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if ((pid = (pid_t)atol(de->d_name)) <= 1 ||
			    pid == leader || !proc_in_tree(pid, leader))
				continue;
			kill(pid, sig);
		}
		closedir(d);
	}
	if (kill(-leader, sig) == -1)
		kill(leader, sig);
}

void
plat_tree_kill(struct plat_tree *t, pid_t leader, int sig)
{
	if (t == NULL || t->t_dir == NULL) {
		proc_kill_tree(leader, sig);
		return;
	}
	t->t_killed = 1;
	cg_signal_all(t->t_dir, sig);
}

void
plat_tree_free(struct plat_tree *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->t_procs != -1)
		close(t->t_procs);
	if (t->t_dir != NULL) {
		/* a killed tree stays killed; survivors of the others go on */
		if (t->t_killed)
			(void)cg_kill_all(t->t_dir);
		else
			(void)cg_each(t->t_dir, 0, t->t_parent);
		if (rmdir(t->t_dir) == 0 || errno == ENOENT)
			free(t->t_dir);
		else {
			for (i = 0; i < sizeof(stale) / sizeof(stale[0]) &&
			    stale[i] != NULL; i++)
				;
			if (i < sizeof(stale) / sizeof(stale[0]))
				stale[i] = t->t_dir;
			else
				free(t->t_dir);
		}
	}
	free(t->t_parent);
	free(t);
}
