/*
 * avahi: announce each running VM's VNC service over mDNS (bmd-avahi(8)).
 *
 * While a VM with graphics on a TCP port that is not a loopback address
 * is loading or running, an avahi-publish(1) process announces it as
 * `_rfb._tcp` under the VM's name and port; it is told to quit (SIGINT,
 * so avahi withdraws the record at once) when the VM stops.  The program
 * runs as the VM's owner: announcing needs no right of the daemon's.
 * avahi-publish -f waits for an avahi-daemon that is not up yet; one
 * that exits anyway (no D-Bus, a name in use) is started again later.
 * The plugin has no keys and disables itself when avahi-publish is not
 * installed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bmd/plugin.h>

#ifdef __FreeBSD__
#define AVAHI_PUBLISH	"/usr/local/bin/avahi-publish"
#else
#define AVAHI_PUBLISH	"/usr/bin/avahi-publish"
#endif
#define RETRY_FIRST_MS	5000
#define RETRY_MAX_MS	60000
#define NOBODY		65534
#define BUS_VAR		"DBUS_SYSTEM_BUS_ADDRESS"

/* One VM's announcement: its publisher process and what it publishes. */
struct pub {
	struct pub	*p_next;
	char		*p_vm;
	char		*p_port;
	uid_t		 p_uid;
	gid_t		 p_gid;
	pid_t		 p_pid;		/* 0: none runs */
	struct bmd_watch *p_timer;	/* a retry is due */
	long		 p_delay;	/* the next retry's, in ms */
	int		 p_wanted;	/* the VM runs: keep it announced */
	int		 p_stopping;	/* we told the process to quit */
};

static struct pub	*pubs;
static char		*bus_env;	/* the daemon's D-Bus address, if any */

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

static struct pub *
pub_find(const char *vm)
{
	struct pub *p;

	for (p = pubs; p != NULL; p = p->p_next)
		if (strcmp(p->p_vm, vm) == 0)
			return p;
	return NULL;
}

static void
pub_free(struct pub *p)
{
	struct pub **pp;

	for (pp = &pubs; *pp != p; pp = &(*pp)->p_next)
		;
	*pp = p->p_next;
	if (p->p_timer != NULL)
		bmd_unwatch(p->p_timer);
	free(p->p_vm);
	free(p->p_port);
	free(p);
}

static int
is_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0 ||
	    strcmp(a, "[::1]") == 0 || strcmp(a, "localhost") == 0;
}

/*
 * The TCP port a VM's VNC server listens on where others can reach it,
 * or NULL: no graphics, a unix socket, or a loopback address.
 */
static const char *
vnc_port(struct bmd_vm *vm)
{
	const char *listen = bmd_vm_str(vm, "graphics_listen", 0);
	long long on = 0;

	if (bmd_vm_int(vm, "graphics", 0, &on) == -1 || on != 1)
		return NULL;
	if (bmd_vm_count(vm, "graphics_path") > 0)
		return NULL;
	if (listen != NULL && is_loopback(listen))
		return NULL;
	return bmd_vm_str(vm, "graphics_port", 0);
}

static void	pub_exited(pid_t, int, void *);
static void	pub_retry(void *);

static void
pub_start(struct pub *p)
{
	char *argv[] = { "avahi-publish", "-f", "-s", p->p_vm, "_rfb._tcp",
	    p->p_port, NULL };
	char *env[] = { bus_env, NULL };
	struct bmd_spawn sp = {
		.sp_path = AVAHI_PUBLISH, .sp_fd = -1, .sp_argv = argv,
		.sp_env = env, .sp_uid = p->p_uid, .sp_gid = p->p_gid,
		.sp_out_fd = -1,
	};

	p->p_stopping = 0;
	if ((p->p_pid = bmd_spawn(&sp)) == -1) {
		p->p_pid = 0;
		bmd_log(BMD_LOG_WARN, "vm %s: cannot run %s: %s; retrying in "
		    "%ld s", p->p_vm, AVAHI_PUBLISH, strerror(errno),
		    p->p_delay / 1000);
		p->p_timer = bmd_watch_timer(p->p_delay, pub_retry, p);
		return;
	}
	bmd_log(BMD_LOG_INFO, "vm %s: announcing _rfb._tcp port %s (pid %ld)",
	    p->p_vm, p->p_port, (long)p->p_pid);
	bmd_watch_child(p->p_pid, pub_exited, p);
}

static void
pub_retry(void *arg)
{
	struct pub *p = arg;

	p->p_timer = NULL;
	pub_start(p);
	if (p->p_delay < RETRY_MAX_MS)
		p->p_delay = p->p_delay * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
		    p->p_delay * 2;
}

/*
 * The publisher ended: gone for good if the VM stopped; started again
 * at once if it was stopped only to be replaced; else retried later (no
 * D-Bus yet, or the name is taken by another host).
 */
static void
pub_exited(pid_t pid, int st, void *arg)
{
	struct pub *p = arg;
	int stopped = p->p_stopping;

	(void)pid;
	p->p_pid = 0;
	if (!p->p_wanted) {
		bmd_log(BMD_LOG_INFO, "vm %s: announcement withdrawn",
		    p->p_vm);
		pub_free(p);
		return;
	}
	if (stopped) {
		pub_start(p);
		return;
	}
	if (WIFEXITED(st))
		bmd_log(BMD_LOG_WARN, "vm %s: avahi-publish exited with "
		    "status %d; retrying in %ld s", p->p_vm, WEXITSTATUS(st),
		    p->p_delay / 1000);
	else
		bmd_log(BMD_LOG_WARN, "vm %s: avahi-publish killed by signal "
		    "%d; retrying in %ld s", p->p_vm, WTERMSIG(st),
		    p->p_delay / 1000);
	p->p_timer = bmd_watch_timer(p->p_delay, pub_retry, p);
}

/* Ask the publisher to quit; its exit decides what comes next. */
static void
pub_stop(struct pub *p)
{
	if (p->p_pid != 0 && !p->p_stopping) {
		p->p_stopping = 1;
		(void)bmd_kill_tree(p->p_pid, SIGINT);
	}
}

static void
announce(struct bmd_vm *vm, const char *name, const char *port)
{
	struct pub *p = pub_find(name);
	long long uid = NOBODY, gid = -1;

	if (p != NULL) {		/* still running, or waiting to retry */
		p->p_wanted = 1;
		if (strcmp(p->p_port, port) == 0)
			return;
		free(p->p_port);
		p->p_port = xstrdup(port);
		pub_stop(p);		/* restarted with the new port */
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		abort();
	p->p_vm = xstrdup(name);
	p->p_port = xstrdup(port);
	(void)bmd_vm_int(vm, "uid", 0, &uid);
	/* the VM's group, else (-1) the owner's primary group */
	(void)bmd_vm_int(vm, "gid", 0, &gid);
	/* root's VMs are announced by nobody: it needs no rights at all */
	p->p_uid = uid == 0 ? NOBODY : (uid_t)uid;
	p->p_gid = uid == 0 ? NOBODY : (gid_t)gid;
	p->p_delay = RETRY_FIRST_MS;
	p->p_wanted = 1;
	p->p_next = pubs;
	pubs = p;
	pub_start(p);
}

static void
withdraw(const char *name)
{
	struct pub *p = pub_find(name);

	if (p == NULL || !p->p_wanted)
		return;
	p->p_wanted = 0;
	if (p->p_pid != 0)
		pub_stop(p);
	else
		pub_free(p);	/* only a retry was waiting */
}

static void
avahi_status(struct bmd_vm *vm, int from, int to)
{
	const char *name = bmd_vm_str(vm, "name", 0), *port;

	(void)from;
	if (name == NULL)
		return;
	switch (to) {
	case BMD_LOAD:
	case BMD_RUN:
		if ((port = vnc_port(vm)) != NULL)
			announce(vm, name, port);
		break;
	case BMD_TERMINATE:
	case BMD_POSTSTOP:
	case BMD_FAILED:
		withdraw(name);
		break;
	default:	/* stopping: the VNC server is still there */
		break;
	}
}

static int
avahi_init(void)
{
	const char *bus = getenv(BUS_VAR);

	if (access(AVAHI_PUBLISH, X_OK) == -1) {
		bmd_log(BMD_LOG_INFO, "%s: %s; VMs are not announced",
		    AVAHI_PUBLISH, strerror(errno));
		return -1;
	}
	if (bus != NULL) {
		if ((bus_env = malloc(strlen(BUS_VAR) + strlen(bus) + 2)) ==
		    NULL)
			abort();
		sprintf(bus_env, "%s=%s", BUS_VAR, bus);
	}
	return 0;
}

/* The publishers quit with the daemon; the next one announces again. */
static void
avahi_fini(void)
{
	while (pubs != NULL) {
		if (pubs->p_pid != 0)
			(void)bmd_kill_tree(pubs->p_pid, SIGINT);
		pub_free(pubs);
	}
	free(bus_env);
	bus_env = NULL;
}

const struct bmd_plugin bmd_plugin = {
	BMD_PLUGIN_HEADER,
	.bp_name = "avahi",
	.bp_version = "1.0",
	.bp_initialize = avahi_init,
	.bp_finalize = avahi_fini,
	.bp_status_change = avahi_status,
};
