/*
 * loadcmd/installcmd = auto: the grub command that boots the OpenBSD or
 * NetBSD kernel of a VM's ISO or disk.  The images are read here, never
 * mounted: no root, no md(4), and nothing of the guest's reaches the
 * host's mount table.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "inspect.h"
#include "xmalloc.h"

#define COM0	" -h com0"
#define S_IXUSR_BIT	0100

/* "7.5": a directory named like an OpenBSD release. */
static int
is_release(const char *s)
{
	const char *dot = strchr(s, '.');
	size_t a, b;

	if (dot == NULL)
		return 0;
	a = strspn(s, "0123456789");
	b = strspn(dot + 1, "0123456789");
	return a > 0 && s + a == dot && b > 0 && dot[1 + b] == '\0';
}

struct release {
	const struct iso *rl_iso;
	char		  rl_path[600];
};

/* An OpenBSD install kernel: RELEASE/{amd64,i386}/bsd.rd. */
static int
release_kernel(const struct iso_ent *e, void *arg)
{
	static const char *const archs[] = { "amd64", "i386" };
	struct release *rl = arg;
	struct iso_ent arch, k;
	size_t i;

	if (!e->ie_dir || !is_release(e->ie_name))
		return 0;
	for (i = 0; i < 2; i++)
		if (iso_lookup(rl->rl_iso, e, archs[i], &arch) == 1 &&
		    arch.ie_dir &&
		    iso_lookup(rl->rl_iso, &arch, "bsd.rd", &k) == 1 &&
		    !k.ie_dir) {
			snprintf(rl->rl_path, sizeof(rl->rl_path), "/%s/%s/bsd.rd",
			    e->ie_name, archs[i]);
			return 1;
		}
	return 0;
}

char *
inspect_iso_fd(int fd, int com, char *err, size_t len)
{
	struct iso is;
	struct iso_ent k;
	struct release rl;

	if (iso_open(&is, fd) == -1) {
		snprintf(err, len, "not an ISO 9660 image");
		return NULL;
	}
	if (iso_lookup(&is, &is.is_root, "netbsd", &k) == 1 && !k.ie_dir)
		return xprintf("knetbsd%s -r cd0a /netbsd", com ? COM0 : "");
	rl.rl_iso = &is;
	if (iso_list(&is, &is.is_root, release_kernel, &rl) == 1)
		return xprintf("kopenbsd%s %s", com ? COM0 : "", rl.rl_path);
	snprintf(err, len, "neither a NetBSD kernel (/netbsd) nor an OpenBSD "
	    "install kernel (/RELEASE/amd64/bsd.rd) is on it");
	return NULL;
}

/*
 * One partition's kernel, in the order of the OpenBSD and NetBSD boot
 * loaders: /netbsd; /bsd.upgrade while it is executable (OpenBSD's boot
 * loader clears that bit once it has booted it); /bsd.
 */
static char *
part_kernel(const struct ufs *u, const struct part *p, int com)
{
	const char *h = com ? COM0 : "";
	unsigned mode;

	if (ufs_root_lookup(u, "netbsd", &mode) == 1)
		return xprintf("knetbsd%s -r dk0a (hd0,%d)/netbsd", h, p->p_num);
	if (ufs_root_lookup(u, "bsd.upgrade", &mode) == 1 &&
	    (mode & S_IXUSR_BIT))
		return xprintf("kopenbsd%s -r sd0a (hd0,%d)/bsd.upgrade", h,
		    p->p_num);
	if (ufs_root_lookup(u, "bsd", &mode) == 1)
		return xprintf("kopenbsd%s -r sd0a (hd0,%d)/bsd", h, p->p_num);
	return NULL;
}

char *
inspect_disk_fd(int fd, int com, char *err, size_t len)
{
	struct part p[MAX_PARTS];
	struct ufs u;
	char *cmd, tried[256] = "";
	size_t n = 0;
	int np, i;

	if ((np = disk_parts(fd, p, MAX_PARTS)) == 0) {
		snprintf(err, len, "no MBR or GPT partition table");
		return NULL;
	}
	for (i = 0; i < np; i++) {
		if (ufs_open(&u, fd, p[i].p_off) == -1)
			continue;
		if ((cmd = part_kernel(&u, &p[i], com)) != NULL)
			return cmd;
		if (n < sizeof(tried))
			n += (size_t)snprintf(tried + n, sizeof(tried) - n,
			    " %c%d", p[i].p_kind, p[i].p_num);
	}
	if (n == 0)
		snprintf(err, len, "no partition holds a UFS file system");
	else
		snprintf(err, len, "no /netbsd, /bsd.upgrade or /bsd at the "
		    "root of its UFS partitions (%s)", tried + 1);
	return NULL;
}

/* An image to read: a file or a device, never a FIFO or a socket. */
static int
image_open(const char *path, char *err, size_t len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd == -1) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !(S_ISREG(st.st_mode) ||
	    S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode))) {
		snprintf(err, len, "%s: not a file or a disk device", path);
		close(fd);
		return -1;
	}
	return fd;
}

static char *
inspect_path(const char *path, int com, int disk, char *err, size_t len)
{
	char why[256];
	char *cmd;
	int fd;

	if ((fd = image_open(path, err, len)) == -1)
		return NULL;
	cmd = disk ? inspect_disk_fd(fd, com, why, sizeof(why)) :
	    inspect_iso_fd(fd, com, why, sizeof(why));
	close(fd);
	if (cmd == NULL)
		snprintf(err, len, "%s: %s", path, why);
	return cmd;
}

char *
inspect_grub_text(const char *cmd, int single)
{
	static const char *const words[] = { "kopenbsd ", "knetbsd " };
	size_t i, n;

	for (i = 0; single && i < 2; i++) {
		n = strlen(words[i]);
		if (strncmp(cmd, words[i], n) == 0)
			return xprintf("%s-s %s\nboot\n", words[i], cmd + n);
	}
	return xprintf("%s\nboot\n", cmd);
}

char *
inspect_installcmd(const struct vm_conf *vc, char *err, size_t len)
{
	const struct conf_iso *is;

	if (vc->vc_iso.l_n == 0) {
		snprintf(err, len, "the VM has no iso to inspect");
		return NULL;
	}
	is = CLIST_AT(&vc->vc_iso, struct conf_iso, 0);
	return inspect_path(is->i_path, vc->vc_com[0].cm_kind != COM_NONE, 0,
	    err, len);
}

char *
inspect_loadcmd(const struct vm_conf *vc, char *err, size_t len)
{
	const struct conf_disk *d;

	if (vc->vc_disk.l_n == 0) {
		snprintf(err, len, "the VM has no disk to inspect");
		return NULL;
	}
	d = CLIST_AT(&vc->vc_disk, struct conf_disk, 0);
	return inspect_path(d->d_path, vc->vc_com[0].cm_kind != COM_NONE, 1,
	    err, len);
}
