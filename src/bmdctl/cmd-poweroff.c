/* bmdctl poweroff NAME: forced power-off of a VM. */
#include "bmdctl.h"

static int
poweroff_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_simple("poweroff", argv[argc - 1]);
}

const struct ctl_cmd cmd_poweroff = {
	"poweroff", NULL, "NAME", 1, 1, poweroff_exec,
	"power a VM off at once, without asking the guest"
};
