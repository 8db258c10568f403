/* VMs' control groups: made before a VM's program starts, removed after. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bmd.h"
#include "log.h"
#include "xmalloc.h"

/*
 * A group whose members were killed lingers until they are gone: its
 * removal is tried again every RETRY_MS, up to RETRIES times, and given
 * up when the VM starts again (its new program takes the group over).
 */
#define RETRY_MS	100
#define RETRIES		50

struct lingering {
	char		*l_name;
	int		 l_tries;
};

static struct lingering	*lingering;
static size_t		 nlingering, caplingering;
static struct event	*retry_ev;

static void
group_dir(const char *name, char *buf, size_t len)
{
	if (plat_cgroup_name(bmd.b_cgroup, name, buf, len) == -1)
		snprintf(buf, len, "%s", bmd.b_cgroup);
}

static void
forget(size_t i)
{
	free(lingering[i].l_name);
	lingering[i] = lingering[--nlingering];
}

static void
retry_cb(int fd, short what, void *arg)
{
	struct timeval tv = { 0, RETRY_MS * 1000 };
	char dir[PATH_MAX];
	size_t i = 0;

	while (i < nlingering) {
		if (plat_cgroup_remove(bmd.b_cgroup, lingering[i].l_name) ==
		    0) {
			forget(i);
			continue;
		}
		if (++lingering[i].l_tries >= RETRIES) {
			group_dir(lingering[i].l_name, dir, sizeof(dir));
			log_warn("vm %s: cannot remove its control group %s",
			    lingering[i].l_name, dir);
			forget(i);
			continue;
		}
		i++;
	}
	if (nlingering > 0)
		evtimer_add(retry_ev, &tv);
}

static void
linger(const char *name)
{
	struct timeval tv = { 0, RETRY_MS * 1000 };

	if (retry_ev == NULL)
		retry_ev = evtimer_new(bmd.b_base, retry_cb, NULL);
	ARRAY_GROW(lingering, nlingering, caplingering);
	lingering[nlingering].l_name = xstrdup(name);
	lingering[nlingering].l_tries = 0;
	nlingering++;
	if (!evtimer_pending(retry_ev, NULL))
		evtimer_add(retry_ev, &tv);
}

/* *fd: the group's cgroup.procs for proc_spawn_cred, -1 without cgroup. */
int
vmgroup_open(const struct vm *vm, int *fd, char *err, size_t errlen)
{
	const char *name = vm->vm_conf->vc_name;
	char dir[PATH_MAX];
	size_t i;

	*fd = -1;
	if (bmd.b_cgroup == NULL)
		return 0;
	for (i = 0; i < nlingering; i++)
		if (strcmp(lingering[i].l_name, name) == 0) {
			forget(i);
			break;
		}
	if ((*fd = plat_cgroup_open(bmd.b_cgroup, name)) != -1)
		return 0;
	group_dir(name, dir, sizeof(dir));
	snprintf(err, errlen, "cannot make its control group %s: %s", dir,
	    strerror(errno));
	return -1;
}

/*
 * Once the VM's program has exited: whatever it started and left in the
 * group belongs to a VM that no longer runs, and is killed with it.
 */
void
vmgroup_close(const struct vm *vm)
{
	const char *name = vm->vm_conf->vc_name;
	char dir[PATH_MAX];

	if (bmd.b_cgroup == NULL || plat_cgroup_remove(bmd.b_cgroup, name) == 0)
		return;
	group_dir(name, dir, sizeof(dir));
	if (errno != EBUSY) {
		log_warn("vm %s: cannot remove its control group %s", name,
		    dir);
		return;
	}
	log_info("vm %s: killing what its program left in %s", name, dir);
	if (plat_cgroup_kill(bmd.b_cgroup, name) == -1)
		log_warn("vm %s: cannot kill the processes of %s", name, dir);
	linger(name);
}

/*
 * At start, once the running VMs are adopted: the groups of VMs that
 * ended while no bmd ran are empty, and go.
 */
void
vmgroup_sweep(void)
{
	int n;

	if (bmd.b_cgroup != NULL && (n = plat_cgroup_sweep(bmd.b_cgroup)) > 0)
		log_info("removed %d empty control group%s of VMs no longer "
		    "running", n, n == 1 ? "" : "s");
}
