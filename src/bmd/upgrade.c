/*
 * Upgrading without downtime: on SIGUSR2 bmd executes its binary again
 * (the new one, once a package has replaced it) in the same process.
 * The VMs keep running; the new program adopts them from their runtime
 * records (adopt.c), and since the pid is the same they are still its
 * children and a service manager sees no change.  SIGTERM keeps its
 * meaning: stop every VM, then exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "log.h"
#include "strmap.h"
#include "vmlock.h"
#include "xmalloc.h"

#define UPGRADE_ENV	"BMD_UPGRADED"
#define LOCK_ENV	"BMD_DAEMON_LOCK"	/* its descriptor's number */

static char	 *self_path;
static char	**self_argv;
static int	  checking;	/* the configuration is being read for it */
static char	 *stopped_file;	/* after an upgrade: write_stopped's list */
static struct strmap stopped;	/* its names */

/* At start: remember how to execute this program again. */
void
upgrade_init(int argc, char **argv)
{
	char path[PATH_MAX];
	int i;

	if (plat_self_path(path, sizeof(path)) == 0)
		self_path = xstrdup(path);
	self_argv = xcalloc((size_t)argc + 1, sizeof(*self_argv));
	for (i = 0; i < argc; i++)
		self_argv[i] = xstrdup(argv[i]);
}

/*
 * The run directory's lock the previous program passed on, made
 * close-on-exec at once: the first load may run processes as users.
 */
static int
inherited_lock(void)
{
	const char *v = getenv(LOCK_ENV);
	char *end;
	long fd;

	if (v == NULL)
		return -1;
	fd = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || fd < 3 || fd > INT_MAX ||
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1)
		fd = -1;
	unsetenv(LOCK_ENV);
	return (int)fd;
}

static int	lock_fd = -1;

/*
 * Was this process started by upgrade_exec?  Asked once, first thing.
 * The variable names the file of the VMs that the previous program had
 * stopped.
 */
int
upgrade_resumed(void)
{
	const char *v = getenv(UPGRADE_ENV);
	int resumed = v != NULL;

	if (v != NULL && *v == '/')
		stopped_file = xstrdup(v);
	unsetenv(UPGRADE_ENV);
	if (resumed)
		lock_fd = inherited_lock();
	else
		unsetenv(LOCK_ENV);	/* not ours to touch */
	return resumed;
}

/*
 * After an upgrade: the run directory's lock, inherited (never let go,
 * so no other bmd can take the VMs meanwhile), or -1.
 */
int
upgrade_daemon_lock(void)
{
	int fd = lock_fd;

	lock_fd = -1;
	if (fd != -1 && !vmlock_daemon_is(bmd.b_lock_dir, fd)) {
		(void)close(fd);	/* another run directory now */
		fd = -1;
	}
	return fd;
}

/* The lock passes to the new program, and only to it. */
static void
lock_on_exec(int keep)
{
	char num[16];

	(void)fcntl(bmd.b_daemon_lock, F_SETFD, keep ? 0 : FD_CLOEXEC);
	(void)snprintf(num, sizeof(num), "%d", bmd.b_daemon_lock);
	if (keep)
		setenv(LOCK_ENV, num, 1);
	else
		unsetenv(LOCK_ENV);
}

/*
 * A VM between two states that a record cannot describe, or NULL: a
 * record holds a running process, not a stop under way (its stop_timeout,
 * a removal, a start that is to follow).
 */
static const struct vm *
transient_vm(void)
{
	const struct vm *vm;
	size_t i;

	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		switch (vm->vm_state) {
		case VS_PRESTART:
		case VS_LOAD:
		case VS_POSTSTOP:
		case VS_STOP:
		case VS_REMOVE:
		case VS_RESTART:
			return vm;
		default:
			break;
		}
	return NULL;
}

/*
 * The VMs that are stopped and not about to start, one name a line: the
 * new program must not boot them as a daemon start would.  NULL: the
 * file could not be written.
 */
static char *
write_stopped(void)
{
	char *path = xprintf("%s/upgrade.stopped", bmd.b_run_dir);
	const struct vm *vm;
	FILE *f = NULL;
	size_t i;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL)
		goto fail;
	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if ((vm->vm_state == VS_TERMINATE ||
		    vm->vm_state == VS_FAILED) &&
		    !vm_timer_pending(vm, VE_BOOT_TIMER))
			fprintf(f, "%s\n", vm_ident(vm)->vc_name);
	if (fclose(f) == 0)
		return path;
	f = NULL;
	fd = -1;
fail:
	log_warn("upgrade: %s", path);
	if (f != NULL)
		fclose(f);
	else if (fd != -1)
		close(fd);
	unlink(path);
	free(path);
	return NULL;
}

/* After an upgrade, at start: read (and remove) the stopped VMs' list. */
void
upgrade_stopped_load(void)
{
	char line[512];
	size_t len;
	FILE *f;

	if (stopped_file == NULL)
		return;
	strmap_init(&stopped);
	if ((f = fopen(stopped_file, "re")) == NULL) {
		log_warn("upgrade: %s", stopped_file);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((len = strlen(line)) > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		strmap_put(&stopped, line, NULL);
	}
	fclose(f);
	unlink(stopped_file);
}

/* Had the previous program stopped this VM (so that it stays so)? */
int
upgrade_kept_stopped(const char *name)
{
	return stopped_file != NULL && strmap_has(&stopped, name);
}

void
upgrade_stopped_free(void)
{
	if (stopped_file == NULL)
		return;
	strmap_free(&stopped, NULL);
	free(stopped_file);
	stopped_file = NULL;
}

/*
 * The new program reads the configuration first: a fatal error there
 * would end it at once, with every VM left to nobody, and another run
 * directory would hide them from it.
 */
static int
loadable(struct conf *c, struct diags *ds)
{
	const char *rd = c->c_global.gc_run_directory;
	size_t i;

	if (c->c_fatal) {
		for (i = 0; i < ds->ds_n &&
		    ds->ds_v[i].d_level != DIAG_ERROR; i++)
			;
		log_warnx("upgrade: not re-executed: %s", i < ds->ds_n ?
		    ds->ds_v[i].d_text : "the configuration cannot be "
		    "loaded");
		return 0;
	}
	/* the records and locks of the running VMs are where they are */
	if (rd != NULL && strcmp(rd, bmd.b_run_dir) != 0) {
		log_warnx("upgrade: not re-executed: run_directory changed from "
		    "%s to %s; the running VMs are known only there (stop bmd "
		    "to move it)", bmd.b_run_dir, rd);
		return 0;
	}
	return 1;
}

/*
 * The new program adopts a running VM only when the file still has it
 * for the same owner: an edit not yet reloaded (a VM renamed, removed or
 * given away, or a file that does not load now) would leave its process
 * to nobody, and start a renamed VM a second time on the same disks.
 */
static int
keeps_running(const struct conf *c)
{
	const struct vm_conf *oc, *nc;
	const struct vm *vm;
	size_t i;

	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		if (vm->vm_pid == 0)
			continue;
		oc = vm->vm_conf;
		if ((nc = conf_find_vm(c, oc->vc_name)) == NULL) {
			log_warnx("upgrade: not re-executed: vm %s runs and "
			    "the configuration %s; the new program would "
			    "leave it to nobody", oc->vc_name,
			    reload_keeps(c, vm) ? "does not load it now (its "
			    "file has errors or cannot be read)" : "no longer "
			    "has it (a reload stops it)");
			return 0;
		}
		if (nc->vc_owner != oc->vc_owner) {
			log_warnx("upgrade: not re-executed: vm %s runs for "
			    "uid %lu and the configuration now gives it to "
			    "uid %lu; the new program could not adopt it (a "
			    "reload restarts it)", oc->vc_name,
			    (unsigned long)oc->vc_owner,
			    (unsigned long)nc->vc_owner);
			return 0;
		}
	}
	return 1;
}

static void
upgrade_loaded(struct conf *c, struct diags *ds, void *arg)
{
	const struct vm *vm;
	char *list;
	int ok;

	(void)arg;
	checking = 0;
	if (c == NULL)
		return;
	ok = loadable(c, ds) && keeps_running(c);
	conf_free(c);
	diags_free(ds);
	if (!ok)
		return;
	if (bmd.b_stopping) {
		log_warnx("upgrade: bmd is stopping; not re-executed");
		return;
	}
	if ((vm = transient_vm()) != NULL || api_children() > 0) {
		log_warnx("upgrade: %s%s%s; try again in a moment", vm != NULL ?
		    "vm " : "plugin commands are running", vm != NULL ?
		    vm->vm_conf->vc_name : "", vm != NULL ? " is starting or "
		    "stopping" : "");
		return;
	}
	if ((list = write_stopped()) == NULL) {
		log_warnx("upgrade: not re-executed: the new program could "
		    "not be told which VMs are stopped");
		return;
	}
	if (runrec_upgrade(1) == -1) {
		log_warnx("upgrade: not re-executed: the runtime records could "
		    "not all be written");
		(void)runrec_upgrade(0);
		unlink(list);
		free(list);
		return;
	}
	holders_save();		/* who has which name, for the first load */
	log_info("upgrade: executing %s; the VMs keep running", self_path);
	plugin_fini_all();
	control_close();
	setenv(UPGRADE_ENV, list, 1);
	lock_on_exec(1);
	/*
	 * A signal that comes while the new program starts must wait for
	 * its handlers (blocked and pending signals outlive execv): with
	 * the default action, a reload at that moment would kill bmd.
	 */
	block_signals(SIG_BLOCK);
	execv(self_path, self_argv);
	block_signals(SIG_UNBLOCK);
	log_warn("upgrade: cannot execute %s", self_path);
	(void)runrec_upgrade(0);
	lock_on_exec(0);
	unsetenv(UPGRADE_ENV);
	unlink(list);
	free(list);
	plugin_init_all();
	if (control_listen() == 0)
		control_start();
}

/* SIGUSR2: the configuration is read (off the event loop), then exec. */
void
upgrade_exec(void)
{
	if (self_path == NULL) {
		log_warnx("upgrade: the path of bmd's program is unknown");
		return;
	}
	if (bmd.b_stopping) {
		log_warnx("upgrade: bmd is stopping; not re-executed");
		return;
	}
	if (checking) {
		log_warnx("upgrade: already reading the configuration");
		return;
	}
	checking = 1;
	loadjob_submit(upgrade_loaded, NULL);
}
