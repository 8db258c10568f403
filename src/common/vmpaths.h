/* Every file name bmd builds from a VM name, in one place (vmpaths.c). */
#ifndef BMD_VMPATHS_H
#define BMD_VMPATHS_H

/*
 * The name is one path component: conf_vm_name_problem() rejected "/",
 * "..", control characters and a leading "-" in every name a VM can
 * have, so these stay inside the directory given.
 */
/* "NAME.SUFFIX", to open relative to a directory descriptor. */
char	*vm_file_name(const char *name, const char *suffix);
/* "DIR/NAME.SUFFIX". */
char	*vm_path(const char *dir, const char *name, const char *suffix);
/* The UEFI variable store, "VARSDIR/NAME.vars". */
char	*vm_vars_path(const char *varsdir, const char *name);

#endif
