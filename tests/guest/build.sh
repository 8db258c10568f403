#!/bin/sh
# Build the tiny test guest from Debian packages only.
#
#   build.sh kernel OUT   -> OUT/vmlinuz   (and the unpacked kernel package in OUT/pkg/)
#   build.sh initrd OUT   -> OUT/initrd.gz (busybox-static + a few modules + init.sh)
#
# Nothing is installed on the host: the kernel package is fetched with
# `apt-get download` and unpacked with `dpkg-deb -x`.  Host packages that are
# needed (busybox-static, cpio) must already be installed; if one is missing we
# stop and name it instead of installing it.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL_META=${KERNEL_META:-linux-image-cloud-amd64}

# Modules loaded by /init, in this order (paths under lib/modules/VER/kernel/).
# The order matters: each one depends on the ones before it.
MODULES="
drivers/acpi/button
drivers/input/evdev
drivers/virtio/virtio_ring
drivers/virtio/virtio
drivers/virtio/virtio_pci_legacy_dev
drivers/virtio/virtio_pci_modern_dev
drivers/virtio/virtio_pci
net/core/failover
drivers/net/net_failover
drivers/net/virtio_net
drivers/char/virtio_console
"

die() { echo "build.sh: error: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

need_pkg() { # need_pkg PACKAGE [COMMAND]
    st=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)
    if [ "$st" != installed ]; then
        die "Debian package '$1' is not installed (run: apt-get install $1)"
    fi
    if [ $# -ge 2 ] && ! command -v "$2" >/dev/null 2>&1; then
        die "command '$2' not found although package '$1' is installed"
    fi
}

need_cmd() { # need_cmd COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || die "command '$1' not found (run: apt-get install $2)"
}

# Unpack the exact kernel package behind the metapackage into OUT/pkg (cached).
unpack_kernel() {
    out=$1
    if [ -f "$out/pkg/.unpacked" ]; then
        return 0
    fi
    need_cmd apt-cache apt
    need_cmd apt-get apt
    need_cmd dpkg-deb dpkg
    pkg=$(apt-cache depends "$KERNEL_META" 2>/dev/null |
          sed -n 's/^ *Depends: *\(linux-image-[^ ]*\).*/\1/p' | head -n 1)
    [ -n "$pkg" ] || die "cannot resolve '$KERNEL_META' with apt-cache depends (run apt-get update?)"
    log "kernel package: $pkg"
    rm -rf "$out/pkg" "$out/dl"
    mkdir -p "$out/dl"
    # As root, apt-get drops to the _apt user to download; let it write here
    # (otherwise it warns that the download is unsandboxed, which is harmless).
    if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
        chown _apt "$out/dl" 2>/dev/null || true
    fi
    (cd "$out/dl" && apt-get download -q "$pkg") || die "apt-get download $pkg failed"
    set -- "$out/dl/${pkg}"_*.deb
    deb=$1
    [ -f "$deb" ] || die "apt-get download $pkg produced no .deb"
    mkdir -p "$out/pkg.tmp"
    dpkg-deb -x "$deb" "$out/pkg.tmp"
    echo "$pkg" > "$out/pkg.tmp/.package"
    touch "$out/pkg.tmp/.unpacked"
    mv "$out/pkg.tmp" "$out/pkg"
    rm -rf "$out/dl"
}

build_kernel() {
    out=$1
    mkdir -p "$out"
    rm -rf "$out/pkg.tmp"
    unpack_kernel "$out"
    set -- "$out"/pkg/boot/vmlinuz-*
    [ -f "$1" ] || die "no boot/vmlinuz-* in $(cat "$out/pkg/.package")"
    cp "$1" "$out/vmlinuz.tmp"
    mv "$out/vmlinuz.tmp" "$out/vmlinuz"
    log "built $out/vmlinuz ($(basename "$1"))"
}

# Find busybox-static's binary (/bin/busybox, or /usr/bin/busybox on merged /usr).
find_busybox() {
    for f in $(dpkg -L busybox-static 2>/dev/null); do
        case $f in */bin/busybox) [ -x "$f" ] && { echo "$f"; return 0; } ;; esac
    done
    return 1
}

build_initrd() {
    out=$1
    need_pkg busybox-static
    need_pkg cpio cpio
    need_cmd gzip gzip
    bb=$(find_busybox) || die "busybox-static is installed but its busybox binary was not found"
    [ -f "$out/pkg/.unpacked" ] || die "kernel not unpacked yet (run: build.sh kernel $out)"
    set -- "$out"/pkg/lib/modules/*/kernel
    [ -d "$1" ] || die "no lib/modules/*/kernel in the kernel package"
    moddir=$1

    root="$out/root"
    rm -rf "$root"
    mkdir -p "$root"
    for d in bin sbin usr/bin usr/sbin dev proc sys tmp run root etc/acpi/PWRF lib/modules; do
        mkdir -p "$root/$d"
    done
    chmod 1777 "$root/tmp"

    # busybox and one symlink per applet, at the path busybox itself reports.
    cp "$bb" "$root/bin/busybox"
    chmod 755 "$root/bin/busybox"
    "$bb" --list-full | while read -r app; do
        [ "$app" = bin/busybox ] && continue
        [ -e "$root/$app" ] || [ -L "$root/$app" ] && continue
        ln -s /bin/busybox "$root/$app"
    done
    for app in sh ip ifconfig ping insmod acpid setsid poweroff reboot mount hostname; do
        found=
        for d in bin sbin usr/bin usr/sbin; do
            [ -L "$root/$d/$app" ] && found=1
        done
        [ -n "$found" ] || die "busybox at $bb has no '$app' applet"
    done

    # Modules, flattened to /lib/modules/NAME.ko; missing ones (built in, or
    # dropped from a newer kernel) are skipped, and /init skips them too.
    for m in $MODULES; do
        name=$(basename "$m")
        if [ -f "$moddir/$m.ko" ]; then
            cp "$moddir/$m.ko" "$root/lib/modules/$name.ko"
        elif [ -f "$moddir/$m.ko.xz" ]; then
            need_cmd xz xz-utils
            xz -dc "$moddir/$m.ko.xz" > "$root/lib/modules/$name.ko"
        elif [ -f "$moddir/$m.ko.zst" ]; then
            need_cmd zstd zstd
            zstd -qdc "$moddir/$m.ko.zst" > "$root/lib/modules/$name.ko"
        else
            log "note: module $m not in the kernel package, skipped"
        fi
    done

    cp "$HERE/init.sh" "$root/init"
    chmod 755 "$root/init"
    echo bmdguest > "$root/etc/hostname"
    cat > "$root/etc/profile" <<'PROFILE'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
PS1='bmdguest# '
cd /root
PROFILE
    echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
    echo 'root:x:0:' > "$root/etc/group"

    # cpio newc, everything owned by root, fixed inode numbers and mtimes, so
    # the same inputs give the same initrd.gz.
    find "$root" -exec touch -h -d @0 {} +
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n > "$out/initrd.gz.tmp"
    mv "$out/initrd.gz.tmp" "$out/initrd.gz"
    rm -rf "$root"
    log "built $out/initrd.gz ($(wc -c < "$out/initrd.gz") bytes)"
}

[ $# -eq 2 ] || die "usage: build.sh kernel|initrd OUTDIR"
case $1 in
    kernel) build_kernel "$2" ;;
    initrd) build_initrd "$2" ;;
    *) die "usage: build.sh kernel|initrd OUTDIR" ;;
esac
