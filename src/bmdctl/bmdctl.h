/* bmdctl: the command table and what the subcommand files share. */
#ifndef BMDCTL_H
#define BMDCTL_H

#include "conf.h"

#define EXIT_USAGE	2

struct ctl_cmd {
	const char	*c_name;
	const char	*c_alias;
	const char	*c_usage;	/* arguments after the name */
	int		 c_min, c_max;	/* operands; -1: no limit */
	int		(*c_exec)(const struct ctl_cmd *, int, char **);
	const char	*c_help;	/* one line */
};

extern const char	*ctl_conf_path;
extern int		 ctl_json;

/* The table lives in bmdctl.c; each cmd-*.c defines its entries. */
extern const struct ctl_cmd cmd_show;

int		 ctl_usage(const struct ctl_cmd *);
/* Parse the configuration with the caller's rights; NULL on fatal. */
struct conf	*ctl_load_conf(int quiet_errors, int *had_errors);

#endif
