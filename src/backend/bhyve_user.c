/* What a user's bhyve VM may hand to bhyve and its loaders (root). */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "keys.h"

/* bhyve_user.c (used by bhyve.c only, hence no header). */
int	bhyve_check_user_values(const struct vm_conf *, struct diags *);
int	bhyve_owner_files(const struct vm_conf *, struct owner_file *,
	    size_t);

/*
 * bhyve's device options are comma-separated with no way to escape a
 * comma, and grub's device map is one line per device: a comma or a
 * control character in a value would add an option or a device of the
 * user's choosing to a process that runs as root.
 */
static void
check_value(const struct vm_conf *vc, const char *key, const char *v,
    struct diags *ds)
{
	const unsigned char *p;

	if (v == NULL)
		return;
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p == ',' || *p < 0x20 || *p == 0x7f)
			break;
	if (*p == '\0')
		return;
	diag_error(ds, key_pos(keys_find(key), vc), "%s: bhyve runs as root: "
	    "in a user's VM a value may not contain %s", key, *p == ',' ?
	    "a comma (bhyve would read it as another option)" :
	    "a control character");
}

static void
check_lists(const struct vm_conf *vc, struct diags *ds)
{
	const struct conf_disk *d;
	const struct conf_iso *is;
	const struct conf_hda *h;
	size_t i;

	for (i = 0; i < vc->vc_disk.l_n; i++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, i);
		check_value(vc, "disk", d->d_path, ds);
	}
	for (i = 0; i < vc->vc_iso.l_n; i++) {
		is = CLIST_AT(&vc->vc_iso, struct conf_iso, i);
		check_value(vc, "iso", is->i_path, ds);
	}
	for (i = 0; i < vc->vc_hda.l_n; i++) {
		h = CLIST_AT(&vc->vc_hda, struct conf_hda, i);
		check_value(vc, "hda", h->h_play, ds);
		check_value(vc, "hda", h->h_rec, ds);
	}
}

/*
 * grub-bhyve, as root, offers the guest's console a "(host)" device that
 * reads the host's files: a user's VM must not reach its prompt.
 */
static void
check_loader(const struct vm_conf *vc, struct diags *ds)
{
	if (vc->vc_loader != NULL && strcmp(vc->vc_loader, "grub") == 0)
		diag_error(ds, key_pos(keys_find("loader"), vc), "loader: "
		    "grub-bhyve runs as root and its (host) device reads the "
		    "host's files: a user's VM may use bhyveload, uefi or csm");
}

int
bhyve_check_user_values(const struct vm_conf *vc, struct diags *ds)
{
	static const char *const vgas[] = { "on", "off", "io" };
	size_t before = ds->ds_nerrors, i;
	char key[8];

	check_lists(vc, ds);
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "com%zu", i + 1);
		check_value(vc, key, vc->vc_com[i].cm_text, ds);
	}
	check_value(vc, "graphics_path", vc->vc_graphics_path, ds);
	check_value(vc, "graphics_listen", vc->vc_graphics_listen, ds);
	check_value(vc, "graphics_password", vc->vc_graphics_password, ds);
	check_value(vc, "keymap", vc->vc_keymap, ds);
	check_value(vc, "tpm", vc->vc_tpm.t_dev, ds);
	check_value(vc, "tpm", vc->vc_tpm.t_version, ds);
	check_value(vc, "virt_console_template", vc->vc_vconsole_tmpl, ds);
	check_value(vc, "bhyveload_loader", vc->vc_bhyveload_loader, ds);
	check_value(vc, "grub_run_partition", vc->vc_grub_run_partition, ds);
	for (i = 0; vc->vc_graphics_vga != NULL && i < 3; i++)
		if (strcmp(vc->vc_graphics_vga, vgas[i]) == 0)
			break;
	if (i == 3)
		diag_error(ds, key_pos(keys_find("graphics_vga"), vc),
		    "graphics_vga: \"%s\" is not on, off or io",
		    vc->vc_graphics_vga);
	check_loader(vc, ds);
	return ds->ds_nerrors > before ? -1 : 0;
}

/* One more file, if there is room: 0, or -1 when there is none. */
static int
add_file(struct owner_file *of, size_t *n, size_t max, const char *key,
    const char *path, int rw)
{
	if (path == NULL || *path == '\0')
		return 0;
	if (*n == max)
		return -1;
	of[*n].of_key = key;
	of[*n].of_path = path;
	of[*n].of_rw = rw;
	of[*n].of_lock = strcmp(key, "disk") == 0;
	(*n)++;
	return 0;
}

/*
 * Root's VM: its disks, which bhyve does not lock, to be locked while it
 * runs (not one that may not exist yet: a prestart hook may make it).
 */
static int
root_disks(const struct vm_conf *vc, struct owner_file *of, size_t max)
{
	const struct conf_disk *d;
	size_t i, n = 0;
	int rc = 0;

	for (i = 0; i < vc->vc_disk.l_n; i++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, i);
		if (!(d->d_flags & DISK_NOEXIST))
			rc |= add_file(of, &n, max, "disk", d->d_path,
			    !(d->d_flags & DISK_READONLY));
	}
	return rc == 0 ? (int)n : -1;
}

/*
 * What bhyve and bhyveload open by path for a user's VM: disks, ISOs,
 * the com devices she names, sound devices, a TPM device.  (A swtpm
 * socket is connected to, not opened: bhyve reaches only her swtpm.)
 */
int
bhyve_owner_files(const struct vm_conf *vc, struct owner_file *of,
    size_t max)
{
	const struct conf_disk *d;
	const struct conf_iso *is;
	const struct conf_hda *h;
	size_t i, n = 0;
	int rc = 0;

	if (vc->vc_owner == 0)
		return root_disks(vc, of, max);
	for (i = 0; i < vc->vc_disk.l_n; i++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, i);
		rc |= add_file(of, &n, max, "disk", d->d_path,
		    !(d->d_flags & DISK_READONLY));
	}
	for (i = 0; i < vc->vc_iso.l_n; i++) {
		is = CLIST_AT(&vc->vc_iso, struct conf_iso, i);
		rc |= add_file(of, &n, max, "iso", is->i_path, 0);
	}
	for (i = 0; i < 4; i++)
		if (vc->vc_com[i].cm_kind == COM_DEV)
			rc |= add_file(of, &n, max, "com", vc->vc_com[i].cm_text,
			    1);
	for (i = 0; i < vc->vc_hda.l_n; i++) {
		h = CLIST_AT(&vc->vc_hda, struct conf_hda, i);
		rc |= add_file(of, &n, max, "hda", h->h_play, 1);
		rc |= add_file(of, &n, max, "hda", h->h_rec, 1);
	}
	if (vc->vc_tpm.t_set && vc->vc_tpm.t_type == TPM_PASSTHRU)
		rc |= add_file(of, &n, max, "tpm", vc->vc_tpm.t_dev, 1);
	return rc == 0 ? (int)n : -1;
}
