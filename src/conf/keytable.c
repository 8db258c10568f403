/* The rows of the key table: every VM and global key, its type and default. */
#include <limits.h>
#include <stddef.h>

#include "keytable.h"
#include "paths.h"
#include "ktypes.h"

static const char *const boot_names[] = { "no", "yes", "oneshot", "always",
    NULL };
static const char *const hb_names[] = { "none", "standard", "intel", "amd",
    NULL };
static const char *const backend_names[] = { "qemu", "bhyve", NULL };
static const char *const accel_names[] = { "auto", "kvm", "tcg", NULL };

#ifdef __FreeBSD__
#define DEFAULT_BACKEND "bhyve"
#else
#define DEFAULT_BACKEND "qemu"
#endif
/* bhyve -A and UEFI variable files depend on the FreeBSD release. */
#define STR(x)	#x
#define XSTR(x)	STR(x)
#if defined(__FreeBSD_version)
#define DEFAULT_FREEBSD_VERSION XSTR(__FreeBSD_version)
#else
#define DEFAULT_FREEBSD_VERSION "1500024"
#endif

#define VO(f)	offsetof(struct vm_conf, f)
#define GO(f)	offsetof(struct global_conf, f)
#define L	KEY_LIST
#define B	KEY_BHYVE
#define Q	KEY_QEMU
#define BIG	LLONG_MAX

/* name, alias, type, offset, flags, default, min, max, enum, help */
const struct conf_key keytable_vm[] = {
{ "name", NULL, &kt_special, VO(vc_name), KEY_HIDDEN, NULL, 0, 0, NULL,
  "VM name (default: the section name)", 0 },
{ "owner", NULL, &kt_special, VO(vc_owner_name), KEY_HIDDEN, NULL, 0, 0, NULL,
  "USER[:GROUP] that owns the VM", 0 },
{ "backend", NULL, &kt_enum, VO(vc_backend), 0, DEFAULT_BACKEND, 0, 0,
  backend_names, "hypervisor: qemu or bhyve", 0 },
{ "loader", NULL, &kt_loader, VO(vc_loader), 0, NULL, 0, 0, NULL,
  "boot loader: bios, uefi (qemu); bhyveload, grub, uefi, csm (bhyve)", 0 },
{ "accel", NULL, &kt_enum, VO(vc_accel), Q, "auto", 0, 0, accel_names,
  "QEMU accelerator: auto, kvm or tcg", 0 },
{ "qemu_binary", NULL, &kt_path, VO(vc_qemu_binary), Q, NULL, 0, 0, NULL,
  "QEMU program to run", 0 },
{ "qemu_machine", NULL, &kt_str, VO(vc_qemu_machine), Q, NULL, 0, 0, NULL,
  "QEMU machine type (-machine)", 0 },
{ "qemu_cpu", NULL, &kt_str, VO(vc_qemu_cpu), Q, NULL, 0, 0, NULL,
  "QEMU CPU model (-cpu)", 0 },
{ "qemu_arch", NULL, &kt_str, VO(vc_qemu_arch), Q, NULL, 0, 0, NULL,
  "QEMU target: runs qemu-system-ARCH (default x86_64)", 0 },
{ "qemu_bios", NULL, &kt_path, VO(vc_qemu_bios), Q, NULL, 0, 0, NULL,
  "firmware file for QEMU's -bios", 0 },
{ "kernel", NULL, &kt_path, VO(vc_kernel), Q, NULL, 0, 0, NULL,
  "kernel image for direct boot", 0 },
{ "initrd", NULL, &kt_path, VO(vc_initrd), Q, NULL, 0, 0, NULL,
  "initial ramdisk for direct boot", 0 },
{ "cmdline", NULL, &kt_str, VO(vc_cmdline), Q, NULL, 0, 0, NULL,
  "kernel command line for direct boot", 0 },
{ "bhyveload_loader", NULL, &kt_path, VO(vc_bhyveload_loader), B, NULL, 0, 0,
  NULL, "bhyveload -l LOADER", 0 },
{ "bhyveload_env", NULL, &kt_env, VO(vc_bhyveload_env), L | B, NULL, 0, 0,
  NULL, "bhyveload -e NAME=VALUE", 0 },
{ "bhyve_env", NULL, &kt_env, VO(vc_bhyve_env), L | B, NULL, 0, 0, NULL,
  "environment of the bhyve process", 0 },
{ "loadcmd", NULL, &kt_str, VO(vc_loadcmd), B, NULL, 0, 0, NULL,
  "grub commands typed at boot", 0 },
{ "installcmd", NULL, &kt_str, VO(vc_installcmd), B, NULL, 0, 0, NULL,
  "grub commands typed at install", 0 },
{ "grub_run_partition", NULL, &kt_str, VO(vc_grub_run_partition), B, NULL, 0,
  0, NULL, "grub root partition of the first disk", 0 },
{ "loader_timeout", NULL, &kt_int, VO(vc_loader_timeout), B, "15", -BIG, BIG,
  NULL, "seconds before a loader is killed (<= 0: never)", 0 },
{ "ncpu", NULL, &kt_ncpu, VO(vc_ncpu), 0, "1", 1, 1024, NULL,
  "CPUS or SOCKETS:CORES[:THREADS]", 0 },
{ "cpu_pin", NULL, &kt_cpupin, VO(vc_cpu_pin), L, NULL, 0, 0, NULL,
  "VCPU:HOSTCPU pinning", 0 },
{ "memory", NULL, &kt_memory, VO(vc_memory), 0, NULL, 0, 0, NULL,
  "guest memory, e.g. 512M or 2G (required)", 0 },
{ "wired_memory", NULL, &kt_bool, VO(vc_wired_memory), 0, "no", 0, 0, NULL,
  "lock guest memory in host RAM", 0 },
{ "utctime", NULL, &kt_bool, VO(vc_utctime), 0, "yes", 0, 0, NULL,
  "the guest clock runs in UTC", 0 },
{ "x2apic", NULL, &kt_bool, VO(vc_x2apic), B, "no", 0, 0, NULL,
  "x2APIC mode", 0 },
{ "hostbridge", NULL, &kt_enum, VO(vc_hostbridge), B, "standard", 0, 0,
  hb_names, "PCI host bridge: none, standard, intel or amd", 0 },
{ "virt_random", NULL, &kt_bool, VO(vc_virt_random), 0, "no", 0, 0, NULL,
  "virtio random number device", 0 },
{ "debug_port", NULL, &kt_str, VO(vc_debug_port), 0, NULL, 0, 0, NULL,
  "GDB stub port", 0 },
{ "passthru", NULL, &kt_passthru, VO(vc_passthru), L, NULL, 0, 0, NULL,
  "PCI pass-through device", 0 },
{ "tpm", NULL, &kt_tpm, VO(vc_tpm), 0, NULL, 0, 0, NULL,
  "[passthru|swtpm:]DEVICE[:VERSION]", 0 },
{ "hda", NULL, &kt_hda, VO(vc_hda), L, NULL, 0, 0, NULL,
  "sound device PLAY[:REC]", 0 },
{ "disk", NULL, &kt_disk, VO(vc_disk), L, NULL, 0, 0, NULL,
  "[TYPE:][FLAG:]...PATH", 0 },
{ "iso", NULL, &kt_iso, VO(vc_iso), L, NULL, 0, 0, NULL,
  "[ahci-cd:][noexist:]PATH", 0 },
{ "network", NULL, &kt_net, VO(vc_network), L, NULL, 0, 0, NULL,
  "[TYPE:][wol:][[MAC]:]BRIDGE", 0 },
{ "sharefs", NULL, &kt_sharefs, VO(vc_sharefs), L, NULL, 0, 0, NULL,
  "[readonly:]NAME=PATH", 0 },
{ "com1", "comport", &kt_com, VO(vc_com[0]), 0, NULL, 0, 0, NULL,
  "first serial port", 0 },
{ "com2", NULL, &kt_com, VO(vc_com[1]), 0, NULL, 0, 0, NULL,
  "second serial port", 0 },
{ "com3", NULL, &kt_com, VO(vc_com[2]), 0, NULL, 0, 0, NULL,
  "third serial port", 0 },
{ "com4", NULL, &kt_com, VO(vc_com[3]), 0, NULL, 0, 0, NULL,
  "fourth serial port", 0 },
{ "virt_console_ncontrollers", "vconsole_nc", &kt_int, VO(vc_vconsole_nc), 0,
  "0", 0, 16, NULL, "virtio-console controllers", 0 },
{ "virt_console_nports", "vconsole_np", &kt_int, VO(vc_vconsole_np), 0, "0",
  0, 16, NULL, "virtio-console ports per controller", 0 },
{ "virt_console_template", "vconsole_tmpl", &kt_vctmpl, VO(vc_vconsole_tmpl),
  0, NULL, 0, 0, NULL, "virtio-console PORTNAME[=SOCKET]", 0 },
{ "console_logfile", NULL, &kt_path, VO(vc_console_logfile), 0, NULL, 0, 0,
  NULL, "file receiving serial console output", 0 },
{ "console_log_mark", NULL, &kt_int, VO(vc_console_log_mark), 0, "3600", 0,
  31536000, NULL, "seconds between time stamps in console_logfile "
  "(0: none)", 0 },
{ "console_logfile_max", NULL, &kt_memory, VO(vc_console_logfile_max), 0,
  NULL, 0, 0, NULL, "size at which console_logfile is rotated", 0 },
{ "console_logfile_keep", NULL, &kt_int, VO(vc_console_logfile_keep), 0, "5",
  1, 99, NULL, "old console_logfiles kept by the rotation", 0 },
{ "console_viewers", NULL, &kt_who, VO(vc_console_viewers), L, NULL, 0, 0,
  NULL, "users and @groups who may watch the serial consoles", 0 },
{ "console_writers", NULL, &kt_who, VO(vc_console_writers), L, NULL, 0, 0,
  NULL, "users and @groups who may type on the serial consoles", 0 },
{ "graphics", NULL, &kt_bool, VO(vc_graphics), 0, "no", 0, 0, NULL,
  "frame buffer / VNC display", 0 },
{ "graphics_listen", NULL, &kt_str, VO(vc_graphics_listen), 0, "0.0.0.0", 0,
  0, NULL, "VNC listen address", 0 },
{ "graphics_port", NULL, &kt_int, VO(vc_graphics_port), 0, "5900", 1, 65535,
  NULL, "VNC TCP port", 0 },
{ "graphics_path", NULL, &kt_path, VO(vc_graphics_path), 0, NULL, 0, 0, NULL,
  "VNC unix socket path", 0 },
{ "graphics_password", NULL, &kt_str, VO(vc_graphics_password), 0, NULL, 0, 0,
  NULL, "VNC password", 0 },
{ "graphics_res", NULL, &kt_res, VO(vc_graphics_res), 0, "1024x768", 0, 0,
  NULL, "WIDTHxHEIGHT", 0 },
{ "graphics_vga", NULL, &kt_str, VO(vc_graphics_vga), B, "io", 0, 0, NULL,
  "bhyve vga mode: on, off or io", 0 },
{ "graphics_wait", NULL, &kt_bool, VO(vc_graphics_wait), B, "no", 0, 0, NULL,
  "wait for a VNC client before booting", 0 },
{ "keymap", NULL, &kt_str, VO(vc_keymap), 0, NULL, 0, 0, NULL,
  "keyboard layout", 0 },
{ "xhci_mouse", NULL, &kt_bool, VO(vc_xhci_mouse), 0, "no", 0, 0, NULL,
  "USB tablet", 0 },
{ "boot", NULL, &kt_enum, VO(vc_boot), 0, "no", 0, 0, boot_names,
  "no, yes, oneshot or always", 0 },
{ "boot_delay", NULL, &kt_int, VO(vc_boot_delay), 0, "0", 0, 86400, NULL,
  "seconds to wait before an automatic boot", 0 },
{ "install", NULL, &kt_bool, VO(vc_install), 0, "no", 0, 0, NULL,
  "boot the installation media", 0 },
{ "reboot_on_change", NULL, &kt_bool, VO(vc_reboot_on_change), 0, "no", 0, 0,
  NULL, "restart when a reload changes the configuration", 0 },
{ "stop_timeout", NULL, &kt_int, VO(vc_stop_timeout), 0, "300", 0, 86400,
  NULL, "seconds between ACPI shutdown and forced power-off", 0 },
{ "err_logfile", NULL, &kt_path, VO(vc_err_logfile), 0, NULL, 0, 0, NULL,
  "file receiving the hypervisor's output", 0 },
};
const size_t keytable_nvm = sizeof(keytable_vm) / sizeof(keytable_vm[0]);

const struct conf_key keytable_global[] = {
{ "cmd_socket_path", NULL, &kt_path, GO(gc_cmd_socket_path), KEY_GLOBAL,
  BMD_SOCKET_PATH, 0, 0, NULL, "control socket", 0 },
{ "cmd_socket_mode", NULL, &kt_mode, GO(gc_cmd_socket_mode), KEY_GLOBAL,
  "0666", 0, 0, NULL, "control socket permissions", 0 },
{ "vars_directory", NULL, &kt_path, GO(gc_vars_directory), KEY_GLOBAL,
  BMD_VARS_DIR, 0, 0, NULL, "UEFI variable files", 0 },
{ "nmdm_offset", NULL, &kt_int, GO(gc_nmdm_offset), KEY_GLOBAL, "200", 1,
  INT_MAX, NULL, "first automatic nmdm number (bhyve)", 0 },
{ "pid_file", NULL, &kt_path, GO(gc_pid_file), KEY_GLOBAL, BMD_PID_PATH, 0,
  0, NULL, "pid file", 0 },
{ "plugin_directory", NULL, &kt_path, GO(gc_plugin_directory), KEY_GLOBAL,
  BMD_LIBEXECDIR, 0, 0, NULL, "plugin directory", 0 },
{ "run_directory", NULL, &kt_path, GO(gc_run_directory), KEY_GLOBAL,
  BMD_RUN_DIR, 0, 0, NULL, "private directory for QMP and console sockets", 0 },
{ "cgroup", NULL, &kt_path, GO(gc_cgroup), KEY_GLOBAL, NULL, 0, 0, NULL,
  "cgroup directory in which each running VM gets a group (Linux)", 0 },
{ "console_buffer", NULL, &kt_memory, GO(gc_console_buffer), KEY_GLOBAL, "64K",
  4096, 64 << 20, NULL, "scrollback kept per serial port (4K to 64M)", 0 },
{ "user_bridges", NULL, &kt_str, GO(gc_user_bridges), KEY_GLOBAL | L, NULL, 0,
  0, NULL, "bridges that VMs of other owners than root may join", 0 },
{ "freebsd_version", NULL, &kt_int, GO(gc_freebsd_version), KEY_GLOBAL,
  DEFAULT_FREEBSD_VERSION, 1000000, 9999999, NULL,
  "__FreeBSD_version the bhyve command lines are built for", 0 },
{ "max_connections", NULL, &kt_int, GO(gc_max_connections), KEY_GLOBAL, "256",
  2, 65536, NULL, "control connections open at once", 0 },
{ "max_connections_per_user", NULL, &kt_int, GO(gc_max_connections_per_user),
  KEY_GLOBAL, "32", 1, 32768, NULL,
  "control connections of one user other than root", 0 },
{ "max_console_sessions", NULL, &kt_int, GO(gc_max_consoles), KEY_GLOBAL,
  "512", 2, 65536, NULL, "console sessions open at once", 0 },
{ "max_console_sessions_per_user", NULL, &kt_int, GO(gc_max_consoles_per_user),
  KEY_GLOBAL, "64", 1, 32768, NULL,
  "console sessions of one user other than root", 0 },
{ "max_vms_per_user", NULL, &kt_limit, GO(gc_max_vms_pu), KEY_GLOBAL | L,
  NULL, 0, 0, NULL, "running VMs of one owner other than root "
  "(N, USER:N, @GROUP:N, none)", 0 },
{ "max_memory_per_user", NULL, &kt_limit_size, GO(gc_max_memory_pu),
  KEY_GLOBAL | L, NULL, 0, 0, NULL, "memory of the running VMs of one "
  "owner other than root (SIZE, USER:SIZE, @GROUP:SIZE, none)", 0 },
{ "max_ncpu_per_user", NULL, &kt_limit, GO(gc_max_ncpu_pu), KEY_GLOBAL | L,
  NULL, 0, 0, NULL, "vCPUs of the running VMs of one owner other than "
  "root (N, USER:N, @GROUP:N, none)", 0 },
{ "bhyve_program", NULL, &kt_path, GO(gc_bhyve_program), KEY_GLOBAL, NULL, 0,
  0, NULL, "bhyve(8) (default /usr/sbin/bhyve; on Linux it must be set)", 0 },
{ "bhyvectl_program", NULL, &kt_path, GO(gc_bhyvectl_program), KEY_GLOBAL,
  NULL, 0, 0, NULL, "bhyvectl(8) (default /usr/sbin/bhyvectl)", 0 },
{ "bhyveload_program", NULL, &kt_path, GO(gc_bhyveload_program), KEY_GLOBAL,
  NULL, 0, 0, NULL, "bhyveload(8) (default /usr/sbin/bhyveload)", 0 },
{ "grub_bhyve_program", NULL, &kt_path, GO(gc_grub_bhyve_program),
  KEY_GLOBAL, NULL, 0, 0, NULL,
  "grub-bhyve (default LOCALBASE/sbin/grub-bhyve)", 0 },
};
const size_t keytable_nglobal = sizeof(keytable_global) /
    sizeof(keytable_global[0]);

const char *
conf_boot_name(int b)
{
	return boot_names[b];
}

const char *
conf_hostbridge_name(int h)
{
	return hb_names[h];
}

const char *
conf_backend_name(int b)
{
	return backend_names[b];
}
