/* bmdctl reload [-n|--dry-run] [--json]: re-read the configuration, or say what that would do. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bmdctl.h"

static const char *const effects[][2] = {
	{ "none", "nothing changes" },
	{ "pending", "the new configuration waits for its next start" },
	{ "restart", "restarted (reboot_on_change)" },
	{ "start", "started" },
	{ "stop", "stopped" },
	{ "retry", "started again (it had failed)" },
};

static const char *
effect_text(const char *e)
{
	size_t i;

	for (i = 0; e != NULL && i < sizeof(effects) / sizeof(effects[0]); i++)
		if (strcmp(effects[i][0], e) == 0)
			return effects[i][1];
	return e != NULL ? e : "?";
}

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(not UTF-8)";
}

/*
 *	+ NAME	added (starts: boot = yes)
 *	- NAME	removed (RUN: stopped)
 *	~ NAME	changed (RUN: the new configuration waits for its next start)
 *		memory: 1G -> 2G
 *	! NAME	rejected: not loaded
 *		FILE:LINE:COL: error
 */
static void
print_plan(json_t *r)
{
	json_t *v, *k, *e;
	size_t i, j;

	json_array_foreach(json_object_get(r, "added"), i, v)
		printf("+ %s\tadded%s\n", str(v, "name"),
		    json_is_true(json_object_get(v, "starts")) ?
		    " (starts: boot is not no)" : "");
	json_array_foreach(json_object_get(r, "removed"), i, v)
		printf("- %s\t%s (%s)\n", str(v, "name"),
		    json_is_true(json_object_get(v, "kept")) ?
		    "kept: its new definition has errors" : "removed",
		    str(v, "state"));
	json_array_foreach(json_object_get(r, "changed"), i, v) {
		printf("~ %s\t%s (%s: %s)\n", str(v, "name"),
		    json_array_size(json_object_get(v, "keys")) > 0 ?
		    "changed" : "unchanged", str(v, "state"),
		    effect_text(json_string_value(json_object_get(v,
		    "effect"))));
		json_array_foreach(json_object_get(v, "keys"), j, k)
			printf("\t%s: %s -> %s\n", str(k, "key"), str(k, "old"),
			    str(k, "new"));
	}
	json_array_foreach(json_object_get(r, "rejected"), i, v) {
		printf("! %s\trejected: not loaded\n", str(v, "name"));
		json_array_foreach(json_object_get(v, "errors"), j, e)
			printf("\t%s\n", json_string_value(e));
	}
}

/* Every error of the load, then the outcome: 1 if any VM was rejected. */
static int
reload_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	int ch, dry = 0, json = 0;

	while ((ch = getopt_long(argc, argv, "n", longs, NULL)) != -1) {
		if (ch == 'n')
			dry = 1;
		else if (ch == 'j')
			json = 1;
		else
			return ctl_usage(self);
	}
	if (json && !dry)
		return ctl_usage(self);
	return ctl_reload(dry, json);
}

/* reload, or its dry run (also show config --diff). */
int
ctl_reload(int dry, int json)
{
	json_t *req, *reply, *v;
	size_t i;
	int rc;

	req = json_pack("{s:s}", "command", "reload");
	if (dry)
		json_object_set_new(req, "dry_run", json_true());
	reply = ctl_request(req);
	json_decref(req);
	if (reply == NULL)
		return 1;
	json_array_foreach(json_object_get(reply, "errors"), i, v)
		if (!json)
			fprintf(stderr, "%s\n", json_string_value(v));
	rc = ctl_reply_status(reply);
	if (rc == 0 && dry && json) {
		json_object_del(reply, "ok");
		json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else if (rc == 0 && dry)
		print_plan(reply);
	if (rc == 0 && json_array_size(json_object_get(reply, "errors")) > 0)
		rc = 1;
	json_decref(reply);
	return rc;
}

const struct ctl_cmd cmd_reload = {
	"reload", NULL, "[-n] [--dry-run] [--json]", 0, 0, reload_exec,
	"re-read the configuration, as SIGHUP does (root only); prints its "
	    "errors and\n      exits 1 if any VM was rejected; -n (--dry-run) "
	    "only shows what it would do", CTL_RELAY
};
