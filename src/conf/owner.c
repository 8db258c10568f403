/* Ownership of VMs: user and group names, and who may set which owner. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>		/* getgrouplist(3) on FreeBSD (glibc: grp.h) */

#include "intern.h"
#include "owner.h"
#include "strmap.h"
#include "xmalloc.h"

/*
 * Name lookups can read /etc/passwd each time: cache them per process.
 * Loads run in a thread of their own in the daemon (loadjob.c), which
 * alone uses this file there: the reentrant lookups keep off the buffers
 * that the event loop's getpwuid uses.
 */
static struct strmap	 uidnames;

#define PWBUF	4096

const char *
owner_user_name(uid_t uid)
{
	char key[32], buf[PWBUF];
	struct passwd pwbuf, *pw = NULL;
	char *name;

	snprintf(key, sizeof(key), "%lu", (unsigned long)uid);
	if ((name = strmap_get(&uidnames, key)) != NULL)
		return name;
	if (getpwuid_r(uid, &pwbuf, buf, sizeof(buf), &pw) != 0)
		pw = NULL;
	name = xstrdup(pw != NULL ? pw->pw_name : key);
	strmap_put(&uidnames, key, name);
	return name;
}

int
owner_in_group(const char *user, gid_t primary, gid_t gid)
{
	gid_t groups[256];
	int n = 256, i;

	if (primary == gid)
		return 1;
	if (getgrouplist(user, primary, groups, &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

static int
owner_group(struct vm_conf *vc, const struct passwd *pw, const char *gname,
    int restricted, struct buf *err)
{
	struct group grbuf, *gr = NULL;
	char buf[PWBUF * 4];

	if (getgrnam_r(gname, &grbuf, buf, sizeof(buf), &gr) != 0 ||
	    gr == NULL) {
		buf_printf(err, "\"owner\": unknown group \"%s\"", gname);
		return -1;
	}
	if (restricted && !owner_in_group(pw->pw_name, pw->pw_gid,
	    gr->gr_gid)) {
		buf_printf(err, "\"owner\": %s is not a member of group %s",
		    pw->pw_name, gname);
		return -1;
	}
	vc->vc_group = gr->gr_gid;
	free(vc->vc_group_name);
	vc->vc_group_name = xstrdup(gr->gr_name);
	return 0;
}

int
owner_apply(struct vm_conf *vc, const char *spec, int restricted,
    struct buf *err)
{
	char *user = xstrdup(spec), *gname = strchr(user, ':');
	struct passwd pwbuf, *pw = NULL;
	char buf[PWBUF];
	int rc = -1;

	if (gname != NULL)
		*gname++ = '\0';
	if (getpwnam_r(user, &pwbuf, buf, sizeof(buf), &pw) != 0 ||
	    pw == NULL) {
		buf_printf(err, "\"owner\": unknown user \"%s\"", user);
		goto out;
	}
	if (restricted && pw->pw_uid != vc->vc_owner) {
		buf_printf(err, "\"owner\": a file owned by %s cannot give the "
		    "VM to %s", owner_user_name(vc->vc_owner), user);
		goto out;
	}
	if (gname != NULL && owner_group(vc, pw, gname, restricted, err) == -1)
		goto out;
	if (gname == NULL) {
		vc->vc_group = (gid_t)-1;
		free(vc->vc_group_name);
		vc->vc_group_name = NULL;
	}
	vc->vc_owner = pw->pw_uid;
	intern_drop(vc->vc_owner_name);
	vc->vc_owner_name = intern(pw->pw_name);
	rc = 0;
out:
	free(user);
	return rc;
}
