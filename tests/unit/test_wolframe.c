/* Unit tests: Wake-on-LAN magic packets in Ethernet frames (wolframe.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wolframe.h"

static const unsigned char mac[6] = { 0x02, 0, 0, 0, 0x10, 0x01 };
static const unsigned char other[6] = { 0x02, 0, 0, 0, 0x10, 0x02 };
static const unsigned char bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* dst, a source, the ethertype; the magic packet at payload + skip. */
static size_t
frame(unsigned char *f, const unsigned char *dst, unsigned type,
    size_t hdr, size_t skip, const unsigned char *for_mac)
{
	size_t at, i;

	memset(f, 0, 600);
	memcpy(f, dst, 6);
	memcpy(f + 6, other, 6);
	f[12] = (unsigned char)(type >> 8);
	f[13] = (unsigned char)type;
	at = 14 + hdr + skip;
	memset(f + at, 0xff, 6);
	for (i = 1; i <= 16; i++)
		memcpy(f + at + 6 * i, for_mac, 6);
	return at + 102;
}

static void
test_ethernet_payload(void **state)
{
	unsigned char f[600], got[6];
	size_t n;

	(void)state;
	n = frame(f, bcast, 0x0842, 0, 0, mac);
	assert_int_equal(wol_frame_mac(f, n, got), 1);
	assert_memory_equal(got, mac, 6);
	/* one byte short of the sixteenth copy */
	assert_int_equal(wol_frame_mac(f, n - 1, got), 0);
	/* a copy that differs */
	f[14 + 6 * 9 + 2] ^= 1;
	assert_int_equal(wol_frame_mac(f, n, got), 0);
}

static void
test_unicast_only_to_the_mac_it_wakes(void **state)
{
	unsigned char f[600], got[6];
	size_t n;

	(void)state;
	n = frame(f, mac, 0x0842, 0, 0, mac);
	assert_int_equal(wol_frame_mac(f, n, got), 1);
	n = frame(f, other, 0x0842, 0, 0, mac);
	assert_int_equal(wol_frame_mac(f, n, got), 0);
}

static void
test_udp_over_ipv4_and_ipv6(void **state)
{
	unsigned char f[600], got[6];
	size_t n;

	(void)state;
	/* IPv4 with 4 bytes of options (IHL 6), UDP, any port */
	n = frame(f, bcast, 0x0800, 24 + 8, 0, mac);
	f[14] = 0x46;
	f[14 + 9] = 17;
	assert_int_equal(wol_frame_mac(f, n, got), 1);
	f[14 + 9] = 6;		/* TCP */
	assert_int_equal(wol_frame_mac(f, n, got), 0);
	f[14 + 9] = 17;
	f[14 + 7] = 1;		/* a later fragment */
	assert_int_equal(wol_frame_mac(f, n, got), 0);
	n = frame(f, bcast, 0x86dd, 40 + 8, 3, mac);
	f[14] = 0x60;
	f[14 + 6] = 17;
	assert_int_equal(wol_frame_mac(f, n, got), 1);
	assert_memory_equal(got, mac, 6);
}

static void
test_junk(void **state)
{
	unsigned char f[600], got[6];
	size_t n;

	(void)state;
	memset(f, 0xff, sizeof(f));	/* all sync, no MAC repeated right */
	f[14 + 6] = 1;
	assert_int_equal(wol_frame_mac(f, sizeof(f), got), 0);
	memset(f, 0, sizeof(f));
	assert_int_equal(wol_frame_mac(f, sizeof(f), got), 0);
	n = frame(f, bcast, 0x0800, 0, 0, mac);	/* IPv4 too short */
	assert_int_equal(wol_frame_mac(f, 20, got), 0);
	(void)n;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_payload),
		cmocka_unit_test(test_unicast_only_to_the_mac_it_wakes),
		cmocka_unit_test(test_udp_over_ipv4_and_ipv6),
		cmocka_unit_test(test_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
