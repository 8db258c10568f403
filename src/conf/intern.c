/*
 * Interned strings.  The string values of VM configurations repeat: the
 * same owner, loader, defaults and template values in thousands of VMs,
 * and a VM's name is also its section's.  Each text is kept once with a
 * count of its holders, and goes when the last one drops it.  A load
 * may run in a worker thread while the daemon frees configurations:
 * the table takes a lock.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "xmalloc.h"

struct istr {
	size_t		 is_refs;
	uint64_t	 is_hash;
	char		 is_s[];
};

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static struct istr	**tab;		/* open addressing, linear probes */
static size_t		 ntab, captab;	/* captab: 0 or a power of two */

/*
 * A user's file is parsed in a forked child, which interns: forked while
 * the daemon's thread held the lock (freeing a VM's configuration), it
 * would wait until killed at its deadline, and her file not load.
 */
static void
fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void
fork_done(void)
{
	pthread_mutex_unlock(&lock);
}

static void
at_fork(void)
{
	(void)pthread_atfork(fork_prepare, fork_done, fork_done);
}

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct istr *
of(const char *s)
{
	return (struct istr *)(uintptr_t)(s - offsetof(struct istr, is_s));
}

/* The slot of s, or the empty slot where it would go. */
static size_t
slot(const char *s, uint64_t h)
{
	size_t i;

	for (i = h & (captab - 1); tab[i] != NULL; i = (i + 1) & (captab - 1))
		if (tab[i]->is_hash == h && strcmp(tab[i]->is_s, s) == 0)
			break;
	return i;
}

static void
grow(void)
{
	struct istr **old = tab;
	size_t i, n = captab;

	captab = captab ? captab * 2 : 64;
	tab = xcalloc(captab, sizeof(*tab));
	for (i = 0; i < n; i++)
		if (old[i] != NULL)
			tab[slot(old[i]->is_s, old[i]->is_hash)] = old[i];
	free(old);
}

char *
intern(const char *s)
{
	struct istr *is;
	uint64_t h;
	size_t i, len;

	if (s == NULL)
		return NULL;
	h = hash(s);
	pthread_once(&once, at_fork);
	pthread_mutex_lock(&lock);
	if ((ntab + 1) * 4 > captab * 3)
		grow();
	if ((is = tab[i = slot(s, h)]) == NULL) {
		len = strlen(s) + 1;
		is = xmalloc(sizeof(*is) + len);
		is->is_refs = 0;
		is->is_hash = h;
		memcpy(is->is_s, s, len);
		tab[i] = is;
		ntab++;
	}
	is->is_refs++;
	pthread_mutex_unlock(&lock);
	return is->is_s;
}

/* Close the gap at i: later entries of the run move back if they may. */
static void
unlink_at(size_t i)
{
	size_t j = i, home;

	tab[i] = NULL;
	for (;;) {
		j = (j + 1) & (captab - 1);
		if (tab[j] == NULL)
			return;
		home = tab[j]->is_hash & (captab - 1);
		/* tab[j] may fill i unless its home lies in (i, j] */
		if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		tab[i] = tab[j];
		tab[j] = NULL;
		i = j;
	}
}

void
intern_drop(const char *s)
{
	struct istr *is;

	if (s == NULL)
		return;
	is = of(s);
	pthread_mutex_lock(&lock);
	if (--is->is_refs == 0) {
		unlink_at(slot(is->is_s, is->is_hash));
		ntab--;
		free(is);
	}
	pthread_mutex_unlock(&lock);
}

size_t
intern_count(void)
{
	size_t n;

	pthread_mutex_lock(&lock);
	n = ntab;
	pthread_mutex_unlock(&lock);
	return n;
}
