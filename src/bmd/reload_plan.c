/*
 * reload --dry-run (and show config --diff): what a reload would do with
 * the configuration on disk, worked out as reload.c decides it, with
 * nothing changed.
 */
#include <string.h>

#include "bmd.h"
#include "jsontext.h"
#include "keys.h"
#include "proto.h"
#include "xmalloc.h"

static json_t *
key_value(const struct conf_key *k, const struct vm_conf *vc)
{
	struct buf b;
	json_t *j;

	buf_init(&b);
	key_text(k, vc, &b);
	j = json_text(buf_str(&b));
	buf_free(&b);
	return j;
}

/* Key by key, old -> new (the owner first: it is not a key). */
static json_t *
key_changes(const struct vm_conf *old, const struct vm_conf *new)
{
	const struct conf_key *k;
	json_t *a = json_array();
	size_t i;

	if (old->vc_owner != new->vc_owner || old->vc_group != new->vc_group)
		json_array_append_new(a, json_pack("{s:s,s:o,s:o}", "key",
		    "owner", json_text(old->vc_owner_name),
		    "new", json_text(new->vc_owner_name)));
	for (i = 0; i < keys_count(); i++) {
		k = keys_at(i);
		if (!(k->k_flags & KEY_HIDDEN) && !key_equal(k, old, new))
			json_array_append_new(a, json_pack("{s:s,s:o,s:o}",
			    "key", k->k_name, "old", key_value(k, old), "new",
			    key_value(k, new)));
	}
	return a;
}

/*
 * What reload_existing would do to vm with vc: none, pending (the new
 * configuration waits for its next start), restart, start, stop, retry.
 */
static const char *
effect(const struct vm *vm, const struct vm_conf *vc, int changed)
{
	int oldboot = vm_latest(vm)->vc_boot, newboot = vc->vc_boot;
	int stopped = vm->vm_state == VS_TERMINATE;

	if (vm->vm_state == VS_REMOVE)
		return newboot == BOOT_YES || newboot == BOOT_ALWAYS ?
		    "start" : "stop";
	if (vm->vm_state == VS_FAILED)
		return "retry";
	if (newboot != BOOT_NO && vc->vc_reboot_on_change && changed)
		return stopped ? "start" : "restart";
	if (newboot != oldboot && newboot == BOOT_NO && !stopped)
		return "stop";
	if (newboot != oldboot && newboot != BOOT_NO && stopped)
		return "start";
	return changed ? "pending" : "none";
}

/* The errors of each VM the load left out: those before its line. */
static json_t *
rejected(const struct diags *ds)
{
	json_t *a = json_array(), *errs = json_array();
	const char *t, *q, *e;
	size_t i;

	for (i = 0; i < ds->ds_n; i++) {
		t = ds->ds_v[i].d_text;
		if (ds->ds_v[i].d_level != DIAG_ERROR)
			continue;
		if ((q = strstr(t, ": vm \"")) == NULL ||
		    (e = strstr(q + 6, "\" is not loaded")) == NULL) {
			json_array_append_new(errs, json_text(t));
			continue;
		}
		json_array_append_new(a, json_pack("{s:s%,s:o}", "name", q + 6,
		    (size_t)(e - (q + 6)), "errors", errs));
		errs = json_array();
	}
	json_decref(errs);
	return a;
}

json_t *
reload_plan(const struct conf *c, const struct diags *ds)
{
	json_t *r = proto_reply_ok(), *added = json_array(),
	    *removed = json_array(), *changed = json_array(), *keys;
	const struct vm_conf *vc;
	struct vm *vm;
	size_t i;

	for (i = 0; i < c->c_nvms; i++) {
		vc = c->c_vms[i];
		if ((vm = vm_find(vc->vc_name)) == NULL ||
		    (vm_ident(vm)->vc_owner != vc->vc_owner && !vm_active(vm))) {
			json_array_append_new(added, json_pack("{s:s,s:b}",
			    "name", vc->vc_name, "starts", vc->vc_boot !=
			    BOOT_NO));
			continue;
		}
		if (vm_ident(vm)->vc_owner != vc->vc_owner)
			continue;	/* rejected while the other runs */
		keys = key_changes(vm->vm_conf, vc);
		if (json_array_size(keys) > 0 || strcmp(effect(vm, vc, 0),
		    "none") != 0)
			json_array_append_new(changed, json_pack("{s:s,s:s,"
			    "s:s,s:o}", "name", vc->vc_name, "state",
			    vm_display(vm), "effect", effect(vm, vc,
			    json_array_size(keys) > 0), "keys", keys));
		else
			json_decref(keys);
	}
	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		if (conf_find_vm(c, vm->vm_conf->vc_name) != NULL)
			continue;
		json_array_append_new(removed, json_pack("{s:s,s:s,s:b}",
		    "name", vm->vm_conf->vc_name, "state", vm_display(vm),
		    "kept", reload_keeps(c, vm)));
	}
	json_object_set_new(r, "added", added);
	json_object_set_new(r, "removed", removed);
	json_object_set_new(r, "changed", changed);
	json_object_set_new(r, "rejected", rejected(ds));
	return r;
}
