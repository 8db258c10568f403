/* Every file name bmd builds from a VM name, in one place. */
#include "vmpaths.h"
#include "xmalloc.h"

char *
vm_file_name(const char *name, const char *suffix)
{
	return xprintf("%s.%s", name, suffix);
}

char *
vm_path(const char *dir, const char *name, const char *suffix)
{
	return xprintf("%s/%s.%s", dir, name, suffix);
}

char *
vm_vars_path(const char *varsdir, const char *name)
{
	return vm_path(varsdir, name, "vars");
}
