/*
 * Per-user quotas on running VMs (max_vms_per_user, max_memory_per_user,
 * max_ncpu_per_user): what the VMs of one owner other than root may add
 * up to while they run.  A start over a quota is refused with the
 * figures; root's VMs are never counted nor limited.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmd.h"
#include "jsontext.h"
#include "proto.h"
#include "sizetext.h"
#include "xmalloc.h"

struct qent {
	char		*q_who;		/* NULL: everyone; NAME or @GROUP */
	unsigned long	 q_id;		/* its uid or gid */
	long long	 q_value;
};

struct quota {
	const char	*qu_key;
	struct qent	*qu_v;
	size_t		 qu_n;
};

static struct quota quotas[QUOTA_COUNT] = {
	[QUOTA_VMS] = { "max_vms_per_user", NULL, 0 },
	[QUOTA_MEMORY] = { "max_memory_per_user", NULL, 0 },
	[QUOTA_NCPU] = { "max_ncpu_per_user", NULL, 0 },
};

static void
quota_copy(struct quota *q, const struct clist *l)
{
	const struct conf_limit *lm;
	size_t i;

	for (i = 0; i < q->qu_n; i++)
		free(q->qu_v[i].q_who);
	free(q->qu_v);
	q->qu_v = l->l_n > 0 ? xcalloc(l->l_n, sizeof(*q->qu_v)) : NULL;
	q->qu_n = l->l_n;
	for (i = 0; i < l->l_n; i++) {
		lm = CLIST_AT(l, struct conf_limit, i);
		q->qu_v[i].q_who = lm->lm_who != NULL ? xstrdup(lm->lm_who) :
		    NULL;
		q->qu_v[i].q_id = lm->lm_id;
		q->qu_v[i].q_value = lm->lm_value;
	}
}

void
quota_set(const struct global_conf *gc)
{
	quota_copy(&quotas[QUOTA_VMS], &gc->gc_max_vms_pu);
	quota_copy(&quotas[QUOTA_MEMORY], &gc->gc_max_memory_pu);
	quota_copy(&quotas[QUOTA_NCPU], &gc->gc_max_ncpu_pu);
}

void
quota_free(void)
{
	static const struct clist none;
	int k;

	for (k = 0; k < QUOTA_COUNT; k++)
		quota_copy(&quotas[k], &none);
}

static int
in_groups(unsigned long gid, const struct user_info *ui)
{
	int i;

	for (i = 0; ui != NULL && i < ui->ui_ngroups; i++)
		if (ui->ui_groups[i] == (gid_t)gid)
			return 1;
	return 0;
}

/* The more generous of two limits (LIMIT_NONE is the most). */
static long long
wider(long long a, long long b)
{
	if (a == LIMIT_NONE || b == LIMIT_NONE)
		return LIMIT_NONE;
	return a > b ? a : b;
}

/*
 * uid's limit of kind k: its USER:N if any, else the most generous
 * @GROUP:N of its groups, else the bare N (the last one written of
 * each), else none.  Users and groups are compared by their ids, found
 * when the configuration was loaded; uid's groups are those bmd knows
 * (users.c: each load looks up the owners), so no name service is asked
 * here.  A uid the name service does not know has no group.
 */
long long
quota_limit(enum quota_kind k, uid_t uid)
{
	const struct quota *q = &quotas[k];
	const struct user_info *ui;
	long long user = 0, group = 0, all = LIMIT_NONE;
	int have_user = 0, have_group = 0;
	size_t i;

	if (uid == 0 || q->qu_n == 0)
		return LIMIT_NONE;
	ui = users_get(uid);
	for (i = 0; i < q->qu_n; i++) {
		const struct qent *e = &q->qu_v[i];

		if (e->q_who == NULL)
			all = e->q_value;
		else if (e->q_who[0] == '@') {
			if (in_groups(e->q_id, ui)) {
				group = have_group ? wider(group, e->q_value) :
				    e->q_value;
				have_group = 1;
			}
		} else if (e->q_id == (unsigned long)uid) {
			user = e->q_value;
			have_user = 1;
		}
	}
	return have_user ? user : have_group ? group : all;
}

/* What uid's VMs hold while they run, but except's. */
void
quota_usage(uid_t uid, const struct vm *except, long long use[QUOTA_COUNT])
{
	const struct vm_conf *vc;
	struct vm *vm;
	size_t i;

	memset(use, 0, QUOTA_COUNT * sizeof(*use));
	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		if (vm == except || vm->vm_run == NULL ||
		    vm_ident(vm)->vc_owner != uid)
			continue;
		vc = vm->vm_conf;
		use[QUOTA_VMS]++;
		use[QUOTA_MEMORY] += (long long)vc->vc_memory.m_bytes;
		use[QUOTA_NCPU] += vc->vc_ncpu.nc_cpus;
	}
}

/* A size as written in bmd.conf: the largest unit that divides it. */
void
quota_size_text(long long n, char *buf, size_t len)
{
	if (!size_text(n, buf, len))
		snprintf(buf, len, "%lld bytes", n);
}

static int
refuse(const struct vm *vm, enum quota_kind k, long long used,
    long long want, long long max, char *why, size_t len)
{
	const struct vm_conf *vc = vm->vm_conf;
	char u[32], w[32], m[32];

	if (k == QUOTA_VMS)
		snprintf(why, len, "%s: %lld VM%s running, %s is %lld",
		    vc->vc_owner_name, used, used == 1 ? "" : "s",
		    quotas[k].qu_key, max);
	else if (k == QUOTA_MEMORY) {
		quota_size_text(used, u, sizeof(u));
		quota_size_text(want, w, sizeof(w));
		quota_size_text(max, m, sizeof(m));
		snprintf(why, len, "%s: %s of memory in running VMs, %s needs "
		    "%s more, %s is %s", vc->vc_owner_name, used == 0 ? "0" : u,
		    vc->vc_name, w, quotas[k].qu_key, m);
	} else
		snprintf(why, len, "%s: %lld vCPU%s in running VMs, %s needs "
		    "%lld more, %s is %lld", vc->vc_owner_name, used, used == 1 ?
		    "" : "s", vc->vc_name, want, quotas[k].qu_key, max);
	return -1;
}

/* May vm start (or start again) now?  -1 with why when not. */
int
quota_check(const struct vm *vm, char *why, size_t len)
{
	const struct vm_conf *vc = vm->vm_conf;
	uid_t uid = vm_ident(vm)->vc_owner;
	long long use[QUOTA_COUNT], want[QUOTA_COUNT], max;
	int k;

	if (uid == 0)
		return 0;
	quota_usage(uid, vm, use);
	want[QUOTA_VMS] = 1;
	want[QUOTA_MEMORY] = (long long)vc->vc_memory.m_bytes;
	want[QUOTA_NCPU] = vc->vc_ncpu.nc_cpus;
	for (k = 0; k < QUOTA_COUNT; k++) {
		max = quota_limit((enum quota_kind)k, uid);
		if (max != LIMIT_NONE && use[k] + want[k] > max)
			return refuse(vm, (enum quota_kind)k, use[k], want[k],
			    max, why, len);
	}
	return 0;
}

static json_t *
max_json(long long v)
{
	return v == LIMIT_NONE ? json_null() : json_integer((json_int_t)v);
}

static json_t *
user_json(uid_t uid, const char *name)
{
	long long use[QUOTA_COUNT];

	quota_usage(uid, NULL, use);
	return json_pack("{s:o,s:I,s:I,s:o,s:I,s:o,s:I,s:o}", "user",
	    json_text(name), "uid", (json_int_t)uid,
	    "vms", (json_int_t)use[QUOTA_VMS],
	    "max_vms", max_json(quota_limit(QUOTA_VMS, uid)),
	    "memory", (json_int_t)use[QUOTA_MEMORY],
	    "max_memory", max_json(quota_limit(QUOTA_MEMORY, uid)),
	    "ncpu", (json_int_t)use[QUOTA_NCPU],
	    "max_ncpu", max_json(quota_limit(QUOTA_NCPU, uid)));
}

/*
 * "limits": usage against the quotas of each owner other than root that
 * has VMs; a user other than root sees only her own line.
 */
json_t *
quota_cmd(struct ctl_req *rq, struct vm *unused)
{
	uid_t peer = rq->rq_cred->pc_uid, *seen = NULL, uid;
	json_t *r = proto_reply_ok(), *a = json_array();
	const struct vm_conf *id;
	struct vm *vm;
	size_t i, j, n = 0;

	for (i = 0; (vm = vm_at(i)) != NULL; i++) {
		id = vm_ident(vm);
		uid = id->vc_owner;
		if (uid == 0 || (peer != 0 && uid != peer))
			continue;
		for (j = 0; j < n && seen[j] != uid; j++)
			;
		if (j < n)
			continue;
		seen = xreallocarray(seen, n + 1, sizeof(*seen));
		seen[n++] = uid;
		json_array_append_new(a, user_json(uid, id->vc_owner_name));
	}
	free(seen);
	json_object_set_new(r, "users", a);
	return r;
}
