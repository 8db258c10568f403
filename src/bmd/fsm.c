/*
 * The VM life cycle as one state x event table (style rule 16).  Every
 * state change goes through set_state(), which logs it; an event with no
 * action in the current state is ignored (logged at debug level).
 */
#include <sys/wait.h>

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bmd.h"
#include "log.h"

typedef int	(*vm_action)(struct vm *, enum vm_event);

static const char *const event_names[VE_COUNT] = {
	[VE_BOOT] = "BOOT",
	[VE_BOOT_TIMER] = "BOOT_TIMER",
	[VE_PRESTART_DONE] = "PRESTART_DONE",
	[VE_EXIT] = "EXIT",
	[VE_QMP_SHUTDOWN] = "QMP_SHUTDOWN",
	[VE_QMP_ERROR] = "QMP_ERROR",
	[VE_GUEST_RESET] = "GUEST_RESET",
	[VE_STOP_REQ] = "STOP_REQ",
	[VE_POWEROFF] = "POWEROFF",
	[VE_RESET] = "RESET",
	[VE_STOP_TIMEOUT] = "STOP_TIMEOUT",
	[VE_KILL_TIMEOUT] = "KILL_TIMEOUT",
	[VE_POSTSTOP_DONE] = "POSTSTOP_DONE",
	[VE_RELOAD_START] = "RELOAD_START",
	[VE_RELOAD_STOP] = "RELOAD_STOP",
	[VE_RELOAD_RESTART] = "RELOAD_RESTART",
	[VE_RELOAD_REMOVE] = "RELOAD_REMOVE",
	[VE_RELOAD_RETRY] = "RELOAD_RETRY",
	[VE_DAEMON_STOP] = "DAEMON_STOP",
	[VE_ADOPT] = "ADOPT",
};

const char *
vm_event_name(enum vm_event ev)
{
	return ev < VE_COUNT ? event_names[ev] : "?";
}

static const char *
name(const struct vm *vm)
{
	return vm->vm_conf->vc_name;
}

/* The one place where a VM changes state; plugins hear of every change. */
static void
set_state(struct vm *vm, enum vm_state to, enum vm_event ev)
{
	enum vm_state from = vm->vm_state;

	log_info("vm %s: %s -> %s (%s)", name(vm), vm_state_name(vm->vm_state),
	    vm_state_name(to), vm_event_name(ev));
	vm->vm_state = to;
	runrec_update(vm);
	plugin_status_change(vm, from, to);
	events_state(vm, from, ev);
}

/* The state a stopping event leads to. */
static enum vm_state
stop_target(enum vm_event ev)
{
	switch (ev) {
	case VE_RELOAD_REMOVE:
		return VS_REMOVE;
	case VE_RELOAD_RESTART:
	case VE_RELOAD_START:
		return VS_RESTART;
	default:
		return VS_STOP;
	}
}

static int
poststop(struct vm *vm, enum vm_after after, enum vm_event ev)
{
	vm->vm_after = after;
	set_state(vm, VS_POSTSTOP, ev);
	if (plugin_poststop(vm) > 0)
		return 0;	/* VE_POSTSTOP_DONE once they have answered */
	return vm_event(vm, VE_POSTSTOP_DONE);
}

/* QMP quit (or the driver's equivalent), then SIGKILL after a grace. */
static void
force_off(struct vm *vm)
{
	if (vm->vm_run->rn_drv->d_quit(vm) == -1) {
		run_kill(vm, SIGKILL);
		vm_timer_cancel(vm);
	} else
		vm_timer_set(vm, QUIT_GRACE_SEC, VE_KILL_TIMEOUT);
}

/* ---- actions ---- */

/*
 * Another VM's run holds this one's disk or ID: a start of bmd's own
 * (boot timer, reload) waits, trying every second, for one that will
 * let it go (vm_releasing); anything else is refused.  0: nobody holds
 * them.
 */
static int
held(struct vm *vm, enum vm_event ev)
{
	const struct vm *o;
	char what[PATH_MAX + 16];

	if ((o = vm_holder(vm, what, sizeof(what))) == NULL) {
		vm->vm_held = 0;
		return 0;
	}
	if (vm_releasing(o, vm) && ev != VE_BOOT) {
		if (!vm->vm_held)
			log_info("vm %s: waits for vm %s to stop: it uses the "
			    "same %s", name(vm), o->vm_conf->vc_name, what);
		vm->vm_held = 1;
		vm_timer_set(vm, 1, VE_BOOT_TIMER);
		return 1;
	}
	vm->vm_held = 0;
	return run_fail(vm, "%s is in use by vm %s%s", what,
	    o->vm_conf->vc_name, vm_leaving(o) ? ", which is "
	    "stopping (gone from the configuration)" : "");
}

static int
act_start(struct vm *vm, enum vm_event ev)
{
	int r;

	if (vm->vm_pid != 0)
		return -1;
	if (ev == VE_BOOT_TIMER && vm_latest(vm)->vc_boot == BOOT_NO)
		return 0;
	vm_timer_cancel(vm);
	if (ev == VE_BOOT)
		vm->vm_ncrash = 0;	/* a user's boot: a new window */
	if (vm->vm_pending != NULL) {
		vm_conf_free(vm->vm_conf);
		vm->vm_conf = vm->vm_pending;
		vm->vm_pending = NULL;
	}
	if (held(vm, ev) != 0)
		return vm->vm_held ? 0 : -1;
	if (run_begin(vm) == -1) {
		log_warnx("vm %s: failed to start", name(vm));
		vm->vm_install = 0;
		return -1;
	}
	set_state(vm, VS_PRESTART, ev);
	/* the plugins, and the check of a user's paths, answer meanwhile */
	r = plugin_prestart(vm);
	if (r >= 0 && owner_check_begin(vm) > 0)
		r = 1;
	if (r > 0)
		return 0;	/* VE_PRESTART_DONE once they have answered */
	return vm_event(vm, VE_PRESTART_DONE);
}

/* Spawn the next process of the run: a loader (LOAD) or the VM (RUN). */
static int
spawn(struct vm *vm, enum vm_event ev, enum vm_after on_failure)
{
	if (run_spawn_next(vm) == -1) {
		log_warnx("vm %s: failed to start", name(vm));
		/* a restart in place has nobody to answer: status says why */
		why_set(vm, "failed", "could not start: %s", run_error() != NULL ?
		    run_error() : "see the log");
		poststop(vm, on_failure, ev);
		return -1;
	}
	set_state(vm, vm->vm_run->rn_nextproc < vm->vm_run->rn_cmd.cl_nprocs ?
	    VS_LOAD : VS_RUN, ev);
	return 0;
}

static int
act_spawn(struct vm *vm, enum vm_event ev)
{
	return spawn(vm, ev, AFTER_STOP);
}

/* A prestart plugin said no: back to TERMINATE, with no poststop. */
static int
prestart_refused(struct vm *vm, enum vm_event ev)
{
	enum vm_after after = AFTER_STOP;

	log_warnx("vm %s: not started: %s", name(vm), plugin_refusal(vm));
	plugin_prestart_cancelled(vm, &after);
	run_end(vm);
	vm->vm_install = 0;
	set_state(vm, VS_TERMINATE, ev);
	if (after == AFTER_REMOVE) {
		log_info("vm %s: removed", name(vm));
		vm_delete(vm);
	}
	bmd_check_done();
	return -1;
}

/*
 * Every prestart plugin has answered.  A stop that came meanwhile runs
 * poststop (the pair of the prestart that ran) instead of the start.
 */
static int
act_prestart_done(struct vm *vm, enum vm_event ev)
{
	enum vm_after after;
	int again = vm->vm_run->rn_again;

	vm->vm_run->rn_again = 0;
	if (!plugin_prestart_ok(vm) && again) {
		/* the run's prestart ran: its poststop runs too */
		log_warnx("vm %s: not started again: %s", name(vm),
		    plugin_refusal(vm));
		why_set(vm, "failed", "could not start: %s",
		    plugin_refusal(vm));
		return poststop(vm, AFTER_FAIL, ev);
	}
	if (!plugin_prestart_ok(vm))
		return prestart_refused(vm, ev);
	if (plugin_prestart_cancelled(vm, &after)) {
		log_info("vm %s: not started: stopped during prestart",
		    name(vm));
		return poststop(vm, after, ev);
	}
	return spawn(vm, ev, again ? AFTER_FAIL : AFTER_STOP);
}

static int
act_prestart_cancel(struct vm *vm, enum vm_event ev)
{
	plugin_prestart_cancel(vm, ev == VE_RELOAD_REMOVE ? AFTER_REMOVE :
	    ev == VE_RELOAD_RESTART ? AFTER_RESTART : AFTER_STOP);
	log_info("vm %s: %s while prestart runs: the VM will not start",
	    name(vm), vm_event_name(ev));
	return 0;
}

/* A reload while poststop plugins run changes what follows them. */
static int
act_poststop_retarget(struct vm *vm, enum vm_event ev)
{
	if (ev == VE_RELOAD_REMOVE)
		vm->vm_after = AFTER_REMOVE;
	else if (ev == VE_RELOAD_STOP && (vm->vm_after == AFTER_RESTART ||
	    vm->vm_after == AFTER_REMOVE))
		vm->vm_after = AFTER_STOP;
	else if (ev == VE_RELOAD_START || ev == VE_RELOAD_RESTART)
		vm->vm_after = AFTER_RESTART;
	return 0;
}

/* The guest rebooted inside the hypervisor: RUN again, for the plugins. */
static int
act_guest_reset(struct vm *vm, enum vm_event ev)
{
	set_state(vm, VS_RUN, ev);
	return 0;
}

static int
act_load_exited(struct vm *vm, enum vm_event ev)
{
	int st = vm->vm_run->rn_status;

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return act_spawn(vm, ev);
	log_warnx("vm %s: loader failed (status %d)", name(vm), st);
	why_set(vm, "loader", "the loader failed (wait status %d)", st);
	return poststop(vm, AFTER_STOP, ev);
}

/*
 * Spec 4.3, 4.4: boot = always restarts after any exit, and a guest
 * reboot that the hypervisor cannot do in place (bhyve's exit 0) starts
 * it again, loader first, unless the boot is oneshot; install never.
 */
static int
act_run_exited(struct vm *vm, enum vm_event ev)
{
	const struct vm_conf *vc = vm->vm_conf;
	int reboot = vm->vm_run->rn_reboot && vc->vc_boot != BOOT_ONESHOT;

	if (bmd.b_stopping || vm->vm_install || vc->vc_install ||
	    (vc->vc_boot != BOOT_ALWAYS && !reboot))
		return poststop(vm, AFTER_STOP, ev);
	if (!run_crash_ok(vm)) {
		log_warnx("vm %s: restarted %d times within %d s; giving up",
		    name(vm), CRASH_LIMIT, CRASH_WINDOW_SEC);
		why_set(vm, "crash-loop", "%s; restarted %d times within %d s, "
		    "not again", vm->vm_why_text, CRASH_LIMIT,
		    CRASH_WINDOW_SEC);
		return poststop(vm, AFTER_FAIL, ev);
	}
	if (reboot)
		log_info("vm %s: the guest rebooted: starting it again",
		    name(vm));
	else {
		log_info("vm %s: restarting (boot = always)", name(vm));
		vm->vm_restarts++;
	}
	/* adopted: bmd holds none of its resources (taps, lock): a new run */
	if (vm->vm_run->rn_adopted)
		return poststop(vm, AFTER_RESTART, ev);
	if (!owner_check_wanted(vm->vm_conf))
		return spawn(vm, ev, AFTER_FAIL);
	/*
	 * A user's paths are checked again (bhyve's disks locked again),
	 * as at a start and without waiting for it: PRESTART, though the
	 * plugins' prestart hooks do not run again.
	 */
	vm->vm_run->rn_again = 1;
	set_state(vm, VS_PRESTART, ev);
	plugin_prestart_again(vm);
	if (owner_check_begin(vm) > 0)
		return 0;
	return vm_event(vm, VE_PRESTART_DONE);
}

static int
act_stop_exited(struct vm *vm, enum vm_event ev)
{
	return poststop(vm, AFTER_STOP, ev);
}

static int
act_remove_exited(struct vm *vm, enum vm_event ev)
{
	return poststop(vm, AFTER_REMOVE, ev);
}

static int
act_restart_exited(struct vm *vm, enum vm_event ev)
{
	return poststop(vm, bmd.b_stopping ? AFTER_STOP : AFTER_RESTART, ev);
}

static int
act_failed_exited(struct vm *vm, enum vm_event ev)
{
	return poststop(vm, AFTER_FAIL, ev);
}

static int
act_poststop_done(struct vm *vm, enum vm_event ev)
{
	enum vm_after after = vm->vm_after;

	run_end(vm);
	vm_timer_cancel(vm);
	vm->vm_install = 0;
	switch (after) {
	case AFTER_REMOVE:
		set_state(vm, VS_TERMINATE, ev);
		log_info("vm %s: removed", name(vm));
		vm_delete(vm);
		break;
	case AFTER_RESTART:
		set_state(vm, VS_TERMINATE, ev);
		vm_schedule_boot(vm, vm_latest(vm)->vc_boot_delay);
		break;
	case AFTER_FAIL:
		set_state(vm, VS_FAILED, ev);
		break;
	case AFTER_STOP:
		set_state(vm, VS_TERMINATE, ev);
		break;
	}
	bmd_check_done();
	return 0;
}

/* ACPI power button, then stop_timeout, then quit, then SIGKILL. */
static int
act_acpi_stop(struct vm *vm, enum vm_event ev)
{
	if (ev != VE_STOP_REQ)	/* a request: dispatch said by whom */
		why_request(vm, ev, 0);
	if (vm->vm_run->rn_drv->d_powerdown(vm) == -1)
		log_warnx("vm %s: cannot press the power button; forcing "
		    "power off after %lld s", name(vm),
		    vm->vm_conf->vc_stop_timeout);
	vm_timer_set(vm, vm->vm_conf->vc_stop_timeout, VE_STOP_TIMEOUT);
	set_state(vm, stop_target(ev), ev);
	return 0;
}

/* A loader has no power button: end it at once. */
static int
act_load_stop(struct vm *vm, enum vm_event ev)
{
	run_kill(vm, SIGKILL);
	set_state(vm, stop_target(ev), ev);
	return 0;
}

static int
act_stop_timeout(struct vm *vm, enum vm_event ev)
{
	log_warnx("vm %s: still running %lld s after the power button; "
	    "forcing power off", name(vm), vm->vm_conf->vc_stop_timeout);
	why_forced(vm);
	force_off(vm);
	return 0;
}

static int
act_kill(struct vm *vm, enum vm_event ev)
{
	log_warnx("vm %s: still running after it was told to quit (or said "
	    "it shuts down); killing it", name(vm));
	run_kill(vm, SIGKILL);
	return 0;
}

/*
 * Forced power off: the driver's, else SIGKILL at once (QEMU's quit
 * would only add its clean-up to the wait).  A VM being removed stays
 * REMOVE (defect 11.7).
 */
static int
act_poweroff(struct vm *vm, enum vm_event ev)
{
	log_info("vm %s: power off", name(vm));
	if (vm->vm_run->rn_drv->d_poweroff != NULL)
		force_off(vm);
	else {
		run_kill(vm, SIGKILL);
		vm_timer_cancel(vm);
	}
	if (vm->vm_state != VS_STOP && vm->vm_state != VS_REMOVE)
		set_state(vm, VS_STOP, ev);
	return 0;
}

static int
act_failed_kill(struct vm *vm, enum vm_event ev)
{
	if (vm->vm_pid != 0)
		run_kill(vm, SIGKILL);
	return 0;
}

static int
act_reset(struct vm *vm, enum vm_event ev)
{
	log_info("vm %s: reset", name(vm));
	return vm->vm_run->rn_drv->d_reset(vm);
}

/*
 * The hypervisor reported that it shuts down: its exit follows at once.
 * One that hangs on its way out (seen: QEMU stuck after SHUTDOWN, its
 * monitor silent) is killed after a grace, so the VM never stays
 * UNRESPONSIVE for good; the reason it gave still names the stop.
 */
static int
act_note_shutdown(struct vm *vm, enum vm_event ev)
{
	/* QEMU says it once; a user's program may say it a thousand times */
	if (vm->vm_run->rn_shutdown_noted)
		return 0;
	vm->vm_run->rn_shutdown_noted = 1;
	log_info("vm %s: shutdown (%s)", name(vm), vm->vm_run->rn_reason ?
	    vm->vm_run->rn_reason : "unknown reason");
	if (!vm_timer_pending(vm, VE_KILL_TIMEOUT))
		vm_timer_set(vm, SHUTDOWN_GRACE_SEC, VE_KILL_TIMEOUT);
	return 0;
}

/* The hypervisor stopped the guest on an internal error: it is dead. */
static int
act_qmp_error(struct vm *vm, enum vm_event ev)
{
	log_warnx("vm %s: the hypervisor stopped on an internal error; "
	    "killing it", name(vm));
	why_request(vm, ev, 0);
	run_kill(vm, SIGKILL);
	vm_timer_cancel(vm);
	if (vm->vm_state != VS_REMOVE)
		set_state(vm, VS_FAILED, ev);
	return 0;
}

static int
act_to_stop(struct vm *vm, enum vm_event ev)
{
	set_state(vm, VS_STOP, ev);
	return 0;
}

static int
act_to_remove(struct vm *vm, enum vm_event ev)
{
	set_state(vm, VS_REMOVE, ev);
	return 0;
}

static int
act_to_restart(struct vm *vm, enum vm_event ev)
{
	set_state(vm, VS_RESTART, ev);
	return 0;
}

static int
act_cancel_timer(struct vm *vm, enum vm_event ev)
{
	vm_timer_cancel(vm);
	return 0;
}

/* A reload clears FAILED; yes and always VMs are started again. */
static int
act_retry(struct vm *vm, enum vm_event ev)
{
	int boot = vm_latest(vm)->vc_boot;

	if (vm->vm_pid != 0)
		return 0;
	set_state(vm, VS_TERMINATE, ev);
	if (boot == BOOT_YES || boot == BOOT_ALWAYS)
		vm_schedule_boot(vm, vm_latest(vm)->vc_boot_delay);
	return 0;
}

/* adopt.c rebuilt the run of a live process: it runs on. */
static int
act_adopt(struct vm *vm, enum vm_event ev)
{
	set_state(vm, VS_RUN, ev);
	vm->vm_run->rn_drv->d_open(vm);
	return 0;
}

static int
act_delete(struct vm *vm, enum vm_event ev)
{
	if (vm->vm_pid != 0)
		return act_to_remove(vm, ev);
	log_info("vm %s: removed (%s)", name(vm), vm_event_name(ev));
	vm_delete(vm);
	return 0;
}

/*
 * actions[state][event]; NULL: the event means nothing in that state.
 * PRESTART and POSTSTOP last until every plugin has answered.
 */
static const vm_action actions[VS_COUNT][VE_COUNT] = {
	[VS_TERMINATE] = {
		[VE_BOOT] = act_start,
		[VE_BOOT_TIMER] = act_start,
		[VE_RELOAD_START] = act_start,
		[VE_RELOAD_REMOVE] = act_delete,
		[VE_DAEMON_STOP] = act_cancel_timer,
		[VE_ADOPT] = act_adopt,
	},
	[VS_PRESTART] = {
		[VE_PRESTART_DONE] = act_prestart_done,
		[VE_STOP_REQ] = act_prestart_cancel,
		[VE_POWEROFF] = act_prestart_cancel,
		[VE_RELOAD_STOP] = act_prestart_cancel,
		[VE_RELOAD_RESTART] = act_prestart_cancel,
		[VE_RELOAD_REMOVE] = act_prestart_cancel,
		[VE_DAEMON_STOP] = act_prestart_cancel,
	},
	[VS_LOAD] = {
		[VE_EXIT] = act_load_exited,
		[VE_STOP_REQ] = act_load_stop,
		[VE_POWEROFF] = act_load_stop,
		[VE_RELOAD_STOP] = act_load_stop,
		[VE_RELOAD_RESTART] = act_load_stop,
		[VE_RELOAD_REMOVE] = act_load_stop,
		[VE_DAEMON_STOP] = act_load_stop,
	},
	[VS_RUN] = {
		[VE_EXIT] = act_run_exited,
		[VE_QMP_SHUTDOWN] = act_note_shutdown,
		[VE_QMP_ERROR] = act_qmp_error,
		[VE_GUEST_RESET] = act_guest_reset,
		[VE_KILL_TIMEOUT] = act_kill,
		[VE_STOP_REQ] = act_acpi_stop,
		[VE_POWEROFF] = act_poweroff,
		[VE_RESET] = act_reset,
		[VE_RELOAD_STOP] = act_acpi_stop,
		[VE_RELOAD_RESTART] = act_acpi_stop,
		[VE_RELOAD_REMOVE] = act_acpi_stop,
		[VE_DAEMON_STOP] = act_acpi_stop,
	},
	[VS_STOP] = {
		[VE_EXIT] = act_stop_exited,
		[VE_QMP_SHUTDOWN] = act_note_shutdown,
		[VE_QMP_ERROR] = act_qmp_error,
		[VE_POWEROFF] = act_poweroff,
		[VE_RESET] = act_reset,
		[VE_STOP_TIMEOUT] = act_stop_timeout,
		[VE_KILL_TIMEOUT] = act_kill,
		[VE_RELOAD_START] = act_to_restart,
		[VE_RELOAD_RESTART] = act_to_restart,
		[VE_RELOAD_REMOVE] = act_to_remove,
	},
	[VS_REMOVE] = {
		[VE_EXIT] = act_remove_exited,
		[VE_QMP_SHUTDOWN] = act_note_shutdown,
		[VE_QMP_ERROR] = act_qmp_error,
		[VE_POWEROFF] = act_poweroff,
		[VE_RESET] = act_reset,
		[VE_STOP_TIMEOUT] = act_stop_timeout,
		[VE_KILL_TIMEOUT] = act_kill,
		[VE_RELOAD_START] = act_to_restart,
		[VE_RELOAD_RESTART] = act_to_restart,
		[VE_RELOAD_STOP] = act_to_stop,
	},
	[VS_RESTART] = {
		[VE_EXIT] = act_restart_exited,
		[VE_QMP_SHUTDOWN] = act_note_shutdown,
		[VE_QMP_ERROR] = act_qmp_error,
		[VE_STOP_REQ] = act_to_stop,
		[VE_POWEROFF] = act_poweroff,
		[VE_RESET] = act_reset,
		[VE_STOP_TIMEOUT] = act_stop_timeout,
		[VE_KILL_TIMEOUT] = act_kill,
		[VE_RELOAD_STOP] = act_to_stop,
		[VE_RELOAD_REMOVE] = act_to_remove,
		[VE_DAEMON_STOP] = act_to_stop,
	},
	[VS_POSTSTOP] = {
		[VE_POSTSTOP_DONE] = act_poststop_done,
		[VE_RELOAD_START] = act_poststop_retarget,
		[VE_RELOAD_STOP] = act_poststop_retarget,
		[VE_RELOAD_RESTART] = act_poststop_retarget,
		[VE_RELOAD_REMOVE] = act_poststop_retarget,
	},
	[VS_FAILED] = {
		[VE_BOOT] = act_start,
		[VE_EXIT] = act_failed_exited,
		[VE_POWEROFF] = act_failed_kill,
		[VE_RELOAD_RETRY] = act_retry,
		[VE_RELOAD_START] = act_retry,
		[VE_RELOAD_REMOVE] = act_delete,
	},
};

/*
 * Post an event: 0 the table acted, -1 its action failed, VM_IGNORED the
 * event has no action in this state.  The VM may be deleted by the time
 * this returns (a removed VM's last exit): callers must not touch it
 * afterwards.
 */
int
vm_event(struct vm *vm, enum vm_event ev)
{
	vm_action a = actions[vm->vm_state][ev];

	if (a == NULL) {
		log_debug("vm %s: %s ignored in %s", name(vm),
		    vm_event_name(ev), vm_state_name(vm->vm_state));
		return VM_IGNORED;
	}
	return a(vm, ev) == -1 ? -1 : 0;
}
