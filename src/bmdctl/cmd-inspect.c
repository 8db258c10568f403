/* bmdctl inspect NAME: what loadcmd/installcmd = auto would type at grub. */
#include <stdio.h>
#include <stdlib.h>

#include "bmdctl.h"
#include "inspect.h"

/* The typed text on one line, its newlines shown as \n. */
static void
show(const char *key, const char *cmd, const char *err)
{
	char *text;
	const char *p;

	if (cmd == NULL) {
		printf("%s = (null)\n", key);
		fprintf(stderr, "bmdctl: inspect: %s: %s\n", key, err);
		return;
	}
	text = inspect_grub_text(cmd, 0);
	printf("%s = ", key);
	for (p = text; *p != '\0'; p++)
		if (*p == '\n')
			fputs("\\n", stdout);
		else
			putchar(*p);
	putchar('\n');
	free(text);
}

static int
inspect_exec(const struct ctl_cmd *self, int argc, char **argv)
{
	const struct vm_conf *vc;
	struct ctl_opts o;
	struct conf *c;
	char ierr[512], lerr[512];
	char *icmd, *lcmd;
	int errs, rc;

	ctl_getopts(self, &o);
	if (getopt_long(argc, argv, o.o_short, o.o_long, NULL) != -1)
		return ctl_usage(self);
	if ((c = ctl_load_conf(0, &errs)) == NULL)
		return 1;
	if ((vc = conf_find_vm(c, argv[optind])) == NULL) {
		ctl_no_vm("inspect", c, argv[optind]);
		conf_free(c);
		return 1;
	}
	/* the images are read with the rights of whoever runs this */
	icmd = inspect_installcmd(vc, ierr, sizeof(ierr));
	lcmd = inspect_loadcmd(vc, lerr, sizeof(lerr));
	show("installcmd", icmd, ierr);
	show("loadcmd", lcmd, lerr);
	rc = icmd == NULL && lcmd == NULL ? 1 : 0;
	free(icmd);
	free(lcmd);
	conf_free(c);
	return rc;
}

const struct ctl_cmd cmd_inspect = {
	"inspect", NULL, "NAME", 1, 1, inspect_exec,
	"show what loadcmd/installcmd = auto would type at grub's prompt",
	CTL_ON_HOST	/* reads the configuration: run on the host */
};
