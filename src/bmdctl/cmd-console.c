/*
 * bmdctl console|com1..com4 [--force|--read-only|--dump] NAME: a session
 * on a VM's serial port through bmd's console broker, and show console.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "bmdctl.h"
#include "xmalloc.h"

static const char *const mode_names[] = {
	[CONSOLE_INTERACTIVE] = "interactive",
	[CONSOLE_FORCE] = "force",
	[CONSOLE_READ_ONLY] = "read-only",
	[CONSOLE_DUMP] = "dump",
};

/* --dump: the scrollback as it is, to stdout. */
static int
copy_out(int fd)
{
	char b[65536];
	ssize_t r, w, off;

	for (;;) {
		r = read(fd, b, sizeof(b));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			fprintf(stderr, "bmdctl: console: %s\n",
			    strerror(errno));
			return 1;
		}
		if (r == 0)
			break;
		for (off = 0; off < r; off += w)
			if ((w = write(STDOUT_FILENO, b + off, (size_t)(r -
			    off))) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				fprintf(stderr, "bmdctl: stdout: %s\n",
				    strerror(errno));
				return 1;
			}
	}
	return 0;
}

/* For a script, --raw; else a session needs a terminal to type on. */
int
ctl_console_need_tty(const char *name, int raw)
{
	if (raw || isatty(STDIN_FILENO))
		return 0;
	fprintf(stderr, "bmdctl: console: %s: standard input is not a "
	    "terminal; use --raw to drive the console from a script, or "
	    "--dump to read its scrollback\n", name);
	return 1;
}

/*
 * Ask bmd for a session on comN (0-based) of NAME and run it.
 * this_run_only: replay only what the current run wrote (boot -c).
 */
int
ctl_console(const char *name, int com, enum ctl_console_mode mode,
    int this_run_only)
{
	char port[16];

	snprintf(port, sizeof(port), "com%d", com + 1);
	return ctl_console_port(name, port, mode, this_run_only, 0);
}

int
ctl_console_port(const char *name, const char *port,
    enum ctl_console_mode mode, int this_run_only, int raw)
{
	struct term_args ta;
	json_t *req, *reply;
	int fd, rc;

	if (mode != CONSOLE_DUMP && ctl_console_need_tty(name, raw))
		return 1;
	req = json_pack("{s:s,s:s,s:s,s:s}", "command", "console", "name",
	    name, "port", port, "mode", mode_names[mode]);
	json_object_set_new(req, "replay", this_run_only ? json_string("run") :
	    json_true());
	reply = ctl_request_fd(req, &fd);
	json_decref(req);
	if (reply == NULL)
		return 1;
	if ((rc = ctl_reply_status_of("console", name, reply)) != 0) {
		json_decref(reply);
		if (fd != -1)
			close(fd);
		return rc;
	}
	memset(&ta, 0, sizeof(ta));
	ta.t_replay = json_integer_value(json_object_get(reply, "replay"));
	if (json_string_value(json_object_get(reply, "session")) != NULL)
		ta.t_session = xstrdup(json_string_value(json_object_get(reply,
		    "session")));
	json_decref(reply);
	if (fd == -1) {
		fprintf(stderr, "bmdctl: failed to open console\n");
		return 1;
	}
	if (mode == CONSOLE_DUMP)
		rc = copy_out(fd);
	else {
		ta.t_fd = fd;
		ta.t_name = name;
		ta.t_port = port;
		ta.t_readonly = mode == CONSOLE_READ_ONLY;
		ta.t_raw = raw;
		rc = term_session(&ta);
	}
	free((char *)ta.t_session);
	close(fd);
	return rc;
}

/* ~w and ~r: this process's session becomes the writer, or a viewer. */
int
ctl_console_mode(const char *name, const char *port, const char *session,
    int writer, char *err, size_t errlen)
{
	json_t *req, *reply;
	const char *why;
	int rc = 0;

	/*
	 * The session's token: over ssh the session is held by a relay on
	 * the host, and this request comes through another one.
	 */
	req = json_pack("{s:s,s:s,s:s,s:s}", "command", "console_mode",
	    "name", name, "port", port, "mode", writer ? "interactive" :
	    "read-only");
	if (session != NULL)
		json_object_set_new(req, "session", json_string(session));
	reply = ctl_request(req);
	json_decref(req);
	if (reply == NULL) {
		snprintf(err, errlen, "bmd did not answer");
		return -1;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		why = json_string_value(json_object_get(reply, "error"));
		snprintf(err, errlen, "%s", why != NULL ? why : "failed");
		rc = -1;
	}
	json_decref(reply);
	return rc;
}

static void
print_since(long long t)
{
	char b[32];
	time_t tt = (time_t)t;
	struct tm tm;

	strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", localtime_r(&tt, &tm));
	printf("%-20s", b);
}

/* --who: the clients attached to the ports of NAME. */
static int
console_who(const char *name, int json)
{
	json_t *req, *reply, *list, *c;
	size_t i;
	int rc;

	req = json_pack("{s:s,s:s,s:s}", "command", "console", "name", name,
	    "mode", "who");
	reply = ctl_request(req);
	json_decref(req);
	if (reply == NULL)
		return 1;
	if ((rc = ctl_reply_status_of("console", name, reply)) != 0) {
		json_decref(reply);
		return rc;
	}
	list = json_object_get(reply, "clients");
	if (json) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("%-5s %-12s %-8s %-7s %-20s %s\n", "PORT", "USER", "PID",
		    "MODE", "SINCE", "IDLE");
		json_array_foreach(list, i, c) {
			printf("%-5s %-12s %-8lld %-7s ",
			    json_string_value(json_object_get(c, "port")),
			    json_string_value(json_object_get(c, "user")),
			    json_integer_value(json_object_get(c, "pid")),
			    json_string_value(json_object_get(c, "mode")));
			print_since(json_integer_value(json_object_get(c,
			    "since")));
			printf(" %llds\n", json_integer_value(json_object_get(c,
			    "idle")));
		}
	}
	json_decref(reply);
	return 0;
}

static int
console_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	static const char *const longs[] = { "force", "read-only", "dump",
	    "who" };
	static const enum ctl_console_mode modes[] = { CONSOLE_FORCE,
	    CONSOLE_READ_ONLY, CONSOLE_DUMP, CONSOLE_DUMP };
	enum ctl_console_mode mode = CONSOLE_INTERACTIVE;
	const char *port = strncmp(self->c_name, "com", 3) == 0 ?
	    self->c_name : "com1";
	struct ctl_opts o;
	int ch, idx, i, n = 0, raw = 0, json = 0, who = 0;

	ctl_getopts(self, &o);
	while ((ch = getopt_long(argc, argv, o.o_short, o.o_long, &idx)) !=
	    -1) {
		if (ch != CTL_LONG)
			return ctl_usage(self);
		if (strcmp(o.o_long[idx].name, "raw") == 0)
			raw = 1;
		else if (strcmp(o.o_long[idx].name, "port") == 0)
			port = optarg;
		else if (strcmp(o.o_long[idx].name, "json") == 0)
			json = 1;
		for (i = 0; i < 4; i++)
			if (strcmp(o.o_long[idx].name, longs[i]) == 0) {
				mode = modes[i];
				who = i == 3;
				n++;
			}
	}
	if (n > 1) {
		fprintf(stderr, "bmdctl: %s: --force, --read-only, --dump and "
		    "--who exclude each other\n", self->c_name);
		return ctl_usage(self);
	}
	if (json && !who) {
		fprintf(stderr, "bmdctl: %s: --json goes with --who\n",
		    self->c_name);
		return ctl_usage(self);
	}
	if (who)
		return console_who(argv[optind], json);
	return ctl_console_port(argv[optind], port, mode, 0, raw);
}

#define CONSOLE_USAGE	"[--force] [--read-only] [--dump] [--raw] " \
	"[--who] [--json] [--port PORT] NAME"

const struct ctl_cmd cmd_console = {
	"console", NULL, CONSOLE_USAGE, 1, 1, console_exec,
	"attach to com1 of a VM through bmd (~. disconnects)", CTL_RELAY
};
const struct ctl_cmd cmd_com1 = {
	"com1", NULL, CONSOLE_USAGE, 1, 1, console_exec,
	"attach to com1 of a VM (as console)", CTL_RELAY
};
const struct ctl_cmd cmd_com2 = {
	"com2", NULL, CONSOLE_USAGE, 1, 1, console_exec,
	"attach to com2 of a VM", CTL_RELAY
};
const struct ctl_cmd cmd_com3 = {
	"com3", NULL, CONSOLE_USAGE, 1, 1, console_exec,
	"attach to com3 of a VM", CTL_RELAY
};
const struct ctl_cmd cmd_com4 = {
	"com4", NULL, CONSOLE_USAGE, 1, 1, console_exec,
	"attach to com4 of a VM", CTL_RELAY
};

/*
 * show console|comN NAME: how the port is attached, computed from the
 * configuration (no request, no side effect): the socket bmd holds for
 * a managed port where the backend has one, else the configured value.
 */
int
ctl_show_console(int com, const char *name)
{
	const struct backend *be;
	struct vm_conf *vc;
	struct conf *c;
	const char *v;
	char *path;
	int errs;

	if ((c = ctl_load_conf(0, &errs)) == NULL)
		return 1;
	if ((vc = conf_find_vm(c, name)) == NULL) {
		ctl_no_vm("show", c, name);
		conf_free(c);
		return 1;
	}
	v = vc->vc_com[com].cm_text;
	be = backend_get(vc->vc_backend);
	if (vc->vc_com[com].cm_kind == COM_NONE)
		printf("no console\n");
	else if (be->be_com_socket != NULL && (path = be->be_com_socket(vc,
	    c->c_global.gc_run_directory, com)) != NULL) {
		printf("%s\n", path);
		free(path);
	} else
		printf("%s\n", v);
	conf_free(c);
	return 0;
}
