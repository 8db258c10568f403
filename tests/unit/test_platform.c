/*
 * Unit tests for the platform layer's null-modem pair on Linux (a pty,
 * src/platform/linux.c): the host side's flags, raw 115200 8N1 on the
 * VM side, and bytes both ways, unchanged (no CR/NL mapping, no line
 * buffering), including bytes written before the VM side is opened.
 * FreeBSD's nmdm pairs need root and the nmdm module: not run there.
 * Also plat_prefault: a buffer's bytes unchanged, its pages then mapped.
 */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform.h"

/* Read exactly n bytes from fd within about two seconds. */
static void
read_exactly(int fd, char *buf, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;
	int tries;

	for (tries = 0; got < n && tries < 20; tries++) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = read(fd, buf + got, n - got);
		if (r == -1 && errno == EAGAIN)
			continue;
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(got, n);
}

static void
test_host_side(void **state)
{
	char path[128];
	int fd;

	fd = plat_nullmodem_open(-1, path, sizeof(path));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal((fcntl(fd, F_GETFL) & O_ACCMODE), O_RDWR);
	assert_true(path[0] == '/');
	close(fd);
}

static void
test_vm_side_raw(void **state)
{
	struct termios t;
	char path[128];
	int host, vm;

	host = plat_nullmodem_open(3, path, sizeof(path));
	assert_true(host >= 0);
	assert_true((vm = open(path, O_RDWR | O_NOCTTY)) >= 0);
	assert_int_equal(tcgetattr(vm, &t), 0);
	assert_int_equal(cfgetispeed(&t), B115200);
	assert_int_equal(cfgetospeed(&t), B115200);
	assert_int_equal(t.c_cflag & CSIZE, CS8);
	assert_int_equal(t.c_cflag & (PARENB | CSTOPB), 0);
	assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), 0);
	assert_int_equal(t.c_iflag & (ICRNL | IXON), 0);
	assert_int_equal(t.c_oflag & OPOST, 0);
	close(vm);
	close(host);
}

static void
test_both_ways(void **state)
{
	static const char down[] = "boot\r\n\x03~.", up[] = "login:\n\r\x04";
	char path[128], buf[32];
	int host, vm;

	host = plat_nullmodem_open(-1, path, sizeof(path));
	assert_true(host >= 0);
	/* before the hypervisor opens its side: kept for it */
	assert_int_equal(write(host, down, sizeof(down) - 1),
	    (ssize_t)sizeof(down) - 1);
	assert_true((vm = open(path, O_RDWR | O_NOCTTY)) >= 0);
	read_exactly(vm, buf, sizeof(down) - 1);
	assert_memory_equal(buf, down, sizeof(down) - 1);
	assert_int_equal(write(vm, up, sizeof(up) - 1),
	    (ssize_t)sizeof(up) - 1);
	read_exactly(host, buf, sizeof(up) - 1);
	assert_memory_equal(buf, up, sizeof(up) - 1);
	/* and after the VM side was opened */
	assert_int_equal(write(host, "x", 1), 1);
	read_exactly(vm, buf, 1);
	assert_int_equal(buf[0], 'x');
	close(vm);
	close(host);
}

static void
test_short_buffer(void **state)
{
	char path[4];

	assert_int_equal(plat_nullmodem_open(-1, path, sizeof(path)), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(plat_nullmodem_open(-1, path, 0), -1);
}

static long
minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static void
test_prefault(void **state)
{
	size_t len = 4 << 20, pages = len / 4096, i;
	unsigned char *b = malloc(len + 3);
	long before;

	assert_non_null(b);
	/* the ends are not page-aligned: the bytes around must stay */
	b[0] = 0xa5;
	b[1] = 0x5a;
	plat_prefault(b + 1, len);
	assert_int_equal(b[0], 0xa5);
	assert_int_equal(b[1], 0x5a);
	before = minor_faults();
	for (i = 2; i < len; i += 4096)
		b[i] = (unsigned char)i;
	/* without it, one fault per page (1,024); with it, nearly none */
	assert_true(minor_faults() - before < (long)pages / 8);
	for (i = 2; i < len; i += 4096)
		assert_int_equal(b[i], (unsigned char)i);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_side),
		cmocka_unit_test(test_vm_side_raw),
		cmocka_unit_test(test_both_ways),
		cmocka_unit_test(test_short_buffer),
		cmocka_unit_test(test_prefault),
	};

#ifndef __linux__
	fprintf(stderr, "test_platform: skipped: the pty pair is Linux's\n");
	return 0;
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
