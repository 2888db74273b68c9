#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# guest-boot.sh: one guest of the matrix, booted by QEMU -accel nvmm inside
# the test VM (tests/qemu/check-vm-qemu.sh puts this script, QEMU, the
# firmware and the guest files into the VM's initramfs). Prints
# "PASS: qemu/GUEST" or "FAIL: qemu/GUEST: why" (qemu-7.2/GUEST for QEMU
# 7.2), judged on the markers the guest prints on its serial console
# (tests/qemu/mkguest.sh), never on QEMU's exit status alone.
#
# usage: guest-boot.sh GUEST [QEMU-VERSION]
#   GUEST          linux64-smpN (N CPUs, no_timer_check), linux64-timercheck
#                  (one CPU, without no_timer_check)
#   QEMU-VERSION   10.0 (default) or 7.2: /q/VERSION/qemu-system-x86_64
# Environment: GUEST_TIMEOUT (seconds, default 240), QEMU_EXTRA (more
# QEMU arguments).
#
# Layout in the VM: /q/VERSION/qemu-system-x86_64, firmware in /fw,
# /guest/vmlinuz and /guest/initrd.gz.
set -u
guest=$1
ver=${2:-10.0}
case $ver in
10.0) label=qemu/$guest ;;
*) label=qemu-$ver/$guest ;;
esac
qemu=/q/$ver/qemu-system-x86_64
tmo=${GUEST_TIMEOUT:-240}
log=/tmp/guest-$$.serial
err=/tmp/guest-$$.stderr
stats=/tmp/guest-$$.stats

fail() { echo "FAIL: $label: $*"; show; exit 1; }
show() {
	echo "guest markers:"
	grep -a 'NVMMGUEST' "$log" 2>/dev/null | tr -d '\r' | sed 's/^/  | /'
	echo "the same markers and the UART's counters from the kernel log:"
	grep -a 'nvmmguest' "$log" 2>/dev/null | tr -d '\r' | sed 's/^/  | /'
	echo "serial console, last lines:"
	tail -n 25 "$log" 2>/dev/null | tr -d '\r' | sed 's/^/  | /'
	echo "QEMU stderr:"
	head -n 15 "$err" 2>/dev/null | sed 's/^/  ! /'
}

[ -x "$qemu" ] || { echo "SKIP: $label: $qemu not in the VM (QEMU $ver not built: make qemu)"; exit 0; }

append="console=ttyS0 panic=-1"
cpus=1
case $guest in
linux64-smp[1-9]*)
	cpus=${guest#linux64-smp}
	append="$append no_timer_check" ;;
linux64-timercheck) ;;
*) echo "FAIL: $label: unknown guest"; exit 1 ;;
esac

now() { cut -d' ' -f1 /proc/uptime; }
t0=$(now)
: > "$log"
# shellcheck disable=SC2086
NVMM_STATS=$stats "$qemu" -accel nvmm -L /fw -nodefaults -display none -no-reboot \
	-machine pc -m 256 -smp "$cpus" -serial "file:$log" \
	-kernel /guest/vmlinuz -initrd /guest/initrd.gz -append "$append" \
	${QEMU_EXTRA:-} </dev/null >"$err" 2>&1 &
pid=$!
tinit= killed=
while kill -0 "$pid" 2>/dev/null; do
	sleep 0.5
	if [ -z "$tinit" ] && grep -q 'NVMMGUEST: init' "$log"; then
		tinit=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	fi
	if [ "$(awk -v a="$t0" -v b="$(now)" -v t="$tmo" 'BEGIN { print (b - a >= t) }')" = 1 ]; then
		killed=1
		kill "$pid" 2>/dev/null; sleep 2; kill -9 "$pid" 2>/dev/null
		break
	fi
done
wait "$pid"
qrc=$?
total=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
tr -d '\r' < "$log" > "$log.txt"
mk() { grep -m 1 "^NVMMGUEST: $1" "$log.txt" | sed "s/^NVMMGUEST: $1 *//"; }
echo "# $label: init after ${tinit:-never} s, QEMU ended after $total s with status $qrc"
# the library's exit counts (NVMM_STATS): the most frequent first
grep -v -e ' exits$' -e ' events ' "$stats" 2>/dev/null | sort -k4 -n -r | head -n 12 |
    sed "s|^nvmm-stats: |# $label: |"
grep -h -e ' exits$' -e ' events ' "$stats" 2>/dev/null | sed "s|^nvmm-stats: |# $label: |"
unexp=$(grep -c 'NVMM: Unexpected' "$err")
[ "$unexp" -eq 0 ] || echo "# $label: QEMU printed $unexp 'NVMM: Unexpected' lines, e.g. $(grep -m 1 'NVMM: Unexpected' "$err")"

grep -q '^NVMMGUEST: init' "$log.txt" || fail "the guest never reached /init${killed:+ (QEMU killed after $tmo s)}"
n=$(mk cpus)
[ "$n" = "$cpus" ] || fail "the guest saw '$n' CPUs, expected $cpus"
case $(mk mem64) in
ok*) ;;
*) fail "64 MiB memory check: $(mk mem64)" ;;
esac
grep -q '^NVMMGUEST: poweroff' "$log.txt" || fail "the guest did not reach poweroff"
[ -z "$killed" ] || fail "QEMU did not exit after the guest's poweroff (killed after $tmo s)"
[ "$qrc" -eq 0 ] || fail "QEMU exited with status $qrc"
case $guest in
linux64-timercheck)
	# the check that NVMM's guests must skip: the kernel must not have
	# found the timer interrupt broken
	if grep -q -E 'IO-APIC \+ timer doesn.t work|timer doesn.t work through' "$log.txt"; then
		fail "the kernel's timer check failed: $(grep -m 1 -E 'timer doesn.t work' "$log.txt")"
	fi ;;
esac
echo "# $label: clocksource $(mk clocksource)"
echo "PASS: $label"
