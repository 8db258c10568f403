/* Every file name bmd builds from a VM name, in one place. */
#include "qemu.h"
#include "xmalloc.h"

/*
 * The name is one path component: conf_vm_name_problem() rejected "/",
 * "..", control characters and leading "-" in every name a VM can have,
 * so these paths stay inside the directory given.
 */
char *
qemu_qmp_path(const char *rundir, const char *name)
{
	return xprintf("%s/%s.qmp", rundir, name);
}

char *
qemu_com_path(const char *rundir, const char *name, int com)
{
	return xprintf("%s/%s.com%d", rundir, name, com + 1);
}

char *
qemu_vc_path(const char *rundir, const char *name, long long port)
{
	return xprintf("%s/%s.vc%lld", rundir, name, port);
}

char *
vm_vars_path(const char *varsdir, const char *name)
{
	return xprintf("%s/%s.vars", varsdir, name);
}
