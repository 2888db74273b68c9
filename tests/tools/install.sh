#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# install.sh: `make install` into a temporary DESTDIR, then build
# examples/hello/hello.c with nothing but `pkg-config nvmm` (pointed into
# the DESTDIR), statically and dynamically; the dynamic program must load
# libnvmm.so.2 from the DESTDIR. Then `make uninstall` must leave no file.
set -u
cd "$(dirname "$0")/../.." || exit 1
CC=${CC:-cc}
t=$(mktemp -d "${TMPDIR:-/tmp}/nvmm-install.XXXXXX")
trap 'rm -rf "$t"' EXIT
d=$t/root
prefix=/usr/local
failed=0

fail() {
	echo "FAIL: install/$1: $2"
	if [ -s "$t/log" ]; then
		tail -n 20 "$t/log" | sed 's/^/#   /'
	fi
	failed=1
}

# A make of our own: not part of the caller's jobserver. SAN=0: what gets
# installed is the ordinary build.
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory \
	    SAN=0 DESTDIR="$d" PREFIX="$prefix" "$@" >"$t/log" 2>&1
}

command -v pkg-config >/dev/null 2>&1 || {
	echo "SKIP: install: pkg-config not found (apt-get install pkg-config)"
	exit 0
}

if ! submake install; then
	fail make-install "make install DESTDIR=$d failed"
	exit 1
fi
missing=
for f in include/nvmm.h lib/libnvmm.a lib/libnvmm.so.2 lib/libnvmm.so \
    lib/pkgconfig/nvmm.pc sbin/nvmmctl share/man/man3/libnvmm.3 \
    share/man/man3/nvmm_vcpu_run.3 share/man/man4/nvmm.4 \
    share/man/man8/nvmmctl.8; do
	[ -e "$d$prefix/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	fail make-install "not installed:$missing"
elif [ "$(readlink "$d$prefix/lib/libnvmm.so")" != libnvmm.so.2 ]; then
	fail make-install "lib/libnvmm.so is not a link to libnvmm.so.2"
elif ! readelf -d "$d$prefix/lib/libnvmm.so.2" | grep -q 'SONAME.*\[libnvmm.so.2\]'; then
	fail make-install "libnvmm.so.2 has no SONAME libnvmm.so.2"
else
	echo "PASS: install/make-install"
fi

# pkg-config's output, blanks normalized (it ends some with a space).
pc() {
	# shellcheck disable=SC2046,SC2005
	echo $(pkg-config "$@")
}

export PKG_CONFIG_LIBDIR="$d$prefix/lib/pkgconfig"
export PKG_CONFIG_PATH="$PKG_CONFIG_LIBDIR"
export PKG_CONFIG_SYSROOT_DIR="$d"
if ! pkg-config --exists nvmm 2>"$t/log"; then
	fail pkg-config "pkg-config does not find nvmm"
elif [ "$(pc --modversion nvmm)" != 2.0.0 ]; then
	fail pkg-config "version $(pkg-config --modversion nvmm), expected 2.0.0"
elif [ "$(pc --cflags nvmm)" != "-I$d$prefix/include" ]; then
	fail pkg-config "--cflags gives '$(pc --cflags nvmm)'"
elif [ "$(pc --libs nvmm)" != "-L$d$prefix/lib -lnvmm" ]; then
	fail pkg-config "--libs gives '$(pc --libs nvmm)'"
elif [ "$(pc --static --libs nvmm)" != "-L$d$prefix/lib -lnvmm -lpthread" ]; then
	fail pkg-config "--static --libs gives '$(pc --static --libs nvmm)'"
else
	echo "PASS: install/pkg-config"
fi

# Shared: the program must need libnvmm.so.2 and find it in the DESTDIR.
# shellcheck disable=SC2046 # pkg-config output is a list of words
if ! $CC -Wall -Wextra -Werror -o "$t/hello" examples/hello/hello.c \
    $(pkg-config --cflags --libs nvmm) >"$t/log" 2>&1; then
	fail link-shared "$CC examples/hello/hello.c \$(pkg-config --cflags --libs nvmm) failed"
elif ! readelf -d "$t/hello" | grep -q 'NEEDED.*\[libnvmm.so.2\]'; then
	fail link-shared "the program does not need libnvmm.so.2"
elif ! LD_LIBRARY_PATH="$d$prefix/lib" ldd "$t/hello" >"$t/log" 2>&1 ||
    ! grep -q "libnvmm.so.2 => $d$prefix/lib/libnvmm.so.2 " "$t/log"; then
	fail link-shared "ldd does not resolve libnvmm.so.2 into $d$prefix/lib"
else
	# It must load and reach libnvmm (nvmm_init may fail on this host).
	LD_LIBRARY_PATH="$d$prefix/lib" "$t/hello" >"$t/log" 2>&1
	if grep -q 'error while loading shared libraries' "$t/log" ||
	    ! grep -q 'Hello from an NVMM guest\|nvmm_init' "$t/log"; then
		fail link-shared "the program does not run with the installed library"
	else
		echo "PASS: install/link-shared"
	fi
fi

# Static: libnvmm.a, no dependency on libnvmm.so.
# shellcheck disable=SC2046
if ! $CC -Wall -Wextra -Werror -static -o "$t/hello-static" \
    examples/hello/hello.c $(pkg-config --static --cflags --libs nvmm) \
    >"$t/log" 2>&1; then
	fail link-static "$CC -static examples/hello/hello.c \$(pkg-config --static --cflags --libs nvmm) failed"
elif readelf -d "$t/hello-static" 2>/dev/null | grep -q NEEDED; then
	fail link-static "the static program has dynamic dependencies"
elif ! nm "$t/hello-static" | grep -q ' T nvmm_vcpu_run$'; then
	fail link-static "libnvmm is not linked in"
else
	echo "PASS: install/link-static"
fi

# The installed nvmmctl runs (usage: exit status 2).
"$d$prefix/sbin/nvmmctl" -h >/dev/null 2>"$t/log"
rc=$?
if [ $rc -ne 2 ] || ! grep -q '^usage: nvmmctl' "$t/log"; then
	fail nvmmctl "installed nvmmctl -h: exit status $rc, expected 2 and the usage"
else
	echo "PASS: install/nvmmctl"
fi

if ! submake uninstall; then
	fail make-uninstall "make uninstall DESTDIR=$d failed"
else
	left=$(cd "$d" && find . ! -type d | sed 's|^\./||')
	if [ -n "$left" ]; then
		fail make-uninstall "files left in DESTDIR: $(printf "%s" "$left" | tr "\n" " ")"
	else
		echo "PASS: install/make-uninstall"
	fi
fi
exit $failed
