#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# run-vm.sh: one full cycle of the emulated test machine. Builds the
# initramfs (mkinitrd.sh), boots it under QEMU TCG with AMD SVM+NPT, and
# prints the guest's test lines with the stage in front of each name
# ("PASS: vm-kvm_amd/<name>"). Exit status 0 only if nothing failed.
#
# usage: run-vm.sh [PROGSPEC]...     PROGSPEC: "[VAR=VAL]... PATH [ARG]..."
#
# Environment (all optional):
#   VM_STAGE          stage name, the prefix of every test name (vm-kvm_amd)
#   VM_CPU            QEMU CPU model (EPYC,+svm,+npt)
#   VM_SMP, VM_MEM    guest CPUs (2) and MiB of RAM (1024)
#   VM_MODULES        modules to insmod, blank-separated; names resolved with
#                     their dependencies, or .ko paths; "name:param=v:p2=v"
#                     (kvm-amd; set it empty to load nothing)
#   VM_EXTRA_MODULES  more modules, loaded after VM_MODULES (e.g. nvmm.ko)
#   VM_ENV            environment for every program ("NVMM_BACKEND=kvm")
#   VM_FILES          more files in the initramfs, blank-separated SRC=/DST
#                     (mkinitrd.sh -f: ELF files bring their libraries)
#   VM_SAN_ENV        sanitizer options for every program, before VM_ENV (so
#                     VM_ENV overrides them); programs built without the
#                     sanitizers ignore them. Default: any ASan, LSan or UBSan
#                     report ends the program (non-zero exit status, FAIL),
#                     without color escapes (its stderr is a serial tty):
#                     "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:color=never
#                     UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:color=never"
#   VM_PROG_TIMEOUT   seconds per program before SIGTERM/SIGKILL (300)
#   VM_TIMEOUT        seconds for the whole VM (90 + programs x (timeout + 5));
#                     a watchdog also stops QEMU when the guest's result
#                     output stays silent for VM_PROG_TIMEOUT + 30 s
#   VM_KERNEL         kernel image (newest /boot/vmlinuz-*)
#   VM_APPEND         extra kernel command line
#   VM_LOGDIR         where initrd, console.log, results.log and qemu.log go;
#                     default: a new ${O:-build}/tests/vm/$VM_STAGE.XXXXXX,
#                     removed after a run without failures (so concurrent
#                     runs never share files)
#   VM_QEMU           QEMU binary (qemu-system-x86_64)
#   VM_KLOG_IGNORE    extended regexp: kernel log lines the oops check ignores
#   VM_KLOG_TEST      name of the kernel log test (kernel-log): a second boot
#                     of the same stage gives its own (qemu/kernel-log)
#
# Judged by the guest's result channel (second serial port), never by QEMU's
# exit status: a guest that does not report completion (panic, hang,
# timeout) is a FAIL.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
STAGE=${VM_STAGE:-vm-kvm_amd}
CPU=${VM_CPU:-EPYC,+svm,+npt}
SMP=${VM_SMP:-2}
MEM=${VM_MEM:-1024}
MODULES=${VM_MODULES-kvm-amd}
EXTRA=${VM_EXTRA_MODULES:-}
PTIMEOUT=${VM_PROG_TIMEOUT:-300}
QEMU=${VM_QEMU:-qemu-system-x86_64}

skip() {
	echo "SKIP: $STAGE: $* (sh tools/install-deps.sh, or apt-get install $(tr '\n' ' ' < "$here/PACKAGES" | sed 's/ *$//'))"
	exit 0
}

if [ -n "${VM_KERNEL:-}" ]; then
	KERNEL=$VM_KERNEL
	KVER=$(basename "$KERNEL" | sed 's/^vmlinuz-//')
else
	KVER=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
	KERNEL=/boot/vmlinuz-$KVER
fi
command -v "$QEMU" >/dev/null 2>&1 || skip "$QEMU not found"
if [ -z "$KVER" ] || [ ! -r "$KERNEL" ]; then
	skip "no readable kernel /boot/vmlinuz-* (linux-image-amd64)"
fi
[ -x /bin/busybox ] || skip "/bin/busybox (busybox-static) not found"
command -v cpio >/dev/null 2>&1 || skip "cpio not found"
if [ -n "$MODULES" ] && [ ! -f "/lib/modules/$KVER/modules.dep" ]; then
	skip "/lib/modules/$KVER/modules.dep not found"
fi

nfail=0
for spec in "$@"; do
	for w in $spec; do
		case $w in *=*) continue ;; esac
		if [ ! -f "$w" ]; then
			echo "FAIL: $STAGE/$(basename "$w"): program $w not built"
			nfail=$((nfail + 1))
		fi
		break
	done
done
[ "$nfail" -eq 0 ] || exit 1

nprogs=$#
VMTIMEOUT=${VM_TIMEOUT:-$((90 + nprogs * (PTIMEOUT + 5)))}

if [ -n "${VM_LOGDIR:-}" ]; then
	LOGDIR=$VM_LOGDIR
	mkdir -p "$LOGDIR"
else
	mkdir -p "${O:-build}/tests/vm"
	LOGDIR=$(mktemp -d "${O:-build}/tests/vm/$STAGE.XXXXXX")
fi
initrd=$LOGDIR/initrd.cpio.gz
console=$LOGDIR/console.log
results=$LOGDIR/results.log
qlog=$LOGDIR/qemu.log
rm -f "$console" "$results" "$qlog"

set -- -k "$KVER" -t "$PTIMEOUT" "$initrd" "$@"
SANENV=${VM_SAN_ENV-ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:color=never UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:color=never}
# the environment keeps its order (a later word wins): prepend in reverse
envs=
for e in $SANENV ${VM_ENV:-}; do envs="$e $envs"; done
for e in $envs; do set -- -e "$e" "$@"; done
for f in ${VM_FILES:-}; do set -- -f "$f" "$@"; done
# modules must keep their order: prepend in reverse
mods=
for m in $MODULES $EXTRA; do mods="$m $mods"; done
for m in $mods; do set -- -m "$m" "$@"; done
if ! msg=$(sh "$here/mkinitrd.sh" "$@" 2>&1); then
	echo "FAIL: $STAGE: mkinitrd.sh failed: $(printf '%s' "$msg" | tr '\n' ' ')"
	[ -n "${VM_LOGDIR:-}" ] || rm -rf "$LOGDIR"
	exit 1
fi

now() { date +%s.%N 2>/dev/null || date +%s; }
t0=$(now)
qrc=0
"$QEMU" -accel tcg -cpu "$CPU" -smp "$SMP" -m "$MEM" \
	-nographic -no-reboot -monitor none \
	-serial "file:$console" -serial "file:$results" \
	-kernel "$KERNEL" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 oops=panic ${VM_APPEND:-}" \
	</dev/null >"$qlog" 2>&1 &
qpid=$!
# Watchdog: QEMU is stopped (by its pid) after VM_TIMEOUT seconds, when the
# result channel stays silent for longer than a program may run (the guest
# is stuck: a program the per-program timeout could not kill), or when the
# guest reported completion but did not power off.
killed=
start=$(date +%s) size=0 changed=$start ended=0
while kill -0 "$qpid" 2>/dev/null; do
	sleep 0.25 2>/dev/null || sleep 1
	t=$(date +%s)
	n=0
	[ ! -f "$results" ] || n=$(wc -c < "$results")
	if [ "$n" -ne "$size" ]; then size=$n changed=$t; fi
	if [ "$ended" -eq 0 ] && grep -q '^@@VM end' "$results" 2>/dev/null; then
		ended=$t
	fi
	if [ $((t - start)) -ge "$VMTIMEOUT" ]; then
		killed="the VM timeout ($VMTIMEOUT s)"
	elif [ $((t - changed)) -ge $((PTIMEOUT + 30)) ]; then
		killed="the watchdog: no result output for $((PTIMEOUT + 30)) s, the guest is stuck"
	elif [ "$ended" -gt 0 ] && [ $((t - ended)) -ge 20 ]; then
		killed="the watchdog: no poweroff 20 s after completion"
	fi
	if [ -n "$killed" ]; then
		kill "$qpid" 2>/dev/null || true
		sleep 3
		kill -9 "$qpid" 2>/dev/null || true
		break
	fi
done
wait "$qpid" || qrc=$?
t1=$(now)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

[ -f "$results" ] || : > "$results"
[ -f "$console" ] || : > "$console"
status=0
tr -d '\r' < "$results" | awk -v stage="$STAGE" -v klogt="${VM_KLOG_TEST:-kernel-log}" '
function out(s) { print s; if (s ~ /^FAIL: /) nfail++ }
/^@@VM / {
	n = split($0, f, " ")
	rest = $0; sub(/^@@VM [^ ]+ ?/, "", rest)
	if (f[2] == "begin") { began = 1; print "# guest: " rest }
	else if (f[2] == "insmod") {
		if (f[4] == "ok") out("PASS: " stage "/insmod/" f[3])
		else { m = rest; sub(/^[^ ]+ fail /, "", m)
			out("FAIL: " stage "/insmod/" f[3] ": insmod exit status " m) }
	} else if (f[2] == "run") { cur = f[3]; curfail = 0 }
	else if (f[2] == "exit") {
		rc = f[4] + 0; el = f[5] + 0; to = f[6] + 0
		if ((rc == 143 || rc == 137) && el + 1 >= to)
			out("FAIL: " stage "/" f[3] ": killed by the per-program timeout (" to " s)")
		else if (rc != 0 && !curfail)
			out("FAIL: " stage "/" f[3] ": exited with status " rc)
		print "# " f[3] ": exit status " rc " after " f[5] " s"
		cur = ""
	} else if (f[2] == "klogfail") {
		where = f[3]; m = rest; sub(/^[^ ]+ /, "", m)
		out("FAIL: " stage "/" klogt ": after " where ": " m); klogbad = 1
	} else if (f[2] == "klog") print "# dmesg: " rest
	else if (f[2] == "end") { ended = 1; print "# guest: done, " rest }
	next
}
/^(PASS|FAIL|SKIP): / {
	if (cur == "") { print "# " $0; next }
	k = substr($0, 1, 6); t = substr($0, 7)
	out(k stage "/" t)
	if (k == "FAIL: ") curfail = 1
	next
}
/^$/ { next }
{ print "  " $0 }
END {
	if (cur != "")
		out("FAIL: " stage "/" cur ": no exit status (the guest died while it ran)")
	if (!began)
		out("FAIL: " stage ": the guest harness never started (no result channel output)")
	else if (!ended)
		out("FAIL: " stage ": the guest did not report completion (panic, hang or timeout)")
	if (ended && !klogbad)
		out("PASS: " stage "/" klogt)
	exit (nfail > 0)
}' || status=1

if [ -n "$killed" ]; then
	echo "FAIL: $STAGE: QEMU stopped by $killed"
	status=1
fi
if [ "$status" -ne 0 ]; then
	if ! grep -q '^@@VM end' "$results"; then
		echo "# guest console ($console), first oops lines and the end:"
		tr -d '\r' < "$console" |
		    grep -m 8 -E 'Kernel panic|BUG:|Oops|WARNING: CPU|RIP:|general protection|Attempted to kill' |
		    sed 's/^/#   /' || true
		echo "#   ..."
		tr -d '\r' < "$console" | tail -n 15 | sed 's/^/#   /'
		grep -v '^qemu-system-x86_64: warning: TCG doesn.t support' "$qlog" | head -n 10 | sed 's/^/# qemu: /'
	fi
	echo "# logs: $LOGDIR"
elif [ -z "${VM_LOGDIR:-}" ]; then
	rm -rf "$LOGDIR"
fi
echo "# $STAGE: VM stage wall time ${wall} s (QEMU exit status $qrc)"
exit "$status"
