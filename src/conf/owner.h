/* Ownership of VMs: user and group names, and who may set which owner. */
#ifndef BMD_OWNER_H
#define BMD_OWNER_H

#include <sys/types.h>

#include "buf.h"
#include "conf.h"

/* The name of a uid or gid (cached); the number when it has no name. */
const char	*owner_user_name(uid_t);
/*
 * Apply "USER[:GROUP]" to vc.  restricted: the text comes from a file
 * not owned by root, so only the VM's current owner may be named, and
 * only a group that user belongs to.  -1 with a message in err.
 */
int		 owner_apply(struct vm_conf *, const char *spec, int restricted,
		    struct buf *err);
int		 owner_in_group(const char *user, gid_t primary, gid_t);

#endif
