/* bmdctl show limits [--json]: each owner's running VMs against the quotas. */
#include <getopt.h>
#include <stdio.h>

#include <jansson.h>

#include "bmdctl.h"
#include "sizetext.h"

/* "USED/MAX", a size the way bmd.conf writes it, "none" for no limit. */
static void
cell(json_t *u, const char *used, const char *max, int size, char *out,
    size_t len)
{
	json_t *m = json_object_get(u, max);
	long long v[2] = { json_integer_value(json_object_get(u, used)),
	    json_integer_value(m) };
	char s[2][32];
	int i;

	for (i = 0; i < 2; i++)
		if (!size || !size_text(v[i], s[i], sizeof(s[i])))
			snprintf(s[i], sizeof(s[i]), "%lld", v[i]);
	snprintf(out, len, "%s/%s", s[0], json_is_null(m) ? "none" : s[1]);
}

static void
print_table(json_t *users)
{
	char c[3][64];
	json_t *u;
	size_t i;

	printf("%-16s %-12s %-16s %s\n", "USER", "VMS", "MEMORY", "NCPU");
	json_array_foreach(users, i, u) {
		cell(u, "vms", "max_vms", 0, c[0], sizeof(c[0]));
		cell(u, "memory", "max_memory", 1, c[1], sizeof(c[1]));
		cell(u, "ncpu", "max_ncpu", 0, c[2], sizeof(c[2]));
		printf("%-16s %-12s %-16s %s\n", json_string_value(
		    json_object_get(u, "user")), c[0], c[1], c[2]);
	}
}

int
ctl_show_limits(int argc, char **argv)
{
	json_t *req, *reply;
	int json, rc;

	if ((json = ctl_show_json_opt(argc, argv, 0)) == -1)
		return EXIT_USAGE;
	req = json_pack("{s:s}", "command", "limits");
	reply = ctl_request(req);
	json_decref(req);
	if (reply == NULL)
		return 1;
	if ((rc = ctl_reply_status_of("show limits", NULL, reply)) == 0) {
		if (json) {
			json_dumpf(json_object_get(reply, "users"), stdout,
			    JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
		} else
			print_table(json_object_get(reply, "users"));
	}
	json_decref(reply);
	return rc;
}
