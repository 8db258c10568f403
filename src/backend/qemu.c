/* QEMU backend: the qemu-system command line for a VM configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "keys.h"
#include "paths.h"
#include "qemu.h"
#include "vmpaths.h"
#include "xmalloc.h"

#define QEMU_DEFAULT_BINARY	"/usr/bin/qemu-system-x86_64"
#define OVMF_DIR		"/usr/share/OVMF"


static const char *
run_dir(const struct be_params *bp)
{
	return bp->bp_run_dir != NULL ? bp->bp_run_dir : BMD_RUN_DIR;
}

/*
 * A value for QEMU's option syntax (KEY=VALUE,...): a comma in it is
 * doubled, else "x,file.locking=off" in a path adds an option.
 */
static char *
esc(const char *s)
{
	size_t n = strlen(s), i, j;
	char *d;

	for (i = 0; s[i] != '\0'; i++)
		n += s[i] == ',';
	d = xmalloc(n + 1);
	for (i = j = 0; s[i] != '\0'; i++) {
		d[j++] = s[i];
		if (s[i] == ',')
			d[j++] = ',';
	}
	d[j] = '\0';
	return d;
}

/* "RUNDIR/NAME.SUFFIX", escaped for an option value. */
static char *
esc_run_path(const struct vm_conf *vc, const struct be_params *bp,
    const char *suffix)
{
	char *p = vm_path(run_dir(bp), vc->vc_name, suffix);
	char *e = esc(p);

	free(p);
	return e;
}

static void
add_machine(const struct vm_conf *vc, const struct be_params *bp,
    struct argv *av)
{
	const struct conf_ncpu *nc = &vc->vc_ncpu;

	argv_add(av, "-machine");
	argv_addf(av, "%s", vc->vc_qemu_machine ? vc->vc_qemu_machine : "pc");
	argv_add(av, "-accel");
	argv_add(av, bp->bp_accel != NULL ? bp->bp_accel : "tcg");
	if (vc->vc_qemu_cpu != NULL) {
		argv_add(av, "-cpu");
		argv_add(av, vc->vc_qemu_cpu);
	}
	argv_add(av, "-smp");
	argv_addf(av, "cpus=%d,sockets=%d,cores=%d,threads=%d", nc->nc_cpus,
	    nc->nc_sockets, nc->nc_cores, nc->nc_threads);
	argv_add(av, "-m");
	argv_addf(av, "%lluk", (unsigned long long)(vc->vc_memory.m_bytes /
	    1024));
	if (vc->vc_wired_memory || vc->vc_passthru.l_n > 0) {
		argv_add(av, "-overcommit");
		argv_add(av, "mem-lock=on");
	}
	argv_add(av, "-rtc");
	argv_add(av, vc->vc_utctime ? "base=utc" : "base=localtime");
}

static void
add_firmware(const struct vm_conf *vc, const struct be_params *bp,
    struct argv *av)
{
	const char *share = bp->bp_qemu_share ? bp->bp_qemu_share : OVMF_DIR;
	const char *vars = bp->bp_vars_dir ? bp->bp_vars_dir :
	    BMD_VARS_DIR;
	char *path, *e;

	if (vc->vc_qemu_bios != NULL) {
		argv_add(av, "-bios");
		argv_add(av, vc->vc_qemu_bios);
	}
	if (vc->vc_loader != NULL && strcmp(vc->vc_loader, "uefi") == 0) {
		argv_add(av, "-drive");
		e = esc(share);
		argv_addf(av, "if=pflash,format=raw,unit=0,readonly=on,"
		    "file=%s/OVMF_CODE_4M.fd", e);
		free(e);
		if (bp->bp_fd_vars[0] > 0) {
			/* a user's VM: bmd opened bmd's file for it */
			argv_add(av, "-add-fd");
			argv_addf(av, "fd=%d,set=1", bp->bp_fd_vars[0]);
			argv_add(av, "-add-fd");
			argv_addf(av, "fd=%d,set=1", bp->bp_fd_vars[1]);
			argv_add(av, "-drive");
			argv_add(av, "if=pflash,format=raw,unit=1,"
			    "file=/dev/fdset/1");
		} else {
			path = vm_vars_path(vars, vc->vc_name);
			e = esc(path);
			argv_add(av, "-drive");
			argv_addf(av, "if=pflash,format=raw,unit=1,file=%s", e);
			free(e);
			free(path);
		}
	}
	if (vc->vc_kernel != NULL) {
		argv_add(av, "-kernel");
		argv_add(av, vc->vc_kernel);
	}
	if (vc->vc_initrd != NULL) {
		argv_add(av, "-initrd");
		argv_add(av, vc->vc_initrd);
	}
	if (vc->vc_cmdline != NULL) {
		argv_add(av, "-append");
		argv_add(av, vc->vc_cmdline);
	}
	if (bp->bp_install && vc->vc_iso.l_n > 0) {
		argv_add(av, "-boot");
		argv_add(av, "order=dc");
	}
}

/* Reboot ends the VM in oneshot and install modes; otherwise it resets. */
static void
add_control(const struct vm_conf *vc, const struct be_params *bp,
    struct argv *av)
{
	char *e;

	if (bp->bp_fd_qmp > 0) {
		/* a user's VM: the socket bmd bound (see owner_io.c) */
		argv_add(av, "-chardev");
		argv_addf(av, "socket,id=qmp,fd=%d,server=on,wait=off",
		    bp->bp_fd_qmp);
		argv_add(av, "-mon");
		argv_add(av, "chardev=qmp,mode=control");
	} else {
		e = esc_run_path(vc, bp, "qmp");
		argv_add(av, "-qmp");
		argv_addf(av, "unix:%s,server=on,wait=off", e);
		free(e);
	}
	if (vc->vc_boot == BOOT_ONESHOT || bp->bp_install || vc->vc_install) {
		argv_add(av, "-action");
		argv_add(av, "reboot=shutdown");
	}
	argv_add(av, "-sandbox");
	argv_add(av, "on");
	if (vc->vc_debug_port != NULL) {
		argv_add(av, "-gdb");
		if (strchr(vc->vc_debug_port, ':') != NULL)
			argv_add(av, vc->vc_debug_port);
		else
			argv_addf(av, "tcp::%s", vc->vc_debug_port);
	}
}

static void
add_com(const struct vm_conf *vc, const struct be_params *bp, int i,
    struct argv *av)
{
	const struct conf_com *cm = &vc->vc_com[i];
	char *e, *sfx;

	argv_add(av, "-chardev");
	if (cm->cm_kind == COM_NONE)
		argv_addf(av, "null,id=com%d", i + 1);
	else if (cm->cm_kind == COM_STDIO)
		argv_addf(av, "stdio,id=com%d,signal=off", i + 1);
	else if (cm->cm_kind == COM_TCP) {
		e = esc(cm->cm_host);
		argv_addf(av, "socket,id=com%d,host=%s,port=%d,server=on,"
		    "wait=off", i + 1, e, cm->cm_port);
		free(e);
	} else if (cm->cm_kind == COM_DEV) {
		e = esc(cm->cm_text);
		argv_addf(av, "serial,id=com%d,path=%s", i + 1, e);
		free(e);
	} else if (bp->bp_fd_com[i] > 0)
		argv_addf(av, "socket,id=com%d,fd=%d,server=on,wait=off",
		    i + 1, bp->bp_fd_com[i]);
	else {
		sfx = xprintf("com%d", i + 1);
		e = esc_run_path(vc, bp, sfx);
		argv_addf(av, "socket,id=com%d,path=%s,server=on,wait=off",
		    i + 1, e);
		free(e);
		free(sfx);
	}
	argv_add(av, "-serial");
	argv_addf(av, "chardev:com%d", i + 1);
}

/* -serial binds ports in order, so a gap before a used port gets null. */
static void
add_coms(const struct vm_conf *vc, const struct be_params *bp,
    struct argv *av)
{
	int i, last = -1;

	for (i = 0; i < 4; i++)
		if (vc->vc_com[i].cm_kind != COM_NONE)
			last = i;
	for (i = 0; i <= last; i++)
		add_com(vc, bp, i, av);
}

static const char *
disk_cache(unsigned flags)
{
	if ((flags & DISK_NOCACHE) && (flags & DISK_DIRECT))
		return "directsync";
	if (flags & DISK_NOCACHE)
		return "none";
	if (flags & DISK_DIRECT)
		return "writethrough";
	return "writeback";
}

/* AHCI disks and every ISO hang off one controller with six ports. */
static void
add_disks(const struct vm_conf *vc, struct argv *av)
{
	const struct conf_disk *d;
	const struct conf_iso *iso;
	size_t i, port = 0;
	int ahci = vc->vc_iso.l_n > 0;
	char *e;

	for (i = 0; i < vc->vc_disk.l_n; i++)
		if (CLIST_AT(&vc->vc_disk, struct conf_disk, i)->d_type ==
		    DISK_AHCI || CLIST_AT(&vc->vc_disk, struct conf_disk,
		    i)->d_type == DISK_AHCI_HD)
			ahci = 1;
	if (ahci) {
		argv_add(av, "-device");
		argv_add(av, "ahci,id=ahci");
	}
	for (i = 0; i < vc->vc_disk.l_n; i++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, i);
		e = esc(d->d_path);
		argv_add(av, "-drive");
		argv_addf(av, "file=%s,if=none,id=disk%zu,format=raw,cache=%s,"
		    "discard=%s%s", e, i, disk_cache(d->d_flags),
		    (d->d_flags & DISK_NODELETE) ? "ignore" : "unmap",
		    (d->d_flags & DISK_READONLY) ? ",readonly=on" : "");
		free(e);
		argv_add(av, "-device");
		if (d->d_type == DISK_VIRTIO_BLK)
			argv_addf(av, "virtio-blk-pci,drive=disk%zu", i);
		else if (d->d_type == DISK_NVME)
			argv_addf(av, "nvme,drive=disk%zu,serial=bmd%zu", i, i);
		else
			argv_addf(av, "ide-hd,drive=disk%zu,bus=ahci.%zu", i,
			    port++);
	}
	for (i = 0; i < vc->vc_iso.l_n; i++) {
		iso = CLIST_AT(&vc->vc_iso, struct conf_iso, i);
		e = esc(iso->i_path);
		argv_add(av, "-drive");
		argv_addf(av, "file=%s,if=none,id=cd%zu,format=raw,media=cdrom,"
		    "readonly=on", e, i);
		free(e);
		argv_add(av, "-device");
		argv_addf(av, "ide-cd,drive=cd%zu,bus=ahci.%zu", i, port++);
	}
}

static void
add_sharefs(const struct vm_conf *vc, struct argv *av)
{
	const struct conf_sharefs *sf;
	size_t i;
	char *e;

	for (i = 0; i < vc->vc_sharefs.l_n; i++) {
		sf = CLIST_AT(&vc->vc_sharefs, struct conf_sharefs, i);
		e = esc(sf->sf_path);
		argv_add(av, "-fsdev");
		argv_addf(av, "local,id=fs%zu,path=%s,security_model=mapped-xattr"
		    "%s", i, e, sf->sf_readonly ? ",readonly=on" : "");
		free(e);
		e = esc(sf->sf_name);
		argv_add(av, "-device");
		argv_addf(av, "virtio-9p-pci,fsdev=fs%zu,mount_tag=%s", i, e);
		free(e);
	}
}

/* "B/S/F" (decimal, as bhyve writes it) to a PCI address for vfio. */
static void
add_passthru(const struct vm_conf *vc, struct argv *av)
{
	unsigned b, s, f;
	size_t i;

	for (i = 0; i < vc->vc_passthru.l_n; i++) {
		if (sscanf(*CLIST_AT(&vc->vc_passthru, char *, i), "%u/%u/%u",
		    &b, &s, &f) != 3)
			continue;
		argv_add(av, "-device");
		argv_addf(av, "vfio-pci,host=0000:%02x:%02x.%x", b, s, f);
	}
}

static void
add_tpm_hda(const struct vm_conf *vc, struct argv *av)
{
	const struct conf_hda *h;
	size_t i;
	char *e, *play, *rec;

	if (vc->vc_tpm.t_set) {
		e = esc(vc->vc_tpm.t_dev);
		if (vc->vc_tpm.t_type == TPM_SWTPM) {
			argv_add(av, "-chardev");
			argv_addf(av, "socket,id=tpmchr,path=%s", e);
			argv_add(av, "-tpmdev");
			argv_add(av, "emulator,id=tpm0,chardev=tpmchr");
		} else {
			argv_add(av, "-tpmdev");
			argv_addf(av, "passthrough,id=tpm0,path=%s", e);
		}
		free(e);
		argv_add(av, "-device");
		argv_add(av, "tpm-tis,tpmdev=tpm0");
	}
	for (i = 0; i < vc->vc_hda.l_n; i++) {
		h = CLIST_AT(&vc->vc_hda, struct conf_hda, i);
		play = esc(h->h_play ? h->h_play : "");
		rec = esc(h->h_rec ? h->h_rec : "");
		argv_add(av, "-audiodev");
		argv_addf(av, "oss,id=hda%zu%s%s%s%s", i,
		    h->h_play ? ",out.dev=" : "", play,
		    h->h_rec ? ",in.dev=" : "", rec);
		free(play);
		free(rec);
		argv_add(av, "-device");
		argv_addf(av, "intel-hda,id=hdactl%zu", i);
		argv_add(av, "-device");
		argv_addf(av, "hda-duplex,bus=hdactl%zu.0,audiodev=hda%zu", i, i);
	}
}

static void
add_display(const struct vm_conf *vc, struct argv *av)
{
	char *e;

	if (!vc->vc_graphics) {
		argv_add(av, "-display");
		argv_add(av, "none");
	} else {
		argv_add(av, "-device");
		argv_addf(av, "VGA,xres=%d,yres=%d", vc->vc_graphics_res.r_width,
		    vc->vc_graphics_res.r_height);
		argv_add(av, "-vnc");
		if (vc->vc_graphics_path != NULL) {
			e = esc(vc->vc_graphics_path);
			argv_addf(av, "unix:%s%s", e,
			    vc->vc_graphics_password ? ",password=on" : "");
			free(e);
		} else
			argv_addf(av, "%s:%lld%s", vc->vc_graphics_listen,
			    vc->vc_graphics_port - 5900,
			    vc->vc_graphics_password ? ",password=on" : "");
	}
	if (vc->vc_keymap != NULL) {
		argv_add(av, "-k");
		argv_add(av, vc->vc_keymap);
	}
	if (vc->vc_xhci_mouse) {
		argv_add(av, "-device");
		argv_add(av, "qemu-xhci,id=xhci");
		argv_add(av, "-device");
		argv_add(av, "usb-tablet,bus=xhci.0");
	}
	if (vc->vc_virt_random) {
		argv_add(av, "-device");
		argv_add(av, "virtio-rng-pci");
	}
}

/*
 * One NIC per network on a tap bmd opened: QEMU gets the descriptor
 * (fd=N), so it needs no privilege and no helper script.  Without a
 * daemon (show command) the descriptor is unknown: "fd=?".
 */
static void
add_nets(const struct vm_conf *vc, const struct be_params *bp,
    struct argv *av)
{
	const struct conf_net *n;
	uint8_t mac[6];
	char text[18];
	size_t i;

	for (i = 0; i < vc->vc_network.l_n; i++) {
		n = CLIST_AT(&vc->vc_network, struct conf_net, i);
		argv_add(av, "-netdev");
		if (bp->bp_tap_fds != NULL && i < bp->bp_ntaps &&
		    bp->bp_tap_fds[i] >= 0)
			argv_addf(av, "tap,id=net%zu,fd=%d", i,
			    bp->bp_tap_fds[i]);
		else
			argv_addf(av, "tap,id=net%zu,fd=?", i);
		conf_net_guest_mac(vc, i, mac);
		conf_mac_format(mac, text);
		argv_add(av, "-device");
		argv_addf(av, "%s,netdev=net%zu,mac=%s",
		    n->n_type == NET_E1000 ? "e1000" : "virtio-net-pci", i, text);
	}
}

/* virtio-console: one virtio-serial controller per ncontrollers. */
static void
add_vconsoles(const struct vm_conf *vc, const struct be_params *bp,
    struct argv *av)
{
	long long c, p, n;
	char *e, *sfx;

	for (c = 0; c < vc->vc_vconsole_nc; c++) {
		argv_add(av, "-device");
		argv_addf(av, "virtio-serial-pci,id=vs%lld", c);
		for (p = 0; p < vc->vc_vconsole_np; p++) {
			n = c * vc->vc_vconsole_np + p;
			argv_add(av, "-chardev");
			if (bp->bp_fd_vc != NULL && bp->bp_fd_vc[n] > 0)
				argv_addf(av, "socket,id=vc%lld,fd=%d,"
				    "server=on,wait=off", n, bp->bp_fd_vc[n]);
			else {
				sfx = xprintf("vc%lld", n);
				e = esc_run_path(vc, bp, sfx);
				argv_addf(av, "socket,id=vc%lld,path=%s,"
				    "server=on,wait=off", n, e);
				free(e);
				free(sfx);
			}
			argv_add(av, "-device");
			argv_addf(av, "virtserialport,bus=vs%lld.0,chardev=vc%lld,"
			    "name=virt_console%lld", c, n, n);
		}
	}
}

static int
qemu_commands(const struct vm_conf *vc, const struct be_params *bp,
    struct cmdline *cl, struct diags *ds)
{
	struct proc_cmd *pc = &cl->cl_procs[0];
	char *arch = vc->vc_qemu_arch != NULL ?
	    qemu_arch_binary(vc->vc_qemu_arch) : NULL;
	const char *bin = vc->vc_qemu_binary ? vc->vc_qemu_binary :
	    arch != NULL ? arch : QEMU_DEFAULT_BINARY;
	const char *base = strrchr(bin, '/');
	char *e;

	(void)ds;
	memset(cl, 0, sizeof(*cl));
	cl->cl_nprocs = 1;
	pc->pc_path = xstrdup(bin);
	argv_add(&pc->pc_argv, base != NULL ? base + 1 : bin);
	free(arch);
	/* -name takes options too (debug-threads=on): the name is escaped */
	e = esc(vc->vc_name);
	argv_add(&pc->pc_argv, "-name");
	argv_add(&pc->pc_argv, e);
	free(e);
	argv_add(&pc->pc_argv, "-nodefaults");
	argv_add(&pc->pc_argv, "-no-user-config");
	add_machine(vc, bp, &pc->pc_argv);
	add_firmware(vc, bp, &pc->pc_argv);
	add_control(vc, bp, &pc->pc_argv);
	add_coms(vc, bp, &pc->pc_argv);
	add_disks(vc, &pc->pc_argv);
	add_nets(vc, bp, &pc->pc_argv);
	add_sharefs(vc, &pc->pc_argv);
	add_passthru(vc, &pc->pc_argv);
	add_tpm_hda(vc, &pc->pc_argv);
	add_vconsoles(vc, bp, &pc->pc_argv);
	add_display(vc, &pc->pc_argv);
	return 0;
}

/* qemu_arch's program: qemu-system-ARCH next to the default one. */
char *
qemu_arch_binary(const char *arch)
{
	const char *dir = QEMU_DEFAULT_BINARY;

	return xprintf("%.*s/qemu-system-%s", (int)(strrchr(dir, '/') - dir),
	    dir, arch);
}

/* com = auto is a chardev socket in the run directory. */
static char *
qemu_com_socket(const struct vm_conf *vc, const char *rundir, int com)
{
	if (vc->vc_com[com].cm_kind != COM_AUTO)
		return NULL;
	return qemu_com_path(rundir, vc->vc_name, com);
}

const struct backend backend_qemu = {
	.be_name = "qemu",
	.be_validate = qemu_validate,
	.be_commands = qemu_commands,
	.be_runs_as_owner = 1,
	.be_single_user = 0,
	.be_com_socket = qemu_com_socket,
};
