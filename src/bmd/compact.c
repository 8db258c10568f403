/*
 * Start-up memory compaction.  Parsing 1,000 VMs allocates megabytes of
 * short-lived data (syntax trees, temporaries) interleaved with what
 * lives on: the VM configurations and the name -> ID map.  Freed, the
 * short-lived part leaves every heap page pinned by a few live bytes, so
 * the daemon would keep about 2.5 MiB it does not use.  Instead:
 *  - the configurations are copied by a helper thread, whose allocations
 *    go to a malloc arena of their own and are therefore dense;
 *  - the load used a throw-away ID map; the daemon's map is rebuilt in
 *    ID order once the parse is freed, so it is dense too;
 *  - then everything the parse used is freed and returned to the kernel.
 * The thread runs alone (created and joined here, before the event loop):
 * the daemon stays single-threaded in everything it does.
 */
#include <pthread.h>
#include <stdlib.h>

#include "bmd.h"
#include "log.h"
#include "xmalloc.h"

struct dupjob {
	const struct conf	 *dj_conf;
	struct vm_conf		**dj_out;
};

static void *
dup_all(void *arg)
{
	struct dupjob *dj = arg;
	size_t i;

	for (i = 0; i < dj->dj_conf->c_nvms; i++)
		dj->dj_out[i] = vm_conf_dup(dj->dj_conf->c_vms[i]);
	return NULL;
}

/*
 * Take the VMs of c (loaded with the throw-away map tmp) into the VM
 * table, set up bmd.b_ids with the same IDs, and free c and tmp.  IDs of
 * sections that were rejected are kept as placeholders, so that no ID is
 * ever given twice; such a section gets a new ID once it is valid.
 */
void
compact_load(struct conf *c, struct idmap *tmp)
{
	struct dupjob dj = { c, xcalloc(c->c_nvms + 1, sizeof(*dj.dj_out)) };
	const char **byid;
	pthread_t t;
	size_t i, n = c->c_nvms;
	int maxid = -1, id;
	char *ph;

	if (pthread_create(&t, NULL, dup_all, &dj) != 0 ||
	    pthread_join(t, NULL) != 0)
		dup_all(&dj);
	conf_free(c);
	idmap_free(tmp);
	for (i = 0; i < n; i++)
		if (dj.dj_out[i]->vc_id > maxid)
			maxid = dj.dj_out[i]->vc_id;
	byid = xcalloc((size_t)maxid + 2, sizeof(*byid));
	for (i = 0; i < n; i++)
		byid[dj.dj_out[i]->vc_id] = dj.dj_out[i]->vc_idkey;
	bmd.b_ids = idmap_new();
	for (id = 0; id <= maxid; id++) {
		/* A VM name cannot begin with a newline: no key does. */
		ph = byid[id] == NULL ? xprintf("\n%d", id) : NULL;
		if (idmap_get(bmd.b_ids, ph != NULL ? ph : byid[id]) != id)
			fatalx("%s: ID map out of order", __func__);
		free(ph);
	}
	free(byid);
	for (i = 0; i < n; i++)
		vm_add(dj.dj_out[i]);
	free(dj.dj_out);
	plat_trim_memory();
}
