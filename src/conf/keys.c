/* Generic key-table machinery: lookup, set, copy, compare, text and JSON. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "intern.h"
#include "keytable.h"
#include "ktypes.h"
#include "log.h"
#include "origin.h"
#include "strmap.h"
#include "xmalloc.h"

static struct conf_key	 *vkeys;	/* built-ins, then registered */
static size_t		  nvkeys, capvkeys;
static struct conf_key	 *gkeys;
static size_t		  ngkeys;
static size_t		  extra_size;	/* bytes of vc_extra */
static struct strmap	  byname;	/* lower-case name or alias -> index+1 */
static int		  vms_made;	/* no registration after this */
static struct vm_conf	 *proto;	/* every default applied */

/* Keys are case-insensitive: the map holds lower-case names and aliases. */
static int
lower(const char *name, char *out, size_t len)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i + 1 >= len)
			return -1;
		out[i] = (char)tolower((unsigned char)name[i]);
	}
	out[i] = '\0';
	return 0;
}

static void
keys_index(void)
{
	char low[128];
	size_t i;

	strmap_free(&byname, NULL);
	for (i = 0; i < nvkeys; i++) {
		vkeys[i].k_index = (int)i;
		if (lower(vkeys[i].k_name, low, sizeof(low)) == 0)
			strmap_put(&byname, low, (void *)(uintptr_t)(i + 1));
		if (vkeys[i].k_alias != NULL &&
		    lower(vkeys[i].k_alias, low, sizeof(low)) == 0)
			strmap_put(&byname, low, (void *)(uintptr_t)(i + 1));
	}
}

static void
keys_init(void)
{
	size_t i;

	if (vkeys != NULL)
		return;
	capvkeys = keytable_nvm + 16;
	vkeys = xcalloc(capvkeys, sizeof(*vkeys));
	memcpy(vkeys, keytable_vm, keytable_nvm * sizeof(*vkeys));
	nvkeys = keytable_nvm;
	gkeys = xcalloc(keytable_nglobal, sizeof(*gkeys));
	memcpy(gkeys, keytable_global, keytable_nglobal * sizeof(*gkeys));
	ngkeys = keytable_nglobal;
	for (i = 0; i < ngkeys; i++)
		gkeys[i].k_index = (int)i;
	keys_index();
}

size_t
keys_count(void)
{
	keys_init();
	return nvkeys;
}

const struct conf_key *
keys_at(size_t i)
{
	keys_init();
	return i < nvkeys ? &vkeys[i] : NULL;
}

const struct conf_key *
keys_find(const char *name)
{
	char low[128];
	uintptr_t i;

	keys_init();
	if (lower(name, low, sizeof(low)) == -1 ||
	    (i = (uintptr_t)strmap_get(&byname, low)) == 0)
		return NULL;
	return &vkeys[i - 1];
}

/* Edit distance with transpositions, for "did you mean". */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[33][33], v;

	if (la > 32 || lb > 32)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) !=
			    tolower((unsigned char)b[j - 1]));
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) ==
			    tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

static const struct conf_key *
suggest_in(const struct conf_key *t, size_t n, const char *name)
{
	const struct conf_key *best = NULL;
	size_t i, d, bestd = 3;

	for (i = 0; i < n; i++) {
		if (t[i].k_flags & KEY_HIDDEN && strcmp(t[i].k_name, "name") &&
		    strcmp(t[i].k_name, "owner"))
			continue;
		if ((d = distance(name, t[i].k_name)) < bestd) {
			bestd = d;
			best = &t[i];
		}
	}
	return best;
}

const struct conf_key *
keys_suggest(const char *name)
{
	keys_init();
	return suggest_in(vkeys, nvkeys, name);
}

size_t
gkeys_count(void)
{
	keys_init();
	return ngkeys;
}

const struct conf_key *
gkeys_at(size_t i)
{
	keys_init();
	return i < ngkeys ? &gkeys[i] : NULL;
}

const struct conf_key *
gkeys_find(const char *name)
{
	size_t i;

	keys_init();
	for (i = 0; i < ngkeys; i++)
		if (strcmp(name, gkeys[i].k_name) == 0)
			return &gkeys[i];
	return NULL;
}

const struct conf_key *
gkeys_suggest(const char *name)
{
	keys_init();
	return suggest_in(gkeys, ngkeys, name);
}

const struct conf_key *
keys_register(const char *name, const char *type, unsigned flags,
    const char *def, const char *help)
{
	const struct conf_type *t;
	struct conf_key *k;
	size_t sz;

	keys_init();
	if (vms_made || keys_find(name) != NULL)
		return NULL;
	if (strcmp(type, "string") == 0)
		t = &kt_str;
	else if (strcmp(type, "path") == 0)
		t = &kt_path;
	else if (strcmp(type, "integer") == 0)
		t = &kt_int;
	else if (strcmp(type, "boolean") == 0)
		t = &kt_bool;
	else
		return NULL;
	sz = (flags & KEY_LIST) ? sizeof(struct clist) : t->t_size;
	ARRAY_GROW(vkeys, nvkeys, capvkeys);
	k = &vkeys[nvkeys++];
	memset(k, 0, sizeof(*k));
	k->k_name = xstrdup(name);
	k->k_type = t;
	k->k_flags = (flags & KEY_LIST) | KEY_PLUGIN;
	k->k_default = def != NULL ? xstrdup(def) : NULL;
	k->k_min = -(long long)(~0ULL >> 1) - 1;
	k->k_max = (long long)(~0ULL >> 1);
	k->k_help = help != NULL ? xstrdup(help) : "";
	/* keep every slot aligned for any of the value types */
	extra_size = (extra_size + 15) & ~(size_t)15;
	k->k_offset = extra_size;
	extra_size += sz;
	keys_index();
	return &vkeys[nvkeys - 1];
}

/* ---- storage ---- */

static int
is_global(const struct conf_key *k)
{
	return (k->k_flags & KEY_GLOBAL) != 0;
}

void *
key_ptr(const struct conf_key *k, void *obj)
{
	if (k->k_flags & KEY_PLUGIN)
		return (char *)((struct vm_conf *)obj)->vc_extra + k->k_offset;
	return (char *)obj + k->k_offset;
}

const void *
key_cptr(const struct conf_key *k, const void *obj)
{
	return key_ptr(k, (void *)(uintptr_t)obj);
}

static unsigned char *
set_flags(const struct conf_key *k, const void *obj)
{
	return is_global(k) ? ((const struct global_conf *)obj)->gc_set :
	    ((const struct vm_conf *)obj)->vc_set;
}

int
key_isset(const struct conf_key *k, const void *obj)
{
	return set_flags(k, obj)[k->k_index];
}

const struct pos *
key_pos(const struct conf_key *k, const void *obj)
{
	const struct vm_conf *vc = obj;

	if (is_global(k) || !vc->vc_set[k->k_index] || vc->vc_kpos == NULL)
		return &vc->vc_pos;
	return &vc->vc_kpos[k->k_index];
}

const struct pos *
key_item_pos(const struct vm_conf *vc, const struct clist *l, size_t i)
{
	return l->l_pos != NULL ? &l->l_pos[i] : &vc->vc_pos;
}

/* Positions are kept for a VM while it is checked, and for globals. */
static int
tracks_pos(const struct conf_key *k, const void *obj)
{
	return is_global(k) || ((const struct vm_conf *)obj)->vc_kpos != NULL;
}

void
vm_conf_positions(struct vm_conf *vc, int keep)
{
	struct clist *l;
	size_t i, j;

	if (keep && vc->vc_kpos == NULL)
		vc->vc_kpos = xcalloc(nvkeys, sizeof(*vc->vc_kpos));
	else if (!keep) {
		free(vc->vc_kpos);
		vc->vc_kpos = NULL;
	}
	for (i = 0; i < nvkeys; i++) {
		if (!(vkeys[i].k_flags & KEY_LIST))
			continue;
		l = key_ptr(&vkeys[i], vc);
		if (!keep) {
			free(l->l_pos);
			l->l_pos = NULL;
		} else if (l->l_pos == NULL && l->l_n > 0) {
			/* items from before (defaults): the section */
			l->l_pos = xcalloc(l->l_n, sizeof(*l->l_pos));
			for (j = 0; j < l->l_n; j++)
				l->l_pos[j] = vc->vc_pos;
		}
	}
}

static void
list_free(const struct conf_key *k, struct clist *l)
{
	size_t i;

	for (i = 0; i < l->l_n; i++)
		k->k_type->t_free((char *)l->l_v + i * k->k_type->t_size);
	free(l->l_v);
	free(l->l_pos);
	memset(l, 0, sizeof(*l));
}

void
key_clear(const struct conf_key *k, void *obj)
{
	void *p = key_ptr(k, obj);

	if (k->k_flags & KEY_LIST)
		list_free(k, p);
	else
		k->k_type->t_free(p);
}

static void
list_append(const struct conf_key *k, struct clist *l, const void *item,
    const struct pos *pos, int track)
{
	size_t sz = k->k_type->t_size;

	l->l_v = xreallocarray(l->l_v, l->l_n + 1, sz);
	memcpy((char *)l->l_v + l->l_n * sz, item, sz);
	if (track) {
		l->l_pos = xreallocarray(l->l_pos, l->l_n + 1,
		    sizeof(*l->l_pos));
		l->l_pos[l->l_n] = pos != NULL ? *pos :
		    (struct pos){ NULL, 0, 0 };
	}
	l->l_n++;
}

int
key_set(const struct conf_key *k, void *obj, const char *val, int append,
    const struct pos *pos, struct buf *err)
{
	unsigned char tmp[256];
	void *p = key_ptr(k, obj);

	if (k->k_type->t_size > sizeof(tmp))
		fatalx("%s: type %s too large", __func__, k->k_type->t_name);
	memset(tmp, 0, sizeof(tmp));
	if (k->k_type->t_parse(k, val, tmp, err) == -1)
		return -1;
	if (k->k_flags & KEY_LIST) {
		if (!append)
			list_free(k, p);
		list_append(k, p, tmp, pos, tracks_pos(k, obj));
	} else {
		k->k_type->t_free(p);
		memcpy(p, tmp, k->k_type->t_size);
	}
	set_flags(k, obj)[k->k_index] = 1;
	if (!is_global(k) && pos != NULL && tracks_pos(k, obj))
		((struct vm_conf *)obj)->vc_kpos[k->k_index] = *pos;
	return 0;
}

/* ---- whole VM configurations ---- */

static void
key_copy(const struct conf_key *k, void *dst, const void *src)
{
	const struct clist *sl;
	struct clist *dl;
	size_t i, sz = k->k_type->t_size;

	if (!(k->k_flags & KEY_LIST)) {
		k->k_type->t_copy(key_ptr(k, dst), key_cptr(k, src));
		return;
	}
	sl = key_cptr(k, src);
	dl = key_ptr(k, dst);
	memset(dl, 0, sizeof(*dl));
	if (sl->l_n == 0)
		return;
	dl->l_v = xcalloc(sl->l_n, sz);
	for (i = 0; i < sl->l_n; i++)
		k->k_type->t_copy((char *)dl->l_v + i * sz,
		    (const char *)sl->l_v + i * sz);
	if (sl->l_pos != NULL) {
		dl->l_pos = xcalloc(sl->l_n, sizeof(*dl->l_pos));
		memcpy(dl->l_pos, sl->l_pos, sl->l_n * sizeof(*dl->l_pos));
	}
	dl->l_n = sl->l_n;
}

int
key_equal(const struct conf_key *k, const void *a, const void *b)
{
	const struct clist *la, *lb;
	size_t i, sz = k->k_type->t_size;

	if (!(k->k_flags & KEY_LIST))
		return k->k_type->t_equal(key_cptr(k, a), key_cptr(k, b));
	la = key_cptr(k, a);
	lb = key_cptr(k, b);
	if (la->l_n != lb->l_n)
		return 0;
	for (i = 0; i < la->l_n; i++)
		if (!k->k_type->t_equal((const char *)la->l_v + i * sz,
		    (const char *)lb->l_v + i * sz))
			return 0;
	return 1;
}

static struct vm_conf *
vm_conf_alloc(void)
{
	struct vm_conf *vc = xcalloc(1, sizeof(*vc));

	vc->vc_set = xcalloc(nvkeys, 1);
	/* most daemons register no key: no block at all then */
	vc->vc_extra = extra_size > 0 ? xcalloc(1, extra_size) : NULL;
	vc->vc_group = (gid_t)-1;
	return vc;
}

struct vm_conf *
vm_conf_dup(const struct vm_conf *src)
{
	struct vm_conf *vc = vm_conf_alloc();
	size_t i;

	vc->vc_id = src->vc_id;
	vc->vc_file = src->vc_file;
	vc->vc_pos = src->vc_pos;
	vc->vc_owner = src->vc_owner;
	vc->vc_group = src->vc_group;
	vc->vc_single_user = src->vc_single_user;
	vc->vc_section = intern(src->vc_section);
	vc->vc_idkey = src->vc_idkey ? xstrdup(src->vc_idkey) : NULL;
	for (i = 0; i < nvkeys; i++)
		key_copy(&vkeys[i], vc, src);
	memcpy(vc->vc_set, src->vc_set, nvkeys);
	if (src->vc_kpos != NULL) {
		vc->vc_kpos = xcalloc(nvkeys, sizeof(*vc->vc_kpos));
		memcpy(vc->vc_kpos, src->vc_kpos, nvkeys *
		    sizeof(*vc->vc_kpos));
	}
	vc->vc_group_name = src->vc_group_name ? xstrdup(src->vc_group_name) :
	    NULL;
	return vc;
}

/* A fresh VM configuration carrying every default. */
struct vm_conf *
vm_conf_new(void)
{
	struct buf err;
	size_t i;

	keys_init();
	vms_made = 1;
	if (proto == NULL) {
		proto = vm_conf_alloc();
		buf_init(&err);
		for (i = 0; i < nvkeys; i++)
			if (vkeys[i].k_default != NULL && key_set(&vkeys[i],
			    proto, vkeys[i].k_default, 0, NULL, &err) == -1)
				fatalx("default of %s: %s", vkeys[i].k_name,
				    buf_str(&err));
		buf_free(&err);
		memset(proto->vc_set, 0, nvkeys);
	}
	return vm_conf_dup(proto);
}

void
vm_conf_free(struct vm_conf *vc)
{
	size_t i;

	if (vc == NULL)
		return;
	for (i = 0; i < nvkeys; i++)
		key_clear(&vkeys[i], vc);
	intern_drop(vc->vc_section);
	free(vc->vc_idkey);
	free(vc->vc_group_name);
	free(vc->vc_set);
	free(vc->vc_kpos);
	origins_free(vc->vc_origins);
	free(vc->vc_extra);
	free(vc);
}

int
vm_conf_equal(const struct vm_conf *a, const struct vm_conf *b)
{
	size_t i;

	if (a->vc_owner != b->vc_owner || a->vc_group != b->vc_group)
		return 0;
	for (i = 0; i < nvkeys; i++)
		if (!key_equal(&vkeys[i], a, b))
			return 0;
	return 1;
}

void
global_conf_init(struct global_conf *gc)
{
	struct buf err;
	size_t i;

	keys_init();
	memset(gc, 0, sizeof(*gc));
	gc->gc_set = xcalloc(ngkeys, 1);
	buf_init(&err);
	for (i = 0; i < ngkeys; i++)
		if (gkeys[i].k_default != NULL && key_set(&gkeys[i], gc,
		    gkeys[i].k_default, 0, NULL, &err) == -1)
			fatalx("default of %s: %s", gkeys[i].k_name,
			    buf_str(&err));
	buf_free(&err);
	memset(gc->gc_set, 0, ngkeys);
}

void
global_conf_clear(struct global_conf *gc)
{
	size_t i;

	for (i = 0; i < ngkeys; i++)
		key_clear(&gkeys[i], gc);
	free(gc->gc_set);
	memset(gc, 0, sizeof(*gc));
}
