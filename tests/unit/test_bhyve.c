/* Unit tests of the bhyve backend: exact argv, nmdm numbering, validation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend.h"
#include "keys.h"
#include "nmdm.h"
#include "xmalloc.h"

/*
 * Helpers: a vm_conf built by hand the way the conf layer would leave
 * it, and be_params as bmdctl show command passes them.
 */
static void
clist_push(struct clist *l, const void *item, size_t size)
{
	l->l_v = xreallocarray(l->l_v, l->l_n + 1, size);
	memcpy((char *)l->l_v + l->l_n * size, item, size);
	l->l_n++;
}

static void
add_str(struct clist *l, const char *s)
{
	char *p = xstrdup(s);

	clist_push(l, &p, sizeof(p));
}

static void
add_disk(struct vm_conf *vc, enum disk_type t, unsigned flags, const char *p)
{
	struct conf_disk d = { t, flags | DISK_NOEXIST, xstrdup(p) };

	clist_push(&vc->vc_disk, &d, sizeof(d));
}

static void
add_iso(struct vm_conf *vc, const char *p)
{
	struct conf_iso i = { 1, xstrdup(p) };

	clist_push(&vc->vc_iso, &i, sizeof(i));
}

static void
add_net(struct vm_conf *vc, enum net_type t, const char *bridge,
    const uint8_t *mac)
{
	struct conf_net n;

	memset(&n, 0, sizeof(n));
	n.n_type = t;
	n.n_bridge = xstrdup(bridge);
	if (mac != NULL) {
		n.n_hasmac = 1;
		memcpy(n.n_mac, mac, 6);
	}
	clist_push(&vc->vc_network, &n, sizeof(n));
}

static void
add_sharefs(struct vm_conf *vc, int ro, const char *name, const char *path)
{
	struct conf_sharefs sf = { ro, xstrdup(name), xstrdup(path) };

	clist_push(&vc->vc_sharefs, &sf, sizeof(sf));
}

static void
add_hda(struct vm_conf *vc, const char *play, const char *rec)
{
	struct conf_hda h = { play ? xstrdup(play) : NULL,
	    rec ? xstrdup(rec) : NULL };

	clist_push(&vc->vc_hda, &h, sizeof(h));
}

static void
add_pin(struct vm_conf *vc, int v, int h)
{
	struct conf_cpupin p = { v, h };

	clist_push(&vc->vc_cpu_pin, &p, sizeof(p));
}

static void
set_ncpu(struct vm_conf *vc, int s, int c, int t)
{
	vc->vc_ncpu.nc_sockets = s;
	vc->vc_ncpu.nc_cores = c;
	vc->vc_ncpu.nc_threads = t;
	vc->vc_ncpu.nc_cpus = s * c * t;
}

/* What the evaluator records when a statement sets a key. */
static void
mark_set(struct vm_conf *vc, const char *key)
{
	vc->vc_set[keys_find(key)->k_index] = 1;
}

/* The conf layer's defaults (spec 2.2). */
static struct vm_conf *
vc_new(const char *name, const char *loader, const char *mem)
{
	struct vm_conf *vc = xcalloc(1, sizeof(*vc));

	/* which keys were set, and where: the backend checks read these */
	vc->vc_set = xcalloc(keys_count(), 1);
	vc->vc_kpos = xcalloc(keys_count(), sizeof(*vc->vc_kpos));
	vc->vc_name = xstrdup(name);
	vc->vc_section = xstrdup(name);
	vc->vc_backend = BACKEND_BHYVE;
	vc->vc_loader = loader ? xstrdup(loader) : NULL;
	vc->vc_memory.m_text = xstrdup(mem);
	set_ncpu(vc, 1, 1, 1);
	vc->vc_utctime = 1;
	vc->vc_hostbridge = HB_STANDARD;
	vc->vc_graphics_listen = xstrdup("0.0.0.0");
	vc->vc_graphics_port = 5900;
	vc->vc_graphics_res.r_width = 1024;
	vc->vc_graphics_res.r_height = 768;
	vc->vc_graphics_vga = xstrdup("io");
	return vc;
}

static void
free_strs(struct clist *l)
{
	size_t i;

	for (i = 0; i < l->l_n; i++)
		free(*CLIST_AT(l, char *, i));
	free(l->l_v);
}

static void
vc_free(struct vm_conf *vc)
{
	size_t i;

	for (i = 0; i < vc->vc_disk.l_n; i++)
		free(CLIST_AT(&vc->vc_disk, struct conf_disk, i)->d_path);
	for (i = 0; i < vc->vc_iso.l_n; i++)
		free(CLIST_AT(&vc->vc_iso, struct conf_iso, i)->i_path);
	for (i = 0; i < vc->vc_network.l_n; i++)
		free(CLIST_AT(&vc->vc_network, struct conf_net, i)->n_bridge);
	for (i = 0; i < vc->vc_sharefs.l_n; i++) {
		struct conf_sharefs *sf;

		sf = CLIST_AT(&vc->vc_sharefs, struct conf_sharefs, i);
		free(sf->sf_name);
		free(sf->sf_path);
	}
	for (i = 0; i < vc->vc_hda.l_n; i++) {
		free(CLIST_AT(&vc->vc_hda, struct conf_hda, i)->h_play);
		free(CLIST_AT(&vc->vc_hda, struct conf_hda, i)->h_rec);
	}
	free(vc->vc_disk.l_v);
	free(vc->vc_iso.l_v);
	free(vc->vc_network.l_v);
	free(vc->vc_sharefs.l_v);
	free(vc->vc_hda.l_v);
	free(vc->vc_cpu_pin.l_v);
	free_strs(&vc->vc_passthru);
	free_strs(&vc->vc_bhyve_env);
	free_strs(&vc->vc_bhyveload_env);
	for (i = 0; i < 4; i++)
		conf_com_clear(&vc->vc_com[i]);
	free(vc->vc_set);
	free(vc->vc_kpos);
	free(vc->vc_name);
	free(vc->vc_section);
	free(vc->vc_loader);
	free(vc->vc_memory.m_text);
	free(vc->vc_graphics_listen);
	free(vc->vc_graphics_vga);
	free(vc->vc_graphics_path);
	free(vc->vc_graphics_password);
	free(vc->vc_keymap);
	free(vc->vc_debug_port);
	free(vc->vc_bhyveload_loader);
	free(vc->vc_grub_run_partition);
	free(vc->vc_vconsole_tmpl);
	free(vc->vc_tpm.t_dev);
	free(vc->vc_tpm.t_version);
	free(vc->vc_kernel);
	free(vc->vc_initrd);
	free(vc->vc_cmdline);
	free(vc->vc_qemu_binary);
	free(vc->vc_qemu_machine);
	free(vc->vc_qemu_cpu);
	free(vc);
}

/* What bmdctl show command passes. */
static struct be_params
show_params(void)
{
	struct be_params bp;

	memset(&bp, 0, sizeof(bp));
	bp.bp_localbase = "/usr/local";
	bp.bp_vars_dir = "/usr/local/var/cache/bmd";
	bp.bp_freebsd_version = 1500024;
	bp.bp_nmdm_offset = 200;
	return bp;
}

/* Compare with a space-separated expectation, element by element. */
static void
check_argv(const struct argv *av, const char *expect)
{
	const char *tok, *end;
	size_t i = 0, len;

	for (tok = expect; *tok != '\0'; tok = *end ? end + 1 : end, i++) {
		if ((end = strchr(tok, ' ')) == NULL)
			end = tok + strlen(tok);
		len = (size_t)(end - tok);
		if (i >= av->a_n)
			fail_msg("argv too short at %zu, want \"%.*s\"", i,
			    (int)len, tok);
		if (strlen(av->a_v[i]) != len ||
		    strncmp(av->a_v[i], tok, len) != 0)
			fail_msg("argv[%zu] is \"%s\", want \"%.*s\"", i,
			    av->a_v[i], (int)len, tok);
	}
	if (i != av->a_n)
		fail_msg("argv has %zu entries, want %zu (extra \"%s\")",
		    av->a_n, i, av->a_v[i]);
	assert_null(av->a_v[av->a_n]);
}

static int
has_arg(const struct argv *av, const char *s)
{
	size_t i;

	for (i = 0; i < av->a_n; i++)
		if (strcmp(av->a_v[i], s) == 0)
			return 1;
	return 0;
}

/* Run be_commands, expecting success and n processes. */
static void
build(const struct vm_conf *vc, const struct be_params *bp,
    struct cmdline *cl, int n)
{
	struct diags ds;

	diags_init(&ds);
	assert_int_equal(backend_bhyve.be_commands(vc, bp, cl, &ds), 0);
	assert_int_equal(ds.ds_n, 0);
	assert_int_equal(cl->cl_nprocs, n);
	diags_free(&ds);
}

static const struct argv *
bhyve_argv(const struct cmdline *cl)
{
	return &cl->cl_procs[cl->cl_nprocs - 1].pc_argv;
}

/* The example of spec 2.4, byte for byte. */
static void
test_spec_example(void **state)
{
	struct vm_conf *vc = vc_new("vm0", "bhyveload", "2G");
	struct be_params bp = show_params();
	const char *taps[] = { "tap0" };
	struct cmdline cl;

	(void)state;
	set_ncpu(vc, 2, 1, 1);
	conf_com_set(&vc->vc_com[0], "auto");
	add_disk(vc, DISK_VIRTIO_BLK, 0, "/dev/zvol/p/vm0");
	add_iso(vc, "/iso/x.iso");
	add_net(vc, NET_VIRTIO, "bridge0", NULL);
	bp.bp_taps = taps;
	bp.bp_ntaps = 1;
	build(vc, &bp, &cl, 2);
	assert_string_equal(cl.cl_procs[1].pc_path, "/usr/sbin/bhyve");
	check_argv(&cl.cl_procs[1].pc_argv, "bhyve -H -w -u -c "
	    "cpus=2,sockets=2,cores=1,threads=1 -m 2G -l com1,/dev/nmdm200B "
	    "-s 0:0:0,hostbridge -s 0:1:0,lpc "
	    "-s 0:2:0,virtio-blk,/dev/zvol/p/vm0 -s 0:3:0,ahci-cd,/iso/x.iso "
	    "-s 0:4:0,virtio-net,tap0 vm0");
	assert_int_equal(cl.cl_procs[1].pc_env.a_n, 0);
	assert_null(cl.cl_procs[1].pc_file_path);
	cmdline_free(&cl);
	vc_free(vc);
}

static void
test_old_freebsd_adds_A(void **state)
{
	struct vm_conf *vc = vc_new("vm0", "csm", "1G");
	struct be_params bp = show_params();
	struct cmdline cl;

	(void)state;
	bp.bp_freebsd_version = 1500023;
	build(vc, &bp, &cl, 1);
	check_argv(bhyve_argv(&cl), "bhyve -A -H -w -u "
	    "-c cpus=1,sockets=1,cores=1,threads=1 -m 1G "
	    "-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI_CSM.fd "
	    "-s 0:0:0,hostbridge -s 0:1:0,lpc vm0");
	cmdline_free(&cl);
	bp.bp_freebsd_version = 1500024;
	build(vc, &bp, &cl, 1);
	assert_false(has_arg(bhyve_argv(&cl), "-A"));
	cmdline_free(&cl);
	vc_free(vc);
}

static void
test_hostbridge(void **state)
{
	struct vm_conf *vc = vc_new("hb", "uefi", "1G");
	struct be_params bp = show_params();
	struct cmdline cl;

	(void)state;
	vc->vc_hostbridge = HB_NONE;
	vc->vc_virt_random = 1;
	build(vc, &bp, &cl, 1);
	check_argv(bhyve_argv(&cl), "bhyve -H -w -u "
	    "-c cpus=1,sockets=1,cores=1,threads=1 -m 1G "
	    "-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd,"
	    "/usr/local/var/cache/bmd/hb.vars "
	    "-s 0:0:0,lpc -s 0:1:0,virtio-rnd hb");
	cmdline_free(&cl);
	vc->vc_hostbridge = HB_AMD;
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "0:0:0,amd_hostbridge"));
	assert_true(has_arg(bhyve_argv(&cl), "0:1:0,lpc"));
	cmdline_free(&cl);
	vc->vc_hostbridge = HB_INTEL;
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "0:0:0,hostbridge"));
	cmdline_free(&cl);
	vc_free(vc);
}

/* 40 disks: 42 devices, the last ten on bus 1, and -Y. */
static void
test_slot_overflow(void **state)
{
	struct vm_conf *vc = vc_new("big", "uefi", "4G");
	struct be_params bp = show_params();
	const struct argv *av;
	struct cmdline cl;
	char path[32];
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/d/%d", i);
		add_disk(vc, DISK_NVME, 0, path);
	}
	build(vc, &bp, &cl, 1);
	av = bhyve_argv(&cl);
	assert_true(has_arg(av, "0:31:0,nvme,/d/29"));
	assert_true(has_arg(av, "1:0:0,nvme,/d/30"));
	assert_true(has_arg(av, "1:9:0,nvme,/d/39"));
	assert_string_equal(av->a_v[av->a_n - 2], "-Y");
	assert_string_equal(av->a_v[av->a_n - 1], "big");
	cmdline_free(&cl);
	vc_free(vc);
}

/* 32 devices fit one bus: no -Y. */
static void
test_slot_exactly_32(void **state)
{
	struct vm_conf *vc = vc_new("full", "uefi", "4G");
	struct be_params bp = show_params();
	const struct argv *av;
	struct cmdline cl;
	int i;

	(void)state;
	for (i = 0; i < 30; i++)
		add_disk(vc, DISK_AHCI_HD, 0, "/d/x");
	build(vc, &bp, &cl, 1);
	av = bhyve_argv(&cl);
	assert_true(has_arg(av, "0:31:0,ahci-hd,/d/x"));
	assert_false(has_arg(av, "-Y"));
	cmdline_free(&cl);
	vc->vc_xhci_mouse = 1;
	build(vc, &bp, &cl, 1);
	av = bhyve_argv(&cl);
	assert_true(has_arg(av, "1:0:0,xhci,tablet"));
	assert_true(has_arg(av, "-Y"));
	cmdline_free(&cl);
	vc_free(vc);
}

static void
test_bhyveload(void **state)
{
	struct vm_conf *vc = vc_new("fbsd", "bhyveload", "512M");
	struct be_params bp = show_params();
	struct cmdline cl;

	(void)state;
	add_disk(vc, DISK_VIRTIO_BLK, 0, "/vm/fbsd.img");
	add_disk(vc, DISK_VIRTIO_BLK, 0, "/vm/data.img");
	add_iso(vc, "/iso/inst.iso");
	build(vc, &bp, &cl, 2);
	assert_string_equal(cl.cl_procs[0].pc_path, "/usr/sbin/bhyveload");
	check_argv(&cl.cl_procs[0].pc_argv, "bhyveload -c /dev/pts/? "
	    "-m 512M -d /vm/fbsd.img fbsd");
	check_argv(&cl.cl_procs[0].pc_env, "TERM=vt100");
	assert_null(cl.cl_procs[0].pc_file_path);
	cmdline_free(&cl);

	/* Install mode boots the first ISO. */
	bp.bp_install = 1;
	build(vc, &bp, &cl, 2);
	check_argv(&cl.cl_procs[0].pc_argv, "bhyveload -c /dev/pts/? "
	    "-m 512M -d /iso/inst.iso fbsd");
	cmdline_free(&cl);
	bp.bp_install = 0;
	vc->vc_install = 1;
	build(vc, &bp, &cl, 2);
	assert_true(has_arg(&cl.cl_procs[0].pc_argv, "/iso/inst.iso"));
	cmdline_free(&cl);
	vc->vc_install = 0;

	/* Every option, in order. */
	vc->vc_wired_memory = 1;
	bp.bp_single_user = 1;
	add_str(&vc->vc_bhyveload_env, "smbios.system.uuid=x");
	add_str(&vc->vc_bhyveload_env, "a=b");
	vc->vc_bhyveload_loader = xstrdup("/boot/userboot.so");
	build(vc, &bp, &cl, 2);
	check_argv(&cl.cl_procs[0].pc_argv, "bhyveload -S -e boot_single=YES "
	    "-e smbios.system.uuid=x -e a=b -l /boot/userboot.so "
	    "-c /dev/pts/? -m 512M -d /vm/fbsd.img fbsd");
	assert_true(has_arg(&cl.cl_procs[1].pc_argv, "-S"));
	cmdline_free(&cl);
	vc_free(vc);
}

static void
test_grub(void **state)
{
	struct vm_conf *vc = vc_new("obsd", "grub", "1G");
	struct be_params bp = show_params();
	struct cmdline cl;

	(void)state;
	add_disk(vc, DISK_VIRTIO_BLK, 0, "/vm/obsd.img");
	add_disk(vc, DISK_AHCI, 0, "/vm/second.img");
	add_iso(vc, "/iso/install75.iso");
	build(vc, &bp, &cl, 2);
	assert_string_equal(cl.cl_procs[0].pc_path,
	    "/usr/local/sbin/grub-bhyve");
	check_argv(&cl.cl_procs[0].pc_argv, "grub-bhyve -c /dev/pts/? "
	    "-r hd0,1 -M 1G -m /run/bmd/obsd.devmap.XXXXXX obsd");
	check_argv(&cl.cl_procs[0].pc_env, "TERM=vt100");
	assert_string_equal(cl.cl_procs[0].pc_file_path,
	    "/run/bmd/obsd.devmap.XXXXXX");
	assert_string_equal(cl.cl_procs[0].pc_file_data,
	    "(hd0) /vm/obsd.img\n(hd1) /vm/second.img\n"
	    "(cd0) /iso/install75.iso\n");
	cmdline_free(&cl);

	/* the daemon's run directory, never /tmp */
	bp.bp_daemon_pid = 4242;
	bp.bp_run_dir = "/var/run/b";
	bp.bp_localbase = "/opt/local";
	vc->vc_grub_run_partition = xstrdup("gpt4");
	vc->vc_wired_memory = 1;
	build(vc, &bp, &cl, 2);
	assert_string_equal(cl.cl_procs[0].pc_path,
	    "/opt/local/sbin/grub-bhyve");
	check_argv(&cl.cl_procs[0].pc_argv, "grub-bhyve -S -c /dev/pts/? "
	    "-r hd0,gpt4 -M 1G -m /var/run/b/obsd.devmap.XXXXXX obsd");
	cmdline_free(&cl);

	bp.bp_install = 1;
	build(vc, &bp, &cl, 2);
	check_argv(&cl.cl_procs[0].pc_argv, "grub-bhyve -S -c /dev/pts/? "
	    "-r cd0 -M 1G -m /var/run/b/obsd.devmap.XXXXXX obsd");
	cmdline_free(&cl);
	vc_free(vc);
}

static void
test_uefi_vars_by_version(void **state)
{
	struct vm_conf *vc = vc_new("win", "uefi", "8G");
	struct be_params bp = show_params();
	struct cmdline cl;

	(void)state;
	bp.bp_freebsd_version = 1400000;
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "bootrom,/usr/local/share/"
	    "uefi-firmware/BHYVE_UEFI.fd,/usr/local/var/cache/bmd/win.vars"));
	assert_true(has_arg(bhyve_argv(&cl), "-A"));
	cmdline_free(&cl);

	bp.bp_freebsd_version = 1302001;
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl),
	    "bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd"));
	cmdline_free(&cl);

	/* Unknown facts fall back to LOCALBASE and the default vars dir. */
	memset(&bp, 0, sizeof(bp));
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "bootrom," LOCALBASE
	    "/share/uefi-firmware/BHYVE_UEFI.fd," LOCALBASE
	    "/var/cache/bmd/win.vars"));
	cmdline_free(&cl);

	bp = show_params();
	bp.bp_vars_dir = "/var/db/bmd";
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "bootrom,/usr/local/share/"
	    "uefi-firmware/BHYVE_UEFI.fd,/var/db/bmd/win.vars"));
	cmdline_free(&cl);

	/* csm never has a variable store. */
	free(vc->vc_loader);
	vc->vc_loader = xstrdup("csm");
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl),
	    "bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI_CSM.fd"));
	cmdline_free(&cl);
	vc_free(vc);
}

/* No loader: bhyve alone, no boot ROM (validation rejects it anyway). */
static void
test_no_loader(void **state)
{
	struct vm_conf *vc = vc_new("bare", NULL, "1G");
	struct be_params bp = show_params();
	struct cmdline cl;

	(void)state;
	build(vc, &bp, &cl, 1);
	check_argv(bhyve_argv(&cl), "bhyve -H -w -u "
	    "-c cpus=1,sockets=1,cores=1,threads=1 -m 1G "
	    "-s 0:0:0,hostbridge -s 0:1:0,lpc bare");
	cmdline_free(&cl);
	vc_free(vc);
}

static void
test_nmdm_functions(void **state)
{
	int used[] = { 3, 250, 7 };
	char *s;

	(void)state;
	assert_int_equal(nmdm_next(200, NULL, 0), 200);
	assert_int_equal(nmdm_next(200, used, 2), 251);
	assert_int_equal(nmdm_next(200, used, 1), 200);
	assert_int_equal(nmdm_next(1, used, 1), 4);
	assert_int_equal(nmdm_next(0, NULL, 0), 0);
	assert_int_equal(nmdm_next(-5, NULL, 0), 0);
	assert_int_equal(nmdm_next(300, used, 3), 300);
	assert_int_equal(nmdm_next(2147483648LL, NULL, 0), -1);

	assert_int_equal(nmdm_number("/dev/nmdm12B"), 12);
	assert_int_equal(nmdm_number("/dev/nmdm0A"), 0);
	assert_int_equal(nmdm_number("nmdm7"), 7);
	assert_int_equal(nmdm_number("/dev/nmdmB"), -1);
	assert_int_equal(nmdm_number("/dev/ttyu0"), -1);
	assert_int_equal(nmdm_number("tcp=127.0.0.1:4444"), -1);
	assert_int_equal(nmdm_number(NULL), -1);

	s = nmdm_bhyve_path(200);
	assert_string_equal(s, "/dev/nmdm200B");
	free(s);
	s = nmdm_user_path(200);
	assert_string_equal(s, "/dev/nmdm200A");
	free(s);
	s = nmdm_peer("/dev/nmdm200B");
	assert_string_equal(s, "/dev/nmdm200A");
	free(s);
	s = nmdm_peer("/dev/nmdm3A");
	assert_string_equal(s, "/dev/nmdm3B");
	free(s);
	s = nmdm_peer("/dev/nmdmA");		/* too short: verbatim */
	assert_string_equal(s, "/dev/nmdmA");
	free(s);
	s = nmdm_peer("tcp=[::1]:4000");
	assert_string_equal(s, "tcp=[::1]:4000");
	free(s);
}

static void
test_com_numbering(void **state)
{
	struct vm_conf *vc = vc_new("c", "uefi", "1G");
	struct be_params bp = show_params();
	struct cmdline cl;

	(void)state;
	conf_com_set(&vc->vc_com[0], "auto");
	conf_com_set(&vc->vc_com[1], "AUTO");
	conf_com_set(&vc->vc_com[3], "auto");
	build(vc, &bp, &cl, 1);
	check_argv(bhyve_argv(&cl), "bhyve -H -w -u "
	    "-c cpus=1,sockets=1,cores=1,threads=1 -m 1G "
	    "-l com1,/dev/nmdm200B -l com2,/dev/nmdm201B "
	    "-l com4,/dev/nmdm202B "
	    "-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd,"
	    "/usr/local/var/cache/bmd/c.vars "
	    "-s 0:0:0,hostbridge -s 0:1:0,lpc c");
	cmdline_free(&cl);

	/* A device the VM already names raises the next number. */
	conf_com_set(&vc->vc_com[1], "/dev/nmdm250B");
	conf_com_set(&vc->vc_com[2], "tcp=0.0.0.0:4000");
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "com1,/dev/nmdm251B"));
	assert_true(has_arg(bhyve_argv(&cl), "com2,/dev/nmdm250B"));
	assert_true(has_arg(bhyve_argv(&cl), "com3,tcp=0.0.0.0:4000"));
	assert_true(has_arg(bhyve_argv(&cl), "com4,/dev/nmdm252B"));
	cmdline_free(&cl);

	/* Devices assigned by the daemon win, and count as taken. */
	bp.bp_com[0] = "/dev/nmdm300B";
	bp.bp_nmdm_offset = 10;
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "com1,/dev/nmdm300B"));
	assert_true(has_arg(bhyve_argv(&cl), "com4,/dev/nmdm301B"));
	cmdline_free(&cl);

	/* bmdctl run puts com1 on stdio even when it is not configured. */
	memset(bp.bp_com, 0, sizeof(bp.bp_com));
	conf_com_clear(&vc->vc_com[0]);
	bp.bp_com[0] = "stdio";
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "com1,stdio"));
	cmdline_free(&cl);
	vc_free(vc);
}

/* Every option and device kind at once, in spec order. */
static void
test_full_order(void **state)
{
	static const uint8_t mac[6] = { 0x22, 0x11, 0x33, 0x44, 0x55, 0x0a };
	struct vm_conf *vc = vc_new("all", "uefi", "4096M");
	struct be_params bp = show_params();
	const char *taps[] = { "tap7", NULL, NULL };
	struct cmdline cl;

	(void)state;
	vc->vc_id = 3;
	set_ncpu(vc, 2, 2, 2);
	add_pin(vc, 0, 1);
	add_pin(vc, 1, 3);
	vc->vc_x2apic = 1;
	vc->vc_utctime = 0;
	vc->vc_debug_port = xstrdup("1234");
	conf_com_set(&vc->vc_com[1], "auto");
	vc->vc_keymap = xstrdup("jp");
	vc->vc_tpm.t_set = 1;
	vc->vc_tpm.t_type = TPM_SWTPM;
	vc->vc_tpm.t_dev = xstrdup("/var/run/swtpm.sock");
	vc->vc_tpm.t_version = xstrdup("2.0");
	vc->vc_virt_random = 1;
	add_disk(vc, DISK_NVME, DISK_NOCACHE | DISK_DIRECT | DISK_READONLY |
	    DISK_NODELETE, "/dev/zvol/images/test2");
	add_disk(vc, DISK_AHCI, DISK_READONLY, "/vm/b.img");
	add_iso(vc, "/iso/a.iso");
	add_sharefs(vc, 1, "data", "/srv/data");
	add_sharefs(vc, 0, "home", "/home");
	add_net(vc, NET_E1000, "bridge0", mac);
	add_net(vc, NET_VIRTIO, "vale1", NULL);
	add_net(vc, NET_VIRTIO, "none", NULL);
	add_str(&vc->vc_passthru, "ppt0");
	add_str(&vc->vc_passthru, "1/0/130");
	add_hda(vc, "/dev/dsp0", "/dev/dsp1");
	add_hda(vc, NULL, "/dev/dsp2");
	add_hda(vc, "/dev/dsp3", "");
	vc->vc_vconsole_nc = 2;
	vc->vc_vconsole_np = 2;
	vc->vc_graphics = 1;
	vc->vc_graphics_wait = 1;
	vc->vc_graphics_password = xstrdup("secret");
	vc->vc_xhci_mouse = 1;
	add_str(&vc->vc_bhyve_env, "BHYVE_TMPDIR=/tmp");
	add_str(&vc->vc_bhyve_env, "A=B");
	bp.bp_taps = taps;
	bp.bp_ntaps = 3;
	build(vc, &bp, &cl, 1);
	check_argv(bhyve_argv(&cl), "bhyve -H -w -x -S -G 1234 "
	    "-c cpus=8,sockets=2,cores=2,threads=2 -p 0:1 -p 1:3 -m 4096M "
	    "-l com2,/dev/nmdm200B -K jp "
	    "-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd,"
	    "/usr/local/var/cache/bmd/all.vars "
	    "-l tpm,swtpm,/var/run/swtpm.sock,version=2.0 "
	    "-s 0:0:0,hostbridge -s 0:1:0,lpc -s 0:2:0,virtio-rnd "
	    "-s 0:3:0,nvme,/dev/zvol/images/test2,nocache,direct,ro,nodelete "
	    "-s 0:4:0,ahci,/vm/b.img,ro -s 0:5:0,ahci-cd,/iso/a.iso "
	    "-s 0:6:0,virtio-9p,data=/srv/data,ro "
	    "-s 0:7:0,virtio-9p,home=/home "
	    "-s 0:8:0,e1000,tap7,mac=22:11:33:44:55:0a "
	    "-s 0:9:0,virtio-net,vale1:vm3p1 -s 0:10:0,virtio-net,tap? "
	    "-s 0:11:0,passthru,ppt0 -s 0:12:0,passthru,1/0/130 "
	    "-s 0:13:0,hda,play=/dev/dsp0,rec=/dev/dsp1 "
	    "-s 0:14:0,hda,rec=/dev/dsp2 -s 0:15:0,hda,play=/dev/dsp3 "
	    "-s 0:16:0,virtio-console,virt_console0=/var/run/vc-all0.sock,"
	    "virt_console1=/var/run/vc-all1.sock "
	    "-s 0:17:0,virtio-console,virt_console2=/var/run/vc-all2.sock,"
	    "virt_console3=/var/run/vc-all3.sock "
	    "-s 0:18:0,fbuf,tcp=0.0.0.0:5900,w=1024,h=768,vga=io,wait,"
	    "password=secret "
	    "-s 0:19:0,xhci,tablet all");
	check_argv(&cl.cl_procs[0].pc_env, "BHYVE_TMPDIR=/tmp A=B");
	cmdline_free(&cl);

	/* A tpm without a version, and fbuf on a unix socket. */
	free(vc->vc_tpm.t_version);
	vc->vc_tpm.t_version = NULL;
	vc->vc_tpm.t_type = TPM_PASSTHRU;
	vc->vc_graphics_path = xstrdup("/tmp/all.vnc");
	vc->vc_graphics_wait = 0;
	vc->vc_graphics_res.r_width = 1280;
	vc->vc_graphics_res.r_height = 720;
	free(vc->vc_graphics_vga);
	vc->vc_graphics_vga = xstrdup("on");
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl),
	    "tpm,passthru,/var/run/swtpm.sock"));
	assert_true(has_arg(bhyve_argv(&cl),
	    "0:18:0,fbuf,rfb=unix:/tmp/all.vnc,w=1280,h=720,vga=on,"
	    "password=secret"));
	cmdline_free(&cl);
	vc_free(vc);
}

static void
test_vconsole_template(void **state)
{
	struct vm_conf *vc = vc_new("vm%x", "uefi", "1G");
	struct be_params bp = show_params();
	const struct argv *av;
	const char *spec, *r;
	struct cmdline cl;
	size_t i;

	(void)state;
	vc->vc_hostbridge = HB_NONE;
	vc->vc_vconsole_nc = 1;
	vc->vc_vconsole_np = 2;
	vc->vc_vconsole_tmpl = xstrdup(" con%c.%p = /tmp/%n-%r-%%-%q-%.sock%");
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "0:1:0,virtio-console,"
	    "con0.0=/tmp/0-XXXXXXXX-%-%q-%.sock%,"
	    "con0.1=/tmp/1-XXXXXXXX-%-%q-%.sock%"));
	cmdline_free(&cl);

	/* No "=": the default path follows, the name taken verbatim. */
	free(vc->vc_vconsole_tmpl);
	vc->vc_vconsole_tmpl = xstrdup("port%n");
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "0:1:0,virtio-console,"
	    "port0=/var/run/vc-vm%x0.sock,port1=/var/run/vc-vm%x1.sock"));
	cmdline_free(&cl);

	/* With a daemon %r is random: eight characters of [0-9A-Za-z]. */
	free(vc->vc_vconsole_tmpl);
	vc->vc_vconsole_tmpl = xstrdup("p=/s/%r");
	bp.bp_daemon_pid = 99;
	build(vc, &bp, &cl, 1);
	av = bhyve_argv(&cl);
	spec = av->a_v[av->a_n - 2];
	r = strstr(spec, "p=/s/");
	assert_non_null(r);
	r += 5;
	for (i = 0; i < 8; i++)
		assert_non_null(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz", r[i]));
	assert_true(r[8] == ',');
	assert_true(strncmp(r, "XXXXXXXX", 8) != 0);
	cmdline_free(&cl);

	/* Ports without a controller get one; a controller may have none. */
	bp.bp_daemon_pid = 0;
	vc->vc_vconsole_nc = 0;
	vc->vc_vconsole_np = 1;
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl),
	    "0:1:0,virtio-console,p=/s/XXXXXXXX"));
	assert_false(has_arg(bhyve_argv(&cl), "0:2:0,virtio-console"));
	cmdline_free(&cl);
	vc->vc_vconsole_nc = 2;
	vc->vc_vconsole_np = 0;
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "0:1:0,virtio-console"));
	assert_true(has_arg(bhyve_argv(&cl), "0:2:0,virtio-console"));
	cmdline_free(&cl);
	vc_free(vc);
}

/* Collect the validation errors of vc into one string. */
static int
validate(const struct vm_conf *vc, char *out, size_t outlen)
{
	struct diags ds;
	size_t i;
	int rc;

	diags_init(&ds);
	rc = backend_bhyve.be_validate(vc, &ds);
	out[0] = '\0';
	for (i = 0; i < ds.ds_n; i++) {
		strncat(out, ds.ds_v[i].d_text, outlen - strlen(out) - 1);
		strncat(out, "\n", outlen - strlen(out) - 1);
	}
	assert_int_equal(ds.ds_nerrors, ds.ds_n);
	diags_free(&ds);
	return rc;
}

static void
test_validate(void **state)
{
	struct vm_conf *vc = vc_new("v", NULL, "1G");
	char msg[2048];

	(void)state;
	assert_int_equal(validate(vc, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "loader is required for the bhyve backend\n");

	vc->vc_loader = xstrdup("UEFI");	/* case-sensitive */
	assert_int_equal(validate(vc, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "the loader \"UEFI\" is not supported by "
	    "the bhyve backend (use bhyveload, grub, uefi or csm)\n");

	free(vc->vc_loader);
	vc->vc_loader = xstrdup("uefi");
	conf_com_set(&vc->vc_com[0], "tcp=127.0.0.1:4000");
	assert_int_equal(validate(vc, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");

	/* A TCP com1 and no disk: both are reported. */
	free(vc->vc_loader);
	vc->vc_loader = xstrdup("bhyveload");
	vc->vc_pos.file = pos_intern("/etc/bmd.conf");
	vc->vc_pos.line = 3;
	vc->vc_pos.col = 1;
	assert_int_equal(validate(vc, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "/etc/bmd.conf:3:1: the loader \"bhyveload\" "
	    "doesn't support a TCP com1\n"
	    "/etc/bmd.conf:3:1: bhyveload needs a disk to boot from\n");
	memset(&vc->vc_pos, 0, sizeof(vc->vc_pos));

	conf_com_set(&vc->vc_com[0], "auto");
	add_disk(vc, DISK_VIRTIO_BLK, 0, "/vm/v.img");
	assert_int_equal(validate(vc, msg, sizeof(msg)), 0);
	vc->vc_install = 1;
	assert_int_equal(validate(vc, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "bhyveload needs an ISO to install from\n");

	free(vc->vc_loader);
	vc->vc_loader = xstrdup("grub");
	assert_int_equal(validate(vc, msg, sizeof(msg)), -1);
	assert_string_equal(msg, "grub needs an ISO to install from\n");
	add_iso(vc, "/iso/i.iso");
	assert_int_equal(validate(vc, msg, sizeof(msg)), 0);
	vc_free(vc);
}

static void
test_validate_qemu_keys(void **state)
{
	struct vm_conf *vc = vc_new("q", "csm", "1G");
	char msg[2048];

	(void)state;
	vc->vc_kernel = xstrdup("/boot/vmlinuz");
	vc->vc_initrd = xstrdup("/boot/initrd");
	vc->vc_cmdline = xstrdup("console=ttyS0");
	vc->vc_qemu_binary = xstrdup("qemu-system-x86_64");
	vc->vc_qemu_machine = xstrdup("q35");
	vc->vc_qemu_cpu = xstrdup("host");
	vc->vc_accel = ACCEL_KVM;
	mark_set(vc, "kernel");
	mark_set(vc, "initrd");
	mark_set(vc, "cmdline");
	mark_set(vc, "qemu_binary");
	mark_set(vc, "qemu_machine");
	mark_set(vc, "qemu_cpu");
	mark_set(vc, "accel");
	assert_int_equal(validate(vc, msg, sizeof(msg)), -1);
	assert_string_equal(msg,
	    "vm \"q\": \"accel\" is not supported by the bhyve backend\n"
	    "vm \"q\": \"qemu_binary\" is not supported by the bhyve backend\n"
	    "vm \"q\": \"qemu_machine\" is not supported by the bhyve backend\n"
	    "vm \"q\": \"qemu_cpu\" is not supported by the bhyve backend\n"
	    "vm \"q\": \"kernel\" is not supported by the bhyve backend\n"
	    "vm \"q\": \"initrd\" is not supported by the bhyve backend\n"
	    "vm \"q\": \"cmdline\" is not supported by the bhyve backend\n");
	vc_free(vc);
}

/* 8192 devices are bhyve's limit; one more is rejected. */
static void
test_validate_too_many_devices(void **state)
{
	struct vm_conf *vc = vc_new("many", "uefi", "1G");
	struct be_params bp = show_params();
	struct cmdline cl;
	struct diags ds;
	char msg[256];
	int i;

	(void)state;
	for (i = 0; i < 8190; i++)
		add_disk(vc, DISK_VIRTIO_BLK, 0, "/d");
	assert_int_equal(validate(vc, msg, sizeof(msg)), 0);
	build(vc, &bp, &cl, 1);
	assert_true(has_arg(bhyve_argv(&cl), "255:31:0,virtio-blk,/d"));
	assert_true(has_arg(bhyve_argv(&cl), "-Y"));
	cmdline_free(&cl);

	add_iso(vc, "/i");
	assert_int_equal(validate(vc, msg, sizeof(msg)), -1);
	assert_string_equal(msg,
	    "too many PCI devices: 8193 (bhyve has 8192)\n");
	diags_init(&ds);
	assert_int_equal(backend_bhyve.be_commands(vc, &bp, &cl, &ds), -1);
	assert_int_equal(ds.ds_nerrors, 1);
	assert_int_equal(cl.cl_nprocs, 0);
	diags_free(&ds);
	vc_free(vc);
}

/* Defect 20: no boot medium is an error at start, never a crash. */
static void
test_commands_missing_media(void **state)
{
	struct vm_conf *vc = vc_new("nod", "bhyveload", "1G");
	struct be_params bp = show_params();
	struct cmdline cl;
	struct diags ds;

	(void)state;
	add_disk(vc, DISK_VIRTIO_BLK, 0, "/vm/nod.img");
	bp.bp_install = 1;	/* bmdctl install on a VM without an ISO */
	diags_init(&ds);
	assert_int_equal(backend_bhyve.be_commands(vc, &bp, &cl, &ds), -1);
	assert_int_equal(ds.ds_nerrors, 1);
	assert_string_equal(ds.ds_v[0].d_text,
	    "bhyveload needs an ISO to install from");
	assert_int_equal(cl.cl_nprocs, 0);
	assert_null(cl.cl_procs[0].pc_path);
	diags_free(&ds);

	free(vc->vc_loader);
	vc->vc_loader = xstrdup("lilo");
	diags_init(&ds);
	assert_int_equal(backend_bhyve.be_commands(vc, &bp, &cl, &ds), -1);
	assert_int_equal(ds.ds_nerrors, 1);
	diags_free(&ds);
	vc_free(vc);
}

static void
test_argv_helpers(void **state)
{
	struct argv av;
	struct cmdline cl;
	int i;

	(void)state;
	argv_init(&av);
	assert_int_equal(av.a_n, 0);
	assert_null(av.a_v[0]);
	for (i = 0; i < 100; i++)
		argv_addf(&av, "a%d", i);
	argv_add(&av, "");
	assert_int_equal(av.a_n, 101);
	assert_string_equal(av.a_v[99], "a99");
	assert_string_equal(av.a_v[100], "");
	assert_null(av.a_v[101]);
	argv_free(&av);
	assert_null(av.a_v);
	argv_free(&av);		/* twice is harmless */

	memset(&cl, 0, sizeof(cl));
	cmdline_free(&cl);	/* an empty command line */
	assert_int_equal(cl.cl_nprocs, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_old_freebsd_adds_A),
		cmocka_unit_test(test_hostbridge),
		cmocka_unit_test(test_slot_overflow),
		cmocka_unit_test(test_slot_exactly_32),
		cmocka_unit_test(test_bhyveload),
		cmocka_unit_test(test_grub),
		cmocka_unit_test(test_uefi_vars_by_version),
		cmocka_unit_test(test_no_loader),
		cmocka_unit_test(test_nmdm_functions),
		cmocka_unit_test(test_com_numbering),
		cmocka_unit_test(test_full_order),
		cmocka_unit_test(test_vconsole_template),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_validate_qemu_keys),
		cmocka_unit_test(test_validate_too_many_devices),
		cmocka_unit_test(test_commands_missing_media),
		cmocka_unit_test(test_argv_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
