/*
 * Plugin descriptors and the keys they add: shared by the daemon, bmd -n
 * and bmdctl, which must all know a plugin's keys before the first VM
 * configuration is made.
 */
#ifndef BMD_PLUGIN_KEYS_H
#define BMD_PLUGIN_KEYS_H

#include <sys/types.h>

#include "buf.h"
#include "conf.h"

struct bmd_plugin;
struct conf_key;

/* A plugin whose descriptor was accepted and whose keys are registered. */
struct conf_plugin {
	char			*cp_file;	/* directory/name */
	void			*cp_handle;	/* dlopen */
	const struct bmd_plugin	*cp_desc;
};

/*
 * Load the plugins at the first configuration load of this process: from
 * dir, else from the configuration's plugin_directory.  lazy: bind the
 * plugin's calls to the daemon only when made (bmdctl, which has no
 * daemon API, needs only the descriptors and key checks).  Without this
 * call (unit tests, fuzzing) no plugin is loaded.
 */
void		 conf_plugins_enable(const char *dir, int lazy);
/* conf_eval, once the global keys are known and before any VM. */
void		 conf_plugins_load(const struct global_conf *);
size_t		 conf_plugins_count(void);
const struct conf_plugin *conf_plugin_at(size_t);
/* The directory the plugins came from; NULL before the load. */
const char	*conf_plugins_dir(void);
/*
 * A plugin key's own check of one value (0 for other keys): writer owns
 * the file the value is in, vmfile the file of the vm section.
 */
int		 conf_plugin_check(const struct conf_key *,
		    const struct vm_conf *, const char *val, uid_t writer,
		    uid_t vmfile, struct buf *err);
/* A runtime fact's name, reserved for bmd_vm_str(): not a key. */
int		 conf_plugin_fact(const char *name);

#endif
