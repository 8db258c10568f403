/* bmd: the daemon's internal types and interfaces, grouped by file. */
#ifndef BMD_BMD_H
#define BMD_BMD_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "backend.h"
#include "conf.h"
#include "platform.h"
#include "runtime.h"

struct event;
struct event_base;
#ifndef TAILQ_FOREACH_SAFE	/* not in glibc's sys/queue.h */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* Grace after QMP quit before SIGKILL, and the QMP request deadline. */
#define QUIT_GRACE_SEC		5
/* After the hypervisor reports its shutdown, until it must be gone. */
#define SHUTDOWN_GRACE_SEC	10
#define QMP_DEADLINE_SEC	5
/* boot = always: at most this many restarts within the window. */
#define CRASH_LIMIT		5
#define CRASH_WINDOW_SEC	60

/*
 * VM states (spec 4.3 plus FAILED).  The name shown by `list` differs
 * from the internal one for TERMINATE, STOP, REMOVE and RESTART.
 */
enum vm_state {
	VS_TERMINATE,	/* not running ("STOP") */
	VS_PRESTART,	/* prestart hooks running (none yet: transient) */
	VS_LOAD,	/* a loader process runs (bhyve loaders only) */
	VS_RUN,		/* the hypervisor process runs */
	VS_STOP,	/* a stop is in progress ("TERMINATING") */
	VS_REMOVE,	/* configuration gone: stop, then delete */
	VS_RESTART,	/* reboot_on_change: stop, start ("REBOOTING") */
	VS_POSTSTOP,	/* poststop hooks running (none yet: transient) */
	VS_FAILED,	/* crash loop or internal error; until boot/reload */
	VS_COUNT
};

enum vm_event {
	VE_BOOT,		/* bmdctl boot/install */
	VE_BOOT_TIMER,		/* boot_delay or restart delay expired */
	VE_PRESTART_DONE,
	VE_EXIT,		/* the process was reaped */
	VE_QMP_SHUTDOWN,	/* QMP SHUTDOWN event (reason recorded) */
	VE_QMP_ERROR,		/* QMP STOP with status internal-error */
	VE_GUEST_RESET,		/* QMP RESET: the guest rebooted in place */
	VE_STOP_REQ,		/* bmdctl shutdown/stop */
	VE_POWEROFF,		/* bmdctl poweroff */
	VE_RESET,		/* bmdctl reset */
	VE_STOP_TIMEOUT,	/* stop_timeout expired: quit */
	VE_KILL_TIMEOUT,	/* grace after quit expired: SIGKILL */
	VE_POSTSTOP_DONE,
	VE_RELOAD_START,	/* reload: boot became yes/always */
	VE_RELOAD_STOP,		/* reload: boot became no */
	VE_RELOAD_RESTART,	/* reload: reboot_on_change with changes */
	VE_RELOAD_REMOVE,	/* reload: the vm section is gone */
	VE_RELOAD_RETRY,	/* reload: clears FAILED */
	VE_DAEMON_STOP,		/* SIGTERM/SIGINT */
	VE_ADOPT,		/* a live process of an earlier bmd proved its identity */
	VE_COUNT
};

/* What POSTSTOP leads to, decided when the process exits. */
enum vm_after { AFTER_STOP, AFTER_REMOVE, AFTER_RESTART, AFTER_FAIL };

struct qmp;
struct vm_driver;

/*
 * Resources of one run, from start to the final stop: allocated only
 * while the VM is active so that 1,000 stopped VMs stay cheap.
 */
struct vm_run {
	struct cmdline	 rn_cmd;	/* command lines of the run */
	int		 rn_nextproc;	/* next rn_cmd to spawn */
	int		 rn_status;	/* last wait status */
	char		*rn_reason;	/* last QMP SHUTDOWN reason */
	struct qmp	*rn_qmp;
	const struct vm_driver *rn_drv;
	int		 rn_log_fd;	/* err_logfile, -1 if none */
	struct owner_open *rn_log_job;	/* a user's, being opened */
	struct buf	*rn_log_wait;	/* output meanwhile (logfile.c) */
	int		 rn_out_fd;	/* read end of the output pipe */
	struct event	*rn_out_ev;
	struct vm_taps	*rn_taps;	/* net.c; NULL: no networks */
	struct vm_owner	*rn_owner;	/* owner_io.c; NULL: root's VM */
	int		 rn_first;	/* not spawned yet: run_begin's checks hold */
	int		 rn_again;	/* in PRESTART for a restart in place */
	struct qemu_fds	*rn_qemu_fds;	/* qemu_fds.c; NULL: none made */
	time_t		 rn_started;	/* wall clock, when the process began */
	unsigned long long rn_ident;	/* plat_proc_identity start time */
	int		 rn_adopted;	/* left by an earlier bmd */
	int		 rn_proven;	/* adopted: its record proved it */
	int		 rn_unresponsive;	/* its monitor does not answer */
	int		 rn_shutdown_noted;	/* it said it shuts down */
	int		 rn_lock_fd;	/* vmlock.h; every process inherits it */
	char		*rn_aux_path;	/* grub's device map; NULL: none */
	/* adopted: the digest of the configuration the process runs */
	char		*rn_digest;
	int		 rn_reboot;	/* its exit asks for a start in place */
	/* bhyve_run.c: the run's serial ports and the loader's terminal */
	struct bhyve_run *rn_bhyve;
};

struct vm {
	struct vm_conf	*vm_conf;	/* in effect */
	struct vm_conf	*vm_pending;	/* for the next start */
	enum vm_state	 vm_state;
	enum vm_after	 vm_after;
	pid_t		 vm_pid;	/* 0: no process */
	int		 vm_install;	/* bmdctl install for this run */
	struct event	*vm_timer;	/* life-cycle timer */
	enum vm_event	 vm_timer_ev;	/* posted when it fires */
	struct vm_run	*vm_run;
	struct console	*vm_console;	/* console.c; NULL: never used */
	/* why.c: what was asked of the process, and why it last stopped */
	enum vm_event	 vm_intent;	/* VE_COUNT: nothing */
	uid_t		 vm_intent_uid;
	int		 vm_forced;
	const char	*vm_why_code;	/* NULL: never stopped */
	char		*vm_why_text;
	time_t		 vm_why_time;
	unsigned	 vm_restarts;	/* boot = always restarts, in all */
	int		 vm_held;	/* waits for another VM (vm_holder) */
	/* the crash-loop window: the last restarts (monotonic), kept across
	 * runs (an adopted VM restarts as a new run) until a user boots it */
	time_t		 vm_crash[CRASH_LIMIT];
	int		 vm_ncrash;
};

/* Global daemon state. */
struct bmd {
	struct event_base *b_base;
	char		*b_conf_path;	/* absolute */
	char		*b_sock_path;
	char		*b_run_dir;
	char		*b_cgroup;	/* VMs' groups below it; NULL: none */
	char		*b_lock_dir;	/* vmlock.h */
	int		 b_daemon_lock;	/* vmlock_daemon's descriptor */
	char		*b_vars_dir;
	long		 b_freebsd_version;	/* bhyve target release */
	long long	 b_nmdm_offset;
	/* bhyve's programs: bhyve, bhyvectl, bhyveload, grub-bhyve */
	char		*b_bhyve_prog[4];	/* NULL: unset */
	char		*b_pid_file;	/* NULL: none written */
	char		*b_plugin_dir;
	unsigned	 b_sock_mode;
	struct idmap	*b_ids;
	int		 b_foreground;
	int		 b_stopping;	/* SIGTERM/SIGINT received */
	time_t		 b_started;	/* wall clock, for metrics */
	size_t		 b_console_buffer;	/* scrollback per port */
};
extern struct bmd bmd;

/* bmd.c */
void		 bmd_check_done(void);

/* control.c */
int		 control_listen(void);
void		 control_start(void);
void		 control_close(void);
/*
 * One request being answered: who asks, what, and what the command adds
 * to its reply (a descriptor, sent with it and then closed here).
 */
struct conn;
struct ctl_req {
	const struct peercred	*rq_cred;
	json_t			*rq_msg;
	int			 rq_fd;		/* -1: none */
	struct conn		*rq_conn;	/* control.c's; NULL: none */
	char			*rq_raw;	/* a raw frame after the reply */
	size_t			 rq_rawlen;
};
/* From a command: its request is answered later (or NULL). */
struct ctl_wait;
struct ctl_wait	*control_defer(struct ctl_req *);
void		 control_answer(struct ctl_wait *, json_t *reply);
/* A connection that carries pushed frames after its reply (events). */
int		 control_stream(struct ctl_req *);
void		 control_push(struct conn *, const unsigned char *frame,
		    size_t len);
size_t		 control_nconns(void);
/* events.c: the event stream */
int		 events_wanted(void);
json_t		*events_cmd(struct ctl_req *, struct vm *);
void		 events_gone(struct conn *);
void		 events_emit(const struct vm_conf *, const char *type, json_t *);
void		 events_state(const struct vm *, enum vm_state from,
		    enum vm_event);
void		 events_config(const struct vm_conf *, const char *change,
		    const char *error);
/* metrics.c: bmdctl metrics, and the request counts it shows */
json_t		*metrics_cmd(struct ctl_req *, struct vm *);
void		 metrics_request(const char *command, int ok);

/* quota.c: what the running VMs of one owner may add up to */
enum quota_kind { QUOTA_VMS, QUOTA_MEMORY, QUOTA_NCPU, QUOTA_COUNT };
void		 quota_set(const struct global_conf *);
void		 quota_free(void);
long long	 quota_limit(enum quota_kind, uid_t);	/* LIMIT_NONE */
void		 quota_usage(uid_t, const struct vm *except,
		    long long use[QUOTA_COUNT]);
void		 quota_size_text(long long, char *, size_t);
int		 quota_check(const struct vm *, char *why, size_t);
json_t		*quota_cmd(struct ctl_req *, struct vm *);	/* "limits" */

/* limit.c: what each peer uid may hold at once */
enum limit_kind { LIM_CONN, LIM_CONSOLE, LIM_COUNT };
int		 limit_set(enum limit_kind, long long all, long long per_user);
int		 limit_take(enum limit_kind, uid_t, char *why, size_t);
void		 limit_release(enum limit_kind, uid_t);

/* dispatch.c */
json_t		*dispatch(struct ctl_req *);
/* "no VM named 'x' (did you mean 'y'?)" among the VMs pc may see */
json_t		*dispatch_not_found(const struct peercred *, const char *name);
/* The table's name of a command ("stop" for "STOP"); NULL: unknown. */
const char	*dispatch_command(const char *name);

/* vm.c */
struct vm	*vm_find(const char *name);
struct vm	*vm_holder(const struct vm *, char *what, size_t len);
struct vm	*vm_add(struct vm_conf *);
void		 vm_delete(struct vm *);
size_t		 vm_count(void);
struct vm	*vm_at(size_t);
const struct vm_conf *vm_latest(const struct vm *);
int		 vm_active(const struct vm *);
int		 vm_leaving(const struct vm *);
int		 vm_releasing(const struct vm *holder, const struct vm *);
const struct vm_conf *vm_ident(const struct vm *);
int		 vm_may_access(const struct vm *, const struct peercred *);
/* console_viewers and console_writers: what a peer may do on the consoles */
enum console_role { CONSOLE_NONE, CONSOLE_VIEWER, CONSOLE_WRITER };
enum console_role vm_console_role(const struct vm *, const struct peercred *);
int		 conf_may_access(const struct vm_conf *,
		    const struct peercred *);
const char	*vm_state_name(enum vm_state);
const char	*vm_state_display(enum vm_state);
/* The state `list` shows: UNRESPONSIVE for a RUN whose monitor is silent. */
const char	*vm_display(const struct vm *);
void		 vm_probe(struct vm *);
json_t		*vm_to_json(const struct vm *);
struct vt_row;
void		 vm_to_row(const struct vm *, struct vt_row *);
void		 vm_timer_set(struct vm *, long long sec, enum vm_event);
int		 vm_timer_pending(const struct vm *, enum vm_event);
void		 vm_timer_cancel(struct vm *);
void		 vm_schedule_boot(struct vm *, long long delay);

/* fsm.c */
const char	*vm_event_name(enum vm_event);
/* The table acted (0), its action failed (-1), or the event means
 * nothing in the VM's state (VM_IGNORED): callers need not guess. */
#define VM_IGNORED	1
int		 vm_event(struct vm *, enum vm_event);

/* run.c: processes of a run */
int		 run_begin(struct vm *);
/* Refuse a start: log why and keep it for bmdctl (run_error); -1. */
int		 run_fail(const struct vm *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
const char	*run_error(void);
int		 run_spawn_next(struct vm *);
/* vmgroup.c: a VM's control group (global cgroup) around its programs */
int		 vmgroup_open(const struct vm *, int *fd, char *err,
		    size_t errlen);
void		 vmgroup_close(const struct vm *);
void		 vmgroup_sweep(void);
void		 run_end(struct vm *);
int		 run_crash_ok(struct vm *);
void		 run_kill(struct vm *, int sig);
/*
 * drv: the driver's part of the runtime record (d_record), or NULL;
 * proven: a record's pid and start time proved the process (not a lock)
 */
int		 run_adopt(struct vm *, pid_t, unsigned long long ident,
		    time_t started, json_t *drv, int proven);
void		 run_lock_dirs(void);

/* net.c: the taps of a run */
int		 net_setup(struct vm *);
void		 net_teardown(struct vm *);
void		 net_release(struct vm *);
void		 net_forget(json_t *names);
/* An adopted run: the taps exist (the hypervisor holds them); names only. */
void		 net_adopt(struct vm *, json_t *names);
json_t		*net_tap_names(const struct vm *);
void		 net_params(const struct vm *, struct be_params *);
int		 net_pass_fds(const struct vm *, const int **);
/* Why net_setup failed last (for bmdctl boot), or NULL. */
json_t		*net_cmd(struct ctl_req *, struct vm *);

/* proc.c */
typedef void	(*proc_exit_cb)(pid_t, int status, void *);
/* Who a child runs as (cr_set 0: as bmd, root). */
/* The VM's lock file a spawned process writes its pid into (vmlock.h). */
struct proc_lock {
	int		 pl_fd;
	int		 pl_loader;	/* a loader's, not the VM's process */
};
struct proc_cred {
	int		 cr_set;
	uid_t		 cr_uid;
	gid_t		 cr_gid;
	gid_t		*cr_groups;
	int		 cr_ngroups;
};
pid_t		 proc_spawn(const struct proc_cmd *, int out_fd);
extern const int handled_signals[];	/* by the event loop */
extern const size_t nhandled_signals;
void		 block_signals(int how);	/* handled_signals */
void		 proc_child_reset(void);
char		**proc_env(uid_t, char *const *extra);
void		 spawn_reaped(pid_t);	/* plugin_spawn.c */
void		 proc_env_free(char **);
#define PROC_MAXFDS	64
pid_t		 proc_spawn_fds(const struct proc_cmd *, int out_fd,
		    const int *keep, int nkeep);
pid_t		 proc_spawn_cred(const struct proc_cmd *, int out_fd,
		    const int *keep, int nkeep, const struct proc_cred *,
		    int cg_fd, const struct proc_lock *);
void		 proc_watch(pid_t, proc_exit_cb, void *);
/* Exit status of an adopted process that is not bmd's child. */
#define PROC_STATUS_UNKNOWN	(-1)
int		 proc_watch_adopted(pid_t, proc_exit_cb, void *);
void		 proc_unwatch(pid_t);
void		 proc_sigchld(void);



/* owner_io.c: what is done as, or for, a VM's owner (issue 5) */
int		 owner_unprivileged(const struct vm_conf *);
int		 owner_cred(const struct vm_conf *, struct proc_cred *);
void		 owner_cred_free(struct proc_cred *);
int		 owner_check_wanted(const struct vm_conf *);
int		 owner_check_begin(struct vm *);
int		 owner_params(const struct vm *, struct be_params *);
int		 owner_pass_fds(const struct vm *, const int **);
void		 owner_files_done(struct vm *);
const struct owner_files *owner_files_of(const struct vm *);
void		 owner_adopt(struct vm *, json_t *disks);
void		 owner_run_end(struct vm *);
/* owner_files.c: a user's files a root-run hypervisor gets as /dev/fd/N */
struct owner_files;
int		 owner_files_wanted(const struct vm_conf *);
struct owner_files *owner_files_begin(const struct vm_conf *,
		    const struct owner_files *prev);
void		 owner_files_child(int sock, const struct vm_conf *,
		    const char *user);
ssize_t		 owner_files_read(int sock, char *, size_t,
		    struct owner_files *);
int		 owner_files_params(const struct vm_conf *,
		    struct owner_files *, struct be_params *);
int		 owner_files_claim(const struct vm *, struct owner_files *,
		    char *why, size_t);
int		 owner_files_fds(const struct owner_files *, const int **);
void		 owner_files_close(struct owner_files *);
json_t		*owner_files_json(const struct owner_files *);
struct owner_files *owner_files_adopt(json_t *);
void		 owner_files_free(struct owner_files *);
#define OWNER_PENDING	(-2)
struct owner_open;
typedef void	(*owner_opened_fn)(void *, int fd);
int		 owner_open_log(const struct vm_conf *, const char *what,
		    const char *path, int keep, owner_opened_fn, void *,
		    struct owner_open **);
void		 owner_open_cancel(struct owner_open *);

/* logfile.c */
int		 logfile_open(struct vm *, int *child_out);
void		 logfile_write_argv(struct vm *, const struct proc_cmd *);
void		 logfile_drain(struct vm *);
void		 logfile_close(struct vm *);
void		 logfile_reopen_all(void);

/* console.c: the serial console broker */
#define CONSOLE_BUFFER_DEFAULT	(64 * 1024)
struct console;
void		 console_open(struct vm *);
void		 console_close(struct vm *);
void		 console_expect(struct vm *, int port, const char *prompt,
		    const char *text);
void		 console_run_end(struct vm *);
void		 console_free(struct vm *);
void		 console_reopen_logs(void);
json_t		*console_attach(struct ctl_req *, struct vm *);
size_t		 console_sessions(const struct vm *);

/* users.c: who a uid is, known without waiting on the name service */
struct user_info {
	uid_t		 ui_uid;
	char		*ui_name;	/* NULL: no such user */
	char		*ui_home, *ui_shell;
	gid_t		 ui_gid;
	gid_t		*ui_groups;	/* getgrouplist(3): ui_gid too */
	int		 ui_ngroups;
	time_t		 ui_at;		/* looked up then (monotonic) */
};
typedef void	(*users_fn)(void *);
void		 users_init(void);
struct user_info *users_lookup(uid_t);
struct user_info **users_lookup_owners(const struct conf *, int, size_t *);
void		 users_info_free(void *);
void		 users_put(struct user_info *);
const struct user_info *users_get(uid_t);
int		 users_wait(uid_t, users_fn, void *);
void		 users_cancel(void *);
char		*user_name(uid_t);

/* ids.c: VM IDs kept across a start of bmd, in the run directory */
struct idmap	*ids_read(const char *run_dir);
int		 ids_agree(const struct idmap *, const struct conf *);
void		 ids_merge(struct idmap *, const struct idmap *);
void		 ids_save(void);
int		 run_file_save(const char *path, const char *what,
		    void (*)(FILE *, void *), void *);

/* holders.c: which user's VM has each name (lo_holder) */
int		 holders_get(const char *name, uid_t *owner);
int		 holders_seeded(const char *name, uid_t *owner);
void		 holders_note(const char *name, uid_t owner);
size_t		 holders_read(const char *run_dir);
void		 holders_seed_free(void);
void		 holders_save(void);

/* audit.c: requests that change something, logged with their outcome */
/* how dispatch.c's "no VM named 'x'" goes on with a name the peer may see */
#define NOT_FOUND_HINT	" (did you mean '"
struct audit;
struct audit	*audit_begin(const struct peercred *, json_t *req);
void		 audit_end(struct audit *, const json_t *reply);
json_t		*console_mode(struct ctl_req *, struct vm *);

/* adopt.c: runtime records, and re-adoption of the VMs they describe */
int		 runrec_update(struct vm *);
int		 runrec_upgrade(int on);
void		 runrec_remove(const struct vm *);
void		 adopt_begin(void);	/* start-up: read the directories once */
void		 adopt_end(void);
int		 adopt_vm(struct vm *);
void		 adopt_orphans(void);

/* upgrade.c: SIGUSR2 executes bmd again; the VMs keep running */
void		 upgrade_init(int argc, char **argv);
int		 upgrade_resumed(void);
int		 upgrade_daemon_lock(void);
void		 upgrade_stopped_load(void);
int		 upgrade_kept_stopped(const char *name);
void		 upgrade_stopped_free(void);
void		 upgrade_exec(void);

/* why.c */
void		 why_request(struct vm *, enum vm_event, uid_t);
void		 why_forced(struct vm *);
void		 why_clear(struct vm *);
void		 why_set(struct vm *, const char *code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
int		 why_exit(struct vm *, int status);
void		 why_requested(struct vm *);
const char	*why_who(const struct vm *);
json_t		*why_json(const struct vm *);

/* wol.c: Wake-on-LAN monitors */
void		 wol_update(void);
void		 wol_stop(void);

/* reload.c */
int		 reload_all(struct ctl_wait *);
/* reload --dry-run: the plan, answered to w */
int		 reload_dry_run(struct ctl_wait *);
/* Does a reload with c keep vm, though c does not load it (invalid)? */
int		 reload_keeps(const struct conf *, const struct vm *);
/* reload_plan.c: what a reload with c would do, as a reply */
json_t		*reload_plan(const struct conf *, const struct diags *);
/* loadjob.c: configuration loads off the event loop */
typedef void	(*loadjob_fn)(struct conf *, struct diags *, void *);
void		 loadjob_init(void);
void		 loadjob_submit(loadjob_fn, void *);
void		 loadjob_submit_for(const char *, uid_t, loadjob_fn, void *);
int		 loadjob_busy(void);
void		 loadjob_fini(void);
int		 reload_one(struct vm *, struct conf *, struct diags *,
		    const struct peercred *,
		    const char **err);
void		 start_all(void);

/* plugin.c: the plugins' hooks (include/bmd/plugin.h is their side) */
struct bmd_plugin;
struct plugin {
	const struct bmd_plugin	*p_desc;
	const char		*p_file;
	size_t			 p_index;
	int			 p_on;		/* initialized */
};
void		 plugin_init_all(void);
void		 plugin_fini_all(void);
void		 plugin_status_change(struct vm *, enum vm_state from,
		    enum vm_state to);
/* 0: go on; -1: refused; 1: answers owed, VE_PRESTART_DONE later. */
int		 plugin_prestart(struct vm *);
/* bmd's own part of PRESTART (owner_io.c): owed, then answered */
void		 plugin_prestart_owe(struct vm *);
void		 plugin_prestart_answer(struct vm *, const char *refusal);
void		 plugin_prestart_refuse(struct vm *, const char *why);
void		 plugin_prestart_again(struct vm *);
int		 plugin_prestart_ok(const struct vm *);
const char	*plugin_refusal(const struct vm *);
void		 plugin_prestart_cancel(struct vm *, enum vm_after);
int		 plugin_prestart_cancelled(const struct vm *, enum vm_after *);
/* 0: done; 1: answers owed, VE_POSTSTOP_DONE later. */
int		 plugin_poststop(struct vm *);
void		 plugin_reload(struct vm *);
void		 plugin_vm_gone(struct vm *);
/* bmdctl boot: VE_BOOT; then the reply, NULL when prestart decides. */
int		 plugin_boot(struct vm *);
int		 plugin_boot_wait(struct vm *, struct ctl_wait *);
struct plugin	*plugin_enter(struct plugin *);
void		 plugin_leave(struct plugin *prev);
struct plugin	*plugin_current(void);
const char	*plugin_keep(char *);

/* plugin_api.c: what plugins call (the export list: plugin.exports) */
void		 api_drop_watches(struct plugin *);
int		 api_children(void);

#endif
