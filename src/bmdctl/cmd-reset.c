/* bmdctl reset [-w] [-t SECONDS] [-q] NAME: forced reset of a VM. */
#include "bmdctl.h"

static int
reset_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_act_wait(self, "reset", CTL_RUNNING, argc, argv);
}

const struct ctl_cmd cmd_reset = {
	"reset", NULL, "[-w] [-t SECONDS] [-q] NAME", 1, 1, reset_exec,
	"reset a running VM at once, as the reset button would (-w: wait "
	    "until it runs again)", CTL_RELAY
};
