/* Internals shared by the QEMU backend files and the daemon's QEMU driver. */
#ifndef BMD_QEMU_H
#define BMD_QEMU_H

#include "backend.h"
#include "vmpaths.h"

int	 qemu_validate(const struct vm_conf *, struct diags *);
/* Paths built from a VM name (vmpaths.c): sockets in the run directory. */
char	*qemu_qmp_path(const char *rundir, const char *name);
/* /usr/bin/qemu-system-ARCH, for qemu_arch */
char	*qemu_arch_binary(const char *arch);
char	*qemu_com_path(const char *rundir, const char *name, int com);
char	*qemu_vc_path(const char *rundir, const char *name, long long port);

#endif
