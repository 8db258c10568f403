/*
 * The audit trail: every request that changes something (a start, a stop,
 * a reset, a reload, a console's write side), with the peer the kernel
 * names and how it ended, refusals included, at the info level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bmd.h"
#include "log.h"
#include "xmalloc.h"

struct audit {
	char	*a_what;	/* "boot a1" */
	uid_t	 a_uid;
	pid_t	 a_pid;
};

static const char *const changing[] = { "boot", "start", "install",
    "shutdown", "stop", "poweroff", "reset", "reload", "console_mode",
    NULL };

/* NULL: the request changes nothing (list, status, a dry run...). */
struct audit *
audit_begin(const struct peercred *pc, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "command"));
	const char *name = json_string_value(json_object_get(req, "name"));
	const char *mode = json_string_value(json_object_get(req, "mode"));
	struct audit *a;
	size_t i;

	if (cmd == NULL || json_is_true(json_object_get(req, "dry_run")))
		return NULL;
	for (i = 0; changing[i] != NULL; i++)
		if (strcasecmp(cmd, changing[i]) == 0)
			break;
	if (changing[i] == NULL)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->a_uid = pc->pc_uid;
	a->a_pid = pc->pc_pid;
	a->a_what = xprintf("%s%s%.64s%s%.16s", changing[i], name != NULL ?
	    " " : "", name != NULL ? name : "", mode != NULL ? " " : "",
	    mode != NULL ? mode : "");
	return a;
}

/* The outcome, logged; a is freed. */
void
audit_end(struct audit *a, const json_t *reply)
{
	const char *why = json_string_value(json_object_get(reply, "error"));
	char *who;

	if (a == NULL)
		return;
	who = user_name(a->a_uid);
	if (json_is_true(json_object_get(reply, "ok")))
		log_info("request: uid %lu (%s, pid %ld): %s: done",
		    (unsigned long)a->a_uid, who, (long)a->a_pid, a->a_what);
	else
		log_info("request: uid %lu (%s, pid %ld): %s: refused: %s",
		    (unsigned long)a->a_uid, who, (long)a->a_pid, a->a_what,
		    why != NULL ? why : "failed");
	free(who);
	free(a->a_what);
	free(a);
}
