/* bmdctl list [-r] [-s COL] [--json]: the VMs bmd knows, as a table. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bmdctl.h"
#include "buf.h"
#include "proto.h"
#include "vmtable.h"
#include "xmalloc.h"

static int	 sort_col = VT_ID;
static int	 sort_reverse;

static long long
num_member(json_t *vm, const char *key)
{
	json_t *v = json_object_get(vm, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return -1;
}

static const char *
str_member(json_t *vm, const char *key)
{
	const char *s = json_string_value(json_object_get(vm, key));

	return s != NULL ? s : "-";
}

/* A daemon that sent objects instead of the table: render it here. */
static void
render_objects(json_t *vms, struct buf *b)
{
	struct vt_row *rows;
	json_t *vm;
	size_t i, n = json_array_size(vms);

	rows = xcalloc(n + 1, sizeof(*rows));
	for (i = 0; i < n; i++) {
		vm = json_array_get(vms, i);
		/* no loader: the backend runs the guest by itself */
		vt_row_set(&rows[i], num_member(vm, "id"),
		    str_member(vm, "name"), num_member(vm, "ncpu"),
		    num_member(vm, "memory"), json_is_string(json_object_get(vm,
		    "loader")) ? str_member(vm, "loader") :
		    str_member(vm, "backend"), str_member(vm, "state"),
		    str_member(vm, "owner"));
	}
	vt_render(rows, n, sort_col, sort_reverse, b);
	free(rows);
}

static void
print_objects(json_t *vms)
{
	struct buf b;

	buf_init(&b);
	render_objects(vms, &b);
	fputs(buf_str(&b), stdout);
	buf_free(&b);
}

/* One host's table, each line after HOST; the header from the first. */
static void
print_host_rows(const char *host, int width, json_t *vms, int header)
{
	const char *p, *nl;
	struct buf b;
	int line = 0;

	buf_init(&b);
	render_objects(vms, &b);
	for (p = buf_str(&b); *p != '\0'; p = nl + 1, line++) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		if (line == 0 && header)
			printf("%-*s ", width, "host");
		else if (line == 1 && header)
			printf("%.*s ", width, "-----------------------------"
			    "---------------------------------------------------");
		else if (line < 2)
			continue;
		else
			printf("%-*s ", width, host);
		printf("%.*s\n", (int)(nl - p), p);
	}
	buf_free(&b);
}

/*
 * list with a host list: every host at once (each its own ssh), then
 * the replies in the order of the hosts: a HOST column, sorted within
 * each host; "host" in each object with --json.  A host that fails is
 * reported and the others still listed, with exit status 1.
 */
static int
list_hosts(int json)
{
	size_t i, j, n = hosts_count();
	struct remote **rs = xcalloc(n, sizeof(*rs));
	json_t **replies = xcalloc(n, sizeof(*replies)), *all, *vm, *vms;
	int width = 4, rc = 0, header = 1;

	for (i = 0; i < n; i++) {
		json_t *req = json_pack("{s:s}", "command", "list");

		rs[i] = remote_start(hosts_get(i), req);
		json_decref(req);
		if ((int)strlen(hosts_get(i)->h_name) > width)
			width = (int)strlen(hosts_get(i)->h_name);
	}
	for (i = 0; i < n; i++) {
		if (rs[i] == NULL || (replies[i] = remote_reply(rs[i],
		    NULL)) == NULL) {
			rc = 1;
			continue;
		}
		vms = json_object_get(replies[i], "vms");
		if (ctl_reply_status_of(NULL, hosts_get(i)->h_name,
		    replies[i]) != 0 || !json_is_array(vms)) {
			json_decref(replies[i]);
			replies[i] = NULL;
			rc = 1;
		}
	}
	all = json_array();
	for (i = 0; i < n; i++) {
		if (replies[i] == NULL)
			continue;
		vms = json_object_get(replies[i], "vms");
		if (!json) {
			print_host_rows(hosts_get(i)->h_name, width, vms,
			    header);
			header = 0;
		}
		json_array_foreach(vms, j, vm) {
			json_object_set_new(vm, "host",
			    json_string(hosts_get(i)->h_name));
			json_array_append(all, vm);
		}
		json_decref(replies[i]);
	}
	if (json) {
		json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(all);
	free(replies);
	free(rs);
	return rc;
}

static int
find_col(const char *name)
{
	int c;

	if ((c = vt_col_find(name)) < 0)
		fprintf(stderr, "bmdctl: unknown column \"%s\" (one of: id name "
		    "ncpu memory loader state owner)\n", name);
	return c;
}

/*
 * The table is rendered by bmd from its memory: a JSON object per VM
 * costs far more to encode and decode than the text itself.
 */
/* The table bmd sends as a raw frame after its reply ("raw": N). */
static int
print_raw(json_t *reply, int conn)
{
	json_int_t n = json_integer_value(json_object_get(reply, "raw"));
	char *text;

	if (n < 0 || conn == -1 ||
	    (text = proto_recv_raw(conn, (size_t)n)) == NULL) {
		fprintf(stderr, "bmdctl: malformed list reply from bmd\n");
		return 1;
	}
	fwrite(text, 1, (size_t)n, stdout);
	free(text);
	return 0;
}

static int
list_show(int json)
{
	static const char *const names[] = { "id", "name", "ncpu", "memory",
	    "loader", "state", "owner" };
	json_t *req, *reply, *vms, *table;
	int rc, conn = -1;

	if (hosts_count() > 0 && ctl_host == NULL)
		return list_hosts(json);
	req = json ? json_pack("{s:s}", "command", "list") :
	    json_pack("{s:s,s:b,s:s,s:b,s:b}", "command", "list", "table", 1,
	    "sort", names[sort_col], "reverse", sort_reverse, "raw", 1);
	/* the connection stays open: the table may follow as a raw frame */
	reply = ctl_request_stream(req, &conn);
	json_decref(req);
	if (reply == NULL)
		return 1;
	vms = json_object_get(reply, "vms");
	table = json_object_get(reply, "table");
	if ((rc = ctl_reply_status(reply)) != 0)
		;
	else if (!json && json_is_integer(json_object_get(reply, "raw")))
		rc = print_raw(reply, conn);
	else if (!json && json_is_string(table))
		fputs(json_string_value(table), stdout);
	else if (!json_is_array(vms)) {
		fprintf(stderr, "bmdctl: malformed list reply from bmd\n");
		rc = 1;
	} else if (json) {
		json_dumpf(vms, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else
		print_objects(vms);
	if (conn != -1)
		close(conn);
	json_decref(reply);
	return rc;
}

static int
list_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	struct ctl_opts o;
	int ch, c, json = 0;

	ctl_getopts(self, &o);
	while ((ch = getopt_long(argc, argv, o.o_short, o.o_long, NULL)) != -1) {
		switch (ch) {
		case 'r':
			sort_reverse = 1;
			break;
		case 's':
			if ((c = find_col(optarg)) < 0)
				return ctl_usage(self);
			sort_col = c;
			break;
		case CTL_LONG:	/* the only long option: --json */
			json = 1;
			break;
		default:
			return ctl_usage(self);
		}
	}
	return list_show(json);
}

const struct ctl_cmd cmd_list = {
	"list", NULL, "[-r] [-s COL] [--json]", 0, 0, list_exec,
	"list the VMs and their states (-s: sort by a column, -r: reverse, "
	"--json:\n      bmd's objects as they are)", CTL_RELAY
};
