#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# man-lint.sh: the manual pages of man/.
#   lint/<page>       mandoc -Tlint -Wwarning reports nothing
#   libnvmm.3-api     every function of include/nvmm.h is in the page's
#                     NAME and SYNOPSIS, every exit reason, state flag,
#                     configure op, event type and capability bit in its text
#   libnvmm.3-example the EXAMPLES program compiles (gcc/clang -Werror) and
#                     links against libnvmm.a
set -u
cd "$(dirname "$0")/../.." || exit 1
O=${O:-build}
CC=${CC:-cc}
failed=0
t=$(mktemp -d "${TMPDIR:-/tmp}/nvmm-man.XXXXXX")
trap 'rm -rf "$t"' EXIT

if command -v mandoc >/dev/null 2>&1; then
	for page in man/*.[1-9]; do
		if mandoc -Tlint -Wwarning "$page" >"$t/lint" 2>&1; then
			echo "PASS: man/lint/$(basename "$page")"
		else
			echo "FAIL: man/lint/$(basename "$page"): mandoc -Tlint -Wwarning reports:"
			sed 's/^/#   /' "$t/lint"
			failed=1
		fi
	done
else
	echo "SKIP: man/lint: mandoc not found (apt-get install mandoc)"
fi

page=man/libnvmm.3
missing=
# shellcheck disable=SC2013 # names have no blanks
for f in $(sed -n 's/^int \(nvmm_[a-z_0-9]*\)(.*/\1/p' include/nvmm.h); do
	grep -q "^\.Nm $f\( ,\)\{0,1\}$" "$page" || missing="$missing $f(NAME)"
	grep -q "^\.Fn $f " "$page" || missing="$missing $f(SYNOPSIS)"
done
# shellcheck disable=SC2013
for c in $(grep -o '#define NVMM_\(VCPU_EXIT\|X64_STATE\|VCPU_CONF\|VCPU_EVENT\|CAP_ARCH\|CTL\|PROT\)_[A-Z0-9_]*' include/nvmm.h |
    sed 's/#define //' | grep -v '_BEGIN$'); do
	grep -q "$c" "$page" || missing="$missing $c"
done
if [ -n "$missing" ]; then
	echo "FAIL: man/libnvmm.3-api: not documented:$missing"
	failed=1
else
	echo "PASS: man/libnvmm.3-api"
fi

# The first literal display of EXAMPLES, with mdoc's escapes undone.
awk '/^\.Sh EXAMPLES/ { ex = 1; next }
	/^\.Sh / { ex = 0 }
	ex && !done && /^\.Bd -literal/ { in_bd = 1; next }
	in_bd && /^\.Ed/ { in_bd = 0; done = 1; next }
	in_bd { gsub(/\\e/, "\\"); gsub(/\\&/, ""); print }' "$page" > "$t/example.c"
if [ ! -s "$t/example.c" ]; then
	echo "FAIL: man/libnvmm.3-example: no example program found"
	failed=1
else
	# Linked against the ordinary libnvmm.a when it is built (SAN=1
	# builds another one): else compiled only.
	link="-o $t/example $t/example.c lib/libnvmm.a -lpthread"
	[ -f lib/libnvmm.a ] || link="-c -o $t/example.o $t/example.c"
	ok=1
	for cc in "$CC" clang; do
		command -v "$cc" >/dev/null 2>&1 || continue
		# shellcheck disable=SC2086 # $link is a list of words
		if ! "$cc" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude \
		    $link >"$t/log" 2>&1; then
			echo "FAIL: man/libnvmm.3-example: $cc cannot build it:"
			sed 's/^/#   /' "$t/log"
			ok=0
			failed=1
		fi
	done
	[ $ok -eq 0 ] || echo "PASS: man/libnvmm.3-example"
fi
exit $failed
