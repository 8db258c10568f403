/*
 * The functions bmd exports to plugins (include/bmd/plugin.h; the export
 * list is plugin.exports): reading a VM through the key table, the VM_*
 * environment, event-loop watches, child processes and logging.
 */
#include <sys/queue.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include <bmd/plugin.h>

#include "bmd.h"
#include "keys.h"
#include "log.h"
#include "xmalloc.h"


#define VM(bvm)		((const struct vm *)(bvm))

/* ---- reading a VM ---- */

/* "key" or "key.field", split; the key is "" if the name is too long. */
struct keyref {
	char		 kr_key[64];
	const char	*kr_field;	/* NULL: the whole value */
};

static void
split_key(const char *name, struct keyref *kr)
{
	const char *dot = strchr(name, '.');
	size_t n = dot != NULL ? (size_t)(dot - name) : strlen(name);

	kr->kr_key[0] = '\0';
	kr->kr_field = dot != NULL ? dot + 1 : NULL;
	if (n < sizeof(kr->kr_key)) {
		memcpy(kr->kr_key, name, n);
		kr->kr_key[n] = '\0';
	}
}

/* The tap of network i while the VM runs (net.c); NULL: none (vale). */
static const char *
tap_name(const struct vm *vm, size_t i)
{
	struct be_params bp;

	if (vm->vm_run == NULL || vm->vm_run->rn_taps == NULL)
		return NULL;
	memset(&bp, 0, sizeof(bp));
	net_params(vm, &bp);
	return bp.bp_taps != NULL && i < bp.bp_ntaps ? bp.bp_taps[i] : NULL;
}

static size_t
tap_count(const struct vm *vm)
{
	struct be_params bp;

	if (vm->vm_run == NULL || vm->vm_run->rn_taps == NULL)
		return 0;
	memset(&bp, 0, sizeof(bp));
	net_params(vm, &bp);
	return bp.bp_ntaps;
}

/* A runtime fact as text; NULL if fact is not one (or has no value). */
static char *
fact_text(const struct vm *vm, const char *fact, int *known)
{
	const struct vm_conf *vc = vm->vm_conf;

	*known = 1;
	if (strcmp(fact, "name") == 0)
		return xstrdup(vc->vc_name);
	if (strcmp(fact, "id") == 0)
		return xprintf("%d", vc->vc_id);
	if (strcmp(fact, "state") == 0)
		return xstrdup(vm_state_name(vm->vm_state));
	if (strcmp(fact, "pid") == 0)
		return xprintf("%ld", (long)vm->vm_pid);
	if (strcmp(fact, "uid") == 0)
		return xprintf("%lu", (unsigned long)vc->vc_owner);
	if (strcmp(fact, "gid") == 0)
		return vc->vc_group == (gid_t)-1 ? xstrdup("-1") :
		    xprintf("%lu", (unsigned long)vc->vc_group);
	if (strcmp(fact, "user") == 0)
		return vc->vc_owner_name ? xstrdup(vc->vc_owner_name) : NULL;
	if (strcmp(fact, "group") == 0)
		return vc->vc_group_name ? xstrdup(vc->vc_group_name) : NULL;
	if (strcmp(fact, "file") == 0)
		return vc->vc_file ? xstrdup(vc->vc_file) : NULL;
	if (strcmp(fact, "install") == 0)
		return xprintf("%d", vm->vm_install || vc->vc_install);
	if (strcmp(fact, "pending") == 0)
		return xprintf("%d", vm->vm_pending != NULL);
	*known = 0;
	return NULL;
}

static const struct conf_key *
find_key(const char *name)
{
	const struct conf_key *k = keys_find(name);

	return k != NULL && !(k->k_flags & KEY_HIDDEN) ? k : NULL;
}

static size_t
value_count(const struct conf_key *k, const struct vm_conf *vc)
{
	json_t *j;
	size_t n;

	if (k->k_flags & KEY_LIST)
		return ((const struct clist *)key_cptr(k, vc))->l_n;
	j = key_json(k, vc);
	n = json_is_null(j) ? 0 : 1;
	json_decref(j);
	return n;
}

static const void *
item_ptr(const struct conf_key *k, const struct vm_conf *vc, size_t i)
{
	const struct clist *l = key_cptr(k, vc);

	return (const char *)l->l_v + i * k->k_type->t_size;
}

/* The JSON view of value i (a new reference), or NULL. */
static json_t *
value_json(const struct conf_key *k, const struct vm_conf *vc, size_t i)
{
	if (i >= value_count(k, vc))
		return NULL;
	if (k->k_flags & KEY_LIST)
		return k->k_type->t_json(k, item_ptr(k, vc, i));
	return key_json(k, vc);
}

/* A JSON scalar as text (booleans as yes/no, as show config prints). */
static char *
json_text(const json_t *j)
{
	if (json_is_string(j))
		return xstrdup(json_string_value(j));
	if (json_is_integer(j))
		return xprintf("%lld", (long long)json_integer_value(j));
	if (json_is_real(j))
		return xprintf("%g", json_real_value(j));
	if (json_is_boolean(j))
		return xstrdup(json_is_true(j) ? "yes" : "no");
	return NULL;
}

/* Value i of key (or of key.field) as text; NULL if none. */
static char *
value_text(const struct vm *vm, const char *name, size_t i)
{
	const struct vm_conf *vc = vm->vm_conf;
	const struct conf_key *k;
	struct keyref kr;
	struct buf b;
	json_t *j;
	char *s;
	int known;

	split_key(name, &kr);
	if (strcmp(name, "tap") == 0)
		return tap_name(vm, i) != NULL ? xstrdup(tap_name(vm, i)) : NULL;
	if (kr.kr_field == NULL && (s = fact_text(vm, name, &known), known))
		return i == 0 ? s : (free(s), NULL);
	if ((k = find_key(kr.kr_key)) == NULL || i >= value_count(k, vc))
		return NULL;
	if (kr.kr_field != NULL) {
		j = value_json(k, vc, i);
		s = json_text(json_object_get(j, kr.kr_field));
		json_decref(j);
		return s;
	}
	buf_init(&b);
	if (k->k_flags & KEY_LIST)
		k->k_type->t_text(k, item_ptr(k, vc, i), &b);
	else
		key_text(k, vc, &b);
	return buf_release(&b);
}

int
bmd_vm_count(const struct bmd_vm *bvm, const char *name)
{
	const struct conf_key *k;
	struct keyref kr;
	char *s;
	int known;

	split_key(name, &kr);
	if (strcmp(name, "tap") == 0)
		return (int)tap_count(VM(bvm));
	if (kr.kr_field == NULL) {
		s = fact_text(VM(bvm), name, &known);
		free(s);
		if (known)
			return s != NULL;
	}
	if ((k = find_key(kr.kr_key)) == NULL)
		return -1;
	return (int)value_count(k, VM(bvm)->vm_conf);
}

int
bmd_vm_isset(const struct bmd_vm *bvm, const char *name)
{
	struct keyref kr;
	const struct conf_key *k;

	split_key(name, &kr);
	if ((k = find_key(kr.kr_key)) == NULL)
		return 0;
	return key_isset(k, VM(bvm)->vm_conf) != 0;
}

const char *
bmd_vm_str(const struct bmd_vm *bvm, const char *name, size_t i)
{
	return plugin_keep(value_text(VM(bvm), name, i));
}

/* A number from a JSON scalar: integers, booleans, numeric strings. */
static int
json_number(const json_t *j, long long *out)
{
	const char *s;
	char *end;

	if (json_is_integer(j) || json_is_boolean(j)) {
		*out = json_is_boolean(j) ? json_is_true(j) :
		    json_integer_value(j);
		return 0;
	}
	if ((s = json_string_value(j)) == NULL || *s == '\0')
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

int
bmd_vm_int(const struct bmd_vm *bvm, const char *name, size_t i,
    long long *out)
{
	const struct conf_key *k;
	struct keyref kr;
	json_t *j, *v;
	char *s;
	int known, rc;

	split_key(name, &kr);
	if (kr.kr_field == NULL && (s = fact_text(VM(bvm), name, &known),
	    known)) {
		v = s != NULL && i == 0 ? json_string(s) : NULL;
		free(s);
		rc = json_number(v, out);
		json_decref(v);
		return rc;
	}
	if ((k = find_key(kr.kr_key)) == NULL ||
	    (j = value_json(k, VM(bvm)->vm_conf, i)) == NULL)
		return -1;
	/* memory: bytes; ncpu.cpus, disk.readonly: a field */
	v = kr.kr_field != NULL ? json_object_get(j, kr.kr_field) : j;
	rc = json_number(v, out);
	json_decref(j);
	return rc;
}

struct bmd_vm *
bmd_vm_find(const char *name)
{
	return (struct bmd_vm *)vm_find(name);
}

const char *
bmd_state_name(int state)
{
	return vm_state_name((enum vm_state)state);
}

/* ---- the VM_* environment (documented in bmd-hookcmd(8)) ---- */

struct env {
	char	**e_v;
	size_t	  e_n, e_cap;
};

static void
env_add(struct env *e, const char *name, const char *value)
{
	char *s = xprintf("VM_%s=%s", name, value);
	char *p;

	/* names are upper case; the value stays as it is */
	for (p = s + 3; *p != '='; p++)
		*p = (char)toupper((unsigned char)*p);
	ARRAY_GROW(e->e_v, e->e_n, e->e_cap);
	e->e_v[e->e_n++] = s;
}

/* JSON scalars in the environment: booleans are true/false (spec 6.5). */
static void
env_json(struct env *e, const char *name, const json_t *j)
{
	char *s;

	if (json_is_boolean(j))
		env_add(e, name, json_is_true(j) ? "true" : "false");
	else if ((s = json_text(j)) != NULL) {
		env_add(e, name, s);
		free(s);
	}
}

/* VM_<NAME>_<FIELD> for each field of a composite value. */
static void
env_fields(struct env *e, const char *name, const json_t *obj)
{
	const char *field;
	json_t *v;
	char *n;

	json_object_foreach((json_t *)obj, field, v) {
		if (json_is_null(v) || json_is_object(v) || json_is_array(v))
			continue;
		n = xprintf("%s_%s", name, field);
		env_json(e, n, v);
		free(n);
	}
}

/* A list key: VM_N<KEY>S, then VM_<KEY><n> (and its fields), n from 1. */
static void
env_list(struct env *e, const struct conf_key *k, const struct vm_conf *vc)
{
	const struct clist *l = key_cptr(k, vc);
	struct buf b;
	json_t *j;
	char *n;
	size_t i;

	n = xprintf("N%sS", k->k_name);
	buf_init(&b);
	buf_printf(&b, "%zu", l->l_n);
	env_add(e, n, buf_str(&b));
	free(n);
	for (i = 0; i < l->l_n; i++) {
		n = xprintf("%s%zu", k->k_name, i + 1);
		buf_reset(&b);
		k->k_type->t_text(k, item_ptr(k, vc, i), &b);
		env_add(e, n, buf_str(&b));
		j = k->k_type->t_json(k, item_ptr(k, vc, i));
		if (json_is_object(j))
			env_fields(e, n, j);
		json_decref(j);
		free(n);
	}
	buf_free(&b);
}

/* A scalar key: VM_<KEY> as show config prints it (and its fields). */
static void
env_scalar(struct env *e, const struct conf_key *k, const struct vm_conf *vc)
{
	json_t *j = key_json(k, vc);
	struct buf b;

	if (json_is_boolean(j))
		env_json(e, k->k_name, j);
	else if (!json_is_null(j)) {
		buf_init(&b);
		key_text(k, vc, &b);
		env_add(e, k->k_name, buf_str(&b));
		buf_free(&b);
		if (json_is_object(j))
			env_fields(e, k->k_name, j);
	}
	json_decref(j);
}

char **
bmd_vm_env(const struct bmd_vm *bvm)
{
	const struct vm *vm = VM(bvm);
	const struct vm_conf *vc = vm->vm_conf;
	const struct conf_key *k;
	struct env e = { NULL, 0, 0 };
	char num[32];
	size_t i;

	snprintf(num, sizeof(num), "%d", vc->vc_id);
	env_add(&e, "ID", num);
	env_add(&e, "NAME", vc->vc_name);
	snprintf(num, sizeof(num), "%lu", (unsigned long)vc->vc_owner);
	env_add(&e, "OWNER", num);
	snprintf(num, sizeof(num), "%ld", vc->vc_group == (gid_t)-1 ? -1L :
	    (long)vc->vc_group);
	env_add(&e, "GROUP", num);
	if (vm->vm_pid > 0) {
		snprintf(num, sizeof(num), "%ld", (long)vm->vm_pid);
		env_add(&e, "PID", num);
	}
	for (i = 0; (k = keys_at(i)) != NULL; i++) {
		if ((k->k_flags & KEY_HIDDEN) || key_other_backend(k, vc))
			continue;
		if (k->k_flags & KEY_LIST)
			env_list(&e, k, vc);
		else
			env_scalar(&e, k, vc);
	}
	for (i = 0; i < tap_count(vm); i++)
		if (tap_name(vm, i) != NULL) {
			snprintf(num, sizeof(num), "NETWORK%zu_TAP", i + 1);
			env_add(&e, num, tap_name(vm, i));
		}
	ARRAY_GROW(e.e_v, e.e_n, e.e_cap);
	e.e_v[e.e_n] = NULL;
	return e.e_v;
}

void
bmd_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* ---- event-loop watches ---- */

enum watch_kind { W_FD, W_CHILD, W_TIMER };

struct bmd_watch {
	struct plugin	*w_plugin;
	enum watch_kind	 w_kind;
	struct event	*w_ev;		/* fd and timer */
	pid_t		 w_pid;		/* child */
	bmd_fd_cb	 w_fd_cb;
	bmd_child_cb	 w_child_cb;
	bmd_timer_cb	 w_timer_cb;
	void		*w_arg;
	LIST_ENTRY(bmd_watch) w_entry;
};

static LIST_HEAD(, bmd_watch) watches = LIST_HEAD_INITIALIZER(watches);
static int	nchildren;	/* child watches not yet fired */

static struct bmd_watch *
watch_new(enum watch_kind kind, void *arg)
{
	struct bmd_watch *w = xcalloc(1, sizeof(*w));

	w->w_plugin = plugin_current();
	w->w_kind = kind;
	w->w_arg = arg;
	LIST_INSERT_HEAD(&watches, w, w_entry);
	return w;
}

static void
watch_free(struct bmd_watch *w)
{
	LIST_REMOVE(w, w_entry);
	if (w->w_ev != NULL)
		event_free(w->w_ev);
	free(w);
}

static void
fd_ready(int fd, short what, void *arg)
{
	struct bmd_watch *w = arg;
	struct plugin *prev = plugin_enter(w->w_plugin);

	/* the callback may remove w */
	w->w_fd_cb(fd, ((what & EV_READ) ? BMD_EV_READ : 0) |
	    ((what & EV_WRITE) ? BMD_EV_WRITE : 0), w->w_arg);
	plugin_leave(prev);
}

struct bmd_watch *
bmd_watch_fd(int fd, int events, bmd_fd_cb cb, void *arg)
{
	struct bmd_watch *w;
	short what = EV_PERSIST;

	if (events & BMD_EV_READ)
		what |= EV_READ;
	if (events & BMD_EV_WRITE)
		what |= EV_WRITE;
	if (fd < 0 || cb == NULL || !(what & (EV_READ | EV_WRITE)))
		return NULL;
	w = watch_new(W_FD, arg);
	w->w_fd_cb = cb;
	w->w_ev = event_new(bmd.b_base, fd, what, fd_ready, w);
	if (w->w_ev == NULL || event_add(w->w_ev, NULL) == -1) {
		watch_free(w);
		return NULL;
	}
	return w;
}

static void
timer_fired(int fd, short what, void *arg)
{
	struct bmd_watch *w = arg;
	struct plugin *prev;

	LIST_REMOVE(w, w_entry);
	prev = plugin_enter(w->w_plugin);
	w->w_timer_cb(w->w_arg);
	plugin_leave(prev);
	event_free(w->w_ev);
	free(w);
}

struct bmd_watch *
bmd_watch_timer(long msec, bmd_timer_cb cb, void *arg)
{
	struct timeval tv;
	struct bmd_watch *w;

	if (cb == NULL)
		return NULL;
	if (msec < 0)
		msec = 0;
	tv.tv_sec = msec / 1000;
	tv.tv_usec = (msec % 1000) * 1000;
	w = watch_new(W_TIMER, arg);
	w->w_timer_cb = cb;
	if ((w->w_ev = evtimer_new(bmd.b_base, timer_fired, w)) == NULL ||
	    evtimer_add(w->w_ev, &tv) == -1) {
		watch_free(w);
		return NULL;
	}
	return w;
}

static void
child_reaped(pid_t pid, int status, void *arg)
{
	struct bmd_watch *w = arg;
	struct plugin *prev;

	LIST_REMOVE(w, w_entry);
	spawn_reaped(pid);
	prev = plugin_enter(w->w_plugin);
	w->w_child_cb(pid, status, w->w_arg);
	plugin_leave(prev);
	free(w);
	/* the callback may have started the next child first */
	nchildren--;
	bmd_check_done();
}

static void
recheck_fired(int fd, short what, void *arg)
{
	proc_sigchld();
}

/*
 * A child that exited before it was watched has had its SIGCHLD: look
 * again from the event loop (never from inside a hook).
 */
static void
recheck_children(void)
{
	static struct event *ev;
	struct timeval now = { 0, 0 };

	if (ev == NULL && (ev = evtimer_new(bmd.b_base, recheck_fired,
	    NULL)) == NULL)
		return;
	evtimer_add(ev, &now);
}

static void
reap_quietly(pid_t pid, int status, void *arg)
{
	log_debug("%s: plugin child %ld reaped", __func__, (long)pid);
	spawn_reaped(pid);
}

struct bmd_watch *
bmd_watch_child(pid_t pid, bmd_child_cb cb, void *arg)
{
	struct bmd_watch *w;

	if (pid <= 0 || cb == NULL)
		return NULL;
	w = watch_new(W_CHILD, arg);
	w->w_child_cb = cb;
	w->w_pid = pid;
	proc_watch(pid, child_reaped, w);
	nchildren++;
	recheck_children();
	return w;
}

void
bmd_unwatch(struct bmd_watch *w)
{
	if (w == NULL)
		return;
	if (w->w_kind == W_CHILD) {
		proc_unwatch(w->w_pid);
		proc_watch(w->w_pid, reap_quietly, NULL);
		nchildren--;
	}
	watch_free(w);
}

/* After finalize: whatever the plugin left behind goes. */
void
api_drop_watches(struct plugin *p)
{
	struct bmd_watch *w, *next;

	for (w = LIST_FIRST(&watches); w != NULL; w = next) {
		next = LIST_NEXT(w, w_entry);
		if (w->w_plugin == p)
			bmd_unwatch(w);
	}
}

/* Plugin children still running: the daemon waits for them to exit. */
int
api_children(void)
{
	return nchildren;
}

/* ---- messages ---- */

void
bmd_log(int level, const char *fmt, ...)
{
	static const int pri[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	struct plugin *p = plugin_current();
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (level < BMD_LOG_ERR || level > BMD_LOG_DEBUG)
		level = BMD_LOG_INFO;
	log_write(pri[level], "%s: %s", p != NULL ? p->p_desc->bp_name :
	    "plugin", msg != NULL ? msg : fmt);
	free(msg);
}
