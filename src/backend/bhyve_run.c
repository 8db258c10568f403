/*
 * The bhyve driver's runtime half: a null-modem pair per automatic serial
 * port, a fresh terminal for each loader (served by the console broker,
 * with grub's command typed at its prompt), loader_timeout, bhyve's exit
 * statuses, bhyvectl for reset and power-off, and the VM destroyed once
 * the run is over.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "inspect.h"
#include "log.h"
#include "xmalloc.h"

#define NCOMS		4
#define BHYVECTL_PATH	"/usr/sbin/bhyvectl"
#define MAX_UNIT_TRIES	1000
#define DESTROY_WAIT_MS	5000
/* edk2-bhyve's variable store template, below LOCALBASE */
#define BHYVE_VARS_TEMPLATE	"/share/uefi-firmware/BHYVE_UEFI_VARS.fd"

/* One end of a terminal pair: bmd's side and the side a program opens. */
struct tty_pair {
	int	 tp_fd;		/* bmd's side, -1: none */
	int	 tp_hold;	/* the program's side, held so ours never hangs up */
	int	 tp_unit;	/* the nmdm number where the OS numbers pairs */
	char	 tp_path[PATH_MAX];
};

struct bhyve_run {
	struct tty_pair	 br_com[NCOMS];	/* comN = auto */
	struct tty_pair	 br_loader;	/* the loader's terminal */
	struct event	*br_timer;	/* loader_timeout */
	char		*br_grub;	/* typed at grub's prompt, or NULL */
	int		 br_spawned;	/* a loader or bhyve ran: destroy */
};

static void
pair_close(struct tty_pair *tp)
{
	if (tp->tp_fd != -1)
		close(tp->tp_fd);
	if (tp->tp_hold != -1)
		close(tp->tp_hold);
	tp->tp_fd = tp->tp_hold = tp->tp_unit = -1;
	tp->tp_path[0] = '\0';
}

static int
pair_hold(struct tty_pair *tp)
{
	tp->tp_hold = open(tp->tp_path, O_RDWR | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC);
	return tp->tp_hold == -1 ? -1 : 0;
}

/* Is nmdm number unit already a port of a running bhyve VM? */
static int
unit_taken(int unit)
{
	struct bhyve_run *br;
	struct vm *vm;
	size_t i;
	int c;

	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		if (vm->vm_run == NULL || (br = vm->vm_run->rn_bhyve) == NULL)
			continue;
		for (c = 0; c < NCOMS; c++)
			if (br->br_com[c].tp_unit == unit)
				return 1;
	}
	return 0;
}

/*
 * A pair for an automatic port: the lowest number from nmdm_offset up
 * that no VM of bmd uses and that is free on the host, so that numbers
 * are reused once free and never shared.
 */
static int
com_open(struct vm *vm, int c, struct tty_pair *tp)
{
	long long unit = bmd.b_nmdm_offset;
	int n;

	for (n = 0; n < MAX_UNIT_TRIES && unit < INT_MAX; n++, unit++) {
		if (unit_taken((int)unit))
			continue;
		tp->tp_fd = plat_nullmodem_open((int)unit, tp->tp_path,
		    sizeof(tp->tp_path));
		if (tp->tp_fd == -1 && errno == EBUSY)
			continue;
		if (tp->tp_fd == -1 || pair_hold(tp) == -1)
			return run_fail(vm, "com%d: no null-modem pair: %s",
			    c + 1, strerror(errno));
		/* the owner may also use it directly (cu -l), as before */
		if (vm->vm_conf->vc_owner != 0 && plat_nullmodem_give(tp->tp_fd,
		    vm->vm_conf->vc_owner, vm->vm_conf->vc_group) == -1)
			return run_fail(vm, "com%d: cannot give the host side of "
			    "the null-modem pair to the VM's owner: %s", c + 1,
			    strerror(errno));
		tp->tp_unit = (int)unit;
		return 0;
	}
	return run_fail(vm, "com%d: every null-modem pair from %lld is busy",
	    c + 1, bmd.b_nmdm_offset);
}

static struct bhyve_run *
br_of(const struct vm *vm)
{
	return vm->vm_run != NULL ? vm->vm_run->rn_bhyve : NULL;
}

static struct bhyve_run *
br_new(struct vm *vm)
{
	struct bhyve_run *br = xcalloc(1, sizeof(*br));
	int c;

	for (c = 0; c < NCOMS; c++) {
		br->br_com[c].tp_fd = br->br_com[c].tp_hold = -1;
		br->br_com[c].tp_unit = -1;
	}
	br->br_loader.tp_fd = br->br_loader.tp_hold = br->br_loader.tp_unit = -1;
	vm->vm_run->rn_bhyve = br;
	return br;
}

/* Once per start: may bhyve run here, and the serial ports. */
static int
bhyve_begin(struct vm *vm)
{
	const struct vm_conf *vc = vm->vm_conf;
	struct bhyve_run *br;
	int c;

	if (!plat_bhyve_native() && bmd.b_bhyve_prog[0] == NULL)
		return run_fail(vm, "bhyve runs only on FreeBSD: on this host "
		    "the bhyve backend needs the global key bhyve_program (a "
		    "program that takes bhyve(8)'s command line)");
	br = br_new(vm);
	/* bhyve takes a variables file from FreeBSD 14 on (bhyve.c) */
	if (vc->vc_loader != NULL && strcmp(vc->vc_loader, "uefi") == 0 &&
	    bmd.b_freebsd_version >= 1400000)
		runtime_uefi_vars(vm, LOCALBASE BHYVE_VARS_TEMPLATE);
	for (c = 0; c < NCOMS; c++)
		if (vc->vc_com[c].cm_kind == COM_AUTO &&
		    com_open(vm, c, &br->br_com[c]) == -1)
			return -1;
	return 0;
}

/* A fresh terminal for this start's loader (spec 4.6). */
static void
loader_tty(struct vm *vm, struct bhyve_run *br)
{
	struct tty_pair *tp = &br->br_loader;

	pair_close(tp);
	tp->tp_fd = plat_nullmodem_open(-1, tp->tp_path, sizeof(tp->tp_path));
	if (tp->tp_fd == -1 || pair_hold(tp) == -1) {
		log_warn("vm %s: the loader's terminal", vm->vm_conf->vc_name);
		pair_close(tp);
	}
}

/*
 * What is typed at grub's first prompt at this start: the command, then
 * "boot"; auto is what the ISO (install) or the disk holds now, read
 * again at each start (a sysupgrade leaves /bsd.upgrade for one boot).
 */
static int
grub_text(struct vm *vm, struct bhyve_run *br)
{
	const struct vm_conf *vc = vm->vm_conf;
	int install = vm->vm_install || vc->vc_install;
	const char *cmd = install ? vc->vc_installcmd : vc->vc_loadcmd;
	char err[512], *found;

	free(br->br_grub);
	br->br_grub = NULL;
	if (vc->vc_loader == NULL || strcmp(vc->vc_loader, "grub") != 0 ||
	    cmd == NULL)
		return 0;
	if (strcasecmp(cmd, "auto") != 0) {
		br->br_grub = inspect_grub_text(cmd, vc->vc_single_user);
		return 0;
	}
	found = install ? inspect_installcmd(vc, err, sizeof(err)) :
	    inspect_loadcmd(vc, err, sizeof(err));
	if (found == NULL)
		return run_fail(vm, "%s = auto: %s", install ? "installcmd" :
		    "loadcmd", err);
	log_info("vm %s: %s = auto: %s", vc->vc_name, install ?
	    "installcmd" : "loadcmd", found);
	br->br_grub = inspect_grub_text(found, vc->vc_single_user);
	free(found);
	return 0;
}

static int
bhyve_params(struct vm *vm, struct be_params *bp)
{
	struct bhyve_run *br = br_of(vm);
	int c;

	bp->bp_bhyve_prog = bmd.b_bhyve_prog[0];
	bp->bp_bhyvectl_prog = bmd.b_bhyve_prog[1];
	bp->bp_bhyveload_prog = bmd.b_bhyve_prog[2];
	bp->bp_grub_prog = bmd.b_bhyve_prog[3];
	if (br == NULL)
		return 0;
	for (c = 0; c < NCOMS; c++)
		if (br->br_com[c].tp_fd != -1)
			bp->bp_com[c] = br->br_com[c].tp_path;
	loader_tty(vm, br);
	if (br->br_loader.tp_fd != -1)
		bp->bp_loader_tty = br->br_loader.tp_path;
	return grub_text(vm, br);
}

static int
loading(const struct vm *vm)
{
	return vm->vm_run->rn_nextproc < vm->vm_run->rn_cmd.cl_nprocs;
}

static void
loader_timeout(int fd, short what, void *arg)
{
	struct vm *vm = arg;

	if (vm->vm_state != VS_LOAD || vm->vm_pid <= 0)
		return;
	log_warnx("vm %s: the loader did not finish within %lld s; killed",
	    vm->vm_conf->vc_name, vm->vm_conf->vc_loader_timeout);
	run_kill(vm, SIGKILL);
}

static void
loader_started(struct vm *vm, struct bhyve_run *br)
{
	const struct vm_conf *vc = vm->vm_conf;
	struct timeval tv = { 0, 0 };

	console_open(vm);
	if (br->br_grub != NULL)
		console_expect(vm, 0, "grub> ", br->br_grub);
	if (vc->vc_loader_timeout <= 0)
		return;
	if (br->br_timer == NULL)
		br->br_timer = evtimer_new(bmd.b_base, loader_timeout, vm);
	tv.tv_sec = (time_t)vc->vc_loader_timeout;
	evtimer_add(br->br_timer, &tv);
}

/* After each spawn: a loader's terminal, then bhyve's ports. */
static void
bhyve_open(struct vm *vm)
{
	struct bhyve_run *br = br_of(vm);

	if (br == NULL)
		return;
	br->br_spawned = 1;
	if (loading(vm)) {
		loader_started(vm, br);
		return;
	}
	if (br->br_timer != NULL)
		evtimer_del(br->br_timer);
	console_expect(vm, 0, NULL, NULL);
	console_open(vm);	/* com1 leaves the loader's terminal */
	pair_close(&br->br_loader);
}

static void
bhyve_close(struct vm *vm)
{
	console_close(vm);
}

static void
bhyvectl_done(pid_t pid, int st, void *arg)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		log_debug("bhyvectl (pid %d): wait status %d", (int)pid, st);
}

/*
 * Wait (at most DESTROY_WAIT_MS) for a bhyvectl --destroy: the VM must
 * be gone from the kernel before a new start of the same name, and
 * before bmd itself exits.
 */
static void
bhyvectl_wait(const struct vm *vm, pid_t pid)
{
	struct timespec ts = { 0, 10 * 1000000L };
	int st, n;

	for (n = 0; n < DESTROY_WAIT_MS / 10; n++) {
		if (waitpid(pid, &st, WNOHANG) != 0)
			return;
		nanosleep(&ts, NULL);
	}
	log_warnx("vm %s: bhyvectl --destroy did not finish within %d ms; "
	    "killed", vm->vm_conf->vc_name, DESTROY_WAIT_MS);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
}

/* A bhyvectl(8) call; only --destroy is waited for. */
static int
bhyvectl(const struct vm *vm, const char *op)
{
	struct proc_cmd pc;
	const char *prog = bmd.b_bhyve_prog[1] != NULL ? bmd.b_bhyve_prog[1] :
	    BHYVECTL_PATH;
	pid_t pid;

	memset(&pc, 0, sizeof(pc));
	pc.pc_path = xstrdup(prog);
	argv_init(&pc.pc_argv);
	argv_init(&pc.pc_env);
	argv_add(&pc.pc_argv, "bhyvectl");
	argv_addf(&pc.pc_argv, "--vm=%s", vm->vm_conf->vc_name);
	argv_add(&pc.pc_argv, op);
	pid = proc_spawn(&pc, -1);
	if (pid == -1)
		log_warnx("vm %s: cannot run %s %s", vm->vm_conf->vc_name, prog,
		    op);
	else if (strcmp(op, "--destroy") == 0)
		bhyvectl_wait(vm, pid);
	else
		proc_watch(pid, bhyvectl_done, NULL);
	free(pc.pc_path);
	argv_free(&pc.pc_argv);
	argv_free(&pc.pc_env);
	return pid == -1 ? -1 : 0;
}

/* The run is over: its pairs, its terminal, and the VM in the kernel. */
static void
bhyve_end(struct vm *vm)
{
	struct bhyve_run *br = br_of(vm);
	int c;

	if (br == NULL)
		return;
	console_expect(vm, 0, NULL, NULL);
	for (c = 0; c < NCOMS; c++)
		pair_close(&br->br_com[c]);
	pair_close(&br->br_loader);
	if (br->br_timer != NULL)
		event_free(br->br_timer);
	if (br->br_spawned)
		(void)bhyvectl(vm, "--destroy");
	free(br->br_grub);
	free(br);
	vm->vm_run->rn_bhyve = NULL;
}

/* SIGTERM is bhyve's ACPI power button. */
static int
bhyve_powerdown(struct vm *vm)
{
	run_kill(vm, SIGTERM);
	return 0;
}

static int
bhyve_quit(struct vm *vm)
{
	return bhyvectl(vm, "--force-poweroff");
}

static int
bhyve_reset(struct vm *vm)
{
	return bhyvectl(vm, "--force-reset");
}

/* The runtime record keeps each automatic port's pair number. */
static json_t *
bhyve_record(const struct vm *vm)
{
	const struct bhyve_run *br = br_of(vm);
	json_t *units = json_array();
	int c;

	for (c = 0; c < NCOMS; c++)
		json_array_append_new(units, json_integer(br != NULL ?
		    br->br_com[c].tp_unit : -1));
	return json_pack("{s:o}", "nmdm", units);
}

/* bmd's side of a pair whose other side the adopted bhyve still holds. */
static void
com_reopen(struct vm *vm, int c, struct tty_pair *tp, json_int_t unit)
{
	const char *name = vm->vm_conf->vc_name;

	if (unit < 0 || unit > INT_MAX)
		return;
	tp->tp_unit = (int)unit;	/* taken, whatever happens next */
	tp->tp_fd = plat_nullmodem_reopen((int)unit, tp->tp_path,
	    sizeof(tp->tp_path));
	if (tp->tp_fd != -1 && pair_hold(tp) == 0) {
		log_info("vm %s: com%d: null-modem pair %d served again", name,
		    c + 1, (int)unit);
		return;
	}
	if (errno == ENOTSUP)
		log_info("vm %s: com%d: null-modem pair %d: its host side went "
		    "with the earlier bmd on this system; served again from "
		    "the VM's next start", name, c + 1, (int)unit);
	else
		log_warnx("vm %s: com%d: null-modem pair %d: %s; served again "
		    "from the VM's next start", name, c + 1, (int)unit,
		    strerror(errno));
	if (tp->tp_fd != -1)
		close(tp->tp_fd);
	tp->tp_fd = -1;
}

/*
 * The record proved the process; bhyve has no monitor to ask.  Its
 * automatic ports are the pairs the record names, still held by bhyve on
 * FreeBSD: the broker serves them again (d_open, after this).
 */
static int
bhyve_adopt(struct vm *vm, json_t *drv)
{
	struct bhyve_run *br = br_new(vm);
	json_t *units = json_object_get(drv, "nmdm");
	int c;

	br->br_spawned = 1;	/* destroyed when it exits */
	for (c = 0; c < NCOMS; c++)
		if (vm->vm_conf->vc_com[c].cm_kind == COM_AUTO &&
		    json_is_integer(json_array_get(units, (size_t)c)))
			com_reopen(vm, c, &br->br_com[c], json_integer_value(
			    json_array_get(units, (size_t)c)));
	return 0;
}

static void
bhyve_probe(struct vm *vm)
{
}

/*
 * bhyve(8)'s exit statuses: 0 rebooted (or reset), 1 powered off, 2
 * halted, 3 triple fault, 4 error.  A reboot is started again in place,
 * loader first.
 */
static int
bhyve_exited(struct vm *vm, int st)
{
	/* adopted, the status unknown: a reset asked for is one */
	if (st == PROC_STATUS_UNKNOWN && vm->vm_intent == VE_RESET) {
		why_set(vm, "reset", "reset by %s", why_who(vm));
		return 1;
	}
	if (st == PROC_STATUS_UNKNOWN || !WIFEXITED(st))
		return -1;
	switch (WEXITSTATUS(st)) {
	case 0:
		if (vm->vm_intent == VE_RESET)
			why_set(vm, "reset", "reset by %s", why_who(vm));
		else
			why_set(vm, "guest-reboot", "the guest rebooted");
		return 1;
	case 1:
		if (vm->vm_intent != VE_COUNT)
			return -1;	/* what was asked: why.c says */
		why_set(vm, "guest-poweroff", "the guest powered off");
		return 0;
	case 2:
		why_set(vm, "halt", "the guest halted");
		return 0;
	case 3:
		why_set(vm, "triple-fault", "the guest triple-faulted");
		return 0;
	case 4:
		why_set(vm, "failed", "bhyve exited on an error (status 4)");
		return 0;
	}
	return -1;
}

/* Automatic ports go through the broker; a device given is the user's. */
static const char *
bhyve_com_unmanaged(const struct vm_conf *vc, int i)
{
	const struct conf_com *cm = &vc->vc_com[i < 4 ? i : 0];

	if (i >= 4)	/* bhyve binds the sockets virt_console_template names */
		return "bhyve's virtio consoles are sockets of "
		    "virt_console_template, not held by bmd";
	if (cm->cm_kind == COM_NONE)
		return "not configured";
	return cm->cm_kind == COM_AUTO ? NULL : cm->cm_text;
}

static int
bhyve_com_endpoint(struct vm *vm, int i, char **path, int *fd)
{
	struct bhyve_run *br = br_of(vm);

	*path = NULL;
	*fd = -1;
	if (br == NULL)
		return -1;
	if (i == 0 && loading(vm) && br->br_loader.tp_fd != -1)
		*fd = br->br_loader.tp_fd;
	else
		*fd = br->br_com[i].tp_fd;
	return *fd == -1 ? -1 : 0;
}

/* bhyve opens its taps by name: bmd must not hold them (net.c). */
static int
bhyve_prepare(struct vm *vm)
{
	net_release(vm);
	return 0;
}

const struct vm_driver drv_bhyve = {
	.d_name = "bhyve",
	.d_begin = bhyve_begin,
	.d_params = bhyve_params,
	.d_prepare = bhyve_prepare,
	.d_open = bhyve_open,
	.d_close = bhyve_close,
	.d_end = bhyve_end,
	.d_powerdown = bhyve_powerdown,
	.d_quit = bhyve_quit,
	.d_poweroff = bhyve_quit,
	.d_reset = bhyve_reset,
	.d_adopt = bhyve_adopt,
	.d_record = bhyve_record,
	.d_probe = bhyve_probe,
	.d_exited = bhyve_exited,
	.d_com_unmanaged = bhyve_com_unmanaged,
	.d_com_endpoint = bhyve_com_endpoint,
};
