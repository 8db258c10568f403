/* The resolved configuration: typed VM and global settings, and loading. */
#ifndef BMD_CONF_H
#define BMD_CONF_H

#include <stdint.h>
#include <sys/types.h>

#include "diag.h"

#ifndef LOCALBASE
#define LOCALBASE "/usr/local"
#endif

/* A list-valued key: n items of the key type's item size. */
struct clist {
	size_t		 l_n;
	void		*l_v;
	struct pos	*l_pos;		/* as vc_kpos: else NULL */
};
#define CLIST_AT(l, type, i)	(&((type *)(l)->l_v)[i])

enum disk_type { DISK_VIRTIO_BLK, DISK_AHCI, DISK_AHCI_HD, DISK_NVME };
#define DISK_NOCACHE	0x01
#define DISK_DIRECT	0x02
#define DISK_READONLY	0x04
#define DISK_NODELETE	0x08
#define DISK_NOEXIST	0x10

struct conf_disk {
	enum disk_type	 d_type;
	unsigned	 d_flags;
	char		*d_path;
};

struct conf_iso {
	int		 i_noexist;
	char		*i_path;	/* type is always ahci-cd */
};

enum net_type { NET_VIRTIO, NET_E1000 };

struct conf_net {
	enum net_type	 n_type;
	int		 n_wol;
	int		 n_hasmac;
	uint8_t		 n_mac[6];
	char		*n_bridge;	/* "none", "valeX" or a bridge name */
};

struct conf_sharefs {
	int		 sf_readonly;
	char		*sf_name;
	char		*sf_path;
};

struct conf_cpupin {
	int		 cp_vcpu;
	int		 cp_hostcpu;
};

struct conf_hda {
	char		*h_play;	/* NULL when not given */
	char		*h_rec;
};

enum tpm_type { TPM_PASSTHRU, TPM_SWTPM };

struct conf_tpm {
	int		 t_set;
	enum tpm_type	 t_type;
	char		*t_dev;
	char		*t_version;	/* NULL when not given */
};

struct conf_ncpu {
	int		 nc_cpus;	/* sockets * cores * threads */
	int		 nc_sockets, nc_cores, nc_threads;
};

struct conf_memory {
	uint64_t	 m_bytes;
	char		*m_text;	/* as written: bhyve gets it verbatim */
};

/* One value of a per-user limit: for everyone, a user or a @group. */
#define LIMIT_NONE	(-1LL)
struct conf_limit {
	char		*lm_who;	/* NULL: every user; NAME or @GROUP */
	unsigned long	 lm_id;		/* its uid or gid, found at load */
	long long	 lm_value;	/* LIMIT_NONE: unlimited */
	char		*lm_text;	/* as written */
};

/* A user or a group given a right (console_viewers, console_writers). */
struct conf_who {
	int		 cw_group;	/* cw_id is a gid, else a uid */
	unsigned	 cw_id;
	char		*cw_text;	/* USER or @GROUP, as written */
};

/* A serial port: what bmd does with it depends only on the kind. */
enum com_kind {
	COM_NONE,		/* not configured */
	COM_AUTO,		/* bmd's console broker (QEMU socket, nmdm) */
	COM_STDIO,		/* the hypervisor's own stdio (bmdctl run) */
	COM_TCP,		/* a TCP server of the hypervisor */
	COM_DEV			/* a device or socket path given by the user */
};

struct conf_com {
	enum com_kind	 cm_kind;
	char		*cm_text;	/* as written; COM_DEV: the path */
	char		*cm_host;	/* COM_TCP, without [] */
	int		 cm_port;	/* COM_TCP */
};

struct conf_res {
	int		 r_width, r_height;
};

enum boot_mode { BOOT_NO, BOOT_YES, BOOT_ONESHOT, BOOT_ALWAYS };
enum hostbridge { HB_NONE, HB_STANDARD, HB_INTEL, HB_AMD };
enum backend_type { BACKEND_QEMU, BACKEND_BHYVE };
enum accel_type { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };

/*
 * One VM's resolved configuration.  Built-in keys live in named fields,
 * reached generically through the key table (keys.c) by offset; keys
 * registered at run time (plugins) live in vc_extra.
 */
struct vm_conf {
	char		*vc_name;
	char		*vc_section;	/* the vm section's name */
	int		 vc_id;
	char		*vc_idkey;	/* what the ID is kept under */
	const char	*vc_file;	/* interned path of the vm section */
	struct pos	 vc_pos;	/* the vm keyword */
	uid_t		 vc_owner;
	gid_t		 vc_group;	/* (gid_t)-1: none */
	char		*vc_owner_name;
	char		*vc_group_name;	/* NULL: none */

	/* hypervisor and firmware */
	int		 vc_backend;		/* enum backend_type */
	char		*vc_loader;		/* NULL: backend default */
	int		 vc_accel;		/* enum accel_type */
	char		*vc_qemu_binary;
	char		*vc_qemu_machine;
	char		*vc_qemu_cpu;
	char		*vc_qemu_arch;		/* qemu-system-ARCH */
	char		*vc_qemu_bios;		/* -bios FILE */
	char		*vc_kernel;
	char		*vc_initrd;
	char		*vc_cmdline;
	char		*vc_bhyveload_loader;
	struct clist	 vc_bhyveload_env;	/* char * */
	struct clist	 vc_bhyve_env;		/* char * */
	char		*vc_loadcmd;
	char		*vc_installcmd;
	char		*vc_grub_run_partition;
	long long	 vc_loader_timeout;

	/* machine */
	struct conf_ncpu vc_ncpu;
	struct clist	 vc_cpu_pin;		/* struct conf_cpupin */
	struct conf_memory vc_memory;
	int		 vc_wired_memory;
	int		 vc_utctime;
	int		 vc_x2apic;
	int		 vc_hostbridge;		/* enum hostbridge */
	int		 vc_virt_random;
	char		*vc_debug_port;
	struct clist	 vc_passthru;		/* char * */
	struct conf_tpm	 vc_tpm;
	struct clist	 vc_hda;		/* struct conf_hda */

	/* storage and network */
	struct clist	 vc_disk;		/* struct conf_disk */
	struct clist	 vc_iso;		/* struct conf_iso */
	struct clist	 vc_network;		/* struct conf_net */
	struct clist	 vc_sharefs;		/* struct conf_sharefs */

	/* consoles */
	struct conf_com	 vc_com[4];		/* com1..com4 */
	long long	 vc_vconsole_nc;
	long long	 vc_vconsole_np;
	char		*vc_vconsole_tmpl;
	char		*vc_console_logfile;
	long long	 vc_console_log_mark;	/* seconds; 0: no marks */
	struct conf_memory vc_console_logfile_max; /* 0: no rotation */
	long long	 vc_console_logfile_keep;
	struct clist	 vc_console_viewers;	/* struct conf_who */
	struct clist	 vc_console_writers;	/* struct conf_who */

	/* graphics */
	int		 vc_graphics;
	char		*vc_graphics_listen;
	long long	 vc_graphics_port;
	char		*vc_graphics_path;
	char		*vc_graphics_password;
	struct conf_res	 vc_graphics_res;
	char		*vc_graphics_vga;
	int		 vc_graphics_wait;
	char		*vc_keymap;
	int		 vc_xhci_mouse;

	/* life cycle */
	int		 vc_boot;		/* enum boot_mode */
	long long	 vc_boot_delay;
	int		 vc_install;
	int		 vc_reboot_on_change;
	long long	 vc_stop_timeout;
	char		*vc_err_logfile;
	int		 vc_single_user;	/* not a key: bmdctl run -s */

	unsigned char	*vc_set;		/* per key index: explicitly set */
	struct pos	*vc_kpos;		/* per key index: last assignment;
						   while loading, or lo_origins */
	struct conf_origins *vc_origins;	/* lo_origins only, else NULL */
	void		*vc_extra;		/* storage of run-time keys */
};

/* Global settings (root-owned global sections; first value wins). */
struct global_conf {
	char		*gc_cmd_socket_path;
	char		*gc_cmd_socket_mode;	/* octal or symbolic, as written */
	char		*gc_vars_directory;
	long long	 gc_nmdm_offset;
	char		*gc_pid_file;
	char		*gc_plugin_directory;
	char		*gc_run_directory;
	char		*gc_cgroup;		/* VMs' groups below it; NULL: none */
	struct conf_memory gc_console_buffer;	/* scrollback per serial port */
	struct clist	 gc_user_bridges;	/* char *: bridges for users */
	long long	 gc_freebsd_version;	/* bhyve target release */
	/* what peers may hold; each user other than root, and in all */
	long long	 gc_max_connections, gc_max_connections_per_user;
	long long	 gc_max_consoles, gc_max_consoles_per_user;
	/* what the running VMs of one owner other than root may add up to */
	struct clist	 gc_max_vms_pu;		/* struct conf_limit */
	struct clist	 gc_max_memory_pu;	/* struct conf_limit, bytes */
	struct clist	 gc_max_ncpu_pu;	/* struct conf_limit */
	/* bhyve's programs; NULL: the FreeBSD paths (bhyve.c) */
	char		*gc_bhyve_program, *gc_bhyvectl_program;
	char		*gc_bhyveload_program, *gc_grub_bhyve_program;
	unsigned char	*gc_set;
};

/* The result of one load: global settings and the accepted VMs in file order. */
struct conf {
	struct global_conf	 c_global;
	struct vm_conf		**c_vms;
	size_t			 c_nvms;
	int			 c_fatal;	/* syntax error etc.: reject all */
	/*
	 * What is in the text but could not be loaded, so that a reload
	 * can tell "invalid now" (keep the running VM) from "removed".
	 */
	char			**c_rejected;	/* names and section names */
	size_t			  c_nrejected;
	void			 *c_rejidx;	/* the same as a set */
	char			**c_badfiles;	/* files that could not be read */
	size_t			  c_nbadfiles;	/* (or users' that did not parse) */
	/* Errors of users' files that were left out whole (not fatal). */
	size_t			  c_nusererrors;
	size_t			  c_nevaluated;	/* vm sections evaluated */
	/* VMs accepted: c_nvms, or with lo_discard_vms those counted */
	size_t			  c_naccepted;
	/* names two users define, given by file order (no lo_holder) */
	size_t			  c_contested;
};

/* VM names (vmname.c): NULL when valid, else the reason. */
#define CONF_NAME_MAX		64
#define CONF_NAME_MAX_STR	"64"
const char	*conf_vm_name_problem(const char *);

/* Name -> ID map kept by the daemon for its lifetime (IDs never reused). */
struct idmap;
struct idmap	*idmap_new(void);
void		 idmap_free(struct idmap *);
int		 idmap_get(struct idmap *, const char *name);
int		 idmap_find(const struct idmap *, const char *name);
void		 idmap_set(struct idmap *, const char *name, int id);
size_t		 idmap_count(const struct idmap *);
void		 idmap_each(const struct idmap *,
		    void (*)(const char *, int, void *), void *);

struct conf_load_opts {
	const char	*lo_path;	/* main file */
	struct idmap	*lo_ids;	/* NULL: a fresh map */
	int		 lo_check_files;	/* validate image paths exist */
	/* Backend checks, supplied by the program (conf does not link them). */
	int		(*lo_validate)(const struct vm_conf *, struct diags *);
	/*
	 * Only the global sections matter (bmdctl looking for the socket):
	 * vm and template sections are passed over unchecked, not built
	 * (ast_parse_globals), and lo_cache is not used.
	 */
	int		 lo_globals_only;
	/* Record where every value comes from (show config --origin). */
	int		 lo_origins;
	/* Files parsed by earlier loads of the caller; NULL: none. */
	struct conf_cache *lo_cache;
	/*
	 * Only the VM of this vm section is wanted (boot): when no other
	 * section can change it (eval.c), the others are not evaluated and
	 * c_vms has it alone.
	 */
	const char	*lo_only;
	/*
	 * Only check (bmd -n): each VM is validated, counted in c_naccepted
	 * and freed at once, so that a check's memory does not grow with
	 * what the VMs hold; c_vms stays empty.  The diagnostics are those
	 * of a full load: the checks across VMs (names, IDs) need no VM.
	 */
	int		 lo_discard_vms;
	/*
	 * Who has a VM name now (the daemon's table; NULL: nobody knows):
	 * 1 and *owner when a user's VM has it.  Two users' files defining
	 * one name: the name stays with the user who has it, whatever the
	 * include order.  Called from the loading thread.
	 */
	int		(*lo_holder)(const char *name, uid_t *owner);
};

/*
 * A daemon's loads keep the parsed text of each file and reuse it while
 * the file is unchanged (same device, inode, size, owner, mode, mtime
 * and ctime): only changed files are read and parsed again.  One load
 * at a time may use a cache.
 */
struct conf_cache;
struct conf_cache_stats {
	size_t		 cs_parsed;	/* files read and parsed */
	size_t		 cs_reused;	/* unchanged files not read */
};
struct conf_cache *conf_cache_new(void);
void		 conf_cache_free(struct conf_cache *);
/* What the last load did. */
void		 conf_cache_stats(const struct conf_cache *,
		    struct conf_cache_stats *);
/* Tests: how old a file must be for its times to tell the next change. */
void		 conf_cache_set_margin(struct conf_cache *, long ms);

/*
 * Load and resolve a configuration.  Every problem goes to diags.  A
 * syntax error in root's files sets c_fatal (nothing may be applied); a
 * user's file that does not parse is left out whole (c_badfiles);
 * otherwise a VM with any error is left out and the others are returned.
 */
struct conf	*conf_load(const struct conf_load_opts *, struct diags *);
struct conf	*conf_load_buffer(const char *path, const char *data,
		    size_t len, const struct conf_load_opts *, struct diags *);
void		 conf_free(struct conf *);
/* Fuzzing: evaluate .include patterns but never read the files. */
void		 conf_set_follow_includes(int);
struct vm_conf	*conf_find_vm(const struct conf *, const char *name);
int		 conf_rejected(const struct conf *, const char *name);
int		 conf_file_failed(const struct conf *, const char *path);
void		 conf_add_rejected(struct conf *, const char *name);

void		 vm_conf_free(struct vm_conf *);
void		 conf_com_set(struct conf_com *, const char *);
void		 conf_com_clear(struct conf_com *);
struct vm_conf	*vm_conf_dup(const struct vm_conf *);
int		 vm_conf_equal(const struct vm_conf *, const struct vm_conf *);

/* "0660" or "ug=rw" to a mode; -1 if invalid. */
int		 conf_parse_mode(const char *, unsigned *);

/* Derived views used by backends. */
const char	*conf_boot_name(int);
const char	*conf_hostbridge_name(int);
const char	*conf_backend_name(int);
const char	*conf_disk_type_name(enum disk_type);
const char	*conf_net_type_name(enum net_type);
void		 conf_mac_format(const uint8_t mac[6], char out[18]);

/* network.c: networks of a VM */
#define CONF_TAPNAMSIZ	16	/* IFNAMSIZ on Linux and FreeBSD */
/* The stable MAC of NIC index of a VM without a configured one. */
void		 conf_net_mac(const char *vmname, size_t index, uint8_t mac[6]);
/* The MAC NIC i of vc gets: the configured one, else conf_net_mac. */
void		 conf_net_guest_mac(const struct vm_conf *, size_t i,
		    uint8_t mac[6]);
/* "bmd<ID>n<INDEX>"; -1 if it does not fit in CONF_TAPNAMSIZ. */
int		 conf_net_tap_name(int id, size_t index, char *, size_t);
/* Non-root owners may only join the bridges of user_bridges. */
int		 conf_check_user_bridges(const struct vm_conf *,
		    const struct global_conf *, struct diags *);

#endif
