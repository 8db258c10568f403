/* Configuration text (any bytes but NUL) as JSON, which wants UTF-8. */
#ifndef BMD_JSONTEXT_H
#define BMD_JSONTEXT_H

#include <jansson.h>

/*
 * s as a JSON string when it is valid UTF-8; otherwise {"hex": "..."},
 * its bytes in hexadecimal, so that nothing is ever dropped; NULL: null.
 */
json_t	*json_text(const char *s);
/* Is s valid UTF-8 (what a JSON string may hold)? */
int	 text_is_utf8(const char *s);

#endif
