/*
 * bmd: the daemon's entry point: options, start-up, signals and the
 * graceful stop.  The VM life cycle lives in fsm.c, the control socket
 * in control.c.
 *
 * For the man page: command-line options override the configuration
 * file's global keys (-P over pid_file, -p over plugin_directory, -m over
 * cmd_socket_mode).  Global keys are read at start only.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "log.h"
#include "paths.h"
#include "plugin_keys.h"
#include "version.h"
#include "vmlock.h"
#include "xmalloc.h"

struct bmd bmd;

struct options {
	const char	*o_conf;
	const char	*o_pid_file;
	const char	*o_plugin_dir;
	const char	*o_sock_mode;
	const char	*o_log_file;	/* -l: instead of syslog */
	int		 o_foreground;
	int		 o_check;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: bmd [-FnV] [-f config] [-l logfile] [-P pidfile] "
	    "[-p plugindir] [-m sockmode]\n"
	    "       bmd -h | --help | -V | --version\n"
	    "  -F  stay in the foreground and log to stderr too\n"
	    "  -f  configuration file (default %s)\n"
	    "  -l  log to this file instead of syslog\n"
	    "  -n  check the configuration, print every error, and exit\n"
	    "  -P  pid file    -p  plugin directory    -m  socket mode\n"
	    "  -V, --version  print the version and exit\n", BMD_CONF_PATH);
}

/*
 * Root's sockets, records and firmware variables sit in the run and vars
 * directories: one that another user could empty, rename or fill is
 * refused, before anything is made in it.  The control socket's
 * directory may be sticky (as /tmp), but one that another user could
 * write otherwise would let her put her own socket in bmd's place, and
 * read what root's bmdctl sends, console keystrokes included.  Why one
 * of them is unsafe, in buf, or NULL.
 */
static const char *
unsafe_dirs(const char *run, const char *vars, const char *sock, char *buf,
    size_t len)
{
	char dir[PATH_MAX], err[PATH_MAX + 64], *slash;

	if (plat_private_dir(run, 0, err, sizeof(err)) == -1)
		snprintf(buf, len, "run_directory %s: %s", run, err);
	else if (plat_private_dir(vars, 0, err, sizeof(err)) == -1)
		snprintf(buf, len, "vars_directory %s: %s", vars, err);
	else if (snprintf(dir, sizeof(dir), "%s", sock) >= (int)sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL)
		return NULL;	/* bind says what is wrong with it */
	else {
		slash[slash == dir] = '\0';
		if (plat_private_dir(dir, 1, err, sizeof(err)) == 0)
			return NULL;
		snprintf(buf, len, "cmd_socket_path %s: %s", sock, err);
	}
	return buf;
}

/*
 * bmd -n: exit 0 only when the configuration is valid; errors of users'
 * files that were left out whole are printed but do not count.
 */
static int
check_config(const char *path)
{
	struct conf_load_opts lo = { .lo_path = path, .lo_check_files = 1,
	    .lo_validate = backend_validate_vm, .lo_discard_vms = 1 };
	char why[2 * PATH_MAX + 64];
	struct conf *c;
	struct diags ds;
	size_t n;
	int rc;

	diags_init(&ds);
	/* lo_discard_vms: nothing here uses a VM once it is checked */
	c = conf_load(&lo, &ds);
	diags_print(&ds, stderr);
	rc = c->c_fatal || ds.ds_nerrors > c->c_nusererrors ? 1 : 0;
	/* what would stop the daemon at its start */
	if (!c->c_fatal && unsafe_dirs(c->c_global.gc_run_directory,
	    c->c_global.gc_vars_directory, c->c_global.gc_cmd_socket_path,
	    why, sizeof(why)) != NULL) {
		fprintf(stderr, "%s: %s\n", path, why);
		rc = 1;
	}
	n = c->c_naccepted;
	if (rc == 0)
		fprintf(stderr, "%s: configuration OK (%zu VM%s%s)\n", path,
		    n, n == 1 ? "" : "s", c->c_nusererrors ?
		    "; users' files with errors are left out" : "");
	conf_free(c);
	diags_free(&ds);
	return rc;
}

/* -v: the version flag of earlier releases, kept for their scripts. */
static const struct option long_options[] = {
	{ "help",	no_argument,	NULL,	'h' },
	{ "version",	no_argument,	NULL,	'V' },
	{ NULL,		0,		NULL,	0 }
};

/* 0: go on; otherwise 1 + the exit status (usage errors: 2). */
static int
parse_options(int argc, char **argv, struct options *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->o_conf = BMD_CONF_PATH;
	while ((ch = getopt_long(argc, argv, "Ff:hl:m:nP:p:Vv", long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'F':
			o->o_foreground = 1;
			break;
		case 'f':
			o->o_conf = optarg;
			break;
		case 'l':
			o->o_log_file = optarg;
			break;
		case 'n':
			o->o_check = 1;
			break;
		case 'V':
		case 'v':
			printf("bmd %s\n", BMD_VERSION);
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		case 'm':
			o->o_sock_mode = optarg;
			break;
		case 'P':
			o->o_pid_file = optarg;
			break;
		case 'p':
			o->o_plugin_dir = optarg;
			break;
		default:
			usage(stderr);
			return 3;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bmd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 3;
	}
	return 0;
}

static char *
nulldup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Global settings: the command line wins over the file. */
static void
apply_globals(const struct options *o, const struct global_conf *gc)
{
	const char *mode = o->o_sock_mode ? o->o_sock_mode :
	    gc->gc_cmd_socket_mode;

	bmd.b_sock_path = xstrdup(gc->gc_cmd_socket_path);
	bmd.b_run_dir = xstrdup(gc->gc_run_directory);
	bmd.b_cgroup = nulldup(gc->gc_cgroup);
	bmd.b_lock_dir = vmlock_root(gc->gc_run_directory);
	bmd.b_vars_dir = xstrdup(gc->gc_vars_directory);
	bmd.b_freebsd_version = (long)gc->gc_freebsd_version;
	bmd.b_nmdm_offset = gc->gc_nmdm_offset;
	bmd.b_bhyve_prog[0] = nulldup(gc->gc_bhyve_program);
	bmd.b_bhyve_prog[1] = nulldup(gc->gc_bhyvectl_program);
	bmd.b_bhyve_prog[2] = nulldup(gc->gc_bhyveload_program);
	bmd.b_bhyve_prog[3] = nulldup(gc->gc_grub_bhyve_program);
	bmd.b_console_buffer = (size_t)gc->gc_console_buffer.m_bytes;
	bmd.b_plugin_dir = xstrdup(o->o_plugin_dir ? o->o_plugin_dir :
	    gc->gc_plugin_directory);
	if (!o->o_foreground)
		bmd.b_pid_file = xstrdup(o->o_pid_file ? o->o_pid_file :
		    gc->gc_pid_file);
	if (conf_parse_mode(mode, &bmd.b_sock_mode) == -1)
		fatalx("invalid socket mode \"%s\"", mode);
	quota_set(gc);
	if (limit_set(LIM_CONN, gc->gc_max_connections,
	    gc->gc_max_connections_per_user) == -1 ||
	    limit_set(LIM_CONSOLE, gc->gc_max_consoles,
	    gc->gc_max_consoles_per_user) == -1)
		fatalx("invalid limits in the global section");
}

/* The initial load: a syntax error stops the daemon; bad VMs are left out. */
static void
load_initial(const struct options *o)
{
	struct conf_load_opts lo = { .lo_path = bmd.b_conf_path,
	    .lo_check_files = 1, .lo_validate = backend_validate_vm };
	struct user_info **owners;
	struct idmap *saved;
	struct diags ds;
	struct conf *c;
	size_t i, n;

	lo.lo_ids = bmd.b_ids = idmap_new();

	diags_init(&ds);
	c = conf_load(&lo, &ds);
	if (!c->c_fatal && c->c_contested > 0 &&
	    holders_read(c->c_global.gc_run_directory) > 0) {
		/* two users' files define a name: who had it before? */
		log_info("VM names kept by the users who had them, from %s",
		    c->c_global.gc_run_directory);
		conf_free(c);
		diags_free(&ds);
		diags_init(&ds);
		lo.lo_holder = holders_seeded;
		c = conf_load(&lo, &ds);
	}
	if (!c->c_fatal && (saved = ids_read(c->c_global.gc_run_directory)) !=
	    NULL) {
		if (ids_agree(saved, c))
			ids_merge(bmd.b_ids, saved);
		else {
			/* again, numbered as before (not one VM runs yet) */
			log_info("VM IDs as before this start, from %s",
			    c->c_global.gc_run_directory);
			conf_free(c);
			diags_free(&ds);
			diags_init(&ds);
			idmap_free(bmd.b_ids);
			lo.lo_ids = bmd.b_ids = saved;
			saved = NULL;
			c = conf_load(&lo, &ds);
		}
		idmap_free(saved);
	}
	for (i = 0; i < ds.ds_n; i++)
		log_write(ds.ds_v[i].d_level == DIAG_ERROR ? LOG_ERR :
		    LOG_WARNING, "%s", ds.ds_v[i].d_text);
	diags_free(&ds);
	if (c->c_fatal)
		fatalx("cannot load %s", bmd.b_conf_path);
	log_info("load config %s", bmd.b_conf_path);
	apply_globals(o, &c->c_global);
	owners = users_lookup_owners(c, 1, &n);
	for (i = 0; i < n; i++)
		users_put(owners[i]);
	free(owners);
	/*
	 * The VMs are taken as loaded.  Copying them into a heap of their
	 * own, away from the freed syntax trees, used to save memory; now
	 * that they keep no positions and share their strings (intern.c),
	 * a copy would share the strings left among the trees, and costs
	 * as much or more (bench/vmconf-mem).
	 */
	for (i = 0; i < c->c_nvms; i++) {
		vm_add(c->c_vms[i]);
		c->c_vms[i] = NULL;
	}
	conf_free(c);
	holders_seed_free();
	plat_trim_memory();
}

/* The run directory: created 0700 if missing (parents 0755). */
static void
make_run_dir(const char *path)
{
	char tmp[PATH_MAX], *p;
	struct stat st;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		fatalx("%s: path too long", path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
		fatal("mkdir %s", tmp);
	if (stat(tmp, &st) == -1 || !S_ISDIR(st.st_mode))
		fatalx("%s is not a directory", tmp);
}

static void
check_dirs(void)
{
	char why[2 * PATH_MAX + 64];

	if (unsafe_dirs(bmd.b_run_dir, bmd.b_vars_dir, bmd.b_sock_path, why,
	    sizeof(why)) != NULL)
		fatalx("%s", why);
}

/* One daemon per run directory; an upgraded one keeps its lock. */
static void
lock_run_dir(void)
{
	char err[256];
	int fd = upgrade_daemon_lock();

	if (fd == -1 && (fd = vmlock_daemon(bmd.b_lock_dir, err,
	    sizeof(err))) == -1 && errno == EWOULDBLOCK)
		fatalx("run directory %s is in use by another bmd, %s; each "
		    "daemon needs a run_directory of its own", bmd.b_run_dir,
		    err);
	if (fd == -1)
		fatalx("run directory %s: %s", bmd.b_run_dir, err);
	bmd.b_daemon_lock = fd;
}

static void
write_pid_file(void)
{
	FILE *fp = NULL;
	int fd;

	if (bmd.b_pid_file == NULL)
		return;
	/* never through a link another user planted where the file goes */
	fd = open(bmd.b_pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd != -1 && (fp = fdopen(fd, "w")) == NULL)
		close(fd);
	if (fp == NULL) {
		log_warn("%s", bmd.b_pid_file);
		free(bmd.b_pid_file);
		bmd.b_pid_file = NULL;
		return;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) == EOF)
		log_warn("%s", bmd.b_pid_file);
}

/* When stopping: quit once no VM process is left. */
void
bmd_check_done(void)
{
	struct vm *vm;
	size_t i;

	if (!bmd.b_stopping || api_children() > 0)
		return;
	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if (vm->vm_pid != 0 || vm->vm_state == VS_PRESTART ||
		    vm->vm_state == VS_POSTSTOP)
			return;
	event_base_loopbreak(bmd.b_base);
}

/*
 * SIGTERM/SIGINT: ACPI-stop every VM at once, each escalating after its
 * stop_timeout; nothing restarts.  A second signal forces power off.
 */
static void
daemon_stop(void)
{
	struct vm *vm;
	size_t i;

	if (bmd.b_stopping) {
		log_info("stop signal again: forcing every VM off");
		for (i = 0; (vm = vm_at(i)) != NULL; i++)
			vm_event(vm, VE_POWEROFF);
		return;
	}
	log_info("stopping daemon");
	bmd.b_stopping = 1;
	control_close();
	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		vm_event(vm, VE_DAEMON_STOP);
	bmd_check_done();
}

static void
signal_cb(int sig, short what, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		daemon_stop();
		break;
	case SIGHUP:
		(void)reload_all(NULL);
		break;
	case SIGUSR1:
		log_info("reopen err_logfiles and console_logfiles");
		logfile_reopen_all();
		console_reopen_logs();
		log_reopen();
		break;
	case SIGUSR2:
		upgrade_exec();
		break;
	case SIGCHLD:
		proc_sigchld();
		break;
	}
}

static void
add_signal_events(void)
{
	struct event *ev;
	size_t i;

	for (i = 0; i < nhandled_signals; i++) {
		ev = evsignal_new(bmd.b_base, handled_signals[i], signal_cb,
		    NULL);
		if (ev == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("cannot handle signal %d", handled_signals[i]);
	}
}

/*
 * daemon(3) with a handshake: the parent exits only when the child has
 * written the pid file (what a service manager reading it expects), and
 * with the child's failure if it dies before.  Returns the child's end.
 */
static int
detach(void)
{
	int p[2], nul;
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((nul = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(nul, 0);
	dup2(nul, 1);
	dup2(nul, 2);
	if (nul > 2)
		close(nul);
	return p[1];
}

/* Each running VM holds a few descriptors: allow as many as permitted. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit");
	}
}

static char *
absolute(const char *path)
{
	char real[PATH_MAX];

	if (realpath(path, real) != NULL)
		return xstrdup(real);
	if (path[0] == '/' || getcwd(real, sizeof(real)) == NULL)
		return xstrdup(path);
	return xprintf("%s/%s", real, path);
}

/* -l: reopened by path after rotation, also once bmd has done chdir("/") */
static char *
absolute_log(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	return xprintf("%s/%s", cwd, path);
}

int
main(int argc, char **argv)
{
	struct options o;
	int rc, ready_fd = -1, resumed = upgrade_resumed(), logdest;
	char err[512];

	upgrade_init(argc, argv);
	if ((rc = parse_options(argc, argv, &o)) != 0)
		return rc - 1;
	logdest = o.o_log_file != NULL ? LOG_TO_FILE : LOG_TO_SYSLOG;
	if (o.o_log_file != NULL && !o.o_check) {
		char *path = absolute_log(o.o_log_file);

		rc = log_file(path);
		free(path);
		if (rc == -1) {
			fprintf(stderr, "bmd: cannot open log file %s: %s\n",
			    o.o_log_file, strerror(errno));
			return 1;
		}
	}
	log_init("bmd", LOG_TO_STDERR | (o.o_foreground ? 0 : logdest),
	    LOG_DAEMON);
	/* Plugin keys must be known before the first VM is read (-n too). */
	conf_plugins_enable(o.o_plugin_dir, 0);
	if (o.o_check)
		return check_config(o.o_conf);
	if (o.o_foreground)
		log_init("bmd", LOG_TO_STDERR | logdest, LOG_DAEMON);
	/* Signals wait until their handlers exist; SIGPIPE is an errno. */
	block_signals(SIG_BLOCK);
	signal(SIGPIPE, SIG_IGN);
	bmd.b_foreground = o.o_foreground;
	bmd.b_conf_path = absolute(o.o_conf);
	load_initial(&o);
	check_dirs();
	make_run_dir(bmd.b_run_dir);
	check_dirs();		/* the run directory as found or made */
	free(bmd.b_lock_dir);	/* now that it exists: its real path's */
	bmd.b_lock_dir = vmlock_root(bmd.b_run_dir);
	lock_run_dir();
	ids_save();
	holders_save();
	if (bmd.b_cgroup != NULL && plat_cgroup_prepare(bmd.b_cgroup, err,
	    sizeof(err)) == -1)
		fatalx("cgroup: %s", err);
	run_lock_dirs();
	if (control_listen() == -1)
		return 1;
	if (!o.o_foreground) {
		/* after an upgrade: detached already; the pid must not change */
		if (!resumed)
			ready_fd = detach();
		log_init("bmd", logdest, LOG_DAEMON);
	}
	raise_fd_limit();
	if (plat_oom_protect() == -1)
		log_warnx("cannot protect from OOM killer");
	bmd.b_started = time(NULL);
	if ((bmd.b_base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	add_signal_events();
	users_init();
	loadjob_init();
	plugin_init_all();
	control_start();
	(void)vmlock_note_pid(bmd.b_daemon_lock, getpid());	/* detached */
	write_pid_file();
	if (ready_fd != -1) {
		/* The pid file exists: the starting parent may exit now. */
		if (write(ready_fd, "", 1) != 1)
			log_warn("%s: ready", __func__);
		close(ready_fd);
	}
	log_info("start daemon");
	start_all();
	wol_update();
	block_signals(SIG_UNBLOCK);
	event_base_dispatch(bmd.b_base);

	loadjob_fini();
	wol_stop();
	plugin_fini_all();
	quota_free();
	control_close();
	if (bmd.b_pid_file != NULL)
		unlink(bmd.b_pid_file);
	log_info("quit daemon");
	return 0;
}
