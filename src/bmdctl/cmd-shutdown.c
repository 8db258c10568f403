/* bmdctl shutdown|stop [-w] [-t SECONDS] [-q] NAME...: ACPI shutdown of VMs. */
#include "bmdctl.h"

static int
shutdown_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_act_wait(self, "shutdown", CTL_STOPPED, argc, argv);
}

const struct ctl_cmd cmd_shutdown = {
	"shutdown", "stop", "[-w] [-t SECONDS] [-q] NAME...", 1, -1, shutdown_exec,
	"ask VMs to shut down (ACPI power button; forced after stop_timeout;\n"
	    "      -w: wait until they have stopped, -t: at most SECONDS in all,\n"
	    "      -q: quietly)",
	CTL_RELAY
};
