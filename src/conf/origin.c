/*
 * Where each value of a VM comes from (show config --origin): the
 * statement that set it and the chain of .apply that brought it there.
 * Recorded only when asked (lo_origins): a daemon keeps none of it.
 */
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"
#include "origin.h"
#include "xmalloc.h"

static void
origin_clear(struct conf_origin *o)
{
	size_t i;

	for (i = 0; i < o->o_nvia; i++)
		free(o->o_via[i].cv_template);
	free(o->o_via);
	free(o->o_value);
}

void
origins_free(struct conf_origins *os)
{
	size_t i;

	if (os == NULL)
		return;
	for (i = 0; i < os->os_n; i++)
		origin_clear(&os->os_v[i]);
	free(os->os_v);
	free(os);
}

/* "=": the key's earlier values are gone, and so are their origins. */
static void
forget(struct conf_origins *os, int key)
{
	size_t i, n = 0;

	for (i = 0; i < os->os_n; i++)
		if (os->os_v[i].o_key == key)
			origin_clear(&os->os_v[i]);
		else
			os->os_v[n++] = os->os_v[i];
	os->os_n = n;
}

void
origin_add(struct vm_conf *vc, const struct conf_key *k, int append,
    const char *value, const struct pos *pos, const struct conf_via *via,
    size_t nvia)
{
	struct conf_origins *os;
	struct conf_origin *o;
	size_t i;

	if (vc->vc_origins == NULL)
		vc->vc_origins = xcalloc(1, sizeof(*vc->vc_origins));
	os = vc->vc_origins;
	if (!append)
		forget(os, k->k_index);
	ARRAY_GROW(os->os_v, os->os_n, os->os_cap);
	o = &os->os_v[os->os_n++];
	memset(o, 0, sizeof(*o));
	o->o_key = k->k_index;
	o->o_append = append;
	o->o_value = xstrdup(value);
	o->o_pos = *pos;
	if (nvia > 0)
		o->o_via = xcalloc(nvia, sizeof(*o->o_via));
	for (i = 0; i < nvia; i++) {
		o->o_via[i].cv_template = xstrdup(via[i].cv_template);
		o->o_via[i].cv_pos = via[i].cv_pos;
	}
	o->o_nvia = nvia;
}

static json_t *
pos_json(const struct pos *p)
{
	return json_pack("{s:o,s:i,s:i}", "file", json_text(p->file), "line",
	    p->line, "col", p->col);
}

static json_t *
origin_json(const struct conf_origin *o)
{
	json_t *j = pos_json(&o->o_pos), *via = json_array();
	size_t i;

	for (i = 0; i < o->o_nvia; i++) {
		json_t *v = pos_json(&o->o_via[i].cv_pos);

		json_object_set_new(v, "template",
		    json_text(o->o_via[i].cv_template));
		json_array_append_new(via, v);
	}
	json_object_set_new(j, "value", json_text(o->o_value));
	json_object_set_new(j, "append", json_boolean(o->o_append));
	json_object_set_new(j, "via", via);
	return j;
}

/* As show config: no default of a key the VM's backend ignores. */
static int
shows_default(const struct conf_key *k, const struct vm_conf *vc)
{
	return k->k_default != NULL && !(k->k_flags & KEY_HIDDEN) &&
	    !key_other_backend(k, vc);
}

/* {"key": ..., "origins": [...]} or {"key": ..., "default": "..."}. */
json_t *
vm_conf_origin_json(const struct vm_conf *vc)
{
	const struct conf_origins *os = vc->vc_origins;
	const struct conf_key *k;
	json_t *keys = json_array(), *one, *list;
	size_t i, j;

	for (i = 0; i < keys_count(); i++) {
		k = keys_at(i);
		list = json_array();
		for (j = 0; os != NULL && j < os->os_n; j++)
			if (os->os_v[j].o_key == k->k_index)
				json_array_append_new(list,
				    origin_json(&os->os_v[j]));
		if (json_array_size(list) > 0)
			one = json_pack("{s:s,s:o}", "key", k->k_name,
			    "origins", list);
		else {
			json_decref(list);
			if (!shows_default(k, vc))
				continue;
			one = json_pack("{s:s,s:o}", "key", k->k_name,
			    "default", json_text(k->k_default));
		}
		json_array_append_new(keys, one);
	}
	return json_pack("{s:o,s:o,s:o}", "name", json_text(vc->vc_name),
	    "section", pos_json(&vc->vc_pos), "keys", keys);
}

static void
pos_text(const struct pos *p, struct buf *b)
{
	buf_printf(b, "%s:%d:%d", p->file, p->line, p->col);
}

/*
 *	disk = /a.img
 *	    t.conf:3:9 via .apply base at web.conf:10:9
 */
void
vm_conf_origin_text(const struct vm_conf *vc, struct buf *b)
{
	const struct conf_origins *os = vc->vc_origins;
	const struct conf_origin *o;
	const struct conf_key *k;
	size_t i, j, v, n;

	buf_printf(b, "vm %s\t", vc->vc_name);
	pos_text(&vc->vc_pos, b);
	buf_addc(b, '\n');
	for (i = 0; i < keys_count(); i++) {
		k = keys_at(i);
		for (j = 0, n = 0; os != NULL && j < os->os_n; j++) {
			if ((o = &os->os_v[j])->o_key != k->k_index)
				continue;
			buf_printf(b, "\t%s %s %s\n\t    ", k->k_name, n++ > 0 ||
			    o->o_append ? "+=" : "=", o->o_value);
			pos_text(&o->o_pos, b);
			for (v = o->o_nvia; v-- > 0;) {
				buf_printf(b, " via .apply %s at ",
				    o->o_via[v].cv_template);
				pos_text(&o->o_via[v].cv_pos, b);
			}
			buf_addc(b, '\n');
		}
		if (n == 0 && shows_default(k, vc))
			buf_printf(b, "\t%s = %s\n\t    default\n", k->k_name,
			    k->k_default);
	}
}
