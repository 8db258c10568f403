/* bmdctl show keys [--json]: every configuration key, from the key table. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bmdctl.h"
#include "keys.h"

static const char *
key_backend(const struct conf_key *k)
{
	if (k->k_flags & KEY_QEMU)
		return "qemu";
	if (k->k_flags & KEY_BHYVE)
		return "bhyve";
	return NULL;
}

static json_t *
key_object(const struct conf_key *k, const char *section)
{
	const char *be = key_backend(k);

	return json_pack("{s:s,s:s?,s:s,s:s,s:b,s:s?,s:s?,s:b,s:s}",
	    "name", k->k_name, "alias", k->k_alias, "section", section,
	    "type", k->k_type->t_name, "list", (k->k_flags & KEY_LIST) != 0,
	    "default", k->k_default, "backend", be,
	    "plugin", (k->k_flags & KEY_PLUGIN) != 0, "help",
	    k->k_help != NULL ? k->k_help : "");
}

static void
key_line(const struct conf_key *k, const char *section)
{
	char name[64];
	const char *be = key_backend(k);

	snprintf(name, sizeof(name), "%s%s%s%s", k->k_name,
	    k->k_alias ? " (" : "", k->k_alias ? k->k_alias : "",
	    k->k_alias ? ")" : "");
	printf("%-6s  %-26s  %-10s  %s%s%s%s\n", section, name,
	    k->k_type->t_name, k->k_help != NULL ? k->k_help : "",
	    be != NULL ? " [" : "", be != NULL ? be : "", be != NULL ? "]" : "");
}

/* Global keys first, then the VM keys, each in table order. */
int
ctl_show_keys(int argc, char **argv)
{
	struct conf *c;
	json_t *arr;
	size_t i;
	int json, errs;

	if ((json = ctl_show_json_opt(argc, argv, 0)) == -1)
		return EXIT_USAGE;
	/* the plugins of the configuration's plugin_directory add keys */
	if ((c = ctl_load_globals(&errs)) != NULL)
		conf_free(c);
	if (!json) {
		printf("%-6s  %-26s  %-10s  %s\n", "SCOPE", "KEY (ALIAS)", "TYPE",
		    "DESCRIPTION [BACKEND]");
		for (i = 0; i < gkeys_count(); i++)
			key_line(gkeys_at(i), "global");
		for (i = 0; i < keys_count(); i++)
			key_line(keys_at(i), "vm");
		return 0;
	}
	arr = json_array();
	for (i = 0; i < gkeys_count(); i++)
		json_array_append_new(arr, key_object(gkeys_at(i), "global"));
	for (i = 0; i < keys_count(); i++)
		json_array_append_new(arr, key_object(keys_at(i), "vm"));
	json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(arr);
	return 0;
}
