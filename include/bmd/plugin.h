/*
 * The bmd plugin ABI: the only public header of bmd.
 *
 * A plugin is a shared object in the plugin directory (bmd -p, global key
 * plugin_directory) whose name ends in ".so".  It exports one data symbol,
 * `const struct bmd_plugin bmd_plugin`, and calls only the bmd_*
 * functions declared below: the daemon exports exactly those
 * (src/bmd/plugin.exports) and nothing else of its own.
 *
 * Compatibility.  bmd refuses a plugin whose bp_abi_version is not its
 * BMD_PLUGIN_ABI_VERSION, or whose bp_signature (the sizes of the C types
 * this ABI is made of) is not its own; both values are named in the
 * message.  Every structure ends with spare fields that must be zero (a
 * designated initialiser leaves them so): a later version gives them a
 * meaning without changing the size or the place of anything else.
 * Changing an existing field bumps BMD_PLUGIN_ABI_VERSION.
 *
 * Execution.  bmd runs one event loop in one thread.  Every hook and
 * callback is called from it and must return quickly: a plugin waits for a
 * descriptor, a child process or a time through the bmd_watch_* functions,
 * never by blocking.  None of the bmd_* functions may be called from
 * another thread or from a child process.
 */
#ifndef BMD_PLUGIN_H
#define BMD_PLUGIN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BMD_PLUGIN_ABI_VERSION	1
/* The name of the descriptor a plugin exports. */
#define BMD_PLUGIN_SYMBOL	"bmd_plugin"

struct bmd_plugin;
struct bmd_vm;		/* a VM of the daemon: opaque */
struct bmd_watch;	/* an fd, child or timer watch: opaque */

/* VM states, as the daemon has them (bmd.conf(5), bmdctl(8) list). */
enum bmd_vm_state {
	BMD_TERMINATE,	/* not running (list: STOP) */
	BMD_PRESTART,	/* prestart hooks running */
	BMD_LOAD,	/* a boot loader process runs (bhyve) */
	BMD_RUN,	/* the hypervisor runs */
	BMD_STOP,	/* stopping (list: TERMINATING) */
	BMD_REMOVE,	/* configuration removed: stopping, then deleted */
	BMD_RESTART,	/* stopping to start again (list: REBOOTING) */
	BMD_POSTSTOP,	/* poststop hooks running */
	BMD_FAILED	/* crash loop or internal error */
};

/* ---- configuration keys a plugin adds ---- */

enum bmd_key_type {
	BMD_KEY_STRING,
	BMD_KEY_PATH,		/* an absolute path */
	BMD_KEY_INTEGER,
	BMD_KEY_BOOLEAN		/* yes/no, true/false, on/off, 1/0 */
};

#define BMD_KEY_LIST	0x01	/* several values; `+=` appends */

/* One value of a plugin key, given to its check function. */
struct bmd_keycheck {
	const char	*kc_key;	/* the key's name */
	const char	*kc_value;	/* the value, variables expanded */
	const char	*kc_vm;		/* the VM's name */
	uid_t		 kc_owner;	/* the VM's owner */
	uid_t		 kc_writer;	/* owner of the file the value is in */
	uid_t		 kc_vmfile;	/* owner of the file of the vm section */
	void		*kc_spare[4];
};

/*
 * A key, in the same typed table as the built-in ones: `bmdctl show
 * config`, `bmd -n`, reload change detection and bmd_vm_env() see it.
 * The type is checked first; then bk_check, if any, may refuse the value
 * with a message (no position, no newline: bmd prefixes FILE:LINE:COL).
 * bk_check is called by bmd -n and bmdctl too, before any initialize():
 * it must only look at its arguments and the file system.
 */
struct bmd_key {
	const char	*bk_name;	/* [a-z0-9_], unique among all keys */
	int		 bk_type;	/* enum bmd_key_type */
	unsigned	 bk_flags;	/* BMD_KEY_LIST */
	const char	*bk_default;	/* NULL: unset */
	const char	*bk_help;	/* one line */
	int		(*bk_check)(const struct bmd_keycheck *, char *err,
			    size_t errlen);	/* 0 accept, -1 refuse */
	void		*bk_spare[4];
};

/* ---- the descriptor ---- */

/* sizeof of the types the ABI is made of, one byte each. */
#define BMD_PLUGIN_SIGNATURE						\
	((uint64_t)sizeof(void *) << 56 | (uint64_t)sizeof(long) << 48 |	\
	 (uint64_t)sizeof(pid_t) << 40 | (uint64_t)sizeof(uid_t) << 32 |	\
	 (uint64_t)sizeof(gid_t) << 24 | (uint64_t)sizeof(time_t) << 16 |	\
	 (uint64_t)(sizeof(struct bmd_key) & 0xff) << 8 |		\
	 (uint64_t)(sizeof(struct bmd_plugin) & 0xff))

/* The first two fields of every descriptor. */
#define BMD_PLUGIN_HEADER						\
	.bp_abi_version = BMD_PLUGIN_ABI_VERSION,			\
	.bp_signature = BMD_PLUGIN_SIGNATURE

/*
 * Every hook may be NULL.  A VM pointer given to a hook is valid during
 * the call; from a prestart or poststop hook that answered "later" until
 * the plugin has answered; otherwise look the VM up again by name with
 * bmd_vm_find().
 */
struct bmd_plugin {
	int		 bp_abi_version;	/* BMD_PLUGIN_ABI_VERSION */
	uint64_t	 bp_signature;		/* BMD_PLUGIN_SIGNATURE */
	const char	*bp_name;		/* in messages; unique */
	const char	*bp_version;		/* the plugin's own, free text */
	const struct bmd_key *bp_keys;		/* ends with bk_name NULL */

	/* Daemon start, with the event loop ready; < 0: disabled. */
	int		(*bp_initialize)(void);
	/* Daemon exit; watches left are removed afterwards. */
	void		(*bp_finalize)(void);
	/*
	 * Every state change, after it happened (from == to: the guest
	 * rebooted inside the running hypervisor).
	 */
	void		(*bp_status_change)(struct bmd_vm *, int from, int to);
	/*
	 * Before the VM's processes start (state PRESTART).  0: go on; < 0:
	 * refuse, with a reason in `why` (shown by bmdctl boot); > 0: the
	 * plugin answers later with bmd_prestart_done().  The VM starts
	 * when every plugin has agreed.
	 */
	int		(*bp_prestart)(struct bmd_vm *, char *why,
			    size_t whylen);
	/*
	 * After the VM's process ended for good (state POSTSTOP), before
	 * its resources are released; not after a reboot in place.  0: done;
	 * > 0: the plugin answers later with bmd_poststop_done().  Only VMs
	 * whose prestart ran get here, with the same configuration.
	 */
	int		(*bp_poststop)(struct bmd_vm *);
	/*
	 * At a reload, for every VM that existed before it, once its new
	 * configuration is known and before the reload acts on the VM.  A
	 * changed configuration takes effect at the VM's next start (fact
	 * "pending"); the accessors read the one in effect.
	 */
	void		(*bp_reload)(struct bmd_vm *);
	void		*bp_spare[8];
};

/* ---- answers to prestart and poststop ---- */

/* ok != 0: agree to the start; else refuse it for reason `why`. */
void		 bmd_prestart_done(const struct bmd_plugin *, struct bmd_vm *,
		    int ok, const char *why);
void		 bmd_poststop_done(const struct bmd_plugin *, struct bmd_vm *);

/* ---- reading a VM: its configuration in effect and runtime facts ---- */

/*
 * `key` is a configuration key (built-in or a plugin's; for the fields of
 * a composite value "key.field", e.g. "disk.path", "ncpu.cpus") or a
 * runtime fact:
 *   name id state pid uid gid user group file install pending tap
 * (state is the name, e.g. "RUN"; pid is 0 when no process runs; gid is
 * -1 without a group; pending is 1 when a changed configuration waits for
 * the next start; tap has one value per network while the VM runs, NULL
 * for a network without a tap).  List keys have several values, index 0
 * first.
 */

/* Number of values: 0 if unset, -1 if there is no such key or fact. */
int		 bmd_vm_count(const struct bmd_vm *, const char *key);
/* Set explicitly in the configuration (not a default): 1, else 0. */
int		 bmd_vm_isset(const struct bmd_vm *, const char *key);
/*
 * Value i as text (what `bmdctl show config` prints), or NULL.  The
 * string stays valid until the current hook or callback returns.
 */
const char	*bmd_vm_str(const struct bmd_vm *, const char *key, size_t i);
/* Value i as a number (booleans 0/1); -1 if not a number or unset. */
int		 bmd_vm_int(const struct bmd_vm *, const char *key, size_t i,
		    long long *);
/*
 * The VM's VM_* environment, generated from the key table (see
 * bmd-hookcmd(8)): a NULL-terminated array of "NAME=value" strings, to be
 * freed with bmd_strv_free().
 */
char		**bmd_vm_env(const struct bmd_vm *);
void		 bmd_strv_free(char **);
struct bmd_vm	*bmd_vm_find(const char *name);
const char	*bmd_state_name(int state);

/* ---- the event loop ---- */

#define BMD_EV_READ	0x01
#define BMD_EV_WRITE	0x02

typedef void	(*bmd_fd_cb)(int fd, int events, void *arg);
/* status as from waitpid(2): the daemon has reaped the child. */
typedef void	(*bmd_child_cb)(pid_t, int status, void *arg);
typedef void	(*bmd_timer_cb)(void *arg);

/* Until bmd_unwatch(): the callback runs whenever fd is ready. */
struct bmd_watch *bmd_watch_fd(int fd, int events, bmd_fd_cb, void *arg);
/*
 * One shot: the callback runs once the child has exited, after which the
 * watch no longer exists.  The child must be the daemon's (bmd_spawn).
 */
struct bmd_watch *bmd_watch_child(pid_t, bmd_child_cb, void *arg);
/* One shot, after msec milliseconds. */
struct bmd_watch *bmd_watch_timer(long msec, bmd_timer_cb, void *arg);
/* Cancel a watch that has not fired (a child is then reaped silently). */
void		 bmd_unwatch(struct bmd_watch *);

/* ---- child processes ---- */

/*
 * A program run in its own session, with default signal handling, stdin
 * /dev/null, only descriptors 0-2 (and the program's own, sp_fd), and a
 * clean environment: PATH, HOME, USER, LOGNAME and SHELL of the user it
 * runs as, plus sp_env (nothing of the daemon's environment).  Watch it
 * with bmd_watch_child().
 */
struct bmd_spawn {
	const char	*sp_path;	/* the program (and for messages) */
	int		 sp_fd;		/* >= 0: execute this open file */
	char *const	*sp_argv;
	char *const	*sp_env;	/* "NAME=value" added; may be NULL */
	uid_t		 sp_uid;	/* run as; (uid_t)-1: the daemon's */
	gid_t		 sp_gid;	/* with sp_uid: group, (gid_t)-1 the
					   user's primary; and the user's
					   other groups as bmd knows them */
	int		 sp_out_fd;	/* stdout and stderr; -1: /dev/null */
	void		*sp_spare[4];
};
pid_t		 bmd_spawn(const struct bmd_spawn *);
/*
 * Signal a program bmd_spawn started and everything it started, even
 * processes that left its session (a cgroup of its own on Linux).  Only
 * until its watch fired; -1 (ESRCH) for any other pid.
 */
int		 bmd_kill_tree(pid_t, int sig);

/* ---- messages ---- */

enum bmd_log_level { BMD_LOG_ERR, BMD_LOG_WARN, BMD_LOG_INFO, BMD_LOG_DEBUG };

/* To the daemon's log, prefixed with the plugin's name; no newline. */
void		 bmd_log(int level, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

#endif
