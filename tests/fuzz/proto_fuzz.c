/*
 * libFuzzer harness for the control protocol: a connection's byte stream
 * split into frames as control.c does (proto_parse), each request
 * decoded and answered by the daemon's dispatch() against a small VM
 * table, and the reply encoded.  The first byte chooses the peer (root,
 * the owner of one VM, a stranger).  No VM can start: the configuration
 * file that boot re-reads does not exist.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "bmd.h"
#include "log.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What bmd.c (not linked: it has main) gives the rest of the daemon. */
struct bmd bmd;

void
bmd_check_done(void)
{
}

static const char vms[] =
    "vm rootvm { backend = qemu; memory = 64M; com1 = auto; }\n"
    "vm uservm { backend = qemu; memory = 64M; com1 = auto; }\n"
    "vm other { backend = qemu; memory = 64M; }\n";

static void
setup(void)
{
	log_init("proto-fuzz", 0, LOG_DAEMON);
	conf_set_follow_includes(0);
	bmd.b_base = event_base_new();
	bmd.b_conf_path = "/nonexistent/bmd.conf";
	bmd.b_run_dir = "/nonexistent/run";
	bmd.b_lock_dir = "/nonexistent/run.lock";
	bmd.b_vars_dir = "/nonexistent/vars";
	bmd.b_ids = idmap_new();
}

/* The table (again, when a root `reload` of the missing file emptied it). */
static void
add_vms(void)
{
	struct conf_load_opts lo = { .lo_path = "/nonexistent/bmd.conf" };
	struct diags ds;
	struct conf *c;
	size_t i;

	lo.lo_ids = bmd.b_ids;
	diags_init(&ds);
	c = conf_load_buffer(lo.lo_path, vms, sizeof(vms) - 1, &lo, &ds);
	for (i = 0; i < c->c_nvms; i++) {
		if (strcmp(c->c_vms[i]->vc_name, "uservm") == 0)
			c->c_vms[i]->vc_owner = 1000;
		vm_add(c->c_vms[i]);
		c->c_vms[i] = NULL;
	}
	c->c_nvms = 0;
	conf_free(c);
	diags_free(&ds);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int ready;
	static const uid_t uids[] = { 0, 1000, 1001 };
	struct peercred pc;
	struct ctl_req rq;
	enum proto_status st;
	const char *why;
	unsigned char *out;
	size_t used, off = 1, olen;
	json_t *req, *reply;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (vm_count() == 0)
		add_vms();
	if (len < 1)
		return 0;
	memset(&pc, 0, sizeof(pc));
	pc.pc_uid = uids[data[0] % 3];
	pc.pc_gid = pc.pc_uid;
	pc.pc_pid = 1;
	while (off < len) {
		st = proto_parse(data + off, len - off, &used, &req, &why);
		if (st != PROTO_OK)
			break;
		off += used;
		rq.rq_cred = &pc;
		rq.rq_msg = req;
		rq.rq_fd = -1;
		rq.rq_conn = NULL;
		rq.rq_raw = NULL;
		reply = dispatch(&rq);
		json_decref(req);
		/* a descriptor a console reply would have passed */
		if (rq.rq_fd != -1)
			close(rq.rq_fd);
		free(rq.rq_raw);
		if (reply == NULL)
			continue;	/* deferred (no plugin here defers) */
		if ((out = proto_encode(reply, &olen)) != NULL)
			free(out);
		json_decref(reply);
	}
	return 0;
}
