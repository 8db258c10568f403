/* Which user's VM has each name: for the loads, kept across restarts. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmd.h"
#include "log.h"
#include "strmap.h"
#include "xmalloc.h"

/*
 * Two users' files defining one VM name: the user whose VM has it keeps
 * it (eval.c), whatever the include order.  The map (name -> owner + 1)
 * follows the VM table, but the loading thread reads it while the event
 * loop may change the table: a copy of its own, behind a lock.  Root's
 * names need none: they always win.  It goes to the run directory
 * ("holders": one "UID NAME" a line) so that a start after a crash or
 * an upgrade, whose table is empty at its first load, decides alike.
 */
static struct strmap	 holders, seeded;
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static int		 dirty;

static int
lookup(struct strmap *m, const char *name, uid_t *owner)
{
	void *v;

	pthread_mutex_lock(&lock);
	v = m->sm_cap > 0 ? strmap_get(m, name) : NULL;
	pthread_mutex_unlock(&lock);
	if (v == NULL)
		return 0;
	*owner = (uid_t)((uintptr_t)v - 1);
	return 1;
}

/* lo_holder of the daemon's loads. */
int
holders_get(const char *name, uid_t *owner)
{
	return lookup(&holders, name, owner);
}

/* lo_holder of the first load: what the earlier program's table had. */
int
holders_seeded(const char *name, uid_t *owner)
{
	return lookup(&seeded, name, owner);
}

/* The table's VM of that name has that owner now (0: root's, or none). */
void
holders_note(const char *name, uid_t owner)
{
	void *was;

	pthread_mutex_lock(&lock);
	was = holders.sm_cap > 0 ? strmap_get(&holders, name) : NULL;
	if (owner != 0 && was != (void *)((uintptr_t)owner + 1)) {
		strmap_put(&holders, name, (void *)((uintptr_t)owner + 1));
		dirty = 1;
	} else if (owner == 0 && was != NULL) {
		strmap_put(&holders, name, NULL);
		dirty = 1;
	}
	pthread_mutex_unlock(&lock);
}

static char *
holders_path(const char *run_dir)
{
	return xprintf("%s/holders", run_dir);
}

/* The earlier program's map into the seed; the number of names read. */
size_t
holders_read(const char *run_dir)
{
	char *path = holders_path(run_dir), line[1024], *end;
	unsigned long uid;
	size_t len, n = 0;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT)
			log_warn("holders: %s", path);
		free(path);
		return 0;
	}
	pthread_mutex_lock(&lock);
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((len = strlen(line)) > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		errno = 0;
		uid = strtoul(line, &end, 10);
		if (errno != 0 || end == line || *end != ' ' || uid == 0 ||
		    uid >= (uid_t)-1)
			continue;
		strmap_put(&seeded, end + 1, (void *)((uintptr_t)uid + 1));
		n++;
	}
	pthread_mutex_unlock(&lock);
	fclose(f);
	free(path);
	return n;
}

void
holders_seed_free(void)
{
	pthread_mutex_lock(&lock);
	strmap_free(&seeded, NULL);
	pthread_mutex_unlock(&lock);
}

static void
write_holders(FILE *f, void *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < holders.sm_cap; i++)
		if (holders.sm_v[i].se_key != NULL &&
		    holders.sm_v[i].se_val != NULL)
			fprintf(f, "%lu %s\n", (unsigned long)((uintptr_t)
			    holders.sm_v[i].se_val - 1), holders.sm_v[i].se_key);
}

/* Save the map if it changed; event loop only (it alone writes it). */
void
holders_save(void)
{
	char *path;

	if (!dirty || bmd.b_run_dir == NULL)
		return;
	path = holders_path(bmd.b_run_dir);
	if (run_file_save(path, "holders", write_holders, NULL) == 0)
		dirty = 0;
	free(path);
}
