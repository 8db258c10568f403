/*
 * Why a VM last stopped, decided once, when its process exits, from what
 * was asked of it (a stop request, by whom; a forced stop) and what the
 * hypervisor said (QMP's SHUTDOWN reason) or how the process ended.
 */
#include <sys/wait.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmd.h"
#include "xmalloc.h"

/* Who asked (bmdctl), for the record; set by dispatch before the event. */
void
why_request(struct vm *vm, enum vm_event ev, uid_t uid)
{
	vm->vm_intent = ev;
	vm->vm_intent_uid = uid;
}

/* stop_timeout expired: whatever the guest does now, it was forced. */
void
why_forced(struct vm *vm)
{
	vm->vm_forced = 1;
}

/* A new process: nothing asked of it yet. */
void
why_clear(struct vm *vm)
{
	vm->vm_intent = VE_COUNT;
	vm->vm_forced = 0;
}

void
why_set(struct vm *vm, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *text;

	/* the old text may be one of the arguments: free it afterwards */
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	free(vm->vm_why_text);
	vm->vm_why_text = text;
	vm->vm_why_code = code;
	vm->vm_why_time = time(NULL);
}

static const char *
user(uid_t uid, char *buf, size_t len)
{
	const struct user_info *ui = users_get(uid);

	if (ui != NULL && ui->ui_name != NULL)
		snprintf(buf, len, "%s", ui->ui_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)uid);
	return buf;
}

/* Who asked for what the process was asked (for the drivers' reasons). */
const char *
why_who(const struct vm *vm)
{
	static char by[64];

	return user(vm->vm_intent_uid, by, sizeof(by));
}

/* What a stop request that the guest obeyed is called. */
void
why_requested(struct vm *vm)
{
	const char *by = why_who(vm);

	switch (vm->vm_intent) {
	case VE_STOP_REQ:
		why_set(vm, "shutdown", "shut down by %s", by);
		break;
	case VE_DAEMON_STOP:
		why_set(vm, "daemon-stop", "stopped because bmd stopped");
		break;
	case VE_RELOAD_STOP:
	case VE_RELOAD_REMOVE:
	case VE_RELOAD_RESTART:
		why_set(vm, "reload", "stopped by a reload (%s)",
		    vm_event_name(vm->vm_intent));
		break;
	default:
		why_set(vm, "guest-poweroff", "the guest powered off");
		break;
	}
}

/*
 * The hypervisor exited with wait status st: record why, from what was
 * asked of it, what its driver knows (QMP's reason, bhyve's exit
 * status) or how it ended.  1: its driver asks for a start in place.
 */
int
why_exit(struct vm *vm, int st)
{
	const struct vm_driver *drv = vm->vm_run != NULL ?
	    vm->vm_run->rn_drv : NULL;
	int r;

	if (vm->vm_intent == VE_QMP_ERROR)
		why_set(vm, "failed", "the hypervisor stopped on an internal "
		    "error");
	else if (vm->vm_intent == VE_POWEROFF)
		why_set(vm, "poweroff", "powered off by %s", why_who(vm));
	else if (vm->vm_forced)
		why_set(vm, "forced", "forced off: still running %lld s after "
		    "the power button", vm->vm_conf->vc_stop_timeout);
	else if (drv != NULL && drv->d_exited != NULL &&
	    (r = drv->d_exited(vm, st)) != -1)
		return r;
	else if (vm->vm_intent != VE_COUNT && vm->vm_intent != VE_RESET)
		why_requested(vm);
	else if (st == PROC_STATUS_UNKNOWN)
		why_set(vm, "crash", "the process exited (status unknown: it "
		    "was started by an earlier bmd)");
	else if (WIFSIGNALED(st))
		why_set(vm, "crash", "crashed: killed by signal %d",
		    WTERMSIG(st));
	else
		why_set(vm, "crash", "crashed: exited with status %d",
		    WEXITSTATUS(st));
	return 0;
}

/* "last_stop" of list --json and status: null until the first stop. */
json_t *
why_json(const struct vm *vm)
{
	if (vm->vm_why_code == NULL)
		return json_null();
	return json_pack("{s:s,s:s,s:I}", "reason", vm->vm_why_code,
	    "text", vm->vm_why_text != NULL ? vm->vm_why_text : "",
	    "time", (json_int_t)vm->vm_why_time);
}
