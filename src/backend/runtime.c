/* Which runtime driver runs a VM: one per backend, indexed by its type. */
#include "conf.h"
#include "runtime.h"

const struct vm_driver *
driver_for(const struct vm_conf *vc)
{
	static const struct vm_driver *const drivers[] = {
		[BACKEND_QEMU] = &drv_qemu,
		[BACKEND_BHYVE] = &drv_bhyve,
	};

	return drivers[vc->vc_backend];
}
