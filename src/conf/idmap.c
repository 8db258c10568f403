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
