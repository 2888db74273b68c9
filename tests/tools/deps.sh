#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
#
# deps.sh: tools/install-deps.sh, the README's install step, with fake
# apt-get, dpkg-query, sudo and id first in PATH (nothing is installed):
# which commands it runs as root, as a user with sudo, as a user without
# sudo, and when nothing is missing. PATH holds only the fakes and links to
# the few ordinary tools the script may use, so a real sudo or apt-get of
# this host can never be reached.
#
# The fakes share a state directory ($FAKE): installed (one package a
# line: what the fake dpkg-query reports as installed, what the fake
# apt-get install adds to) and log (one line per fake apt-get or sudo
# call: "sudo ARGS", "apt-get uid=N ARGS"). The fake id answers FAKE_UID;
# the fake sudo runs its command with FAKE_UID=0; the fake apt-get refuses
# to work when FAKE_UID is not 0, as the real one does.
set -u
cd "$(dirname "$0")/../.." || exit 1
script=tools/install-deps.sh
t=$(mktemp -d "${TMPDIR:-/tmp}/nvmm-deps.XXXXXX")
trap 'rm -rf "$t"' EXIT
failed=0
FAKE_APT_FAIL=
SH=$(command -v sh)

fail() {
	echo "FAIL: deps/$1: $2"
	for f in log out err; do
		[ -s "$t/$f" ] || continue
		echo "# $f:"
		sed 's/^/#   /' "$t/$f"
	done
	failed=1
}

if [ ! -f "$script" ]; then
	echo "FAIL: deps: $script not found"
	exit 1
fi

# Every package of the lists the script must read.
all=$(cat .ci/packages tests/*/PACKAGES | sed 's/#.*//' | tr -s ' \t' '\n' |
    grep -v '^$' | sort -u)
nall=$(printf '%s\n' "$all" | wc -l)

# --- the fakes ----------------------------------------------------------------
mkdir -p "$t/bin" "$t/sudo" "$t/tools"
cat > "$t/bin/id" <<'EOF'
#!/bin/sh
case "$*" in
-u) echo "$FAKE_UID" ;;
-un) if [ "$FAKE_UID" -eq 0 ]; then echo root; else echo someone; fi ;;
*) echo "fake id: unexpected arguments: $*" >&2; exit 1 ;;
esac
EOF
cat > "$t/bin/dpkg-query" <<'EOF'
#!/bin/sh
# dpkg-query -W [-f=FORMAT] PACKAGE: the status of the last argument.
for p; do :; done
if grep -qx "$p" "$FAKE/installed"; then
	echo "install ok installed"
else
	echo "dpkg-query: no packages found matching $p" >&2
	exit 1
fi
EOF
cat > "$t/bin/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get uid=$FAKE_UID $*" >> "$FAKE/log"
if [ "$FAKE_UID" -ne 0 ]; then
	echo "E: Could not open lock file - are you root?" >&2
	exit 100
fi
[ "${DEBIAN_FRONTEND:-}" = noninteractive ] || echo "apt-get: DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$FAKE/log"
case $1 in
update) exit 0 ;;
install)
	[ -z "${FAKE_APT_FAIL:-}" ] || exit 100
	shift
	for p; do
		case $p in -*) ;; *) echo "$p" >> "$FAKE/installed" ;; esac
	done ;;
*) exit 100 ;;
esac
EOF
cat > "$t/sudo/sudo" <<'EOF'
#!/bin/sh
echo "sudo $*" >> "$FAKE/log"
FAKE_UID=0 exec "$@"
EOF
chmod +x "$t/bin/"* "$t/sudo/sudo"
for c in cat sed tr sort grep dirname env wc uniq head tail printf echo test; do
	p=$(command -v "$c") || continue
	case $p in /*) ln -s "$p" "$t/tools/$c" ;; esac
done

# run UID PATHDIRS INSTALLED...: runs the script with fake uid UID, PATH
# made of PATHDIRS (names under $t, ':'-separated) and the fake dpkg-query
# reporting INSTALLED ("ALL" = every package of the lists); status in $rc.
run() {
	uid=$1 dirs=$2
	shift 2
	: > "$t/log"
	: > "$t/installed"
	if [ "${1:-}" = ALL ]; then
		printf '%s\n' "$all" > "$t/installed"
	else
		for p; do echo "$p" >> "$t/installed"; done
	fi
	path=
	old_ifs=$IFS; IFS=:
	for d in $dirs; do path="$path${path:+:}$t/$d"; done
	IFS=$old_ifs
	env -i PATH="$path" HOME="$t" FAKE="$t" FAKE_UID="$uid" NVMM_APT_SOURCES=: \
	    ${FAKE_APT_FAIL:+FAKE_APT_FAIL=1} "$SH" "$script" >"$t/out" 2>"$t/err"
	rc=$?
}

# every package of the lists except $1 and $2, one a line
all_but() {
	printf '%s\n' "$all" | grep -vx -e "$1" -e "$2"
}

# The two packages the cases leave missing (sorted, as the script sorts).
m1=cpio m2=qemu-system-x86
# shellcheck disable=SC2046
set -- $(all_but $m1 $m2)

# root, no sudo on the machine: apt-get itself, with only what is missing
run 0 bin:tools "$@"
want="apt-get uid=0 update
apt-get uid=0 install -y --no-install-recommends $m1 $m2"
if [ "$rc" -ne 0 ]; then
	fail root "exit status $rc, expected 0"
elif [ "$(cat "$t/log")" != "$want" ]; then
	fail root "ran other commands than: $(echo "$want" | tr '\n' ';')"
elif [ "$(sort -u "$t/installed" | wc -l)" -ne "$nall" ]; then
	fail root "not everything is installed afterwards"
else
	echo "PASS: deps/root"
fi

# root with sudo present: still no sudo
run 0 bin:sudo:tools "$@"
if [ "$rc" -ne 0 ]; then
	fail root-with-sudo "exit status $rc, expected 0"
elif grep -q '^sudo ' "$t/log"; then
	fail root-with-sudo "root went through sudo"
elif [ "$(cat "$t/log")" != "$want" ]; then
	fail root-with-sudo "ran other commands than: $(echo "$want" | tr '\n' ';')"
else
	echo "PASS: deps/root-with-sudo"
fi

# a user with sudo: every apt-get through sudo, and as root
run 1000 bin:sudo:tools "$@"
if [ "$rc" -ne 0 ]; then
	fail sudo-user "exit status $rc, expected 0"
elif [ "$(grep -c '^sudo ' "$t/log")" -ne 2 ]; then
	fail sudo-user "expected 2 sudo calls (update, install)"
elif [ "$(grep -v '^sudo ' "$t/log")" != "$want" ]; then
	fail sudo-user "apt-get calls differ from: $(echo "$want" | tr '\n' ';')"
elif [ "$(sort -u "$t/installed" | wc -l)" -ne "$nall" ]; then
	fail sudo-user "not everything is installed afterwards"
else
	echo "PASS: deps/sudo-user"
fi

# a user without sudo, something missing: a clear error, nothing run
run 1000 bin:tools "$@"
if [ "$rc" -eq 0 ]; then
	fail user-without-sudo "exit status 0, expected an error"
elif [ -s "$t/log" ]; then
	fail user-without-sudo "ran apt-get or sudo"
elif ! grep -q 'sudo' "$t/err" || ! grep -q "$m1 $m2" "$t/err"; then
	fail user-without-sudo "the error names neither sudo nor the missing packages"
else
	echo "PASS: deps/user-without-sudo"
fi

# nothing missing: nothing run, no root or sudo needed
run 1000 bin:tools ALL
if [ "$rc" -ne 0 ]; then
	fail nothing-missing "exit status $rc, expected 0"
elif [ -s "$t/log" ]; then
	fail nothing-missing "ran apt-get or sudo"
else
	run 0 bin:sudo:tools ALL
	if [ "$rc" -ne 0 ] || [ -s "$t/log" ]; then
		fail nothing-missing "as root: exit status $rc, or ran apt-get"
	else
		echo "PASS: deps/nothing-missing"
	fi
fi

# nothing installed: one install of every package of .ci/packages and
# tests/*/PACKAGES
run 0 bin:tools
# shellcheck disable=SC2086,SC2116 # the list on one line
want="apt-get uid=0 update
apt-get uid=0 install -y --no-install-recommends $(echo $all)"
if [ "$rc" -ne 0 ]; then
	fail every-list "exit status $rc, expected 0"
elif [ "$(cat "$t/log")" != "$want" ]; then
	fail every-list "did not install exactly the $nall packages of .ci/packages and tests/*/PACKAGES"
else
	echo "PASS: deps/every-list"
fi

# apt-get install fails: so does the script
FAKE_APT_FAIL=1
run 0 bin:tools $m1
FAKE_APT_FAIL=
if [ "$rc" -eq 0 ]; then
	fail apt-failure "apt-get install failed and the script exited 0"
else
	echo "PASS: deps/apt-failure"
fi
exit $failed
