/* Where each value of a VM comes from: show config --origin. */
#ifndef BMD_ORIGIN_H
#define BMD_ORIGIN_H

#include <jansson.h>

#include "buf.h"
#include "conf.h"
#include "keys.h"

/* One .apply on the way from the VM to a value: the outermost first. */
struct conf_via {
	char		*cv_template;
	struct pos	 cv_pos;	/* of the .apply */
};

/* One statement's value for one key. */
struct conf_origin {
	int		 o_key;		/* k_index of a VM key */
	int		 o_append;	/* += (or a later value of a list) */
	char		*o_value;	/* as evaluated */
	struct pos	 o_pos;
	struct conf_via	*o_via;
	size_t		 o_nvia;
};

struct conf_origins {
	struct conf_origin *os_v;
	size_t		 os_n, os_cap;
};

/* A value set at pos through via; "=" first forgets the key's earlier. */
void	origin_add(struct vm_conf *, const struct conf_key *, int append,
	    const char *value, const struct pos *, const struct conf_via *via,
	    size_t nvia);
void	origins_free(struct conf_origins *);
/* Every key of the VM: its contributions, or "default". */
json_t	*vm_conf_origin_json(const struct vm_conf *);
void	 vm_conf_origin_text(const struct vm_conf *, struct buf *);

#endif
