/* bmdctl reset [-w] [-t SECONDS] [-q] NAME...: forced reset of VMs. */
#include "bmdctl.h"

static int
reset_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_act_wait(self, "reset", CTL_RUNNING, argc, argv);
}

const struct ctl_cmd cmd_reset = {
	"reset", NULL, "[-w] [-t SECONDS] [-q] NAME...", 1, -1, reset_exec,
	"reset running VMs at once, as the reset button would (-w: wait "
	    "until they run again)", CTL_RELAY
};
