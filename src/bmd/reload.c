/*
 * Reading the configuration while running: SIGHUP (and `reload`) apply
 * spec 4.5 with its defects fixed; `boot` and `install` take the target
 * VM's new configuration only.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "bmd.h"
#include "log.h"
#include "proto.h"
#include "strmap.h"
#include "xmalloc.h"

/* Configuration diagnostics go to the daemon's log only (defect 11.14). */
static const char *why_missing(const struct conf *, const struct diags *,
    const struct vm_conf *);

static void
log_diags(const struct diags *ds)
{
	size_t i;

	for (i = 0; i < ds->ds_n; i++)
		log_write(ds->ds_v[i].d_level == DIAG_ERROR ? LOG_ERR :
		    LOG_WARNING, "%s", ds->ds_v[i].d_text);
}

/*
 * A VM missing from the new configuration is kept when the new text
 * still has it but rejected it, or when its file could not be read: a
 * typo or a file being rewritten must not stop a guest.
 */
int
reload_keeps(const struct conf *c, const struct vm *vm)
{
	const struct vm_conf *vc = vm_latest(vm);

	return conf_rejected(c, vc->vc_name) ||
	    (vc->vc_section != NULL && conf_rejected(c, vc->vc_section)) ||
	    (vc->vc_file != NULL && conf_file_failed(c, vc->vc_file));
}

static const char *
owner_name(const struct vm_conf *vc)
{
	return vc->vc_owner_name != NULL ? vc->vc_owner_name : "?";
}

/*
 * A definition of another owner under the name of a VM in the table.
 * While the VM runs (or starts or stops) the name is its owner's: the
 * new definition is rejected (1) and the VM is treated as gone from the
 * file.  A stopped VM is dropped (0): the new definition is a new VM,
 * with nothing of the old one's runs (console scrollback, plugin state).
 */
static int
owner_conflict(struct vm *vm, struct vm_conf *vc)
{
	const struct vm_conf *id = vm_ident(vm);

	if (vm_active(vm)) {
		log_warnx("vm %s: %s's definition%s%s is rejected: the name "
		    "belongs to %s's running VM until its process is gone; "
		    "reload again then", vc->vc_name, owner_name(vc),
		    vc->vc_file != NULL ? " in " : "",
		    vc->vc_file != NULL ? vc->vc_file : "", owner_name(id));
		events_config(vc, "rejected", "the name belongs to another "
		    "owner's running VM");
		vm_conf_free(vc);
		return 1;
	}
	log_info("vm %s: the owner changed (%s -> %s): a new VM",
	    vc->vc_name, owner_name(id), owner_name(vc));
	events_config(id, "removed", NULL);
	vm_delete(vm);
	return 0;
}

/* Spec 4.5 step 2 for a VM that exists in both configurations. */
static void
reload_existing(struct vm *vm, struct vm_conf *vc)
{
	int changed = !vm_conf_equal(vm->vm_conf, vc);
	int oldboot = vm_latest(vm)->vc_boot, newboot = vc->vc_boot;
	int onchange = vc->vc_reboot_on_change;

	vm_conf_free(vm->vm_pending);
	vm->vm_pending = NULL;
	if (changed)
		events_config(vc, "changed", NULL);
	if (changed)
		vm->vm_pending = vc;
	else
		vm_conf_free(vc);
	plugin_reload(vm);
	if (vm->vm_state == VS_REMOVE) {
		/* Back in the file while it was being removed. */
		vm_event(vm, newboot == BOOT_YES || newboot == BOOT_ALWAYS ?
		    VE_RELOAD_START : VE_RELOAD_STOP);
		return;
	}
	if (vm->vm_state == VS_FAILED) {
		vm_event(vm, VE_RELOAD_RETRY);
		return;
	}
	if (newboot != BOOT_NO && onchange && changed) {
		log_info("vm %s: configuration changed; reboot",
		    vm_latest(vm)->vc_name);
		if (vm->vm_state == VS_TERMINATE)
			vm_schedule_boot(vm, vm_latest(vm)->vc_boot_delay);
		else
			vm_event(vm, VE_RELOAD_RESTART);
		return;
	}
	if (newboot == oldboot)
		return;
	if (newboot == BOOT_NO)
		vm_event(vm, VE_RELOAD_STOP);
	else if (newboot == BOOT_YES || newboot == BOOT_ALWAYS)
		vm_event(vm, VE_RELOAD_START);
}

/* A VM replaced by another owner's leaves step 3 to the active one. */
static void
forget(struct vm **old, size_t nold, const struct vm *vm)
{
	size_t i;

	if (vm_active(vm))
		return;		/* still to be removed from the table */
	for (i = 0; i < nold; i++)
		if (old[i] == vm)
			old[i] = NULL;
}

/*
 * VMs new to the table whose name no VM had: one may still run, left by
 * an earlier bmd while its file did not load (adopt_orphans).  Those not
 * adopted that boot go on the list of VMs to start, added[].
 */
static void
adopt_news(struct vm **news, size_t nnew, struct vm **added, size_t *nadded)
{
	size_t i;

	adopt_begin();
	for (i = 0; i < nnew; i++)
		if (!adopt_vm(news[i]) && news[i]->vm_conf->vc_boot != BOOT_NO)
			added[(*nadded)++] = news[i];
	adopt_end();
}

static void
reload_vms(struct conf *c, const struct diags *ds)
{
	struct vm **old, **added, **news, *vm;
	struct strmap seen;
	struct vm_conf *vc;
	size_t i, nadded = 0, nnew = 0, nold = vm_count();
	int fresh;

	old = xcalloc(nold + 1, sizeof(*old));
	added = xcalloc(c->c_nvms + 1, sizeof(*added));
	news = xcalloc(c->c_nvms + 1, sizeof(*news));
	for (i = 0; i < nold; i++)
		old[i] = vm_at(i);
	strmap_init(&seen);
	for (i = 0; i < c->c_nvms; i++) {
		vc = c->c_vms[i];
		c->c_vms[i] = NULL;
		fresh = (vm = vm_find(vc->vc_name)) == NULL;
		if (vm != NULL && vm_ident(vm)->vc_owner != vc->vc_owner) {
			forget(old, nold, vm);
			if (owner_conflict(vm, vc))
				continue;
			vm = NULL;
		}
		strmap_put(&seen, vc->vc_name, (void *)1);
		if (vm != NULL) {
			reload_existing(vm, vc);
			continue;
		}
		vm = vm_add(vc);
		log_info("vm %s: added", vc->vc_name);
		events_config(vc, "added", NULL);
		if (fresh)	/* not another owner's name taken over */
			news[nnew++] = vm;
		else if (vc->vc_boot != BOOT_NO)
			added[nadded++] = vm;
	}
	c->c_nvms = 0;
	/* Step 3: VMs gone from the file; rejected ones keep running. */
	for (i = 0; i < nold; i++) {
		if ((vm = old[i]) == NULL ||
		    strmap_get(&seen, vm->vm_conf->vc_name) != NULL)
			continue;
		if (reload_keeps(c, vm)) {
			log_warnx("vm %s: the new configuration is invalid; "
			    "keeping the current one", vm->vm_conf->vc_name);
			events_config(vm_ident(vm), "rejected", why_missing(c,
			    ds, vm->vm_conf));
		} else {
			events_config(vm_ident(vm), "removed", NULL);
			vm_event(vm, VE_RELOAD_REMOVE);
		}
	}
	/*
	 * New VMs start once the removed ones are known to be leaving: one
	 * that takes over a removed VM's disk (a rename) waits for it.
	 */
	adopt_news(news, nnew, added, &nadded);
	for (i = 0; i < nadded; i++)
		vm_schedule_boot(added[i], added[i]->vm_conf->vc_boot_delay);
	strmap_free(&seen, NULL);
	free(news);
	free(added);
	free(old);
}

/* The load's errors, for the person who asked (bmdctl reload). */
static void
collect_errors(const struct diags *ds, json_t *errors)
{
	size_t i;

	for (i = 0; errors != NULL && i < ds->ds_n; i++)
		if (ds->ds_v[i].d_level == DIAG_ERROR)
			json_array_append_new(errors,
			    json_string(ds->ds_v[i].d_text));
}

/*
 * SIGHUP and `reload`, once the load is done (loadjob.c).  A
 * configuration with a syntax error changes nothing.  The reply (w
 * NULL: nobody asks) has the text of every error.
 */
static void
reload_loaded(struct conf *c, struct diags *ds, void *arg)
{
	struct ctl_wait *w = arg;
	json_t *errors = json_array(), *r;
	int ok = 0;

	if (c == NULL) {
		json_decref(errors);
		if (w != NULL)
			control_answer(w, proto_reply_error("the daemon is "
			    "shutting down"));
		return;
	}
	log_diags(ds);
	collect_errors(ds, errors);
	if (bmd.b_stopping)
		r = proto_reply_error("the daemon is shutting down");
	else if (c->c_fatal) {
		log_warnx("reload: %s has errors; nothing changed",
		    bmd.b_conf_path);
		r = proto_reply_error("%s has errors; nothing changed",
		    bmd.b_conf_path);
	} else {
		quota_set(&c->c_global);	/* before the VMs it starts */
		reload_vms(c, ds);
		wol_update();
		run_lock_dirs();
		r = proto_reply_ok();
		ok = 1;
	}
	conf_free(c);
	diags_free(ds);
	if (ok) {
		logfile_reopen_all();
		plat_trim_memory();
	}
	json_object_set_new(r, "errors", errors);
	if (events_wanted())
		events_emit(NULL, "reload", json_pack("{s:s,s:O}", "result",
		    ok ? "done" : "failed", "errors", errors));
	if (w != NULL)
		control_answer(w, r);
	else
		json_decref(r);
}

/* reload --dry-run: the plan (reload_plan.c), nothing changed. */
static void
dry_run_loaded(struct conf *c, struct diags *ds, void *arg)
{
	struct ctl_wait *w = arg;
	json_t *errors = json_array(), *r;

	if (c == NULL || bmd.b_stopping)
		r = proto_reply_error("the daemon is shutting down");
	else if (c->c_fatal)
		r = proto_reply_error("%s has errors; a reload would change "
		    "nothing", bmd.b_conf_path);
	else
		r = reload_plan(c, ds);
	if (c != NULL) {
		collect_errors(ds, errors);
		conf_free(c);
		diags_free(ds);
	}
	json_object_set_new(r, "errors", errors);
	control_answer(w, r);
}

int
reload_dry_run(struct ctl_wait *w)
{
	if (bmd.b_stopping)
		return -1;
	loadjob_submit(dry_run_loaded, w);
	return 0;
}

/* -1: not started (the daemon is stopping). */
int
reload_all(struct ctl_wait *w)
{
	if (bmd.b_stopping)
		return -1;
	log_info("reload config file");
	loadjob_submit(reload_loaded, w);
	return 0;
}

/* The first error about file path in ds, or NULL. */
static const char *
file_error(const struct diags *ds, const char *path)
{
	size_t i, n = strlen(path);

	for (i = 0; i < ds->ds_n; i++)
		if (ds->ds_v[i].d_level == DIAG_ERROR &&
		    strncmp(ds->ds_v[i].d_text, path, n) == 0 &&
		    ds->ds_v[i].d_text[n] == ':')
			return ds->ds_v[i].d_text;
	return NULL;
}

/*
 * Why boot found no usable section for name: the first error about its
 * file when that file could not be read; the first error of the load
 * when it failed as a whole; else the first error reported for the
 * VM (the errors before its "is not loaded" line, after the previous
 * VM's), else that the section is gone.
 */
static const char *
why_missing(const struct conf *c, const struct diags *ds,
    const struct vm_conf *was)
{
	static char why[1024];
	const char *first = NULL, *t, *name = was->vc_name;
	char *mark = xprintf("vm \"%s\" is not loaded", name);
	size_t i;
	int found = 0;

	/* its file could not be read or parsed: that file's first error */
	for (i = 0; i < c->c_nbadfiles && !c->c_fatal; i++)
		if (was->vc_file != NULL &&
		    strcmp(c->c_badfiles[i], was->vc_file) == 0)
			first = file_error(ds, was->vc_file);
	if (first != NULL) {
		free(mark);
		snprintf(why, sizeof(why), "%s", first);
		return why;
	}

	for (i = 0; i < ds->ds_n && !found; i++) {
		t = ds->ds_v[i].d_text;
		if (ds->ds_v[i].d_level != DIAG_ERROR)
			continue;
		if (strstr(t, mark) != NULL)
			found = 1;
		else if (strstr(t, "is not loaded because") != NULL)
			first = NULL;	/* another VM's errors end here */
		else if (first == NULL)
			first = t;
	}
	free(mark);
	for (i = 0; c->c_fatal && i < ds->ds_n; i++)
		if (ds->ds_v[i].d_level == DIAG_ERROR) {
			snprintf(why, sizeof(why), "%s", ds->ds_v[i].d_text);
			return why;
		}
	if (found && first != NULL)
		snprintf(why, sizeof(why), "%s", first);
	else if (conf_rejected(c, name))
		snprintf(why, sizeof(why), "its configuration has errors");
	else
		snprintf(why, sizeof(why), "no longer in the configuration");
	return why;
}

/*
 * `boot` and `install` re-read the configuration and keep only this
 * VM's part (c, ds: loadjob.c), taken out of c; the rest stays the
 * caller's, and other VMs' errors stay in the daemon's log.
 */
int
reload_one(struct vm *vm, struct conf *c, struct diags *ds,
    const struct peercred *pc, const char **err)
{
	const char *name = vm->vm_conf->vc_name;
	struct vm_conf *vc = NULL;
	size_t i;

	log_diags(ds);
	for (i = 0; !c->c_fatal && i < c->c_nvms; i++)
		if (strcmp(c->c_vms[i]->vc_name, name) == 0) {
			vc = c->c_vms[i];
			c->c_vms[i] = c->c_vms[--c->c_nvms];
			break;
		}
	if (vc == NULL) {
		*err = why_missing(c, ds, vm->vm_conf);
		return -1;
	}
	if (!conf_may_access(vc, pc)) {
		vm_conf_free(vc);
		*err = "VM not found";
		return -1;
	}
	vm_conf_free(vm->vm_pending);
	vm->vm_pending = NULL;
	if (vm->vm_conf->vc_owner != vc->vc_owner) {
		/* stopped (start() checked): a new VM under the old name */
		log_info("vm %s: the owner changed (%s -> %s): a new VM", name,
		    owner_name(vm->vm_conf), owner_name(vc));
		console_free(vm);
		vm_conf_free(vm->vm_conf);
		vm->vm_conf = vc;
		holders_note(vc->vc_name, vc->vc_owner);
		events_config(vc, "changed", NULL);
		wol_update();
		return 0;
	}
	if (!vm_conf_equal(vm->vm_conf, vc)) {
		log_info("changes are found. update %s configuration", name);
		events_config(vc, "changed", NULL);
		vm->vm_pending = vc;
		wol_update();
	} else {
		log_info("no changes are found for %s. keep existing "
		    "configurations.", name);
		vm_conf_free(vc);
	}
	return 0;
}

/*
 * Daemon start: adopt what an earlier bmd left running, then start every
 * other VM with boot != no, each after its boot_delay; after an upgrade,
 * not those the previous program had stopped.  Every adoption comes
 * first (a removal under way too), so that a VM whose disk a running one
 * holds waits for it instead of starting beside it.
 */
void
start_all(void)
{
	struct vm *vm, **boot;
	size_t i, n = 0;

	boot = xcalloc(vm_count() + 1, sizeof(*boot));
	adopt_begin();
	upgrade_stopped_load();
	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if (!adopt_vm(vm) && vm->vm_conf->vc_boot != BOOT_NO &&
		    !upgrade_kept_stopped(vm->vm_conf->vc_name))
			boot[n++] = vm;
	upgrade_stopped_free();
	adopt_end();
	adopt_orphans();
	for (i = 0; i < n; i++)
		vm_schedule_boot(boot[i], boot[i]->vm_conf->vc_boot_delay);
	free(boot);
	vmgroup_sweep();
}
