/* Backend selection: maps the "backend" key to its implementation. */
#include <stddef.h>
#include <string.h>

#include "backend.h"
#include "keys.h"

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

const char *
backend_owner_path(const struct be_params *bp, const char *path)
{
	size_t i;

	for (i = 0; i < bp->bp_nowner; i++)
		if (strcmp(bp->bp_owner_paths[i], path) == 0)
			return bp->bp_owner_as[i];
	return path;
}

int
backend_validate_vm(const struct vm_conf *vc, struct diags *ds)
{
	const struct backend *be = backend_get(vc->vc_backend);

	if (be == NULL || be->be_validate == NULL)
		return 0;
	return be->be_validate(vc, ds);
}

/*
 * Keys the key table marks as belonging to the other hypervisor: an
 * explicit setting would be silently dropped, so it is an error instead.
 */
void
backend_refuse_keys(const struct vm_conf *vc, unsigned flag,
    const char *backend, struct diags *ds)
{
	const struct conf_key *k;
	size_t i;

	for (i = 0; i < keys_count(); i++) {
		k = keys_at(i);
		if ((k->k_flags & flag) && key_isset(k, vc))
			diag_error(ds, key_pos(k, vc), "vm \"%s\": \"%s\" is not "
			    "supported by the %s backend", vc->vc_name,
			    k->k_name, backend);
	}
}
