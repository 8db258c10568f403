/* bmdctl: option parsing and dispatch through the command table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backend.h"
#include "bmdctl.h"
#include "log.h"
#include "version.h"

const char	*ctl_conf_path = LOCALBASE "/etc/bmd.conf";

static const struct ctl_cmd *const cmds[] = {
	&cmd_show,
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage_all(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: bmdctl [-f config] command [arguments]\n"
	    "       bmdctl --help | -V\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(fp, "  %s %s\n      %s\n", cmds[i]->c_name,
		    cmds[i]->c_usage, cmds[i]->c_help);
	fprintf(fp, "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

int
ctl_usage(const struct ctl_cmd *c)
{
	fprintf(stderr, "usage: bmdctl [-f config] %s %s\n", c->c_name,
	    c->c_usage);
	return EXIT_USAGE;
}

/* Exact name, then alias, then a unique prefix. */
static const struct ctl_cmd *
find_cmd(const char *name)
{
	const struct ctl_cmd *found = NULL;
	size_t i, n = 0;

	for (i = 0; i < NCMDS; i++)
		if (strcasecmp(name, cmds[i]->c_name) == 0 ||
		    (cmds[i]->c_alias && strcasecmp(name,
		    cmds[i]->c_alias) == 0))
			return cmds[i];
	for (i = 0; i < NCMDS; i++)
		if (strncasecmp(name, cmds[i]->c_name, strlen(name)) == 0) {
			found = cmds[i];
			n++;
		}
	if (n == 1)
		return found;
	if (n > 1) {
		fprintf(stderr, "bmdctl: ambiguous command: %s, could be:", name);
		for (i = 0; i < NCMDS; i++)
			if (strncasecmp(name, cmds[i]->c_name,
			    strlen(name)) == 0)
				fprintf(stderr, " %s", cmds[i]->c_name);
		fputc('\n', stderr);
	} else
		fprintf(stderr, "bmdctl: unknown command: %s (see bmdctl "
		    "--help)\n", name);
	return NULL;
}

struct conf *
ctl_load_conf(int quiet, int *had_errors)
{
	struct conf_load_opts lo = { ctl_conf_path, NULL, 1,
	    backend_validate_vm };
	struct diags ds;
	struct conf *c;

	diags_init(&ds);
	c = conf_load(&lo, &ds);
	if (!quiet)
		diags_print(&ds, stderr);
	*had_errors = ds.ds_nerrors > 0;
	diags_free(&ds);
	if (c->c_fatal) {
		conf_free(c);
		return NULL;
	}
	return c;
}

int
main(int argc, char **argv)
{
	const struct ctl_cmd *c;
	int ch;

	log_init("bmdctl", LOG_TO_STDERR, 0);
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage_all(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "+f:hV")) != -1) {
		switch (ch) {
		case 'f':
			ctl_conf_path = optarg;
			break;
		case 'h':
			usage_all(stdout);
			return 0;
		case 'V':
			printf("bmdctl %s\n", BMD_VERSION);
			return 0;
		default:
			usage_all(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if ((c = find_cmd(argv[0])) == NULL)
		return EXIT_USAGE;
	optind = 1;
	return c->c_exec(c, argc, argv);
}
