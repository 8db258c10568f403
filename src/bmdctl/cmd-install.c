/* bmdctl install [-c] NAME: start a VM in install mode. */
#include "bmdctl.h"

static int
install_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_boot_common(self, "install", argc, argv);
}

const struct ctl_cmd cmd_install = {
	"install", NULL, "[-c] [-w] [-t SECONDS] [-q] NAME", 1, 1, install_exec,
	"start a VM in install mode (-c: then attach to its console)", CTL_RELAY
};
