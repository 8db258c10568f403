/*
 * bmdctl metrics [--json] [--prometheus]: bmd's figures as OpenMetrics
 * text (what Prometheus scrapes), or as the classic text format that
 * node_exporter's textfile collector reads.
 */
#include <stdio.h>
#include <string.h>

#include "bmdctl.h"

/* The states `list` shows: every VM has one sample per state (0 or 1). */
static const char *const states[] = { "STOP", "PRESTART", "LOAD", "RUN",
    "UNRESPONSIVE", "TERMINATING", "REBOOTING", "POSTSTOP", "FAILED",
    NULL };

struct family {
	const char	*f_name;
	const char	*f_type;	/* counter, gauge */
	const char	*f_help;
};

static int	classic;	/* --prometheus: the 0.0.4 text format */

/* A label value, escaped as both formats want. */
static void
print_value(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	}
	putchar('"');
}

/*
 * TYPE and HELP.  OpenMetrics names a counter without its "_total";
 * the classic format names it as its samples are named.
 */
static void
print_family(const struct family *f)
{
	size_t n = strlen(f->f_name);

	if (!classic && strcmp(f->f_type, "counter") == 0 && n > 6 &&
	    strcmp(f->f_name + n - 6, "_total") == 0)
		n -= 6;
	printf("# TYPE %.*s %s\n# HELP %.*s %s\n", (int)n, f->f_name,
	    f->f_type, (int)n, f->f_name, f->f_help);
}

static void
print_vm_labels(const char *metric, json_t *vm)
{
	printf("%s{vm=", metric);
	print_value(json_string_value(json_object_get(vm, "name")));
	printf(",owner=");
	print_value(json_string_value(json_object_get(vm, "owner")));
}

/* One sample per VM that has KEY. */
static void
print_vm_family(const struct family *f, json_t *vms, const char *key)
{
	json_t *vm, *v;
	size_t i;

	print_family(f);
	json_array_foreach(vms, i, vm) {
		if ((v = json_object_get(vm, key)) == NULL ||
		    !json_is_number(v))
			continue;
		print_vm_labels(f->f_name, vm);
		printf("} %.17g\n", json_number_value(v));
	}
}

static void
print_states(json_t *vms)
{
	static const struct family f = { "bmd_vm_state", "gauge",
	    "1 for the state the VM is in (as bmdctl list shows it), else 0" };
	const char *state;
	json_t *vm;
	size_t i, s;

	print_family(&f);
	json_array_foreach(vms, i, vm) {
		state = json_string_value(json_object_get(vm, "state"));
		for (s = 0; states[s] != NULL; s++) {
			print_vm_labels(f.f_name, vm);
			printf(",state=\"%s\"} %d\n", states[s],
			    state != NULL && strcmp(state, states[s]) == 0);
		}
	}
}

static void
print_vms(json_t *vms)
{
	static const struct family fams[] = {
	    { "bmd_vm_uptime_seconds", "gauge",
		"Seconds since the VM's hypervisor process started" },
	    { "bmd_vm_restarts_total", "counter",
		"Restarts by boot = always since bmd began" },
	    { "bmd_vm_cpu_seconds_total", "counter",
		"CPU time of the hypervisor process, user and system" },
	    { "bmd_vm_resident_memory_bytes", "gauge",
		"Resident memory of the hypervisor process" },
	    { "bmd_vm_console_clients", "gauge",
		"bmdctl console sessions attached to the VM's ports" },
	};
	static const char *const keys[] = { "uptime", "restarts",
	    "cpu_seconds", "rss_bytes", "console_clients" };
	size_t i;

	print_states(vms);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		print_vm_family(&fams[i], vms, keys[i]);
}

static void
print_daemon(json_t *d)
{
	static const struct family fams[] = {
	    { "bmd_daemon_resident_memory_bytes", "gauge",
		"Resident memory of bmd" },
	    { "bmd_daemon_open_fds", "gauge", "Descriptors bmd holds open" },
	    { "bmd_daemon_clients", "gauge",
		"Connections to the control socket, this one included" },
	    { "bmd_daemon_console_clients", "gauge",
		"Console sessions on all VMs" },
	    { "bmd_daemon_vms", "gauge", "VMs in the configuration" },
	    { "bmd_daemon_start_time_seconds", "gauge",
		"When bmd started, seconds since the epoch" },
	};
	static const char *const keys[] = { "rss_bytes", "open_fds",
	    "clients", "console_clients", "vms", "start_time" };
	static const struct family req = { "bmd_requests_total", "counter",
	    "Requests answered, by command and result (ok or refused)" };
	json_t *r, *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_is_number(v = json_object_get(d, keys[i]))) {
			print_family(&fams[i]);
			printf("%s %.17g\n", fams[i].f_name,
			    json_number_value(v));
		}
	print_family(&req);
	json_array_foreach(json_object_get(d, "requests"), i, r) {
		printf("%s{command=", req.f_name);
		print_value(json_string_value(json_object_get(r, "command")));
		printf(",result=");
		print_value(json_string_value(json_object_get(r, "result")));
		printf("} %lld\n", json_integer_value(json_object_get(r,
		    "count")));
	}
}

static int
metrics_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	struct ctl_opts o;
	json_t *req, *reply;
	int ch, json = 0, rc, li;

	ctl_getopts(self, &o);
	while ((ch = getopt_long(argc, argv, o.o_short, o.o_long, &li)) !=
	    -1) {
		if (ch != CTL_LONG)
			return ctl_usage(self);
		if (strcmp(o.o_long[li].name, "json") == 0)
			json = 1;
		else
			classic = 1;
	}
	req = json_pack("{s:s}", "command", "metrics");
	reply = ctl_request(req);
	json_decref(req);
	if (reply == NULL)
		return 1;
	if ((rc = ctl_reply_status_of("metrics", NULL, reply)) == 0) {
		json_object_del(reply, "ok");
		json_object_del(reply, "version");
		if (json)
			json_dumpf(reply, stdout, JSON_INDENT(2));
		else {
			print_vms(json_object_get(reply, "vms"));
			print_daemon(json_object_get(reply, "daemon"));
			if (!classic)
				printf("# EOF\n");
		}
		if (json)
			putchar('\n');
	}
	json_decref(reply);
	return rc;
}

const struct ctl_cmd cmd_metrics = {
	"metrics", NULL, "[--json] [--prometheus]", 0, 0, metrics_exec,
	"print the VMs' and bmd's figures as OpenMetrics text (--prometheus: "
	    "for node_exporter's textfile collector)", CTL_RELAY
};
