/* Device list item types of the key table: disk, iso, network, sharefs... */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsontext.h"
#include "ktypes.h"
#include "xmalloc.h"

static const char *const disk_types[] = { "virtio-blk", "ahci", "ahci-hd",
    "nvme", NULL };
static const char *const disk_flags[] = { "nocache", "direct", "readonly",
    "nodelete", "noexist", NULL };

static int
word_index(const char *const *words, const char *w, size_t len)
{
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == len && strncmp(words[i], w, len) == 0)
			return i;
	return -1;
}

static int
path_check(const struct conf_key *k, const char *v, const char *path,
    struct buf *err)
{
	const char *colon = strchr(path, ':'), *slash = strchr(path, '/');

	if (path[0] == '/')
		return 0;
	if (slash == NULL)
		buf_printf(err, "\"%s\": \"%s\" has no path (a path must "
		    "contain \"/\")", k->k_name, v);
	else if (colon != NULL && colon < slash)
		buf_printf(err, "\"%s\": unknown option \"%.*s\" in \"%s\"",
		    k->k_name, (int)(colon - path), path, v);
	else
		buf_printf(err, "\"%s\": \"%s\" is not an absolute path",
		    k->k_name, path);
	return -1;
}

/* ---- disk: [TYPE:][FLAG:]...PATH ---- */

const char *
conf_disk_type_name(enum disk_type t)
{
	return disk_types[t];
}

static int
disk_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	struct conf_disk *d = dst;
	const char *p = v, *c;
	int i, typed = 0;

	memset(d, 0, sizeof(*d));
	while ((c = strchr(p, ':')) != NULL && *p != '/') {
		if ((i = word_index(disk_types, p, (size_t)(c - p))) != -1) {
			if (typed++) {
				buf_printf(err, "\"%s\": \"%s\" names two disk "
				    "types", k->k_name, v);
				return -1;
			}
			d->d_type = (enum disk_type)i;
		} else if ((i = word_index(disk_flags, p, (size_t)(c - p))) != -1)
			d->d_flags |= 1U << i;
		else
			break;
		p = c + 1;
	}
	if (path_check(k, v, p, err) == -1)
		return -1;
	d->d_path = xstrdup(p);
	return 0;
}

static void
disk_free(void *p)
{
	free(((struct conf_disk *)p)->d_path);
}

static void
disk_copy(void *dst, const void *src)
{
	struct conf_disk *d = dst;

	*d = *(const struct conf_disk *)src;
	d->d_path = xstrdup(d->d_path);
}

static int
disk_equal(const void *a, const void *b)
{
	const struct conf_disk *x = a, *y = b;

	return x->d_type == y->d_type && x->d_flags == y->d_flags &&
	    strcmp(x->d_path, y->d_path) == 0;
}

static void
disk_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_disk *d = p;
	int i;

	(void)k;
	buf_printf(b, "%s:", disk_types[d->d_type]);
	for (i = 0; disk_flags[i] != NULL; i++)
		if (d->d_flags & (1U << i))
			buf_printf(b, "%s:", disk_flags[i]);
	buf_adds(b, d->d_path);
}

static json_t *
disk_json(const struct conf_key *k, const void *p)
{
	const struct conf_disk *d = p;

	(void)k;
	return json_pack("{s:s,s:o,s:b,s:b,s:b,s:b,s:b}",
	    "type", disk_types[d->d_type], "path", json_text(d->d_path),
	    "nocache", (d->d_flags & DISK_NOCACHE) != 0,
	    "direct", (d->d_flags & DISK_DIRECT) != 0,
	    "readonly", (d->d_flags & DISK_READONLY) != 0,
	    "nodelete", (d->d_flags & DISK_NODELETE) != 0,
	    "noexist", (d->d_flags & DISK_NOEXIST) != 0);
}

const struct conf_type kt_disk = { "disk", sizeof(struct conf_disk),
    disk_parse, disk_free, disk_copy, disk_equal, disk_text, disk_json };

/* ---- iso: [ahci-cd:][noexist:]PATH ---- */

static int
iso_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	struct conf_iso *iso = dst;
	const char *p = v;

	memset(iso, 0, sizeof(*iso));
	for (;;) {
		if (strncmp(p, "ahci-cd:", 8) == 0)
			p += 8;
		else if (strncmp(p, "noexist:", 8) == 0) {
			iso->i_noexist = 1;
			p += 8;
		} else
			break;
	}
	if (path_check(k, v, p, err) == -1)
		return -1;
	iso->i_path = xstrdup(p);
	return 0;
}

static void
iso_free(void *p)
{
	free(((struct conf_iso *)p)->i_path);
}

static void
iso_copy(void *dst, const void *src)
{
	struct conf_iso *d = dst;

	*d = *(const struct conf_iso *)src;
	d->i_path = xstrdup(d->i_path);
}

static int
iso_equal(const void *a, const void *b)
{
	const struct conf_iso *x = a, *y = b;

	return x->i_noexist == y->i_noexist && strcmp(x->i_path, y->i_path) == 0;
}

static void
iso_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_iso *iso = p;

	(void)k;
	buf_printf(b, "ahci-cd:%s%s", iso->i_noexist ? "noexist:" : "",
	    iso->i_path);
}

static json_t *
iso_json(const struct conf_key *k, const void *p)
{
	const struct conf_iso *iso = p;

	(void)k;
	return json_pack("{s:s,s:o,s:b}", "type", "ahci-cd", "path",
	    json_text(iso->i_path), "noexist", iso->i_noexist);
}

const struct conf_type kt_iso = { "iso", sizeof(struct conf_iso),
    iso_parse, iso_free, iso_copy, iso_equal, iso_text, iso_json };

/* ---- network: [TYPE:][wol:][[MAC]:]BRIDGE ---- */

const char *
conf_net_type_name(enum net_type t)
{
	return t == NET_E1000 ? "e1000" : "virtio-net";
}

void
conf_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
	    mac[2], mac[3], mac[4], mac[5]);
}

/* 1 or 2 hex digits per octet, six octets separated by ':'. */
int
kt_parse_mac(const char *s, uint8_t mac[6])
{
	int i, n;
	unsigned v;

	for (i = 0; i < 6; i++) {
		for (v = 0, n = 0; isxdigit((unsigned char)*s) && n < 3; s++, n++)
			v = v * 16 + (unsigned)(isdigit((unsigned char)*s) ?
			    *s - '0' : (tolower((unsigned char)*s) - 'a' + 10));
		if (n == 0 || n > 2)
			return -1;
		mac[i] = (uint8_t)v;
		if (i < 5 && *s++ != ':')
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

static int
net_mac(const struct conf_key *k, const char *v, const char **pp,
    struct conf_net *n, struct buf *err)
{
	const char *p = *pp, *end = strchr(p, ']');
	char tmp[32];

	if (end == NULL || end[1] != ':' || (size_t)(end - p - 1) >= sizeof(tmp)) {
		buf_printf(err, "\"%s\": \"%s\": a MAC address is written "
		    "[xx:xx:xx:xx:xx:xx]: before the bridge", k->k_name, v);
		return -1;
	}
	memcpy(tmp, p + 1, (size_t)(end - p - 1));
	tmp[end - p - 1] = '\0';
	if (kt_parse_mac(tmp, n->n_mac) == -1) {
		buf_printf(err, "\"%s\": invalid MAC address %s", k->k_name, tmp);
		return -1;
	}
	if (n->n_mac[0] & 1) {
		buf_printf(err, "\"%s\": multicast MAC address %s is not allowed",
		    k->k_name, tmp);
		return -1;
	}
	if (memcmp(n->n_mac, "\0\0\0\0\0\0", 6) == 0) {
		buf_printf(err, "\"%s\": invalid MAC address %s (all zero)",
		    k->k_name, tmp);
		return -1;
	}
	n->n_hasmac = 1;
	*pp = end + 2;
	return 0;
}

static int
bridge_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 15)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("_-.", *s) == NULL)
			return 0;
	return 1;
}

static int
net_parse(const struct conf_key *k, const char *v, void *dst, struct buf *err)
{
	struct conf_net *n = dst;
	const char *p = v;

	memset(n, 0, sizeof(*n));
	for (;;) {
		if (strncmp(p, "virtio-net:", 11) == 0) {
			n->n_type = NET_VIRTIO;
			p += 11;
		} else if (strncmp(p, "e1000:", 6) == 0) {
			n->n_type = NET_E1000;
			p += 6;
		} else if (strncmp(p, "wol:", 4) == 0) {
			n->n_wol = 1;
			p += 4;
		} else if (*p == '[') {
			if (net_mac(k, v, &p, n, err) == -1)
				return -1;
		} else
			break;
	}
	if (!bridge_name_ok(p)) {
		buf_printf(err, "\"%s\": \"%s\" is not a bridge name (1 to 15 "
		    "letters, digits, '-', '_' or '.'; or none)", k->k_name, p);
		return -1;
	}
	if (n->n_wol && !n->n_hasmac) {
		buf_printf(err, "\"%s\": \"%s\": wol needs a MAC address",
		    k->k_name, v);
		return -1;
	}
	n->n_bridge = xstrdup(p);
	return 0;
}

static void
net_free(void *p)
{
	free(((struct conf_net *)p)->n_bridge);
}

static void
net_copy(void *dst, const void *src)
{
	struct conf_net *d = dst;

	*d = *(const struct conf_net *)src;
	d->n_bridge = xstrdup(d->n_bridge);
}

static int
net_equal(const void *a, const void *b)
{
	const struct conf_net *x = a, *y = b;

	return x->n_type == y->n_type && x->n_wol == y->n_wol &&
	    x->n_hasmac == y->n_hasmac &&
	    memcmp(x->n_mac, y->n_mac, 6) == 0 &&
	    strcmp(x->n_bridge, y->n_bridge) == 0;
}

static void
net_text(const struct conf_key *k, const void *p, struct buf *b)
{
	const struct conf_net *n = p;
	char mac[18];

	(void)k;
	buf_printf(b, "%s:", conf_net_type_name(n->n_type));
	if (n->n_wol)
		buf_adds(b, "wol:");
	if (n->n_hasmac) {
		conf_mac_format(n->n_mac, mac);
		buf_printf(b, "[%s]:", mac);
	}
	buf_adds(b, n->n_bridge);
}

static json_t *
net_json(const struct conf_key *k, const void *p)
{
	const struct conf_net *n = p;
	char mac[18];

	(void)k;
	conf_mac_format(n->n_mac, mac);
	return json_pack("{s:s,s:o,s:o,s:b}", "type",
	    conf_net_type_name(n->n_type), "bridge", json_text(n->n_bridge),
	    "mac", n->n_hasmac ? json_string(mac) : json_null(),
	    "wol", n->n_wol);
}

const struct conf_type kt_net = { "network", sizeof(struct conf_net),
    net_parse, net_free, net_copy, net_equal, net_text, net_json };
