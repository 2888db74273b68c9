#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# module-install.sh: installing nvmm.ko, without loading it (this host
# cannot). `make -C kernel install INSTALL_MOD_PATH=<tmp>` must put nvmm.ko
# under <tmp>/lib/modules/<ver>/extra, index it with depmod (so modprobe
# finds it) and put the udev rule in <tmp>/lib/udev/rules.d; `uninstall`
# must take both away. kernel/dkms.conf must parse and say what DKMS needs;
# `make -C kernel dkms-source` must give a tree that dkms builds (when dkms
# is installed; in temporary DKMS trees, unsigned).
set -u
cd "$(dirname "$0")/../.." || exit 1
t=$(mktemp -d "${TMPDIR:-/tmp}/nvmm-modinst.XXXXXX")
trap 'rm -rf "$t"' EXIT
failed=0

fail() {
	echo "FAIL: module-install/$1: $2"
	if [ -s "$t/log" ]; then
		tail -n 20 "$t/log" | sed 's/^/#   /'
	fi
	failed=1
}

# A make of our own: not part of the caller's jobserver.
kmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory \
	    -C kernel "$@" >"$t/log" 2>&1
}

# dkms.conf: read by DKMS with bash; it needs none of DKMS's variables to
# parse. Checked first: it needs no kernel headers.
pc_version=$(sed -n 's/^NVMM_PC_VERSION := //p' mk/install.mk)
if ! command -v bash >/dev/null 2>&1; then
	echo "SKIP: module-install/dkms-conf: bash not found"
elif ! kernelver=6.1.0-0-test kernel_source_dir=/nonexistent bash -euc '
	. kernel/dkms.conf
	echo "name=$PACKAGE_NAME"
	echo "version=$PACKAGE_VERSION"
	echo "module=${BUILT_MODULE_NAME[0]}"
	echo "location=${BUILT_MODULE_LOCATION[0]}"
	echo "dest=${DEST_MODULE_LOCATION[0]}"
	echo "autoinstall=$AUTOINSTALL"
	echo "make=${MAKE[0]}"
	echo "clean=$CLEAN"' >"$t/dkms.vars" 2>"$t/log"; then
	fail dkms-conf "kernel/dkms.conf does not parse in bash"
else
	: >"$t/log"
	bad=
	for want in name=nvmm "version=$pc_version" module=nvmm \
	    location=kernel/ autoinstall=yes \
	    "make=make -C kernel KVER=6.1.0-0-test KDIR=/nonexistent modules" \
	    "clean=make -C kernel KVER=6.1.0-0-test KDIR=/nonexistent clean"; do
		grep -qxF "$want" "$t/dkms.vars" || bad="$bad [$want]"
	done
	grep -qx 'dest=/updates/dkms\|dest=/kernel/drivers/misc' "$t/dkms.vars" ||
	    bad="$bad [dest]"
	if [ -n "$bad" ]; then
		cp "$t/dkms.vars" "$t/log"
		fail dkms-conf "kernel/dkms.conf: wrong or missing:$bad (version must be mk/install.mk's $pc_version)"
	else
		echo "PASS: module-install/dkms-conf"
	fi
fi

# The udev rule: the only line that is not a comment.
rule=$(grep -v '^#' kernel/99-nvmm.rules | grep -v '^[[:space:]]*$')
if [ "$rule" != 'SUBSYSTEM=="misc", KERNEL=="nvmm", GROUP="nvmm", MODE="0660"' ]; then
	fail udev-rule "kernel/99-nvmm.rules says: $rule"
else
	echo "PASS: module-install/udev-rule"
fi

kver=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
kdir=/lib/modules/$kver/build
if [ -z "$kver" ] || [ ! -d "$kdir" ]; then
	echo "SKIP: module-install/install: no kernel headers at ${kver:+$kdir}${kver:-/lib/modules/<newest /boot/vmlinuz-*>/build} (apt-get install linux-headers-amd64)"
	echo "SKIP: module-install/dkms-build: no kernel headers"
	exit $failed
fi

# The rule must go only into the staging root.
live_rule=/lib/udev/rules.d/99-nvmm.rules
live_before=absent
[ -e "$live_rule" ] && live_before=present

r=$t/root
ko=$r/lib/modules/$kver/extra/nvmm.ko
if ! kmake install INSTALL_MOD_PATH="$r"; then
	fail install "make -C kernel install INSTALL_MOD_PATH=$r failed"
elif [ ! -f "$ko" ]; then
	fail install "no $ko; installed: $(cd "$r" && find . -name '*.ko' | tr '\n' ' ')"
elif command -v modinfo >/dev/null 2>&1 && {
    ! modinfo -F parm "$ko" 2>/dev/null | grep -q '^max_machines:' ||
    [ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" != "$kver" ]; }; then
	fail install "$ko: no max_machines parameter, or not built for $kver"
elif grep -q 'SSL error' "$t/log"; then
	fail install "modules_install tried to sign with a key the headers do not ship"
else
	echo "PASS: module-install/install"
fi

if [ ! -f "$ko" ]; then
	:
elif ! command -v depmod >/dev/null 2>&1; then
	if grep -q 'depmod not found' "$t/log"; then
		echo "SKIP: module-install/depmod: depmod not found (apt-get install kmod), and make said so"
	else
		fail depmod "no depmod, and make -C kernel install did not say so"
	fi
elif ! grep -q '^extra/nvmm\.ko:' "$r/lib/modules/$kver/modules.dep" 2>/dev/null; then
	fail depmod "$r/lib/modules/$kver/modules.dep does not list extra/nvmm.ko"
elif command -v modprobe >/dev/null 2>&1 &&
    ! modprobe -d "$r" -S "$kver" --show-depends nvmm 2>&1 |
    grep -qxF "insmod $ko "; then
	modprobe -d "$r" -S "$kver" --show-depends nvmm >"$t/log" 2>&1
	fail depmod "modprobe -d $r --show-depends nvmm does not find $ko"
else
	echo "PASS: module-install/depmod"
fi

if ! cmp -s kernel/99-nvmm.rules "$r/lib/udev/rules.d/99-nvmm.rules"; then
	fail install-udev "the udev rule is not at $r/lib/udev/rules.d/99-nvmm.rules"
elif [ "$(stat -c %a "$r/lib/udev/rules.d/99-nvmm.rules")" != 644 ]; then
	fail install-udev "$r/lib/udev/rules.d/99-nvmm.rules is not mode 644"
else
	live_after=absent
	[ -e "$live_rule" ] && live_after=present
	if [ "$live_before" != "$live_after" ]; then
		fail install-udev "INSTALL_MOD_PATH=$r also wrote $live_rule"
	else
		echo "PASS: module-install/install-udev"
	fi
fi

# Nothing but the module, the rule and depmod's indexes.
extra=$(cd "$r" && find . ! -type d | sed 's|^\./||' |
    grep -v "^lib/modules/$kver/modules\.[a-z.]*$" |
    grep -vxF "lib/modules/$kver/extra/nvmm.ko" |
    grep -vxF lib/udev/rules.d/99-nvmm.rules)
if [ -n "$extra" ]; then
	fail install-files "unexpected files: $(printf '%s' "$extra" | tr '\n' ' ')"
else
	echo "PASS: module-install/install-files"
fi

if ! kmake uninstall INSTALL_MOD_PATH="$r"; then
	fail uninstall "make -C kernel uninstall INSTALL_MOD_PATH=$r failed"
elif [ -e "$ko" ] || [ -e "$r/lib/udev/rules.d/99-nvmm.rules" ]; then
	fail uninstall "nvmm.ko or the udev rule is still there"
elif [ -f "$r/lib/modules/$kver/modules.dep" ] &&
    grep -q nvmm "$r/lib/modules/$kver/modules.dep"; then
	fail uninstall "modules.dep still lists nvmm.ko"
else
	echo "PASS: module-install/uninstall"
fi

# DESTDIR alone is the staging root for both.
d=$t/destdir
if ! kmake install DESTDIR="$d"; then
	fail destdir "make -C kernel install DESTDIR=$d failed"
elif [ ! -f "$d/lib/modules/$kver/extra/nvmm.ko" ] ||
    [ ! -f "$d/lib/udev/rules.d/99-nvmm.rules" ]; then
	fail destdir "DESTDIR=$d: nvmm.ko or the udev rule is not under it"
else
	echo "PASS: module-install/destdir"
fi

# The DKMS source tree, and a DKMS build of it.
s=$t/src
v=$pc_version
if ! kmake dkms-source DESTDIR="$s"; then
	fail dkms-source "make -C kernel dkms-source DESTDIR=$s failed"
elif [ ! -f "$s/usr/src/nvmm-$v/dkms.conf" ] ||
    [ ! -f "$s/usr/src/nvmm-$v/kernel/Kbuild" ] ||
    [ ! -f "$s/usr/src/nvmm-$v/kernel/shim/sys/types.h" ] ||
    [ ! -f "$s/usr/src/nvmm-$v/include/nvmm_ioctl.h" ] ||
    [ ! -f "$s/usr/src/nvmm-$v/include/nvmm_x86_msr.h" ] ||
    [ -e "$s/usr/src/nvmm-$v/kernel/nvmm.ko" ]; then
	fail dkms-source "the tree at $s/usr/src/nvmm-$v is not complete, or holds build products"
else
	echo "PASS: module-install/dkms-source"
fi

if ! command -v dkms >/dev/null 2>&1; then
	echo "SKIP: module-install/dkms-build: dkms not installed (apt-get install dkms)"
elif [ ! -f "$s/usr/src/nvmm-$v/dkms.conf" ]; then
	echo "SKIP: module-install/dkms-build: no DKMS source tree"
else
	# Temporary trees; sign_file points nowhere so that dkms neither
	# signs nor makes a key in /var/lib/dkms.
	mkdir -p "$t/dkms"
	if ! sign_file=/nonexistent dkms add -m nvmm -v "$v" \
	    --sourcetree "$s/usr/src" --dkmstree "$t/dkms" >"$t/log" 2>&1 ||
	    ! sign_file=/nonexistent dkms build -m nvmm -v "$v" -k "$kver" \
	    --sourcetree "$s/usr/src" --dkmstree "$t/dkms" >"$t/log" 2>&1; then
		cat "$t/dkms/nvmm/$v/build/make.log" >>"$t/log" 2>/dev/null
		fail dkms-build "dkms add/build nvmm/$v for $kver failed"
	elif ! ls "$t/dkms/nvmm/$v/$kver"/*/module/nvmm.ko* >/dev/null 2>&1; then
		fail dkms-build "dkms build left no nvmm.ko in $t/dkms/nvmm/$v/$kver"
	else
		echo "PASS: module-install/dkms-build"
	fi
fi
exit $failed
