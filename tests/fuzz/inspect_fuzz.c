/*
 * libFuzzer harness: the ISO 9660, partition table and UFS readers of
 * loadcmd/installcmd = auto on hostile images, and the Wake-on-LAN frame
 * parser on the same bytes.  An input is a list of
 * (sector, length, bytes) pieces written into a sparse image, so that a
 * few hundred bytes reach a superblock at 64 KiB or a partition at 1 MiB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inspect.h"
#include "wolframe.h"

#define MAX_SECTOR	(1u << 22)	/* images of 2 GiB at most */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static int fd = -1;
	const uint8_t *all = d;
	unsigned char mac[6];
	size_t whole = n;
	char err[512];
	uint32_t sector;
	size_t len;

	if (fd == -1 && (fd = memfd_create("image", 0)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1)
		abort();
	while (n >= 6) {
		sector = ((uint32_t)d[0] | (uint32_t)d[1] << 8 |
		    (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24) % MAX_SECTOR;
		len = (size_t)(d[4] | d[5] << 8);
		d += 6;
		n -= 6;
		if (len > n)
			len = n;
		if (pwrite(fd, d, len, (off_t)sector * 512) != (ssize_t)len)
			abort();
		d += len;
		n -= len;
	}
	/* the same bytes as an Ethernet frame for the Wake-on-LAN parser */
	(void)wol_frame_mac(all, whole, mac);
	free(inspect_iso_fd(fd, 1, err, sizeof(err)));
	free(inspect_disk_fd(fd, 0, err, sizeof(err)));
	return 0;
}
