/* Table-driven views of a VM configuration: show config text and JSON. */
#include <string.h>

#include <jansson.h>

#include "jsontext.h"
#include "keys.h"
#include "xmalloc.h"

void
key_item_text(const struct conf_key *k, const void *obj, size_t i,
    struct buf *b)
{
	const struct clist *l = key_cptr(k, obj);

	k->k_type->t_text(k, (const char *)l->l_v + i * k->k_type->t_size, b);
}

void
key_text(const struct conf_key *k, const void *obj, struct buf *b)
{
	const struct clist *l;
	size_t i;

	if (!(k->k_flags & KEY_LIST)) {
		k->k_type->t_text(k, key_cptr(k, obj), b);
		return;
	}
	l = key_cptr(k, obj);
	for (i = 0; i < l->l_n; i++) {
		if (i > 0)
			buf_adds(b, ", ");
		key_item_text(k, obj, i, b);
	}
}

json_t *
key_json(const struct conf_key *k, const void *obj)
{
	const struct clist *l;
	json_t *a;
	size_t i;

	if (!(k->k_flags & KEY_LIST)) {
		if (!key_isset(k, obj) && k->k_default == NULL)
			return json_null();
		return k->k_type->t_json(k, key_cptr(k, obj));
	}
	l = key_cptr(k, obj);
	a = json_array();
	for (i = 0; i < l->l_n; i++)
		json_array_append_new(a, k->k_type->t_json(k,
		    (const char *)l->l_v + i * k->k_type->t_size));
	return a;
}

json_t *
vm_conf_json(const struct vm_conf *vc)
{
	const struct conf_key *k;
	json_t *o;
	size_t i;

	o = json_pack("{s:o,s:i,s:o,s:o,s:o}", "name", json_text(vc->vc_name),
	    "id", vc->vc_id, "file", json_text(vc->vc_file ? vc->vc_file : ""),
	    "owner", json_text(vc->vc_owner_name ? vc->vc_owner_name : ""),
	    "group", json_text(vc->vc_group_name));
	for (i = 0; i < keys_count(); i++) {
		k = keys_at(i);
		if (k->k_flags & KEY_HIDDEN)
			continue;
		json_object_set_new(o, k->k_name, key_json(k, vc));
	}
	return o;
}

/* A default of a key the VM's backend ignores is noise in the text view. */
int
key_other_backend(const struct conf_key *k, const struct vm_conf *vc)
{
	if (key_isset(k, vc))
		return 0;
	if (k->k_flags & KEY_BHYVE)
		return vc->vc_backend != BACKEND_BHYVE;
	if (k->k_flags & KEY_QEMU)
		return vc->vc_backend != BACKEND_QEMU;
	return 0;
}

/* One "key = value" line per key that is set or has a default. */
void
vm_conf_text(const struct vm_conf *vc, struct buf *b)
{
	const struct conf_key *k;
	const struct clist *l;
	size_t i;

	buf_printf(b, "name = %s\nid = %d\nfile = %s\nowner = %s\n",
	    vc->vc_name, vc->vc_id, vc->vc_file ? vc->vc_file : "",
	    vc->vc_owner_name ? vc->vc_owner_name : "");
	if (vc->vc_group_name != NULL)
		buf_printf(b, "group = %s\n", vc->vc_group_name);
	for (i = 0; i < keys_count(); i++) {
		k = keys_at(i);
		if ((k->k_flags & KEY_HIDDEN) || key_other_backend(k, vc))
			continue;
		if (k->k_flags & KEY_LIST) {
			l = key_cptr(k, vc);
			if (l->l_n == 0)
				continue;
		} else if (!key_isset(k, vc) && k->k_default == NULL)
			continue;
		buf_printf(b, "%s = ", k->k_name);
		key_text(k, vc, b);
		buf_addc(b, '\n');
	}
}
