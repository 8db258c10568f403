/* bmdctl poweroff [-w] [-t SECONDS] [-q] NAME...: forced power-off of VMs. */
#include "bmdctl.h"

static int
poweroff_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_act_wait(self, "poweroff", CTL_STOPPED, argc, argv);
}

const struct ctl_cmd cmd_poweroff = {
	"poweroff", NULL, "[-w] [-t SECONDS] [-q] NAME...", 1, -1, poweroff_exec,
	"power VMs off at once, without asking the guests (-w, -t, -q: as "
	    "shutdown)", CTL_RELAY
};
