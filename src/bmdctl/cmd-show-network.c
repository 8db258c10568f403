/*
 * bmdctl show network [--json] NAME: each NIC of a VM with its tap,
 * bridge and MAC, as the daemon sees them (the tap exists only while
 * the VM runs; the MAC is the configured or the derived one).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bmdctl.h"

static const char *
member(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static void
print_table(json_t *nets)
{
	json_t *n;
	size_t i;

	printf("%4s  %-15s  %-15s  %-17s  %s\n", "nic", "tap", "bridge", "mac",
	    "type");
	json_array_foreach(nets, i, n)
		printf("%4zu  %-15s  %-15s  %-17s  %s\n", i, member(n, "tap"),
		    member(n, "bridge"), member(n, "mac"), member(n, "type"));
}

int
ctl_show_network(int argc, char **argv)
{
	json_t *req, *reply, *nets;
	int json, rc;

	if ((json = ctl_show_json_opt(argc, argv, 1)) == -1)
		return EXIT_USAGE;
	req = json_pack("{s:s,s:s}", "command", "network", "name",
	    argv[optind]);
	reply = ctl_request(req);
	json_decref(req);
	if (reply == NULL)
		return 1;
	if ((rc = ctl_reply_status_of("show network",
	    argv[optind], reply)) == 0) {
		nets = json_object_get(reply, "networks");
		if (json) {
			json_dumpf(nets, stdout, JSON_INDENT(2) |
			    JSON_PRESERVE_ORDER);
			putchar('\n');
		} else
			print_table(nets);
	}
	json_decref(reply);
	return rc;
}
