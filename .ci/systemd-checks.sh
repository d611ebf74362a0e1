#!/bin/sh
# Checks the systemd integration in deploy/ (house rule 14):
#
#   1. deploy/install.sh stages everything into a temporary root (DESTDIR), with a stand-in
#      executable unless MILLIMETRIC_RELAY_BINARY names a real one;
#   2. systemd-sysusers and systemd-tmpfiles apply the staged entries to that root (syntax, search
#      paths, and that /run/millimetric-relay gets the service user as owner);
#   3. `systemd-analyze verify --root=<staged root>` checks the three units, and any diagnostic it
#      prints (even an "Unknown key ... ignoring" warning, which keeps its exit status 0) fails;
#   4. `systemd-analyze security --offline=yes` prints the service's exposure, which must not
#      exceed MAX_EXPOSURE (default 1.5).
#
# Works without systemd as PID 1 (containers, CI runners): everything runs offline against the
# staged root. The staged root gets a copy of the host's /usr/lib/systemd/system (for
# sysinit.target, sockets.target, ...) and of /bin/sh (ExecReload=), because verify resolves
# every unit and every command path inside --root.
#
# Needs (Debian 12): systemd (systemd-analyze, systemd-sysusers, systemd-tmpfiles), coreutils.
# No root needed.
#
# Usage: .ci/systemd-checks.sh        Exit status: 0 all checks passed, 1 a check failed.
set -eu

MAX_EXPOSURE=${MAX_EXPOSURE:-1.5}
NAME=millimetric-relay
PREFIX=/usr/local
repo=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)

failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
pass() { printf 'ok:   %s\n' "$*"; }

for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
    command -v "$tool" >/dev/null 2>&1 || { echo "systemd-checks: $tool not found (apt-get install systemd)" >&2; exit 1; }
done

root=$(mktemp -d "${TMPDIR:-/tmp}/systemd-checks.XXXXXX")
trap 'rm -rf "$root"' EXIT INT TERM
log="$root.log"
trap 'rm -rf "$root" "$log"' EXIT INT TERM

# --- 1. stage an installation ----------------------------------------------------------------
binary=${MILLIMETRIC_RELAY_BINARY:-}
if [ -z "$binary" ]; then
    binary="$root.stub"
    printf '#!/bin/sh\necho "stand-in for %s" >&2\nexit 0\n' "$NAME" > "$binary"
    chmod 0755 "$binary"
    trap 'rm -rf "$root" "$log" "$binary"' EXIT INT TERM
fi
if DESTDIR="$root" PREFIX="$PREFIX" sh "$repo/deploy/install.sh" --binary "$binary" > "$log" 2>&1; then
    pass "deploy/install.sh staged into DESTDIR"
else
    fail "deploy/install.sh with DESTDIR failed:"; sed 's/^/      /' "$log"
fi
for path in "$PREFIX/bin/$NAME" "$PREFIX/lib/systemd/system/$NAME.service" \
            "$PREFIX/lib/systemd/system/$NAME.socket" "$PREFIX/lib/systemd/system/$NAME-http.socket" \
            "$PREFIX/lib/sysusers.d/$NAME.conf" \
            "$PREFIX/lib/tmpfiles.d/$NAME.conf" "/etc/$NAME"; do
    [ -e "$root$path" ] || fail "install.sh did not stage $path"
done

# Give the root what verify resolves there: the stock units and /bin/sh. Mirror a merged /usr.
mkdir -p "$root/usr/lib/systemd" "$root/usr/bin"
[ -L /bin ] && ln -sfn usr/bin "$root/bin"
[ -L /lib ] && ln -sfn usr/lib "$root/lib"
mkdir -p "$root/bin" "$root/lib"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
# ExecReload= runs /bin/sh (dash, Essential on Debian); copy the shell itself, not the symlink.
cp -L /bin/sh "$root/bin/sh"
if grep -Eq '^ExecReload=[-+!@:]*/(usr/)?bin/kill' "$repo/deploy/$NAME.service"; then
    fail "ExecReload= uses /bin/kill, which is procps and missing on a minimal Debian; use /bin/sh -c 'kill ...'"
fi

# --- 2. sysusers.d and tmpfiles.d --------------------------------------------------------------
mkdir -p "$root/etc"
if systemd-sysusers --root="$root" > "$log" 2>&1; then
    if grep -q "^$NAME:" "$root/etc/passwd" && grep -q "^millimetric-producers:" "$root/etc/group"; then
        pass "systemd-sysusers creates user $NAME and group millimetric-producers"
    else
        fail "systemd-sysusers did not create the user/group (is sysusers.d in its search path?)"
        sed 's/^/      /' "$log"
    fi
else
    fail "systemd-sysusers failed:"; sed 's/^/      /' "$log"
fi
# A bare file name makes systemd-tmpfiles search its config directories inside --root.
if systemd-tmpfiles --root="$root" --create "$NAME.conf" > "$log" 2>&1; then
    uid=$(awk -F: -v n="$NAME" '$1 == n { print $3 }' "$root/etc/passwd")
    owner=$(stat -c %u "$root/run/$NAME" 2>/dev/null || echo none)
    if [ -n "$uid" ] && [ "$owner" = "$uid" ]; then
        pass "systemd-tmpfiles creates /run/$NAME owned by $NAME"
    else
        fail "/run/$NAME is owned by uid $owner, not $NAME ($uid)"
    fi
    [ -s "$log" ] && { echo "      systemd-tmpfiles said:"; sed 's/^/      /' "$log"; }
else
    fail "systemd-tmpfiles failed:"; sed 's/^/      /' "$log"
fi

# --- 3. systemd-analyze verify -------------------------------------------------------------------
unitdir="$root$PREFIX/lib/systemd/system"
if systemd-analyze verify --man=no --root="$root" "$unitdir/$NAME.service" "$unitdir/$NAME.socket" \
        "$unitdir/$NAME-http.socket" > "$log" 2>&1; then
    if [ -s "$log" ]; then
        fail "systemd-analyze verify printed diagnostics:"; sed 's/^/      /' "$log"
    else
        pass "systemd-analyze verify: $NAME.service $NAME.socket $NAME-http.socket"
    fi
else
    fail "systemd-analyze verify failed:"; sed 's/^/      /' "$log"
fi

# --- 4. systemd-analyze security ---------------------------------------------------------------
systemd-analyze security --offline=yes --no-pager "$unitdir/$NAME.service" > "$log" 2>&1 || true
exposure=$(sed -n "s/.*Overall exposure level for $NAME\.service: \([0-9.]*\).*/\1/p" "$log")
if [ -z "$exposure" ]; then
    fail "systemd-analyze security printed no exposure level:"; sed 's/^/      /' "$log"
elif awk -v e="$exposure" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(e + 0 <= max + 0) }'; then
    pass "exposure $exposure <= $MAX_EXPOSURE (systemd-analyze security --offline=yes $NAME.service)"
else
    fail "exposure $exposure > $MAX_EXPOSURE (systemd-analyze security --offline=yes $NAME.service):"
    grep '✗' "$log" | sed 's/^/      /'
fi

if [ "$failures" -gt 0 ]; then
    echo "systemd-checks: $failures check(s) failed"
    exit 1
fi
echo "systemd-checks: all passed (exposure $exposure)"
