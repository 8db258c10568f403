/* FreeBSD implementation of the platform layer (see platform.h). */
#include <sys/param.h>
#include <sys/cpuset.h>
#include <sys/event.h>
#include <sys/ioctl.h>
#include <sys/module.h>
#include <sys/procctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <sys/ucred.h>
#include <sys/un.h>
#include <sys/user.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "conf.h"
#include "platform.h"
#include "posix.h"

/* Pairs tried by plat_nullmodem_open(-1, ...) before giving up. */
#define NMDM_AUTO_MAX	1024

/*
 * bhyve's accelerator is vmm(4).  Its module does not load on a CPU
 * that cannot run guests (no VT-x or AMD-V), so a loaded (or built-in)
 * vmm is the answer.
 */
int
plat_kvm_usable(void)
{
	return modfind("vmm") != -1;
}

/*
 * The name goes only into QEMU's -accel (bhyve takes no accelerator
 * option; it needs vmm, which plat_kvm_usable reports).  QEMU on
 * FreeBSD can use neither KVM nor vmm, so auto is tcg; an explicit kvm
 * is passed on for QEMU to refuse in its own words.
 */
const char *
plat_accel_name(int accel)
{
	return accel == ACCEL_KVM ? "kvm" : "tcg";
}

/*
 * Without PPROT_INHERIT the protection is bmd's alone: children do not
 * get it, so a hypervisor or a hook stays a fair choice for the OOM
 * killer.  plat_oom_unprotect clears it all the same, in case bmd was
 * started already protected with PPROT_INHERIT by its parent.
 */
int
plat_oom_protect(void)
{
	int flags = PPROT_SET;

	return procctl(P_PID, getpid(), PROC_SPROTECT, &flags);
}

void
plat_oom_unprotect(void)
{
	int flags = PPROT_CLEAR;

	/* not fatal: the child keeps the protection */
	(void)procctl(P_PID, getpid(), PROC_SPROTECT, &flags);
}

/*
 * LOCAL_PEERCRED: the credentials the peer had when it connected (or
 * listened).  cr_groups[0] is its effective gid; a peer in more than
 * XU_NGROUPS groups is seen with its first XU_NGROUPS only.
 */
int
plat_peercred(int fd, struct peercred *pc)
{
	struct xucred xuc;
	socklen_t len = sizeof(xuc);
	int i, max;

	memset(pc, 0, sizeof(*pc));
	memset(&xuc, 0, sizeof(xuc));
	if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERCRED, &xuc, &len) == -1)
		return -1;
	if (len != sizeof(xuc) || xuc.cr_version != XUCRED_VERSION ||
	    xuc.cr_ngroups < 1) {
		errno = EINVAL;
		return -1;
	}
	pc->pc_pid = xuc.cr_pid;
	pc->pc_uid = xuc.cr_uid;
	pc->pc_gid = xuc.cr_groups[0];
	max = (int)(sizeof(pc->pc_groups) / sizeof(pc->pc_groups[0]));
	for (i = 0; i < xuc.cr_ngroups && i < XU_NGROUPS && i < max; i++)
		pc->pc_groups[i] = xuc.cr_groups[i];
	pc->pc_ngroups = i;
	return 0;
}

int
plat_ncpu(void)
{
	int mib[2] = { CTL_HW, HW_NCPU }, n;
	size_t len = sizeof(n);

	if (sysctl(mib, 2, &n, &len, NULL, 0) == -1 || n < 1)
		return 1;
	return n;
}

void
plat_closefrom(int lowfd)
{
	closefrom(lowfd);
}

/* Nothing to do: jemalloc returns unused pages to the kernel itself. */
void
plat_trim_memory(void)
{
}

/* FreeBSD has no populate advice for anonymous memory: faults it is. */
void
plat_prefault(void *p, size_t len)
{
	(void)p;
	(void)len;
}

int
plat_pin_thread(pid_t tid, int cpu)
{
	cpuset_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE) {
		errno = EINVAL;
		return -1;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return cpuset_setaffinity(CPU_LEVEL_WHICH, CPU_WHICH_TID, (id_t)tid,
	    sizeof(set), &set);
}

/*
 * The kinfo_proc records of one KERN_PROC query (what, arg); NULL with
 * *n = 0 if none.  The size asked first may grow before the second
 * call (threads, processes), hence the slack and the retries.
 */
static struct kinfo_proc *
kinfo_query(int what, int arg, size_t *n)
{
	int mib[4] = { CTL_KERN, KERN_PROC, what, arg }, tries;
	struct kinfo_proc *kp = NULL, *nkp;
	size_t len;

	*n = 0;
	for (tries = 0; tries < 4; tries++) {
		if (sysctl(mib, 4, NULL, &len, NULL, 0) == -1 || len == 0)
			break;
		len += len / 4 + sizeof(*kp);
		if ((nkp = realloc(kp, len)) == NULL)
			break;
		kp = nkp;
		if (sysctl(mib, 4, kp, &len, NULL, 0) == 0) {
			if (len < sizeof(*kp) ||
			    kp[0].ki_structsize != sizeof(*kp))
				break;
			*n = len / sizeof(*kp);
			return kp;
		}
		if (errno != ENOMEM)
			break;
	}
	free(kp);
	return NULL;
}

/* One record per thread of pid: is tid among them? */
int
plat_is_thread_of(pid_t pid, pid_t tid)
{
	struct kinfo_proc *kp;
	size_t i, n;
	int found = 0;

	if (pid <= 0 || tid <= 0)
		return 0;
	if ((kp = kinfo_query(KERN_PROC_PID | KERN_PROC_INC_THREAD, (int)pid,
	    &n)) == NULL)
		return 0;
	for (i = 0; i < n && !found; i++)
		found = kp[i].ki_pid == pid && kp[i].ki_tid == (lwpid_t)tid;
	free(kp);
	return found;
}

/*
 * ki_start is the start time on the uptime clock plus the current boot
 * time, and the boot time moves when the wall clock is stepped: it is
 * taken back out, so that the identity of a process never changes.
 */
int
plat_proc_identity(pid_t pid, unsigned long long *start, uid_t *uid)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid };
	int bmib[2] = { CTL_KERN, KERN_BOOTTIME };
	struct kinfo_proc kp;
	struct timeval boot, up;
	size_t len = sizeof(kp), blen = sizeof(boot);

	if (pid <= 0 || sysctl(mib, 4, &kp, &len, NULL, 0) == -1 ||
	    len != sizeof(kp) || kp.ki_structsize != sizeof(kp) ||
	    kp.ki_pid != pid || kp.ki_stat == SZOMB)
		return -1;
	if (sysctl(bmib, 2, &boot, &blen, NULL, 0) == -1 ||
	    blen != sizeof(boot))
		return -1;
	timersub(&kp.ki_start, &boot, &up);
	*start = (unsigned long long)up.tv_sec * 1000000ULL +
	    (unsigned long long)up.tv_usec;
	*uid = kp.ki_uid;
	return 0;
}

/*
 * A kqueue of its own with one EVFILT_PROC NOTE_EXIT for pid: a kqueue
 * descriptor is readable while an event is pending, so the caller's
 * event loop sees it like a Linux pidfd.
 */
int
plat_proc_watch_open(pid_t pid)
{
	struct kevent kev;
	int kq, e;

	if (pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	if ((kq = kqueue()) == -1)
		return -1;
	EV_SET(&kev, (uintptr_t)pid, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, NULL);
	if (fcntl(kq, F_SETFD, FD_CLOEXEC) == -1 ||
	    kevent(kq, &kev, 1, NULL, 0, NULL) == -1) {
		e = errno;
		close(kq);
		errno = e;
		return -1;
	}
	return kq;
}

int
plat_self_path(char *buf, size_t size)
{
	int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PATHNAME, -1 };
	size_t len = size;

	if (size == 0 || sysctl(mib, 4, buf, &len, NULL, 0) == -1 ||
	    len == 0 || len > size || buf[0] != '/')
		return -1;
	buf[len - 1] = '\0';
	return 0;
}

/* ---- null-modem pairs: nmdm(4) ---- */

/*
 * Close a pair's A side found in use by someone else, without HUPCL:
 * dropping DTR would take the carrier away from whoever has B open.
 */
static void
close_quietly(int fd)
{
	struct termios t;
	int e = errno;

	if (tcgetattr(fd, &t) == 0) {
		t.c_cflag &= ~HUPCL;
		(void)tcsetattr(fd, TCSANOW, &t);
	}
	close(fd);
	errno = e;
}

/*
 * 1 if /dev holds a node of the pair, 0 if not, -1 on error.  readdir,
 * never stat: looking a name up is what creates an nmdm pair.
 */
static int
nmdm_exists(const char *a, const char *b)
{
	struct dirent *de;
	DIR *d;
	int found = 0;

	if ((d = opendir("/dev")) == NULL)
		return -1;
	while (!found && (de = readdir(d)) != NULL)
		found = strcmp(de->d_name, a) == 0 ||
		    strcmp(de->d_name, b) == 0;
	closedir(d);
	return found;
}

/*
 * Pair n, if it is free.  "In use" is decided twice:
 *  - before: nmdm(4) creates a pair's nodes when a name of it is looked
 *    up and removes them when its last side is closed, so a pair with
 *    nodes in /dev is someone's (a running bhyve, a console, or a
 *    lookup that created it and never opened it);
 *  - after opening A: carrier (TIOCM_CD) on A means B is open, which
 *    catches a bhyve that took the pair between the two steps.
 * Another process opening only A in that window is not detected: nmdm
 * cannot be created atomically.
 */
static int
nmdm_unit(int n, char *vm_side, size_t size)
{
	char a[32], b[32], path[64];
	int fd, bits, rc;

	snprintf(a, sizeof(a), "nmdm%dA", n);
	snprintf(b, sizeof(b), "nmdm%dB", n);
	if ((size_t)snprintf(vm_side, size, "/dev/%s", b) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((rc = nmdm_exists(a, b)) != 0) {
		if (rc == 1)
			errno = EBUSY;
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/%s", a);
	if ((fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1)
		return -1;
	if (ioctl(fd, TIOCMGET, &bits) == -1) {
		close_quietly(fd);
		return -1;
	}
	if (bits & TIOCM_CD) {
		errno = EBUSY;
		close_quietly(fd);
		return -1;
	}
	if (tty_raw(fd) == -1) {
		close_quietly(fd);
		return -1;
	}
	return fd;
}

/*
 * The nmdm module must be loaded (ENOENT otherwise).  The pair lives
 * while either side is open: bmd's A side keeps it across bhyve's
 * restarts, and it goes away once both are closed.
 */
int
plat_nullmodem_open(int unit, char *vm_side, size_t size)
{
	int n, fd;

	if (size == 0) {
		errno = EINVAL;
		return -1;
	}
	if (unit >= 0)
		return nmdm_unit(unit, vm_side, size);
	for (n = 0; n < NMDM_AUTO_MAX; n++) {
		if ((fd = nmdm_unit(n, vm_side, size)) != -1)
			return fd;
		if (errno != EBUSY)
			return -1;
	}
	errno = EBUSY;
	return -1;
}

/*
 * The pair of a bhyve that outlived the bmd that started it: bhyve holds
 * B, so the nodes exist and A opens; no carrier on A means nobody holds
 * B (the pair had gone, and this open just created it): refused.
 */
int
plat_nullmodem_reopen(int unit, char *vm_side, size_t size)
{
	char path[64];
	int fd, bits = 0, rc;

	if (unit < 0 || (size_t)snprintf(vm_side, size, "/dev/nmdm%dB", unit) >=
	    size) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/nmdm%dA", unit);
	if ((fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1)
		return -1;
	rc = ioctl(fd, TIOCMGET, &bits);
	if (rc == 0 && !(bits & TIOCM_CD)) {
		errno = ENXIO;
		rc = -1;
	}
	if (rc == 0)
		rc = tty_raw(fd);
	if (rc == -1) {
		close_quietly(fd);
		return -1;
	}
	return fd;
}

int
plat_nullmodem_give(int fd, uid_t uid, gid_t gid)
{
	return fchown(fd, uid, gid) == -1 || fchmod(fd, 0600) == -1 ? -1 : 0;
}

/* bhyve is FreeBSD's own hypervisor. */
int
plat_bhyve_native(void)
{
	return 1;
}

/* In a child of its own: the whole process changes, as it should. */
int
plat_become_effective(uid_t uid, gid_t gid, size_t ngroups,
    const gid_t *groups)
{
	if (setgroups((int)ngroups, groups) == -1 || setegid(gid) == -1 ||
	    seteuid(uid) == -1)
		return -1;
	return 0;
}

/* Credentials are per process here, and libc's calls are system calls. */
int
plat_child_become(uid_t uid, gid_t gid, size_t ngroups, const gid_t *groups)
{
	if (setgroups((int)ngroups, groups) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1)
		return -1;
	if (uid != 0 && (setuid(0) != -1 || geteuid() != uid))
		return -1;
	return 0;
}

/*
 * By the system calls: libthr keeps handlers and masks in the process's
 * memory, which under vfork is bmd's own, so its sigaction would reset
 * bmd's handlers too.
 */
void
plat_child_signals_default(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&none);
	for (sig = 1; sig <= SIGRTMAX; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_sigaction, sig, &sa, NULL);
	(void)syscall(SYS_sigprocmask, SIG_SETMASK, &none, NULL);
}

/* Nothing reaches another process's socket here: bhyve's ports are ttys. */
int
plat_peer_sndbuf(pid_t pid, const char *path, int bytes)
{
	(void)pid;
	(void)path;
	(void)bytes;
	errno = ENOSYS;
	return -1;
}
