/* What the runtime drivers share: which one runs a VM, UEFI variables. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bmd.h"
#include "log.h"
#include "qemu.h"
#include "xmalloc.h"

const struct vm_driver *
driver_for(const struct vm_conf *vc)
{
	static const struct vm_driver *const drivers[] = {
		[BACKEND_QEMU] = &drv_qemu,
		[BACKEND_BHYVE] = &drv_bhyve,
	};

	return drivers[vc->vc_backend];
}

/* A new file to, the owner's (given by descriptor: never a link's target). */
static int
copy_file(const char *from, const char *to, uid_t owner)
{
	char buf[65536];
	ssize_t r;
	int in, out, rc = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (out == -1) {
		close(in);
		return -1;
	}
	while (rc == 0 && (r = read(in, buf, sizeof(buf))) != 0)
		if (r == -1 || write(out, buf, (size_t)r) != r)
			rc = -1;
	if (fchown(out, owner, (gid_t)-1) == -1)
		rc = -1;
	close(in);
	if (close(out) == -1)
		rc = -1;
	return rc;
}

/*
 * Another owner's variables (the name passed to a new owner): never
 * hers, and never destroyed either, for they are the earlier owner's
 * data: renamed to PATH.UID, where root can give them back.
 */
static void
set_aside(const struct vm_conf *vc, const char *path, const struct stat *st)
{
	char *aside = xprintf("%s.%lu", path, (unsigned long)st->st_uid);

	if (S_ISREG(st->st_mode) && rename(path, aside) == 0)
		log_info("vm %s: the UEFI variables in %s are another owner's "
		    "(uid %lu), kept as %s; starting from a fresh copy",
		    vc->vc_name, path, (unsigned long)st->st_uid, aside);
	else
		log_info("vm %s: the UEFI variables in %s are another owner's "
		    "(uid %lu); starting from a fresh copy", vc->vc_name, path,
		    (unsigned long)st->st_uid);
	free(aside);
}

/*
 * The VM's own copy of the firmware's variable store, made from template
 * when there is none, for an install, and when the one in place is not
 * the owner's: the file goes by name, and a name can pass to another
 * owner, whose guest must never read the first one's variables.
 */
void
runtime_uefi_vars(const struct vm *vm, const char *template)
{
	const struct vm_conf *vc = vm->vm_conf;
	struct stat st;
	char *path;
	int fresh;

	if (mkdir(bmd.b_vars_dir, 0700) == -1 && errno != EEXIST)
		log_warn("vm %s: mkdir %s", vc->vc_name, bmd.b_vars_dir);
	path = vm_vars_path(bmd.b_vars_dir, vc->vc_name);
	fresh = vm->vm_install || vc->vc_install || lstat(path, &st) == -1;
	if (!fresh && (!S_ISREG(st.st_mode) || st.st_uid != vc->vc_owner)) {
		set_aside(vc, path, &st);
		fresh = 1;
	}
	if (fresh && ((unlink(path) == -1 && errno != ENOENT) ||
	    copy_file(template, path, vc->vc_owner) == -1))
		log_warn("vm %s: cannot copy %s to %s", vc->vc_name, template,
		    path);
	free(path);
}
