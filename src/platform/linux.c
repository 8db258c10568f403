/* Linux implementation of the platform layer (see platform.h). */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "conf.h"
#include "platform.h"
#include "posix.h"

/*
 * /dev/kvm may open on hosts that cannot run KVM guests (a software
 * virtualiser module on a CPU without vmx/svm): trust the CPU flags too.
 */
int
plat_kvm_usable(void)
{
	char line[4096];
	FILE *fp;
	int fd, ok = 0;

	if ((fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) == -1)
		return 0;
	close(fd);
	if ((fp = fopen("/proc/cpuinfo", "r")) == NULL)
		return 0;
	while (!ok && fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "flags", 5) == 0)
			ok = strstr(line, " vmx") != NULL ||
			    strstr(line, " svm") != NULL;
	fclose(fp);
	return ok;
}

const char *
plat_accel_name(int accel)
{
	switch (accel) {
	case ACCEL_KVM:
		return "kvm";
	case ACCEL_TCG:
		return "tcg";
	default:
		return plat_kvm_usable() ? "kvm" : "tcg";
	}
}

int
plat_oom_protect(void)
{
	int fd, rc = -1;

	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC)) != -1) {
		if (write(fd, "-1000", 5) == 5)
			rc = 0;
		close(fd);
	}
	return rc;
}

int
plat_peercred(int fd, struct peercred *pc)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	socklen_t glen = sizeof(pc->pc_groups);

	memset(pc, 0, sizeof(*pc));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return -1;
	pc->pc_pid = uc.pid;
	pc->pc_uid = uc.uid;
	pc->pc_gid = uc.gid;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, pc->pc_groups,
	    &glen) == 0)
		pc->pc_ngroups = (int)(glen / sizeof(gid_t));
	return 0;
}

int
plat_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

void
plat_oom_unprotect(void)
{
	int fd;

	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd != -1) {
		if (write(fd, "0", 1) != 1) {
			/* not fatal: the child keeps the protection */
		}
		close(fd);
	}
}

void
plat_closefrom(int lowfd)
{
	DIR *d;
	struct dirent *de;
	int fd;

	if (close_range((unsigned)lowfd, ~0U, 0) == 0)
		return;
	/* Kernels before 5.9: walk /proc/self/fd. */
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (fd >= lowfd && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

void
plat_trim_memory(void)
{
	malloc_trim(0);
}

/* MADV_POPULATE_WRITE: Linux 5.14; before, EINVAL and the faults stay. */
void
plat_prefault(void *p, size_t len)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), a, b;

	a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	b = ((uintptr_t)p + len) & ~(pg - 1);
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
}

/* ---- taps and bridges ---- */

/*
 * A new tap NAME.  IFF_TUN_EXCL refuses a name that exists (another
 * daemon's tap, or an administrator's), so no foreign interface is ever
 * taken over.  The tap is not persistent: the kernel removes it when
 * the last descriptor (bmd's and QEMU's) is closed, even if bmd dies.
 */
int
plat_tap_open(const char *name)
{
	struct ifreq ifr;
	int fd, e;

	if (strlen(name) >= IFNAMSIZ) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	/* the flags fill a short: IFF_TUN_EXCL is its top bit */
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Send one rtnetlink request and wait for its acknowledgement. */
static int
nl_request(struct nlmsghdr *req)
{
	struct sockaddr_nl sa;
	char buf[4096];
	struct nlmsghdr *h;
	struct nlmsgerr *ne;
	ssize_t n;
	int fd, e = EIO;

	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
	    NETLINK_ROUTE)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = 1;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1) {
		e = errno;
		goto out;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		    h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != 1 || h->nlmsg_type != NLMSG_ERROR)
				continue;
			ne = NLMSG_DATA(h);
			e = -ne->error;
			goto out;
		}
	if (n == -1)
		e = errno;
out:
	close(fd);
	errno = e;
	return e == 0 ? 0 : -1;
}

/* RTM_NEWLINK on an existing interface: its alias, or IFF_UP. */
static int
nl_setlink(unsigned idx, const char *alias, int up)
{
	struct {
		struct nlmsghdr	 h;
		struct ifinfomsg i;
		char		 attrs[512];
	} req;
	struct rtattr *rta;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.i));
	req.h.nlmsg_type = RTM_NEWLINK;
	req.i.ifi_family = AF_UNSPEC;
	req.i.ifi_index = (int)idx;
	if (up) {
		req.i.ifi_flags = IFF_UP;
		req.i.ifi_change = IFF_UP;
	}
	if (alias != NULL) {
		if ((len = strlen(alias)) >= 256) {
			errno = ENAMETOOLONG;
			return -1;
		}
		rta = (struct rtattr *)((char *)&req +
		    NLMSG_ALIGN(req.h.nlmsg_len));
		rta->rta_type = IFLA_IFALIAS;
		rta->rta_len = (unsigned short)RTA_LENGTH(len);
		memcpy(RTA_DATA(rta), alias, len);
		req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) +
		    RTA_ALIGN(rta->rta_len);
	}
	return nl_request(&req.h);
}

int
plat_if_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/*
 * Alias, bridge (SIOCBRADDIF, which only a bridge accepts: a bond or a
 * VRF must not be mistaken for one), then up: the order of spec 4.8.
 * On failure *step names the step and errno tells why.
 */
int
plat_tap_attach(const char *tap, const char *alias, const char *bridge,
    const char **step)
{
	struct ifreq ifr;
	unsigned idx;
	int s, rc;

	*step = "find";
	if ((idx = if_nametoindex(tap)) == 0)
		return -1;
	*step = "alias";
	if (alias != NULL && nl_setlink(idx, alias, 0) == -1)
		return -1;
	if (bridge != NULL) {
		*step = "bridge";
		if (strlen(bridge) >= IFNAMSIZ) {
			errno = ENODEV;
			return -1;
		}
		if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
			return -1;
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, bridge, strlen(bridge));
		ifr.ifr_ifindex = (int)idx;
		rc = ioctl(s, SIOCBRADDIF, &ifr);
		close(s);
		if (rc == -1)
			return -1;
	}
	*step = "up";
	return nl_setlink(idx, NULL, 1);
}

int
plat_pin_thread(pid_t tid, int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE) {
		errno = EINVAL;
		return -1;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set);
}

/* /proc/PID/stat: field 22 is the start time in clock ticks since boot. */
int
plat_proc_identity(pid_t pid, unsigned long long *start, uid_t *uid)
{
	char path[64], buf[1024], *p;
	struct stat st;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0 || fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	/* the command name may hold spaces and parentheses: skip past it */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* p + 2 is field 3, the state; a zombie is already gone */
	if (p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return -1;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", start) != 1)
		return -1;
	*uid = st.st_uid;
	return 0;
}

int
plat_proc_watch_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

int
plat_self_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);

	if (n <= 0 || buf[0] != '/')
		return -1;
	buf[n] = '\0';
	return 0;
}

/* /proc/PID/task/TID exists only for the threads of PID. */
int
plat_is_thread_of(pid_t pid, pid_t tid)
{
	char path[64];
	struct stat st;

	if (pid <= 0 || tid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld", (long)pid,
	    (long)tid);
	return stat(path, &st) == 0;
}

/* ---- null-modem pairs: a pty ---- */


/* The kernel numbers ptys itself: unit is ignored. */
int
plat_nullmodem_open(int unit, char *vm_side, size_t size)
{
	int fd, fl, e;

	if (size == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return -1;
	if (grantpt(fd) == -1 || unlockpt(fd) == -1)
		goto fail;
	/* ptsname_r(3) returns an error number; -1 would leave it in errno */
	if ((e = ptsname_r(fd, vm_side, size)) != 0) {
		if (e > 0)
			errno = e;
		goto fail;
	}
	/* posix_openpt(3) need not honour O_CLOEXEC: set it for sure */
	if (tty_raw(fd) == -1 || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
plat_nullmodem_reopen(int unit, char *vm_side, size_t size)
{
	(void)unit;
	(void)vm_side;
	(void)size;
	errno = ENOTSUP;
	return -1;
}

int
plat_nullmodem_give(int fd, uid_t uid, gid_t gid)
{
	(void)fd;
	(void)uid;
	(void)gid;
	return 0;
}

/* bhyve runs only on FreeBSD. */
int
plat_bhyve_native(void)
{
	return 0;
}

/*
 * Raw system calls: in the child of a threaded parent, glibc's wrappers
 * would try to reach the parent's other threads.
 */
int
plat_become_effective(uid_t uid, gid_t gid, size_t ngroups,
    const gid_t *groups)
{
	if (syscall(SYS_setgroups, ngroups, groups) == -1 ||
	    syscall(SYS_setresgid, -1, gid, -1) == -1 ||
	    syscall(SYS_setresuid, -1, uid, -1) == -1)
		return -1;
	return 0;
}

/*
 * Raw system calls: glibc's setuid family would signal every thread of
 * the process it believes it is (the parent's, under vfork).
 */
int
plat_child_become(uid_t uid, gid_t gid, size_t ngroups, const gid_t *groups)
{
	if (syscall(SYS_setgroups, ngroups, groups) == -1 ||
	    syscall(SYS_setresgid, gid, gid, gid) == -1 ||
	    syscall(SYS_setresuid, uid, uid, uid) == -1)
		return -1;
	if (uid != 0 && (syscall(SYS_setresuid, 0, 0, 0) != -1 ||
	    geteuid() != uid))
		return -1;
	return 0;
}

/*
 * By the system calls: glibc refuses to touch the two signals it reserves
 * (32 and 33), which whatever started bmd may have left ignored.  A
 * zeroed kernel sigaction is SIG_DFL without flags on every architecture.
 */
void
plat_child_signals_default(void)
{
	unsigned long ka[8] = { 0 };
	uint64_t none = 0;
	int sig;

	for (sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, ka, NULL,
			    sizeof(none));
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
	    sizeof(none));
}

/* A tap goes with the last descriptor of it (net.c relies on this). */
int
plat_tap_persists(void)
{
	return 0;
}

int
plat_tap_destroy(const char *name)
{
	(void)name;
	return 0;
}
