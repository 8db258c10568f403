/* QEMU backend validation: every key either maps to QEMU or is refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "keys.h"
#include "qemu.h"
#include "qemu_fds.h"

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
		if (vc->vc_com[i].cm_kind == COM_DEV &&
		    strncmp(vc->vc_com[i].cm_text, "/dev/nmdm", 9) == 0)
			refuse(vc, names[i], "names an nmdm device, which "
			    "exists only on FreeBSD (use auto)", ds);
}

static void
check_passthru(const struct vm_conf *vc, struct diags *ds)
{
	unsigned b, s, f;
	const char *v;
	size_t i;

	for (i = 0; i < vc->vc_passthru.l_n; i++) {
		v = *CLIST_AT(&vc->vc_passthru, char *, i);
		if (strncmp(v, "ppt", 3) == 0)
			refuse(vc, "passthru", "pptN devices exist only on "
			    "FreeBSD (write BUS/SLOT/FUNCTION)", ds);
		else if (sscanf(v, "%u/%u/%u", &b, &s, &f) != 3 || b > 255 ||
		    s > 31 || f > 7)
			diag_error(ds, &vc->vc_passthru.l_pos[i], "vm \"%s\": "
			    "\"passthru\": %s is not BUS/SLOT/FUNCTION with bus "
			    "0-255, slot 0-31, function 0-7", vc->vc_name, v);
	}
}

/* QEMU's system emulators (qemu-system-TARGET), as of QEMU 7 and 8. */
static const char *const arches[] = { "aarch64", "alpha", "arm", "avr",
	"cris", "hppa", "i386", "loongarch64", "m68k", "microblaze",
	"microblazeel", "mips", "mips64", "mips64el", "mipsel", "nios2",
	"or1k", "ppc", "ppc64", "riscv32", "riscv64", "rx", "s390x", "sh4",
	"sh4eb", "sparc", "sparc64", "tricore", "x86_64", "xtensa",
	"xtensaeb", NULL };

static void
check_arch(const struct vm_conf *vc, struct diags *ds)
{
	const char *a = vc->vc_qemu_arch;
	char *bin;
	size_t i;

	for (i = 0; arches[i] != NULL && strcmp(arches[i], a) != 0; i++)
		;
	if (arches[i] == NULL) {
		diag_error(ds, key_pos(keys_find("qemu_arch"), vc), "vm \"%s\": "
		    "\"qemu_arch\": \"%s\" is not a QEMU system target (such "
		    "as x86_64, i386, aarch64, arm, riscv64, ppc64 or s390x)",
		    vc->vc_name, a);
		return;
	}
	if (vc->vc_qemu_binary != NULL)
		refuse(vc, "qemu_arch", "and \"qemu_binary\" both choose the "
		    "program: set one", ds);
	else if ((bin = qemu_arch_binary(a)) != NULL) {
		if (access(bin, X_OK) == -1)
			diag_error(ds, key_pos(keys_find("qemu_arch"), vc),
			    "vm \"%s\": \"qemu_arch\": %s: %s (is QEMU for %s "
			    "installed?)", vc->vc_name, bin, strerror(errno), a);
		free(bin);
	}
	/* "pc", bmd's default machine, exists only for the x86 targets */
	if (strcmp(a, "x86_64") != 0 && strcmp(a, "i386") != 0 &&
	    vc->vc_qemu_machine == NULL)
		refuse(vc, "qemu_arch", "needs \"qemu_machine\" for a target "
		    "other than x86_64 and i386", ds);
}

static void
check_arch_bios(const struct vm_conf *vc, struct diags *ds)
{
	if (vc->vc_qemu_arch != NULL)
		check_arch(vc, ds);
	if (vc->vc_qemu_bios != NULL && vc->vc_loader != NULL &&
	    strcmp(vc->vc_loader, "uefi") == 0)
		refuse(vc, "qemu_bios", "and loader = uefi both give the "
		    "firmware: set one", ds);
}

/* vale switches exist only with bhyve on FreeBSD. */
static void
check_networks(const struct vm_conf *vc, struct diags *ds)
{
	const struct conf_net *n;
	size_t i;

	for (i = 0; i < vc->vc_network.l_n; i++) {
		n = CLIST_AT(&vc->vc_network, struct conf_net, i);
		if (strncmp(n->n_bridge, "vale", 4) == 0)
			diag_error(ds, &vc->vc_network.l_pos[i], "vm \"%s\": "
			    "\"network\": %s is a vale switch (netmap), which "
			    "only the bhyve backend supports", vc->vc_name,
			    n->n_bridge);
	}
}

static size_t
ahci_ports(const struct vm_conf *vc)
{
	const struct conf_disk *d;
	size_t i, n = vc->vc_iso.l_n;

	for (i = 0; i < vc->vc_disk.l_n; i++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, i);
		n += d->d_type == DISK_AHCI || d->d_type == DISK_AHCI_HD;
	}
	return n;
}

int
qemu_validate(const struct vm_conf *vc, struct diags *ds)
{
	size_t nerr = ds->ds_nerrors;

	backend_refuse_keys(vc, KEY_BHYVE, "qemu", ds);
	if (vc->vc_loader != NULL && strcmp(vc->vc_loader, "bios") != 0 &&
	    strcmp(vc->vc_loader, "uefi") != 0)
		refuse(vc, "loader", "must be bios or uefi for the qemu "
		    "backend", ds);
	if (vc->vc_graphics && vc->vc_graphics_path == NULL &&
	    vc->vc_graphics_port < 5900)
		refuse(vc, "graphics_port", "must be 5900 or more with the "
		    "qemu backend (VNC display = port - 5900)", ds);
	if (key_isset(keys_find("virt_console_template"), vc))
		refuse(vc, "virt_console_template", "is not supported by the "
		    "qemu backend (ports are named virt_consoleN)", ds);
	if (ahci_ports(vc) > 6)
		refuse(vc, "iso", "too many AHCI disks and ISOs for the qemu "
		    "backend (at most 6)", ds);
	if (vc->vc_initrd != NULL && vc->vc_kernel == NULL)
		refuse(vc, "initrd", "needs \"kernel\"", ds);
	if (vc->vc_cmdline != NULL && vc->vc_kernel == NULL)
		refuse(vc, "cmdline", "needs \"kernel\"", ds);
	/* bmd binds a socket for each in the user's stead (qemu_fds.c) */
	if (vc->vc_owner != 0 &&
	    vc->vc_vconsole_nc * vc->vc_vconsole_np > QEMU_FDS_MAXVC)
		refuse(vc, "virt_console_nports", "gives a user's VM more than "
		    "43 virtio consoles (controllers x ports)", ds);
	if (vc->vc_vconsole_nc > 0 && vc->vc_vconsole_np == 0)
		refuse(vc, "virt_console_ncontrollers", "needs "
		    "virt_console_nports > 0 with the qemu backend", ds);
	/* an address, not an option list: a comma would add QEMU options */
	if (vc->vc_graphics && vc->vc_graphics_path == NULL &&
	    vc->vc_graphics_listen != NULL &&
	    strchr(vc->vc_graphics_listen, ',') != NULL)
		refuse(vc, "graphics_listen", "is an address and cannot "
		    "contain a comma", ds);
	if (vc->vc_debug_port != NULL && strchr(vc->vc_debug_port, ',') != NULL)
		refuse(vc, "debug_port", "is [HOST:]PORT and cannot contain a "
		    "comma", ds);
	check_coms(vc, ds);
	check_passthru(vc, ds);
	check_networks(vc, ds);
	check_arch_bios(vc, ds);
	return ds->ds_nerrors == nerr ? 0 : -1;
}
