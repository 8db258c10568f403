/* The hypervisor backend interface: one instance per file in src/backend/. */
#ifndef BMD_BACKEND_H
#define BMD_BACKEND_H

#include <sys/types.h>

#include "conf.h"
#include "diag.h"

/* A NULL-terminated argument or environment vector. */
struct argv {
	char	**a_v;
	size_t	  a_n, a_cap;
};

void	argv_init(struct argv *);
void	argv_free(struct argv *);
void	argv_add(struct argv *, const char *);
void	argv_addf(struct argv *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* One process to run: program path, argv (argv[0] first), extra env. */
struct proc_cmd {
	char		*pc_path;
	struct argv	 pc_argv;
	struct argv	 pc_env;	/* NAME=VALUE added to the environment */
	/* A file the process needs (e.g. grub's device map), or NULL. */
	char		*pc_file_path;
	char		*pc_file_data;
};

/* The processes of one start, in order: a loader first if any. */
struct cmdline {
	struct proc_cmd	 cl_procs[2];
	int		 cl_nprocs;
};

void	cmdline_free(struct cmdline *);

/*
 * A file of a user's VM that a hypervisor running as root would open by
 * path: bmd opens it as the owner instead, and the process gets it as
 * /dev/fd/N, so that a link she swaps after the check reaches nothing.
 * A disk is also locked (flock) on that descriptor, for as long as a
 * process of the run holds it, when the hypervisor has no lock of its
 * own: so for root's VMs too, whose files keep their paths.
 */
struct owner_file {
	const char	*of_key;	/* "disk", "iso", ...: for messages */
	const char	*of_path;	/* as configured */
	int		 of_rw;		/* read/write, else read-only */
	int		 of_lock;	/* a disk: shared if read-only */
};
#define BE_MAXOWNERFILES	32

/*
 * Run-time facts the command line depends on.  Unknown facts are NULL
 * and the backend prints a placeholder (show command without a daemon).
 */
struct be_params {
	const char	*bp_localbase;		/* LOCALBASE */
	const char	*bp_run_dir;		/* per-daemon socket directory */
	const char	*bp_vars_dir;		/* UEFI variable files */
	const char	*bp_com[4];		/* assigned com devices */
	const char	**bp_taps;		/* tap names, one per network */
	size_t		 bp_ntaps;
	int		 bp_install;		/* install mode */
	int		 bp_single_user;	/* bmdctl run -s */
	long		 bp_freebsd_version;	/* __FreeBSD_version of target */
	pid_t		 bp_daemon_pid;
	long long	 bp_nmdm_offset;
	const char	*bp_accel;		/* qemu: "kvm" or "tcg" */
	const char	*bp_qemu_share;		/* firmware dir; NULL: default */
	/* qemu: the tap descriptor of each network in QEMU, -1: none */
	const int	*bp_tap_fds;
	/*
	 * qemu, a user's VM: listening sockets bmd bound, by their number
	 * in QEMU (0: none, QEMU creates the socket at the usual path),
	 * and the UEFI vars file as an fdset (read/write, read-only).
	 */
	int		 bp_fd_qmp;
	int		 bp_fd_com[4];
	const int	*bp_fd_vc;		/* per virtio console */
	int		 bp_fd_vars[2];
	/* bhyve: its programs (NULL: the FreeBSD paths), the loader's tty */
	const char	*bp_bhyve_prog, *bp_bhyvectl_prog;
	const char	*bp_bhyveload_prog, *bp_grub_prog;
	const char	*bp_loader_tty;
	/*
	 * bhyve, a user's VM: the files bmd opened as the owner (paths as
	 * checked) and what each is passed as ("/dev/fd/N").
	 */
	const char	*const *bp_owner_paths;
	const char	*const *bp_owner_as;
	size_t		 bp_nowner;
};

struct backend {
	const char	*be_name;
	/* Backend-specific checks; errors go to diags with key positions. */
	int		(*be_validate)(const struct vm_conf *, struct diags *);
	/* Build every command line of one start. */
	int		(*be_commands)(const struct vm_conf *,
			    const struct be_params *, struct cmdline *,
			    struct diags *);
	/* Does the hypervisor of a user's VM run with the user's rights? */
	int		 be_runs_as_owner;
	/*
	 * A hypervisor that runs as root: for a user's VM, the files it
	 * names (NULL: none are opened by path as root), in the order
	 * bp_owner_as gives them; for root's, the disks to lock; -1 when
	 * there are more than max.
	 */
	int		(*be_owner_files)(const struct vm_conf *,
			    struct owner_file *, size_t max);
	/* Does it boot single-user (bmdctl run -s)? */
	int		 be_single_user;
	/* The socket of a managed com port (show console); NULL: none. */
	char		*(*be_com_socket)(const struct vm_conf *,
			    const char *rundir, int com);
};

extern const struct backend backend_bhyve;
extern const struct backend backend_qemu;

const struct backend *backend_get(int type);	/* enum backend_type */
/*
 * The name a process gets a file of a user's VM by: its descriptor's
 * when bmd opened it as the owner (bmd makes sure that every file of
 * be_owner_files was), else path.
 */
const char *backend_owner_path(const struct be_params *, const char *path);
/* conf_load_opts.lo_validate: the VM's backend checks. */
int	backend_validate_vm(const struct vm_conf *, struct diags *);
/* Errors for explicitly set keys flagged for another backend. */
void	backend_refuse_keys(const struct vm_conf *, unsigned flag,
	    const char *backend, struct diags *);

#endif
