#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# install-deps.sh: installs the Debian packages this tree needs, those listed
# in .ci/packages and in every tests/*/PACKAGES (one package a line, '#'
# starts a comment), when some are missing. It runs apt-get as root itself,
# or through sudo for any other user. When nothing is missing it runs
# nothing and needs neither root nor sudo.
#
# usage: sh tools/install-deps.sh          (the README's first command, .ci/run)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "install-deps: $*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 ||
    die "dpkg-query not found: this needs Debian 12 (or a derivative)"

# apt's own configuration first: source entries and the packages pinned to
# bookworm-backports (tools/apt-sources.sh; NVMM_APT_SOURCES replaces the
# command, for tests)
${NVMM_APT_SOURCES:-sh "$top/tools/apt-sources.sh"}

lists=
for f in "$top/.ci/packages" "$top"/tests/*/PACKAGES; do
	[ -f "$f" ] && lists="$lists $f"
done
# shellcheck disable=SC2086 # one word per file name (no blanks in them)
packages=$(cat $lists | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)

missing=
for p in $packages; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q ' ok installed$' ||
	    missing="$missing $p"
done
# a package pinned to bookworm-backports (tests/*/BACKPORTS) counts as
# missing while the installed version is not the candidate
if command -v apt-cache >/dev/null 2>&1; then
	for p in $(cat "$top"/tests/*/BACKPORTS 2>/dev/null | sed 's/#.*//'); do
		case " $missing " in *" $p "*) continue ;; esac
		v=$(apt-cache policy "$p" 2>/dev/null | awk '/Installed:/ { i = $2 } /Candidate:/ { c = $2 } END { if (i != "(none)" && i != c) print i " -> " c }')
		[ -z "$v" ] || missing="$missing $p"
	done
fi
if [ -z "$missing" ]; then
	echo "install-deps: every package is installed"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1; then
	as_root=sudo
else
	die "missing packages:$missing; run this as root, or install sudo (as root: apt-get install sudo) and add $(id -un) to group sudo"
fi

echo "install-deps: installing:$missing"
# shellcheck disable=SC2086 # $as_root is empty or one word; $missing a list
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
