/* bmdctl show config|command: resolved configuration and command lines. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend.h"
#include "bmdctl.h"
#include "buf.h"
#include "keys.h"
#include "origin.h"
#include "platform.h"

static int
show_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "origin", no_argument, NULL, 'o' },
		{ "diff", no_argument, NULL, 'd' }, { NULL, 0, NULL, 0 } };
	struct conf *c;
	json_t *arr;
	struct buf b;
	const char *name = NULL;
	size_t i;
	int ch, json = 0, origin = 0, diff = 0, errs, found = 0;

	while ((ch = getopt_long(argc, argv, "jod", opts, NULL)) != -1) {
		if (ch == 'j')
			json = 1;
		else if (ch == 'o')
			origin = 1;
		else if (ch == 'd')
			diff = 1;
		else
			return ctl_usage(&cmd_show);
	}
	if (diff && (origin || optind < argc))
		return ctl_usage(&cmd_show);
	if (diff)	/* the daemon compares: it has what runs */
		return ctl_reload(1, json);
	if (argc - optind > 1)
		return ctl_usage(&cmd_show);
	if (optind < argc)
		name = argv[optind];
	if ((c = origin ? ctl_load_origins(&errs) : ctl_load_conf(0, &errs)) ==
	    NULL)
		return 1;
	arr = json_array();
	buf_init(&b);
	for (i = 0; i < c->c_nvms; i++) {
		if (name != NULL && strcmp(name, c->c_vms[i]->vc_name) != 0)
			continue;
		found++;
		if (json)
			json_array_append_new(arr, origin ?
			    vm_conf_origin_json(c->c_vms[i]) :
			    vm_conf_json(c->c_vms[i]));
		else {
			if (b.b_len > 0)
				buf_addc(&b, '\n');
			if (origin)
				vm_conf_origin_text(c->c_vms[i], &b);
			else
				vm_conf_text(c->c_vms[i], &b);
		}
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else
		fputs(buf_str(&b), stdout);
	json_decref(arr);
	buf_free(&b);
	if (name != NULL && !found && !errs)
		ctl_no_vm("show", c, name);
	conf_free(c);
	return errs || (name != NULL && !found) ? 1 : 0;
}

static void
fill_params(const struct conf *c, const struct vm_conf *vc,
    struct be_params *bp)
{
	memset(bp, 0, sizeof(*bp));
	bp->bp_localbase = LOCALBASE;
	bp->bp_run_dir = c->c_global.gc_run_directory;
	bp->bp_vars_dir = c->c_global.gc_vars_directory;
	bp->bp_freebsd_version = (long)c->c_global.gc_freebsd_version;
	bp->bp_nmdm_offset = c->c_global.gc_nmdm_offset;
	bp->bp_install = vc->vc_install;
	bp->bp_accel = plat_accel_name(vc->vc_accel);
	bp->bp_bhyve_prog = c->c_global.gc_bhyve_program;
	bp->bp_bhyvectl_prog = c->c_global.gc_bhyvectl_program;
	bp->bp_bhyveload_prog = c->c_global.gc_bhyveload_program;
	bp->bp_grub_prog = c->c_global.gc_grub_bhyve_program;
}

static int
show_command(int argc, char **argv)
{
	const struct backend *be;
	struct be_params bp;
	struct cmdline cl;
	struct diags ds;
	struct vm_conf *vc;
	struct conf *c;
	int errs, i, rc = 1;
	size_t j;

	if (argc != 2)
		return ctl_usage(&cmd_show);
	if ((c = ctl_load_conf(0, &errs)) == NULL)
		return 1;
	if ((vc = conf_find_vm(c, argv[1])) == NULL) {
		ctl_no_vm("show", c, argv[1]);
		conf_free(c);
		return 1;
	}
	be = backend_get(vc->vc_backend);
	fill_params(c, vc, &bp);
	diags_init(&ds);
	memset(&cl, 0, sizeof(cl));
	if (be->be_commands(vc, &bp, &cl, &ds) == 0) {
		for (i = 0; i < cl.cl_nprocs; i++) {
			if (i > 0)
				putchar('\n');
			for (j = 0; j < cl.cl_procs[i].pc_argv.a_n; j++)
				printf("%s\n", cl.cl_procs[i].pc_argv.a_v[j]);
		}
		rc = 0;
	}
	diags_print(&ds, stderr);
	diags_free(&ds);
	cmdline_free(&cl);
	conf_free(c);
	return rc;
}

/*
 * The one option of show keys, limits and network: --json.  1 or 0,
 * with operands operands left after it; -1 after printing the usage.
 */
int
ctl_show_json_opt(int argc, char **argv, int operands)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 } };
	int ch, json = 0;

	optind = 0;	/* a full reset: main() used getopt already */
	while ((ch = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (ch != 'j') {
			ctl_usage(&cmd_show);
			return -1;
		}
		json = 1;
	}
	if (argc - optind != operands) {
		ctl_usage(&cmd_show);
		return -1;
	}
	return json;
}

static int
show_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage(self);
	if (strcmp(argv[1], "config") == 0)
		return show_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "command") == 0)
		return show_command(argc - 1, argv + 1);
	if (strcmp(argv[1], "network") == 0)
		return ctl_show_network(argc - 1, argv + 1);
	if (strcmp(argv[1], "keys") == 0)
		return ctl_show_keys(argc - 1, argv + 1);
	if (strcmp(argv[1], "limits") == 0)
		return ctl_show_limits(argc - 1, argv + 1);
	if (argc == 3 && (strcmp(argv[1], "console") == 0 || (strncmp(argv[1],
	    "com", 3) == 0 && argv[1][3] >= '1' && argv[1][3] <= '4' &&
	    argv[1][4] == '\0')))
		return ctl_show_console(argv[1][0] == 'c' && argv[1][1] == 'o' &&
		    argv[1][2] == 'm' ? argv[1][3] - '1' : 0, argv[2]);
	fprintf(stderr, "bmdctl: unknown show subcommand \"%s\"\n", argv[1]);
	return ctl_usage(self);
}

const struct ctl_cmd cmd_show = {
	"show", NULL, "config [--json] [--origin] [--diff] [NAME] | command NAME "
	"| network "
	"[--json] NAME | console|comN NAME | keys [--json] | limits [--json]", 1,
	-1, show_exec,
	"print the resolved configuration, the exact command lines of a VM,\n"
	"      its NICs with their taps, bridges and MACs, every configuration "
	"key,\n      or each user's running VMs against the per-user limits",
	CTL_ON_HOST	/* reads the configuration: run on the host */
};
