/* bmdctl reload: make bmd re-read its configuration (as SIGHUP does). */
#include "bmdctl.h"

static int
reload_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	return ctl_simple("reload", NULL);
}

const struct ctl_cmd cmd_reload = {
	"reload", NULL, "", 0, 0, reload_exec,
	"re-read the configuration, as SIGHUP does (root only)"
};
