/* bmdctl reload: make bmd re-read its configuration (as SIGHUP does), and show its errors. */
#include <stdio.h>

#include "bmdctl.h"

/* Every error of the load, then the outcome: 1 if any VM was rejected. */
static int
reload_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	json_t *req = json_pack("{s:s}", "command", "reload"), *reply, *v;
	size_t i;
	int rc;

	reply = ctl_request(req);
	json_decref(req);
	if (reply == NULL)
		return 1;
	json_array_foreach(json_object_get(reply, "errors"), i, v)
		fprintf(stderr, "%s\n", json_string_value(v));
	rc = ctl_reply_status(reply);
	if (rc == 0 && json_array_size(json_object_get(reply, "errors")) > 0)
		rc = 1;
	json_decref(reply);
	return rc;
}

const struct ctl_cmd cmd_reload = {
	"reload", NULL, "", 0, 0, reload_exec,
	"re-read the configuration, as SIGHUP does (root only); prints its "
	    "errors and\n      exits 1 if any VM was rejected"
};
