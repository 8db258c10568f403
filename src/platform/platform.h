/*
 * The operating-system services bmd uses, one implementation per OS:
 * linux.c here.  Everything else in bmd uses POSIX only (child exits,
 * for instance, come from SIGCHLD and waitpid in src/bmd/proc.c).
 *
 * A freebsd.c would implement the same list; it cannot be built or run
 * on this Linux host, so it is not provided rather than faked.  What it
 * would use, entry by entry:
 *   plat_kvm_usable, plat_accel_name  bhyve needs no accelerator choice:
 *                                      vmm.ko loaded (kldstat) or not
 *   plat_oom_protect, _unprotect       procctl(PROC_SPROTECT, PPROT_SET /
 *                                      PPROT_CLEAR)
 *   plat_peercred                      getsockopt(LOCAL_PEERCRED), struct
 *                                      xucred (uid, groups, cr_pid)
 *   plat_pin_thread                    cpuset_setaffinity(CPU_WHICH_TID)
 *                                      (bhyve itself takes -p V:H)
 *   plat_is_thread_of                  sysctl kern.proc.pid.PID with
 *                                      KERN_PROC_INC_THREAD, ki_tid
 *   plat_ncpu                          sysctl hw.ncpu
 *   plat_closefrom                     closefrom(2)
 *   plat_trim_memory                   nothing (jemalloc returns memory)
 *   plat_tap_open                      SIOCIFCREATE2 on "tap", open
 *                                      /dev/tapN
 *   plat_tap_attach                    SIOCSIFDESCR, SIOCSDRVSPEC with
 *                                      BRDGADD, SIOCSIFFLAGS IFF_UP
 *   plat_if_exists                     if_nametoindex(3)
 *   plat_proc_identity                 sysctl KERN_PROC_PID: ki_start,
 *                                      ki_uid
 *   plat_proc_watch_open               kqueue EVFILT_PROC NOTE_EXIT
 *   plat_self_path                     sysctl KERN_PROC_PATHNAME
 *   plat_tree_*                        procctl(PROC_REAP_ACQUIRE) in a
 *                                      forked reaper, PROC_REAP_KILL
 */
#ifndef BMD_PLATFORM_H
#define BMD_PLATFORM_H

#include <sys/types.h>

/* md interface */

/* Can a KVM guest really run here (not only: does /dev/kvm open)? */
int	plat_kvm_usable(void);
/* "kvm" or "tcg" for accel = auto/kvm/tcg (enum accel_type). */
const char *plat_accel_name(int accel);
/* Ask the kernel not to pick this process when memory runs out. */
int	plat_oom_protect(void);
/* Kernel-verified identity of the peer of a UNIX socket. */
struct peercred {
	pid_t	 pc_pid;
	uid_t	 pc_uid;
	gid_t	 pc_gid;
	gid_t	 pc_groups[64];
	int	 pc_ngroups;
};
int	plat_peercred(int fd, struct peercred *);
/* Run one thread (a QEMU vCPU) on one host CPU only. */
int	plat_pin_thread(pid_t tid, int cpu);
/* Is tid a thread of process pid (not merely some process's id)? */
int	plat_is_thread_of(pid_t pid, pid_t tid);
/* Host CPUs online. */
int	plat_ncpu(void);
/* In a child about to exec: undo plat_oom_protect (inherited). */
void	plat_oom_unprotect(void);
/* Close every descriptor >= lowfd (in a child about to exec). */
void	plat_closefrom(int lowfd);
/* Return unused heap memory to the kernel after a large load. */
void	plat_trim_memory(void);
/*
 * Taps.  plat_tap_open creates tap NAME (it must not exist yet) and
 * returns its descriptor, or -1 with errno; the tap disappears when the
 * last descriptor of it is closed.  plat_tap_attach sets its alias,
 * adds it to bridge (NULL: none) and brings it up; on failure *step
 * names what failed ("alias", "bridge", "up") and errno says why.
 */
int	plat_tap_open(const char *name);
int	plat_tap_attach(const char *tap, const char *alias,
	    const char *bridge, const char **step);
/*
 * A null-modem pair for a VM's serial port: returns bmd's descriptor
 * (host side, O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC, raw 115200 8N1) and
 * puts the path the hypervisor opens in vm_side; unit >= 0 asks for
 * that pair number where the OS numbers pairs (FreeBSD nmdm:
 * /dev/nmdmNA for bmd, /dev/nmdmNB for bhyve), -1 with errno (EBUSY
 * when that pair is in use).
 *
 * Linux: a pty pair, unit ignored.  Bytes written before vm_side is
 * first opened wait for it; once every descriptor of vm_side has been
 * closed, the host side reads EIO and polls as hung up until vm_side is
 * opened again.  FreeBSD: the host side survives the VM side's closes
 * (CLOCAL), and the pair lives while either side is open.
 */
int	plat_nullmodem_open(int unit, char *vm_side, size_t size);
/* Does a network interface of this name exist? */
int	plat_if_exists(const char *name);
/*
 * A process's identity: its start time (an opaque number, the same for
 * the whole life of the process and different for a later process that
 * reuses the pid) and the uid that owns it.  -1 if it does not exist or
 * is a zombie.
 */
int	plat_proc_identity(pid_t, unsigned long long *start, uid_t *uid);
/*
 * A descriptor that becomes readable when process pid (not necessarily
 * a child) exits; -1 with errno if it cannot be had.
 */
int	plat_proc_watch_open(pid_t);
/* The absolute path of the running program; -1 if unknown. */
int	plat_self_path(char *buf, size_t size);
/*
 * Process trees: a program (a hook) and everything it starts, even what
 * leaves its session.  plat_tree_new (before the fork) makes one, NULL
 * if the OS cannot (then plat_tree_kill still finds the descendants it
 * can see); the child calls plat_tree_join before exec;
 * plat_tree_kill(t, leader, SIGKILL) kills the whole tree;
 * plat_tree_free, once the leader is reaped, lets the survivors of a
 * tree that was not killed go on outside it, and releases it.
 */
struct plat_tree;
struct plat_tree *plat_tree_new(void);
int	plat_tree_join(const struct plat_tree *);
void	plat_tree_kill(struct plat_tree *, pid_t leader, int sig);
void	plat_tree_free(struct plat_tree *);

#endif
