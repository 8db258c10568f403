/* The bhyve backend: bhyve, bhyveload and grub-bhyve command lines. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE		/* strcasecmp(3) on glibc */
#endif

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend.h"
#include "keys.h"
#include "buf.h"
#include "nmdm.h"
#include "vmpaths.h"
#include "xmalloc.h"

#define BHYVE_PATH		"/usr/sbin/bhyve"
#define BHYVELOAD_PATH		"/usr/sbin/bhyveload"
/* These live under LOCALBASE. */
#define GRUB_PATH		"/sbin/grub-bhyve"
#define UEFI_ROM		"/share/uefi-firmware/BHYVE_UEFI.fd"
#define CSM_ROM			"/share/uefi-firmware/BHYVE_UEFI_CSM.fd"
#define VARS_DIR		"/var/cache/bmd"
#define RUN_DIR			"/run/bmd"	/* run_directory's default */

/* From 1500024 on bhyve builds the ACPI tables itself; -A is obsolete. */
#define FBSD_NO_ACPI_FLAG	1500024
/* bhyve takes a UEFI variable store from FreeBSD 14.0 on. */
#define FBSD_UEFI_VARS		1400000

#define NCOMS			4
#define PCI_NSLOTS		32
#define PCI_MAXDEV		(256 * PCI_NSLOTS)

/*
 * Placeholders printed where only a running daemon knows the value
 * (bmdctl show command).  The daemon puts the real value in be_params
 * or, for the loader pty and the map file, substitutes the argument.
 */
#define PTY_UNKNOWN		"/dev/pts/?"

enum loader { LD_NONE, LD_BHYVELOAD, LD_GRUB, LD_UEFI, LD_CSM, LD_OTHER };

static const char *const loader_names[] = {
	[LD_BHYVELOAD] = "bhyveload",
	[LD_GRUB] = "grub",
	[LD_UEFI] = "uefi",
	[LD_CSM] = "csm",
};

/* Everything one build needs, resolved once. */
struct bctx {
	const struct vm_conf	*x_vc;
	const struct be_params	*x_bp;
	struct diags		*x_ds;
	enum loader		 x_loader;
	int			 x_install;
	int			 x_single;
	int			 x_wired;
	const char		*x_localbase;
};

/* bhyve_user.c: the values of a user's VM that reach root's processes. */
int	bhyve_check_user_values(const struct vm_conf *, struct diags *);
int	bhyve_owner_files(const struct vm_conf *, struct owner_file *,
	    size_t);
/* bhyve_slots.c (shared by these two files only, hence no header). */
size_t	bhyve_ndevices(const struct vm_conf *);
size_t	bhyve_slots(const struct vm_conf *, const struct be_params *,
	    struct argv *);

static enum loader
loader_of(const char *name)
{
	size_t i;

	if (name == NULL)
		return LD_NONE;
	/* Loader names are case-sensitive (spec 2.2). */
	for (i = LD_BHYVELOAD; i <= LD_CSM; i++)
		if (strcmp(name, loader_names[i]) == 0)
			return (enum loader)i;
	return LD_OTHER;
}

static int
uses_loader_process(enum loader ld)
{
	return ld == LD_BHYVELOAD || ld == LD_GRUB;
}

/* An unknown version (0) means a current FreeBSD. */
static int
fbsd_at_least(const struct be_params *bp, long version)
{
	return bp->bp_freebsd_version <= 0 ||
	    bp->bp_freebsd_version >= version;
}

/*
 * bhyveload and grub boot from the first ISO in install mode and from
 * the first disk otherwise.  The original crashed the loader child when
 * that list was empty (defect 20); here it is a configuration error.
 */
static int
check_boot_media(const struct vm_conf *vc, enum loader ld, int install,
    struct diags *ds, const struct pos *pos)
{
	const char *who = loader_names[ld];

	if (install && vc->vc_iso.l_n == 0) {
		diag_error(ds, pos, "%s needs an ISO to install from", who);
		return -1;
	}
	if (!install && vc->vc_disk.l_n == 0) {
		diag_error(ds, pos, "%s needs a disk to boot from", who);
		return -1;
	}
	return 0;
}

static int
check_ndevices(const struct vm_conf *vc, struct diags *ds,
    const struct pos *pos)
{
	size_t n;

	if ((n = bhyve_ndevices(vc)) <= PCI_MAXDEV)
		return 0;
	diag_error(ds, pos, "too many PCI devices: %zu (bhyve has %d)", n,
	    PCI_MAXDEV);
	return -1;
}

/* The port of "[w][host:]port" (-G, tcp=), or -1. */
static long
port_of(const char *s)
{
	const char *c = strrchr(s, ':');
	char *end;
	long p;

	c = c != NULL ? c + 1 : s + (s[0] == 'w');
	p = strtol(c, &end, 10);
	return end != c && *end == '\0' ? p : -1;
}

static void
check_user_port(const struct vm_conf *vc, const char *key, long port,
    struct diags *ds)
{
	if (port >= 0 && port < 1024)
		diag_error(ds, key_pos(keys_find(key), vc), "%s: bhyve runs "
		    "as root: a user's VM may not use port %ld (below 1024)",
		    key, port);
}

/*
 * bhyve and its loaders run as root, even for a user's VM: what would
 * hand root's process to the user is refused there.  bhyve_env is bhyve's
 * own environment (LD_PRELOAD ...), bhyveload_env the loader's, a
 * passed-through PCI device gives the guest the host's memory, a 9P
 * share would serve the directory with root's rights, and root binds
 * any port.  Paths are checked as the owner at each start (owner_io.c).
 */
static int
check_user_vm(const struct vm_conf *vc, struct diags *ds)
{
	static const char *const keys[] = { "bhyve_env", "bhyveload_env",
	    "passthru", "sharefs" };
	const struct clist *lists[] = { &vc->vc_bhyve_env,
	    &vc->vc_bhyveload_env, &vc->vc_passthru, &vc->vc_sharefs };
	size_t i, before = ds->ds_nerrors;
	char key[8];

	if (vc->vc_owner == 0)
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (lists[i]->l_n > 0)
			diag_error(ds, key_pos(keys_find(keys[i]), vc), "%s: "
			    "bhyve runs as root: only root's VMs may set it "
			    "(this VM belongs to uid %lu)", keys[i],
			    (unsigned long)vc->vc_owner);
	if (vc->vc_debug_port != NULL)
		check_user_port(vc, "debug_port", port_of(vc->vc_debug_port),
		    ds);
	if (vc->vc_graphics && vc->vc_graphics_path == NULL)
		check_user_port(vc, "graphics_port",
		    (long)vc->vc_graphics_port, ds);
	for (i = 0; i < NCOMS; i++)
		if (vc->vc_com[i].cm_kind == COM_TCP) {
			snprintf(key, sizeof(key), "com%zu", i + 1);
			check_user_port(vc, key, vc->vc_com[i].cm_port, ds);
		}
	(void)bhyve_check_user_values(vc, ds);
	return ds->ds_nerrors > before ? -1 : 0;
}

static int
bhyve_validate(const struct vm_conf *vc, struct diags *ds)
{
	const struct pos *pos = key_pos(keys_find("loader"), vc);
	enum loader ld = loader_of(vc->vc_loader);
	size_t before = ds->ds_nerrors;

	if (ld == LD_NONE)
		diag_error(ds, pos, "loader is required for the bhyve backend");
	else if (ld == LD_OTHER)
		diag_error(ds, pos, "the loader \"%s\" is not supported by the "
		    "bhyve backend (use bhyveload, grub, uefi or csm)",
		    vc->vc_loader);
	if (uses_loader_process(ld)) {
		if (vc->vc_com[0].cm_kind == COM_TCP)
			diag_error(ds, key_pos(keys_find("com1"), vc),
			    "the loader \"%s\" doesn't support a TCP com1",
			    vc->vc_loader);
		(void)check_boot_media(vc, ld, vc->vc_install, ds, pos);
	}
	(void)check_ndevices(vc, ds, pos);
	(void)check_user_vm(vc, ds);
	backend_refuse_keys(vc, KEY_QEMU, "bhyve", ds);
	return ds->ds_nerrors > before ? -1 : 0;
}

/* A port is used when configured or assigned (bmdctl run: stdio). */
static int
com_used(const struct bctx *x, int i)
{
	return x->x_bp->bp_com[i] != NULL ||
	    x->x_vc->vc_com[i].cm_kind != COM_NONE;
}

/* The device of a used com port; NULL while "auto" is unassigned. */
static const char *
com_dev(const struct bctx *x, int i)
{
	const struct conf_com *cm = &x->x_vc->vc_com[i];

	if (x->x_bp->bp_com[i] != NULL)
		return x->x_bp->bp_com[i];
	return cm->cm_kind == COM_AUTO ? NULL :
	    backend_owner_path(x->x_bp, cm->cm_text);
}

/*
 * -l comN,DEV for each configured port.  Unassigned "auto" ports get
 * the nmdm number the daemon would pick if this VM were alone: above
 * nmdm_offset - 1 and above every nmdm the VM already names.
 */
static int
bhyve_coms(const struct bctx *x, struct argv *av)
{
	int used[2 * NCOMS], i, n;
	size_t nused = 0;
	const char *dev;
	char *path;

	for (i = 0; i < NCOMS; i++)
		if (com_used(x, i) && (dev = com_dev(x, i)) != NULL &&
		    (n = nmdm_number(dev)) >= 0)
			used[nused++] = n;
	for (i = 0; i < NCOMS; i++) {
		if (!com_used(x, i))
			continue;
		argv_add(av, "-l");
		if ((dev = com_dev(x, i)) != NULL) {
			argv_addf(av, "com%d,%s", i + 1, dev);
			continue;
		}
		if ((n = nmdm_next(x->x_bp->bp_nmdm_offset, used, nused)) < 0) {
			diag_error(x->x_ds, &x->x_vc->vc_pos,
			    "com%d: no nmdm number is left", i + 1);
			return -1;
		}
		used[nused++] = n;
		path = nmdm_bhyve_path(n);
		argv_addf(av, "com%d,%s", i + 1, path);
		free(path);
	}
	return 0;
}

static void
bhyve_bootrom(const struct bctx *x, struct argv *av)
{
	const struct be_params *bp = x->x_bp;
	const char *lb = x->x_localbase;
	char *dflt, *vars;

	if (x->x_loader == LD_CSM) {
		argv_add(av, "-l");
		argv_addf(av, "bootrom,%s" CSM_ROM, lb);
	} else if (x->x_loader == LD_UEFI) {
		argv_add(av, "-l");
		/* The daemon copies the store in place before bhyve runs. */
		if (!fbsd_at_least(bp, FBSD_UEFI_VARS))
			argv_addf(av, "bootrom,%s" UEFI_ROM, lb);
		else {
			dflt = xprintf("%s" VARS_DIR, lb);
			vars = vm_vars_path(bp->bp_vars_dir != NULL ?
			    bp->bp_vars_dir : dflt, x->x_vc->vc_name);
			argv_addf(av, "bootrom,%s" UEFI_ROM ",%s", lb, vars);
			free(vars);
			free(dflt);
		}
	}
}

/* bhyve and its loaders get the size as written, e.g. "2G". */
static void
memory_arg(const struct vm_conf *vc, struct argv *av)
{
	if (vc->vc_memory.m_text != NULL)
		argv_add(av, vc->vc_memory.m_text);
	else
		argv_addf(av, "%" PRIu64, vc->vc_memory.m_bytes);
}

static void
bhyve_cpu_memory(const struct vm_conf *vc, struct argv *av)
{
	const struct conf_ncpu *c = &vc->vc_ncpu;
	const struct conf_cpupin *pin;
	int s, k, t;
	size_t i;

	/* Zero means unset in a bare vm_conf; bhyve's own default is 1. */
	s = c->nc_sockets > 0 ? c->nc_sockets : 1;
	k = c->nc_cores > 0 ? c->nc_cores : 1;
	t = c->nc_threads > 0 ? c->nc_threads : 1;
	argv_add(av, "-c");
	argv_addf(av, "cpus=%d,sockets=%d,cores=%d,threads=%d",
	    c->nc_cpus > 0 ? c->nc_cpus : s * k * t, s, k, t);
	for (i = 0; i < vc->vc_cpu_pin.l_n; i++) {
		pin = CLIST_AT(&vc->vc_cpu_pin, struct conf_cpupin, i);
		argv_add(av, "-p");
		argv_addf(av, "%d:%d", pin->cp_vcpu, pin->cp_hostcpu);
	}
	argv_add(av, "-m");
	memory_arg(vc, av);
}

/* Options before the PCI devices: spec 2.4 items 1 to 10. */
static int
bhyve_options(const struct bctx *x, struct argv *av)
{
	const struct vm_conf *vc = x->x_vc;
	const struct conf_tpm *tpm = &vc->vc_tpm;

	if (!fbsd_at_least(x->x_bp, FBSD_NO_ACPI_FLAG))
		argv_add(av, "-A");
	argv_add(av, "-H");
	argv_add(av, "-w");
	if (vc->vc_x2apic)
		argv_add(av, "-x");
	if (vc->vc_utctime)
		argv_add(av, "-u");
	if (x->x_wired)
		argv_add(av, "-S");
	if (vc->vc_debug_port != NULL) {
		argv_add(av, "-G");
		argv_add(av, vc->vc_debug_port);
	}
	bhyve_cpu_memory(vc, av);
	if (bhyve_coms(x, av) == -1)
		return -1;
	if (vc->vc_keymap != NULL) {
		argv_add(av, "-K");
		argv_add(av, vc->vc_keymap);
	}
	bhyve_bootrom(x, av);
	if (tpm->t_set) {
		argv_add(av, "-l");
		argv_addf(av, "tpm,%s,%s%s%s",
		    tpm->t_type == TPM_SWTPM ? "swtpm" : "passthru",
		    tpm->t_type == TPM_SWTPM ? tpm->t_dev :
		    backend_owner_path(x->x_bp, tpm->t_dev),
		    tpm->t_version != NULL ? ",version=" : "",
		    tpm->t_version != NULL ? tpm->t_version : "");
	}
	return 0;
}

static void
proc_init(struct proc_cmd *pc, char *path)
{
	pc->pc_path = path;
	argv_init(&pc->pc_argv);
	argv_init(&pc->pc_env);
}

static int
bhyve_cmd(const struct bctx *x, struct proc_cmd *pc)
{
	const struct vm_conf *vc = x->x_vc;
	size_t i;

	proc_init(pc, xstrdup(x->x_bp->bp_bhyve_prog != NULL ?
	    x->x_bp->bp_bhyve_prog : BHYVE_PATH));
	for (i = 0; i < vc->vc_bhyve_env.l_n; i++)
		argv_add(&pc->pc_env, *CLIST_AT(&vc->vc_bhyve_env, char *, i));
	argv_add(&pc->pc_argv, "bhyve");
	if (bhyve_options(x, &pc->pc_argv) == -1)
		return -1;
	/* Past one bus the MP table cannot describe the devices. */
	if (bhyve_slots(vc, x->x_bp, &pc->pc_argv) > PCI_NSLOTS)
		argv_add(&pc->pc_argv, "-Y");
	argv_add(&pc->pc_argv, vc->vc_name);
	return 0;
}

static void
bhyveload_cmd(const struct bctx *x, struct proc_cmd *pc)
{
	const struct vm_conf *vc = x->x_vc;
	struct argv *av = &pc->pc_argv;
	size_t i;

	proc_init(pc, xstrdup(x->x_bp->bp_bhyveload_prog != NULL ?
	    x->x_bp->bp_bhyveload_prog : BHYVELOAD_PATH));
	argv_add(&pc->pc_env, "TERM=vt100");
	argv_add(av, "bhyveload");
	if (x->x_wired)
		argv_add(av, "-S");
	if (x->x_single) {
		argv_add(av, "-e");
		argv_add(av, "boot_single=YES");
	}
	for (i = 0; i < vc->vc_bhyveload_env.l_n; i++) {
		argv_add(av, "-e");
		argv_add(av, *CLIST_AT(&vc->vc_bhyveload_env, char *, i));
	}
	if (vc->vc_bhyveload_loader != NULL) {
		argv_add(av, "-l");
		argv_add(av, vc->vc_bhyveload_loader);
	}
	argv_add(av, "-c");
	argv_add(av, x->x_bp->bp_loader_tty != NULL ?
	    x->x_bp->bp_loader_tty : PTY_UNKNOWN);
	argv_add(av, "-m");
	memory_arg(vc, av);
	argv_add(av, "-d");
	/* check_boot_media() made sure the list is not empty. */
	argv_add(av, backend_owner_path(x->x_bp, x->x_install ?
	    CLIST_AT(&vc->vc_iso, struct conf_iso, 0)->i_path :
	    CLIST_AT(&vc->vc_disk, struct conf_disk, 0)->d_path));
	argv_add(av, vc->vc_name);
}

/* grub-bhyve's device map: every disk, then every ISO. */
static char *
grub_device_map(const struct vm_conf *vc)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < vc->vc_disk.l_n; i++)
		buf_printf(&b, "(hd%zu) %s\n", i,
		    CLIST_AT(&vc->vc_disk, struct conf_disk, i)->d_path);
	for (i = 0; i < vc->vc_iso.l_n; i++)
		buf_printf(&b, "(cd%zu) %s\n", i,
		    CLIST_AT(&vc->vc_iso, struct conf_iso, i)->i_path);
	return buf_release(&b);
}

/*
 * The map path is a mkstemp(3) template in the run directory: the
 * daemon creates the file from pc_file_path/pc_file_data, puts the real
 * name in the argv entry that equals pc_file_path and removes the file
 * once grub-bhyve has exited.
 */
static void
grub_cmd(const struct bctx *x, struct proc_cmd *pc)
{
	const struct vm_conf *vc = x->x_vc;
	struct argv *av = &pc->pc_argv;

	proc_init(pc, x->x_bp->bp_grub_prog != NULL ?
	    xstrdup(x->x_bp->bp_grub_prog) :
	    xprintf("%s" GRUB_PATH, x->x_localbase));
	/* in bmd's own directory, never a shared one such as /tmp */
	pc->pc_file_path = vm_path(x->x_bp->bp_run_dir != NULL ?
	    x->x_bp->bp_run_dir : RUN_DIR, vc->vc_name, "devmap.XXXXXX");
	pc->pc_file_data = grub_device_map(vc);
	argv_add(&pc->pc_env, "TERM=vt100");
	argv_add(av, "grub-bhyve");
	if (x->x_wired)
		argv_add(av, "-S");
	argv_add(av, "-c");
	argv_add(av, x->x_bp->bp_loader_tty != NULL ?
	    x->x_bp->bp_loader_tty : PTY_UNKNOWN);
	argv_add(av, "-r");
	if (x->x_install)
		argv_add(av, "cd0");
	else
		argv_addf(av, "hd0,%s", vc->vc_grub_run_partition != NULL ?
		    vc->vc_grub_run_partition : "1");
	argv_add(av, "-M");
	memory_arg(vc, av);
	argv_add(av, "-m");
	argv_add(av, pc->pc_file_path);
	argv_add(av, vc->vc_name);
}

static void
bctx_init(struct bctx *x, const struct vm_conf *vc,
    const struct be_params *bp, struct diags *ds)
{
	memset(x, 0, sizeof(*x));
	x->x_vc = vc;
	x->x_bp = bp;
	x->x_ds = ds;
	x->x_loader = loader_of(vc->vc_loader);
	/* install=yes in the file, or bmdctl install / run -i. */
	x->x_install = bp->bp_install || vc->vc_install;
	x->x_single = bp->bp_single_user || vc->vc_single_user;
	/* Passthrough needs wired guest memory (spec 2.2, passthru). */
	x->x_wired = vc->vc_wired_memory || vc->vc_passthru.l_n > 0;
	x->x_localbase = bp->bp_localbase != NULL ? bp->bp_localbase :
	    LOCALBASE;
}

static int
bhyve_commands(const struct vm_conf *vc, const struct be_params *bp,
    struct cmdline *cl, struct diags *ds)
{
	static const struct be_params none;
	struct bctx x;
	struct proc_cmd *pc;

	memset(cl, 0, sizeof(*cl));
	bctx_init(&x, vc, bp != NULL ? bp : &none, ds);
	/* Validation ran at load time, but install mode may be new. */
	if (x.x_loader == LD_OTHER) {
		diag_error(ds, &vc->vc_pos, "the loader \"%s\" is not "
		    "supported by the bhyve backend", vc->vc_loader);
		return -1;
	}
	if (check_ndevices(vc, ds, &vc->vc_pos) == -1 ||
	    check_user_vm(vc, ds) == -1 ||
	    (uses_loader_process(x.x_loader) && check_boot_media(vc,
	    x.x_loader, x.x_install, ds, &vc->vc_pos) == -1))
		return -1;
	pc = &cl->cl_procs[0];
	if (x.x_loader == LD_BHYVELOAD)
		bhyveload_cmd(&x, pc++);
	else if (x.x_loader == LD_GRUB)
		grub_cmd(&x, pc++);
	cl->cl_nprocs = (int)(pc - cl->cl_procs);
	if (bhyve_cmd(&x, pc) == -1) {
		cmdline_free(cl);
		return -1;
	}
	cl->cl_nprocs++;
	return 0;
}

/* bhyve and its loaders run as root; com = auto is a null-modem pair. */
const struct backend backend_bhyve = {
	.be_name = "bhyve",
	.be_validate = bhyve_validate,
	.be_commands = bhyve_commands,
	.be_runs_as_owner = 0,
	.be_owner_files = bhyve_owner_files,
	.be_single_user = 1,
	.be_com_socket = NULL,
};
