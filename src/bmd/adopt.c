/*
 * Runtime records and re-adoption: each running VM's process is described
 * in run_directory/NAME.run, rewritten atomically on every transition, so
 * that a bmd started after a crash or an upgrade takes over the VMs that
 * are still running instead of refusing them or starting a second
 * hypervisor on the same disks.
 *
 * A record is believed only when it proves itself: the pid exists, its
 * start time is the one recorded (a reused pid has another), its uid is
 * the one recorded, the owner is still the VM's owner, and the driver
 * finds the hypervisor answering on its socket.  A record that fails the
 * process checks is stale and removed; one whose process lives but does
 * not prove itself is kept and the VM is not started again.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "buf.h"
#include "intern.h"
#include "jsontext.h"
#include "keys.h"
#include "strmap.h"
#include "vmlock.h"
#include "vmpaths.h"
#include "log.h"
#include "xmalloc.h"

#define RUNREC_VERSION	1
#define RUNREC_MAX	(64 * 1024)
#define RUNREC_EXT	"run"
#define RUNREC_SUFFIX	"." RUNREC_EXT

static char *
rec_path(const char *name)
{
	return vm_path(bmd.b_run_dir, name, RUNREC_EXT);
}

/* FNV-1a over the configuration's text: did it change since the start? */
static char *
conf_digest(const struct vm_conf *vc)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	struct buf b;
	size_t i;

	buf_init(&b);
	buf_printf(&b, "owner %lu group %ld\n", (unsigned long)vc->vc_owner,
	    (long)vc->vc_group);
	vm_conf_text(vc, &b);
	for (i = 0; i < b.b_len; i++) {
		h ^= (unsigned char)b.b_data[i];
		h *= 0x100000001b3ULL;
	}
	buf_free(&b);
	return xprintf("%016llx", h);
}

static int
recorded_state(enum vm_state s)
{
	return s == VS_RUN || s == VS_STOP || s == VS_REMOVE ||
	    s == VS_RESTART;
}

/*
 * A VM being removed is no longer in the file: its record keeps what a
 * bmd started after a crash needs to finish the removal (the keys that
 * stop it and hold others back) in the text form the parser reads.
 */
static const char *const removal_keys[] = {
	"backend", "stop_timeout", "disk", NULL
};

static json_t *
removal_json(const struct vm_conf *vc)
{
	const struct conf_key *k;
	const struct clist *l;
	json_t *keys = json_object(), *items;
	struct buf b;
	size_t i, j;

	buf_init(&b);
	for (i = 0; removal_keys[i] != NULL; i++) {
		if ((k = keys_find(removal_keys[i])) == NULL)
			continue;
		if (!(k->k_flags & KEY_LIST)) {
			buf_reset(&b);
			key_text(k, vc, &b);
			json_object_set_new(keys, k->k_name,
			    json_text(buf_str(&b)));
			continue;
		}
		l = key_cptr(k, vc);
		items = json_array();
		for (j = 0; j < l->l_n; j++) {
			buf_reset(&b);
			key_item_text(k, vc, j, &b);
			json_array_append_new(items, json_text(buf_str(&b)));
		}
		json_object_set_new(keys, k->k_name, items);
	}
	buf_free(&b);
	return json_pack("{s:i,s:o,s:o}", "id", vc->vc_id, "owner_name",
	    json_text(vc->vc_owner_name), "keys", keys);
}

/*
 * Before an upgrade's exec every record also says how to remove its VM
 * (as in REMOVE): the file may change between the upgrade's check and
 * the new program's read, and a VM it no longer has is then removed,
 * as a reload would, not left to nobody.  Its next state change, at the
 * adoption, writes the record without it.
 */
static int	upgrading;

static json_t *
rec_json(const struct vm *vm)
{
	const struct vm_conf *vc = vm->vm_conf;
	const struct vm_run *rn = vm->vm_run;
	/* the uid it runs as once executed (the child may not be there yet) */
	uid_t uid = owner_unprivileged(vc) ? vc->vc_owner : 0;
	char *digest = rn->rn_digest != NULL ? xstrdup(rn->rn_digest) :
	    conf_digest(vc);
	json_t *j, *times = json_array(), *disks;
	int i;

	for (i = 0; i < vm->vm_ncrash; i++)
		json_array_append_new(times, json_integer(vm->vm_crash[i]));
	j = json_pack("{s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s,s:b,s:o,s:o,"
	    "s:I,s:s}",
	    "version", RUNREC_VERSION, "name", vc->vc_name, "backend",
	    conf_backend_name(vc->vc_backend), "owner", (json_int_t)vc->vc_owner,
	    "uid", (json_int_t)uid, "pid", (json_int_t)vm->vm_pid,
	    "ident", (json_int_t)rn->rn_ident, "started",
	    (json_int_t)rn->rn_started, "state", vm_state_name(vm->vm_state),
	    "digest", digest, "install", vm->vm_install || vc->vc_install,
	    "taps", net_tap_names(vm), "crash_times", times, "restarts",
	    (json_int_t)vm->vm_restarts, "boot",
	    conf_boot_name(vc->vc_boot));
	if (j != NULL && rn->rn_drv->d_record != NULL)
		json_object_set_new(j, "driver", rn->rn_drv->d_record(vm));
	if (j != NULL && (disks = owner_files_json(owner_files_of(vm))) !=
	    NULL)
		json_object_set_new(j, "disks", disks);
	if (j != NULL && vm->vm_state == VS_REMOVE)
		json_object_set_new(j, "removing", removal_json(vc));
	else if (j != NULL && upgrading)
		json_object_set_new(j, "unless_configured", removal_json(vc));
	/*
	 * A stop asked for, or bmd's own as it exits: a bmd started
	 * meanwhile goes on with it (stop_again).
	 */
	if (j != NULL && vm->vm_state == VS_STOP &&
	    (vm->vm_intent == VE_STOP_REQ || vm->vm_intent == VE_POWEROFF ||
	    vm->vm_intent == VE_DAEMON_STOP))
		json_object_set_new(j, "stopping", json_pack("{s:s,s:I}",
		    "event", vm_event_name(vm->vm_intent), "by",
		    (json_int_t)vm->vm_intent_uid));
	free(digest);
	return j;
}

/* Write the record of a running VM: a new file renamed over the old. */
int
runrec_update(struct vm *vm)
{
	const struct vm_run *rn = vm->vm_run;
	char *path, *tmp, *text;
	json_t *j;
	size_t len;
	int fd, ok;

	if (rn == NULL || vm->vm_pid == 0 || !recorded_state(vm->vm_state) ||
	    rn->rn_nextproc < rn->rn_cmd.cl_nprocs)
		return 0;	/* no hypervisor (a loader is never adopted) */
	path = rec_path(vm->vm_conf->vc_name);
	tmp = xprintf("%s.new", path);
	j = rec_json(vm);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	len = text != NULL ? strlen(text) : 0;
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	/*
	 * Whole before the rename, so that a bmd that dies leaves the old
	 * record or the new.  No fsync: the record describes processes, and
	 * a host crash that could lose it takes them with it; on a disk run
	 * directory it cost each boot ~10 ms before the reply.
	 */
	ok = fd != -1 && write(fd, text, len) == (ssize_t)len &&
	    write(fd, "\n", 1) == 1;
	if (fd != -1 && close(fd) == -1)
		ok = 0;
	if (!ok || rename(tmp, path) == -1) {
		log_warn("vm %s: runtime record %s", vm->vm_conf->vc_name,
		    path);
		(void)unlink(tmp);
		ok = 0;
	}
	free(text);
	free(tmp);
	free(path);
	return ok ? 0 : -1;
}

/* Before an upgrade's exec (on = 1), or after it failed: -1, not saved. */
int
runrec_upgrade(int on)
{
	struct vm *vm;
	size_t i;
	int rc = 0;

	upgrading = on;
	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if (vm->vm_run != NULL && runrec_update(vm) == -1)
			rc = -1;
	upgrading = 0;
	return rc;
}

void
runrec_remove(const struct vm *vm)
{
	char *path = rec_path(vm->vm_conf->vc_name);

	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("vm %s: unlink %s", vm->vm_conf->vc_name, path);
	free(path);
}

/* The record, if a sane one exists: root's regular file, small, JSON. */
static json_t *
rec_read(const char *path)
{
	char buf[RUNREC_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    st.st_size >= RUNREC_MAX) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return NULL;
	return json_loadb(buf, (size_t)n, 0, NULL);
}

static long long
rec_int(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Why the record does not describe a live process of this VM, or NULL. */
static const char *
rec_stale(const char *vmname, json_t *rec)
{
	const char *name = json_string_value(json_object_get(rec, "name"));
	const char *be = json_string_value(json_object_get(rec, "backend"));
	long long pid = rec_int(rec, "pid"), ruid = rec_int(rec, "uid");
	unsigned long long ident;
	uid_t uid;

	if (rec == NULL || rec_int(rec, "version") != RUNREC_VERSION)
		return "unreadable or of another version";
	if (name == NULL || strcmp(name, vmname) != 0 ||
	    be == NULL || pid <= 1 || ruid < 0)
		return "incomplete";
	if (plat_proc_identity((pid_t)pid, &ident, &uid) == -1)
		return "the process is gone";
	if (ident != (unsigned long long)rec_int(rec, "ident"))
		return "the pid now belongs to another process";
	if ((long long)uid != ruid)
		return "the process runs as another user";
	return NULL;
}

/* The restart counters go on where the earlier bmd left them. */
static void
adopt_counters(struct vm *vm, json_t *rec)
{
	json_t *times = json_object_get(rec, "crash_times"), *t;
	long long total = rec_int(rec, "restarts");
	size_t i;

	if (total > 0 && total < 1000000000LL)
		vm->vm_restarts = (unsigned)total;
	json_array_foreach(times, i, t)
		if (json_is_integer(t) && vm->vm_ncrash < CRASH_LIMIT)
			vm->vm_crash[vm->vm_ncrash++] =
			    (time_t)json_integer_value(t);
}

/* What the run had besides its process: taps, files, counters. */
static void
adopt_parts(struct vm *vm, json_t *rec)
{
	net_adopt(vm, json_object_get(rec, "taps"));
	owner_adopt(vm, json_object_get(rec, "disks"));
	vm->vm_install = json_is_true(json_object_get(rec, "install"));
	adopt_counters(vm, rec);
}

/*
 * The earlier bmd was stopping every VM as it exited (SIGTERM), and
 * died before it was done: this bmd's start is a start, so the stop goes
 * on and the boot mode then decides, as if the VM had stopped in time.
 */
static int
daemon_stop_again(struct vm *vm)
{
	int boots = vm->vm_conf->vc_boot == BOOT_YES ||
	    vm->vm_conf->vc_boot == BOOT_ALWAYS;

	log_info("vm %s: the earlier bmd was stopping it as it exited: the "
	    "stop goes on%s", vm->vm_conf->vc_name, boots ? ", then it "
	    "starts again (boot mode)" : "");
	vm_event(vm, boots ? VE_RELOAD_RESTART : VE_RELOAD_STOP);
	return 1;
}

/*
 * A stop asked for, and under way when the earlier bmd ended: asked
 * again, for whoever asked (the power button again, then stop_timeout;
 * or the quit of a poweroff).  1: it was.
 */
static int
stop_again(struct vm *vm, json_t *stopping)
{
	const char *ev = json_string_value(json_object_get(stopping, "event"));
	long long by = rec_int(stopping, "by");
	enum vm_event e = VE_STOP_REQ;

	if (ev == NULL || by < 0)
		return 0;
	if (strcmp(ev, vm_event_name(VE_DAEMON_STOP)) == 0)
		return daemon_stop_again(vm);
	if (strcmp(ev, vm_event_name(VE_POWEROFF)) == 0)
		e = VE_POWEROFF;
	else if (strcmp(ev, vm_event_name(VE_STOP_REQ)) != 0)
		return 0;
	log_info("vm %s: it was stopping when the earlier bmd ended: the stop "
	    "goes on", vm->vm_conf->vc_name);
	why_request(vm, e, (uid_t)by);
	vm_event(vm, e);
	return 1;
}

/*
 * The boot mode went to "no" since the process started (a reload that
 * was stopping it, or a file edited while bmd was down): stopped, as a
 * reload would, for no later reload sees that change.
 */
static int
boot_became_no(struct vm *vm, json_t *was)
{
	const char *b = json_string_value(was);

	if (b == NULL || vm->vm_conf->vc_boot != BOOT_NO ||
	    strcmp(b, conf_boot_name(BOOT_NO)) == 0)
		return 0;
	log_info("vm %s: its boot mode is now \"no\" (it started with "
	    "\"%s\"): it stops, as a reload would stop it",
	    vm->vm_conf->vc_name, b);
	vm_event(vm, VE_RELOAD_STOP);
	return 1;
}

static void
adopt_taken(struct vm *vm, json_t *rec)
{
	const struct vm_conf *vc = vm->vm_conf;
	char *digest = conf_digest(vc);
	const char *was = json_string_value(json_object_get(rec, "digest"));
	int changed = was == NULL || strcmp(was, digest) != 0;

	free(digest);
	adopt_parts(vm, rec);
	/* until it restarts, the process runs what the record says */
	if (was != NULL)
		vm->vm_run->rn_digest = xstrdup(was);
	log_info("vm %s: adopted process %d left by an earlier bmd",
	    vc->vc_name, (int)vm->vm_pid);
	vm_event(vm, VE_ADOPT);
	if (stop_again(vm, json_object_get(rec, "stopping")) ||
	    boot_became_no(vm, json_object_get(rec, "boot")))
		return;
	if (!changed)
		return;
	if (vc->vc_reboot_on_change && vc->vc_boot != BOOT_NO) {
		log_info("vm %s: configuration changed since it started; "
		    "reboot", vc->vc_name);
		vm_event(vm, VE_RELOAD_RESTART);
	} else
		log_info("vm %s: configuration changed since it started; the "
		    "new one takes effect at its next start", vc->vc_name);
}

/* The loader of a VM killed at start-up is gone: the boot mode decides. */
static void
loader_gone(pid_t pid, int st, void *arg)
{
	char *name = arg;
	struct vm *vm = vm_find(name);

	(void)pid;
	(void)st;
	if (vm != NULL && vm->vm_pid == 0 && vm->vm_state == VS_TERMINATE &&
	    vm->vm_conf->vc_boot != BOOT_NO)
		vm_schedule_boot(vm, vm->vm_conf->vc_boot_delay);
	free(name);
}

/*
 * The lock is held by the VM's loader (bhyveload, grub-bhyve), left by a
 * bmd that died while it ran: no runtime record is ever written for a
 * loader, which is not the VM, and one waiting for commands that never
 * come would hold the VM's lock forever.  It is killed; once it has
 * ended, the boot mode decides, as for a VM that was not running.
 */
static int
adopt_loader(struct vm *vm, pid_t pid)
{
	const char *name = vm->vm_conf->vc_name;
	unsigned long long ident;
	char *arg = xstrdup(name);
	uid_t uid;

	if (pid <= 1 || plat_proc_identity(pid, &ident, &uid) == -1 ||
	    uid != 0 || proc_watch_adopted(pid, loader_gone, arg) == -1) {
		log_warnx("vm %s: its lock is held, but not by the loader its "
		    "file names (pid %ld); not adopted, not started", name,
		    (long)pid);
		free(arg);
		return 1;
	}
	log_info("vm %s: its loader (pid %ld), left by an earlier bmd, holds "
	    "its lock: killed; its boot mode decides once it has ended", name,
	    (long)pid);
	(void)kill(pid, SIGKILL);
	return 1;
}

/*
 * No usable record, but the VM's lock is held: the holder the lock file
 * names is adopted if it is the VM's hypervisor (the uid it must run as,
 * answering on the VM's socket), and killed if it is its loader.  1:
 * taken care of; 0: nothing runs.
 */
static int
adopt_by_lock(struct vm *vm)
{
	const struct vm_conf *vc = vm->vm_conf;
	uid_t want = owner_unprivileged(vc) ? vc->vc_owner : 0, uid;
	unsigned long long ident;
	pid_t pid;
	int loader;

	if (vmlock_holder(bmd.b_lock_dir, vc->vc_owner, vc->vc_name,
	    &pid, &loader) != 1)
		return 0;
	if (loader)
		return adopt_loader(vm, pid);
	if (pid <= 1 || plat_proc_identity(pid, &ident, &uid) == -1 ||
	    uid != want) {
		log_warnx("vm %s: its lock is held, but not by its hypervisor "
		    "(pid %ld); not adopted, not started", vc->vc_name,
		    (long)pid);
		return 1;
	}
	if (run_adopt(vm, pid, ident, 0, NULL, 0) == -1) {
		log_warnx("vm %s: process %ld holds its lock but does not "
		    "answer as the VM; not adopted, not started", vc->vc_name,
		    (long)pid);
		return 1;
	}
	log_info("vm %s: adopted process %ld, found by the VM's lock (no "
	    "usable runtime record)", vc->vc_name, (long)pid);
	vm_event(vm, VE_ADOPT);
	return 1;
}

/*
 * Start-up with 10,000 VMs: the names in the run directory and in the
 * lock directories, read once, so that a VM with neither a record nor a
 * lock file (most of them) costs no system call.  Without the snapshot
 * (a directory could not be read) every VM is looked at on its own.
 */
static struct strmap	present;	/* full paths */
static int		snapshot;

static int
add_dir(const char *dir, int depth)
{
	struct dirent *de;
	char *path;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		path = xprintf("%s/%s", dir, de->d_name);
		strmap_put(&present, path, &present);
		/* the lock root holds one directory per owner */
		if (depth > 0 && de->d_type != DT_REG)
			rc = add_dir(path, depth - 1);
		free(path);
	}
	closedir(d);
	return rc;
}

void
adopt_begin(void)
{
	strmap_init(&present);
	snapshot = add_dir(bmd.b_run_dir, 0) == 0 &&
	    add_dir(bmd.b_lock_dir, 1) == 0;
}

void
adopt_end(void)
{
	strmap_free(&present, NULL);
	snapshot = 0;
}

/* Might vm have a process: a record or a lock file (or no snapshot)? */
static int
maybe_running(const struct vm_conf *vc)
{
	char *rec, *lock;
	int yes;

	if (!snapshot)
		return 1;
	rec = rec_path(vc->vc_name);
	lock = vmlock_path(bmd.b_lock_dir, vc->vc_owner, vc->vc_name);
	yes = strmap_has(&present, rec) || strmap_has(&present, lock);
	free(rec);
	free(lock);
	return yes;
}

/*
 * Start-up: adopt vm's process if its record proves it alive.  1: the
 * VM is taken care of (adopted, or alive and left alone); 0: start it
 * as the boot mode says.
 */
int
adopt_vm(struct vm *vm)
{
	const struct vm_conf *vc = vm->vm_conf;
	char *path;
	json_t *rec;
	const char *why;
	long long pid;
	int rc = 1;

	if (!maybe_running(vc))
		return 0;
	path = rec_path(vc->vc_name);
	rec = rec_read(path);
	pid = rec_int(rec, "pid");

	if (rec == NULL && access(path, F_OK) == -1) {
		free(path);
		return adopt_by_lock(vm);
	}
	if ((why = rec_stale(vc->vc_name, rec)) != NULL) {
		log_info("vm %s: runtime record %s is stale (%s); removed",
		    vc->vc_name, path, why);
		net_forget(json_object_get(rec, "taps"));
		(void)unlink(path);
		rc = adopt_by_lock(vm);
	} else if (rec_int(rec, "owner") != (long long)vc->vc_owner) {
		log_warnx("vm %s: process %lld runs for uid %lld, but the "
		    "configuration now gives the VM to uid %lu; not adopted, "
		    "not started", vc->vc_name, pid, rec_int(rec, "owner"),
		    (unsigned long)vc->vc_owner);
	} else if (run_adopt(vm, (pid_t)pid, (unsigned long long)rec_int(rec,
	    "ident"), (time_t)rec_int(rec, "started"),
	    json_object_get(rec, "driver"), 1) == -1) {
		log_warnx("vm %s: process %lld is alive but does not answer "
		    "as the VM; not adopted, not started", vc->vc_name, pid);
	} else
		adopt_taken(vm, rec);
	json_decref(rec);
	free(path);
	return rc;
}

/* The configuration a removal goes on with (removal_json), or NULL. */
static struct vm_conf *
removal_conf(const char *name, json_t *rec, const char *key)
{
	json_t *r = json_object_get(rec, key), *keys, *v, *item;
	const char *kname, *who;
	const struct conf_key *k;
	struct vm_conf *vc;
	struct buf err;
	size_t i;
	int bad = 0;

	if (!json_is_object(keys = json_object_get(r, "keys")))
		return NULL;
	vc = vm_conf_new();
	vc->vc_name = intern(name);
	vc->vc_owner = (uid_t)rec_int(rec, "owner");
	vc->vc_id = (int)rec_int(r, "id");
	who = json_string_value(json_object_get(r, "owner_name"));
	vc->vc_owner_name = intern(who);
	buf_init(&err);
	json_object_foreach(keys, kname, v) {
		if ((k = keys_find(kname)) == NULL)
			bad = 1;
		else if (json_is_string(v))
			bad |= key_set(k, vc, json_string_value(v), 0, NULL,
			    &err) == -1;
		else
			json_array_foreach(v, i, item)
				bad |= !json_is_string(item) ||
				    key_set(k, vc, json_string_value(item), 1,
				    NULL, &err) == -1;
	}
	buf_free(&err);
	if (!bad && vc->vc_id >= 0 && vc->vc_owner_name != NULL &&
	    rec_int(rec, "owner") >= 0)
		return vc;
	vm_conf_free(vc);
	return NULL;
}

/*
 * The record of a VM the earlier bmd was removing (a reload took it out
 * of the file) when it died: its process is adopted under what the
 * record kept and the removal goes on (power button, stop_timeout, quit),
 * so that it is not left running to nobody, and a VM renamed from it
 * waits for its disk as after the reload.  0: not such a record.
 */
static int
adopt_removal(const char *name)
{
	char *path = rec_path(name);
	json_t *rec = rec_read(path);
	const char *st = json_string_value(json_object_get(rec, "state"));
	const char *why = NULL;
	struct vm_conf *vc = NULL;
	struct vm *vm;
	long long pid = rec_int(rec, "pid");
	int removing = st != NULL && strcmp(st, vm_state_name(VS_REMOVE)) == 0;

	if (st == NULL || (vc = removal_conf(name, rec, removing ?
	    "removing" : "unless_configured")) == NULL) {
		json_decref(rec);
		free(path);
		return 0;
	}
	if ((why = rec_stale(name, rec)) != NULL) {
		log_info("vm %s: runtime record %s is stale (%s); removed",
		    name, path, why);
		net_forget(json_object_get(rec, "taps"));
		(void)unlink(path);
		vm_conf_free(vc);
	} else if (run_adopt(vm = vm_add(vc), (pid_t)pid,
	    (unsigned long long)rec_int(rec, "ident"), (time_t)rec_int(rec,
	    "started"), json_object_get(rec, "driver"), 1) == -1) {
		log_warnx("vm %s: process %lld, which an earlier bmd was "
		    "removing, does not answer as the VM; left alone", name,
		    pid);
		vm_delete(vm);
	} else {
		adopt_parts(vm, rec);
		log_info("vm %s: adopted process %d left by an earlier bmd, "
		    "%s: the removal goes on", name, (int)vm->vm_pid,
		    removing ? "which was removing it from the configuration" :
		    "before an upgrade, and no longer configured");
		vm_event(vm, VE_ADOPT);
		vm_event(vm, VE_RELOAD_REMOVE);
	}
	json_decref(rec);
	free(path);
	return 1;
}

/*
 * Records of VMs no longer configured: their processes are left alone,
 * but for those an earlier bmd was removing, or had running when it
 * executed an upgrade.
 */
void
adopt_orphans(void)
{
	struct dirent *de;
	size_t len, sl = strlen(RUNREC_SUFFIX);
	char *name;
	DIR *d;

	if ((d = opendir(bmd.b_run_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= sl || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - sl, RUNREC_SUFFIX) != 0)
			continue;
		name = xstrndup(de->d_name, len - sl);
		if (vm_find(name) == NULL && !adopt_removal(name))
			log_warnx("vm %s: a runtime record exists but the VM "
			    "is not configured; its process (if any) is left "
			    "alone, and adopted if a reload configures it",
			    name);
		free(name);
	}
	closedir(d);
}
