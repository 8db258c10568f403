/* The typed key table: one row per configuration key, driving everything. */
#ifndef BMD_KEYS_H
#define BMD_KEYS_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"

struct conf_key;
struct json_t;

/*
 * A value type.  For a list key the type describes one item and the
 * storage is a struct clist.  parse returns 0, or -1 after writing a
 * message (without position) into err.
 */
struct conf_type {
	const char	*t_name;
	size_t		 t_size;
	int		(*t_parse)(const struct conf_key *, const char *,
			    void *dst, struct buf *err);
	void		(*t_free)(void *);
	void		(*t_copy)(void *dst, const void *src);
	int		(*t_equal)(const void *, const void *);
	/* text form (show config, hook environment) */
	void		(*t_text)(const struct conf_key *, const void *,
			    struct buf *);
	struct json_t	*(*t_json)(const struct conf_key *, const void *);
};

#define KEY_LIST	0x01	/* several values, += appends */
#define KEY_BHYVE	0x02	/* meaningful only for the bhyve backend */
#define KEY_QEMU	0x04	/* meaningful only for the qemu backend */
#define KEY_NOCASE	0x08	/* enum names compared case-insensitively */
#define KEY_HIDDEN	0x10	/* not a settable key (e.g. single_user) */
#define KEY_GLOBAL	0x20	/* a global-section key */
#define KEY_PLUGIN	0x40	/* registered at run time; lives in vc_extra */

struct conf_key {
	const char		*k_name;
	const char		*k_alias;	/* NULL or a second name */
	const struct conf_type	*k_type;
	size_t			 k_offset;	/* in vm_conf/global_conf/extra */
	unsigned		 k_flags;
	const char		*k_default;	/* parsed at init; NULL: unset */
	long long		 k_min, k_max;	/* integer bounds */
	const char *const	*k_enum;	/* names, index = value */
	const char		*k_help;	/* one line for show/man */
	int			 k_index;	/* position in the table */
};

/* The VM key table (built-ins followed by registered keys). */
size_t			 keys_count(void);
const struct conf_key	*keys_at(size_t);
const struct conf_key	*keys_find(const char *name);	/* case-insensitive */
const struct conf_key	*keys_suggest(const char *name);	/* nearest name */
size_t			 gkeys_count(void);
const struct conf_key	*gkeys_at(size_t);
const struct conf_key	*gkeys_find(const char *name);	/* case-sensitive */
const struct conf_key	*gkeys_suggest(const char *name);

/*
 * Register a key at run time (plugins).  Only scalar and list strings,
 * integers and booleans are offered.  Returns NULL when the name exists.
 */
const struct conf_key	*keys_register(const char *name, const char *type,
			    unsigned flags, const char *def, const char *help);

void		*key_ptr(const struct conf_key *, void *base_vc);
const void	*key_cptr(const struct conf_key *, const void *base_vc);

/* Setting values (eval.c uses these; return -1 with err filled). */
int	 key_set(const struct conf_key *, void *base, const char *val,
	    int append, const struct pos *, struct buf *err);
void	 key_clear(const struct conf_key *, void *base);
int	 key_isset(const struct conf_key *, const void *base);
const struct pos *key_pos(const struct conf_key *, const void *base);
/* Item i of a list of vc; without positions, its section. */
const struct pos *key_item_pos(const struct vm_conf *, const struct clist *,
		    size_t);

/* Allocate a VM conf with every default applied (and no positions). */
struct vm_conf	*vm_conf_new(void);
/*
 * Keep (1) or drop (0) where each key and list item was set: the checks
 * of a load report them; a loaded VM needs them no more.
 */
void		 vm_conf_positions(struct vm_conf *, int keep);
void		 global_conf_init(struct global_conf *);
void		 global_conf_clear(struct global_conf *);

/* Do two VM confs (or two global confs) hold the same value of k? */
int		 key_equal(const struct conf_key *, const void *, const void *);

/* Text and JSON views driven by the table. */
void		 key_text(const struct conf_key *, const void *base,
		    struct buf *);
/* Item i of a list key, in the text form its type parses. */
void		 key_item_text(const struct conf_key *, const void *base,
		    size_t i, struct buf *);
struct json_t	*key_json(const struct conf_key *, const void *base);
struct json_t	*vm_conf_json(const struct vm_conf *);
void		 vm_conf_text(const struct vm_conf *, struct buf *);
/* An unset key that only the other hypervisor's backend uses. */
int		 key_other_backend(const struct conf_key *,
		    const struct vm_conf *);

#endif
