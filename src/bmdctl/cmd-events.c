/* bmdctl events [--json] [NAME ...]: what happens to the VMs, as it happens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bmdctl.h"
#include "proto.h"

static const char *
str(json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(ev, key));

	return s != NULL ? s : "?";
}

/* The event's time (UTC, RFC 3339) in local time, to the second. */
static void
print_time(json_t *ev)
{
	const char *t = str(ev, "time");
	struct tm tm;
	char buf[32];
	time_t when;

	memset(&tm, 0, sizeof(tm));
	if (strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) == NULL) {
		printf("%s ", t);
		return;
	}
	when = timegm(&tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", localtime(&when));
	printf("%s ", buf);
}

static void
print_console(json_t *ev)
{
	const char *act = str(ev, "action");

	printf("%s: %s (pid %lld) ", str(ev, "port"), str(ev, "user"),
	    json_integer_value(json_object_get(ev, "pid")));
	if (strcmp(act, "takeover") == 0)
		printf("took over from %s (pid %lld)", str(ev, "from_user"),
		    json_integer_value(json_object_get(ev, "from_pid")));
	else
		printf("%s (%s)", strcmp(act, "attach") == 0 ? "attached" :
		    "detached", str(ev, "mode"));
}

/* One line per event, the VM's name first. */
static void
print_event(json_t *ev)
{
	const char *type = str(ev, "type");
	json_t *stop = json_object_get(ev, "last_stop");
	size_t i;

	print_time(ev);
	if (json_object_get(ev, "name") != NULL)
		printf("%s: ", str(ev, "name"));
	if (strcmp(type, "state") == 0) {
		printf("%s -> %s (%s)", str(ev, "from"), str(ev, "to"),
		    str(ev, "event"));
		if (json_is_object(stop))
			printf(": %s", str(stop, "text"));
	} else if (strcmp(type, "config") == 0) {
		printf("configuration %s", str(ev, "change"));
		if (json_object_get(ev, "error") != NULL)
			printf(": %s", str(ev, "error"));
	} else if (strcmp(type, "console") == 0)
		print_console(ev);
	else if (strcmp(type, "request") == 0) {
		printf("%s by %s (uid %lld, pid %lld): %s", str(ev, "command"),
		    str(ev, "user"), json_integer_value(json_object_get(ev,
		    "uid")), json_integer_value(json_object_get(ev, "pid")),
		    str(ev, "result"));
		if (json_object_get(ev, "error") != NULL)
			printf(": %s", str(ev, "error"));
	} else if (strcmp(type, "reload") == 0) {
		printf("reload %s", str(ev, "result"));
		for (i = 0; i < json_array_size(json_object_get(ev,
		    "errors")); i++)
			printf("\n  %s", json_string_value(json_array_get(
			    json_object_get(ev, "errors"), i)));
	} else
		printf("%s", type);
	putchar('\n');
}

/* Until bmd closes the stream or stdout goes away. */
static int
follow(int fd, int json)
{
	json_t *ev;
	char *text;

	while ((ev = proto_recv(fd, NULL)) != NULL) {
		if (json_is_false(json_object_get(ev, "ok"))) {
			ctl_reply_status_of("events", NULL, ev);
			json_decref(ev);
			return 1;
		}
		if (json) {
			text = json_dumps(ev, JSON_COMPACT);
			printf("%s\n", text != NULL ? text : "{}");
			free(text);
		} else
			print_event(ev);
		json_decref(ev);
		if (fflush(stdout) == EOF)
			return 1;
	}
	fprintf(stderr, "bmdctl: events: bmd closed the connection\n");
	return 1;
}

static int
events_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	struct ctl_opts o;
	json_t *req, *names, *reply;
	int ch, fd, json = 0, rc;

	ctl_getopts(self, &o);
	while ((ch = getopt_long(argc, argv, o.o_short, o.o_long, NULL)) != -1) {
		if (ch != CTL_LONG)
			return ctl_usage(self);
		json = 1;
	}
	names = json_array();
	for (; optind < argc; optind++)
		json_array_append_new(names, json_string(argv[optind]));
	req = json_pack("{s:s,s:o}", "command", "events", "names", names);
	reply = ctl_request_stream(req, &fd);
	json_decref(req);
	if (reply == NULL)
		return 1;
	if ((rc = ctl_reply_status_of("events", NULL, reply)) == 0)
		rc = follow(fd, json);
	json_decref(reply);
	if (fd != -1)
		close(fd);
	return rc;
}

const struct ctl_cmd cmd_events = {
	"events", NULL, "[--json] [NAME ...]", 0, -1, events_exec,
	"print state changes, reloads, console sessions and requests as "
	    "they happen, until interrupted", CTL_RELAY
};
