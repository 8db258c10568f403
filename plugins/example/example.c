/*
 * example: the smallest useful bmd plugin, showing the ABI.  It adds two
 * keys:
 *
 *	example_refuse = yes;	prestart refuses to start the VM
 *	example_delay = N;	prestart answers after N seconds (a timer)
 *
 * and logs every state change at debug level.  Build: cc -shared -fPIC
 * -Iinclude example.c -o example.so, then put it in the plugin directory.
 * It includes only <bmd/plugin.h> and calls only the bmd_* functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bmd/plugin.h>

extern const struct bmd_plugin bmd_plugin;

/* A prestart answered later: one per VM waiting for its timer. */
struct delayed {
	struct bmd_vm		*d_vm;	/* valid until we answer */
	struct bmd_watch	*d_timer;
	struct delayed		*d_next;
};

static struct delayed *delayed;

/* A key check: the type (integer) was checked already. */
static int
check_delay(const struct bmd_keycheck *kc, char *err, size_t errlen)
{
	long long v = strtoll(kc->kc_value, NULL, 10);

	if (v < 0 || v > 3600) {
		snprintf(err, errlen, "%lld is not between 0 and 3600 seconds",
		    v);
		return -1;
	}
	return 0;
}

static const struct bmd_key keys[] = {
	{ .bk_name = "example_refuse", .bk_type = BMD_KEY_BOOLEAN,
	  .bk_default = "no", .bk_help = "the example plugin refuses starts" },
	{ .bk_name = "example_delay", .bk_type = BMD_KEY_INTEGER,
	  .bk_default = "0", .bk_check = check_delay,
	  .bk_help = "seconds the example plugin delays starts" },
	{ .bk_name = NULL }
};

static void
delay_over(void *arg)
{
	struct delayed *d = arg, **pp;

	for (pp = &delayed; *pp != d; pp = &(*pp)->d_next)
		;
	*pp = d->d_next;
	bmd_log(BMD_LOG_INFO, "vm %s: delay over", bmd_vm_str(d->d_vm,
	    "name", 0));
	bmd_prestart_done(&bmd_plugin, d->d_vm, 1, NULL);
	free(d);
}

static int
example_prestart(struct bmd_vm *vm, char *why, size_t whylen)
{
	struct delayed *d;
	long long refuse = 0, delay = 0;

	bmd_vm_int(vm, "example_refuse", 0, &refuse);
	bmd_vm_int(vm, "example_delay", 0, &delay);
	if (refuse) {
		snprintf(why, whylen, "example_refuse is set");
		return -1;
	}
	if (delay <= 0)
		return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return 0;
	d->d_vm = vm;
	if ((d->d_timer = bmd_watch_timer(delay * 1000, delay_over, d)) ==
	    NULL) {
		free(d);
		return 0;
	}
	d->d_next = delayed;
	delayed = d;
	bmd_log(BMD_LOG_INFO, "vm %s: starting in %lld s",
	    bmd_vm_str(vm, "name", 0), delay);
	return 1;
}

static void
example_status(struct bmd_vm *vm, int from, int to)
{
	bmd_log(BMD_LOG_DEBUG, "vm %s: %s -> %s", bmd_vm_str(vm, "name", 0),
	    bmd_state_name(from), bmd_state_name(to));
}

static int
example_init(void)
{
	bmd_log(BMD_LOG_INFO, "ready");
	return 0;
}

/* The daemon removes the timers left; only the memory is ours. */
static void
example_fini(void)
{
	struct delayed *d;

	while ((d = delayed) != NULL) {
		delayed = d->d_next;
		free(d);
	}
}

const struct bmd_plugin bmd_plugin = {
	BMD_PLUGIN_HEADER,
	.bp_name = "example",
	.bp_version = "1.0",
	.bp_keys = keys,
	.bp_initialize = example_init,
	.bp_finalize = example_fini,
	.bp_status_change = example_status,
	.bp_prestart = example_prestart,
};
