/* QEMU backend validation: every key either maps to QEMU or is refused. */
#include <string.h>

#include "backend.h"
#include "keys.h"
#include "qemu.h"

/*
 * Keys with no QEMU counterpart.  A default value is fine; an explicit
 * setting would be silently dropped, so it is an error instead.
 */
static const char *const no_qemu[] = {
	"bhyveload_loader", "bhyveload_env", "bhyve_env", "loadcmd",
	"installcmd", "grub_run_partition", "loader_timeout", "hostbridge",
	"graphics_vga", "graphics_wait", NULL
};

static void
refuse(const struct vm_conf *vc, const char *key, const char *why,
    struct diags *ds)
{
	const struct conf_key *k = keys_find(key);

	diag_error(ds, key_pos(k, vc), "vm \"%s\": \"%s\" %s", vc->vc_name,
	    key, why);
}

static void
check_coms(const struct vm_conf *vc, struct diags *ds)
{
	static const char *const names[] = { "com1", "com2", "com3", "com4" };
	int i;

	for (i = 0; i < 4; i++)
		if (vc->vc_com[i] != NULL && strncmp(vc->vc_com[i], "/dev/nmdm",
		    9) == 0)
			refuse(vc, names[i], "names an nmdm device, which "
			    "exists only on FreeBSD (use auto)", ds);
}

static void
check_passthru(const struct vm_conf *vc, struct diags *ds)
{
	size_t i;

	for (i = 0; i < vc->vc_passthru.l_n; i++)
		if (strncmp(*CLIST_AT(&vc->vc_passthru, char *, i), "ppt",
		    3) == 0)
			refuse(vc, "passthru", "pptN devices exist only on "
			    "FreeBSD (write BUS/SLOT/FUNCTION)", ds);
}

int
qemu_validate(const struct vm_conf *vc, struct diags *ds)
{
	size_t nerr = ds->ds_nerrors, i;

	for (i = 0; no_qemu[i] != NULL; i++)
		if (key_isset(keys_find(no_qemu[i]), vc))
			refuse(vc, no_qemu[i], "is not supported by the qemu "
			    "backend", ds);
	if (vc->vc_loader != NULL && strcmp(vc->vc_loader, "bios") != 0 &&
	    strcmp(vc->vc_loader, "uefi") != 0)
		refuse(vc, "loader", "must be bios or uefi for the qemu "
		    "backend", ds);
	if (vc->vc_x2apic)
		refuse(vc, "x2apic", "has no QEMU counterpart (KVM enables "
		    "x2APIC by itself)", ds);
	if (vc->vc_network.l_n > 0)
		refuse(vc, "network", "is not supported by the qemu backend "
		    "yet", ds);
	if (vc->vc_initrd != NULL && vc->vc_kernel == NULL)
		refuse(vc, "initrd", "needs \"kernel\"", ds);
	if (vc->vc_cmdline != NULL && vc->vc_kernel == NULL)
		refuse(vc, "cmdline", "needs \"kernel\"", ds);
	if (vc->vc_vconsole_nc > 0 && vc->vc_vconsole_np == 0)
		refuse(vc, "virt_console_ncontrollers", "needs "
		    "virt_console_nports > 0 with the qemu backend", ds);
	check_coms(vc, ds);
	check_passthru(vc, ds);
	return ds->ds_nerrors == nerr ? 0 : -1;
}
