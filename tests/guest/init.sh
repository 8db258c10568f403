#!/bin/sh
# /init of the bmd test guest (busybox sh, PID 1).
#
# Kernel command-line flags:
#   bmd.noacpi    do not start acpid: the guest ignores the ACPI power button
#   bmd.poweroff  power off (poweroff -f) right after the banner
#   bmd.reboot    reboot (reboot -f) right after the banner
#   bmd.ip=A/N    bring eth0 up with address A/N (e.g. 169.254.10.2/16)
#
# The banner line "BMD-GUEST-READY" is printed on /dev/ttyS0 once the guest is
# ready: modules loaded and (unless bmd.noacpi) acpid running, so that an ACPI
# power-button press sent after the banner is acted on.  Then the serial port
# gets a shell, forever.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /run
mount -t devpts devpts /dev/pts 2>/dev/null
exec </dev/console >/dev/console 2>&1

cmdline=$(cat /proc/cmdline)
has_flag() {
    case " $cmdline " in *" $1 "*|*" $1="*) return 0 ;; esac
    return 1
}
flag_value() {
    for w in $cmdline; do
        case $w in "$1="*) echo "${w#*=}"; return 0 ;; esac
    done
    return 1
}

hostname bmdguest

# Same order as build.sh copies them; missing ones are skipped.
for m in button evdev virtio_ring virtio virtio_pci_legacy_dev \
         virtio_pci_modern_dev virtio_pci failover net_failover virtio_net \
         virtio_console; do
    [ -f "/lib/modules/$m.ko" ] || continue
    insmod "/lib/modules/$m.ko" || echo "init: insmod $m failed"
done

ip link set lo up
if ip=$(flag_value bmd.ip); then
    i=0
    while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    ip addr add "$ip" dev eth0 && ip link set eth0 up
fi

if ! has_flag bmd.noacpi; then
    # The power button's input device must exist before acpid scans /dev/input.
    i=0
    while ! ls /dev/input/event* >/dev/null 2>&1 && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done
    mkdir -p /etc/acpi/PWRF /tmp   # acpid exits at once if its log directory is missing
    printf '#!/bin/sh\npoweroff -f\n' > /etc/acpi/PWRF/00000080
    chmod 755 /etc/acpi/PWRF/00000080
    acpid -c /etc/acpi -l /tmp/acpid.log
    i=0
    while ! pidof acpid >/dev/null && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done
    pidof acpid >/dev/null || echo "init: WARNING: acpid is not running"
fi

printf '\nBMD-GUEST-READY\n' > /dev/ttyS0

if has_flag bmd.poweroff; then
    poweroff -f
elif has_flag bmd.reboot; then
    reboot -f
fi

while true; do
    setsid -c sh -l </dev/ttyS0 >/dev/ttyS0 2>&1
    sleep 0.2
done
