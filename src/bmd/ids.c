/*
 * VM IDs kept across a start of bmd: the ID names the VM's taps
 * (bmd<ID>n<i>) and may be in its values ($ID), and a VM that bmd adopts
 * still holds what its ID named.  IDs are handed out in the order VMs are
 * met, so a VM added above another by a reload would swap numbers with
 * it at the next start.  The map goes to the run directory ("ids": one
 * "ID KEY" a line), which lasts as long as anything bmd started can.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "log.h"
#include "xmalloc.h"

static size_t	 saved_count;	/* entries at the last save */

static char *
ids_path(const char *run_dir)
{
	return xprintf("%s/ids", run_dir);
}

/* The map saved by an earlier bmd, or NULL (none, or unreadable). */
struct idmap *
ids_read(const char *run_dir)
{
	char *path = ids_path(run_dir), line[1024], *end;
	struct idmap *im = NULL;
	size_t len;
	long id;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		if (errno != ENOENT)
			log_warn("ids: %s", path);
		free(path);
		return NULL;
	}
	im = idmap_new();
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((len = strlen(line)) > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		id = strtol(line, &end, 10);
		if (end == line || *end != ' ' || id < 0 || id > 1 << 24) {
			log_warnx("ids: %s: a bad line; not used", path);
			idmap_free(im);
			im = NULL;
			break;
		}
		idmap_set(im, end + 1, (int)id);
	}
	fclose(f);
	free(path);
	return im;
}

struct used {
	unsigned char	*u_bits;
	int		 u_max;
};

static void
max_one(const char *key, int id, void *arg)
{
	struct used *u = arg;

	(void)key;
	if (id > u->u_max)
		u->u_max = id;
}

static void
mark_one(const char *key, int id, void *arg)
{
	struct used *u = arg;

	(void)key;
	u->u_bits[id / 8] |= (unsigned char)(1 << (id % 8));
}

/* Does every VM of c have the ID saved for its key, or one never saved? */
int
ids_agree(const struct idmap *saved, const struct conf *c)
{
	struct used u = { NULL, -1 };
	const struct vm_conf *vc;
	int id, ok = 1;
	size_t i;

	idmap_each(saved, max_one, &u);
	u.u_bits = xcalloc((size_t)u.u_max / 8 + 1, 1);
	idmap_each(saved, mark_one, &u);
	for (i = 0; ok && i < c->c_nvms; i++) {
		vc = c->c_vms[i];
		if ((id = idmap_find(saved, vc->vc_idkey)) != -1)
			ok = id == vc->vc_id;
		else
			ok = vc->vc_id > u.u_max ||
			    !(u.u_bits[vc->vc_id / 8] & (1 << (vc->vc_id % 8)));
	}
	free(u.u_bits);
	return ok;
}

static void
copy_one(const char *key, int id, void *arg)
{
	struct idmap *to = arg;

	if (idmap_find(to, key) == -1)
		idmap_set(to, key, id);
}

/* The saved keys that no VM has now keep their numbers: never reused. */
void
ids_merge(struct idmap *to, const struct idmap *saved)
{
	idmap_each(saved, copy_one, to);
}

static void
write_one(const char *key, int id, void *arg)
{
	fprintf(arg, "%d %s\n", id, key);
}

/*
 * A file of the run directory written whole: a new file (0600) renamed
 * over the old, so that a bmd that dies leaves one or the other.  -1:
 * not written (logged as what: path).
 */
int
run_file_save(const char *path, const char *what,
    void (*fill)(FILE *, void *), void *arg)
{
	char *tmp = xprintf("%s.new", path);
	FILE *f = NULL;
	int fd, rc = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd != -1 && (f = fdopen(fd, "w")) == NULL)
		close(fd);
	if (f != NULL)
		fill(f, arg);
	if (f == NULL || fclose(f) != 0 || rename(tmp, path) == -1) {
		log_warn("%s: %s", what, path);
		unlink(tmp);
		rc = -1;
	}
	free(tmp);
	return rc;
}

static void
write_ids(FILE *f, void *arg)
{
	idmap_each(arg, write_one, f);
}

/* After a load: save the map if it has grown. */
void
ids_save(void)
{
	char *path;

	if (bmd.b_ids == NULL || bmd.b_run_dir == NULL ||
	    idmap_count(bmd.b_ids) == saved_count)
		return;
	path = ids_path(bmd.b_run_dir);
	if (run_file_save(path, "ids", write_ids, bmd.b_ids) == 0)
		saved_count = idmap_count(bmd.b_ids);
	free(path);
}
