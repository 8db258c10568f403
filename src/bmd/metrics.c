/*
 * bmdctl metrics: what each VM the peer may see and the daemon cost now,
 * as figures (bmdctl prints them as OpenMetrics text), and the request
 * counts behind them.  Read when asked: nothing is sampled in between.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bmd.h"
#include "proto.h"

/* Requests by command and outcome; "unknown" for names not in the table. */
#define NCOUNTED	32
static struct {
	const char		*rc_cmd;
	unsigned long long	 rc_ok, rc_refused;
} counted[NCOUNTED];

void
metrics_request(const char *cmd, int ok)
{
	size_t i;

	if (cmd == NULL)
		cmd = "unknown";
	for (i = 0; i < NCOUNTED && counted[i].rc_cmd != NULL; i++)
		if (strcmp(counted[i].rc_cmd, cmd) == 0)
			break;
	if (i == NCOUNTED)
		return;		/* more names than the table has: cannot be */
	counted[i].rc_cmd = cmd;
	if (ok)
		counted[i].rc_ok++;
	else
		counted[i].rc_refused++;
}

static json_t *
requests_json(void)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < NCOUNTED && counted[i].rc_cmd != NULL; i++) {
		json_array_append_new(a, json_pack("{s:s,s:s,s:I}", "command",
		    counted[i].rc_cmd, "result", "ok", "count",
		    (json_int_t)counted[i].rc_ok));
		json_array_append_new(a, json_pack("{s:s,s:s,s:I}", "command",
		    counted[i].rc_cmd, "result", "refused", "count",
		    (json_int_t)counted[i].rc_refused));
	}
	return a;
}

static json_t *
vm_metrics(const struct vm *vm, time_t now)
{
	const struct vm_conf *vc = vm_ident(vm);
	struct plat_usage u;
	json_t *o;

	o = json_pack("{s:s,s:s,s:s,s:I,s:I}", "name", vc->vc_name, "owner",
	    vc->vc_owner_name != NULL ? vc->vc_owner_name : "", "state",
	    vm_display(vm), "restarts", (json_int_t)vm->vm_restarts,
	    "console_clients", (json_int_t)console_sessions(vm));
	if (vm->vm_pid == 0 || vm->vm_run == NULL)
		return o;
	json_object_set_new(o, "uptime", json_integer(now -
	    vm->vm_run->rn_started));
	if (plat_proc_usage(vm->vm_pid, &u) == 0) {
		json_object_set_new(o, "cpu_seconds",
		    json_real((double)u.pu_cpu_usec / 1e6));
		json_object_set_new(o, "rss_bytes",
		    json_integer((json_int_t)u.pu_rss));
	}
	return o;
}

static json_t *
daemon_metrics(void)
{
	struct plat_usage u;
	int fds = plat_open_fds();
	json_t *o;

	o = json_pack("{s:I,s:I,s:I,s:I,s:o}", "start_time",
	    (json_int_t)bmd.b_started, "clients", (json_int_t)control_nconns(),
	    "console_clients", (json_int_t)console_sessions(NULL), "vms",
	    (json_int_t)vm_count(), "requests", requests_json());
	if (plat_proc_usage(getpid(), &u) == 0) {
		json_object_set_new(o, "rss_bytes",
		    json_integer((json_int_t)u.pu_rss));
		json_object_set_new(o, "cpu_seconds",
		    json_real((double)u.pu_cpu_usec / 1e6));
	}
	if (fds >= 0)
		json_object_set_new(o, "open_fds", json_integer(fds));
	return o;
}

/* {"command": "metrics"} -> "vms": [...], "daemon": {...} */
json_t *
metrics_cmd(struct ctl_req *rq, struct vm *unused)
{
	time_t now = time(NULL);
	json_t *r = proto_reply_ok(), *a = json_array();
	struct vm *vm;
	size_t i;

	for (i = 0; (vm = vm_at(i)) != NULL; i++)
		if (vm_may_access(vm, rq->rq_cred)) {
			vm_probe(vm);
			json_array_append_new(a, vm_metrics(vm, now));
		}
	json_object_set_new(r, "vms", a);
	json_object_set_new(r, "daemon", daemon_metrics());
	return r;
}
