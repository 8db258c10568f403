/* A string-keyed hash map (open addressing) for names, IDs and templates. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xmalloc.h"

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

void
strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
strmap_free(struct strmap *m, void (*freeval)(void *))
{
	size_t i;

	for (i = 0; i < m->sm_cap; i++)
		if (m->sm_v[i].se_key != NULL) {
			free(m->sm_v[i].se_key);
			if (freeval != NULL)
				freeval(m->sm_v[i].se_val);
		}
	free(m->sm_v);
	strmap_init(m);
}

/*
 * Where k is, or the empty slot it would take; h is hash(k).  The stored
 * hashes spare most strcmp() calls and all hashing when the map grows
 * (its keys may be long: paths and section names).
 */
static struct strmap_ent *
slot_h(const struct strmap *m, const char *k, uint64_t h)
{
	struct strmap_ent *e;
	size_t i;

	for (i = h & (m->sm_cap - 1);; i = (i + 1) & (m->sm_cap - 1)) {
		e = &m->sm_v[i];
		if (e->se_key == NULL ||
		    (e->se_hash == h && strcmp(e->se_key, k) == 0))
			return e;
	}
}

static struct strmap_ent *
slot(const struct strmap *m, const char *k)
{
	return slot_h(m, k, hash(k));
}

void *
strmap_get(const struct strmap *m, const char *k)
{
	struct strmap_ent *e;

	if (m->sm_cap == 0)
		return NULL;
	e = slot(m, k);
	return e->se_key != NULL ? e->se_val : NULL;
}

int
strmap_has(const struct strmap *m, const char *k)
{
	return m->sm_cap != 0 && slot(m, k)->se_key != NULL;
}

static void
grow(struct strmap *m)
{
	struct strmap old = *m;
	size_t i;

	m->sm_cap = old.sm_cap ? old.sm_cap * 2 : 16;
	/*
	 * Written, not calloc'ed: a large calloc is fresh zero pages, which
	 * the lookups below would map read-only first, then fault on again
	 * when they write.
	 */
	m->sm_v = xreallocarray(NULL, m->sm_cap, sizeof(*m->sm_v));
	memset(m->sm_v, 0, m->sm_cap * sizeof(*m->sm_v));
	for (i = 0; i < old.sm_cap; i++)
		if (old.sm_v[i].se_key != NULL)
			*slot_h(m, old.sm_v[i].se_key, old.sm_v[i].se_hash) =
			    old.sm_v[i];
	free(old.sm_v);
}

void *
strmap_put(struct strmap *m, const char *k, void *v)
{
	struct strmap_ent *e;
	uint64_t h = hash(k);
	void *prev;

	if ((m->sm_n + 1) * 4 > m->sm_cap * 3)
		grow(m);
	e = slot_h(m, k, h);
	if (e->se_key != NULL) {
		prev = e->se_val;
		e->se_val = v;
		return prev;
	}
	e->se_key = xstrdup(k);
	e->se_val = v;
	e->se_hash = h;
	m->sm_n++;
	return NULL;
}
