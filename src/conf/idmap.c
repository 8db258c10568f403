/* VM IDs: one per ID key (see id_key in eval.c), never reused. */
#include <stdint.h>
#include <stdlib.h>

#include "conf.h"
#include "strmap.h"
#include "xmalloc.h"

struct idmap {
	struct strmap	im_map;
	int		im_next;
};

struct idmap *
idmap_new(void)
{
	return xcalloc(1, sizeof(struct idmap));
}

void
idmap_free(struct idmap *im)
{
	if (im == NULL)
		return;
	strmap_free(&im->im_map, NULL);
	free(im);
}

int
idmap_get(struct idmap *im, const char *name)
{
	if (!strmap_has(&im->im_map, name))
		strmap_put(&im->im_map, name, (void *)(intptr_t)im->im_next++);
	return (int)(intptr_t)strmap_get(&im->im_map, name);
}

/* The ID of name, or -1: nothing is handed out. */
int
idmap_find(const struct idmap *im, const char *name)
{
	if (!strmap_has(&im->im_map, name))
		return -1;
	return (int)(intptr_t)strmap_get(&im->im_map, name);
}

/* name has id (as before a restart); later IDs come after it. */
void
idmap_set(struct idmap *im, const char *name, int id)
{
	strmap_put(&im->im_map, name, (void *)(intptr_t)id);
	if (id >= im->im_next)
		im->im_next = id + 1;
}

size_t
idmap_count(const struct idmap *im)
{
	return im->im_map.sm_n;
}

void
idmap_each(const struct idmap *im, void (*fn)(const char *, int, void *),
    void *arg)
{
	size_t i;

	for (i = 0; i < im->im_map.sm_cap; i++)
		if (im->im_map.sm_v[i].se_key != NULL)
			fn(im->im_map.sm_v[i].se_key,
			    (int)(intptr_t)im->im_map.sm_v[i].se_val, arg);
}
