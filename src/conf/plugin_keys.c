/*
 * Loading plugin descriptors and registering the keys they add.  The
 * daemon, bmd -n and bmdctl all go through here, at their first
 * configuration load, so that a plugin's keys are known and checked the
 * same way everywhere; only the daemon goes on to initialize the plugins
 * (src/bmd/plugin.c).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bmd/plugin.h>

#include "keys.h"
#include "log.h"
#include "plugin_keys.h"
#include "xmalloc.h"

#define MAX_KEY_NAME	32	/* keys_suggest() compares up to this */

static int		 enabled, lazy, loaded;
static char		*dir_override;
static char		*plugin_dir;
static struct conf_plugin *plugins;
static size_t		 nplugins, capplugins;
/* Per key index: the plugin key behind it (NULL: a built-in key). */
static const struct bmd_key **checks;
static size_t		 nchecks;

/* Names bmd_vm_str() answers from the VM's runtime state. */
static const char *const facts[] = { "name", "id", "state", "pid", "uid",
    "gid", "user", "group", "file", "install", "pending", "tap", NULL };

static const char *const type_names[] = {
	[BMD_KEY_STRING] = "string",	[BMD_KEY_PATH] = "path",
	[BMD_KEY_INTEGER] = "integer",	[BMD_KEY_BOOLEAN] = "boolean",
};

void
conf_plugins_enable(const char *dir, int lazy_binding)
{
	enabled = 1;
	lazy = lazy_binding;
	free(dir_override);
	dir_override = dir != NULL ? xstrdup(dir) : NULL;
}

int
conf_plugin_fact(const char *name)
{
	size_t i;

	for (i = 0; facts[i] != NULL; i++)
		if (strcmp(name, facts[i]) == 0)
			return 1;
	return 0;
}

/* Spec 6.1: at least 4 characters, no leading dot, ending in ".so". */
static int
is_plugin_name(const char *n)
{
	size_t len = strlen(n);

	return len >= 4 && n[0] != '.' && strcmp(n + len - 3, ".so") == 0;
}

static int
valid_key_name(const char *n)
{
	size_t i;

	if (n[0] == '\0' || strlen(n) > MAX_KEY_NAME)
		return 0;
	for (i = 0; n[i] != '\0'; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' &&
		    n[i] <= '9') || n[i] == '_'))
			return 0;
	return 1;
}

/* Every key of a descriptor must be acceptable before any is added. */
static int
check_keys(const char *file, const struct bmd_plugin *d)
{
	const struct bmd_key *k;
	const char *why = NULL;

	for (k = d->bp_keys; k != NULL && k->bk_name != NULL; k++) {
		if (!valid_key_name(k->bk_name))
			why = "is not a valid key name ([a-z0-9_], at most 32)";
		else if (k->bk_type < BMD_KEY_STRING ||
		    k->bk_type > BMD_KEY_BOOLEAN)
			why = "has an unknown type";
		else if ((k->bk_flags & ~(unsigned)BMD_KEY_LIST) != 0)
			why = "has unknown flags";
		else if (keys_find(k->bk_name) != NULL ||
		    conf_plugin_fact(k->bk_name))
			why = "exists already";
		if (why != NULL) {
			log_warnx("plugin %s: key \"%s\" %s; not loaded", file,
			    k->bk_name, why);
			return -1;
		}
	}
	return 0;
}

static void
register_keys(const char *file, const struct bmd_plugin *d)
{
	const struct conf_key *ck;
	const struct bmd_key *k;

	for (k = d->bp_keys; k != NULL && k->bk_name != NULL; k++) {
		ck = keys_register(k->bk_name, type_names[k->bk_type],
		    (k->bk_flags & BMD_KEY_LIST) ? KEY_LIST : 0, k->bk_default,
		    k->bk_help);
		if (ck == NULL) {
			/* a default its own type refuses comes out here */
			log_warnx("plugin %s: key \"%s\" cannot be added",
			    file, k->bk_name);
			continue;
		}
		if ((size_t)ck->k_index >= nchecks) {
			checks = xreallocarray(checks, ck->k_index + 1,
			    sizeof(*checks));
			memset(checks + nchecks, 0, (ck->k_index + 1 - nchecks) *
			    sizeof(*checks));
			nchecks = ck->k_index + 1;
		}
		checks[ck->k_index] = k;
	}
}

/* The descriptor, if the object is a plugin of this very ABI. */
static const struct bmd_plugin *
descriptor(const char *file, void *h)
{
	const struct bmd_plugin *d = dlsym(h, BMD_PLUGIN_SYMBOL);
	size_t i;

	if (d == NULL) {
		log_warnx("plugin %s: no %s descriptor; not loaded", file,
		    BMD_PLUGIN_SYMBOL);
		return NULL;
	}
	/* bp_abi_version is the first field in every version of the ABI. */
	if (d->bp_abi_version != BMD_PLUGIN_ABI_VERSION) {
		log_warnx("plugin %s: ABI version %d, bmd wants %d; not loaded",
		    file, d->bp_abi_version, BMD_PLUGIN_ABI_VERSION);
		return NULL;
	}
	if (d->bp_signature != BMD_PLUGIN_SIGNATURE) {
		log_warnx("plugin %s: not binary compatible (build signature "
		    "%#llx, bmd has %#llx); not loaded", file,
		    (unsigned long long)d->bp_signature,
		    (unsigned long long)BMD_PLUGIN_SIGNATURE);
		return NULL;
	}
	if (d->bp_name == NULL || d->bp_name[0] == '\0') {
		log_warnx("plugin %s: no name; not loaded", file);
		return NULL;
	}
	for (i = 0; i < nplugins; i++)
		if (strcmp(plugins[i].cp_desc->bp_name, d->bp_name) == 0) {
			log_warnx("plugin %s: \"%s\" is loaded already from %s; "
			    "not loaded", file, d->bp_name, plugins[i].cp_file);
			return NULL;
		}
	return check_keys(file, d) == -1 ? NULL : d;
}

/*
 * Code bmd runs as root: the file (and its directory) must belong to
 * root, or to whoever runs this program, and be writable by nobody else.
 * NULL if it is safe, else why not.
 */
static const char *
unsafe(const struct stat *st)
{
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return "not a regular file";
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return "not owned by root";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others";
	return NULL;
}

/*
 * Check the file, then map it.  The directory was checked too, so that
 * nobody but its owner can swap the file in between.
 */
static void *
open_object(const char *file)
{
	struct stat st;
	const char *why;
	void *h;

	if (stat(file, &st) == -1) {
		log_warn("plugin %s", file);
		return NULL;
	}
	if ((why = unsafe(&st)) != NULL) {
		log_warnx("plugin %s: %s; not loaded", file, why);
		return NULL;
	}
	if ((h = dlopen(file, (lazy ? RTLD_LAZY : RTLD_NOW) | RTLD_LOCAL)) ==
	    NULL)
		log_warnx("plugin %s: %s; not loaded", file, dlerror());
	return h;
}

static void
load_one(const char *dir, const char *name)
{
	const struct bmd_plugin *d;
	char *file = xprintf("%s/%s", dir, name);
	void *h;

	if ((h = open_object(file)) == NULL) {
		free(file);
		return;
	}
	if ((d = descriptor(file, h)) == NULL) {
		dlclose(h);
		free(file);
		return;
	}
	register_keys(file, d);
	ARRAY_GROW(plugins, nplugins, capplugins);
	plugins[nplugins].cp_file = file;
	plugins[nplugins].cp_handle = h;
	plugins[nplugins].cp_desc = d;
	nplugins++;
	log_debug("plugin %s: %s %s, ABI %d", file, d->bp_name,
	    d->bp_version != NULL ? d->bp_version : "", d->bp_abi_version);
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The plugins of a directory, in name order (a stable load order). */
void
conf_plugins_load(const struct global_conf *gc)
{
	struct dirent *de;
	struct stat st;
	const char *why;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	DIR *d;

	if (!enabled || loaded)
		return;
	loaded = 1;
	plugin_dir = xstrdup(dir_override != NULL ? dir_override :
	    gc->gc_plugin_directory);
	if ((d = opendir(plugin_dir)) == NULL) {
		/*
		 * No directory, no plugins (the default one may well not
		 * exist; a key of a plugin not loaded is an unknown key).
		 */
		if (errno == ENOENT)
			log_debug("no plugin directory %s", plugin_dir);
		else
			log_warn("cannot open plugin directory %s", plugin_dir);
		return;
	}
	if (fstat(dirfd(d), &st) == 0 && (why = unsafe(&st)) != NULL) {
		log_warnx("plugin directory %s: %s; no plugin loaded",
		    plugin_dir, why);
		closedir(d);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (is_plugin_name(de->d_name)) {
			ARRAY_GROW(names, n, cap);
			names[n++] = xstrdup(de->d_name);
		}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), namecmp);
	for (i = 0; i < n; i++) {
		load_one(plugin_dir, names[i]);
		free(names[i]);
	}
	free(names);
}

size_t
conf_plugins_count(void)
{
	return nplugins;
}

const struct conf_plugin *
conf_plugin_at(size_t i)
{
	return i < nplugins ? &plugins[i] : NULL;
}

const char *
conf_plugins_dir(void)
{
	return plugin_dir;
}

int
conf_plugin_check(const struct conf_key *k, const struct vm_conf *vc,
    const char *val, uid_t writer, uid_t vmfile, struct buf *err)
{
	const struct bmd_key *bk;
	struct bmd_keycheck kc;
	char msg[512];

	if (!(k->k_flags & KEY_PLUGIN) || (size_t)k->k_index >= nchecks ||
	    (bk = checks[k->k_index]) == NULL || bk->bk_check == NULL)
		return 0;
	memset(&kc, 0, sizeof(kc));
	kc.kc_key = k->k_name;
	kc.kc_value = val;
	kc.kc_vm = vc->vc_name;
	kc.kc_owner = vc->vc_owner;
	kc.kc_writer = writer;
	kc.kc_vmfile = vmfile;
	msg[0] = '\0';
	if (bk->bk_check(&kc, msg, sizeof(msg)) == 0)
		return 0;
	buf_printf(err, "\"%s\": %s", k->k_name, msg[0] != '\0' ? msg :
	    "invalid value");
	return -1;
}
