/* Unit tests of the QEMU backend: values inside options are escaped. */
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
#include "xmalloc.h"

static void
clist_push(struct clist *l, const void *item, size_t size)
{
	l->l_v = xreallocarray(l->l_v, l->l_n + 1, size);
	memcpy((char *)l->l_v + l->l_n * size, item, size);
	l->l_n++;
}

/* A QEMU VM as the conf layer leaves it; everything is leaked (tests). */
static struct vm_conf *
vc_new(const char *name)
{
	struct vm_conf *vc = xcalloc(1, sizeof(*vc));

	vc->vc_set = xcalloc(keys_count(), 1);
	vc->vc_kpos = xcalloc(keys_count(), sizeof(*vc->vc_kpos));
	vc->vc_name = xstrdup(name);
	vc->vc_section = xstrdup(name);
	vc->vc_backend = BACKEND_QEMU;
	vc->vc_memory.m_bytes = 128 << 20;
	vc->vc_ncpu.nc_cpus = vc->vc_ncpu.nc_sockets = 1;
	vc->vc_ncpu.nc_cores = vc->vc_ncpu.nc_threads = 1;
	vc->vc_graphics_listen = xstrdup("0.0.0.0");
	vc->vc_graphics_port = 5900;
	return vc;
}

static void
build(const struct vm_conf *vc, const struct be_params *bp,
    struct cmdline *cl)
{
	struct diags ds;

	diags_init(&ds);
	assert_int_equal(backend_qemu.be_commands(vc, bp, cl, &ds), 0);
	assert_int_equal(cl->cl_nprocs, 1);
	diags_free(&ds);
}

/* The argument after the first `opt` whose value starts with `prefix`. */
static const char *
arg_after(const struct argv *av, const char *opt, const char *prefix)
{
	size_t i;

	for (i = 0; i + 1 < av->a_n; i++)
		if (strcmp(av->a_v[i], opt) == 0 &&
		    strncmp(av->a_v[i + 1], prefix, strlen(prefix)) == 0)
			return av->a_v[i + 1];
	fail_msg("no %s %s... in the command line", opt, prefix);
	return NULL;
}

/*
 * QEMU splits option values at single commas: a value carrying one must
 * have it doubled, else it adds options of its own.
 */
static void
test_commas_are_doubled(void **state)
{
	struct vm_conf *vc = vc_new("a,debug-threads=on");
	struct conf_disk d = { DISK_VIRTIO_BLK, 0,
	    xstrdup("/d/x,file.locking=off") };
	struct conf_iso iso = { 0, xstrdup("/i/c,d.iso") };
	struct conf_sharefs sf = { 0, xstrdup("t,ag"), xstrdup("/s,x") };
	struct be_params bp;
	struct cmdline cl;
	const struct argv *av;

	clist_push(&vc->vc_disk, &d, sizeof(d));
	clist_push(&vc->vc_iso, &iso, sizeof(iso));
	clist_push(&vc->vc_sharefs, &sf, sizeof(sf));
	conf_com_set(&vc->vc_com[0], "auto");
	conf_com_set(&vc->vc_com[1], "/dev/tty,S1");
	vc->vc_loader = xstrdup("uefi");
	vc->vc_graphics = 1;
	vc->vc_graphics_path = xstrdup("/v,nc.sock");
	vc->vc_tpm.t_set = 1;
	vc->vc_tpm.t_type = TPM_SWTPM;
	vc->vc_tpm.t_dev = xstrdup("/t,pm.sock");
	vc->vc_vconsole_nc = vc->vc_vconsole_np = 1;
	memset(&bp, 0, sizeof(bp));
	bp.bp_run_dir = "/run/b,md";
	bp.bp_vars_dir = "/var/v,ars";
	build(vc, &bp, &cl);
	av = &cl.cl_procs[0].pc_argv;
	assert_string_equal(arg_after(av, "-name", ""),
	    "a,,debug-threads=on");
	assert_string_equal(arg_after(av, "-drive", "file=/d/"),
	    "file=/d/x,,file.locking=off,if=none,id=disk0,format=raw,"
	    "cache=writeback,discard=unmap");
	assert_string_equal(arg_after(av, "-drive", "file=/i/"),
	    "file=/i/c,,d.iso,if=none,id=cd0,format=raw,media=cdrom,"
	    "readonly=on");
	assert_string_equal(arg_after(av, "-fsdev", ""),
	    "local,id=fs0,path=/s,,x,security_model=mapped-xattr");
	assert_string_equal(arg_after(av, "-device", "virtio-9p-pci"),
	    "virtio-9p-pci,fsdev=fs0,mount_tag=t,,ag");
	assert_string_equal(arg_after(av, "-qmp", ""),
	    "unix:/run/b,,md/a,,debug-threads=on.qmp,server=on,wait=off");
	assert_string_equal(arg_after(av, "-chardev", "socket,id=com1"),
	    "socket,id=com1,path=/run/b,,md/a,,debug-threads=on.com1,"
	    "server=on,wait=off");
	assert_string_equal(arg_after(av, "-chardev", "serial,id=com2"),
	    "serial,id=com2,path=/dev/tty,,S1");
	assert_string_equal(arg_after(av, "-chardev", "socket,id=vc0"),
	    "socket,id=vc0,path=/run/b,,md/a,,debug-threads=on.vc0,"
	    "server=on,wait=off");
	assert_string_equal(arg_after(av, "-chardev", "socket,id=tpmchr"),
	    "socket,id=tpmchr,path=/t,,pm.sock");
	assert_string_equal(arg_after(av, "-drive", "if=pflash,format=raw,"
	    "unit=1"), "if=pflash,format=raw,unit=1,"
	    "file=/var/v,,ars/a,,debug-threads=on.vars");
	assert_string_equal(arg_after(av, "-vnc", ""), "unix:/v,,nc.sock");
	cmdline_free(&cl);
}

/* Values without commas are printed as they are. */
static void
test_plain_values_unchanged(void **state)
{
	struct vm_conf *vc = vc_new("plain");
	struct conf_disk d = { DISK_VIRTIO_BLK, DISK_READONLY,
	    xstrdup("/d/x.img") };
	struct be_params bp;
	struct cmdline cl;
	const struct argv *av;

	clist_push(&vc->vc_disk, &d, sizeof(d));
	memset(&bp, 0, sizeof(bp));
	bp.bp_run_dir = "/run/bmd";
	build(vc, &bp, &cl);
	av = &cl.cl_procs[0].pc_argv;
	assert_string_equal(arg_after(av, "-name", ""), "plain");
	assert_string_equal(arg_after(av, "-drive", "file="),
	    "file=/d/x.img,if=none,id=disk0,format=raw,cache=writeback,"
	    "discard=unmap,readonly=on");
	assert_string_equal(arg_after(av, "-qmp", ""),
	    "unix:/run/bmd/plain.qmp,server=on,wait=off");
	cmdline_free(&cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commas_are_doubled),
		cmocka_unit_test(test_plain_values_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
