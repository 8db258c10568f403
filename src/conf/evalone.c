/* May a load evaluate one VM section alone (boot) and give the same VM? */
#include <string.h>

#include "eval.h"
#include "keys.h"

/* Does the section set the key `name' (which makes names unforeseeable)? */
static int
renames(const struct section *s, const struct conf_key *name)
{
	size_t i;

	for (i = 0; i < s->sc_nstmts; i++)
		if (s->sc_stmts[i].s_type == ST_KEY &&
		    keys_find(s->sc_stmts[i].s_name) == name)
			return 1;
	return 0;
}

/*
 * The VM of section `only' comes out the same whether or not the other
 * vm sections are evaluated when: it is in root's files, once (root's
 * sections are evaluated first and root's first definition of a name
 * wins; a user's file has bounds shared by all its VMs), and no root vm
 * section nor any template sets `name' (so no other section can take
 * its name first).  Its ID key is then its section name.
 */
int
eval_one_safe(const struct eval_in *in, const char *only)
{
	const struct conf_key *name = keys_find("name");
	const struct eval_file *f;
	const struct section *s;
	size_t i, j, n = 0;

	for (i = 0; i < in->ei_nfiles; i++) {
		f = &in->ei_files[i];
		for (j = 0; j < f->ef_ast->af_nsects; j++) {
			s = &f->ef_ast->af_sects[j];
			if (s->sc_type == SC_TEMPLATE && renames(s, name))
				return 0;
			if (s->sc_type != SC_VM || f->ef_owner != 0)
				continue;
			if (renames(s, name))
				return 0;
			if (strcmp(s->sc_name, only) == 0)
				n++;
		}
	}
	return n == 1;
}
