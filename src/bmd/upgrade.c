/*
 * Upgrading without downtime: on SIGUSR2 bmd executes its binary again
 * (the new one, once a package has replaced it) in the same process.
 * The VMs keep running; the new program adopts them from their runtime
 * records (adopt.c), and since the pid is the same they are still its
 * children and a service manager sees no change.  SIGTERM keeps its
 * meaning: stop every VM, then exit.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "log.h"
#include "xmalloc.h"

#define UPGRADE_ENV	"BMD_UPGRADED"

static char	 *self_path;
static char	**self_argv;
static int	  checking;	/* the configuration is being read for it */

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

/* Was this process started by upgrade_exec?  Asked once. */
int
upgrade_resumed(void)
{
	int resumed = getenv(UPGRADE_ENV) != NULL;

	unsetenv(UPGRADE_ENV);
	return resumed;
}

/* A VM between two states that a record cannot describe, or NULL. */
static const struct vm *
transient_vm(void)
{
	const struct vm *vm;
	size_t i;

	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if (vm->vm_state == VS_PRESTART || vm->vm_state == VS_LOAD ||
		    vm->vm_state == VS_POSTSTOP)
			return vm;
	return NULL;
}

/* The new program reads the configuration first: a fatal error there
 * would end it at once, with every VM left to nobody. */
static int
loadable(struct conf *c, struct diags *ds)
{
	size_t i;

	if (!c->c_fatal)
		return 1;
	for (i = 0; i < ds->ds_n && ds->ds_v[i].d_level != DIAG_ERROR; i++)
		;
	log_warnx("upgrade: not re-executed: %s", i < ds->ds_n ?
	    ds->ds_v[i].d_text : "the configuration cannot be loaded");
	return 0;
}

static void
upgrade_loaded(struct conf *c, struct diags *ds, void *arg)
{
	const struct vm *vm;
	int ok;

	(void)arg;
	checking = 0;
	if (c == NULL)
		return;
	ok = loadable(c, ds);
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
	log_info("upgrade: executing %s; the VMs keep running", self_path);
	plugin_fini_all();
	control_close();
	setenv(UPGRADE_ENV, "1", 1);
	execv(self_path, self_argv);
	log_warn("upgrade: cannot execute %s", self_path);
	unsetenv(UPGRADE_ENV);
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
