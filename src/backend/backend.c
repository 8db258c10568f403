/* Backend selection: maps the "backend" key to its implementation. */
#include <stddef.h>

#include "backend.h"

const struct backend *
backend_get(int type)
{
	switch (type) {
	case BACKEND_BHYVE:
		return &backend_bhyve;
	case BACKEND_QEMU:
		return &backend_qemu;
	}
	return NULL;
}

int
backend_validate_vm(const struct vm_conf *vc, struct diags *ds)
{
	const struct backend *be = backend_get(vc->vc_backend);

	if (be == NULL || be->be_validate == NULL)
		return 0;
	return be->be_validate(vc, ds);
}
