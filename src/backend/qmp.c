/*
 * A non-blocking QMP client, one per running QEMU.  It connects (retrying
 * on a timer until QEMU has created the socket), negotiates, sends
 * commands in order and watches events.  Every command has a deadline: a
 * QEMU that stops answering makes the connection dead, never the daemon
 * stuck; the life cycle then falls back to signals.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "buf.h"
#include "log.h"
#include "qmp.h"
#include "xmalloc.h"

#define QMP_CONNECT_TRIES	200	/* x 50 ms: 10 s */
#define QMP_CONNECT_MSEC	50
#define QMP_RETRY_MSEC		1000	/* then, for a QEMU that lives on */
/*
 * Commands waiting for their answers.  A user's "QEMU" may be any
 * program of hers: a peer that never answers must not grow bmd.
 */
#define QMP_MAX_CMDS		32
#define QMP_MAX_LINE		(1024 * 1024)
#define RESET_BURST_MS		1000
#define QMP_PROBE_MS		2000	/* silence before a status probe */

enum qmp_phase { QP_CONNECTING, QP_GREETING, QP_CAPS, QP_READY, QP_DEAD };

struct qmp {
	struct vm	*q_vm;
	char		*q_path;
	int		 q_fd;
	enum qmp_phase	 q_phase;
	int		 q_tries;
	struct event	*q_rev;
	struct event	*q_timer;	/* connect retry, then deadline */
	struct buf	 q_in;
	char		**q_cmds;	/* sent ones first */
	size_t		 q_ncmds, q_capcmds;
	size_t		 q_nsent;
	long long	 q_reset_ms;	/* the last RESET event (monotonic) */
	long long	 q_heard_ms;	/* the last message from QEMU */
};

static void	qmp_connect_cb(int, short, void *);

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
qname(const struct qmp *q)
{
	return q->q_vm->vm_conf->vc_name;
}

static void
timer_add_ms(struct event *ev, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

static void
pop_cmd(struct qmp *q)
{
	free(q->q_cmds[0]);
	memmove(&q->q_cmds[0], &q->q_cmds[1], (q->q_ncmds - 1) *
	    sizeof(q->q_cmds[0]));
	q->q_ncmds--;
	q->q_nsent--;
}

/* Give up on QMP: pending commands are dropped; signals remain. */
static void
qmp_dead(struct qmp *q, const char *why)
{
	size_t i;

	if (q->q_phase == QP_DEAD)
		return;
	if (why != NULL)
		log_warnx("vm %s: QMP %s", qname(q), why);
	q->q_phase = QP_DEAD;
	if (q->q_rev != NULL) {
		event_free(q->q_rev);
		q->q_rev = NULL;
	}
	evtimer_del(q->q_timer);
	if (q->q_fd != -1) {
		close(q->q_fd);
		q->q_fd = -1;
	}
	for (i = 0; i < q->q_ncmds; i++)
		free(q->q_cmds[i]);
	q->q_ncmds = q->q_nsent = 0;
	buf_free(&q->q_in);
}

/*
 * A command is a bare name, or a whole JSON object when it has arguments.
 * Commands are small; a socket that cannot take one is a hung QEMU.
 */
static void
send_cmd(struct qmp *q, const char *cmd)
{
	struct buf line;
	ssize_t n;

	buf_init(&line);
	if (cmd[0] == '{')
		buf_printf(&line, "%s\n", cmd);
	else
		buf_printf(&line, "{\"execute\":\"%s\"}\n", cmd);
	n = send(q->q_fd, line.b_data, line.b_len, MSG_DONTWAIT |
	    MSG_NOSIGNAL);
	if (n < 0 || (size_t)n != line.b_len) {
		buf_free(&line);
		qmp_dead(q, "is not accepting commands");
		return;
	}
	buf_free(&line);
	q->q_nsent++;
	timer_add_ms(q->q_timer, QMP_DEADLINE_SEC * 1000L);
}

static void
flush_queue(struct qmp *q)
{
	while (q->q_phase == QP_READY && q->q_nsent < q->q_ncmds)
		send_cmd(q, q->q_cmds[q->q_nsent]);
}

static int
push_cmd(struct qmp *q, const char *cmd, int front)
{
	if (q->q_ncmds >= QMP_MAX_CMDS && !front) {
		log_warnx("vm %s: QMP has %d commands unanswered; no more is "
		    "sent until it answers", qname(q), QMP_MAX_CMDS);
		return -1;
	}
	ARRAY_GROW(q->q_cmds, q->q_ncmds, q->q_capcmds);
	if (front) {
		memmove(&q->q_cmds[1], &q->q_cmds[0], q->q_ncmds *
		    sizeof(q->q_cmds[0]));
		q->q_cmds[0] = xstrdup(cmd);
	} else
		q->q_cmds[q->q_ncmds] = xstrdup(cmd);
	q->q_ncmds++;
	return 0;
}

/* Is cmd waiting (one query at a time, however often QEMU says why)? */
static int
queued(const struct qmp *q, const char *cmd)
{
	size_t i;

	for (i = 0; i < q->q_ncmds; i++)
		if (strcmp(q->q_cmds[i], cmd) == 0)
			return 1;
	return 0;
}

int
qmp_execute(struct qmp *q, const char *cmd)
{
	if (q == NULL || q->q_phase == QP_DEAD || push_cmd(q, cmd, 0) == -1)
		return -1;
	flush_queue(q);
	return q->q_phase == QP_DEAD ? -1 : 0;
}

static void
on_event(struct qmp *q, const char *ev, json_t *data)
{
	struct vm *vm = q->q_vm;
	const char *reason;

	log_debug("%s: vm %s: %s", __func__, qname(q), ev);
	if (strcmp(ev, "SHUTDOWN") == 0) {
		reason = json_string_value(json_object_get(data, "reason"));
		free(vm->vm_run->rn_reason);
		vm->vm_run->rn_reason = xstrdup(reason ? reason : "unknown");
		vm_event(vm, VE_QMP_SHUTDOWN);
	} else if (strcmp(ev, "RESET") == 0) {
		/*
		 * A guest reboot (or bmdctl reset) inside QEMU.  One reboot
		 * can be a burst of resets (the guest's, then the firmware's,
		 * ~0.1 s apart): it is reported once.
		 */
		if (now_ms() - q->q_reset_ms >= RESET_BURST_MS)
			vm_event(vm, VE_GUEST_RESET);
		q->q_reset_ms = now_ms();
	} else if (strcmp(ev, "STOP") == 0) {
		/* Paused: find out whether it was an internal error. */
		if (!queued(q, "query-status"))
			(void)qmp_execute(q, "query-status");
	}
}

/* cpu_pin: each vCPU thread QEMU reports gets its host CPU. */
static void
pin_vcpus(struct qmp *q, json_t *cpus)
{
	const struct vm_conf *vc = q->q_vm->vm_conf;
	const struct conf_cpupin *cp;
	json_int_t idx, tid;
	json_t *c;
	size_t i, j;

	json_array_foreach(cpus, i, c) {
		idx = json_integer_value(json_object_get(c, "cpu-index"));
		tid = json_integer_value(json_object_get(c, "thread-id"));
		for (j = 0; j < vc->vc_cpu_pin.l_n; j++) {
			cp = CLIST_AT(&vc->vc_cpu_pin, struct conf_cpupin, j);
			if (cp->cp_vcpu != idx || tid <= 0)
				continue;
			/* QEMU may be the user's program: only its own threads */
			if (!plat_is_thread_of(q->q_vm->vm_pid, (pid_t)tid)) {
				log_warnx("vm %s: vCPU %d: thread %lld is not a "
				    "thread of the VM's process %d; not pinned",
				    qname(q), cp->cp_vcpu, (long long)tid,
				    (int)q->q_vm->vm_pid);
				continue;
			}
			if (plat_pin_thread((pid_t)tid, cp->cp_hostcpu) == -1)
				log_warn("vm %s: cannot pin vCPU %d to host CPU "
				    "%d", qname(q), cp->cp_vcpu, cp->cp_hostcpu);
			else
				log_info("vm %s: vCPU %d pinned to host CPU %d",
				    qname(q), cp->cp_vcpu, cp->cp_hostcpu);
		}
	}
}

/* What QMP does once per run: pin vCPUs, give VNC its password. */
static void
qmp_setup(struct qmp *q)
{
	const struct vm_conf *vc = q->q_vm->vm_conf;
	json_t *cmd;
	char *s;

	if (vc->vc_cpu_pin.l_n > 0)
		(void)push_cmd(q, "query-cpus-fast", 0);
	if (vc->vc_graphics && vc->vc_graphics_password != NULL) {
		cmd = json_pack("{s:s,s:{s:s,s:s}}", "execute", "set_password",
		    "arguments", "protocol", "vnc", "password",
		    vc->vc_graphics_password);
		if ((s = json_dumps(cmd, JSON_COMPACT)) != NULL)
			(void)push_cmd(q, s, 0);
		free(s);
		json_decref(cmd);
	}
}

static void
on_reply(struct qmp *q, json_t *msg)
{
	const char *cmd = q->q_cmds[0], *st;
	json_t *err = json_object_get(msg, "error");

	if (err != NULL)
		log_warnx("vm %s: QMP %s: %s", qname(q), cmd,
		    json_string_value(json_object_get(err, "desc")) ?
		    json_string_value(json_object_get(err, "desc")) : "error");
	if (strcmp(cmd, "qmp_capabilities") == 0) {
		pop_cmd(q);
		if (err != NULL) {
			qmp_dead(q, "negotiation failed");
			return;
		}
		q->q_phase = QP_READY;
		log_debug("%s: vm %s: QMP ready", __func__, qname(q));
		qmp_setup(q);
	} else if (strcmp(cmd, "query-status") == 0) {
		pop_cmd(q);
		st = json_string_value(json_object_get(json_object_get(msg,
		    "return"), "status"));
		if (st != NULL && (strcmp(st, "internal-error") == 0 ||
		    strcmp(st, "guest-panicked") == 0))
			vm_event(q->q_vm, VE_QMP_ERROR);
	} else if (cmd[0] == '{' && strstr(cmd, "\"set_password\"") != NULL) {
		if (err == NULL)
			log_info("vm %s: VNC password set", qname(q));
		pop_cmd(q);
	} else if (strcmp(cmd, "query-cpus-fast") == 0) {
		pin_vcpus(q, json_object_get(msg, "return"));
		pop_cmd(q);
	} else
		pop_cmd(q);
	if (q->q_nsent == 0)
		evtimer_del(q->q_timer);
	flush_queue(q);
}

/* QEMU answers (again): it is responsive. */
static void
heard(struct qmp *q)
{
	struct vm_run *rn = q->q_vm->vm_run;

	q->q_heard_ms = now_ms();
	if (rn->rn_unresponsive) {
		rn->rn_unresponsive = 0;
		log_info("vm %s: QMP answers again", qname(q));
	}
}

static void
on_message(struct qmp *q, json_t *msg)
{
	const char *ev = json_string_value(json_object_get(msg, "event"));

	heard(q);
	if (ev != NULL)
		on_event(q, ev, json_object_get(msg, "data"));
	else if (q->q_phase == QP_GREETING && json_object_get(msg, "QMP")) {
		q->q_phase = QP_CAPS;
		(void)push_cmd(q, "qmp_capabilities", 1);
		send_cmd(q, "qmp_capabilities");
	} else if ((json_object_get(msg, "return") != NULL ||
	    json_object_get(msg, "error") != NULL) && q->q_nsent > 0)
		on_reply(q, msg);
	else
		log_debug("%s: vm %s: unexpected QMP message", __func__,
		    qname(q));
}

/* QMP sends one JSON object per line. */
static void
parse_lines(struct qmp *q)
{
	char *nl, *start = q->q_in.b_data;
	json_t *msg;
	size_t used;

	while (q->q_phase != QP_DEAD &&
	    (nl = memchr(start, '\n', q->q_in.b_len - (size_t)(start -
	    q->q_in.b_data))) != NULL) {
		msg = json_loadb(start, (size_t)(nl - start), 0, NULL);
		start = nl + 1;
		if (msg != NULL && json_is_object(msg))
			on_message(q, msg);
		json_decref(msg);
	}
	if (q->q_phase == QP_DEAD)
		return;
	used = (size_t)(start - q->q_in.b_data);
	memmove(q->q_in.b_data, start, q->q_in.b_len - used);
	q->q_in.b_len -= used;
	q->q_in.b_data[q->q_in.b_len] = '\0';
	if (q->q_in.b_len > QMP_MAX_LINE)
		qmp_dead(q, "sent an oversized message");
}

static void
qmp_read_cb(int fd, short what, void *arg)
{
	struct qmp *q = arg;
	char b[8192];
	ssize_t r;

	(void)what;
	r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		/* QEMU is exiting; the exit itself comes from SIGCHLD. */
		qmp_dead(q, NULL);
		return;
	}
	buf_add(&q->q_in, b, (size_t)r);
	parse_lines(q);
}

static void
unresponsive(struct qmp *q, const char *why)
{
	struct vm_run *rn = q->q_vm->vm_run;

	if (rn->rn_unresponsive)
		return;
	rn->rn_unresponsive = 1;
	log_warnx("vm %s: QMP %s; UNRESPONSIVE until it answers", qname(q),
	    why);
}

static void
qmp_timer_cb(int fd, short what, void *arg)
{
	struct qmp *q = arg;
	char why[160];

	(void)fd;
	(void)what;
	if (q->q_phase == QP_CONNECTING) {
		qmp_connect_cb(-1, 0, q);
		return;
	}
	/*
	 * Stopped (SIGSTOP) or hung, not dead: shown as UNRESPONSIVE and
	 * never killed for that alone.  Its answers may still come (a
	 * greeting too: the connection waits in its listen queue).
	 */
	if (q->q_phase == QP_GREETING)
		snprintf(why, sizeof(why), "sent no greeting within %d s",
		    QMP_DEADLINE_SEC);
	else
		snprintf(why, sizeof(why), "did not answer \"%s\" within %d s",
		    q->q_ncmds > 0 ? q->q_cmds[0] : "?", QMP_DEADLINE_SEC);
	unresponsive(q, why);
	timer_add_ms(q->q_timer, QMP_DEADLINE_SEC * 1000L);
}

/*
 * Asked by list and status: a QEMU not heard from for a while gets a
 * query-status, so that one that stopped answering shows.  Nothing is
 * sent while bmd is idle.
 */
void
qmp_probe(struct qmp *q)
{
	if (q == NULL || q->q_phase != QP_READY || q->q_nsent > 0 ||
	    now_ms() - q->q_heard_ms < QMP_PROBE_MS)
		return;
	q->q_heard_ms = now_ms();	/* one probe at a time */
	(void)push_cmd(q, "query-status", 0);
	flush_queue(q);
}

static void
qmp_connect_cb(int fd, short what, void *arg)
{
	struct qmp *q = arg;
	struct sockaddr_un sun;

	(void)fd;
	(void)what;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", q->q_path) >=
	    (int)sizeof(sun.sun_path)) {
		qmp_dead(q, "socket path too long");
		return;
	}
	q->q_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (q->q_fd != -1 && connect(q->q_fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0) {
		q->q_phase = QP_GREETING;
		q->q_rev = event_new(bmd.b_base, q->q_fd, EV_READ | EV_PERSIST,
		    qmp_read_cb, q);
		event_add(q->q_rev, NULL);
		timer_add_ms(q->q_timer, QMP_DEADLINE_SEC * 1000L);
		return;
	}
	if (q->q_fd != -1) {
		close(q->q_fd);
		q->q_fd = -1;
	}
	/* its process lives (its exit closes this): the socket may come */
	if (q->q_tries < QMP_CONNECT_TRIES &&
	    ++q->q_tries < QMP_CONNECT_TRIES) {
		timer_add_ms(q->q_timer, QMP_CONNECT_MSEC);
		return;
	}
	unresponsive(q, "socket has not appeared");
	timer_add_ms(q->q_timer, QMP_RETRY_MSEC);
}

struct qmp *
qmp_open(struct vm *vm, const char *path)
{
	struct qmp *q = xcalloc(1, sizeof(*q));

	q->q_vm = vm;
	q->q_path = xstrdup(path);
	q->q_fd = -1;
	q->q_phase = QP_CONNECTING;
	buf_init(&q->q_in);
	q->q_timer = evtimer_new(bmd.b_base, qmp_timer_cb, q);
	timer_add_ms(q->q_timer, QMP_CONNECT_MSEC);
	return q;
}

void
qmp_close(struct qmp *q)
{
	if (q == NULL)
		return;
	qmp_dead(q, NULL);
	event_free(q->q_timer);
	free(q->q_cmds);
	free(q->q_path);
	free(q);
}
