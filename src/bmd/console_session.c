/* Console clients: attach, the one writer, viewers, dumps, notices. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "console.h"
#include "log.h"
#include "proto.h"
#include "xmalloc.h"

static size_t	nclients;

/* ---- clients ---- */

/* 128 random bits, in hex. */
static void
new_token(char *buf, size_t size)
{
	unsigned char r[16];
	size_t i;

	arc4random_buf(r, sizeof(r));
	for (i = 0; i < sizeof(r) && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

static const char *mode_name(enum cons_mode);

/* An attach, a detach or a takeover, for bmdctl events. */
static void
session_event(const struct cons_port *p, const struct cons_client *c,
    const char *action, const struct cons_client *from)
{
	json_t *ev;

	if (!events_wanted())
		return;
	ev = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}", "port", p->cp_label,
	    "action", action, "user", c->cc_user, "uid", (json_int_t)c->cc_uid,
	    "pid", (json_int_t)c->cc_pid, "mode", mode_name(c->cc_mode));
	if (from != NULL) {
		json_object_set_new(ev, "from_user", json_string(from->cc_user));
		json_object_set_new(ev, "from_pid",
		    json_integer((json_int_t)from->cc_pid));
	}
	events_emit(vm_ident(p->cp_vm), "console", ev);
}

void
client_free(struct cons_client *c)
{
	struct cons_port *p = c->cc_port;

	if (c->cc_mode != CM_DUMP) {
		log_info("vm %s: %s: %s (pid %d) detached", vm_name(p),
		    p->cp_label, c->cc_user, (int)c->cc_pid);
		clog_event(p, "%s (pid %d) detached", c->cc_user,
		    (int)c->cc_pid);
		session_event(p, c, "detach", NULL);
	}
	TAILQ_REMOVE(&p->cp_clients, c, cc_entry);
	if (p->cp_writer == c)
		p->cp_writer = NULL;
	event_free(c->cc_rev);
	event_free(c->cc_wev);
	if (c->cc_grace != NULL)
		event_free(c->cc_grace);
	close(c->cc_fd);
	free(c->cc_user);
	free(c->cc_note);
	free(c->cc_final);
	limit_release(LIM_CONSOLE, c->cc_uid);
	free(c);
	nclients--;
}

static void
client_grace_over(int fd, short what, void *arg)
{
	client_free(arg);
}

/*
 * Queue a notice (sent before more output).  The last one ends the
 * session, once it is read or CLOSE_GRACE_SEC later.  1 if c was freed.
 */
int
client_note(struct cons_client *c, int last, const char *fmt, ...)
{
	struct timeval tv = { CLOSE_GRACE_SEC, 0 };
	va_list ap;
	char *s, *n;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatal("%s", __func__);
	va_end(ap);
	if (last) {
		/* the output up to now, then this, then the end */
		free(c->cc_final);
		c->cc_final = xprintf("\r\n[bmd: %s]\r\n", s);
		c->cc_end = c->cc_port->cp_total;
		c->cc_closing = 1;
		if (c->cc_port->cp_writer == c)
			c->cc_port->cp_writer = NULL;
		event_del(c->cc_rev);
	} else {
		n = xprintf("%.*s\r\n[bmd: %s]\r\n", (int)(c->cc_notelen -
		    c->cc_noteoff), c->cc_note != NULL ? c->cc_note +
		    c->cc_noteoff : "", s);
		free(c->cc_note);
		c->cc_note = n;
		c->cc_notelen = strlen(n);
		c->cc_noteoff = 0;
	}
	free(s);
	if (client_flush(c))
		return 1;
	if (last && c->cc_grace == NULL) {
		c->cc_grace = evtimer_new(bmd.b_base, client_grace_over, c);
		evtimer_add(c->cc_grace, &tv);
	}
	return 0;
}

/* Send one buffer; 1 if all of it went, 0 if the socket is full, -1 gone. */
static int
client_send(struct cons_client *c, const void *d, size_t n, size_t *sent)
{
	ssize_t w;

	*sent = 0;
	while (*sent < n) {
		w = send(c->cc_fd, (const char *)d + *sent, n - *sent,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		*sent += (size_t)w;
	}
	return 1;
}

/*
 * Send what the client has not seen yet, as far as its socket takes it.
 * 1 if the client was freed (gone, or its session is over).
 */
int
client_flush(struct cons_client *c)
{
	struct cons_port *p = c->cc_port;
	uint64_t end, low, lost;
	size_t off, len, sent;
	int rc;

	for (;;) {
		if (c->cc_note != NULL) {
			rc = client_send(c, c->cc_note + c->cc_noteoff,
			    c->cc_notelen - c->cc_noteoff, &sent);
			c->cc_noteoff += sent;
			if (rc <= 0)
				break;
			free(c->cc_note);
			c->cc_note = NULL;
			c->cc_notelen = c->cc_noteoff = 0;
			continue;
		}
		low = ring_low(p);
		if (c->cc_pos < low) {
			/* fell behind by more than the ring: skip ahead */
			lost = low - c->cc_pos;
			c->cc_pos = low;
			if (c->cc_mode != CM_DUMP)
				return client_note(c, 0, "%llu bytes of "
				    "output skipped (client too slow); bmdctl "
				    "console --dump shows the last %zu",
				    (unsigned long long)lost, p->cp_cap);
		}
		end = c->cc_end < p->cp_total ? c->cc_end : p->cp_total;
		if (c->cc_pos >= end) {
			if (c->cc_final != NULL) {
				c->cc_note = c->cc_final;
				c->cc_notelen = strlen(c->cc_note);
				c->cc_noteoff = 0;
				c->cc_final = NULL;
				continue;
			}
			if (c->cc_mode == CM_DUMP || c->cc_closing)
				goto gone;
			event_del(c->cc_wev);
			return 0;
		}
		off = (size_t)(c->cc_pos % p->cp_cap);
		len = p->cp_cap - off;
		if (end - c->cc_pos < len)
			len = (size_t)(end - c->cc_pos);
		rc = client_send(c, p->cp_ring + off, len, &sent);
		c->cc_pos += sent;
		if (rc <= 0)
			break;
	}
	if (rc == -1)
		goto gone;
	event_add(c->cc_wev, NULL);
	return 0;
gone:
	client_free(c);
	return 1;
}

static void
client_writable(int fd, short what, void *arg)
{
	client_flush(arg);
}

void
client_pause(struct cons_client *c, int pause)
{
	if (c->cc_paused == pause)
		return;
	c->cc_paused = pause;
	if (pause)
		event_del(c->cc_rev);
	else
		event_add(c->cc_rev, NULL);
}

/* Keystrokes: the writer's go to the guest; the others' are dropped. */
static void
client_readable(int fd, short what, void *arg)
{
	struct cons_client *c = arg;
	struct cons_port *p = c->cc_port;
	unsigned char b[4096];
	size_t room;
	ssize_t r;

	if (p->cp_writer == c) {
		room = sizeof(p->cp_in) - p->cp_inlen;
		if (room == 0) {
			client_pause(c, 1);
			return;
		}
		r = recv(fd, p->cp_in + p->cp_inlen, room, MSG_DONTWAIT);
	} else
		r = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		/* closed, or the process died: the port is free again */
		client_free(c);
		return;
	}
	if (p->cp_writer == c) {
		c->cc_active = time(NULL);
		p->cp_inlen += (size_t)r;
		port_flush_in(p);
	}
}

/* Is the client's process still holding its end? */
static int
client_alive(const struct cons_client *c)
{
	struct pollfd pfd = { c->cc_fd, POLLIN | POLLRDHUP, 0 };

	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP |
	    POLLERR | POLLNVAL)))
		return 0;
	return 1;
}


/* ---- the "console" request ---- */

static int
parse_port(const struct vm_conf *vc, const char *s)
{
	long long n, c, np = vc->vc_vconsole_np;
	char *end;

	if (s == NULL || strcasecmp(s, "console") == 0)
		return 0;
	if (strncasecmp(s, "com", 3) == 0 && s[3] >= '1' && s[3] <= '4' &&
	    s[4] == '\0')
		return s[3] - '1';
	/* vconsoleN (the port's global index) or vconsoleC.P */
	if (strncasecmp(s, "vconsole", 8) != 0 || !isdigit((unsigned char)s[8]))
		return -1;
	n = strtoll(s + 8, &end, 10);
	if (*end == '.' && isdigit((unsigned char)end[1])) {
		c = n;
		n = strtoll(end + 1, &end, 10);
		if (c >= vc->vc_vconsole_nc || n >= np)
			return -1;
		n += c * np;
	}
	if (*end != '\0' || n >= CONS_MAXVC)
		return -1;
	return CONS_NCOM + (int)n;
}

static int
parse_mode(const char *s, enum cons_mode *m, int *force)
{
	*force = 0;
	if (s == NULL || strcmp(s, "interactive") == 0)
		*m = CM_WRITER;
	else if (strcmp(s, "force") == 0) {
		*m = CM_WRITER;
		*force = 1;
	} else if (strcmp(s, "read-only") == 0)
		*m = CM_VIEWER;
	else if (strcmp(s, "dump") == 0)
		*m = CM_DUMP;
	else
		return -1;
	return 0;
}

/* "replay": true (default) the scrollback, false nothing, "run" this run's. */
static uint64_t
replay_from(const struct cons_port *p, const json_t *rv)
{
	uint64_t low = ring_low(p);

	if (json_is_false(rv))
		return p->cp_total;
	if (json_is_string(rv) && strcmp(json_string_value(rv), "run") == 0) {
		if (p->cp_run_new)
			return p->cp_total;
		return p->cp_run_pos > low ? p->cp_run_pos : low;
	}
	return low;
}

static const char *
mode_name(enum cons_mode m)
{
	return m == CM_WRITER ? "writer" : m == CM_VIEWER ? "viewer" : "dump";
}

/*
 * The one writer: free, stale (its process is gone) or taken over.  The
 * writer taken over from stays, as a viewer, and is told by whom: it
 * may take the port back with --force (or ~w once it is free again).
 */
static json_t *
claim_writer(struct cons_port *p, struct cons_client *c, int force)
{
	struct cons_client *w = p->cp_writer;

	if (w != NULL && !client_alive(w)) {
		client_free(w);
		w = NULL;
	}
	if (w == c)
		return NULL;
	if (w != NULL && !force)
		return proto_reply_error("console of %s is in use by %s (pid "
		    "%d); use --force to take over or --read-only to watch",
		    vm_name(p), w->cc_user, (int)w->cc_pid);
	if (w != NULL) {
		log_info("vm %s: %s taken over by %s (pid %d) from %s "
		    "(pid %d)", vm_name(p), p->cp_label, c->cc_user,
		    (int)c->cc_pid, w->cc_user, (int)w->cc_pid);
		clog_event(p, "%s (pid %d) took over from %s (pid %d)",
		    c->cc_user, (int)c->cc_pid, w->cc_user, (int)w->cc_pid);
		w->cc_mode = CM_VIEWER;
		p->cp_writer = NULL;
		c->cc_mode = CM_WRITER;
		session_event(p, c, "takeover", w);
		client_note(w, 0, "console of %s taken over by %s (pid %d); "
		    "you are watching (read-only); --force takes it back",
		    vm_name(p), c->cc_user, (int)c->cc_pid);
	}
	p->cp_writer = c;
	c->cc_mode = CM_WRITER;
	return NULL;
}

/* Who may do what: a console viewer only watches. */
static json_t *
check_role(const struct ctl_req *rq, struct vm *vm, enum cons_mode mode)
{
	char *who;
	json_t *r;

	if (mode != CM_WRITER ||
	    vm_console_role(vm, rq->rq_cred) == CONSOLE_WRITER)
		return NULL;
	who = user_name(rq->rq_cred->pc_uid);
	r = proto_reply_error("permission denied: console_viewers lets %s "
	    "only watch the consoles of %s (--read-only)", who,
	    vm->vm_conf->vc_name);
	free(who);
	return r;
}

/* {"mode": "who"}: the clients of every port, for console --who. */
static json_t *
console_who(struct vm *vm)
{
	json_t *r = proto_reply_ok(), *list = json_array();
	struct cons_client *c;
	struct cons_port *p;
	time_t now = time(NULL);
	int i;

	for (i = 0; vm->vm_console != NULL && i < vm->vm_console->cs_n; i++) {
		if ((p = vm->vm_console->cs_port[i]) == NULL)
			continue;
		TAILQ_FOREACH(c, &p->cp_clients, cc_entry) {
			if (c->cc_mode == CM_DUMP || c->cc_closing)
				continue;
			json_array_append_new(list, json_pack("{s:o,s:s,s:I,"
			    "s:I,s:s,s:I,s:I}", "port", json_string(p->cp_label),
			    "user", c->cc_user,
			    "uid", (json_int_t)c->cc_uid, "pid",
			    (json_int_t)c->cc_pid, "mode",
			    mode_name(c->cc_mode), "since",
			    (json_int_t)c->cc_since, "idle",
			    (json_int_t)(now - c->cc_active)));
		}
	}
	json_object_set_new(r, "clients", list);
	return r;
}

static json_t *
attach_refused(int sv[2], struct cons_client *c, json_t *r)
{
	close(sv[0]);
	close(sv[1]);
	limit_release(LIM_CONSOLE, c->cc_uid);
	free(c->cc_user);
	free(c);
	return r;
}

static void
attach_start(struct cons_client *c, struct cons_port *p)
{
	c->cc_rev = event_new(bmd.b_base, c->cc_fd, EV_READ | EV_PERSIST,
	    client_readable, c);
	c->cc_wev = event_new(bmd.b_base, c->cc_fd, EV_WRITE | EV_PERSIST,
	    client_writable, c);
	TAILQ_INSERT_TAIL(&p->cp_clients, c, cc_entry);
	nclients++;
	event_add(c->cc_rev, NULL);
	if (c->cc_mode == CM_DUMP)
		return;
	log_info("vm %s: %s: %s (pid %d) attached (%s)", vm_name(p),
	    p->cp_label, c->cc_user, (int)c->cc_pid,
	    mode_name(c->cc_mode));
	clog_event(p, "%s (pid %d) attached (%s)", c->cc_user,
	    (int)c->cc_pid, mode_name(c->cc_mode));
	session_event(p, c, "attach", NULL);
}

/*
 * {"command": "console", "name": N, "port": "com1".."com4",
 *  "mode": "interactive" | "force" | "read-only" | "dump" | "who",
 *  "replay": true}  ->  ok, "port", "path", "replay" (the bytes of
 *  scrollback that come first); the session as an fd.
 */
json_t *
console_attach(struct ctl_req *rq, struct vm *vm)
{
	const struct peercred *pc = rq->rq_cred;
	json_t *req = rq->rq_msg;
	const char *why, *ps = json_string_value(json_object_get(req, "port")),
	    *ms = json_string_value(json_object_get(req, "mode"));
	char limit_why[128];
	json_t *rv = json_object_get(req, "replay"), *r;
	struct cons_client *c;
	struct cons_port *p;
	enum cons_mode mode;
	int i, force, sv[2];

	if (ms != NULL && strcmp(ms, "who") == 0)
		return console_who(vm);
	if ((i = parse_port(vm->vm_conf, ps)) == -1)
		return proto_reply_error("invalid port \"%s\" (com1 to com4, "
		    "vconsoleN or vconsoleC.P)", ps != NULL ? ps : "");
	if (parse_mode(ms, &mode, &force) == -1)
		return proto_reply_error("invalid console mode");
	if ((r = check_role(rq, vm, mode)) != NULL)
		return r;
	if (mode != CM_DUMP && (why = port_unmanaged(vm->vm_conf, i)) != NULL)
		return proto_reply_error("%s of %s: %s", ps != NULL ? ps : "com1",
		    vm->vm_conf->vc_name, why);
	if (mode != CM_DUMP && vm->vm_run == NULL)
		return proto_reply_error("%s is not running",
		    vm->vm_conf->vc_name);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", __func__);
		return proto_reply_error("failed to open comport");
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1)
		log_warn("%s: O_NONBLOCK", __func__);
	if (mode == CM_DUMP && port_find(vm, i) == NULL) {
		/* nothing was ever read from this port: an empty dump */
		close(sv[0]);
		rq->rq_fd = sv[1];
		return proto_reply_ok();
	}
	if (limit_take(LIM_CONSOLE, pc->pc_uid, limit_why,
	    sizeof(limit_why)) == -1) {
		close(sv[0]);
		close(sv[1]);
		return proto_reply_error("%s", limit_why);
	}
	p = port_get(vm, i);
	if (mode != CM_DUMP && !p->cp_want)
		port_start(vm, p);	/* a virtio console: held from now on */
	c = xcalloc(1, sizeof(*c));
	c->cc_port = p;
	c->cc_fd = sv[0];
	c->cc_mode = mode;
	c->cc_uid = pc->pc_uid;
	c->cc_pid = pc->pc_pid;
	c->cc_user = user_name(pc->pc_uid);
	new_token(c->cc_token, sizeof(c->cc_token));
	c->cc_since = c->cc_active = time(NULL);
	c->cc_end = mode == CM_DUMP ? p->cp_total : UINT64_MAX;
	c->cc_pos = replay_from(p, mode == CM_DUMP ? NULL : rv);
	if (mode == CM_WRITER && (r = claim_writer(p, c, force)) != NULL)
		return attach_refused(sv, c, r);
	attach_start(c, p);
	r = proto_reply_ok();
	json_object_set_new(r, "port", json_string(p->cp_label));
	json_object_set_new(r, "session", json_string(c->cc_token));
	json_object_set_new(r, "replay", json_integer((json_int_t)(p->cp_total -
	    c->cc_pos)));
	if (p->cp_path != NULL)
		json_object_set_new(r, "path", json_string(p->cp_path));
	/* the scrollback is replayed from here, as the client reads */
	client_flush(c);
	rq->rq_fd = sv[1];
	return r;
}

/*
 * {"command": "console_mode", "name": N, "port": P, "mode":
 * "interactive" | "read-only", "session": TOKEN}: the escapes ~w and
 * ~r.  It changes the session named by the token console gave its
 * holder, else the sessions of the asking process (the kernel's peer
 * pid); always only the asking user's, so no one can change another's.
 */
json_t *
console_mode(struct ctl_req *rq, struct vm *vm)
{
	const struct peercred *pc = rq->rq_cred;
	json_t *req = rq->rq_msg, *r;
	const char *ms = json_string_value(json_object_get(req, "mode"));
	struct cons_client *c, *mine = NULL;
	struct cons_port *p;
	const char *ps = json_string_value(json_object_get(req, "port"));
	const char *token = json_string_value(json_object_get(req, "session"));
	int i = parse_port(vm->vm_conf, ps);

	if (i == -1)
		return proto_reply_error("invalid port");
	if (ms == NULL || (strcmp(ms, "interactive") != 0 &&
	    strcmp(ms, "read-only") != 0))
		return proto_reply_error("invalid console mode");
	if ((p = port_find(vm, i)) != NULL)
		TAILQ_FOREACH(c, &p->cp_clients, cc_entry)
			if (c->cc_uid == pc->pc_uid && c->cc_mode != CM_DUMP &&
			    !c->cc_closing && (token != NULL ?
			    strcmp(c->cc_token, token) == 0 :
			    c->cc_pid == pc->pc_pid))
				mine = c;
	if (mine == NULL)
		return proto_reply_error("no console session of yours on "
		    "%s of %s", ps != NULL ? ps : "com1", vm->vm_conf->vc_name);
	p = mine->cc_port;
	if (ms[0] == 'r') {
		if (p->cp_writer == mine) {
			p->cp_writer = NULL;
			mine->cc_mode = CM_VIEWER;
			log_info("vm %s: %s: %s (pid %d) now watches",
			    vm_name(p), p->cp_label, mine->cc_user,
			    (int)mine->cc_pid);
		}
		return proto_reply_ok();
	}
	if ((r = check_role(rq, vm, CM_WRITER)) != NULL ||
	    (r = claim_writer(p, mine, 0)) != NULL)
		return r;
	mine->cc_active = time(NULL);
	log_info("vm %s: %s: %s (pid %d) now writes", vm_name(p), p->cp_label,
	    mine->cc_user, (int)mine->cc_pid);
	return proto_reply_ok();
}

/* Sessions on vm's ports (NULL: on every VM's), dumps left out (metrics). */
size_t
console_sessions(const struct vm *vm)
{
	const struct cons_client *c;
	const struct console *cs;
	size_t n = 0;
	int i;

	if (vm == NULL)
		return nclients;
	if ((cs = vm->vm_console) == NULL)
		return 0;
	for (i = 0; i < cs->cs_n; i++)
		if (cs->cs_port[i] != NULL)
			TAILQ_FOREACH(c, &cs->cs_port[i]->cp_clients, cc_entry)
				n += c->cc_mode != CM_DUMP;
	return n;
}
