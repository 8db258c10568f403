/* bmdctl boot|start [-c] [-w] [-t SECONDS] [-q] NAME...: ask bmd to start VMs. */
#include <stdio.h>

#include "bmdctl.h"

/* Shared with install: send COMMAND for the operand, then -c. */
int
ctl_boot_common(const struct ctl_cmd *self, const char *command, int argc,
    char **argv)
{
	struct ctl_wait w = { 0, 0, 0, 0 };
	struct ctl_opts o;
	int ch, console = 0, rc;

	ctl_getopts(self, &o);
	while ((ch = getopt_long(argc, argv, o.o_short, o.o_long, NULL)) != -1) {
		if (ch == 'c')
			console = 1;
		else if ((rc = ctl_wait_option(ch, optarg, &w)) != 1)
			return rc == -1 ? EXIT_USAGE : ctl_usage(self);
	}
	if (!console)
		return ctl_act_each(command, CTL_RUNNING, &w, argc - optind,
		    argv + optind);
	/* -c: one VM, and a terminal, said before anything is started */
	if (argc - optind != 1) {
		fprintf(stderr, "bmdctl: %s: -c attaches to the console of "
		    "one VM; name one VM\n", self->c_name);
		return ctl_usage(self);
	}
	if (ctl_console_need_tty(argv[optind], 0))
		return 1;
	if ((rc = ctl_act_each(command, CTL_RUNNING, &w, 1,
	    argv + optind)) != 0)
		return rc;
	/* com1, from the first byte of this run */
	return ctl_console(argv[optind], 0, CONSOLE_INTERACTIVE, 1);
}

static int
boot_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_boot_common(self, "boot", argc, argv);
}

const struct ctl_cmd cmd_boot = {
	"boot", "start", "[-c] [-w] [-t SECONDS] [-q] NAME...", 1, -1, boot_exec,
	"start VMs, each in turn (-c: then attach to the console of the one\n"
	    "      named; -w: wait until they run, -t: at most SECONDS in all,\n"
	    "      -q: without the progress lines)",
	CTL_RELAY
};
