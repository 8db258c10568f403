/* ISO 9660 directories, with Rock Ridge names, read from an image file. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "inspect.h"

#define SECTOR		2048
#define FIRST_VD	16
#define MAX_VDS		32
#define MAX_DIR_SIZE	(16u << 20)	/* a hostile image claims anything */
#define ROOT_RECORD	156
#define REC_MIN		34

int
inspect_read(int fd, uint64_t off, void *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;

	while (got < len) {
		n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static uint32_t
le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

/* The Rock Ridge name (NM entries) of a record's system use area. */
static int
rr_name(const unsigned char *r, size_t su, size_t len, char *name,
    size_t size)
{
	size_t n = 0, l;

	for (; su + 4 <= len; su += l) {
		l = r[su + 2];
		if (l < 4 || su + l > len)
			break;
		if (r[su] == 'S' && r[su + 1] == 'T')
			break;
		if (r[su] != 'N' || r[su + 1] != 'M' || l < 5 ||
		    (r[su + 4] & 0x06) != 0)	/* "." and ".." */
			continue;
		if (n + (l - 5) >= size)
			return 0;
		memcpy(name + n, r + su + 5, l - 5);
		n += l - 5;
	}
	name[n] = '\0';
	return n > 0 && memchr(name, '\0', n) == NULL;
}

/* "NETBSD.;1" is netbsd: the version and a bare dot go, lower case. */
static void
iso_name(const unsigned char *id, size_t n, char *name)
{
	size_t i;

	for (i = 0; i < n && id[i] != ';'; i++)
		name[i] = (char)tolower(id[i]);
	if (i > 0 && name[i - 1] == '.')
		i--;
	name[i] = '\0';
}

/* One directory record: 0 an entry, 1 skip it (. and ..), -1 invalid. */
static int
record(const struct iso *is, const unsigned char *r, size_t len,
    struct iso_ent *e)
{
	size_t fi = r[32], su;

	if (len < REC_MIN || 33 + fi > len || fi == 0)
		return -1;
	if (fi == 1 && (r[33] == 0 || r[33] == 1))
		return 1;
	e->ie_lba = le32(r + 2);
	e->ie_size = le32(r + 10);
	e->ie_dir = (r[25] & 0x02) != 0;
	su = 33 + fi + (fi % 2 == 0) + is->is_skip;
	if (!rr_name(r, su, len, e->ie_name, sizeof(e->ie_name)))
		iso_name(r + 33, fi, e->ie_name);
	return e->ie_name[0] == '\0' ? 1 : 0;
}

int
iso_list(const struct iso *is, const struct iso_ent *dir,
    int (*fn)(const struct iso_ent *, void *), void *arg)
{
	unsigned char sec[SECTOR];
	struct iso_ent e;
	uint32_t s, size = dir->ie_size;
	size_t pos, len;
	int rc;

	if (!dir->ie_dir || size > MAX_DIR_SIZE)
		return -1;
	for (s = 0; s < (size + SECTOR - 1) / SECTOR; s++) {
		if (inspect_read(is->is_fd, ((uint64_t)dir->ie_lba + s) *
		    SECTOR, sec, sizeof(sec)) == -1)
			return -1;
		/* records never cross a sector: a 0 length ends this one */
		for (pos = 0; pos < SECTOR && (len = sec[pos]) != 0;
		    pos += len) {
			if (pos + len > SECTOR)
				return -1;
			if ((rc = record(is, sec + pos, len, &e)) == -1)
				return -1;
			if (rc == 0 && (rc = fn(&e, arg)) != 0)
				return rc;
		}
	}
	return 0;
}

struct lookup {
	const char	*lk_name;
	struct iso_ent	*lk_out;
};

static int
match(const struct iso_ent *e, void *arg)
{
	struct lookup *lk = arg;

	if (strcmp(e->ie_name, lk->lk_name) != 0)
		return 0;
	*lk->lk_out = *e;
	return 1;
}

int
iso_lookup(const struct iso *is, const struct iso_ent *dir, const char *name,
    struct iso_ent *out)
{
	struct lookup lk = { name, out };

	return iso_list(is, dir, match, &lk);
}

/* The SUSP "SP" entry of the root's "." record: bytes to skip (RRIP). */
static unsigned
susp_skip(int fd, const struct iso_ent *root)
{
	unsigned char sec[SECTOR], *r = sec;
	size_t su;

	if (inspect_read(fd, (uint64_t)root->ie_lba * SECTOR, sec,
	    sizeof(sec)) == -1 || r[0] < REC_MIN || r[32] != 1)
		return 0;
	su = 34;	/* a one-byte name, then its pad byte */
	if (su + 7 <= r[0] && r[su] == 'S' && r[su + 1] == 'P' &&
	    r[su + 4] == 0xbe && r[su + 5] == 0xef)
		return r[su + 6];
	return 0;
}

int
iso_open(struct iso *is, int fd)
{
	unsigned char vd[SECTOR];
	int i;

	memset(is, 0, sizeof(*is));
	is->is_fd = fd;
	for (i = 0; i < MAX_VDS; i++) {
		if (inspect_read(fd, (uint64_t)(FIRST_VD + i) * SECTOR, vd,
		    sizeof(vd)) == -1 || memcmp(vd + 1, "CD001", 5) != 0 ||
		    vd[0] == 255)
			return -1;
		if (vd[0] == 1)
			break;
	}
	if (i == MAX_VDS || (vd[128] | vd[129] << 8) != SECTOR)
		return -1;
	if (vd[ROOT_RECORD] < REC_MIN)
		return -1;
	is->is_root.ie_lba = le32(vd + ROOT_RECORD + 2);
	is->is_root.ie_size = le32(vd + ROOT_RECORD + 10);
	is->is_root.ie_dir = 1;
	is->is_skip = susp_skip(fd, &is->is_root);
	return 0;
}
