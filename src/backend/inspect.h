/*
 * loadcmd/installcmd = auto: what grub must type to boot an OpenBSD or
 * NetBSD guest, read from its ISO or disk image without mounting it.
 * The images are the guest's: every reader here treats them as hostile.
 */
#ifndef BMD_INSPECT_H
#define BMD_INSPECT_H

#include <stddef.h>
#include <stdint.h>

struct vm_conf;

/*
 * The grub command (no trailing newline) that boots the kernel found on
 * the VM's first ISO (install) or first disk (load); NULL, with why in
 * err, when there is none or the image cannot be read.
 */
char	*inspect_installcmd(const struct vm_conf *, char *err, size_t len);
char	*inspect_loadcmd(const struct vm_conf *, char *err, size_t len);
/*
 * What is typed at grub's prompt for cmd: cmd, a newline, "boot" and a
 * newline; single (bmdctl run -s) adds -s after kopenbsd or knetbsd.
 */
char	*inspect_grub_text(const char *cmd, int single);
/* The same on an open image (fuzzing); com: " -h com0" is wanted. */
char	*inspect_iso_fd(int fd, int com, char *err, size_t len);
char	*inspect_disk_fd(int fd, int com, char *err, size_t len);

/* ---- the readers (inspect_iso.c, inspect_disk.c) ---- */

/* len bytes at off, all of them: 0, else -1. */
int	inspect_read(int fd, uint64_t off, void *buf, size_t len);

/* An ISO 9660 directory entry, named by its Rock Ridge name if any. */
struct iso_ent {
	uint32_t	ie_lba, ie_size;
	int		ie_dir;
	char		ie_name[256];
};
struct iso {
	int		is_fd;
	unsigned	is_skip;	/* SUSP bytes before each entry's own */
	struct iso_ent	is_root;
};

int	iso_open(struct iso *, int fd);
/* fn for each entry of dir but . and ..; stops at fn's non-zero. */
int	iso_list(const struct iso *, const struct iso_ent *dir,
	    int (*fn)(const struct iso_ent *, void *), void *arg);
/* The entry name in dir: 1 found, 0 not, -1 unreadable. */
int	iso_lookup(const struct iso *, const struct iso_ent *dir,
	    const char *name, struct iso_ent *out);

/* A partition of a disk image, numbered as grub and FreeBSD number it. */
struct part {
	uint64_t	p_off;		/* bytes */
	int		p_num;		/* 1.. */
	char		p_kind;		/* 's': MBR slice, 'p': GPT */
};
#define MAX_PARTS	128
int	disk_parts(int fd, struct part *, int max);

/* A UFS1 or UFS2 file system (FreeBSD, OpenBSD and NetBSD FFS). */
struct ufs {
	int		uf_fd;
	uint64_t	uf_base;
	int		uf_v2;
	uint32_t	uf_bsize, uf_fsize, uf_ipg, uf_fpg, uf_iblkno;
	int32_t		uf_cgoffset, uf_cgmask;
	int		uf_oldnames;	/* 4.2BSD directory entries */
};
int	ufs_open(struct ufs *, int fd, uint64_t base);
/* The root directory's entry name: 1 and its mode, 0 none, -1 error. */
int	ufs_root_lookup(const struct ufs *, const char *name, unsigned *mode);

#endif
