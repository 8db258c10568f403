/*
 * The sockets and files bmd opens for a user's QEMU.  QEMU runs as the
 * VM's owner and could not create its QMP and serial-console sockets in
 * the run directory (root, 0700) nor open the UEFI variables in bmd's
 * vars directory; bmd binds the sockets as root (mode 0600) and opens the
 * file, and QEMU gets them as inherited descriptors (socket,fd=N and
 * -add-fd).  bmd still connects to the sockets by path.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "qemu.h"
#include "qemu_fds.h"
#include "vmpaths.h"
#include "xmalloc.h"

struct qemu_fds {
	int		 f_nsock;		/* listening sockets, this spawn */
	int		 f_sock[QEMU_FDS_MAXSOCKS];
	int		 f_vars[2];		/* rdwr, rdonly; -1: none */
	int		 f_pass[PROC_MAXFDS];	/* taps, then ours */
	int		 f_childfd_vc[QEMU_FDS_MAXSOCKS];
};

static int
managed_com(const struct vm_conf *vc, int c)
{
	return vc->vc_com[c].cm_kind == COM_AUTO;
}

static long long
nvcons(const struct vm_conf *vc)
{
	long long n = vc->vc_vconsole_nc * vc->vc_vconsole_np;

	return n < QEMU_FDS_MAXVC ? n : QEMU_FDS_MAXVC;
}

static int
uefi(const struct vm_conf *vc)
{
	return vc->vc_loader != NULL && strcmp(vc->vc_loader, "uefi") == 0;
}

static void
close_all(struct qemu_fds *f)
{
	int i;

	for (i = 0; i < f->f_nsock; i++)
		close(f->f_sock[i]);
	f->f_nsock = 0;
	for (i = 0; i < 2; i++)
		if (f->f_vars[i] != -1) {
			close(f->f_vars[i]);
			f->f_vars[i] = -1;
		}
}

/*
 * The descriptor numbers in QEMU (3 + ntaps + k), decided when the
 * command line is built; qemu_fds_open opens them in the same order:
 * QMP, the managed com ports, virtio consoles, the vars file twice.
 */
int
qemu_fds_params(struct vm *vm, struct be_params *bp)
{
	const struct vm_conf *vc = vm->vm_conf;
	const int *taps;
	struct qemu_fds *f;
	int next, c;
	long long i;

	if (!owner_unprivileged(vc))
		return 0;
	if ((f = vm->vm_run->rn_qemu_fds) == NULL) {
		f = vm->vm_run->rn_qemu_fds = xcalloc(1, sizeof(*f));
		f->f_vars[0] = f->f_vars[1] = -1;
	}
	next = 3 + net_pass_fds(vm, &taps);
	bp->bp_fd_qmp = next++;
	for (c = 0; c < 4; c++)
		if (managed_com(vc, c))
			bp->bp_fd_com[c] = next++;
	for (i = 0; i < nvcons(vc); i++)
		f->f_childfd_vc[i] = next++;
	bp->bp_fd_vc = nvcons(vc) > 0 ? f->f_childfd_vc : NULL;
	if (uefi(vc)) {
		bp->bp_fd_vars[0] = next++;
		bp->bp_fd_vars[1] = next++;
	}
	return 0;
}

/* A listening socket at path (freed here), bound by bmd with mode 0600. */
static int
listen_at(struct vm *vm, char *path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path)) {
		run_fail(vm, "%s: path too long", path);
		free(path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		run_fail(vm, "socket: %s", strerror(errno));
		free(path);
		return -1;
	}
	(void)unlink(path);
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1 || listen(fd, 4) == -1) {
		umask(old);
		run_fail(vm, "%s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	umask(old);
	free(path);
	return fd;
}

static int
add_sock(struct vm *vm, struct qemu_fds *f, char *path)
{
	int fd;

	if ((fd = listen_at(vm, path)) == -1)
		return -1;
	f->f_sock[f->f_nsock++] = fd;
	return 0;
}

static int
open_vars(struct vm *vm, struct qemu_fds *f)
{
	char *vars = vm_vars_path(bmd.b_vars_dir, vm->vm_conf->vc_name);

	f->f_vars[0] = open(vars, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	f->f_vars[1] = open(vars, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f->f_vars[0] == -1 || f->f_vars[1] == -1) {
		run_fail(vm, "%s: %s", vars, strerror(errno));
		free(vars);
		return -1;
	}
	free(vars);
	return 0;
}

static int
open_all(struct vm *vm, struct qemu_fds *f)
{
	const struct vm_conf *vc = vm->vm_conf;
	const char *rd = bmd.b_run_dir;
	long long i;
	int c;

	if (add_sock(vm, f, qemu_qmp_path(rd, vc->vc_name)) == -1)
		return -1;
	for (c = 0; c < 4; c++)
		if (managed_com(vc, c) &&
		    add_sock(vm, f, qemu_com_path(rd, vc->vc_name, c)) == -1)
			return -1;
	for (i = 0; i < nvcons(vc); i++)
		if (add_sock(vm, f, qemu_vc_path(rd, vc->vc_name, i)) == -1)
			return -1;
	return uefi(vc) ? open_vars(vm, f) : 0;
}

/*
 * Right before the spawn (after prepare removed stale sockets): *pass
 * gets the taps followed by ours, in the order qemu_fds_params numbered
 * them.  Returns the count, or -1.
 */
int
qemu_fds_open(struct vm *vm, const int *taps, int ntaps, const int **pass)
{
	struct qemu_fds *f = vm->vm_run->rn_qemu_fds;
	int c, n = 0;

	*pass = taps;
	if (f == NULL)
		return ntaps;
	close_all(f);
	if (open_all(vm, f) == -1)
		goto fail;
	if (ntaps + f->f_nsock + 2 > PROC_MAXFDS) {
		run_fail(vm, "too many descriptors to pass");
		goto fail;
	}
	for (c = 0; c < ntaps; c++)
		f->f_pass[n++] = taps[c];
	for (c = 0; c < f->f_nsock; c++)
		f->f_pass[n++] = f->f_sock[c];
	for (c = 0; c < 2; c++)
		if (f->f_vars[c] != -1)
			f->f_pass[n++] = f->f_vars[c];
	*pass = f->f_pass;
	return n;
fail:
	close_all(f);
	return -1;
}

/* After the spawn: QEMU holds them now. */
void
qemu_fds_spawned(struct vm *vm)
{
	if (vm->vm_run->rn_qemu_fds != NULL)
		close_all(vm->vm_run->rn_qemu_fds);
}

void
qemu_fds_free(struct vm *vm)
{
	if (vm->vm_run == NULL || vm->vm_run->rn_qemu_fds == NULL)
		return;
	close_all(vm->vm_run->rn_qemu_fds);
	free(vm->vm_run->rn_qemu_fds);
	vm->vm_run->rn_qemu_fds = NULL;
}
