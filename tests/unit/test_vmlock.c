/*
 * Unit tests for the per-VM lock (src/common/vmlock.c): one holder at a
 * time, the holder's pid in the refusal, release on close, and lock
 * files that are links, shared or another user's are refused.  Runs as
 * root (make check); uid 65534 stands for an owner other than root.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmlock.h"
#include "xmalloc.h"

#define OWNER	65534

static char	 top[] = "/tmp/vmlock-test.XXXXXX";
static char	*root;
static char	 err[512];

static int
setup(void **state)
{
	if (mkdtemp(top) == NULL)
		return -1;
	root = vmlock_root(xprintf("%s/run", top));
	return 0;
}

static void
test_dirs(void **state)
{
	struct stat st;
	char *d;

	assert_int_equal(vmlock_prepare(root, 0, err, sizeof(err)), 0);
	assert_int_equal(vmlock_prepare(root, OWNER, err, sizeof(err)), 0);
	assert_int_equal(stat(root, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(st.st_uid, 0);
	d = xprintf("%s/%d", root, OWNER);
	assert_int_equal(stat(d, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, OWNER);
	/* again: nothing to do */
	assert_int_equal(vmlock_prepare(root, OWNER, err, sizeof(err)), 0);
	/* an owner's directory others may write is refused */
	chmod(d, 0777);
	assert_int_equal(vmlock_prepare(root, OWNER, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "only it may write"));
	chmod(d, 0700);
	free(d);
}

static void
test_one_holder(void **state)
{
	char *f = xprintf("%s/%d/alpha.lock", root, OWNER);
	struct stat st;
	pid_t pid;
	int a, b, loader;

	a = vmlock_take(root, OWNER, "alpha", 1, err, sizeof(err));
	assert_true(a >= 0);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_uid, OWNER);	/* made by root, given away */
	assert_int_equal(st.st_mode & 07777, 0600);
	/* a loader says so; the hypervisor after it does not */
	assert_int_equal(vmlock_note_loader(a, 1234567), 0);
	assert_int_equal(vmlock_holder(root, OWNER, "alpha", &pid, &loader),
	    1);
	assert_int_equal(pid, 1234567);
	assert_int_equal(loader, 1);
	assert_int_equal(vmlock_note_pid(a, 4242), 0);	/* shorter: cut */
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(vmlock_holder(root, OWNER, "alpha", &pid, &loader),
	    1);
	assert_int_equal(pid, 4242);
	assert_int_equal(loader, 0);
	b = vmlock_take(root, OWNER, "alpha", 1, err, sizeof(err));
	assert_int_equal(b, -1);
	assert_string_equal(err, "already running (pid 4242)");
	/* another VM, and the same name of another owner, are free */
	b = vmlock_take(root, OWNER, "beta", 1, err, sizeof(err));
	assert_true(b >= 0);
	close(b);
	b = vmlock_take(root, 0, "alpha", 1, err, sizeof(err));
	assert_true(b >= 0);
	close(b);
	close(a);
	a = vmlock_take(root, OWNER, "alpha", 1, err, sizeof(err));
	assert_true(a >= 0);
	close(a);
	free(f);
}

static void
test_bad_files(void **state)
{
	char *d = xprintf("%s/%d", root, OWNER), *p;
	int fd;

	p = xprintf("%s/link.lock", d);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(vmlock_take(root, OWNER, "link", 1, err,
	    sizeof(err)), -1);
	free(p);
	p = xprintf("%s/fifo.lock", d);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(vmlock_take(root, OWNER, "fifo", 1, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a plain file"));
	free(p);
	/* a file found there that is root's is not given to the owner */
	p = xprintf("%s/rootfile.lock", d);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vmlock_take(root, OWNER, "rootfile", 1, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a plain file of uid"));
	free(p);
	assert_int_equal(vmlock_take(root, OWNER, "../x", 1, err,
	    sizeof(err)), -1);
	assert_int_equal(vmlock_take(root, OWNER, "..", 1, err,
	    sizeof(err)), -1);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dirs),
		cmocka_unit_test(test_one_holder),
		cmocka_unit_test(test_bad_files),
	};
	int rc;

	if (getuid() != 0) {
		/* like the e2e tests of users: chown needs root */
		fprintf(stderr, "test_vmlock: skipped: needs root\n");
		return 0;
	}
	rc = cmocka_run_group_tests(tests, setup, NULL);
	if (fork() == 0)
		execlp("rm", "rm", "-rf", top, (char *)NULL);
	return rc;
}
