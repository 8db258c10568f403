/*
 * The event stream (bmdctl events): state changes with their reasons,
 * what reloads did, console sessions and requests, pushed as one JSON
 * frame each to the connections that asked, filtered by what each peer
 * may see.  Nothing is built while nobody listens, and nothing here
 * wakes the daemon: events are sent as they happen.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmd.h"
#include "proto.h"
#include "xmalloc.h"

struct sub {
	struct conn	*s_conn;
	struct peercred	 s_cred;
	char		**s_names;	/* NULL: every VM the peer may see */
	size_t		 s_nnames;
	TAILQ_ENTRY(sub) s_entry;
};

static TAILQ_HEAD(, sub) subs = TAILQ_HEAD_INITIALIZER(subs);

int
events_wanted(void)
{
	return !TAILQ_EMPTY(&subs);
}

static void
sub_free(struct sub *s)
{
	size_t i;

	TAILQ_REMOVE(&subs, s, s_entry);
	for (i = 0; i < s->s_nnames; i++)
		free(s->s_names[i]);
	free(s->s_names);
	free(s);
}

/* The connection is closed (control.c). */
void
events_gone(struct conn *c)
{
	struct sub *s, *t;

	TAILQ_FOREACH_SAFE(s, &subs, s_entry, t)
		if (s->s_conn == c)
			sub_free(s);
}

/*
 * {"command": "events", "names": [...]}: the reply, then the stream.
 * Names the peer may not see are refused as unknown ones are.
 */
json_t *
events_cmd(struct ctl_req *rq, struct vm *unused)
{
	json_t *names = json_object_get(rq->rq_msg, "names"), *v;
	const char *name;
	struct vm *vm;
	struct sub *s;
	size_t i;

	if (names != NULL && !json_is_array(names))
		return proto_reply_error("\"names\" is not an array");
	json_array_foreach(names, i, v) {
		if ((name = json_string_value(v)) == NULL)
			return proto_reply_error("\"names\" holds a non-string");
		if ((vm = vm_find(name)) == NULL ||
		    !vm_may_access(vm, rq->rq_cred))
			return dispatch_not_found(rq->rq_cred, name);
	}
	if (control_stream(rq) == -1)
		return proto_reply_error("a request is pending on this "
		    "connection");
	s = xcalloc(1, sizeof(*s));
	s->s_conn = rq->rq_conn;
	s->s_cred = *rq->rq_cred;
	s->s_nnames = json_array_size(names);
	s->s_names = xcalloc(s->s_nnames + 1, sizeof(*s->s_names));
	json_array_foreach(names, i, v)
		s->s_names[i] = xstrdup(json_string_value(v));
	TAILQ_INSERT_TAIL(&subs, s, s_entry);
	return proto_reply_ok();
}

/* Root sees everything; others the VMs they may access, as in list. */
static int
sub_sees(const struct sub *s, const struct vm_conf *vc)
{
	size_t i;

	if (vc == NULL)
		return s->s_cred.pc_uid == 0 && s->s_nnames == 0;
	if (!conf_may_access(vc, &s->s_cred))
		return 0;
	for (i = 0; i < s->s_nnames; i++)
		if (strcmp(s->s_names[i], vc->vc_name) == 0)
			return 1;
	return s->s_nnames == 0;
}

/* RFC 3339, UTC, in milliseconds. */
static json_t *
now_text(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%03ldZ",
	    ts.tv_nsec / 1000000);
	return json_string(buf);
}

/*
 * Send ev (a new reference, taken) about the VM configured as vc (NULL:
 * about the daemon, root's only) to every stream that may see it.
 */
void
events_emit(const struct vm_conf *vc, const char *type, json_t *ev)
{
	unsigned char *frame = NULL;
	struct sub *s, *t;
	size_t len = 0;

	json_object_set_new(ev, "time", now_text());
	json_object_set_new(ev, "type", json_string(type));
	if (vc != NULL)
		json_object_set_new(ev, "name", json_string(vc->vc_name));
	TAILQ_FOREACH_SAFE(s, &subs, s_entry, t) {
		if (!sub_sees(s, vc))
			continue;
		if (frame == NULL && (frame = proto_encode(ev, &len)) == NULL)
			break;
		control_push(s->s_conn, frame, len);
	}
	free(frame);
	json_decref(ev);
}

/* fsm.c's one place of state changes. */
void
events_state(const struct vm *vm, enum vm_state from, enum vm_event why)
{
	json_t *ev;

	if (!events_wanted())
		return;
	ev = json_pack("{s:s,s:s,s:s}", "from", vm_state_display(from),
	    "to", vm_state_display(vm->vm_state), "event",
	    vm_event_name(why));
	if ((vm->vm_state == VS_TERMINATE || vm->vm_state == VS_FAILED) &&
	    vm->vm_why_code != NULL)
		json_object_set_new(ev, "last_stop", why_json(vm));
	events_emit(vm_ident(vm), "state", ev);
}

/* What a reload (or a boot's read of the file) did to one VM. */
void
events_config(const struct vm_conf *vc, const char *change, const char *error)
{
	json_t *ev;

	if (!events_wanted())
		return;
	ev = json_pack("{s:s}", "change", change);
	if (error != NULL)
		json_object_set_new(ev, "error", json_string(error));
	events_emit(vc, "config", ev);
}
