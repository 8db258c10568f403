/*
 * The per-VM lock: one hypervisor per VM, whoever starts it (bmd's boot
 * or bmdctl run).
 *
 * The lock is flock(2) on RUN_DIRECTORY.lock/UID/NAME.lock, UID being the
 * VM's owner.  It belongs to the open file description, which the
 * hypervisor inherits: it lives as long as the last of the taker and its
 * hypervisor, and the kernel drops it when they are gone (a crash
 * included).  The file holds the pid of the holder, for the message.
 */
#ifndef BMD_VMLOCK_H
#define BMD_VMLOCK_H

#include <sys/types.h>

#include <stddef.h>

/* RUN_DIRECTORY.lock (malloc'd), the directory's real path if it exists. */
char	*vmlock_root(const char *run_dir);
/*
 * As root: make the lock root (root's, 0711) and the owner's directory
 * in it (the owner's, 0700).  -1 with err set on failure.
 */
int	 vmlock_prepare(const char *root, uid_t owner, char *err, size_t);
/*
 * Take the lock of VM name owned by owner: a descriptor (close-on-exec
 * when cloexec), or -1 with err set ("already running (pid N)" when it
 * is held).
 */
int	 vmlock_take(const char *root, uid_t owner, const char *name,
	    int cloexec, char *err, size_t);
/* The lock file's path (ROOT/OWNER/NAME.lock). */
char	*vmlock_path(const char *root, uid_t owner, const char *name);
/*
 * 1 if someone holds the lock, with the pid the file records in *pid,
 * and *loader set if that process is a loader of the VM.
 */
int	 vmlock_holder(const char *root, uid_t owner, const char *name,
	    pid_t *pid, int *loader);
/*
 * The daemon's lock, ROOT/daemon.lock (root's): one bmd per run
 * directory, for a second one would adopt and restart the first one's
 * VMs.  A close-on-exec descriptor, or -1 with err set; errno is
 * EWOULDBLOCK when another process holds it (err: "already running (pid
 * N)").
 */
#define VMLOCK_DAEMON	"daemon.lock"
int	 vmlock_daemon(const char *root, char *err, size_t);
/* Is fd, inherited across an upgrade, the lock of ROOT, still held? */
int	 vmlock_daemon_is(const char *root, int fd);
/* Record who holds the lock now (the hypervisor, once spawned); -1: not. */
int	 vmlock_note_pid(int fd, pid_t);
int	 vmlock_note_loader(int fd, pid_t);	/* a loader holds it */
/*
 * One VM per disk, for a hypervisor that takes no lock of its own
 * (bhyve): a lock on the open disk, which the hypervisor inherits,
 * shared when read-only.  -1 only when another holds one (EWOULDBLOCK);
 * a file system without locks passes.
 */
int	 vmlock_disk(int fd, int rw);
#define VMLOCK_DISK_BUSY	"in use: another process holds a lock on it"

#endif
