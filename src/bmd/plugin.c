/*
 * Plugins in the daemon: initialize and finalize them, call their hooks
 * at the life-cycle points fsm.c reaches, and collect the answers of the
 * prestart and poststop hooks that answer later.  The descriptors were
 * loaded and their keys registered with the first configuration load
 * (src/conf/plugin_keys.c); the API plugins call is in plugin_api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <bmd/plugin.h>

#include "bmd.h"
#include "log.h"
#include "plugin_keys.h"
#include "proto.h"
#include "xmalloc.h"

/* The exported states are the daemon's own, in the same order. */
_Static_assert((int)BMD_TERMINATE == (int)VS_TERMINATE &&
    (int)BMD_PRESTART == (int)VS_PRESTART && (int)BMD_LOAD == (int)VS_LOAD &&
    (int)BMD_RUN == (int)VS_RUN && (int)BMD_STOP == (int)VS_STOP &&
    (int)BMD_REMOVE == (int)VS_REMOVE && (int)BMD_RESTART == (int)VS_RESTART &&
    (int)BMD_POSTSTOP == (int)VS_POSTSTOP && (int)BMD_FAILED == (int)VS_FAILED,
    "enum bmd_vm_state differs from enum vm_state");

#define WHY_MAX	512

/* What the plugins of one VM owe it, and who waits for the result. */
struct pvm {
	struct vm	*pv_vm;
	unsigned char	*pv_pre;	/* per plugin: prestart answer owed */
	unsigned char	*pv_post;	/* per plugin: poststop answer owed */
	int		 pv_npre, pv_npost;
	int		 pv_refused;
	char		*pv_why;	/* the first refusal */
	int		 pv_cancel;	/* a stop came while in PRESTART */
	enum vm_after	 pv_after;	/* what the stop asked for */
	struct ctl_wait	*pv_wait;	/* a boot request waiting */
	int		 pv_own;	/* bmd's own check owes an answer */
	struct event	*pv_ev;		/* delivers the answers, later */
	enum vm_event	 pv_evtype;
};

static struct plugin	*plugins;
static size_t		 nplugins;
static struct plugin	*current;	/* whose code runs now */
static int		 entered;	/* nesting of plugin_enter */
static char		**arena;	/* strings handed out meanwhile */
static size_t		 narena, caparena;
static struct pvm	**pvms;
static size_t		 npvms, cappvms;

/* ---- who runs: log prefix and the lifetime of returned strings ---- */

struct plugin *
plugin_enter(struct plugin *p)
{
	struct plugin *prev = current;

	current = p;
	entered++;
	return prev;
}

void
plugin_leave(struct plugin *prev)
{
	size_t i;

	current = prev;
	if (--entered > 0)
		return;
	for (i = 0; i < narena; i++)
		free(arena[i]);
	narena = 0;
}

struct plugin *
plugin_current(void)
{
	return current;
}

/* A string the plugin may use until its hook or callback returns. */
const char *
plugin_keep(char *s)
{
	if (s == NULL)
		return NULL;
	ARRAY_GROW(arena, narena, caparena);
	arena[narena++] = s;
	return s;
}

static struct plugin *
plugin_by_desc(const struct bmd_plugin *d)
{
	size_t i;

	for (i = 0; i < nplugins; i++)
		if (plugins[i].p_desc == d)
			return &plugins[i];
	return NULL;
}

/* ---- start and exit ---- */

/* Daemon start, once the event loop exists: spec 6.1. */
void
plugin_init_all(void)
{
	const struct conf_plugin *cp;
	struct plugin *p, *prev;
	size_t i;
	int rc;

	nplugins = conf_plugins_count();
	plugins = xcalloc(nplugins + 1, sizeof(*plugins));
	for (i = 0; i < nplugins; i++) {
		cp = conf_plugin_at(i);
		p = &plugins[i];
		p->p_desc = cp->cp_desc;
		p->p_file = cp->cp_file;
		p->p_index = i;
		rc = 0;
		if (p->p_desc->bp_initialize != NULL) {
			prev = plugin_enter(p);
			rc = p->p_desc->bp_initialize();
			plugin_leave(prev);
		}
		if (rc < 0) {
			log_warnx("plugin %s: failed to initialize; disabled "
			    "(its keys are accepted and ignored)", p->p_file);
			continue;
		}
		p->p_on = 1;
		log_info("load plugin %s %s", p->p_desc->bp_name, p->p_file);
	}
}

void
plugin_fini_all(void)
{
	struct plugin *p, *prev;
	size_t i;

	for (i = 0; i < nplugins; i++) {
		p = &plugins[i];
		if (!p->p_on)
			continue;
		if (p->p_desc->bp_finalize != NULL) {
			prev = plugin_enter(p);
			p->p_desc->bp_finalize();
			plugin_leave(prev);
		}
		p->p_on = 0;
		api_drop_watches(p);
	}
}

/* ---- per-VM records ---- */

static struct pvm *
pvm_find(const struct vm *vm)
{
	size_t i;

	for (i = 0; i < npvms; i++)
		if (pvms[i]->pv_vm == vm)
			return pvms[i];
	return NULL;
}

static struct pvm *
pvm_get(struct vm *vm)
{
	struct pvm *pv;

	if ((pv = pvm_find(vm)) != NULL)
		return pv;
	pv = xcalloc(1, sizeof(*pv));
	pv->pv_vm = vm;
	pv->pv_pre = xcalloc(nplugins + 1, 1);
	pv->pv_post = xcalloc(nplugins + 1, 1);
	ARRAY_GROW(pvms, npvms, cappvms);
	pvms[npvms++] = pv;
	return pv;
}

/* vm_delete: nothing may refer to the VM any more. */
void
plugin_vm_gone(struct vm *vm)
{
	struct pvm *pv;
	size_t i;

	for (i = 0; i < npvms; i++)
		if (pvms[i]->pv_vm == vm)
			break;
	if (i == npvms)
		return;
	pv = pvms[i];
	pvms[i] = pvms[--npvms];
	if (pv->pv_wait != NULL)
		control_answer(pv->pv_wait, proto_reply_error("vm %s was "
		    "removed", vm->vm_conf->vc_name));
	if (pv->pv_ev != NULL)
		event_free(pv->pv_ev);
	free(pv->pv_pre);
	free(pv->pv_post);
	free(pv->pv_why);
	free(pv);
}

/* ---- hooks ---- */

void
plugin_status_change(struct vm *vm, enum vm_state from, enum vm_state to)
{
	struct plugin *p, *prev;
	size_t i;

	for (i = 0; i < nplugins; i++) {
		p = &plugins[i];
		if (!p->p_on || p->p_desc->bp_status_change == NULL)
			continue;
		prev = plugin_enter(p);
		p->p_desc->bp_status_change((struct bmd_vm *)vm, (int)from,
		    (int)to);
		plugin_leave(prev);
	}
}

void
plugin_reload(struct vm *vm)
{
	struct plugin *p, *prev;
	size_t i;

	for (i = 0; i < nplugins; i++) {
		p = &plugins[i];
		if (!p->p_on || p->p_desc->bp_reload == NULL)
			continue;
		prev = plugin_enter(p);
		p->p_desc->bp_reload((struct bmd_vm *)vm);
		plugin_leave(prev);
	}
}

/* Spec 6.2: each refusing plugin is logged; the first one is the reason. */
static void
refuse(struct pvm *pv, const struct plugin *p, const char *why)
{
	if (why == NULL || why[0] == '\0')
		why = "refused";
	log_warnx("vm %s: plugin %s prevents the start: %s",
	    pv->pv_vm->vm_conf->vc_name, p->p_desc->bp_name, why);
	if (pv->pv_refused++ == 0)
		pv->pv_why = xprintf("plugin %s: %s", p->p_desc->bp_name, why);
}

/* PRESTART without the hooks (a restart in place): nothing owed yet. */
void
plugin_prestart_again(struct vm *vm)
{
	struct pvm *pv = pvm_get(vm);

	free(pv->pv_why);
	pv->pv_why = NULL;
	pv->pv_refused = pv->pv_cancel = pv->pv_npre = pv->pv_own = 0;
	memset(pv->pv_pre, 0, nplugins);
}

/* 0: every plugin agreed; -1: refused; 1: answers are owed. */
int
plugin_prestart(struct vm *vm)
{
	struct pvm *pv = pvm_get(vm);
	struct plugin *p, *prev;
	char why[WHY_MAX];
	size_t i;
	int r;

	plugin_prestart_again(vm);
	for (i = 0; i < nplugins; i++) {
		p = &plugins[i];
		if (!p->p_on || p->p_desc->bp_prestart == NULL)
			continue;
		why[0] = '\0';
		prev = plugin_enter(p);
		r = p->p_desc->bp_prestart((struct bmd_vm *)vm, why,
		    sizeof(why));
		plugin_leave(prev);
		why[sizeof(why) - 1] = '\0';
		if (r < 0)
			refuse(pv, p, why);
		else if (r > 0) {
			pv->pv_pre[i] = 1;
			pv->pv_npre++;
		}
	}
	if (pv->pv_npre > 0)
		return 1;
	return pv->pv_refused ? -1 : 0;
}

static void	deliver(struct pvm *, enum vm_event);

/*
 * bmd's own part of PRESTART (owner_io.c), alongside the plugins': owed
 * after plugin_prestart, then answered, refusing with a reason or not.
 */
void
plugin_prestart_owe(struct vm *vm)
{
	struct pvm *pv = pvm_get(vm);

	pv->pv_own = 1;
	pv->pv_npre++;
}

void
plugin_prestart_refuse(struct vm *vm, const char *why)
{
	struct pvm *pv = pvm_get(vm);

	if (pv->pv_refused++ == 0)
		pv->pv_why = xstrdup(why != NULL ? why : "refused");
}

void
plugin_prestart_answer(struct vm *vm, const char *refusal)
{
	struct pvm *pv = pvm_find(vm);

	if (pv == NULL || !pv->pv_own)
		return;
	pv->pv_own = 0;
	if (refusal != NULL)
		plugin_prestart_refuse(vm, refusal);
	if (--pv->pv_npre == 0)
		deliver(pv, VE_PRESTART_DONE);
}

/* 0: done; 1: answers are owed. */
int
plugin_poststop(struct vm *vm)
{
	struct pvm *pv = pvm_get(vm);
	struct plugin *p, *prev;
	size_t i;

	pv->pv_npost = 0;
	memset(pv->pv_post, 0, nplugins);
	for (i = 0; i < nplugins; i++) {
		p = &plugins[i];
		if (!p->p_on || p->p_desc->bp_poststop == NULL)
			continue;
		prev = plugin_enter(p);
		if (p->p_desc->bp_poststop((struct bmd_vm *)vm) > 0) {
			pv->pv_post[i] = 1;
			pv->pv_npost++;
		}
		plugin_leave(prev);
	}
	return pv->pv_npost > 0;
}

int
plugin_prestart_ok(const struct vm *vm)
{
	const struct pvm *pv = pvm_find(vm);

	return pv == NULL || !pv->pv_refused;
}

const char *
plugin_refusal(const struct vm *vm)
{
	const struct pvm *pv = pvm_find(vm);

	return pv != NULL && pv->pv_refused ? pv->pv_why : NULL;
}

/* A stop, removal or restart asked for while in PRESTART. */
void
plugin_prestart_cancel(struct vm *vm, enum vm_after after)
{
	struct pvm *pv = pvm_get(vm);

	if (!pv->pv_cancel || pv->pv_after != AFTER_REMOVE)
		pv->pv_after = after;
	pv->pv_cancel = 1;
}

int
plugin_prestart_cancelled(const struct vm *vm, enum vm_after *after)
{
	const struct pvm *pv = pvm_find(vm);

	if (pv == NULL || !pv->pv_cancel)
		return 0;
	*after = pv->pv_after;
	return 1;
}

/* ---- answers given later ---- */

/* The last answer came: tell the state machine from the event loop. */
static void
answers_in(int fd, short what, void *arg)
{
	struct pvm *pv = arg;
	struct vm *vm = pv->pv_vm;
	struct ctl_wait *w = NULL;
	char *err = NULL;

	if (pv->pv_evtype == VE_PRESTART_DONE) {
		w = pv->pv_wait;
		pv->pv_wait = NULL;
		if (pv->pv_cancel)
			err = xstrdup("stopped before prestart finished");
		else if (pv->pv_refused)
			err = xstrdup(pv->pv_why);
	}
	/* A refused or cancelled VM may be deleted here: pv with it. */
	vm_event(vm, pv->pv_evtype);
	if (w != NULL) {
		if (err == NULL && vm->vm_state != VS_LOAD &&
		    vm->vm_state != VS_RUN)
			err = xstrdup(run_error() != NULL ? run_error() :
			    "failed to start");
		control_answer(w, err != NULL ? proto_reply_error("%s", err) :
		    proto_reply_ok());
	}
	free(err);
}

static void
deliver(struct pvm *pv, enum vm_event ev)
{
	struct timeval now = { 0, 0 };

	if (pv->pv_ev == NULL)
		pv->pv_ev = evtimer_new(bmd.b_base, answers_in, pv);
	pv->pv_evtype = ev;
	evtimer_add(pv->pv_ev, &now);
}

/* An answer for a VM that does not wait for one from this plugin. */
static int
stray(const struct plugin *p, const char *what)
{
	log_warnx("plugin %s: %s answer for a VM that does not wait for it; "
	    "ignored", p != NULL ? p->p_desc->bp_name : "?", what);
	return 1;
}

void
bmd_prestart_done(const struct bmd_plugin *self, struct bmd_vm *bvm, int ok,
    const char *why)
{
	struct plugin *p = plugin_by_desc(self);
	struct pvm *pv = pvm_find((struct vm *)bvm);

	if (p == NULL || pv == NULL || !pv->pv_pre[p->p_index]) {
		stray(p, "prestart");
		return;
	}
	pv->pv_pre[p->p_index] = 0;
	if (!ok)
		refuse(pv, p, why);
	if (--pv->pv_npre == 0)
		deliver(pv, VE_PRESTART_DONE);
}

void
bmd_poststop_done(const struct bmd_plugin *self, struct bmd_vm *bvm)
{
	struct plugin *p = plugin_by_desc(self);
	struct pvm *pv = pvm_find((struct vm *)bvm);

	if (p == NULL || pv == NULL || !pv->pv_post[p->p_index]) {
		stray(p, "poststop");
		return;
	}
	pv->pv_post[p->p_index] = 0;
	if (--pv->pv_npost == 0)
		deliver(pv, VE_POSTSTOP_DONE);
}

/*
 * bmdctl boot and install: post VE_BOOT, with no refusal left over from
 * an earlier start (plugin_refusal() then tells why this one failed).
 */
int
plugin_boot(struct vm *vm)
{
	struct pvm *pv = pvm_find(vm);

	if (pv != NULL) {
		free(pv->pv_why);
		pv->pv_why = NULL;
		pv->pv_refused = 0;
	}
	return vm_event(vm, VE_BOOT);
}

/*
 * A boot that went well so far: 1 if its reply (w) waits for the
 * prestart hooks, which then answer it; 0: answer it now.
 */
int
plugin_boot_wait(struct vm *vm, struct ctl_wait *w)
{
	struct pvm *pv;

	if (vm->vm_state != VS_PRESTART || (pv = pvm_find(vm)) == NULL ||
	    pv->pv_wait != NULL)
		return 0;
	pv->pv_wait = w;
	return 1;
}
