/* bmdctl: the command table and what the subcommand files share. */
#ifndef BMDCTL_H
#define BMDCTL_H

#include <sys/types.h>

#include <getopt.h>

#include <jansson.h>

#include "conf.h"

#define EXIT_USAGE	2

/* Where a command runs when -H names hosts (see hosts.c). */
enum ctl_where {
	CTL_RELAY,	/* here, its requests through the host's bmdctl stdio */
	CTL_ON_HOST,	/* on the host: it reads the configuration there */
	CTL_LOCAL	/* here and only here (help, stdio) */
};

/*
 * One subcommand.  The options a command accepts are read from its usage
 * text ("[-c]", "[-s COL]", "[--json]"), so what is documented is what is
 * parsed; main() checks them and the operand count (c_min..c_max, -1: no
 * limit) before c_exec runs.  c_exec gets argv[0] = the command name.
 */
struct ctl_cmd {
	const char	*c_name;
	const char	*c_alias;
	const char	*c_usage;	/* arguments after the name */
	int		 c_min, c_max;	/* operands; -1: no limit */
	int		(*c_exec)(const struct ctl_cmd *, int, char **);
	const char	*c_help;	/* one line */
	enum ctl_where	 c_where;	/* with -H; CTL_RELAY when not given */
};

/* A remote host of -H: ssh://[user@]host[:port]. */
struct ctl_host {
	char		*h_name;	/* [user@]host[:port]: shown, matched */
	char		*h_user;	/* NULL: ssh's choice */
	char		*h_addr;	/* name or address, no [] */
	char		*h_port;	/* NULL: ssh's choice */
};

/* A command's options as getopt_long wants them; long ones return CTL_LONG. */
#define CTL_LONG	0x100
#define CTL_MAXLONG	8
struct ctl_opts {
	char		 o_short[64];
	struct option	 o_long[CTL_MAXLONG + 1];
	char		 o_names[CTL_MAXLONG][24];
};

extern const char	*ctl_conf_path;
extern const char	*ctl_socket_path;	/* -s; NULL: from the config */
extern int		 ctl_conf_given;	/* -f was given */
extern int		 ctl_json;
extern const struct ctl_host *ctl_host;	/* requests go there; NULL: here */

/* The table lives in bmdctl.c; each cmd-*.c defines its entries. */
extern const struct ctl_cmd cmd_boot;
extern const struct ctl_cmd cmd_install;
extern const struct ctl_cmd cmd_list;
extern const struct ctl_cmd cmd_poweroff;
extern const struct ctl_cmd cmd_reload;
extern const struct ctl_cmd cmd_reset;
extern const struct ctl_cmd cmd_show;
extern const struct ctl_cmd cmd_shutdown;
extern const struct ctl_cmd cmd_console, cmd_com1, cmd_com2, cmd_com3,
    cmd_com4;
extern const struct ctl_cmd cmd_run;
extern const struct ctl_cmd cmd_status;
extern const struct ctl_cmd cmd_inspect;
extern const struct ctl_cmd cmd_events;
extern const struct ctl_cmd cmd_metrics;
extern const struct ctl_cmd cmd_stdio;
extern const struct ctl_cmd cmd_help;

/* bmdctl.c */
int		 ctl_usage(const struct ctl_cmd *);
void		 ctl_getopts(const struct ctl_cmd *, struct ctl_opts *);
/* Parse the configuration with the caller's rights; NULL on fatal. */
struct conf	*ctl_load_conf(int quiet_errors, int *had_errors);
struct conf	*ctl_load_globals(int *had_errors);
/* ctl_load_conf, recording where each value comes from (--origin). */
struct conf	*ctl_load_origins(int *had_errors);
/* "bmdctl: COMMAND: no VM named 'x' (did you mean 'y'?)", from C's VMs. */
void		 ctl_no_vm(const char *command, const struct conf *c,
		    const char *name);

/* cmd-boot.c: boot and install */
int		 ctl_boot_common(const struct ctl_cmd *, const char *command,
		    int, char **);

/* cmd-show-network.c: show network [--json] NAME */
int		 ctl_show_network(int argc, char **argv);
/* cmd-show.c: --json of show keys|limits|network, then operands (-1) */
int		 ctl_show_json_opt(int argc, char **argv, int operands);
/* cmd-reload.c: reload, or only what it would do (show config --diff) */
int		 ctl_reload(int dry_run, int json);
/* cmd-show-limits.c: show limits [--json] */
int		 ctl_show_limits(int argc, char **argv);
/* cmd-show-keys.c: show keys [--json] */
int		 ctl_show_keys(int argc, char **argv);

/* cmd-console.c: attach to a serial port through bmd */
enum ctl_console_mode { CONSOLE_INTERACTIVE, CONSOLE_FORCE,
    CONSOLE_READ_ONLY, CONSOLE_DUMP };
int		 ctl_console(const char *name, int com, enum ctl_console_mode,
		    int this_run_only);
/* the same on PORT (comN, vconsoleN); raw: no terminal, no escapes */
int		 ctl_console_port(const char *name, const char *port,
		    enum ctl_console_mode, int this_run_only, int raw);
/* 1 (and says so) if a session has no terminal to run on and no --raw */
int		 ctl_console_need_tty(const char *name, int raw);
/* ~w (writer != 0) and ~r: 0, or -1 with the reason in err */
int		 ctl_console_mode(const char *name, const char *port,
		    const char *session, int writer, char *err, size_t errlen);
/* show console|comN NAME: how the port is attached */
int		 ctl_show_console(int com, const char *name);

/* term.c: the interactive session on a console descriptor */
struct term_args {
	int		 t_fd;		/* the session */
	const char	*t_name;
	const char	*t_port;	/* com1, vconsole0 */
	int		 t_readonly;
	int		 t_raw;		/* --raw: no terminal, no escapes */
	long long	 t_replay;	/* bytes of scrollback sent first */
	const char	*t_session;	/* bmd's token for ~w, ~r (NULL: none) */
};
int		 term_session(const struct term_args *);

/* wait.c: -w, -t SECONDS, -q */
struct ctl_wait {
	int		 w_wait;
	int		 w_quiet;
	long		 w_timeout;	/* seconds; 0: no limit */
	double		 w_deadline;	/* of -t, for every VM of the command */
};
enum ctl_target { CTL_RUNNING, CTL_STOPPED };
int		 ctl_wait_option(int ch, const char *arg, struct ctl_wait *);
int		 ctl_wait_for(const char *name, enum ctl_target,
		    const struct ctl_wait *);
/* COMMAND for each of N names, then -w's wait for each: exit status. */
int		 ctl_act_each(const char *command, enum ctl_target,
		    struct ctl_wait *, int n, char **names);
json_t		*ctl_status_of(const char *name, json_t **reply);
void		 ctl_print_progress(const char *name, json_t *vm);
/* A command that acts on NAME..., with -w, -t and -q: the exit status. */
int		 ctl_act_wait(const struct ctl_cmd *, const char *command,
		    enum ctl_target, int argc, char **argv);

/* hosts.c: -H URL|@FILE and BMD_HOSTS */
int		 hosts_add(const char *arg);
size_t		 hosts_count(void);
const struct ctl_host *hosts_get(size_t);
/* a host list (several hosts, or a file): list shows a HOST column */
int		 hosts_listed(void);
/* run command C where -H (or BMD_HOSTS) says: its exit status */
int		 hosts_route(const struct ctl_cmd *c, int argc, char **argv);

/* ssh.c: the ssh command, with OpenSSH's connection sharing */
char		*ssh_control_dir(void);
char		*ssh_remote_command(char **args);
pid_t		 ssh_start(const struct ctl_host *, const char *command,
		    int tty, int io, int *errfd, int *exec_errno);

/* remote.c: requests through `bmdctl stdio` on a host, over ssh */
struct remote;
struct remote	*remote_start(const struct ctl_host *, json_t *req);
json_t		*remote_reply(struct remote *, int *passed_fd);
json_t		*remote_request_stream(const struct ctl_host *, json_t *req,
		    int *conn);
json_t		*remote_request_fd(const struct ctl_host *, json_t *req,
		    int *passed_fd);
int		 remote_exec(const struct ctl_host *, char **args);

/* client.c */
/* A connection to bmd's control socket; -1 (reported). */
int		 ctl_connect(void);
/* Send one request, return the reply (ok or not); NULL: reported, failed. */
json_t		*ctl_request(json_t *req);
json_t		*ctl_request_fd(json_t *req, int *passed_fd);
/* The same, and the connection stays open in *conn (events). */
json_t		*ctl_request_stream(json_t *req, int *conn);
/* Send COMMAND [NAME], report a failure: 0, 1 refused, -1 no answer. */
int		 ctl_simple(const char *command, const char *name);
/* The exit status of a reply; prints "bmdctl: REASON" when it failed. */
int		 ctl_reply_status(json_t *reply);
/* The same, as "bmdctl: COMMAND: NAME: REASON". */
int		 ctl_reply_status_of(const char *command, const char *name,
		    json_t *reply);

#endif
