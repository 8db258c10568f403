/*
 * Unit tests for the VM life cycle (src/bmd/fsm.c): the state x event
 * table driven with a stubbed runtime, so that every transition and
 * every ignored event is checked without a hypervisor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The table itself, with the runtime below standing in for run.c & co. */
#include "../../src/bmd/fsm.c"
#include "intern.h"
#include "keys.h"

struct bmd bmd;

/* What the stubs saw. */
static struct {
	int		 begin_fails;
	int		 spawned;
	int		 ended;
	int		 killed_sig;
	int		 crash_ok;
	int		 deleted;
	int		 scheduled;
	long long	 timer_sec;
	enum vm_event	 timer_ev;
	int		 powerdowns, quits, resets, opens;
	int		 records;
	int		 failed;	/* run_fail */
} seen;

static int
drv_ok(struct vm *vm)
{
	return 0;
}

static int
drv_powerdown(struct vm *vm)
{
	seen.powerdowns++;
	return 0;
}

static int
drv_quit(struct vm *vm)
{
	seen.quits++;
	return 0;
}

static int
drv_reset(struct vm *vm)
{
	seen.resets++;
	return 0;
}

static int
drv_adopt(struct vm *vm, json_t *drv)
{
	(void)drv;
	return drv_ok(vm);
}

static void
drv_open(struct vm *vm)
{
	seen.opens++;
}

static void
drv_nop(struct vm *vm)
{
}

static const struct vm_driver stub_driver = {
	.d_name = "stub",
	.d_prepare = drv_ok,
	.d_open = drv_open,
	.d_close = drv_nop,
	.d_powerdown = drv_powerdown,
	.d_quit = drv_quit,
	.d_reset = drv_reset,
	.d_adopt = drv_adopt,
	.d_probe = drv_nop,
};

static struct vm_run *
new_run(void)
{
	struct vm_run *rn = calloc(1, sizeof(*rn));

	rn->rn_drv = &stub_driver;
	rn->rn_cmd.cl_nprocs = 1;
	return rn;
}

int
run_begin(struct vm *vm)
{
	if (seen.begin_fails)
		return -1;
	vm->vm_run = new_run();
	return 0;
}

int
run_spawn_next(struct vm *vm)
{
	seen.spawned++;
	vm->vm_pid = 1000 + seen.spawned;
	vm->vm_run->rn_nextproc = 1;
	return 0;
}

void
run_end(struct vm *vm)
{
	seen.ended++;
	free(vm->vm_run);
	vm->vm_run = NULL;
	vm->vm_pid = 0;
}

int
run_crash_ok(struct vm *vm)
{
	return seen.crash_ok;
}

void
run_kill(struct vm *vm, int sig)
{
	seen.killed_sig = sig;
}

void
vm_timer_set(struct vm *vm, long long sec, enum vm_event ev)
{
	seen.timer_sec = sec;
	seen.timer_ev = ev;
}

void
vm_timer_cancel(struct vm *vm)
{
	seen.timer_ev = VE_COUNT;
}

int
vm_timer_pending(const struct vm *vm, enum vm_event ev)
{
	return seen.timer_ev == ev;
}

void
vm_schedule_boot(struct vm *vm, long long delay)
{
	seen.scheduled++;
}

void
vm_delete(struct vm *vm)
{
	seen.deleted++;
}

const struct vm_conf *
vm_latest(const struct vm *vm)
{
	return vm->vm_pending != NULL ? vm->vm_pending : vm->vm_conf;
}

const char *
vm_state_name(enum vm_state s)
{
	static const char *const names[VS_COUNT] = { "TERMINATE", "PRESTART",
	    "LOAD", "RUN", "STOP", "REMOVE", "RESTART", "POSTSTOP", "FAILED" };

	return s < VS_COUNT ? names[s] : "?";
}

void
bmd_check_done(void)
{
}

/* The VM whose run holds this one's disk (vm.c), as a test sets it. */
static struct vm *holder;

struct vm *
vm_holder(const struct vm *vm, char *what, size_t len)
{
	snprintf(what, len, "disk /d.img");
	return holder;
}

/*
 * vm.c's, less the hooks and the disks: a removal in prestart and two
 * VMs swapping disks are tested end to end
 */
int
vm_leaving(const struct vm *vm)
{
	return vm->vm_state == VS_REMOVE || (vm->vm_state == VS_POSTSTOP &&
	    vm->vm_after == AFTER_REMOVE);
}

int
vm_releasing(const struct vm *vm, const struct vm *wants)
{
	(void)wants;
	return vm_leaving(vm);
}

int
run_fail(const struct vm *vm, const char *fmt, ...)
{
	seen.failed++;
	return -1;
}

int
runrec_update(struct vm *vm)
{
	seen.records++;
	return 0;
}

void
why_request(struct vm *vm, enum vm_event ev, uid_t uid)
{
	vm->vm_intent = ev;
}

void
why_forced(struct vm *vm)
{
	vm->vm_forced = 1;
}

void
why_set(struct vm *vm, const char *code, const char *fmt, ...)
{
	vm->vm_why_code = code;
}

/* No plugins: prestart and poststop decide at once. */
void
plugin_status_change(struct vm *vm, enum vm_state from, enum vm_state to)
{
}

void
events_state(const struct vm *vm, enum vm_state from, enum vm_event ev)
{
}

int
plugin_prestart(struct vm *vm)
{
	return 0;
}

/* the VMs here are root's QEMU VMs: nothing to check or lock */
int
owner_check_wanted(const struct vm_conf *vc)
{
	return 0;
}

int
owner_check_begin(struct vm *vm)
{
	return 0;
}

void
plugin_prestart_again(struct vm *vm)
{
}

int
plugin_prestart_ok(const struct vm *vm)
{
	return 1;
}

const char *
plugin_refusal(const struct vm *vm)
{
	return NULL;
}

void
plugin_prestart_cancel(struct vm *vm, enum vm_after after)
{
}

int
plugin_prestart_cancelled(const struct vm *vm, enum vm_after *after)
{
	return 0;
}

int
plugin_poststop(struct vm *vm)
{
	return 0;
}

static struct vm *
new_vm(int boot)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	vm->vm_conf = vm_conf_new();
	vm->vm_conf->vc_name = intern("t");
	vm->vm_conf->vc_boot = boot;
	vm->vm_conf->vc_stop_timeout = 7;
	vm->vm_state = VS_TERMINATE;
	vm->vm_intent = VE_COUNT;
	return vm;
}

static void
free_vm(struct vm *vm)
{
	free(vm->vm_run);
	vm_conf_free(vm->vm_conf);
	free(vm);
}

static int
setup(void **state)
{
	memset(&seen, 0, sizeof(seen));
	seen.crash_ok = 1;
	*state = new_vm(BOOT_YES);
	return 0;
}

static int
teardown(void **state)
{
	free_vm(*state);
	return 0;
}

static void
test_boot_runs(void **state)
{
	struct vm *vm = *state;

	assert_int_equal(vm_event(vm, VE_BOOT), 0);
	assert_int_equal(vm->vm_state, VS_RUN);
	assert_int_equal(seen.spawned, 1);
	assert_int_equal(vm->vm_pid, 1001);
	assert_true(seen.records > 0);
}

/*
 * Another VM's run holds the disk: a boot of bmd's own waits (the timer
 * tries again in a second) while that VM is being removed; a user's boot,
 * or one against a VM that stays, is refused.  Nothing is started.
 */
static void
test_held_disk_waits_or_is_refused(void **state)
{
	struct vm *vm = *state, *o = new_vm(BOOT_YES);

	holder = o;
	o->vm_state = VS_REMOVE;
	assert_int_equal(vm_event(vm, VE_BOOT_TIMER), 0);
	assert_int_equal(vm->vm_state, VS_TERMINATE);
	assert_int_equal(seen.timer_ev, VE_BOOT_TIMER);
	assert_int_equal(seen.timer_sec, 1);
	assert_int_equal(seen.failed, 0);
	assert_int_equal(vm_event(vm, VE_BOOT), -1);
	assert_int_equal(seen.failed, 1);
	o->vm_state = VS_RUN;
	assert_int_equal(vm_event(vm, VE_BOOT_TIMER), -1);
	assert_int_equal(seen.failed, 2);
	assert_int_equal(seen.spawned, 0);
	assert_int_equal(vm->vm_state, VS_TERMINATE);
	/* once it has gone, the next try starts the VM */
	holder = NULL;
	assert_int_equal(vm_event(vm, VE_BOOT_TIMER), 0);
	assert_int_equal(vm->vm_state, VS_RUN);
	free_vm(o);
}

static void
test_failed_begin_stays_stopped(void **state)
{
	struct vm *vm = *state;

	seen.begin_fails = 1;
	assert_int_equal(vm_event(vm, VE_BOOT), -1);
	assert_int_equal(vm->vm_state, VS_TERMINATE);
	assert_int_equal(seen.spawned, 0);
}

/* ACPI, then stop_timeout, then quit, then SIGKILL; the exit ends it. */
static void
test_stop_ladder(void **state)
{
	struct vm *vm = *state;

	vm_event(vm, VE_BOOT);
	vm_event(vm, VE_STOP_REQ);
	assert_int_equal(vm->vm_state, VS_STOP);
	assert_int_equal(seen.powerdowns, 1);
	assert_int_equal(seen.timer_sec, 7);
	assert_int_equal(seen.timer_ev, VE_STOP_TIMEOUT);
	vm_event(vm, VE_STOP_TIMEOUT);
	assert_true(vm->vm_forced);
	assert_int_equal(seen.quits, 1);
	assert_int_equal(seen.timer_ev, VE_KILL_TIMEOUT);
	vm_event(vm, VE_KILL_TIMEOUT);
	assert_int_equal(seen.killed_sig, SIGKILL);
	vm->vm_pid = 0;
	vm_event(vm, VE_EXIT);
	assert_int_equal(vm->vm_state, VS_TERMINATE);
	assert_int_equal(seen.ended, 1);
}

static void
test_always_restarts_then_fails(void **state)
{
	struct vm *vm = *state;

	vm->vm_conf->vc_boot = BOOT_ALWAYS;
	vm_event(vm, VE_BOOT);
	vm->vm_pid = 0;
	vm_event(vm, VE_EXIT);
	assert_int_equal(vm->vm_state, VS_RUN);
	assert_int_equal(seen.spawned, 2);
	assert_int_equal(vm->vm_restarts, 1);
	seen.crash_ok = 0;
	vm->vm_pid = 0;
	vm_event(vm, VE_EXIT);
	assert_int_equal(vm->vm_state, VS_FAILED);
	assert_string_equal(vm->vm_why_code, "crash-loop");
	/* boot clears FAILED */
	assert_int_equal(vm_event(vm, VE_BOOT), 0);
	assert_int_equal(vm->vm_state, VS_RUN);
}

static void
test_yes_exit_stops(void **state)
{
	struct vm *vm = *state;

	vm_event(vm, VE_BOOT);
	vm->vm_pid = 0;
	vm_event(vm, VE_EXIT);
	assert_int_equal(vm->vm_state, VS_TERMINATE);
	assert_int_equal(seen.spawned, 1);
}

static void
test_poweroff_and_reset(void **state)
{
	struct vm *vm = *state;

	vm_event(vm, VE_BOOT);
	vm_event(vm, VE_RESET);
	assert_int_equal(seen.resets, 1);
	assert_int_equal(vm->vm_state, VS_RUN);
	vm_event(vm, VE_POWEROFF);
	assert_int_equal(vm->vm_state, VS_STOP);
	/* no d_poweroff: a power cut, SIGKILL at once, no quit first */
	assert_int_equal(seen.killed_sig, SIGKILL);
	assert_int_equal(seen.quits, 0);
	assert_int_equal(seen.powerdowns, 0);
}

/* A driver with its own power off (bhyvectl) is asked, then timed. */
static void
test_poweroff_by_the_driver(void **state)
{
	struct vm_driver d = stub_driver;
	struct vm *vm = *state;

	d.d_poweroff = drv_quit;
	vm_event(vm, VE_BOOT);
	vm->vm_run->rn_drv = &d;
	vm_event(vm, VE_POWEROFF);
	assert_int_equal(vm->vm_state, VS_STOP);
	assert_int_equal(seen.quits, 1);
	assert_int_equal(seen.killed_sig, 0);
	assert_int_equal(seen.timer_ev, VE_KILL_TIMEOUT);
	vm->vm_run->rn_drv = &stub_driver;
}

static void
test_reload_remove(void **state)
{
	struct vm *vm = *state;

	vm_event(vm, VE_RELOAD_REMOVE);
	assert_int_equal(seen.deleted, 1);
}

static void
test_reload_remove_running_then_deleted_on_exit(void **state)
{
	struct vm *vm = *state;

	vm_event(vm, VE_BOOT);
	vm_event(vm, VE_RELOAD_REMOVE);
	assert_int_equal(vm->vm_state, VS_REMOVE);
	assert_int_equal(vm->vm_intent, VE_RELOAD_REMOVE);
	vm->vm_pid = 0;
	vm_event(vm, VE_EXIT);
	assert_int_equal(seen.deleted, 1);
}

/* A hypervisor that reported its shutdown must exit: killed if it hangs. */
static void
test_shutdown_reported_then_hung_is_killed(void **state)
{
	struct vm *vm = *state;

	vm->vm_run = new_run();
	vm->vm_pid = 4242;
	vm->vm_state = VS_RUN;
	seen.timer_ev = VE_COUNT;
	assert_int_equal(vm_event(vm, VE_QMP_SHUTDOWN), 0);
	assert_int_equal(seen.timer_ev, VE_KILL_TIMEOUT);
	assert_int_equal(seen.timer_sec, SHUTDOWN_GRACE_SEC);
	assert_int_equal(vm_event(vm, VE_KILL_TIMEOUT), 0);
	assert_int_equal(seen.killed_sig, SIGKILL);
	/* a quit's shorter grace is left as it is */
	vm->vm_state = VS_STOP;
	seen.timer_sec = QUIT_GRACE_SEC;
	assert_int_equal(vm_event(vm, VE_QMP_SHUTDOWN), 0);
	assert_int_equal(seen.timer_sec, QUIT_GRACE_SEC);
}

static void
test_adopt_runs_without_spawning(void **state)
{
	struct vm *vm = *state;

	vm->vm_run = new_run();
	vm->vm_pid = 4242;
	assert_int_equal(vm_event(vm, VE_ADOPT), 0);
	assert_int_equal(vm->vm_state, VS_RUN);
	assert_int_equal(seen.spawned, 0);
	assert_int_equal(seen.opens, 1);
	/* adoption means nothing once the VM runs, and says so */
	assert_int_equal(vm_event(vm, VE_ADOPT), VM_IGNORED);
	assert_int_equal(seen.opens, 1);
}

/* An event without an action changes nothing, in every state. */
static void
test_unhandled_events_change_nothing(void **state)
{
	struct vm *vm = *state;
	int s, e;

	for (s = 0; s < VS_COUNT; s++)
		for (e = 0; e < VE_COUNT; e++) {
			if (actions[s][e] != NULL)
				continue;
			vm->vm_state = (enum vm_state)s;
			memset(&seen, 0, sizeof(seen));
			assert_int_equal(vm_event(vm, (enum vm_event)e),
			    VM_IGNORED);
			assert_int_equal(vm->vm_state, s);
			assert_int_equal(seen.spawned + seen.ended +
			    seen.killed_sig + seen.deleted + seen.powerdowns +
			    seen.quits + seen.resets, 0);
		}
	vm->vm_state = VS_TERMINATE;
}

/* Every event has a name (the log shows them). */
static void
test_event_names(void **state)
{
	int e;

	for (e = 0; e < VE_COUNT; e++)
		assert_non_null(event_names[e]);
	assert_string_equal(vm_event_name(VE_COUNT), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_boot_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_begin_stays_stopped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_disk_waits_or_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_ladder, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_always_restarts_then_fails,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_yes_exit_stops, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_poweroff_and_reset, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_poweroff_by_the_driver,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_remove, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_reload_remove_running_then_deleted_on_exit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_shutdown_reported_then_hung_is_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_adopt_runs_without_spawning,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unhandled_events_change_nothing, setup, teardown),
		cmocka_unit_test(test_event_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
