#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# apt-sources.sh: the apt configuration this tree needs beyond Debian 12's
# defaults, in files of its own (the system's own lists are not touched):
#   /etc/apt/sources.list.d/nvmm-linux.sources
#       deb-src of bookworm, bookworm-updates and bookworm-backports (QEMU's
#       source packages, tests/qemu/build-qemu.sh) and the binary
#       bookworm-backports suite
#   /etc/apt/preferences.d/nvmm-linux
#       the packages listed in tests/*/BACKPORTS taken from
#       bookworm-backports (priority 990); everything else keeps
#       backports' default priority 100, so nothing else comes from there
# Writes (as root, or through sudo) and runs `apt-get update` only when a
# file is missing or differs. Prints nothing when all is in place.
#
# usage: sh tools/apt-sources.sh [--check]   (--check: exit 1 if a change is due)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
SRC=/etc/apt/sources.list.d/nvmm-linux.sources
PREF=/etc/apt/preferences.d/nvmm-linux

die() { echo "apt-sources: $*" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/sources" <<'EOS'
# nvmm-linux (tools/apt-sources.sh): QEMU's source packages and bookworm-backports
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
pkgs=$(cat "$top"/tests/*/BACKPORTS 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u | tr '\n' ' ' | sed 's/ $//') || true
{
	echo "# nvmm-linux (tools/apt-sources.sh): from bookworm-backports, see tests/*/BACKPORTS"
	if [ -n "$pkgs" ]; then
		echo "Package: $pkgs"
		echo "Pin: release n=bookworm-backports"
		echo "Pin-Priority: 990"
	fi
} > "$tmp/pref"

due=
cmp -s "$tmp/sources" "$SRC" 2>/dev/null || due="$due $SRC"
cmp -s "$tmp/pref" "$PREF" 2>/dev/null || due="$due $PREF"
[ -n "$due" ] || exit 0
[ "${1:-}" != --check ] || exit 1

if [ "$(id -u)" -eq 0 ]; then as_root=
elif command -v sudo >/dev/null 2>&1; then as_root=sudo
else die "need root (or sudo) to write$due"; fi
echo "apt-sources: writing$due"
$as_root install -m 644 "$tmp/sources" "$SRC"
$as_root install -m 644 "$tmp/pref" "$PREF"
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
    die "apt-get update failed"
