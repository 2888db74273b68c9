#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# build-qemu.sh: build unmodified QEMU, from Debian's source packages, with
# its nvmm accelerator enabled on Linux and linked against this tree's
# libnvmm. `make qemu` runs it for every version.
#
# usage: build-qemu.sh [--path] [--configure-only] [VERSION]...
#   VERSION     7.2 (Debian 12's QEMU) and/or 10.0 (bookworm-backports);
#               default: both
#   --path      print the qemu-system-x86_64 path of each VERSION and exit
#               (status 1 if one is not built)
#   --build-dir print the build directory of each VERSION (built or not)
#   --configure-only   stop after configure
#
# What it changes in QEMU: the one meson line that restricts the nvmm
# accelerator to NetBSD now also admits Linux, and the patches of
# tests/qemu/patches/VERSION/ (fixes of QEMU's own bugs, each with its
# reason in its header). Nothing of QEMU is kept in this repository.
#
# The work is cached outside the tree, in $NVMM_CACHE (default
# ${XDG_CACHE_HOME:-$HOME/.cache}/nvmm-linux): downloads in dl/, each
# version in qemu-VERSION/ (source, build, and a private copy of
# include/nvmm.h and libnvmm.so.2 so that the cache does not depend on where
# this tree lives). A second run only refreshes that copy and lets ninja
# find nothing (or one file) to do: seconds. A new Debian revision or a
# changed patch gives a new source directory.
#
# Needs: deb-src entries for bookworm and bookworm-backports (written, if
# missing, by tools/apt-sources.sh, as root or through sudo), the packages
# of tests/qemu/PACKAGES, and the library (`make`, run first by `make qemu`).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CACHE=${NVMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nvmm-linux}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

die() { echo "build-qemu.sh: $*" >&2; exit 1; }
say() { echo "build-qemu.sh: $*" >&2; }

print_path=0 conf_only=0
versions=
for a in "$@"; do
	case $a in
	--path) print_path=1 ;;
	--build-dir) print_path=2 ;;
	--configure-only) conf_only=1 ;;
	7.2|10.0) versions="$versions $a" ;;
	-h|--help) sed -n '4,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$a' (versions: 7.2 10.0)" ;;
	esac
done
[ -n "$versions" ] || versions="7.2 10.0"

binpath() { echo "$CACHE/qemu-$1/build/qemu-system-x86_64"; }

if [ "$print_path" -eq 2 ]; then
	for v in $versions; do echo "$CACHE/qemu-$v/build"; done
	exit 0
fi
if [ "$print_path" -eq 1 ]; then
	rc=0
	for v in $versions; do
		p=$(binpath "$v")
		if [ -x "$p" ]; then echo "$p"; else echo "$p (not built)" >&2; rc=1; fi
	done
	exit $rc
fi

# --- apt: source entries (tools/apt-sources.sh: one copy of that rule) ----
ensure_sources() {
	sh "$top/tools/apt-sources.sh" >&2 || die "cannot set up the apt source entries (tools/apt-sources.sh)"
}

# newest source version of QEMU VERSION that apt knows (1:7.2+dfsg-7+deb12u18)
debian_version() {
	apt-cache showsrc qemu 2>/dev/null | awk '/^Version:/ { print $2 }' |
	    grep "^1:$(echo "$1" | sed 's/\./\\./')[.+]" | sort -V | tail -n 1
}

# --- one version -------------------------------------------------------------
fetch_source() {	# VERSION DEBVER SRCDIR
	v=$1 dv=$2 src=$3
	up=${dv#1:}; up=${up%-*}		# 7.2+dfsg
	mkdir -p "$CACHE/dl"
	orig=$(ls "$CACHE/dl/qemu_$up.orig.tar."* 2>/dev/null | head -n 1) || true
	dsc=$CACHE/dl/qemu_$(echo "${dv#1:}").dsc
	if [ -z "$orig" ] || [ ! -f "$dsc" ]; then
		say "downloading qemu=$dv"
		# the backports pool may lack the .dsc and Debian tarball of a
		# version whose orig tarball it has (seen 2026-12-05 for
		# 10.0.2+ds-2+deb13u1~bpo12+1): the orig tarball is enough
		(cd "$CACHE/dl" && apt-get source -q --download-only "qemu=$dv" >/dev/null 2>&1) || true
		orig=$(ls "$CACHE/dl/qemu_$up.orig.tar."* 2>/dev/null | head -n 1) ||
		    die "cannot download the source of qemu=$dv"
	fi
	tmp=$src.tmp
	rm -rf "$tmp"
	if [ -f "$dsc" ]; then
		say "unpacking $(basename "$dsc") (with Debian's patches)"
		dpkg-source -q -x "$dsc" "$tmp" >/dev/null 2>&1 || die "dpkg-source -x $dsc failed"
	else
		say "unpacking $(basename "$orig") (upstream source, no Debian .dsc in the archive)"
		mkdir -p "$tmp"
		tar xf "$orig" -C "$tmp" --strip-components=1
	fi
	# the one build change: nvmm is looked for on Linux too
	sed -i -E "s/^if (targetos|host_os) == 'netbsd'\$/if \\1 in ['netbsd', 'linux']/" "$tmp/meson.build"
	n=$(grep -c -E "^if (targetos|host_os) in \['netbsd', 'linux'\]\$" "$tmp/meson.build") || true
	[ "$n" = 1 ] || die "$v: the nvmm line of meson.build was not found exactly once ($n)"
	grep -A1 -E "^if (targetos|host_os) in \['netbsd', 'linux'\]\$" "$tmp/meson.build" |
	    grep -q "find_library('nvmm'" || die "$v: the changed meson line is not nvmm's"
	# Debian's repacked 10.0 source has no edk2 firmware blobs, yet meson
	# wants to unpack them when x86_64-softmmu is built: give it empty
	# archives (the OVMF our tests use is Debian's ovmf package)
	for f in $(sed -n "s/^ *'\(edk2-[^']*\.fd\)',\$/\1/p" "$tmp/pc-bios/meson.build"); do
		[ -f "$tmp/pc-bios/$f.bz2" ] || printf '' | bzip2 > "$tmp/pc-bios/$f.bz2"
	done
	for p in "$here/patches/$v"/*.patch; do
		[ -f "$p" ] || continue
		say "applying $(basename "$p")"
		patch -s -p1 -d "$tmp" < "$p" || die "$p does not apply"
	done
	mv "$tmp" "$src"
}

# QEMU 10.0 wants meson >= 1.5 and pycotap (its configure checks both);
# bookworm has meson 1.0.1 (which 7.2 needs) and no pycotap. Take both from
# bookworm-backports, unpacked into the cache for 10.0 only: nothing is
# installed, the system's meson stays.
BPO_PY="meson python3-pycotap"
bpo_python_dir() {
	m=$CACHE/python-bpo
	if [ ! -f "$m/.done" ]; then
		say "fetching $BPO_PY from bookworm-backports (unpacked in $m, not installed)"
		rm -rf "$m" "$CACHE/dl/bpo" && mkdir -p "$m" "$CACHE/dl/bpo"
		for p in $BPO_PY; do
			(cd "$CACHE/dl/bpo" && apt-get download -q "$p/bookworm-backports" >/dev/null 2>&1) ||
			    die "cannot download $p from bookworm-backports"
		done
		for f in "$CACHE"/dl/bpo/*.deb; do dpkg-deb -x "$f" "$m"; done
		touch "$m/.done"
	fi
	echo "$m/usr/lib/python3/dist-packages"
}

# copy SRC DST only when it differs (keeps mtimes: ninja rebuilds nothing)
sync_file() { cmp -s "$1" "$2" 2>/dev/null || { mkdir -p "$(dirname "$2")" && cp "$1" "$2"; }; }

build_one() {
	v=$1
	dv=$(debian_version "$v")
	[ -n "$dv" ] || die "apt knows no source package qemu $v (apt-cache showsrc qemu)"
	vdir=$CACHE/qemu-$v
	phash=$(cat "$here/patches/$v"/*.patch 2>/dev/null | cksum | cut -d' ' -f1)
	tag=$(echo "${dv#1:}" | tr -c 'A-Za-z0-9.+\n' '_')-$phash
	src=$vdir/src-$tag
	mkdir -p "$vdir"
	if [ ! -d "$src" ]; then
		# another source or other patches: start again
		rm -rf "$vdir"/src-* "$vdir/build"
		fetch_source "$v" "$dv" "$src"
	fi
	# libnvmm as QEMU sees it: a copy, refreshed only when it changed
	[ -f "$top/lib/libnvmm.so.2" ] || die "$top/lib/libnvmm.so.2 not built (make)"
	sync_file "$top/include/nvmm.h" "$vdir/nvmm/include/nvmm.h"
	sync_file "$top/lib/libnvmm.so.2" "$vdir/nvmm/lib/libnvmm.so.2"
	ln -sf libnvmm.so.2 "$vdir/nvmm/lib/libnvmm.so"

	b=$vdir/build
	if [ ! -f "$b/build.ninja" ] || [ "$(cat "$b/.nvmm-src" 2>/dev/null)" != "$src" ]; then
		rm -rf "$b" && mkdir -p "$b"
		say "configuring QEMU $v ($dv)"
		pyenv=
		extra=
		if [ "$v" = 10.0 ]; then
			pyenv="PYTHONPATH=$(bpo_python_dir)"
			extra="--python=/usr/bin/python3 --disable-download --disable-rust --disable-install-blobs"
		fi
		# /usr/bin first: a pyenv python in PATH would hide Debian's
		# meson from 7.2's configure
		(cd "$b" && env PATH="/usr/bin:$PATH" $pyenv "$src/configure" \
		    --target-list=x86_64-softmmu --without-default-features \
		    --disable-docs --disable-tools --disable-user --disable-guest-agent \
		    --enable-tcg --enable-kvm --enable-nvmm --disable-werror $extra \
		    --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu \
		    "--extra-cflags=-I$vdir/nvmm/include" \
		    "--extra-ldflags=-L$vdir/nvmm/lib" \
		    > "$b/configure.log" 2>&1) || {
			tail -n 25 "$b/configure.log" >&2
			rm -f "$b/build.ninja"
			die "$v: configure failed (log: $b/configure.log)"
		}
		grep -q -E 'NVMM support *: *YES' "$b/configure.log" ||
		    die "$v: configure did not enable NVMM (log: $b/configure.log)"
		echo "$src" > "$b/.nvmm-src"
	fi
	[ "$conf_only" -eq 0 ] || return 0
	say "building QEMU $v (ninja -j$JOBS; the first build takes minutes)"
	t0=$(date +%s)
	(cd "$b" && env PATH="/usr/bin:$PATH" ninja -j"$JOBS" qemu-system-x86_64 > "$b/ninja.log" 2>&1) || {
		grep -E 'error|FAILED' "$b/ninja.log" | head -n 20 >&2
		die "$v: build failed (log: $b/ninja.log)"
	}
	say "QEMU $v built in $(( $(date +%s) - t0 )) s: $(binpath "$v")"
}

ensure_sources
for v in $versions; do
	# one builder per version at a time (concurrent `make check` runs)
	mkdir -p "$CACHE"
	exec 9>"$CACHE/qemu-$v.lock"
	flock 9
	build_one "$v"
	exec 9>&-
done
