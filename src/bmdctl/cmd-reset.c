/* bmdctl reset NAME: forced reset of a VM. */
#include "bmdctl.h"

static int
reset_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_simple("reset", argv[argc - 1]);
}

const struct ctl_cmd cmd_reset = {
	"reset", NULL, "NAME", 1, 1, reset_exec,
	"reset a running VM at once, as the reset button would"
};
