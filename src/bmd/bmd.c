/* bmd: the daemon's entry point, options and configuration check mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "backend.h"
#include "conf.h"
#include "log.h"
#include "version.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: bmd [-Fnv] [-f config] [-P pidfile] [-p plugindir] "
	    "[-m sockmode]\n"
	    "  -F  stay in the foreground and log to stderr too\n"
	    "  -f  configuration file (default %s/etc/bmd.conf)\n"
	    "  -n  check the configuration, print every error, and exit\n"
	    "  -P  pid file    -p  plugin directory    -m  socket mode\n"
	    "  -v  print the version and exit\n", LOCALBASE);
}

/* bmd -n: exit 0 only when the whole configuration is valid. */
static int
check_config(const char *path)
{
	struct conf_load_opts lo = { path, NULL, 1, backend_validate_vm };
	struct diags ds;
	struct conf *c;
	int rc;

	diags_init(&ds);
	c = conf_load(&lo, &ds);
	diags_print(&ds, stderr);
	rc = c->c_fatal || ds.ds_nerrors > 0 ? 1 : 0;
	if (rc == 0)
		fprintf(stderr, "%s: configuration OK (%zu VM%s)\n", path,
		    c->c_nvms, c->c_nvms == 1 ? "" : "s");
	conf_free(c);
	diags_free(&ds);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *conf_path = LOCALBASE "/etc/bmd.conf";
	int ch, foreground = 0, check = 0;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "Ff:hm:nP:p:v")) != -1) {
		switch (ch) {
		case 'F':
			foreground = 1;
			break;
		case 'f':
			conf_path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			printf("bmd %s\n", BMD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case 'm':
		case 'P':
		case 'p':
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	log_init("bmd", LOG_TO_STDERR | (foreground ? 0 : LOG_TO_SYSLOG),
	    LOG_DAEMON);
	if (check)
		return check_config(conf_path);
	log_warnx("the daemon is not implemented yet; use -n");
	return 1;
}
