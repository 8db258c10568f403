/* -w, -t SECONDS and -q of boot, shutdown, poweroff and reset: wait until the VM gets there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmdctl.h"
#include "xmalloc.h"

#define WAIT_POLL_MS	20

/* Take -w, -t or -q; 0 if ch is none of them, -1 if its value is bad. */
int
ctl_wait_option(int ch, const char *arg, struct ctl_wait *w)
{
	char *end;
	long v;

	switch (ch) {
	case 'w':
		w->w_wait = 1;
		return 1;
	case 'q':
		w->w_quiet = 1;
		return 1;
	case 't':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno != 0 || end == arg || *end != '\0' || v < 0 ||
		    v > 86400) {
			fprintf(stderr, "bmdctl: -t %s: not a number of seconds "
			    "(0 to 86400)\n", arg);
			return -1;
		}
		w->w_timeout = v;
		w->w_wait = 1;
		return 1;
	}
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The VM object of a status reply, or NULL (reported). */
json_t *
ctl_status_of(const char *name, json_t **reply)
{
	json_t *req = json_pack("{s:s,s:s}", "command", "status", "name", name);

	*reply = ctl_request(req);
	json_decref(req);
	if (*reply == NULL)
		return NULL;
	if (ctl_reply_status(*reply) != 0) {
		json_decref(*reply);
		*reply = NULL;
		return NULL;
	}
	return json_object_get(*reply, "vm");
}

static int
running(json_t *vm)
{
	const char *st = json_string_value(json_object_get(vm, "state"));

	return json_is_integer(json_object_get(vm, "pid")) && st != NULL &&
	    strcmp(st, "RUN") == 0;
}

static int
stopped(json_t *vm)
{
	const char *st = json_string_value(json_object_get(vm, "state"));

	return !json_is_integer(json_object_get(vm, "pid")) && st != NULL &&
	    (strcmp(st, "STOP") == 0 || strcmp(st, "FAILED") == 0);
}

/* "alpha: running, pid 1234" or "alpha: stopped (why)". */
void
ctl_print_progress(const char *name, json_t *vm)
{
	json_t *why = json_object_get(vm, "last_stop");
	const char *text = json_string_value(json_object_get(why, "text"));
	const char *st = json_string_value(json_object_get(vm, "state"));

	if (json_is_integer(json_object_get(vm, "pid")))
		printf("%s: %s, pid %lld\n", name, running(vm) ? "running" :
		    st, (long long)json_integer_value(json_object_get(vm,
		    "pid")));
	else
		printf("%s: %s%s%s%s\n", name, st != NULL &&
		    strcmp(st, "FAILED") == 0 ? "failed" : "stopped",
		    text != NULL ? " (" : "", text != NULL ? text : "",
		    text != NULL ? ")" : "");
}

/*
 * Poll until the VM reaches the target, or fails to (a VM that was to
 * run has stopped), or -t runs out.  The exit status of the command.
 */
int
ctl_wait_for(const char *name, enum ctl_target target,
    const struct ctl_wait *w)
{
	double deadline = w->w_deadline > 0 ? w->w_deadline :
	    now() + (double)w->w_timeout;
	json_t *reply, *vm;
	int done, failed, rc;

	if (!w->w_wait)
		return 0;
	for (;;) {
		if ((vm = ctl_status_of(name, &reply)) == NULL)
			return 1;
		done = target == CTL_RUNNING ? running(vm) : stopped(vm);
		failed = target == CTL_RUNNING && stopped(vm);
		if (done || failed || (w->w_timeout > 0 && now() > deadline))
			break;
		json_decref(reply);
		nanosleep(&(struct timespec){ 0, WAIT_POLL_MS * 1000000L },
		    NULL);
	}
	rc = done ? 0 : 1;
	if (!done && !failed)
		fprintf(stderr, "bmdctl: %s: not %s after %ld s (%s)\n", name,
		    target == CTL_RUNNING ? "running" : "stopped", w->w_timeout,
		    json_string_value(json_object_get(vm, "state")));
	else if (!w->w_quiet || failed)
		ctl_print_progress(name, vm);
	json_decref(reply);
	return rc;
}

/*
 * COMMAND for each name in turn, as kill(1) takes several pids: a VM
 * that refuses is reported and the next one still asked; no answer at
 * all stops there.  Then, with -w, wait for those that accepted, in
 * the same order, with one -t deadline for all.
 */
int
ctl_act_each(const char *command, enum ctl_target target,
    struct ctl_wait *w, int n, char **names)
{
	int i, rc = 0, *sent = xcalloc((size_t)n, sizeof(*sent));

	for (i = 0; i < n; i++) {
		sent[i] = ctl_simple(command, names[i]);
		if (sent[i] != 0)
			rc = 1;
		if (sent[i] == -1)
			break;
	}
	if (w->w_timeout > 0)
		w->w_deadline = now() + (double)w->w_timeout;
	for (i = 0; i < n && sent[i] != -1; i++)
		if (sent[i] == 0 && ctl_wait_for(names[i], target, w) != 0)
			rc = 1;
	free(sent);
	return rc;
}

/* shutdown, poweroff and reset: send COMMAND for each NAME, maybe wait. */
int
ctl_act_wait(const struct ctl_cmd *self, const char *command,
    enum ctl_target target, int argc, char **argv)
{
	struct ctl_wait w = { 0, 0, 0, 0 };
	struct ctl_opts o;
	int ch;

	ctl_getopts(self, &o);
	while ((ch = getopt_long(argc, argv, o.o_short, o.o_long, NULL)) != -1)
		if (ctl_wait_option(ch, optarg, &w) != 1)
			return ch == 't' ? EXIT_USAGE : ctl_usage(self);
	return ctl_act_each(command, target, &w, argc - optind,
	    argv + optind);
}
