/* The VM table: lookup by name, access checks, list entries and timers. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "bmd.h"
#include "jsontext.h"
#include "vmtable.h"
#include "log.h"
#include "strmap.h"
#include "xmalloc.h"

/*
 * VMs in the order they were defined, plus a name index.  The index
 * has no delete: a deleted name keeps a NULL value (a tombstone), which
 * costs one slot per name ever seen, like the daemon's ID map.
 */
static struct vm	**vms;
static size_t		  nvms, capvms;
static struct strmap	  byname;

static const char *const state_names[VS_COUNT] = {
	[VS_TERMINATE] = "TERMINATE",	[VS_PRESTART] = "PRESTART",
	[VS_LOAD] = "LOAD",		[VS_RUN] = "RUN",
	[VS_STOP] = "STOP",		[VS_REMOVE] = "REMOVE",
	[VS_RESTART] = "RESTART",	[VS_POSTSTOP] = "POSTSTOP",
	[VS_FAILED] = "FAILED",
};

/* What `bmdctl list` shows (spec 4.3). */
static const char *const state_display[VS_COUNT] = {
	[VS_TERMINATE] = "STOP",	[VS_PRESTART] = "PRESTART",
	[VS_LOAD] = "LOAD",		[VS_RUN] = "RUN",
	[VS_STOP] = "TERMINATING",	[VS_REMOVE] = "TERMINATING",
	[VS_RESTART] = "REBOOTING",	[VS_POSTSTOP] = "POSTSTOP",
	[VS_FAILED] = "FAILED",
};

const char *
vm_state_name(enum vm_state s)
{
	return s < VS_COUNT ? state_names[s] : "?";
}

const char *
vm_state_display(enum vm_state s)
{
	return s < VS_COUNT ? state_display[s] : "?";
}

struct vm *
vm_find(const char *name)
{
	return byname.sm_cap > 0 ? strmap_get(&byname, name) : NULL;
}

struct vm *
vm_add(struct vm_conf *vc)
{
	struct vm *vm = xcalloc(1, sizeof(*vm));

	vm->vm_conf = vc;
	vm->vm_state = VS_TERMINATE;
	why_clear(vm);
	ARRAY_GROW(vms, nvms, capvms);
	vms[nvms++] = vm;
	strmap_put(&byname, vc->vc_name, vm);
	holders_note(vc->vc_name, vc->vc_owner);
	return vm;
}

void
vm_delete(struct vm *vm)
{
	size_t i;

	for (i = 0; i < nvms; i++)
		if (vms[i] == vm)
			break;
	if (i == nvms)
		fatalx("%s: unknown vm", __func__);
	memmove(&vms[i], &vms[i + 1], (nvms - i - 1) * sizeof(vms[0]));
	nvms--;
	strmap_put(&byname, vm->vm_conf->vc_name, NULL);
	holders_note(vm->vm_conf->vc_name, 0);
	plugin_vm_gone(vm);
	run_end(vm);
	console_free(vm);
	if (vm->vm_timer != NULL)
		event_free(vm->vm_timer);
	vm_conf_free(vm->vm_pending);
	vm_conf_free(vm->vm_conf);
	free(vm->vm_why_text);
	free(vm);
}

size_t
vm_count(void)
{
	return nvms;
}

struct vm *
vm_at(size_t i)
{
	return i < nvms ? vms[i] : NULL;
}

/* The configuration access and `list` use: a pending one wins (spec 3). */
const struct vm_conf *
vm_latest(const struct vm *vm)
{
	return vm->vm_pending != NULL ? vm->vm_pending : vm->vm_conf;
}

/* Has the VM a run (a process, or hooks of a start or stop)? */
int
vm_active(const struct vm *vm)
{
	return vm->vm_run != NULL || vm->vm_pid != 0;
}

/*
 * Is vm on its way out of the table, gone from the file: stopping, or
 * in its prestart or poststop hooks with the removal to follow?
 */
int
vm_leaving(const struct vm *vm)
{
	enum vm_after after;

	switch (vm->vm_state) {
	case VS_REMOVE:
		return 1;
	case VS_POSTSTOP:
		return vm->vm_after == AFTER_REMOVE;
	case VS_PRESTART:
		return plugin_prestart_cancelled(vm, &after) &&
		    after == AFTER_REMOVE;
	default:
		return 0;
	}
}

/* The next component of a path: "." and repeated slashes skipped. */
static const char *
next_part(const char *p, size_t *len)
{
	for (;;) {
		while (*p == '/')
			p++;
		*len = strcspn(p, "/");
		if (*len != 1 || *p != '.')
			return p;
		p++;
	}
}

/* One path however written: "a//b", "a/./b" and "a/b/" are "a/b". */
static int
same_path(const char *a, const char *b)
{
	size_t la, lb;

	if ((*a == '/') != (*b == '/'))
		return 0;
	for (;;) {
		a = next_part(a, &la);
		b = next_part(b, &lb);
		if (la != lb || memcmp(a, b, la) != 0)
			return 0;
		if (la == 0)
			return 1;
		a += la;
		b += lb;
	}
}

/*
 * Another VM whose run holds what vm's next run needs: one of its disks
 * (unless both open it read-only), or its ID (its tap names).  what says
 * which.  A VM renamed in the file
 * is the usual case: the old name is still stopping as the new one may
 * start.  Paths are compared as written, but for "." and repeated
 * slashes: stat-ing a user's path as root is not done on the event loop.
 * (QEMU locks its images; bhyve's disks are also compared as files once
 * the start check has opened them: owner_files_claim.)
 */
static int
conflict(const struct vm_conf *vc, const struct vm_conf *oc, char *what,
    size_t len)
{
	const struct conf_disk *d, *od;
	size_t a, b;

	if (oc->vc_id == vc->vc_id) {
		snprintf(what, len, "ID %d", vc->vc_id);
		return 1;
	}
	for (a = 0; a < vc->vc_disk.l_n; a++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, a);
		for (b = 0; b < oc->vc_disk.l_n; b++) {
			od = CLIST_AT(&oc->vc_disk, struct conf_disk, b);
			if ((d->d_flags & od->d_flags & DISK_READONLY) == 0 &&
			    same_path(d->d_path, od->d_path)) {
				snprintf(what, len, "disk %s", d->d_path);
				return 1;
			}
		}
	}
	return 0;
}

struct vm *
vm_holder(const struct vm *vm, char *what, size_t len)
{
	struct vm *o;
	size_t i;

	for (i = 0; (o = vm_at(i)) != NULL; i++)
		if (o != vm && vm_active(o) &&
		    conflict(vm->vm_conf, o->vm_conf, what, len))
			return o;
	return NULL;
}

/*
 * Will holder o let vm have what it holds once it has stopped?  It is
 * leaving the configuration, or it is stopping (to start again, say)
 * and its next configuration no longer has it: two VMs swapping their
 * disks in one reload, each restarting.
 */
int
vm_releasing(const struct vm *o, const struct vm *vm)
{
	if (vm_leaving(o))
		return 1;
	switch (o->vm_state) {
	case VS_STOP:
	case VS_RESTART:
	case VS_POSTSTOP:
		return !conflict(vm->vm_conf, vm_latest(o), NULL, 0);
	default:
		return 0;
	}
}

/*
 * Whose VM this is: while a run lasts, the configuration it was started
 * with (owner, group and backend are those of the running process);
 * otherwise the latest one.
 */
const struct vm_conf *
vm_ident(const struct vm *vm)
{
	return vm_active(vm) ? vm->vm_conf : vm_latest(vm);
}

/* Spec 3: root, the owner, or a member of the VM's group. */
int
vm_may_access(const struct vm *vm, const struct peercred *pc)
{
	return conf_may_access(vm_ident(vm), pc);
}

static int
who_matches(const struct clist *l, const struct peercred *pc)
{
	const struct conf_who *w;
	size_t i;
	int g;

	for (i = 0; i < l->l_n; i++) {
		w = CLIST_AT(l, struct conf_who, i);
		if (!w->cw_group && w->cw_id == (unsigned)pc->pc_uid)
			return 1;
		if (!w->cw_group)
			continue;
		if (w->cw_id == (unsigned)pc->pc_gid)
			return 1;
		for (g = 0; g < pc->pc_ngroups; g++)
			if (w->cw_id == (unsigned)pc->pc_groups[g])
				return 1;
	}
	return 0;
}

/*
 * Who may use a VM's consoles: those who may access the VM write; the
 * lists are read from the newest configuration, so a reload that adds
 * or removes someone counts at once, for the next session.
 */
enum console_role
vm_console_role(const struct vm *vm, const struct peercred *pc)
{
	const struct vm_conf *vc = vm_latest(vm);

	if (vm_may_access(vm, pc) || who_matches(&vc->vc_console_writers, pc))
		return CONSOLE_WRITER;
	if (who_matches(&vc->vc_console_viewers, pc))
		return CONSOLE_VIEWER;
	return CONSOLE_NONE;
}

int
conf_may_access(const struct vm_conf *vc, const struct peercred *pc)
{
	int i;

	if (pc->pc_uid == 0 || pc->pc_uid == vc->vc_owner)
		return 1;
	if (vc->vc_group == (gid_t)-1)
		return 0;
	if (pc->pc_gid == vc->vc_group)
		return 1;
	for (i = 0; i < pc->pc_ngroups; i++)
		if (pc->pc_groups[i] == vc->vc_group)
			return 1;
	return 0;
}

json_t *
vm_to_json(const struct vm *vm)
{
	const struct vm_conf *vc = vm_latest(vm), *id = vm_ident(vm);
	const char *loader = vc->vc_loader != NULL ? vc->vc_loader :
	    conf_backend_name(vc->vc_backend);

	const struct vm_run *rn = vm->vm_run;
	char cg[PATH_MAX];
	json_t *o;

	o = json_pack("{s:i,s:s,s:s,s:o,s:o,s:i,s:I,s:s,s:s,s:o,s:o,s:i,"
	    "s:o}",
	    "id", vc->vc_id, "name", vc->vc_name,
	    "state", vm_display(vm),
	    "owner", json_text(id->vc_owner_name),
	    "group", json_text(id->vc_group_name),
	    "ncpu", vc->vc_ncpu.nc_cpus,
	    "memory", (json_int_t)vc->vc_memory.m_bytes,
	    "backend", conf_backend_name(vc->vc_backend), "loader", loader,
	    "pid", vm->vm_pid > 0 ? json_integer(vm->vm_pid) : json_null(),
	    "uptime", vm->vm_pid > 0 && rn != NULL && rn->rn_started > 0 ?
	    json_integer((json_int_t)(time(NULL) - rn->rn_started)) :
	    json_null(), "restarts", (int)vm->vm_restarts,
	    "last_stop", why_json(vm));
	if (o != NULL && vm->vm_pid > 0 && bmd.b_cgroup != NULL &&
	    plat_cgroup_name(bmd.b_cgroup, vc->vc_name, cg, sizeof(cg)) == 0)
		json_object_set_new(o, "cgroup", json_string(cg));
	return o;
}

const char *
vm_display(const struct vm *vm)
{
	if (vm->vm_state == VS_RUN && vm->vm_run != NULL &&
	    vm->vm_run->rn_unresponsive)
		return "UNRESPONSIVE";
	return vm_state_display(vm->vm_state);
}

void
vm_probe(struct vm *vm)
{
	if (vm->vm_run != NULL && vm->vm_pid != 0)
		vm->vm_run->rn_drv->d_probe(vm);
}

void
vm_to_row(const struct vm *vm, struct vt_row *r)
{
	const struct vm_conf *vc = vm_latest(vm);

	vt_row_set(r, vc->vc_id, vc->vc_name, vc->vc_ncpu.nc_cpus,
	    (long long)vc->vc_memory.m_bytes, vc->vc_loader != NULL ?
	    vc->vc_loader : conf_backend_name(vc->vc_backend),
	    vm_display(vm), vm_ident(vm)->vc_owner_name);
}

static void
timer_fired(int fd, short what, void *arg)
{
	struct vm *vm = arg;

	(void)fd;
	(void)what;
	vm_event(vm, vm->vm_timer_ev);
}

/* One lifecycle timer per VM: a boot delay or a stop escalation step. */
void
vm_timer_set(struct vm *vm, long long sec, enum vm_event ev)
{
	struct timeval tv = { (time_t)sec, 0 };

	if (vm->vm_timer == NULL)
		vm->vm_timer = evtimer_new(bmd.b_base, timer_fired, vm);
	vm->vm_timer_ev = ev;
	evtimer_add(vm->vm_timer, &tv);
}

/* Is the VM's timer armed, to post ev? */
int
vm_timer_pending(const struct vm *vm, enum vm_event ev)
{
	return vm->vm_timer != NULL && vm->vm_timer_ev == ev &&
	    evtimer_pending(vm->vm_timer, NULL);
}

void
vm_timer_cancel(struct vm *vm)
{
	if (vm->vm_timer != NULL) {
		event_free(vm->vm_timer);
		vm->vm_timer = NULL;
	}
}

/* Start a stopped VM now or after delay seconds (never while stopping). */
void
vm_schedule_boot(struct vm *vm, long long delay)
{
	if (bmd.b_stopping)
		return;
	if (delay > 0)
		vm_timer_set(vm, delay, VE_BOOT_TIMER);
	else
		vm_event(vm, VE_BOOT_TIMER);
}
