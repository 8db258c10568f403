/* The static rows of the key table (keytable.c); keys.c indexes them. */
#ifndef BMD_KEYTABLE_H
#define BMD_KEYTABLE_H

#include "keys.h"

extern const struct conf_key keytable_vm[];
extern const size_t keytable_nvm;
extern const struct conf_key keytable_global[];
extern const size_t keytable_nglobal;

#endif
