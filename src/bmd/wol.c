/*
 * Wake-on-LAN: a network entry with wol, a MAC and a bridge is watched,
 * and a magic packet for that MAC seen on that bridge boots the VM if it
 * is stopped.  The frames are read and parsed by a monitor child that
 * holds the capture sockets and nothing else (no other descriptor, uid
 * nobody); the daemon only reads "MAC BRIDGE" lines from it and maps
 * them to VMs.  A changed watch list starts a new monitor; the old one is
 * stopped a second later, so that none is missed in between.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "log.h"
#include "wolframe.h"
#include "xmalloc.h"

#define MAX_BRIDGES	64
#define NOBODY		65534
#define LINE_MAX_LEN	64
#define OVERLAP_SEC	1

struct wolmon {
	pid_t		 m_pid;
	int		 m_fd;
	struct event	*m_ev;
	char		*m_watch;	/* "BRIDGE MAC\n"..., sorted */
	char		 m_line[LINE_MAX_LEN];
	size_t		 m_len;
};

static struct wolmon	*current, *previous;
static struct event	*retire_ev;

/* "BRIDGE MAC\n" per watched NIC of vc (its pending configuration first). */
static void
watch_add(const struct vm_conf *vc, char ***v, size_t *n, size_t *cap)
{
	const struct conf_net *nt;
	char mac[18];
	size_t i;

	for (i = 0; i < vc->vc_network.l_n; i++) {
		nt = CLIST_AT(&vc->vc_network, struct conf_net, i);
		if (!nt->n_wol || !nt->n_hasmac || nt->n_bridge == NULL ||
		    strcmp(nt->n_bridge, "none") == 0 ||
		    strncmp(nt->n_bridge, "vale", 4) == 0)
			continue;
		conf_mac_format(nt->n_mac, mac);
		ARRAY_GROW(*v, *n, *cap);
		(*v)[(*n)++] = xprintf("%s %s\n", nt->n_bridge, mac);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
watch_list(void)
{
	char **v = NULL, *s;
	size_t n = 0, cap = 0, i, len = 0;
	struct vm *vm;

	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		watch_add(vm_latest(vm), &v, &n, &cap);
	if (n > 1)	/* (qsort takes no NULL, even for nothing) */
		qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		len += strlen(v[i]);
	s = xcalloc(1, len + 1);
	for (i = 0; i < n; i++) {
		strcat(s, v[i]);
		free(v[i]);
	}
	free(v);
	return s;
}

/* ---- the monitor child ---- */

struct watch {
	char		 w_bridge[32];
	unsigned char	 w_mac[6];
	int		 w_fd;
};

static int
parse_watch(char *list, struct watch *w, int max)
{
	char *line, *save = NULL;
	unsigned m[6];
	int n = 0, i;

	for (line = strtok_r(list, "\n", &save); line != NULL && n < max;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%31s %x:%x:%x:%x:%x:%x", w[n].w_bridge, &m[0],
		    &m[1], &m[2], &m[3], &m[4], &m[5]) != 7)
			continue;
		for (i = 0; i < 6; i++)
			w[n].w_mac[i] = (unsigned char)m[i];
		w[n++].w_fd = -1;
	}
	return n;
}

/* One capture per bridge, shared by its watches. */
static int
open_captures(struct watch *w, int n)
{
	int i, j, opened = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(w[j].w_bridge, w[i].w_bridge); j++)
			;
		if (j < i) {
			w[i].w_fd = w[j].w_fd;
			continue;
		}
		if ((w[i].w_fd = plat_wol_open(w[i].w_bridge)) == -1)
			log_warn("wol: cannot watch %s", w[i].w_bridge);
		else
			opened++;
	}
	return opened;
}

/* Nothing but the captures and the line to bmd, as nobody. */
static void
drop_rights(int out, const struct watch *w, int n)
{
	int i, keep = out;

	for (i = 0; i < n; i++)
		if (w[i].w_fd > keep)
			keep = w[i].w_fd;
	for (i = 3; i <= keep; i++) {
		int j, used = i == out;

		for (j = 0; j < n && !used; j++)
			used = w[j].w_fd == i;
		if (!used)
			close(i);
	}
	plat_closefrom(keep + 1);
	if (setgroups(0, NULL) == -1 || setgid(NOBODY) == -1 ||
	    setuid(NOBODY) == -1 || setuid(0) != -1)
		_exit(3);
}

/* Every frame of fd: a magic packet for a MAC watched on it is reported. */
static void
drain(int fd, int out, const struct watch *w, int n)
{
	unsigned char f[WOL_FRAME_MAX], mac[6];
	char line[LINE_MAX_LEN];
	ssize_t len;
	int i, k;

	while ((len = plat_wol_recv(fd, f, sizeof(f))) > 0) {
		if (!wol_frame_mac(f, (size_t)len, mac))
			continue;
		for (i = 0; i < n; i++)
			if (w[i].w_fd == fd && memcmp(w[i].w_mac, mac, 6) == 0)
				break;
		if (i == n)
			continue;
		k = snprintf(line, sizeof(line), "%02x:%02x:%02x:%02x:%02x:%02x "
		    "%s\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
		    w[i].w_bridge);
		if (write(out, line, (size_t)k) != k)
			_exit(0);	/* bmd is gone */
	}
}

static void __attribute__((noreturn))
monitor(int out, char *list)
{
	struct watch w[MAX_BRIDGES];
	struct pollfd p[MAX_BRIDGES + 1];
	int n, i, np;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	n = parse_watch(list, w, MAX_BRIDGES);
	if (open_captures(w, n) == 0) {
		log_warnx("wol: no monitor interfaces");
		_exit(1);
	}
	drop_rights(out, w, n);
	for (;;) {
		np = 0;
		p[np].fd = out;
		p[np++].events = 0;	/* POLLHUP: bmd is gone */
		for (i = 0; i < n; i++)
			if (w[i].w_fd != -1) {
				p[np].fd = w[i].w_fd;
				p[np++].events = POLLIN;
			}
		if (poll(p, (nfds_t)np, -1) == -1 && errno != EINTR)
			_exit(1);
		if (p[0].revents != 0)
			_exit(0);
		for (i = 1; i < np; i++)
			if (p[i].revents & POLLIN)
				drain(p[i].fd, out, w, n);
	}
}

/* ---- the daemon's side ---- */

static void
mon_free(struct wolmon *m)
{
	if (m == NULL)
		return;
	if (m->m_pid > 0)
		kill(m->m_pid, SIGTERM);
	if (m->m_ev != NULL)
		event_free(m->m_ev);
	if (m->m_fd != -1)
		close(m->m_fd);
	free(m->m_watch);
	free(m);
}

/* A MAC as the monitor writes it: what else could come is refused. */
static int
valid_report(const char *mac, const char *bridge)
{
	size_t i;

	if (strlen(mac) != 17 || bridge[0] == '\0' || strlen(bridge) > 31)
		return 0;
	for (i = 0; i < 17; i++)
		if (i % 3 == 2 ? mac[i] != ':' :
		    strchr("0123456789abcdef", mac[i]) == NULL)
			return 0;
	return 1;
}

/* "MAC BRIDGE": boot every stopped VM that watches it there. */
static void
wake(const char *line)
{
	char mac[18], bridge[32], want[64];
	struct vm *vm;
	char *w;
	size_t i;

	if (sscanf(line, "%17s %31s", mac, bridge) != 2 ||
	    !valid_report(mac, bridge))
		return;
	snprintf(want, sizeof(want), "%s %s\n", bridge, mac);
	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		char **v = NULL;
		size_t n = 0, cap = 0, j;
		int match = 0;

		watch_add(vm_latest(vm), &v, &n, &cap);
		for (j = 0; j < n; j++) {
			match = match || strcmp(v[j], want) == 0;
			free(v[j]);
		}
		free(v);
		if (!match)
			continue;
		w = vm->vm_state == VS_TERMINATE ? "booting it" :
		    "it is not stopped";
		log_info("WOL %s received on %s for %s: %s", mac, bridge,
		    vm_latest(vm)->vc_name, w);
		if (vm->vm_state == VS_TERMINATE)
			(void)plugin_boot(vm);
	}
}

static void
mon_read(int fd, short what, void *arg)
{
	struct wolmon *m = arg;
	char *nl;
	ssize_t n;

	n = read(fd, m->m_line + m->m_len, sizeof(m->m_line) - 1 - m->m_len);
	if (n <= 0) {
		if (n == -1 && errno == EINTR)
			return;
		event_del(m->m_ev);
		return;
	}
	m->m_len += (size_t)n;
	m->m_line[m->m_len] = '\0';
	while ((nl = strchr(m->m_line, '\n')) != NULL) {
		*nl = '\0';
		wake(m->m_line);
		m->m_len -= (size_t)(nl + 1 - m->m_line);
		memmove(m->m_line, nl + 1, m->m_len + 1);
	}
	if (m->m_len == sizeof(m->m_line) - 1)
		m->m_len = 0;	/* no line is that long: drop it */
}

static void
mon_exited(pid_t pid, int st, void *arg)
{
	if (current != NULL && current->m_pid == pid)
		current->m_pid = 0;
	if (previous != NULL && previous->m_pid == pid)
		previous->m_pid = 0;
	if ((WIFEXITED(st) && WEXITSTATUS(st) != 0) ||
	    (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM))
		log_warnx("wol: the monitor (pid %d) exited with wait status "
		    "%d", (int)pid, st);
}

static const char *
watch_count(const char *watch)
{
	static char buf[24];
	size_t n = 0;

	for (; *watch != '\0'; watch++)
		n += *watch == '\n';
	snprintf(buf, sizeof(buf), "%zu", n);
	return buf;
}

static struct wolmon *
mon_start(char *watch)
{
	struct wolmon *m = xcalloc(1, sizeof(*m));
	int sv[2];

	m->m_fd = -1;
	m->m_watch = watch;
	if (pipe(sv) == -1) {
		log_warn("wol: pipe");
		mon_free(m);
		return NULL;
	}
	if ((m->m_pid = fork()) == -1) {
		log_warn("wol: fork");
		close(sv[0]);
		close(sv[1]);
		m->m_pid = 0;
		mon_free(m);
		return NULL;
	}
	if (m->m_pid == 0) {
		close(sv[0]);
		monitor(sv[1], watch);
	}
	close(sv[1]);
	m->m_fd = sv[0];
	(void)fcntl(m->m_fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(m->m_fd, F_SETFL, O_NONBLOCK);
	m->m_ev = event_new(bmd.b_base, m->m_fd, EV_READ | EV_PERSIST,
	    mon_read, m);
	event_add(m->m_ev, NULL);
	proc_watch(m->m_pid, mon_exited, NULL);
	log_info("wol: watching %s%s (monitor pid %d)", watch_count(watch),
	    " NIC(s)", (int)m->m_pid);
	return m;
}

static void
retire(int fd, short what, void *arg)
{
	mon_free(previous);
	previous = NULL;
}

/*
 * After every change of the VMs (start of bmd, reload, a boot's new
 * configuration): a new monitor if what is watched changed.
 */
void
wol_update(void)
{
	struct timeval tv = { OVERLAP_SEC, 0 };
	char *watch = watch_list();

	if (current != NULL && current->m_pid > 0 &&
	    strcmp(current->m_watch, watch) == 0) {
		free(watch);
		return;
	}
	mon_free(previous);
	previous = current;
	current = watch[0] != '\0' ? mon_start(watch) : (free(watch), NULL);
	if (previous == NULL)
		return;
	if (retire_ev == NULL)
		retire_ev = evtimer_new(bmd.b_base, retire, NULL);
	evtimer_add(retire_ev, &tv);
}

void
wol_stop(void)
{
	mon_free(previous);
	mon_free(current);
	previous = current = NULL;
	if (retire_ev != NULL)
		event_free(retire_ev);
	retire_ev = NULL;
}
