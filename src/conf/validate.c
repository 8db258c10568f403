/* VM-level checks run after evaluation; a failure rejects only that VM. */
#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"
#include "keys.h"
#include "load.h"

/* Keys whose presence turns graphics on unless graphics itself is set. */
static void
finalize(struct vm_conf *vc)
{
	static const char *const gkeys[] = { "graphics_listen", "graphics_port",
	    "graphics_res", "graphics_vga", "graphics_password",
	    "graphics_path", NULL };
	size_t i;

	static const struct conf_key *graphics, *implied[8];

	if (graphics == NULL) {		/* the table is fixed once VMs exist */
		graphics = keys_find("graphics");
		for (i = 0; gkeys[i] != NULL; i++)
			implied[i] = keys_find(gkeys[i]);
	}
	if (!key_isset(graphics, vc))
		for (i = 0; implied[i] != NULL; i++)
			if (key_isset(implied[i], vc))
				vc->vc_graphics = 1;
	if (vc->vc_vconsole_np > 0 && vc->vc_vconsole_nc == 0)
		vc->vc_vconsole_nc = 1;
}

/*
 * A VM's files are checked with its owner's rights: for a user's VM,
 * a file the user may not reach answers as the user would see it, never
 * as root does ("exists" and "does not exist" alike behind a closed
 * directory).
 */
static int
stat_owner(const struct vm_conf *vc, const char *path, struct stat *st)
{
	return conf_stat_as(vc->vc_owner, vc->vc_group, path, st);
}

/*
 * Thousands of VMs may boot one kernel or share one image: within a
 * load (conf_validate_begin), the last few answers are remembered, for
 * the same owner and group only.  Per thread: loads run in threads.
 */
#define SEEN_N		4
#define SEEN_PATH	256
static _Thread_local struct seen {
	unsigned	 s_gen;		/* 0: empty */
	uid_t		 s_uid;
	gid_t		 s_gid;
	int		 s_rc, s_errno;
	mode_t		 s_mode;
	char		 s_path[SEEN_PATH];
} seen[SEEN_N];
static _Thread_local unsigned seen_gen, seen_next;

void
conf_validate_begin(void)
{
	if (++seen_gen == 0)
		seen_gen = 1;
}

static struct seen *
seen_find(const struct vm_conf *vc, const char *path)
{
	size_t i;

	for (i = 0; i < SEEN_N; i++)
		if (seen[i].s_gen == seen_gen && seen_gen != 0 &&
		    seen[i].s_uid == vc->vc_owner &&
		    seen[i].s_gid == vc->vc_group &&
		    strcmp(seen[i].s_path, path) == 0)
			return &seen[i];
	return NULL;
}

/* stat_owner, or its answer for the same file earlier in this load */
static int
stat_seen(const struct vm_conf *vc, const char *path, mode_t *mode)
{
	struct seen *s;
	struct stat st;
	int rc;

	if ((s = seen_find(vc, path)) != NULL) {
		*mode = s->s_mode;
		errno = s->s_errno;
		return s->s_rc;
	}
	rc = stat_owner(vc, path, &st);
	*mode = rc == 0 ? st.st_mode : 0;
	if (seen_gen == 0 || strlen(path) >= SEEN_PATH)
		return rc;
	s = &seen[seen_next++ % SEEN_N];
	s->s_gen = seen_gen;
	s->s_uid = vc->vc_owner;
	s->s_gid = vc->vc_group;
	s->s_rc = rc;
	s->s_errno = errno;
	s->s_mode = *mode;
	strcpy(s->s_path, path);
	errno = s->s_errno;
	return rc;
}

static void
check_image(const struct vm_conf *vc, const char *what, const char *path,
    const struct pos *p, struct diags *ds)
{
	mode_t mode;

	if (stat_seen(vc, path, &mode) == -1)
		diag_error(ds, p, "%s %s: %s", what, path,
		    conf_as_strerror(errno));
	else if (!S_ISREG(mode) && !S_ISCHR(mode) && !S_ISBLK(mode))
		diag_error(ds, p, "%s %s: not a regular file or a device",
		    what, path);
}

static void
check_images(const struct vm_conf *vc, struct diags *ds)
{
	const struct conf_disk *d;
	const struct conf_iso *iso;
	size_t i;

	for (i = 0; i < vc->vc_disk.l_n; i++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, i);
		if (!(d->d_flags & DISK_NOEXIST))
			check_image(vc, "disk", d->d_path, &vc->vc_disk.l_pos[i], ds);
	}
	for (i = 0; i < vc->vc_iso.l_n; i++) {
		iso = CLIST_AT(&vc->vc_iso, struct conf_iso, i);
		if (!iso->i_noexist)
			check_image(vc, "iso", iso->i_path, &vc->vc_iso.l_pos[i], ds);
	}
	if (vc->vc_kernel != NULL)
		check_image(vc, "kernel", vc->vc_kernel,
		    key_pos(keys_find("kernel"), vc), ds);
	if (vc->vc_initrd != NULL)
		check_image(vc, "initrd", vc->vc_initrd,
		    key_pos(keys_find("initrd"), vc), ds);
	if (vc->vc_qemu_bios != NULL)
		check_image(vc, "qemu_bios", vc->vc_qemu_bios,
		    key_pos(keys_find("qemu_bios"), vc), ds);
}

static void
check_cpu_pin(const struct vm_conf *vc, struct diags *ds)
{
	const struct conf_cpupin *cp;
	long host;
	size_t i;

	/* glibc reads /sys for this: not for each of 100,000 VMs unpinned */
	if (vc->vc_cpu_pin.l_n == 0)
		return;
	host = sysconf(_SC_NPROCESSORS_CONF);
	for (i = 0; i < vc->vc_cpu_pin.l_n; i++) {
		cp = CLIST_AT(&vc->vc_cpu_pin, struct conf_cpupin, i);
		if (cp->cp_vcpu >= vc->vc_ncpu.nc_cpus)
			diag_error(ds, &vc->vc_cpu_pin.l_pos[i], "\"cpu_pin\": "
			    "vCPU %d does not exist (ncpu is %d)", cp->cp_vcpu,
			    vc->vc_ncpu.nc_cpus);
		if (host > 0 && cp->cp_hostcpu >= host)
			diag_error(ds, &vc->vc_cpu_pin.l_pos[i], "\"cpu_pin\": "
			    "host CPU %d does not exist (this host has %ld)",
			    cp->cp_hostcpu, host);
	}
}

static void
check_chardev(const struct vm_conf *vc, const char *path, const struct pos *p,
    struct diags *ds)
{
	struct stat st;

	if (path != NULL && (stat_owner(vc, path, &st) == -1 ||
	    !S_ISCHR(st.st_mode)))
		diag_error(ds, p, "\"hda\": %s is not a device file", path);
}

int
conf_validate_vm(struct vm_conf *vc, const struct conf_load_opts *opts,
    struct diags *ds)
{
	const struct conf_hda *h;
	size_t nerr = ds->ds_nerrors, i;

	finalize(vc);
	if (vc->vc_memory.m_text == NULL)
		diag_error(ds, &vc->vc_pos, "vm \"%s\": memory is required",
		    vc->vc_name);
	if (opts->lo_check_files)
		check_images(vc, ds);
	check_cpu_pin(vc, ds);
	for (i = 0; i < vc->vc_hda.l_n; i++) {
		h = CLIST_AT(&vc->vc_hda, struct conf_hda, i);
		check_chardev(vc, h->h_play, &vc->vc_hda.l_pos[i], ds);
		check_chardev(vc, h->h_rec, &vc->vc_hda.l_pos[i], ds);
	}
	if (opts->lo_validate != NULL)
		opts->lo_validate(vc, ds);
	return ds->ds_nerrors == nerr ? 0 : -1;
}
