/*
 * Control requests: one table of commands.  The protocol version, the
 * permission and the VM lookup are checked first, in one place; each
 * command is then a short helper.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bmd.h"
#include "buf.h"
#include "vmtable.h"
#include "xmalloc.h"
#include "log.h"
#include "proto.h"
#include "suggest.h"

#define CMD_VM		0x1	/* needs "name" and access to it */
#define CMD_ROOT	0x2	/* root only */
#define CMD_CONSOLE	0x4	/* with CMD_VM: console_viewers/_writers too */

/* A command: its reply, or NULL when control_defer() was called. */
typedef json_t	*(*cmd_fn)(struct ctl_req *, struct vm *);

struct command {
	const char	*c_name;
	int		 c_flags;
	cmd_fn		 c_fn;
};

/* A boot or install waiting for the configuration it reads. */
struct bootjob {
	char		*bj_name;
	struct peercred	 bj_cred;
	int		 bj_install;
	struct ctl_wait	*bj_wait;
};

static json_t *
startable(const struct vm *vm)
{
	if (bmd.b_stopping)
		return proto_reply_error("the daemon is shutting down");
	if (vm->vm_pid != 0 || (vm->vm_state != VS_TERMINATE &&
	    vm->vm_state != VS_FAILED))
		return proto_reply_error("already running");
	return NULL;
}

/* NULL: answered once the prestart hooks have decided. */
static json_t *
boot_with(struct bootjob *bj, struct conf *c, struct diags *ds)
{
	const char *err;
	struct vm *vm;
	json_t *r;

	if (c == NULL)
		return proto_reply_error("the daemon is shutting down");
	/* the table may have changed during the load */
	if ((vm = vm_find(bj->bj_name)) == NULL)
		return proto_reply_error("no longer in the configuration");
	if ((r = startable(vm)) != NULL)
		return r;
	if (reload_one(vm, c, ds, &bj->bj_cred, &err) == -1)
		return proto_reply_error("%s", err);
	vm->vm_install = bj->bj_install;
	if (plugin_boot(vm) == -1)
		return proto_reply_error("%s", plugin_refusal(vm) != NULL ?
		    plugin_refusal(vm) : run_error() != NULL ? run_error() :
		    "failed to start");
	return plugin_boot_wait(vm, bj->bj_wait) ? NULL : proto_reply_ok();
}

static void
boot_loaded(struct conf *c, struct diags *ds, void *arg)
{
	struct bootjob *bj = arg;
	json_t *r = boot_with(bj, c, ds);

	conf_free(c);		/* NULL: bmd quit before the load */
	diags_free(ds);
	if (r != NULL)
		control_answer(bj->bj_wait, r);
	free(bj->bj_name);
	free(bj);
}

/* Boot reads the configuration first (loadjob.c): answered later. */
static json_t *
start(struct ctl_req *rq, struct vm *vm, int install)
{
	struct bootjob *bj;
	json_t *r;

	if ((r = startable(vm)) != NULL)
		return r;
	bj = xcalloc(1, sizeof(*bj));
	if ((bj->bj_wait = control_defer(rq)) == NULL) {
		free(bj);
		return proto_reply_error("a request is pending on this "
		    "connection");
	}
	bj->bj_name = xstrdup(vm->vm_conf->vc_name);
	bj->bj_cred = *rq->rq_cred;
	bj->bj_install = install;
	loadjob_submit_for(vm->vm_conf->vc_section, rq->rq_cred->pc_uid,
	    boot_loaded, bj);
	return NULL;
}

static json_t *
cmd_boot(struct ctl_req *rq, struct vm *vm)
{
	return start(rq, vm, 0);
}

static json_t *
cmd_install(struct ctl_req *rq, struct vm *vm)
{
	return start(rq, vm, 1);
}

/* Stopping a stopped VM succeeds and does nothing. */
static json_t *
cmd_shutdown(struct ctl_req *rq, struct vm *vm)
{
	why_request(vm, VE_STOP_REQ, rq->rq_cred->pc_uid);
	vm_event(vm, VE_STOP_REQ);
	return proto_reply_ok();
}

static json_t *
cmd_poweroff(struct ctl_req *rq, struct vm *vm)
{
	why_request(vm, VE_POWEROFF, rq->rq_cred->pc_uid);
	vm_event(vm, VE_POWEROFF);
	return proto_reply_ok();
}

/* The table says whether a reset means anything in the VM's state. */
static json_t *
cmd_reset(struct ctl_req *rq, struct vm *vm)
{
	why_request(vm, VE_RESET, rq->rq_cred->pc_uid);
	switch (vm_event(vm, VE_RESET)) {
	case VM_IGNORED:
		why_clear(vm);
		if (vm->vm_pid == 0)
			return proto_reply_error("not running");
		return proto_reply_error("cannot be reset while %s",
		    vm_state_name(vm->vm_state));
	case -1:
		return proto_reply_error("failed to reset");
	}
	return proto_reply_ok();
}

/* Served from memory; VMs the caller may not access are left out. */
/* "table": the rendered `bmdctl list` text, cheaper than objects. */
static json_t *
list_table(struct ctl_req *rq)
{
	const struct peercred *pc = rq->rq_cred;
	json_t *req = rq->rq_msg;
	struct vt_row *rows = xcalloc(vm_count() + 1, sizeof(*rows));
	const char *sort = json_string_value(json_object_get(req, "sort"));
	struct buf b;
	json_t *r;
	struct vm *vm;
	size_t i, n = 0;

	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if (vm_may_access(vm, pc)) {
			vm_probe(vm);
			vm_to_row(vm, &rows[n++]);
		}
	buf_init(&b);
	vt_render(rows, n, sort != NULL ? vt_col_find(sort) : VT_ID,
	    json_is_true(json_object_get(req, "reverse")), &b);
	free(rows);
	r = proto_reply_ok();
	if (json_is_true(json_object_get(req, "raw"))) {
		json_object_set_new(r, "raw", json_integer((json_int_t)
		    b.b_len));
		rq->rq_rawlen = b.b_len;
		rq->rq_raw = buf_release(&b);
		return r;
	}
	json_object_set_new(r, "table", json_stringn(b.b_data, b.b_len));
	buf_free(&b);
	return r;
}

static json_t *
cmd_list(struct ctl_req *rq, struct vm *unused)
{
	const struct peercred *pc = rq->rq_cred;
	json_t *req = rq->rq_msg;
	json_t *r, *a;
	struct vm *vm;
	size_t i;

	if (json_is_true(json_object_get(req, "table")))
		return list_table(rq);
	r = proto_reply_ok();
	a = json_array();
	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if (vm_may_access(vm, pc)) {
			vm_probe(vm);
			json_array_append_new(a, vm_to_json(vm));
		}
	json_object_set_new(r, "vms", a);
	return r;
}

static json_t *
cmd_status(struct ctl_req *rq, struct vm *vm)
{
	json_t *r = proto_reply_ok();

	vm_probe(vm);
	json_object_set_new(r, "vm", vm_to_json(vm));
	return r;
}

/* Answered once the load is done (reload.c). */
static json_t *
cmd_reload(struct ctl_req *rq, struct vm *unused)
{
	struct ctl_wait *w;

	if (bmd.b_stopping)
		return proto_reply_error("the daemon is shutting down");
	if ((w = control_defer(rq)) == NULL)
		return proto_reply_error("a request is pending on this "
		    "connection");
	if (json_is_true(json_object_get(rq->rq_msg, "dry_run")))
		reload_dry_run(w);
	else
		reload_all(w);
	return NULL;
}

static const struct command commands[] = {
	{ "boot",	CMD_VM,		cmd_boot },
	{ "start",	CMD_VM,		cmd_boot },
	{ "install",	CMD_VM,		cmd_install },
	{ "shutdown",	CMD_VM,		cmd_shutdown },
	{ "stop",	CMD_VM,		cmd_shutdown },
	{ "poweroff",	CMD_VM,		cmd_poweroff },
	{ "reset",	CMD_VM,		cmd_reset },
	{ "list",	0,		cmd_list },
	{ "limits",	0,		quota_cmd },
	{ "status",	CMD_VM,		cmd_status },
	{ "network",	CMD_VM,		net_cmd },
	{ "console",	CMD_VM | CMD_CONSOLE, console_attach },
	{ "console_mode", CMD_VM | CMD_CONSOLE, console_mode },
	{ "reload",	CMD_ROOT,	cmd_reload },
	{ "events",	0,		events_cmd },
	{ "metrics",	0,		metrics_cmd },
};

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcasecmp(commands[i].c_name, name) == 0)
			return &commands[i];
	return NULL;
}

const char *
dispatch_command(const char *name)
{
	const struct command *c = find_command(name);

	return c != NULL ? c->c_name : NULL;
}

/*
 * No access and no such VM look the same (spec 3): the suggestion is
 * chosen among the VMs this peer may see only.
 */
json_t *
dispatch_not_found(const struct peercred *pc, const char *name)
{
	struct suggest sg;
	const char *best;
	struct vm *vm;
	size_t i;

	suggest_init(&sg, name);
	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if (vm_may_access(vm, pc))
			suggest_add(&sg, vm_latest(vm)->vc_name);
	if ((best = suggest_best(&sg)) != NULL)
		return proto_reply_error("no VM named '%.64s'" NOT_FOUND_HINT
		    "%s'?)", name, best);
	return proto_reply_error("no VM named '%.64s'", name);
}

/*
 * Answer one request.  The peer's identity comes from the kernel only;
 * a command may add a descriptor to the reply (rq_fd) or defer it.
 */
json_t *
dispatch(struct ctl_req *rq)
{
	const struct peercred *pc = rq->rq_cred;
	json_t *req = rq->rq_msg;
	json_t *v = json_object_get(req, "version");
	const struct command *c;
	const char *cmd, *name = NULL;
	struct vm *vm = NULL;

	if (!json_is_integer(v) || json_integer_value(v) != PROTO_VERSION)
		return proto_reply_error("protocol version mismatch");
	if ((cmd = json_string_value(json_object_get(req, "command"))) == NULL)
		return proto_reply_error("missing \"command\"");
	if ((c = find_command(cmd)) == NULL)
		return proto_reply_error("unknown command \"%.64s\"", cmd);
	if (c->c_flags & CMD_VM)
		name = json_string_value(json_object_get(req, "name"));
	log_debug("%s: uid %u: %s %s", __func__, (unsigned)pc->pc_uid,
	    c->c_name, name != NULL ? name : "");
	if ((c->c_flags & CMD_ROOT) && pc->pc_uid != 0)
		return proto_reply_error("permission denied: only root may %s",
		    c->c_name);
	if (c->c_flags & CMD_VM) {
		if (name == NULL)
			return proto_reply_error("missing \"name\"");
		if ((vm = vm_find(name)) == NULL || (!vm_may_access(vm, pc) &&
		    (!(c->c_flags & CMD_CONSOLE) ||
		    vm_console_role(vm, pc) == CONSOLE_NONE)))
			return dispatch_not_found(pc, name);
	}
	return c->c_fn(rq, vm);
}
