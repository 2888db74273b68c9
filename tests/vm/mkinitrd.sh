#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# mkinitrd.sh: build the gzip cpio initramfs of the emulated test machine.
#
# usage: mkinitrd.sh [-k KVER] [-m MODULE]... [-e VAR=VAL]... [-t SECS]
#                    [-f SRC=DST]... OUT.cpio.gz [PROGSPEC]...
#
#   -k KVER     kernel version whose modules are used (default: the newest
#               /boot/vmlinuz-*; never the host's `uname -r`)
#   -m MODULE   a module to insmod, in the order given. Either a name
#               ("kvm-amd": resolved with its dependencies from
#               /lib/modules/KVER/modules.dep, dependencies first) or a path
#               to a .ko/.ko.xz/.ko.zst/.ko.gz file (loaded as it is).
#               Module parameters follow colons: "kvm-amd:nested=0",
#               "build/kernel/nvmm.ko:nrips_emulate=1:debug=1".
#   -e VAR=VAL  environment for every program (repeatable)
#   -t SECS     per-program timeout (default 300); SIGTERM, SIGKILL 5 s later
#   -f SRC=DST  a file for the programs, at DST in the initramfs (repeatable;
#               DST absolute). An ELF file is copied without its debug
#               sections, and a dynamic one brings its shared libraries
#               (as for PROGSPEC below).
#   VM_KLOG_IGNORE (environment) an extended regexp of kernel log lines not
#               to count as failures in the oops check
#   PROGSPEC    "[VAR=VAL]... PATH [ARG]..." split on blanks (no quoting).
#               PATH is an executable, static or dynamically linked, or a
#               #!/bin/sh script; each spec runs once, in order, with stdin
#               /dev/null. A dynamic program's shared libraries (what `ldd`
#               lists, the program interpreter included) are copied to the
#               same paths in the initramfs (e.g. ASan+UBSan programs bring
#               libasan, libubsan, libstdc++, libc and ld-linux-x86-64.so.2).
#
# The guest's /init writes everything for the host to the second serial port
# (/dev/ttyS1; run-vm.sh gives QEMU "-serial file:"), never mixed with kernel
# messages. It holds ttyS1 open for the whole run and closes it last, before
# "poweroff -f": the serial driver drains its transmit buffer on the last
# close, so no line is lost, even of a program killed by its timeout.
# Protocol (one line each; markers start with "@@VM " after a blank line):
#   @@VM begin INFO...               harness started
#   @@VM insmod NAME ok | @@VM insmod NAME fail RC MESSAGE
#   @@VM run LABEL                   a program starts; its stdout+stderr follow
#   @@VM exit LABEL RC SECONDS TIMEOUT
#   @@VM klogfail WHERE FIRSTLINE    dmesg matched the oops patterns
#   @@VM klog LINE                   the kernel log lines of that check
#   @@VM end                         everything ran; the guest powers off
set -eu

usage() {
	sed -n '4,31p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

KVER=
MODS=
ENVS=
FILES=
PTIMEOUT=300
while getopts k:m:e:t:f:h opt; do
	case $opt in
	k) KVER=$OPTARG ;;
	m) MODS="$MODS$OPTARG
" ;;
	e) ENVS="$ENVS $OPTARG" ;;
	t) PTIMEOUT=$OPTARG ;;
	f) FILES="$FILES$OPTARG
" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
out=$1; shift

if [ -z "$KVER" ]; then
	KVER=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
fi
MODDIR=/lib/modules/$KVER
BUSYBOX=${BUSYBOX:-/bin/busybox}

die() { echo "mkinitrd.sh: $*" >&2; exit 1; }

[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (apt-get install busybox-static)"
command -v cpio >/dev/null || die "cpio missing (apt-get install cpio)"

# Single-quote a word for the generated shell script.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

d=$(mktemp -d "${TMPDIR:-/tmp}/nvmm-initrd.XXXXXX")
trap 'rm -rf "$d"' EXIT INT TERM
mkdir -p "$d/bin" "$d/sbin" "$d/proc" "$d/sys" "$d/dev" "$d/tmp" "$d/mods" "$d/t"
cp "$BUSYBOX" "$d/bin/busybox"

# --- modules -----------------------------------------------------------
# copy_mod SRC PARAMS: decompress/copy SRC to /mods, append an insmod line.
# (POSIX sh has no local variables: cm_ names, b and dec are its own)
modlines=
copy_mod() {
	cm_src=$1 cm_params=$2
	[ -f "$cm_src" ] || die "module $cm_src not found"
	b=$(basename "$cm_src")
	case $b in
	*.ko.xz) b=${b%.xz}; dec="xz -dc" ;;
	*.ko.zst) b=${b%.zst}; dec="zstd -dcq" ;;
	*.ko.gz) b=${b%.gz}; dec="gzip -dc" ;;
	*.ko) dec="cat" ;;
	*) die "$cm_src: not a kernel module (.ko, .ko.xz, .ko.zst, .ko.gz)" ;;
	esac
	# a dependency shared by two requested modules is loaded once
	[ ! -e "$d/mods/$b" ] || return 0
	$dec "$cm_src" > "$d/mods/$b" || die "cannot decompress $cm_src"
	modlines="${modlines}do_insmod $(q "${b%.ko}") $(q "/mods/$b")"
	for cm_p in $cm_params; do modlines="$modlines $(q "$cm_p")"; done
	modlines="$modlines
"
}

# resolve NAME: the module files of NAME, dependencies first (modules.dep
# lists the dependencies in the order modprobe unloads them).
resolve() {
	[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing (linux-image-$KVER)"
	awk -v want="$1" '
	function norm(p) { sub(/.*\//, "", p); sub(/\.ko(\.(xz|zst|gz))?$/, "", p)
		gsub(/_/, "-", p); return p }
	BEGIN { gsub(/_/, "-", want) }
	{ key = $1; sub(/:$/, "", key)
	  if (norm(key) != want) next
	  for (i = NF; i >= 2; i--) print $i
	  print key; found = 1; exit }
	END { if (!found) exit 1 }' "$MODDIR/modules.dep"
}

old_ifs=$IFS
IFS='
'
for m in $MODS; do
	IFS=$old_ifs
	[ -n "$m" ] || continue
	name=${m%%:*}
	params=
	case $m in *:*) params=$(printf '%s' "${m#*:}" | tr ':' ' ') ;; esac
	case $name in
	*/*|*.ko|*.ko.*) copy_mod "$name" "$params" ;;
	*)
		files=$(resolve "$name") || die "module $name not in $MODDIR/modules.dep"
		last=$(printf '%s\n' "$files" | tail -n 1)
		for f in $files; do
			if [ "$f" = "$last" ]; then copy_mod "$MODDIR/$f" "$params"
			else copy_mod "$MODDIR/$f" ""; fi
		done ;;
	esac
done
IFS=$old_ifs

# --- shared libraries of dynamic programs --------------------------------
# copy_libs PROG: copy the shared objects PROG loads (ldd's list: the program
# interpreter and every library, resolved on this host) into the initramfs at
# the same paths, each file once. Nothing for a static program or a script.
# The guest has no ld.so.cache: /init puts the directories of the copied
# libraries in LD_LIBRARY_PATH (libdirs), so a library found through this
# host's cache in a non-default directory is found there too.
libdirs=
copy_libs() {
	cl_interp=
	if command -v readelf >/dev/null 2>&1; then
		cl_interp=$(readelf -l "$1" 2>/dev/null |
		    sed -n 's/.*\[Requesting program interpreter: \(.*\)\]$/\1/p')
		[ -n "$cl_interp" ] || return 0
	else
		# no readelf: ask ldd, which says "not a dynamic executable"
		# for a static program or a script
		ldd "$1" >/dev/null 2>&1 || return 0
	fi
	command -v ldd >/dev/null 2>&1 || die "$1 is dynamically linked and ldd is missing (libc-bin)"
	cl_out=$(ldd "$1" 2>&1) || die "ldd $1 failed: $(printf '%s' "$cl_out" | tr '\n' ' ')"
	# "name => /path (addr)", "/lib64/ld-linux-x86-64.so.2 (addr)",
	# "name => not found"; linux-vdso.so.1 is the kernel's
	cl_missing=$(printf '%s\n' "$cl_out" | awk '$2 == "=>" && $3 == "not" { printf " %s", $1 }')
	[ -z "$cl_missing" ] || die "$1: shared libraries not found:$cl_missing"
	cl_libs=$(printf '%s\n' "$cl_out" | awk '
	    $2 == "=>" && $3 ~ /^\// { print $3; next }
	    $1 ~ /^\// { print $1 }')
	# glibc loads libgcc_s.so.1 with dlopen (thread cancellation and
	# pthread_exit unwinding): take it from libc's directory as well
	cl_libc=$(printf '%s\n' "$cl_libs" | grep '/libc\.so\.6$' | head -n 1) || true
	if [ -n "$cl_libc" ] && [ -f "${cl_libc%/*}/libgcc_s.so.1" ]; then
		cl_libs="$cl_libs
${cl_libc%/*}/libgcc_s.so.1"
	fi
	for cl_l in $cl_interp $cl_libs; do
		[ ! -e "$d$cl_l" ] || continue
		[ -f "$cl_l" ] || die "$1: shared library $cl_l not readable"
		mkdir -p "$d${cl_l%/*}"
		cp -L "$cl_l" "$d$cl_l" || die "cannot copy $cl_l"
		chmod 755 "$d$cl_l"
		[ "$cl_l" != "$cl_interp" ] || continue
		case ":$libdirs:" in
		*":${cl_l%/*}:"*) ;;
		*) libdirs=${libdirs:+$libdirs:}${cl_l%/*} ;;
		esac
	done
}

# --- extra files ---------------------------------------------------------
old_ifs=$IFS
IFS='
'
for f in $FILES; do
	IFS=$old_ifs
	[ -n "$f" ] || continue
	fsrc=${f%%=*} fdst=${f#*=}
	case $f in *=/*) ;; *) die "-f $f: want SRC=/ABSOLUTE/DST" ;; esac
	[ -f "$fsrc" ] || die "file $fsrc not found"
	mkdir -p "$d${fdst%/*}"
	if [ "$(head -c 4 "$fsrc" | od -An -c | tr -d ' ')" = '177ELF' ] &&
	    command -v objcopy >/dev/null 2>&1; then
		objcopy --strip-debug "$fsrc" "$d$fdst" || die "cannot copy $fsrc"
		copy_libs "$fsrc"
	else
		cp -L "$fsrc" "$d$fdst" || die "cannot copy $fsrc"
	fi
	[ ! -x "$fsrc" ] || chmod 755 "$d$fdst"
done
IFS=$old_ifs

# --- programs ----------------------------------------------------------
proglines=
labels=" "
nsrc=0
srcmap=
for spec in "$@"; do
	envw='' path='' args=''
	for w in $spec; do
		if [ -z "$path" ]; then
			case $w in
			*=*) envw="$envw $(q "$w")"; continue ;;
			esac
			path=$w
		else
			args="$args $(q "$w")"
		fi
	done
	[ -n "$path" ] || die "empty program spec"
	[ -f "$path" ] || die "program $path not found"
	copy_libs "$path"
	real=$(realpath "$path")
	gpath=$(printf '%s\n' "$srcmap" | awk -F'\t' -v r="$real" '$1 == r { print $2; exit }')
	if [ -z "$gpath" ]; then
		nsrc=$((nsrc + 1))
		mkdir -p "$d/t/$nsrc"
		gpath=/t/$nsrc/$(basename "$path")
		cp "$path" "$d$gpath"
		chmod 755 "$d$gpath"
		srcmap="$srcmap$real	$gpath
"
	fi
	label=$(basename "$path")
	n=1
	while case $labels in *" $label "*) true ;; *) false ;; esac; do
		n=$((n + 1))
		label=$(basename "$path")-$n
	done
	labels="$labels$label "
	proglines="${proglines}run_prog $(q "$label")$envw $(q "$gpath")$args
"
done

genv=
for e in $ENVS; do genv="$genv $(q "$e")"; done

# --- /init -------------------------------------------------------------
{
	cat <<'EOS'
#!/bin/busybox sh
# generated by tests/vm/mkinitrd.sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo on >/proc/sys/kernel/printk_devkmsg 2>/dev/null || true
# WARN() prints "WARNING: CPU: n PID: n at ..." (a bare "WARNING:" also
# appears in harmless boot messages, e.g. the SRSO mitigation notice)
KLOG_RE='WARNING: CPU:|WARNING: at |BUG:|Oops|general protection|Call Trace|kernel BUG'
KLOG_IGNORE=@KLOG_IGNORE@
up() { cut -d' ' -f1 /proc/uptime; }
# fd 3: the result channel, held open until the end (see mkinitrd.sh)
# (a failed "exec 3>" would end this shell: probe in a subshell first)
if (exec 3>/dev/ttyS1) 2>/dev/null; then
	exec 3>/dev/ttyS1
	stty -F /dev/ttyS1 raw -echo 115200 2>/dev/null || true
else
	echo "harness: no /dev/ttyS1, results go to the console" >/dev/console
	exec 3>/dev/console
fi
r() { printf '\n@@VM %s\n' "$*" >&3; }
klog_check() {
	# a new record also completes a pending one (no newline yet) that
	# dmesg would not show
	echo "vm-harness: kernel log check after $1" >/dev/kmsg 2>/dev/null || true
	dmesg -c >/tmp/klog 2>/dev/null || return 0
	if [ -n "$KLOG_IGNORE" ]; then
		grep -v -E "$KLOG_IGNORE" /tmp/klog >/tmp/klog2 || true
		mv /tmp/klog2 /tmp/klog
	fi
	first=$(grep -m 1 -E "$KLOG_RE" /tmp/klog) || return 0
	r "klogfail $1 $first"
	# the report: from 5 lines before the first match, at most 150 lines
	n=$(grep -n -m 1 -E "$KLOG_RE" /tmp/klog | cut -d: -f1)
	n=$((n > 5 ? n - 5 : 1))
	tail -n "+$n" /tmp/klog | head -n 150 | sed 's/^/@@VM klog /' >&3
}
do_insmod() {
	name=$1; shift
	if msg=$(insmod "$@" 2>&1); then
		r "insmod $name ok"
	else
		rc=$?
		r "insmod $name fail $rc $(printf '%s' "$msg" | tr '\n' ' ')"
	fi
}
run_prog() {
	label=$1; shift
	r "run $label"
	t0=$(up)
	rc=0
	(cd /tmp && exec timeout -k 5 "$PTIMEOUT" env $GENV "$@") \
	    </dev/null >&3 2>&3 || rc=$?
	r "exit $label $rc $(awk -v a="$t0" -v b="$(up)" 'BEGIN { printf "%.2f", b - a }') $PTIMEOUT"
	klog_check "$label"
}
r "begin kernel $(uname -r), $(nproc) cpus, $(grep -m 1 -o -w -E 'svm|vmx' /proc/cpuinfo || echo no-svm/vmx), up $(up)s"
EOS
	printf 'PTIMEOUT=%s\n' "$(q "$PTIMEOUT")"
	[ -z "$libdirs" ] || printf 'export LD_LIBRARY_PATH=%s\n' "$(q "$libdirs")"
	printf 'GENV=%s\n' "$(q "${ENVS# }")"
	printf '%s' "$modlines"
	printf 'klog_check boot+insmod\n'
	printf '%s' "$proglines"
	cat <<'EOS'
r "end up $(up)s"
exec 3>&-
poweroff -f
EOS
} > "$d/init.in"
kq=$(q "${VM_KLOG_IGNORE:-}" | sed 's/[\\&|]/\\&/g')
sed "s|@KLOG_IGNORE@|$kq|" "$d/init.in" > "$d/init"
rm -f "$d/init.in"
chmod 755 "$d/init"

outabs=$(realpath -m "$out")
mkdir -p "$(dirname "$outabs")"
(cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) > "$outabs.tmp"
mv "$outabs.tmp" "$outabs"
