#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# mkguest.sh: the initramfs of the guests that QEMU -accel nvmm boots in the
# guest matrix (tests/qemu/check-vm-qemu.sh). Busybox only. Its /init
# prints markers on the console that tests/qemu/guest-boot.sh judges:
#   NVMMGUEST: init KERNEL-RELEASE MACHINE   userland reached
#   NVMMGUEST: cpus N                        processors in /proc/cpuinfo
#   NVMMGUEST: mem64 ok TIME|bad WHY         64 MiB written to tmpfs, compared
#   NVMMGUEST: clocksource NAME              the clocksource the kernel kept
#   NVMMGUEST: poweroff                      then `poweroff -f`
#
# usage: mkguest.sh OUT.cpio.gz
set -eu
[ $# -eq 1 ] || { echo "usage: mkguest.sh OUT.cpio.gz" >&2; exit 2; }
out=$1
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "mkguest.sh: $BUSYBOX missing (busybox-static)" >&2; exit 1; }

d=$(mktemp -d "${TMPDIR:-/tmp}/nvmm-guest.XXXXXX")
trap 'rm -rf "$d"' EXIT INT TERM
mkdir -p "$d/bin" "$d/proc" "$d/sys" "$d/dev" "$d/mnt"
cp "$BUSYBOX" "$d/bin/busybox"
cat > "$d/init" <<'EOS'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
# each marker goes to the console through the tty (interrupt-driven UART)
# and into the kernel log (printed by polling, as "[time] nvmmguest: ..."):
# when the tty output is lost, the kernel log still tells how far init got
m() { echo "NVMMGUEST: $*"; echo "nvmmguest: $*" > /dev/kmsg; }
m "init $(uname -r) $(uname -m)"
m "cpus $(grep -c '^processor' /proc/cpuinfo)"
# 64 MiB through the page cache of a tmpfs: written, then compared byte for
# byte with the same data produced again
mount -t tmpfs -o size=80m tmpfs /mnt
pat() { yes nvmm-linux-guest-memory-pattern | head -c 67108864; }
t0=$(cut -d' ' -f1 /proc/uptime)
pat > /mnt/f
size=$(wc -c < /mnt/f)
if [ "$size" -eq 67108864 ] && pat | cmp -s - /mnt/f; then
	m "mem64 ok $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f s", b - a }')"
else
	m "mem64 bad size=$size $(pat | cmp - /mnt/f 2>&1 | head -n 1)"
fi
rm -f /mnt/f
m "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
# what the UART saw: interrupt counts and the serial driver's counters,
# in the kernel log
k() { while read -r l; do echo "nvmmguest-$1: $l" > /dev/kmsg; done; }
grep -E 'ttyS|serial|IO-APIC|LOC|ERR|SPU' /proc/interrupts 2>/dev/null | k irq
sed -n '1,2p' /proc/tty/driver/serial 2>/dev/null | k uart
m poweroff
poweroff -f
EOS
chmod 755 "$d/init"
outabs=$(realpath -m "$out")
mkdir -p "$(dirname "$outabs")"
(cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9) > "$outabs.tmp"
mv "$outabs.tmp" "$outabs"
