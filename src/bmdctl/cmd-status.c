/* bmdctl status [--json] NAME: is the VM running, since when, and why did it last stop. */
#include <stdio.h>
#include <time.h>

#include "bmdctl.h"

#define EXIT_NOT_RUNNING	3	/* LSB: program is not running */

static void
print_duration(long long s)
{
	if (s >= 86400)
		printf("%lldd%02lldh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		printf("%lldh%02lldm", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		printf("%lldm%02llds", s / 60, s % 60);
	else
		printf("%llds", s);
}

static void
print_status(const char *name, json_t *vm)
{
	json_t *why = json_object_get(vm, "last_stop");
	json_t *up = json_object_get(vm, "uptime");
	long long restarts = json_integer_value(json_object_get(vm,
	    "restarts"));
	char when[32];
	time_t t;

	ctl_print_progress(name, vm);
	if (json_is_integer(up)) {
		printf("  up ");
		print_duration(json_integer_value(up));
		printf(", %lld restart%s\n", restarts, restarts == 1 ? "" : "s");
	}
	if (json_is_string(json_object_get(vm, "cgroup")))
		printf("  control group: %s\n", json_string_value(
		    json_object_get(vm, "cgroup")));
	if (json_is_object(why) && json_is_integer(json_object_get(vm,
	    "pid"))) {
		t = (time_t)json_integer_value(json_object_get(why, "time"));
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
		    localtime(&t));
		printf("  last stop: %s (%s)\n", json_string_value(
		    json_object_get(why, "text")), when);
	}
}

static int
status_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	struct ctl_opts o;
	json_t *reply, *vm;
	int ch, json = 0, rc;

	ctl_getopts(self, &o);
	while ((ch = getopt_long(argc, argv, o.o_short, o.o_long, NULL)) != -1) {
		if (ch != CTL_LONG)
			return ctl_usage(self);
		json = 1;
	}
	if ((vm = ctl_status_of(argv[optind], &reply)) == NULL)
		return 1;
	rc = json_is_integer(json_object_get(vm, "pid")) ? 0 :
	    EXIT_NOT_RUNNING;
	if (json) {
		json_dumpf(vm, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else
		print_status(argv[optind], vm);
	json_decref(reply);
	return rc;
}

const struct ctl_cmd cmd_status = {
	"status", NULL, "[--json] NAME", 1, 1, status_exec,
	"show whether a VM runs (exit 0) or not (exit 3), its pid, uptime, "
	    "restarts and why it last stopped", CTL_RELAY
};
