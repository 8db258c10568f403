/* Internals shared by the QEMU backend files and the daemon's QEMU driver. */
#ifndef BMD_QEMU_H
#define BMD_QEMU_H

#include "backend.h"

int	 qemu_validate(const struct vm_conf *, struct diags *);
/* Socket paths inside the daemon's run directory. */
char	*qemu_qmp_path(const char *rundir, const char *name);
char	*qemu_com_path(const char *rundir, const char *name, int com);

#endif
