/* Wake-on-LAN magic packets in Ethernet frames (parsed by the monitor child only). */
#ifndef BMD_WOLFRAME_H
#define BMD_WOLFRAME_H

#include <stddef.h>

/* The frames the monitor reads: a magic packet needs 14 + 102 bytes. */
#define WOL_FRAME_MIN	116
#define WOL_FRAME_MAX	2048

/*
 * 1 and the MAC when the frame carries a magic packet (six 0xff, then a
 * MAC sixteen times) in its Ethernet payload, or in the UDP payload of
 * IPv4 or IPv6 (any port), and is broadcast or sent to that MAC; else 0.
 */
int	wol_frame_mac(const unsigned char *frame, size_t len,
	    unsigned char mac[6]);

#endif
