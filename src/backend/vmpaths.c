/* The backends' files named after a VM, built by vm_path(). */
#include <stdio.h>

#include "qemu.h"
#include "vmpaths.h"
char *
qemu_qmp_path(const char *rundir, const char *name)
{
	return vm_path(rundir, name, "qmp");
}

char *
qemu_com_path(const char *rundir, const char *name, int com)
{
	char sfx[16];

	snprintf(sfx, sizeof(sfx), "com%d", com + 1);
	return vm_path(rundir, name, sfx);
}

char *
qemu_vc_path(const char *rundir, const char *name, long long port)
{
	char sfx[32];

	snprintf(sfx, sizeof(sfx), "vc%lld", port);
	return vm_path(rundir, name, sfx);
}
