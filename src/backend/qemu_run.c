/*
 * The QEMU driver's runtime half: its sockets and UEFI variables before a
 * start, QMP to ask it to act, its console sockets for the broker, the
 * QMP reason of an exit, and re-adoption by its QMP socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bmd.h"
#include "helper.h"
#include "log.h"
#include "qmp.h"
#include "qemu.h"
#include "qemu_fds.h"
#include "xmalloc.h"

#define OVMF_VARS_TEMPLATE	"/usr/share/OVMF/OVMF_VARS_4M.fd"
/* How long a QEMU found at start-up has to say which VM it runs. */
#define ADOPT_QMP_MS		2000

/* ---- QEMU: QMP ---- */

static void
unlink_quiet(char *path)
{
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("%s: unlink %s", __func__, path);
	free(path);
}

/* The sockets QEMU creates in the run directory for this VM. */
static void
qemu_unlink_sockets(const struct vm_conf *vc)
{
	long long i, n = vc->vc_vconsole_nc * vc->vc_vconsole_np;
	int c;

	unlink_quiet(qemu_qmp_path(bmd.b_run_dir, vc->vc_name));
	for (c = 0; c < 4; c++)
		if (vc->vc_com[c].cm_kind == COM_AUTO)
			unlink_quiet(qemu_com_path(bmd.b_run_dir, vc->vc_name,
			    c));
	for (i = 0; i < n; i++)
		unlink_quiet(qemu_vc_path(bmd.b_run_dir, vc->vc_name, i));
}

/* UEFI: a per-VM copy of the variable store (OVMF's). */
static void
qemu_uefi_vars(const struct vm *vm)
{
	const char *ld = vm->vm_conf->vc_loader;

	if (ld != NULL && strcmp(ld, "uefi") == 0)
		runtime_uefi_vars(vm, OVMF_VARS_TEMPLATE);
}

/*
 * A QEMU that still answers on the VM's QMP socket was left by an
 * earlier bmd (QEMU runs in its own session and survives a crash of the
 * daemon): starting a second one on the same disks would corrupt them.
 */
static int
qemu_alive(const char *path)
{
	struct sockaddr_un sun;
	int fd, alive;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path))
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return 0;
	alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
	    errno == EAGAIN;
	close(fd);
	return alive;
}

static int
qemu_prepare(struct vm *vm)
{
	char *qmp = qemu_qmp_path(bmd.b_run_dir, vm->vm_conf->vc_name);
	int alive = qemu_alive(qmp);

	if (alive)
		log_warnx("vm %s: a QEMU process still answers on %s (left by "
		    "an earlier bmd?); not started", vm->vm_conf->vc_name, qmp);
	free(qmp);
	if (alive)
		return -1;
	qemu_unlink_sockets(vm->vm_conf);
	qemu_uefi_vars(vm);
	return 0;
}

static void
qemu_open(struct vm *vm)
{
	char *path;

	if (vm->vm_run->rn_nextproc < vm->vm_run->rn_cmd.cl_nprocs)
		return;		/* not the hypervisor */
	path = qemu_qmp_path(bmd.b_run_dir, vm->vm_conf->vc_name);

	vm->vm_run->rn_qmp = qmp_open(vm, path);
	free(path);
	console_open(vm);
}

static void
qemu_close(struct vm *vm)
{
	console_close(vm);
	if (vm->vm_run->rn_qmp == NULL)
		return;
	qmp_close(vm->vm_run->rn_qmp);
	vm->vm_run->rn_qmp = NULL;
	qemu_unlink_sockets(vm->vm_conf);
}

static int
qemu_powerdown(struct vm *vm)
{
	return qmp_execute(vm->vm_run->rn_qmp, "system_powerdown");
}

static int
qemu_quit(struct vm *vm)
{
	return qmp_execute(vm->vm_run->rn_qmp, "quit");
}

static int
qemu_reset(struct vm *vm)
{
	return qmp_execute(vm->vm_run->rn_qmp, "system_reset");
}

/* The next QMP message that is not an event; NULL past the deadline. */
static json_t *
qmp_next(int fd, char *buf, size_t size, size_t *len,
    const struct timespec *dl)
{
	json_t *j;
	char *nl;
	ssize_t r;

	for (;;) {
		while ((nl = memchr(buf, '\n', *len)) != NULL) {
			j = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
			*len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, *len);
			if (j != NULL && json_object_get(j, "event") == NULL)
				return j;
			json_decref(j);
		}
		if (*len == size || helper_wait(fd, dl) == -1 ||
		    (r = read(fd, buf + *len, size - *len)) <= 0)
			return NULL;
		*len += (size_t)r;
	}
}

/*
 * Who answers on a QMP socket: 1 QEMU says it runs name, 0 it runs
 * another VM, -1 nobody answered in time (a stopped QEMU, or none).
 */
static int
qemu_identify(const char *path, const char *name)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	static const char query[] = "{\"execute\":\"query-name\"}\n";
	struct sockaddr_un sun;
	struct timespec dl;
	char buf[4096];
	const char *got = NULL;
	json_t *j = NULL;
	size_t len = 0;
	int fd, rc = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path) || (fd = socket(AF_UNIX, SOCK_STREAM |
	    SOCK_CLOEXEC, 0)) == -1)
		return -1;
	helper_deadline(&dl, ADOPT_QMP_MS);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    (j = qmp_next(fd, buf, sizeof(buf), &len, &dl)) != NULL &&
	    json_object_get(j, "QMP") != NULL &&
	    write(fd, caps, sizeof(caps) - 1) == sizeof(caps) - 1) {
		json_decref(j);
		if ((j = qmp_next(fd, buf, sizeof(buf), &len, &dl)) != NULL &&
		    write(fd, query, sizeof(query) - 1) == sizeof(query) - 1) {
			json_decref(j);
			j = qmp_next(fd, buf, sizeof(buf), &len, &dl);
			if (json_unpack(j, "{s:{s:s}}", "return", "name",
			    &got) == 0)
				rc = strcmp(got, name) == 0;
			else if (j != NULL)
				rc = 0;		/* no name, or an error */
		}
	}
	json_decref(j);
	close(fd);
	return rc;
}

/*
 * Re-adoption: the QEMU of the record (whose pid and start time proved
 * the process) answers on its QMP socket as this VM.  One that answers
 * as another VM is refused; one that does not answer in time (stopped),
 * or has no socket yet (started just before bmd died, on a busy host),
 * is adopted, and shows as UNRESPONSIVE until it answers.  Found by its
 * lock only, a process must at least listen on the VM's socket.
 */
static int
qemu_adopt(struct vm *vm, json_t *drv)
{
	const struct timespec nap = { 0, 50 * 1000000L };
	const char *name = vm->vm_conf->vc_name;
	char *qmp = qemu_qmp_path(bmd.b_run_dir, name);
	int alive, who, n;

	/* a QEMU started just before bmd died may not listen yet */
	for (n = 0; !(alive = qemu_alive(qmp)) && n < ADOPT_QMP_MS / 50; n++)
		nanosleep(&nap, NULL);
	who = alive ? qemu_identify(qmp, name) : -1;

	if (alive && who == 0)
		log_warnx("vm %s: the QEMU on %s does not answer as \"%s\"",
		    name, qmp, name);
	else if (who == -1 && (alive || vm->vm_run->rn_proven)) {
		log_warnx("vm %s: the QEMU %s %s; UNRESPONSIVE until it "
		    "answers", name, alive ? "does not answer yet on" :
		    "has not made its socket yet:", qmp);
		vm->vm_run->rn_unresponsive = 1;
		who = 1;
	}
	free(qmp);
	return who == 1 ? 0 : -1;
}

static void
qemu_probe(struct vm *vm)
{
	qmp_probe(vm->vm_run->rn_qmp);
}

/* QMP said why it stopped; -1 leaves the rest to why.c. */
static int
qemu_exited(struct vm *vm, int st)
{
	const char *r = vm->vm_run != NULL ? vm->vm_run->rn_reason : NULL;

	if (r == NULL)
		return -1;
	if (strcmp(r, "guest-shutdown") == 0 ||
	    strcmp(r, "host-qmp-system-powerdown") == 0 ||
	    strcmp(r, "host-signal") == 0)
		why_requested(vm);
	else if (strcmp(r, "guest-reset") == 0 ||
	    strcmp(r, "guest-panic") == 0)
		why_set(vm, "guest-reboot", "the guest %s, which ends a "
		    "oneshot or install run", strcmp(r, "guest-panic") == 0 ?
		    "panicked" : "rebooted");
	else if (strcmp(r, "host-qmp-system-reset") == 0)
		why_set(vm, "reset", "reset by %s, which ends a oneshot or "
		    "install run", why_who(vm));
	else
		return -1;
	return 0;	/* QEMU reboots in place itself: never again here */
}

/* A managed port (com = auto) is a chardev socket in the run directory. */
static const char *
qemu_com_unmanaged(const struct vm_conf *vc, int i)
{
	const struct conf_com *cm = &vc->vc_com[i < 4 ? i : 0];
	long long n = vc->vc_vconsole_nc * vc->vc_vconsole_np;

	/* after com1..com4, the virtio consoles (qemu.c, add_vconsoles) */
	if (i >= 4)
		return i - 4 < n && (vc->vc_owner == 0 || i - 4 <
		    QEMU_FDS_MAXVC) ? NULL : "not configured";
	if (cm->cm_kind == COM_NONE)
		return "not configured";
	return cm->cm_kind == COM_AUTO ? NULL : cm->cm_text;
}

static int
qemu_com_endpoint(struct vm *vm, int i, char **path, int *fd)
{
	*path = i < 4 ? qemu_com_path(bmd.b_run_dir, vm->vm_conf->vc_name, i) :
	    qemu_vc_path(bmd.b_run_dir, vm->vm_conf->vc_name, i - 4);
	*fd = -1;
	return 0;
}

const struct vm_driver drv_qemu = {
	.d_name = "qemu",
	.d_params = qemu_fds_params,
	.d_prepare = qemu_prepare,
	.d_pass_fds = qemu_fds_open,
	.d_spawned = qemu_fds_spawned,
	.d_end = qemu_fds_free,
	.d_open = qemu_open,
	.d_close = qemu_close,
	.d_powerdown = qemu_powerdown,
	.d_quit = qemu_quit,
	.d_reset = qemu_reset,
	.d_adopt = qemu_adopt,
	.d_probe = qemu_probe,
	.d_exited = qemu_exited,
	.d_com_unmanaged = qemu_com_unmanaged,
	.d_com_endpoint = qemu_com_endpoint,
};

