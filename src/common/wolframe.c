/* Wake-on-LAN magic packets in Ethernet frames: a pure parser of hostile bytes. */
#include <string.h>

#include "wolframe.h"

#define ETH_HLEN	14
#define ETHERTYPE_VLAN	0x8100
#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_IPV6	0x86dd
#define IPPROTO_UDP_NUM	17
#define UDP_HLEN	8
#define MAGIC_LEN	102
#define SCAN_MAX	256	/* where in the payload the sync stream may start */

static const unsigned char bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Where the payload that may hold a magic packet starts; 0: nowhere. */
static size_t
payload_at(const unsigned char *f, size_t len)
{
	size_t at = ETH_HLEN, ihl;
	unsigned type = (unsigned)f[12] << 8 | f[13];

	if (type == ETHERTYPE_VLAN) {
		if (len < at + 4)
			return 0;
		type = (unsigned)f[16] << 8 | f[17];
		at += 4;
	}
	if (type == ETHERTYPE_IPV4) {
		if (len < at + 20 || (f[at] >> 4) != 4)
			return 0;
		ihl = (size_t)(f[at] & 0x0f) * 4;
		/* UDP, and the first fragment only (the others have no header) */
		if (ihl < 20 || f[at + 9] != IPPROTO_UDP_NUM ||
		    ((f[at + 6] & 0x1f) | f[at + 7]) != 0)
			return 0;
		return at + ihl + UDP_HLEN;
	}
	if (type == ETHERTYPE_IPV6) {
		if (len < at + 40 || (f[at] >> 4) != 6 ||
		    f[at + 6] != IPPROTO_UDP_NUM)
			return 0;
		return at + 40 + UDP_HLEN;
	}
	return at;
}

static int
magic_at(const unsigned char *p, unsigned char mac[6])
{
	int i;

	/* a NIC's MAC is unicast: all 0xff is no magic packet */
	if (memcmp(p, bcast, 6) != 0 || (p[6] & 1) != 0)
		return 0;
	for (i = 2; i < 17; i++)
		if (memcmp(p + 6 * i, p + 6, 6) != 0)
			return 0;
	memcpy(mac, p + 6, 6);
	return 1;
}

int
wol_frame_mac(const unsigned char *f, size_t len, unsigned char mac[6])
{
	size_t at, i;

	if (len < WOL_FRAME_MIN || (at = payload_at(f, len)) == 0 ||
	    at + MAGIC_LEN > len)
		return 0;
	for (i = at; i + MAGIC_LEN <= len && i <= at + SCAN_MAX; i++)
		if (magic_at(f + i, mac))
			/* broadcast, or unicast to the very MAC it wakes */
			return memcmp(f, bcast, 6) == 0 ||
			    memcmp(f, mac, 6) == 0;
	return 0;
}
