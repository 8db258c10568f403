/* A disk image's partitions (MBR, GPT) and the root of a UFS in one. */
#include <string.h>

#include "inspect.h"

#define DEV_BSIZE	512
#define MBR_TABLE	446
#define MBR_PROTECTIVE	0xee
#define GPT_MAX_ENTRIES	256
#define GPT_MIN_ENTRY	128
#define GPT_MAX_ENTRY	1024

#define SBLOCK_UFS2	65536
#define SBLOCK_UFS1	8192
#define SBLOCK_SIZE	8192
#define FS_UFS1_MAGIC	0x011954
#define FS_UFS2_MAGIC	0x19540119
#define UFS_ROOTINO	2
#define UFS_NDADDR	12
#define MAX_ROOT_SIZE	(1u << 20)	/* a root directory of 1 MiB */

static uint32_t
le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

static uint64_t
le64(const unsigned char *b)
{
	return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

static int
gpt_parts(int fd, struct part *p, int max)
{
	unsigned char h[DEV_BSIZE], e[GPT_MAX_ENTRY];
	uint64_t lba;
	uint32_t n, size, i;
	int np = 0;

	if (inspect_read(fd, DEV_BSIZE, h, sizeof(h)) == -1 ||
	    memcmp(h, "EFI PART", 8) != 0)
		return 0;
	lba = le64(h + 72);
	n = le32(h + 80);
	size = le32(h + 84);
	if (size < GPT_MIN_ENTRY || size > GPT_MAX_ENTRY || size % 8 != 0 ||
	    lba > UINT64_MAX / DEV_BSIZE / 2)
		return 0;
	for (i = 0; i < n && i < GPT_MAX_ENTRIES && np < max; i++) {
		if (inspect_read(fd, lba * DEV_BSIZE + (uint64_t)i * size, e,
		    size) == -1)
			break;
		if (memcmp(e, (unsigned char[16]){ 0 }, 16) == 0 ||
		    le64(e + 32) > UINT64_MAX / DEV_BSIZE)
			continue;
		p[np].p_off = le64(e + 32) * DEV_BSIZE;
		p[np].p_num = (int)i + 1;
		p[np++].p_kind = 'p';
	}
	return np;
}

int
disk_parts(int fd, struct part *p, int max)
{
	unsigned char m[DEV_BSIZE], *e;
	int i, np = 0;

	if (inspect_read(fd, 0, m, sizeof(m)) == -1 || m[510] != 0x55 ||
	    m[511] != 0xaa)
		return 0;
	for (i = 0; i < 4; i++)
		if (m[MBR_TABLE + 16 * i + 4] == MBR_PROTECTIVE)
			return gpt_parts(fd, p, max);
	for (i = 0; i < 4 && np < max; i++) {
		e = m + MBR_TABLE + 16 * i;
		if (e[4] == 0 || le32(e + 12) == 0)
			continue;
		p[np].p_off = (uint64_t)le32(e + 8) * DEV_BSIZE;
		p[np].p_num = i + 1;
		p[np++].p_kind = 's';
	}
	return np;
}

/* The superblock of either UFS version at base. */
int
ufs_open(struct ufs *u, int fd, uint64_t base)
{
	static const uint32_t at[] = { SBLOCK_UFS2, SBLOCK_UFS1 };
	unsigned char sb[SBLOCK_SIZE];
	uint32_t magic;
	int i;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < 2; i++) {
		if (inspect_read(fd, base + at[i], sb, sizeof(sb)) == -1)
			continue;
		magic = le32(sb + 1372);
		if (magic == FS_UFS2_MAGIC || magic == FS_UFS1_MAGIC)
			break;
	}
	if (i == 2)
		return -1;
	u->uf_fd = fd;
	u->uf_base = base;
	u->uf_v2 = magic == FS_UFS2_MAGIC;
	u->uf_iblkno = le32(sb + 16);
	u->uf_cgoffset = (int32_t)le32(sb + 24);
	u->uf_cgmask = (int32_t)le32(sb + 28);
	u->uf_bsize = le32(sb + 48);
	u->uf_fsize = le32(sb + 52);
	u->uf_ipg = le32(sb + 184);
	u->uf_fpg = le32(sb + 188);
	/* 4.4BSD entries (with a type byte) came with fast symlinks */
	u->uf_oldnames = !u->uf_v2 && (int32_t)le32(sb + 1320) <= 0;
	if (u->uf_fsize < DEV_BSIZE || u->uf_bsize < u->uf_fsize ||
	    u->uf_bsize > (1u << 16) || u->uf_ipg == 0 || u->uf_fpg == 0)
		return -1;
	return 0;
}

/* Where inode ino is: its cylinder group's inode blocks, then its slot. */
static int
inode_read(const struct ufs *u, uint32_t ino, unsigned char *di, size_t len)
{
	uint64_t cg = ino / u->uf_ipg, start = cg * u->uf_fpg;

	if (!u->uf_v2)
		start += (uint64_t)(uint32_t)u->uf_cgoffset *
		    (cg & ~(uint64_t)(uint32_t)u->uf_cgmask);
	return inspect_read(u->uf_fd, u->uf_base + (start + u->uf_iblkno) *
	    u->uf_fsize + (uint64_t)(ino % u->uf_ipg) * len, di, len);
}

/* Entries of one directory block: the inode of name, 0 if none. */
static uint32_t
dir_find(const struct ufs *u, const unsigned char *b, size_t n,
    const char *name)
{
	size_t pos, reclen, namlen, want = strlen(name);

	for (pos = 0; pos + 8 <= n; pos += reclen) {
		reclen = b[pos + 4] | b[pos + 5] << 8;
		namlen = u->uf_oldnames ? b[pos + 6] : b[pos + 7];
		if (reclen < 8 || pos + reclen > n || 8 + namlen > reclen)
			return 0;
		if (le32(b + pos) != 0 && namlen == want &&
		    memcmp(b + pos + 8, name, want) == 0)
			return le32(b + pos);
	}
	return 0;
}

int
ufs_root_lookup(const struct ufs *u, const char *name, unsigned *mode)
{
	unsigned char di[256], blk[1u << 16];
	uint64_t size, addr, off;
	size_t isz = u->uf_v2 ? 256 : 128, n;
	uint32_t ino = 0;
	int i;

	if (inode_read(u, UFS_ROOTINO, di, isz) == -1)
		return -1;
	size = le64(di + (u->uf_v2 ? 16 : 8));
	if (size > MAX_ROOT_SIZE)
		return -1;
	for (i = 0, off = 0; i < UFS_NDADDR && off < size && ino == 0; i++,
	    off += u->uf_bsize) {
		addr = u->uf_v2 ? le64(di + 112 + 8 * i) :
		    le32(di + 40 + 4 * i);
		n = size - off < u->uf_bsize ? (size_t)(size - off) :
		    u->uf_bsize;
		if (addr == 0 || addr > UINT64_MAX / 2 / u->uf_fsize ||
		    inspect_read(u->uf_fd, u->uf_base + addr * u->uf_fsize,
		    blk, n) == -1)
			return -1;
		ino = dir_find(u, blk, n, name);
	}
	if (ino == 0)
		return 0;
	if (inode_read(u, ino, di, isz) == -1)
		return -1;
	*mode = (unsigned)(di[0] | di[1] << 8);
	return 1;
}
