/* The bhyve backend's PCI devices: the -s slots of spec 2.4, item 11. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE		/* getentropy(3) on glibc */
#endif

#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"

#define PCI_NSLOTS		32
#define VCONSOLE_DIR		"/var/run"
#define VCONSOLE_PORT		"virt_console%n"
/* The kernel names a tap when it is created; show command prints this. */
#define TAP_UNKNOWN		"tap?"
#define RANDOM_UNKNOWN		"XXXXXXXX"
#define RANDOM_LEN		8

/*
 * Shared with bhyve.c only, hence no header; bhyve.c repeats these two
 * prototypes word for word.
 */
size_t	bhyve_ndevices(const struct vm_conf *);
size_t	bhyve_slots(const struct vm_conf *, const struct be_params *,
	    struct argv *);

static const char *const disk_types[] = {
	[DISK_VIRTIO_BLK] = "virtio-blk",
	[DISK_AHCI] = "ahci",
	[DISK_AHCI_HD] = "ahci-hd",
	[DISK_NVME] = "nvme",
};

static const char *const net_types[] = {
	[NET_VIRTIO] = "virtio-net",
	[NET_E1000] = "e1000",
};

/* The PCI device list under construction. */
struct slots {
	const struct vm_conf	*s_vc;
	const struct be_params	*s_bp;
	/* Without a daemon (show command) %r prints a placeholder. */
	int			 s_placeholders;
	struct argv		*s_av;
	size_t			 s_n;	/* devices emitted so far */
	struct buf		 s_spec;	/* the device being built */
};

static const char *
name_of(const char *const *names, size_t n, int v, const char *def)
{
	if (v < 0 || (size_t)v >= n || names[v] == NULL)
		return def;
	return names[v];
}

#define NAME_OF(tab, v)	\
	name_of((tab), sizeof(tab) / sizeof((tab)[0]), (int)(v), (tab)[0])

static size_t
vcon_ncontrollers(const struct vm_conf *vc)
{
	if (vc->vc_vconsole_nc > 0)
		return (size_t)vc->vc_vconsole_nc;
	/* Ports need a controller even when none was asked for. */
	return vc->vc_vconsole_np > 0 ? 1 : 0;
}

/* The PCI devices bhyve_slots() emits; validation needs the count alone. */
size_t
bhyve_ndevices(const struct vm_conf *vc)
{
	return (vc->vc_hostbridge != HB_NONE) + 1 +
	    (vc->vc_virt_random != 0) +
	    vc->vc_disk.l_n + vc->vc_iso.l_n + vc->vc_sharefs.l_n +
	    vc->vc_network.l_n + vc->vc_passthru.l_n + vc->vc_hda.l_n +
	    vcon_ncontrollers(vc) +
	    (vc->vc_graphics != 0) + (vc->vc_xhci_mouse != 0);
}

/* Eight characters of [0-9A-Za-z], or the placeholder. */
static void
random_word(char out[RANDOM_LEN + 1], int placeholder)
{
	static const char chars[] = "0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char pool[32];
	size_t i = 0, j;

	while (!placeholder && i < RANDOM_LEN) {
		if (getentropy(pool, sizeof(pool)) == -1)
			break;
		/* 248 = 4 * 62: dropping larger bytes avoids modulo bias. */
		for (j = 0; j < sizeof(pool) && i < RANDOM_LEN; j++)
			if (pool[j] < 248)
				out[i++] = chars[pool[j] % 62];
	}
	if (i < RANDOM_LEN)
		memcpy(out, RANDOM_UNKNOWN, RANDOM_LEN);
	out[RANDOM_LEN] = '\0';
}

/*
 * One virtio-console port spec (spec 4.7): the template without
 * whitespace, with %c %p %n %r %% replaced and any other %x kept.
 */
static void
vcon_expand(struct buf *out, const char *tmpl, size_t c, size_t p,
    size_t n, int placeholder)
{
	struct buf t;
	const char *s;
	char rnd[RANDOM_LEN + 1];

	buf_init(&t);
	for (s = tmpl; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			buf_addc(&t, *s);
	for (s = buf_str(&t); *s != '\0'; s++) {
		if (*s != '%' || s[1] == '\0') {
			buf_addc(out, *s);
			continue;
		}
		switch (*++s) {
		case 'c':
			buf_printf(out, "%zu", c);
			break;
		case 'p':
			buf_printf(out, "%zu", p);
			break;
		case 'n':
			buf_printf(out, "%zu", n);
			break;
		case 'r':
			random_word(rnd, placeholder);
			buf_adds(out, rnd);
			break;
		case '%':
			buf_addc(out, '%');
			break;
		default:
			buf_addc(out, '%');
			buf_addc(out, *s);
			break;
		}
	}
	buf_free(&t);
}

/*
 * A template without "=" names the port only; the default socket path
 * follows.  It is formatted, not expanded, so that a VM name holding
 * "%" or blanks stays intact.
 */
static void
vcon_port(const struct slots *s, struct buf *out, size_t c, size_t p,
    size_t n)
{
	const struct vm_conf *vc = s->s_vc;
	const char *tmpl;

	tmpl = vc->vc_vconsole_tmpl != NULL ? vc->vc_vconsole_tmpl :
	    VCONSOLE_PORT;
	vcon_expand(out, tmpl, c, p, n, s->s_placeholders);
	if (strchr(tmpl, '=') == NULL)
		buf_printf(out, "=" VCONSOLE_DIR "/vc-%s%zu.sock", vc->vc_name,
		    n);
}

/* Emit the device in s_spec at the next index. */
static void
slot_emit(struct slots *s)
{
	argv_add(s->s_av, "-s");
	argv_addf(s->s_av, "%zu:%zu:0,%s", s->s_n / PCI_NSLOTS,
	    s->s_n % PCI_NSLOTS, buf_str(&s->s_spec));
	s->s_n++;
	buf_reset(&s->s_spec);
}

static void
slot_add(struct slots *s, const char *spec)
{
	buf_adds(&s->s_spec, spec);
	slot_emit(s);
}

static void
slots_storage(const struct vm_conf *vc, struct slots *s)
{
	const struct conf_disk *d;
	const struct conf_iso *iso;
	const struct conf_sharefs *sf;
	size_t i;

	for (i = 0; i < vc->vc_disk.l_n; i++) {
		d = CLIST_AT(&vc->vc_disk, struct conf_disk, i);
		buf_printf(&s->s_spec, "%s,%s", NAME_OF(disk_types, d->d_type),
		    backend_owner_path(s->s_bp, d->d_path));
		if (d->d_flags & DISK_NOCACHE)
			buf_adds(&s->s_spec, ",nocache");
		if (d->d_flags & DISK_DIRECT)
			buf_adds(&s->s_spec, ",direct");
		if (d->d_flags & DISK_READONLY)
			buf_adds(&s->s_spec, ",ro");
		if (d->d_flags & DISK_NODELETE)
			buf_adds(&s->s_spec, ",nodelete");
		slot_emit(s);
	}
	for (i = 0; i < vc->vc_iso.l_n; i++) {
		iso = CLIST_AT(&vc->vc_iso, struct conf_iso, i);
		buf_printf(&s->s_spec, "ahci-cd,%s",
		    backend_owner_path(s->s_bp, iso->i_path));
		slot_emit(s);
	}
	for (i = 0; i < vc->vc_sharefs.l_n; i++) {
		sf = CLIST_AT(&vc->vc_sharefs, struct conf_sharefs, i);
		buf_printf(&s->s_spec, "virtio-9p,%s=%s%s", sf->sf_name,
		    sf->sf_path, sf->sf_readonly ? ",ro" : "");
		slot_emit(s);
	}
}

/* Taps are indexed by network position; vale entries leave a hole. */
static const char *
tap_name(const struct be_params *bp, size_t i)
{
	if (bp->bp_taps != NULL && i < bp->bp_ntaps && bp->bp_taps[i] != NULL)
		return bp->bp_taps[i];
	return TAP_UNKNOWN;
}

static void
slots_network(struct slots *s)
{
	const struct vm_conf *vc = s->s_vc;
	const struct conf_net *n;
	const uint8_t *m;
	size_t i;

	for (i = 0; i < vc->vc_network.l_n; i++) {
		n = CLIST_AT(&vc->vc_network, struct conf_net, i);
		buf_printf(&s->s_spec, "%s,", NAME_OF(net_types, n->n_type));
		/* A vale switch takes a netmap port instead of a tap. */
		if (n->n_bridge != NULL && strncmp(n->n_bridge, "vale", 4) == 0)
			buf_printf(&s->s_spec, "%s:vm%dp%zu", n->n_bridge,
			    vc->vc_id, i);
		else
			buf_adds(&s->s_spec, tap_name(s->s_bp, i));
		if (n->n_hasmac) {
			m = n->n_mac;
			buf_printf(&s->s_spec,
			    ",mac=%02x:%02x:%02x:%02x:%02x:%02x",
			    m[0], m[1], m[2], m[3], m[4], m[5]);
		}
		slot_emit(s);
	}
}

static void
slots_misc(const struct vm_conf *vc, struct slots *s)
{
	const struct conf_hda *h;
	size_t i;

	for (i = 0; i < vc->vc_passthru.l_n; i++) {
		buf_printf(&s->s_spec, "passthru,%s",
		    *CLIST_AT(&vc->vc_passthru, char *, i));
		slot_emit(s);
	}
	for (i = 0; i < vc->vc_hda.l_n; i++) {
		h = CLIST_AT(&vc->vc_hda, struct conf_hda, i);
		buf_adds(&s->s_spec, "hda");
		if (h->h_play != NULL && *h->h_play != '\0')
			buf_printf(&s->s_spec, ",play=%s",
			    backend_owner_path(s->s_bp, h->h_play));
		if (h->h_rec != NULL && *h->h_rec != '\0')
			buf_printf(&s->s_spec, ",rec=%s",
			    backend_owner_path(s->s_bp, h->h_rec));
		slot_emit(s);
	}
}

static void
slots_vconsole(struct slots *s)
{
	size_t c, p, nc, np;

	nc = vcon_ncontrollers(s->s_vc);
	np = s->s_vc->vc_vconsole_np > 0 ? (size_t)s->s_vc->vc_vconsole_np : 0;
	for (c = 0; c < nc; c++) {
		buf_adds(&s->s_spec, "virtio-console");
		for (p = 0; p < np; p++) {
			buf_addc(&s->s_spec, ',');
			vcon_port(s, &s->s_spec, c, p, c * np + p);
		}
		slot_emit(s);
	}
}

static void
slots_graphics(const struct vm_conf *vc, struct slots *s)
{
	const char *vga;
	int w, h;

	if (vc->vc_graphics) {
		/* The conf layer fills defaults; these cover a bare conf. */
		w = vc->vc_graphics_res.r_width > 0 ?
		    vc->vc_graphics_res.r_width : 1024;
		h = vc->vc_graphics_res.r_height > 0 ?
		    vc->vc_graphics_res.r_height : 768;
		vga = vc->vc_graphics_vga != NULL ? vc->vc_graphics_vga : "io";
		if (vc->vc_graphics_path != NULL)
			buf_printf(&s->s_spec, "fbuf,rfb=unix:%s",
			    vc->vc_graphics_path);
		else
			buf_printf(&s->s_spec, "fbuf,tcp=%s:%lld",
			    vc->vc_graphics_listen != NULL ?
			    vc->vc_graphics_listen : "0.0.0.0",
			    vc->vc_graphics_port);
		buf_printf(&s->s_spec, ",w=%d,h=%d,vga=%s", w, h, vga);
		if (vc->vc_graphics_wait)
			buf_adds(&s->s_spec, ",wait");
		if (vc->vc_graphics_password != NULL)
			buf_printf(&s->s_spec, ",password=%s",
			    vc->vc_graphics_password);
		slot_emit(s);
	}
	if (vc->vc_xhci_mouse)
		slot_add(s, "xhci,tablet");
}

/* Every PCI device, in the order of spec 2.4 item 11; returns the count. */
size_t
bhyve_slots(const struct vm_conf *vc, const struct be_params *bp,
    struct argv *av)
{
	struct slots s;

	s.s_vc = vc;
	s.s_bp = bp;
	s.s_placeholders = bp->bp_daemon_pid <= 0;
	s.s_av = av;
	s.s_n = 0;
	buf_init(&s.s_spec);
	if (vc->vc_hostbridge == HB_AMD)
		slot_add(&s, "amd_hostbridge");
	else if (vc->vc_hostbridge != HB_NONE)
		slot_add(&s, "hostbridge");
	slot_add(&s, "lpc");
	if (vc->vc_virt_random)
		slot_add(&s, "virtio-rnd");
	slots_storage(vc, &s);
	slots_network(&s);
	slots_misc(vc, &s);
	slots_vconsole(&s);
	slots_graphics(vc, &s);
	buf_free(&s.s_spec);
	return s.s_n;
}
