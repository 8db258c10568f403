/* bmdctl shutdown|stop NAME: ACPI shutdown of a VM. */
#include "bmdctl.h"

static int
shutdown_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_simple("shutdown", argv[argc - 1]);
}

const struct ctl_cmd cmd_shutdown = {
	"shutdown", "stop", "NAME", 1, 1, shutdown_exec,
	"ask a VM to shut down (ACPI power button; forced after stop_timeout)"
};
