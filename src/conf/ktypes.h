/* Value types of the key table (defined in ktypes.c and ktypes_dev.c). */
#ifndef BMD_KTYPES_H
#define BMD_KTYPES_H

#include "keys.h"

extern const struct conf_type kt_str, kt_path, kt_int, kt_bool, kt_enum,
    kt_memory, kt_ncpu, kt_com, kt_loader, kt_env, kt_passthru, kt_disk,
    kt_iso, kt_net, kt_sharefs, kt_cpupin, kt_hda, kt_tpm, kt_res,
    kt_vctmpl, kt_mode, kt_special, kt_limit, kt_limit_size,
    kt_who;

/* Small shared helpers. */
int	 kt_parse_ll(const char *, long long *);	/* whole string, base 10 */
int	 kt_parse_mac(const char *, uint8_t mac[6]);
void	 kt_str_free(void *);
void	 kt_str_copy(void *, const void *);
int	 kt_str_equal(const void *, const void *);
struct json_t *kt_str_json(const struct conf_key *, const void *);
void	 kt_str_text(const struct conf_key *, const void *, struct buf *);

#endif
