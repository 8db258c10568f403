/*
 * What each peer may hold at once: control connections and console
 * sessions, counted per uid.  A user other than root may hold at most
 * its per-user share, and the users other than root together at most
 * the total minus one share, so that root always has room.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmd.h"
#include "log.h"
#include "xmalloc.h"

struct holder {
	uid_t		 h_uid;
	int		 h_n[LIM_COUNT];
};

static struct holder	*holders;
static size_t		 nholders, capholders;
static int		 total[LIM_COUNT], users[LIM_COUNT];
static int		 max_all[LIM_COUNT] = { 256, 512 };
static int		 max_user[LIM_COUNT] = { 32, 64 };
static const char *const what[LIM_COUNT] = {
	[LIM_CONN] = "connections", [LIM_CONSOLE] = "console sessions" };
static const char *const key[LIM_COUNT] = {
	[LIM_CONN] = "max_connections",
	[LIM_CONSOLE] = "max_console_sessions" };

/* From the global keys; a share above half the total is an error. */
int
limit_set(enum limit_kind k, long long all, long long per_user)
{
	if (per_user * 2 > all) {
		log_warnx("%s_per_user (%lld) must be at most half of %s "
		    "(%lld): the rest is root's", key[k], per_user, key[k],
		    all);
		return -1;
	}
	max_all[k] = (int)all;
	max_user[k] = (int)per_user;
	return 0;
}

static struct holder *
holder(uid_t uid, int add)
{
	size_t i;

	for (i = 0; i < nholders; i++)
		if (holders[i].h_uid == uid)
			return &holders[i];
	if (!add)
		return NULL;
	ARRAY_GROW(holders, nholders, capholders);
	memset(&holders[nholders], 0, sizeof(holders[0]));
	holders[nholders].h_uid = uid;
	return &holders[nholders++];
}

/* Count one more for uid; -1 (and why) when it is over a limit. */
int
limit_take(enum limit_kind k, uid_t uid, char *why, size_t len)
{
	struct holder *h = holder(uid, 0);
	int mine = h != NULL ? h->h_n[k] : 0;

	if (total[k] >= max_all[k]) {
		snprintf(why, len, "too many %s (%d, the daemon's limit)",
		    what[k], max_all[k]);
		return -1;
	}
	if (uid != 0 && mine >= max_user[k]) {
		snprintf(why, len, "too many %s of uid %u (%d, the limit per "
		    "user)", what[k], (unsigned)uid, max_user[k]);
		return -1;
	}
	if (uid != 0 && users[k] >= max_all[k] - max_user[k]) {
		snprintf(why, len, "too many %s of users other than root (%d)",
		    what[k], max_all[k] - max_user[k]);
		return -1;
	}
	h = holder(uid, 1);
	h->h_n[k]++;
	total[k]++;
	if (uid != 0)
		users[k]++;
	return 0;
}

void
limit_release(enum limit_kind k, uid_t uid)
{
	struct holder *h = holder(uid, 0);
	int i;

	if (h == NULL || h->h_n[k] == 0)
		fatalx("%s: uid %u holds no %s", __func__, (unsigned)uid,
		    what[k]);
	h->h_n[k]--;
	total[k]--;
	if (uid != 0)
		users[k]--;
	for (i = 0; i < LIM_COUNT; i++)
		if (h->h_n[i] != 0)
			return;
	*h = holders[--nholders];	/* nobody holds anything: forget it */
}
