/*
 * How the daemon asks a running hypervisor to act: QMP for QEMU, signals
 * for bhyve.  The life cycle (fsm.c) only calls these operations.
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
#include <unistd.h>

#include "bmd.h"
#include "log.h"
#include "qemu.h"
#include "xmalloc.h"

#define OVMF_VARS_TEMPLATE	"/usr/share/OVMF/OVMF_VARS_4M.fd"

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
		if (vc->vc_com[c] != NULL && vc->vc_com[c][0] != '/' &&
		    strncmp(vc->vc_com[c], "tcp=", 4) != 0 &&
		    strcmp(vc->vc_com[c], "stdio") != 0)
			unlink_quiet(qemu_com_path(bmd.b_run_dir, vc->vc_name,
			    c));
	for (i = 0; i < n; i++)
		unlink_quiet(qemu_vc_path(bmd.b_run_dir, vc->vc_name, i));
}

static int
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t r;
	int in, out, rc = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (out == -1) {
		close(in);
		return -1;
	}
	while (rc == 0 && (r = read(in, buf, sizeof(buf))) != 0)
		if (r == -1 || write(out, buf, (size_t)r) != r)
			rc = -1;
	close(in);
	if (close(out) == -1)
		rc = -1;
	return rc;
}

/* UEFI: a per-VM copy of the variable store, fresh for an install. */
static void
qemu_uefi_vars(const struct vm *vm)
{
	const struct vm_conf *vc = vm->vm_conf;
	struct stat st;
	char *path;

	if (vc->vc_loader == NULL || strcmp(vc->vc_loader, "uefi") != 0)
		return;
	if (mkdir(bmd.b_vars_dir, 0700) == -1 && errno != EEXIST)
		log_warn("vm %s: mkdir %s", vc->vc_name, bmd.b_vars_dir);
	path = vm_vars_path(bmd.b_vars_dir, vc->vc_name);
	if ((vm->vm_install || vc->vc_install || lstat(path, &st) == -1) &&
	    copy_file(OVMF_VARS_TEMPLATE, path) == -1)
		log_warn("vm %s: cannot copy %s to %s", vc->vc_name,
		    OVMF_VARS_TEMPLATE, path);
	free(path);
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
	char *path = qemu_qmp_path(bmd.b_run_dir, vm->vm_conf->vc_name);

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

/* Re-adoption: the QEMU of the record still listens on its QMP socket. */
static int
qemu_adopt(struct vm *vm)
{
	char *qmp = qemu_qmp_path(bmd.b_run_dir, vm->vm_conf->vc_name);
	int alive = qemu_alive(qmp);

	free(qmp);
	return alive ? 0 : -1;
}

static void
qemu_probe(struct vm *vm)
{
	qmp_probe(vm->vm_run->rn_qmp);
}

static const struct vm_driver drv_qemu = {
	"qemu", qemu_prepare, qemu_open, qemu_close, qemu_powerdown,
	qemu_quit, qemu_reset, qemu_adopt, qemu_probe
};

/* ---- bhyve: SIGTERM is its ACPI power button; nothing else exists ---- */

static void
sig_nop(struct vm *vm)
{
}

static int
sig_prepare(struct vm *vm)
{
	return 0;
}

static int
sig_powerdown(struct vm *vm)
{
	run_kill(vm, SIGTERM);
	return 0;
}

static int
sig_unsupported(struct vm *vm)
{
	return -1;
}

static const struct vm_driver drv_signal = {
	"signal", sig_prepare, sig_nop, sig_nop, sig_powerdown, sig_unsupported,
	sig_unsupported, sig_unsupported, sig_nop
};

const struct vm_driver *
driver_for(const struct vm_conf *vc)
{
	return vc->vc_backend == BACKEND_QEMU ? &drv_qemu : &drv_signal;
}
