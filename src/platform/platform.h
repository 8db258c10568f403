/*
 * The operating-system services bmd uses, one implementation per OS,
 * picked by the Makefile from the build host: linux.c and linux_tree.c;
 * freebsd.c, freebsd_net.c and freebsd_tree.c (FreeBSD 14).  Everything
 * else in bmd uses POSIX only (child exits, for instance, come from
 * SIGCHLD and waitpid in src/bmd/proc.c).
 *
 * The FreeBSD files are compile-checked against FreeBSD's headers
 * (make check-freebsd); nothing in this repository runs them.
 */
#ifndef BMD_PLATFORM_H
#define BMD_PLATFORM_H

#include <sys/types.h>

/* md interface */

/*
 * Can a hardware-accelerated guest really run here?  Linux: KVM (not
 * only: does /dev/kvm open); FreeBSD: bhyve's vmm(4).
 */
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
/*
 * Give the socket of process pid that accepted a connection on the unix
 * socket path a send buffer of `bytes`.  -1 (ENOENT: none found; ENOSYS:
 * not on this OS) leaves it as it was.
 */
int	plat_peer_sndbuf(pid_t pid, const char *path, int bytes);
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
 * Map the pages of a fresh buffer about to be filled, len bytes at p, in
 * one call rather than one fault per page (a large file's text, a tree's
 * chunk); nothing happens where the kernel cannot.
 */
void	plat_prefault(void *p, size_t len);
/*
 * The first len bytes of a regular file, mapped read-only with its pages
 * in (NULL: read it instead); a file truncated meanwhile raises SIGBUS
 * when the lost pages are read (load.c guards its one user).
 */
void	*plat_map_file(int fd, size_t len);
/*
 * May root keep private files in directory path (made later if it does
 * not exist)?  Every directory from / down to it must be root's, written
 * by no one else (above it, and with sticky set also path itself, by
 * others only with the sticky bit, as /tmp); otherwise -1 with err "DIR:
 * it belongs to uid N" or "DIR: anybody may write it".
 */
/*
 * Does opening /dev/fd/N give the file of the opener's descriptor N (a
 * root-run bhyve gets a user's files so)?  -1 with err set if not.
 */
int	 plat_fd_names(char *err, size_t errlen);
int	 plat_private_dir(const char *path, int sticky, char *err,
	    size_t errlen);
void	plat_unmap_file(void *p, size_t len);
/*
 * Taps.  plat_tap_open creates tap NAME (it must not exist yet: EBUSY)
 * and returns its descriptor, or -1 with errno; on Linux the tap
 * disappears when the last descriptor of it is closed.  plat_tap_attach
 * sets its alias, adds it to bridge (NULL: none) and brings it up; on
 * failure *step names what failed ("find", "alias", "bridge", "up") and
 * errno says why.
 *
 * FreeBSD cannot give "disappears with its last descriptor": a tap
 * lives until it is destroyed (tap(4)).  There the caller must
 *  - close bmd's descriptor before bhyve starts: the tap's device is
 *    exclusive-open and bhyve opens it by name (the tap stays up:
 *    plat_tap_attach sets IFF_LINK0);
 *  - destroy the tap when the run ends (SIOCIFDESTROY on NAME, as
 *    `ifconfig NAME destroy`), and after a crash of bmd destroy the
 *    taps its runtime records name, or their names stay EBUSY.
 */
int	plat_tap_open(const char *name);
/* Do taps outlive their descriptors (FreeBSD: 1, Linux: 0)? */
int	plat_tap_persists(void);
/* Destroy tap NAME; 0 where taps go with their descriptors (Linux). */
int	plat_tap_destroy(const char *name);
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
/*
 * bmd's side of pair unit again, for a hypervisor an earlier bmd started
 * (re-adoption): only while the VM side is still open (its carrier), so
 * a pair that went away is never created anew for it.  Linux: -1 with
 * ENOTSUP, a pty pair goes with its host side's last descriptor.
 */
int	plat_nullmodem_reopen(int unit, char *vm_side, size_t size);
/*
 * Wake-on-LAN capture on interface ifname (a bridge): a non-blocking
 * descriptor that gives the frames the interface sees, broadcast and
 * unicast (promiscuous), of at least WOL_FRAME_MIN bytes; -1 with errno.
 * plat_wol_recv: the next frame into buf (truncated to len), its
 * length; -1 with EAGAIN when there is none.
 */
int	plat_wol_open(const char *ifname);
ssize_t	plat_wol_recv(int fd, unsigned char *buf, size_t len);
/*
 * Give the host side of a pair (fd) to a VM's owner, for direct access
 * with cu(1) next to the broker.  FreeBSD: its /dev/nmdmNA node; Linux:
 * a pty's host side has no node, nothing to do.
 */
int	plat_nullmodem_give(int fd, uid_t, gid_t);
/* Does bhyve(8) exist on this OS (else only a bhyve_program stands in)? */
int	plat_bhyve_native(void);
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
 * What a process costs now (metrics): CPU time used, user and system, in
 * microseconds, and its resident memory in bytes.  -1 if it is gone.
 */
struct plat_usage {
	unsigned long long	 pu_cpu_usec;
	unsigned long long	 pu_rss;
};
int	plat_proc_usage(pid_t, struct plat_usage *);
/* How many descriptors this process has open; -1 if unknown. */
int	plat_open_fds(void);
/*
 * A descriptor that becomes readable when process pid (not necessarily
 * a child) exits; -1 with errno if it cannot be had.
 */
int	plat_proc_watch_open(pid_t);
/* The absolute path of the running program; -1 if unknown. */
int	plat_self_path(char *buf, size_t size);
/*
 * In a child of bmd's: effective user, group and groups become the
 * user's, while the real and saved user stay root, so that the user can
 * neither signal nor trace it (asuser.c).
 */
int	plat_become_effective(uid_t, gid_t, size_t ngroups,
	    const gid_t *groups);
/*
 * In a child that still shares its parent's memory (vfork): become uid,
 * gid and groups for good (real, effective and saved), by system calls
 * that touch no library state, and check that root cannot be had back.
 */
int	plat_child_become(uid_t, gid_t, size_t ngroups, const gid_t *groups);
/* There too: every signal's handling back to the default, none blocked. */
void	plat_child_signals_default(void);
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
/*
 * VM groups (Linux control groups; none on FreeBSD): with the global
 * `cgroup`, each running VM's programs share a group of their own below
 * that directory.  plat_cgroup_prepare (at start) makes the directory
 * and checks that it is in a cgroup file system (-1: why not, in err);
 * plat_cgroup_open makes the VM's group and returns the descriptor that
 * plat_cgroup_move writes a process to; plat_cgroup_remove once the VM's
 * program has exited, after plat_cgroup_kill if what it started lives on;
 * plat_cgroup_name: the group's directory, for messages;
 * plat_cgroup_sweep: removes the empty VM groups in dir (how many).
 */
int	plat_cgroup_prepare(const char *dir, char *err, size_t errlen);
int	plat_cgroup_open(const char *dir, const char *vm);
int	plat_cgroup_move(int fd, pid_t);
int	plat_cgroup_remove(const char *dir, const char *vm);
int	plat_cgroup_kill(const char *dir, const char *vm);
int	plat_cgroup_sweep(const char *dir);
int	plat_cgroup_name(const char *dir, const char *vm, char *buf,
	    size_t len);

/*
 * The name of fd's file system when bmd must not write a VM's log there
 * (proc, sysfs, FUSE...: writes checked against bmd's privileges, or
 * served by a process that may never answer); NULL when it may.
 */
const char *plat_fs_unfit_for_logs(int fd);
/*
 * write(2) to a user's log as she would write it herself: her quota and
 * the file system's reserve for root apply (Linux: this thread's file
 * system ids and no CAP_SYS_RESOURCE for the call; FreeBSD: a plain
 * write, as root).
 */
ssize_t	plat_write_as(uid_t, gid_t, int fd, const void *, size_t);

#endif
