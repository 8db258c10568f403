/*
 * Unit tests for VM ownership (src/conf/owner.c): owner = USER[:GROUP] from
 * a root-owned file (anything goes) and from a user's file (only that user,
 * only groups the user belongs to), with the system's own accounts root,
 * daemon and nobody, and the groups root, daemon and nogroup.
 */
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "intern.h"
#include "keys.h"
#include "owner.h"

static struct buf	 err;

static uid_t
uid_of(const char *name)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		fail_msg("no user %s on this system", name);
	return pw->pw_uid;
}

static gid_t
primary_of(const char *name)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		fail_msg("no user %s on this system", name);
	return pw->pw_gid;
}

static gid_t
gid_of(const char *name)
{
	struct group *gr = getgrnam(name);

	if (gr == NULL)
		fail_msg("no group %s on this system", name);
	return gr->gr_gid;
}

/* A VM as evaluation starts it: owned by the file's owner, no group. */
static struct vm_conf *
vm_owned_by(const char *user)
{
	struct vm_conf *vc = vm_conf_new();

	vc->vc_owner = uid_of(user);
	vc->vc_owner_name = intern(user);
	return vc;
}

static int
apply(struct vm_conf *vc, const char *spec, int restricted)
{
	buf_reset(&err);
	return owner_apply(vc, spec, restricted, &err);
}

static void
assert_owner(const struct vm_conf *vc, const char *user, const char *group)
{
	assert_int_equal(vc->vc_owner, uid_of(user));
	assert_string_equal(vc->vc_owner_name, user);
	if (group == NULL) {
		assert_int_equal((int)vc->vc_group, -1);
		assert_null(vc->vc_group_name);
	} else {
		assert_int_equal(vc->vc_group, gid_of(group));
		assert_string_equal(vc->vc_group_name, group);
	}
}

static void
assert_refused(struct vm_conf *vc, const char *spec, int restricted,
    const char *msgpart)
{
	uid_t owner = vc->vc_owner;
	gid_t group = vc->vc_group;

	if (apply(vc, spec, restricted) == 0)
		fail_msg("owner = %s accepted (restricted %d)", spec, restricted);
	if (strstr(buf_str(&err), msgpart) == NULL)
		fail_msg("owner = %s: \"%s\" not in \"%s\"", spec, msgpart,
		    buf_str(&err));
	/* a refused owner= changes nothing */
	assert_int_equal(vc->vc_owner, owner);
	assert_int_equal(vc->vc_group, group);
}

/* ---- root-owned files: any user, any group ---- */

static void
test_root_any_user(void **state)
{
	struct vm_conf *vc = vm_owned_by("root");

	(void)state;
	assert_int_equal(apply(vc, "daemon", 0), 0);
	assert_owner(vc, "daemon", NULL);
	assert_int_equal(apply(vc, "nobody", 0), 0);
	assert_owner(vc, "nobody", NULL);
	assert_int_equal(apply(vc, "root", 0), 0);
	assert_owner(vc, "root", NULL);
	vm_conf_free(vc);
}

static void
test_root_any_group(void **state)
{
	struct vm_conf *vc = vm_owned_by("root");

	(void)state;
	/* no membership check for root's files */
	assert_int_equal(apply(vc, "nobody:nogroup", 0), 0);
	assert_owner(vc, "nobody", "nogroup");
	assert_int_equal(apply(vc, "daemon:nogroup", 0), 0);
	assert_owner(vc, "daemon", "nogroup");
	assert_int_equal(apply(vc, "daemon:root", 0), 0);
	assert_owner(vc, "daemon", "root");
	assert_int_equal(apply(vc, "root:daemon", 0), 0);
	assert_owner(vc, "root", "daemon");
	/* USER alone drops the group */
	assert_int_equal(apply(vc, "daemon", 0), 0);
	assert_owner(vc, "daemon", NULL);
	vm_conf_free(vc);
}

static void
test_unknown_names(void **state)
{
	struct vm_conf *vc = vm_owned_by("root");

	(void)state;
	assert_refused(vc, "bmd-no-such-user", 0, "bmd-no-such-user");
	assert_refused(vc, "", 0, "unknown user");
	assert_refused(vc, "root:bmd-no-such-group", 0, "bmd-no-such-group");
	assert_refused(vc, "root:", 0, "unknown group");
	assert_refused(vc, ":daemon", 0, "unknown user");
	assert_owner(vc, "root", NULL);
	vm_conf_free(vc);
	vc = vm_owned_by("daemon");
	assert_refused(vc, "bmd-no-such-user", 1, "bmd-no-such-user");
	assert_refused(vc, "daemon:bmd-no-such-group", 1, "bmd-no-such-group");
	vm_conf_free(vc);
}

/* ---- users' files: only themselves, only their groups ---- */

static void
test_user_only_self(void **state)
{
	struct vm_conf *vc = vm_owned_by("daemon");

	(void)state;
	assert_int_equal(apply(vc, "daemon", 1), 0);
	assert_owner(vc, "daemon", NULL);
	assert_refused(vc, "nobody", 1, "nobody");
	assert_refused(vc, "root", 1, "root");
	assert_refused(vc, "nobody:nogroup", 1, "nobody");
	assert_owner(vc, "daemon", NULL);
	vm_conf_free(vc);

	/* the same names are fine once the VM belongs to that user */
	vc = vm_owned_by("nobody");
	assert_int_equal(apply(vc, "nobody", 1), 0);
	assert_refused(vc, "daemon", 1, "daemon");
	vm_conf_free(vc);
}

static void
test_user_groups(void **state)
{
	struct vm_conf *vc = vm_owned_by("daemon");
	struct group *gr;

	(void)state;
	/* the primary group (from passwd) counts */
	gr = getgrgid(primary_of("daemon"));
	assert_non_null(gr);
	assert_int_equal(apply(vc, "daemon:daemon", 1), 0);
	assert_owner(vc, "daemon", "daemon");
	/* groups daemon is not in are refused, naming user and group */
	assert_refused(vc, "daemon:nogroup", 1, "daemon is not a member of "
	    "group nogroup");
	assert_refused(vc, "daemon:root", 1, "root");
	assert_owner(vc, "daemon", "daemon");
	vm_conf_free(vc);

	vc = vm_owned_by("nobody");
	assert_int_equal(apply(vc, "nobody:nogroup", 1), 0);
	assert_owner(vc, "nobody", "nogroup");
	assert_refused(vc, "nobody:daemon", 1, "nobody is not a member of "
	    "group daemon");
	vm_conf_free(vc);
}

/* A supplementary membership (from the group database) counts too. */
static void
test_user_supplementary_group(void **state)
{
	struct vm_conf *vc;
	struct passwd *pw;
	struct group *gr;
	char user[64] = "", group[64] = "", spec[140];

	(void)state;
	setgrent();
	while ((gr = getgrent()) != NULL && user[0] == '\0') {
		if (gr->gr_mem == NULL || gr->gr_mem[0] == NULL)
			continue;
		if ((pw = getpwnam(gr->gr_mem[0])) == NULL ||
		    pw->pw_gid == gr->gr_gid)
			continue;
		snprintf(user, sizeof(user), "%s", pw->pw_name);
		snprintf(group, sizeof(group), "%s", gr->gr_name);
	}
	endgrent();
	if (user[0] == '\0')
		skip();	/* no supplementary membership on this system */
	vc = vm_owned_by(user);
	snprintf(spec, sizeof(spec), "%s:%s", user, group);
	if (apply(vc, spec, 1) != 0)
		fail_msg("owner = %s refused: %s", spec, buf_str(&err));
	assert_owner(vc, user, group);
	assert_true(owner_in_group(user, primary_of(user), gid_of(group)));
	vm_conf_free(vc);
}

static void
test_in_group(void **state)
{
	(void)state;
	assert_true(owner_in_group("daemon", primary_of("daemon"),
	    primary_of("daemon")));
	assert_false(owner_in_group("daemon", primary_of("daemon"),
	    gid_of("nogroup")));
	assert_true(owner_in_group("nobody", primary_of("nobody"),
	    gid_of("nogroup")));
	/* the primary gid passed in counts even for an unknown user */
	assert_true(owner_in_group("bmd-no-such-user", 12345, 12345));
	assert_false(owner_in_group("bmd-no-such-user", 12345, 12346));
}

static void
test_user_names(void **state)
{
	(void)state;
	assert_string_equal(owner_user_name(0), "root");
	assert_string_equal(owner_user_name(uid_of("daemon")), "daemon");
	assert_string_equal(owner_user_name(uid_of("nobody")), "nobody");
	/* cached: the same pointer twice */
	assert_ptr_equal(owner_user_name(0), owner_user_name(0));
	/* a uid without a name prints as its number */
	assert_string_equal(owner_user_name(3999999999U), "3999999999");
}

static int
setup(void **state)
{
	(void)state;
	buf_init(&err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	buf_free(&err);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_any_user),
		cmocka_unit_test(test_root_any_group),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_user_only_self),
		cmocka_unit_test(test_user_groups),
		cmocka_unit_test(test_user_supplementary_group),
		cmocka_unit_test(test_in_group),
		cmocka_unit_test(test_user_names),
	};

	return cmocka_run_group_tests_name("owner", tests, setup, teardown);
}
