/*
 * Requests and how they ended.  Every request is counted (metrics); one
 * that changes something (a start, a stop, a reset, a reload, a
 * console's write side) is also logged at the info level and streamed
 * (bmdctl events) with the peer the kernel names, refusals included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bmd.h"
#include "log.h"
#include "xmalloc.h"

struct audit {
	const char	*a_cmd;		/* the table's name; NULL: unknown */
	int		 a_changes;
	char		*a_name;	/* the VM; NULL: none */
	char		*a_mode;	/* console_mode's */
	uid_t		 a_uid;
	pid_t		 a_pid;
};

static const char *const changing[] = { "boot", "start", "install",
    "shutdown", "stop", "poweroff", "reset", "reload", "console_mode",
    NULL };

static int
changes(const char *cmd, json_t *req)
{
	size_t i;

	if (cmd == NULL || json_is_true(json_object_get(req, "dry_run")))
		return 0;
	for (i = 0; changing[i] != NULL; i++)
		if (strcmp(cmd, changing[i]) == 0)
			return 1;
	return 0;
}

struct audit *
audit_begin(const struct peercred *pc, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "command"));
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *mode = json_string_value(json_object_get(req, "mode"));
	struct audit *a = xcalloc(1, sizeof(*a));

	a->a_cmd = cmd != NULL ? dispatch_command(cmd) : NULL;
	a->a_changes = changes(a->a_cmd, req);
	a->a_uid = pc->pc_uid;
	a->a_pid = pc->pc_pid;
	if (a->a_changes && name != NULL)
		a->a_name = xprintf("%.64s", name);
	if (a->a_changes && mode != NULL)
		a->a_mode = xprintf("%.16s", mode);
	return a;
}

/*
 * The reason, for the VM's readers: without the requester's "did you
 * mean" (dispatch.c), which names a VM he may see and they may not.
 */
static json_t *
readers_why(const char *why)
{
	const char *hint = strstr(why, NOT_FOUND_HINT);

	return hint != NULL ? json_stringn(why, (size_t)(hint - why)) :
	    json_string(why);
}

/* The request's event; the VM's readers see it, root sees the rest. */
static void
audit_event(const struct audit *a, const char *who, const char *why)
{
	const struct vm *vm = a->a_name != NULL ? vm_find(a->a_name) : NULL;
	json_t *ev;

	if (!events_wanted())
		return;
	ev = json_pack("{s:s,s:I,s:s,s:I,s:s}", "command", a->a_cmd, "uid",
	    (json_int_t)a->a_uid, "user", who, "pid", (json_int_t)a->a_pid,
	    "result", why == NULL ? "done" : "refused");
	if (a->a_mode != NULL)
		json_object_set_new(ev, "mode", json_string(a->a_mode));
	if (why != NULL)
		json_object_set_new(ev, "error", vm != NULL ? readers_why(why) :
		    json_string(why));
	if (a->a_name != NULL && vm == NULL)	/* root's eyes only */
		json_object_set_new(ev, "name", json_string(a->a_name));
	events_emit(vm != NULL ? vm_ident(vm) : NULL, "request", ev);
}

static void
audit_log(const struct audit *a, const char *who, const char *why)
{
	char what[128];

	snprintf(what, sizeof(what), "%s%s%s%s%s", a->a_cmd,
	    a->a_name != NULL ? " " : "", a->a_name != NULL ? a->a_name : "",
	    a->a_mode != NULL ? " " : "", a->a_mode != NULL ? a->a_mode : "");
	if (why == NULL)
		log_info("request: uid %lu (%s, pid %ld): %s: done",
		    (unsigned long)a->a_uid, who, (long)a->a_pid, what);
	else
		log_info("request: uid %lu (%s, pid %ld): %s: refused: %s",
		    (unsigned long)a->a_uid, who, (long)a->a_pid, what, why);
}

/* The outcome: counted, and logged and streamed if it changed; a freed. */
void
audit_end(struct audit *a, const json_t *reply)
{
	int ok = json_is_true(json_object_get(reply, "ok"));
	const char *why = NULL;
	char *who;

	if (a == NULL)
		return;
	metrics_request(a->a_cmd, ok);
	if (a->a_changes) {
		if (!ok && (why = json_string_value(json_object_get(reply,
		    "error"))) == NULL)
			why = "failed";
		who = user_name(a->a_uid);
		audit_log(a, who, why);
		audit_event(a, who, why);
		free(who);
	}
	free(a->a_name);
	free(a->a_mode);
	free(a);
}
