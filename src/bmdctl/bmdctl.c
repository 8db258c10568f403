/* bmdctl: option parsing and dispatch through the command table. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "backend.h"
#include "bmdctl.h"
#include "paths.h"
#include "log.h"
#include "plugin_keys.h"
#include "suggest.h"
#include "version.h"
#include "xmalloc.h"

const char	*ctl_conf_path = BMD_CONF_PATH;
const char	*ctl_socket_path;
int		 ctl_conf_given;

static struct conf *ctl_load(int, int *, int, int);
static int help_exec(const struct ctl_cmd *, int, char **);

/* bmdctl help [COMMAND]: the same text as COMMAND --help. */
const struct ctl_cmd cmd_help = {
	"help", NULL, "[COMMAND]", 0, 1, help_exec,
	"print the usage of every command, or of one command", CTL_LOCAL
};

static const struct ctl_cmd *const cmds[] = {
	&cmd_boot,
	&cmd_install,
	&cmd_shutdown,
	&cmd_poweroff,
	&cmd_reset,
	&cmd_list,
	&cmd_status,
	&cmd_events,
	&cmd_metrics,
	&cmd_reload,
	&cmd_show,
	&cmd_console,
	&cmd_com1,
	&cmd_com2,
	&cmd_com3,
	&cmd_com4,
	&cmd_run,
	&cmd_inspect,
	&cmd_stdio,
	&cmd_help,
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage_all(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: bmdctl [-f config] [-s socket] [-H host] command "
	    "[arguments]\n"
	    "       bmdctl -h | --help | -V | --version\n"
	    "       bmdctl help [command] | command --help\n\n"
	    "  -f config  configuration file (default %s)\n"
	    "  -s socket  control socket of bmd (default: cmd_socket_path of "
	    "the\n             configuration, else %s)\n"
	    "  -H host    ssh://[user@]host[:port]: bmd on that host, over "
	    "ssh (-f and -s\n             name its files); @FILE: the hosts "
	    "listed in FILE; may be\n             repeated (default: "
	    "$BMD_HOSTS, a hosts file)\n\n"
	    "commands:\n", BMD_CONF_PATH, BMD_SOCKET_PATH);
	for (i = 0; i < NCMDS; i++) {
		fprintf(fp, "  %s", cmds[i]->c_name);
		if (cmds[i]->c_alias != NULL)
			fprintf(fp, "|%s", cmds[i]->c_alias);
		if (*cmds[i]->c_usage != '\0')
			fprintf(fp, " %s", cmds[i]->c_usage);
		fprintf(fp, "\n      %s\n", cmds[i]->c_help);
	}
	fprintf(fp, "\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

static void
cmd_usage_line(const struct ctl_cmd *c, FILE *fp)
{
	fprintf(fp, "usage: bmdctl [-f config] [-s socket] %s", c->c_name);
	if (c->c_alias != NULL)
		fprintf(fp, "|%s", c->c_alias);
	if (*c->c_usage != '\0')
		fprintf(fp, " %s", c->c_usage);
	fputc('\n', fp);
}

int
ctl_usage(const struct ctl_cmd *c)
{
	cmd_usage_line(c, stderr);
	return EXIT_USAGE;
}

/* COMMAND --help and help COMMAND: usage and purpose on stdout. */
static int
cmd_help_print(const struct ctl_cmd *c)
{
	cmd_usage_line(c, stdout);
	printf("  %s\n", c->c_help);
	return 0;
}

/* -h or --help among a command's arguments (before any "--"). */
static int
wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* One "[-x]", "[-x ARG]", "[--name]" or "[--name ARG]" of a usage text. */
static const char *
getopts_one(const char *p, struct ctl_opts *o, size_t *nlong)
{
	const char *end = strchr(p, ']');
	size_t n, len = strlen(o->o_short);
	int hasarg;

	if (end == NULL)
		return p + strlen(p);
	n = strcspn(p, " ]");
	hasarg = p + n < end;
	if (p[1] == '-' && *nlong < CTL_MAXLONG && n > 2 &&
	    n - 2 < sizeof(o->o_names[0])) {
		memcpy(o->o_names[*nlong], p + 2, n - 2);
		o->o_long[*nlong].name = o->o_names[*nlong];
		o->o_long[*nlong].has_arg = hasarg ? required_argument :
		    no_argument;
		o->o_long[*nlong].val = CTL_LONG;
		(*nlong)++;
	} else if (p[1] != '-' && n == 2 && len + 3 < sizeof(o->o_short)) {
		o->o_short[len++] = p[1];
		if (hasarg)
			o->o_short[len++] = ':';
		o->o_short[len] = '\0';
	} else if (p[1] != '-' && !hasarg) {
		/* a cluster of flags: [-rv] */
		for (p++; p < end && isalnum((unsigned char)*p) &&
		    len + 1 < sizeof(o->o_short); p++)
			o->o_short[len++] = *p;
		o->o_short[len] = '\0';
	}
	return end;
}

/*
 * A command's options, read from its usage text, so that the usage shown
 * is exactly what is accepted.  A leading ':' makes getopt quiet: main()
 * reports unknown options itself.
 */
void
ctl_getopts(const struct ctl_cmd *c, struct ctl_opts *o)
{
	const char *p = c->c_usage;
	size_t nlong = 0;

	memset(o, 0, sizeof(*o));
	o->o_short[0] = ':';
	while ((p = strstr(p, "[-")) != NULL)
		p = getopts_one(p + 1, o, &nlong);
}

/* Options and operand count, checked once for every command. */
static int
check_args(const struct ctl_cmd *c, int argc, char **argv)
{
	struct ctl_opts o;
	char **copy;
	int ch, n, rc = 0;

	ctl_getopts(c, &o);
	/* getopt permutes argv: leave the command's own one untouched */
	copy = xcalloc((size_t)argc + 1, sizeof(*copy));
	memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	optind = 0;
	opterr = 0;
	while (rc == 0 &&
	    (ch = getopt_long(argc, copy, o.o_short, o.o_long, NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			if (optopt > 0 && optopt < CTL_LONG)
				fprintf(stderr, "bmdctl: %s: %s option -%c\n",
				    c->c_name, ch == ':' ? "missing argument "
				    "for" : "unknown", optopt);
			else	/* a long option */
				fprintf(stderr, "bmdctl: %s: bad option %s\n",
				    c->c_name, copy[optind - 1]);
			rc = -1;
		}
	}
	n = argc - optind;
	if (rc == 0 && (n < c->c_min || (c->c_max >= 0 && n > c->c_max))) {
		fprintf(stderr, "bmdctl: %s: %s operands\n", c->c_name,
		    n < c->c_min ? "missing" : "too many");
		rc = -1;
	}
	free(copy);
	optind = 0;
	return rc;
}

/*
 * Is NAME an abbreviation of C?  stdio, which people do not type, only by
 * its full name: "st" stays status, as before it came.
 */
static int
prefix_of(const char *name, const struct ctl_cmd *c)
{
	return c != &cmd_stdio &&
	    strncasecmp(name, c->c_name, strlen(name)) == 0;
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
		if (prefix_of(name, cmds[i])) {
			found = cmds[i];
			n++;
		}
	if (n == 1)
		return found;
	if (n > 1) {
		fprintf(stderr, "bmdctl: ambiguous command: %s, could be:", name);
		for (i = 0; i < NCMDS; i++)
			if (prefix_of(name, cmds[i]))
				fprintf(stderr, " %s", cmds[i]->c_name);
		fputc('\n', stderr);
	} else
		fprintf(stderr, "bmdctl: unknown command: %s (see bmdctl "
		    "--help)\n", name);
	return NULL;
}

static int
help_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	const struct ctl_cmd *c;

	if (argc < 2) {
		usage_all(stdout);
		return 0;
	}
	if ((c = find_cmd(argv[1])) == NULL)
		return EXIT_USAGE;
	return cmd_help_print(c);
}

void
ctl_no_vm(const char *command, const struct conf *c, const char *name)
{
	struct suggest sg;
	const char *best;
	size_t i;

	suggest_init(&sg, name);
	for (i = 0; i < c->c_nvms; i++)
		suggest_add(&sg, c->c_vms[i]->vc_name);
	fprintf(stderr, "bmdctl: %s: no VM named '%s'", command, name);
	if ((best = suggest_best(&sg)) != NULL)
		fprintf(stderr, " (did you mean '%s'?)", best);
	fputc('\n', stderr);
}

struct conf *
ctl_load_conf(int quiet, int *had_errors)
{
	return ctl_load(quiet, had_errors, 0, 0);
}

struct conf *
ctl_load_origins(int *had_errors)
{
	return ctl_load(0, had_errors, 0, 1);
}

/*
 * Global settings only: finding the socket must not cost a full load.
 * Their errors are printed (a socket path that is not taken must not go
 * unsaid), not their warnings, which every command would repeat.
 */
struct conf *
ctl_load_globals(int *had_errors)
{
	return ctl_load(-1, had_errors, 1, 0);
}

static void
print_errors(const struct diags *ds)
{
	size_t i;

	for (i = 0; i < ds->ds_n; i++)
		if (ds->ds_v[i].d_level == DIAG_ERROR)
			fprintf(stderr, "%s\n", ds->ds_v[i].d_text);
}

/* quiet: 1 print nothing, 0 every diagnostic, -1 only the errors */
static struct conf *
ctl_load(int quiet, int *had_errors, int globals_only, int origins)
{
	struct conf_load_opts lo = { .lo_path = ctl_conf_path,
	    .lo_check_files = 1, .lo_validate = backend_validate_vm,
	    .lo_globals_only = globals_only, .lo_origins = origins };
	struct diags ds;
	struct conf *c;

	/* a remote host's configuration is read there (CTL_ON_HOST) */
	if (ctl_host != NULL)
		fatalx("internal error: configuration read here for %s",
		    ctl_host->h_name);
	diags_init(&ds);
	c = conf_load(&lo, &ds);
	if (quiet == 0)
		diags_print(&ds, stderr);
	else if (quiet == -1)
		print_errors(&ds);
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
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 } };
	const struct ctl_cmd *c;
	int ch;

	log_init("bmdctl", LOG_TO_STDERR, 0);
	/* plugins' keys, from plugin_directory (lazily: no daemon API here) */
	conf_plugins_enable(NULL, 1);
	while ((ch = getopt_long(argc, argv, "+f:hH:s:V", longs, NULL)) != -1) {
		switch (ch) {
		case 'f':
			ctl_conf_path = optarg;
			ctl_conf_given = 1;
			break;
		case 'H':
			if (hosts_add(optarg) == -1)
				return EXIT_USAGE;
			break;
		case 's':
			ctl_socket_path = optarg;
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
	if (wants_help(argc, argv))
		return cmd_help_print(c);
	if (check_args(c, argc, argv) == -1)
		return ctl_usage(c);
	return hosts_route(c, argc, argv);
}
