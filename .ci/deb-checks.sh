#!/usr/bin/env bash
# Checks the Debian package (issue 11) on this machine, as root, without systemd as PID 1:
#
#   1. scripts/build-deb.sh builds it; lintian finds no error and no warning that is not
#      overridden (with a reason) in usr/share/lintian/overrides/millimetric-relay;
#   2. `dpkg -i`: the user, group, directories, units, conffile and the socket's enablement are
#      there, and `systemd-analyze verify` accepts the installed units;
#   3. the packaged binary links nothing from the Swift toolchain, and runs a real round trip
#      with the toolchain hidden (a tmpfs over it in a private mount namespace): the relay
#      starts, `millimetric-relay send` stores events, the API stand-in receives them, SIGTERM
#      ends the relay with exit 0 (the control: libswiftCore.so is gone in that namespace);
#   4. `dpkg -i` again (the upgrade path) keeps an edited conffile and the outbox;
#   5. `dpkg -r` removes the program and keeps the config, key and outbox; `dpkg --purge` then
#      leaves no file, directory, unit link or dpkg state behind (the system user and group stay,
#      as Debian's policy asks).
#
# Takes about 1 minute plus the static release build (4-6 minutes the first time, on 2 cores).
# Usage: .ci/deb-checks.sh     (root; installs lintian, dpkg-dev, binutils, curl, util-linux)
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=millimetric-relay

export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq lintian dpkg-dev binutils curl util-linux procps systemd >/dev/null

failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
pass() { printf 'ok:   %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

work=$(mktemp -d /tmp/deb-checks.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

if dpkg -s "$NAME" >/dev/null 2>&1; then
    echo "deb-checks: $NAME is already installed here; purging it first" >&2
    dpkg --purge "$NAME" >/dev/null
fi

# --- 1. build and lintian ------------------------------------------------------------------------
deb=$(scripts/build-deb.sh --output "$work/out" 2>"$work/build.log" | tail -1) || {
    tail -40 "$work/build.log"; fail "scripts/build-deb.sh failed"; exit 1; }
pass "built $(basename "$deb")"
version=$(dpkg-deb -f "$deb" Version)
echo "      Depends: $(dpkg-deb -f "$deb" Depends)"
# lintian runs as root here (CI); it warns about that, which is not a finding on the package.
# --show-overrides makes --fail-on count overridden tags too, so the verdict comes from the
# output: any E: or W: line (an overridden one is printed as O:, with its reason as N: lines).
if lintian --allow-root --fail-on none --display-info --show-overrides "$deb" > "$work/lintian.log" 2>&1 \
        && ! grep -qE '^(E|W): ' "$work/lintian.log"; then
    pass "lintian: no errors, no warnings left unexplained"
else
    fail "lintian:"
fi
# Errors and warnings in full (overridden ones are marked O:); info tags only counted.
grep -v '^I: ' "$work/lintian.log" | sed 's/^/      /' || true
echo "      ($(grep -c '^I: ' "$work/lintian.log" || true) info tags: lintian --display-info to see them)"

# --- 2. install ------------------------------------------------------------------------------------
rm -f "/etc/$NAME/key"
if dpkg -i "$deb" > "$work/install.log" 2>&1; then
    pass "dpkg -i (first install)"
else
    fail "dpkg -i:"; sed 's/^/      /' "$work/install.log"; exit 1
fi
check "postinst tells the admin where the key goes" grep -q "/etc/$NAME/key" "$work/install.log"
check "user $NAME" sh -c "getent passwd $NAME >/dev/null"
check "group $NAME" sh -c "getent group $NAME >/dev/null"
check "group millimetric-producers" sh -c "getent group millimetric-producers >/dev/null"
check "login shell of $NAME is nologin" sh -c "getent passwd $NAME | grep -q ':/usr/sbin/nologin\$'"
check "/run/$NAME owned by $NAME, 0755" sh -c "[ \"\$(stat -c '%U %a' /run/$NAME)\" = '$NAME 755' ]"
check "/var/lib/$NAME owned by $NAME, 0750" sh -c "[ \"\$(stat -c '%U %a' /var/lib/$NAME)\" = '$NAME 750' ]"
check "/etc/$NAME/relay.conf is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' $NAME | grep -q /etc/$NAME/relay.conf"
for path in "/usr/bin/$NAME" "/usr/lib/systemd/system/$NAME.service" "/usr/lib/systemd/system/$NAME.socket" \
            "/usr/lib/systemd/system/$NAME-http.socket" "/usr/lib/sysusers.d/$NAME.conf" "/usr/lib/tmpfiles.d/$NAME.conf" \
            "/usr/share/doc/$NAME/copyright" "/usr/share/doc/$NAME/changelog.gz"; do
    check "installed $path" test -f "$path"
done
check "the service runs /usr/bin/$NAME" grep -q "^ExecStart=/usr/bin/$NAME run" "/usr/lib/systemd/system/$NAME.service"
check "the socket is enabled (sockets.target.wants)" test -L "/etc/systemd/system/sockets.target.wants/$NAME.socket"
check "the HTTP socket is installed but not enabled" test ! -e "/etc/systemd/system/sockets.target.wants/$NAME-http.socket"
check "--version is the package's version" sh -c "[ \"\$(/usr/bin/$NAME --version)\" = '$version' ]"
if systemd-analyze verify --man=no "/usr/lib/systemd/system/$NAME.service" "/usr/lib/systemd/system/$NAME.socket" \
        "/usr/lib/systemd/system/$NAME-http.socket" > "$work/verify.log" 2>&1 \
        && [ ! -s "$work/verify.log" ]; then
    pass "systemd-analyze verify on the installed units"
else
    fail "systemd-analyze verify:"; sed 's/^/      /' "$work/verify.log"
fi

# --- 3. without the toolchain ----------------------------------------------------------------------
toolchain=$(readlink -f "$(command -v swift)")            # .../usr/bin/swift-driver
toolchain=$(dirname "$(dirname "$(dirname "$toolchain")")") # the toolchain's root, e.g. /opt/swift
if ldd "/usr/bin/$NAME" | grep -q "$toolchain"; then
    fail "the packaged binary links from $toolchain:"; ldd "/usr/bin/$NAME" | sed 's/^/      /'
else
    pass "ldd: nothing from $toolchain ($(ldd "/usr/bin/$NAME" | awk '{print $1}' | tr '\n' ' '))"
fi
# Runs a command with a tmpfs over the toolchain, in a private mount namespace.
hidden() { unshare -m sh -c 'mount -t tmpfs none "$0" && exec "$@"' "$toolchain" "$@"; }

# The control: inside the namespace the toolchain's runtime library is really gone.
runtime=$(find "$toolchain/usr/lib/swift/linux" -maxdepth 1 -name libswiftCore.so | head -1)
if [ -z "$runtime" ]; then
    fail "no libswiftCore.so under $toolchain/usr/lib/swift/linux: is $toolchain the toolchain?"
elif hidden test -e "$runtime"; then
    fail "control: $runtime is still visible with $toolchain hidden"
else
    pass "control: $runtime is gone with $toolchain hidden"
fi

# The API stand-in, built by the same release build as the package (only its own target is new),
# run outside the namespace.
# With the package's swift flags, or swift build would recompile every module for it.
scratch=${SCRATCH_PATH:-.build-static}
# shellcheck disable=SC2046 # the flags are words
swift build -c release --static-swift-stdlib $(scripts/build-deb.sh --swift-flags) --product millimetric-api-standin --scratch-path "$scratch" \
    > "$work/standin-build.log" 2>&1 || { tail -20 "$work/standin-build.log"; fail "building the stand-in"; exit 1; }
bin=$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)
"$bin/millimetric-api-standin" --port 0 > "$work/api.out" 2> "$work/api.log" &
pids+=($!)
for _ in $(seq 200); do grep -q '^listening on' "$work/api.out" 2>/dev/null && break; sleep 0.05; done
api="http://$(sed -n 's/^listening on //p' "$work/api.out")"

socket="$work/ingest.sock"
# A simple command, not the function: $! is then the relay itself (unshare and sh exec it).
MILLIMETRIC_KEY=sk_test_debchecks_0000 MILLIMETRIC_RELAY_FLUSH_INTERVAL=200ms \
    unshare -m sh -c 'mount -t tmpfs none "$0" && exec "$@"' "$toolchain" "/usr/bin/$NAME" run --socket "$socket" --state-dir "$work/state" --host "$api" 2> "$work/relay.log" &
relay=$!
pids+=("$relay")
for _ in $(seq 400); do [ -S "$socket" ] && break; kill -0 "$relay" 2>/dev/null || break; sleep 0.05; done
if hidden "/usr/bin/$NAME" send --socket "$socket" \
        '{"event":"deb_check_one","anonymous_id":"u_deb"}' \
        '{"event":"deb_check_two","anonymous_id":"u_deb","properties":{"n":2}}' > "$work/send.log" 2>&1; then
    pass "millimetric-relay send (toolchain hidden): $(wc -l < "$work/send.log") acks"
else
    fail "millimetric-relay send:"; sed 's/^/      /' "$work/send.log" "$work/relay.log"
fi
received=no
for _ in $(seq 200); do
    events=$(curl -s "$api/_admin/events" || true)
    if grep -q deb_check_one <<<"$events" && grep -q deb_check_two <<<"$events"; then received=yes; break; fi
    sleep 0.1
done
check "the stand-in received both events from the packaged relay" test "$received" = yes
kill -TERM "$relay"
status=0; wait "$relay" || status=$?
if [ "$status" -eq 0 ]; then pass "SIGTERM: the relay exited 0"; else fail "SIGTERM: exit $status"; sed 's/^/      /' "$work/relay.log"; fi

# --- 4. upgrade path ----------------------------------------------------------------------------------
echo "# edited by deb-checks" >> "/etc/$NAME/relay.conf"
mkdir -p "/var/lib/$NAME" && echo keep > "/var/lib/$NAME/marker"
if dpkg -i "$deb" > "$work/upgrade.log" 2>&1; then pass "dpkg -i again (upgrade path)"; else fail "dpkg -i again:"; sed 's/^/      /' "$work/upgrade.log"; fi
check "the edited conffile is kept" grep -q "edited by deb-checks" "/etc/$NAME/relay.conf"
check "the state directory is kept" test -f "/var/lib/$NAME/marker"
check "the socket is still enabled" test -L "/etc/systemd/system/sockets.target.wants/$NAME.socket"

# --- 5. remove, then purge ----------------------------------------------------------------------------
install -m 0600 /dev/null "/etc/$NAME/key"; echo sk_test_debchecks_0000 > "/etc/$NAME/key"
if dpkg -r "$NAME" > "$work/remove.log" 2>&1; then pass "dpkg -r"; else fail "dpkg -r:"; sed 's/^/      /' "$work/remove.log"; fi
check "removed: /usr/bin/$NAME" test ! -e "/usr/bin/$NAME"
check "remove keeps the config, the key and the outbox" test -f "/etc/$NAME/relay.conf" -a -f "/etc/$NAME/key" -a -f "/var/lib/$NAME/marker"
if dpkg --purge "$NAME" > "$work/purge.log" 2>&1; then pass "dpkg --purge"; else fail "dpkg --purge:"; sed 's/^/      /' "$work/purge.log"; fi
for path in "/usr/bin/$NAME" "/etc/$NAME" "/var/lib/$NAME" "/run/$NAME" "/usr/lib/systemd/system/$NAME.service" \
            "/usr/lib/systemd/system/$NAME.socket" "/usr/lib/systemd/system/$NAME-http.socket" \
            "/usr/lib/sysusers.d/$NAME.conf" "/usr/lib/tmpfiles.d/$NAME.conf" "/usr/share/doc/$NAME" "/usr/share/lintian/overrides/$NAME"; do
    check "purged: $path" test ! -e "$path"
done
left=$(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
    -name "*$NAME*" 2>/dev/null || true)
check "no unit links or deb-systemd-helper state left${left:+: $left}" test -z "$left"
check "dpkg knows nothing of $NAME" sh -c "! dpkg -s $NAME >/dev/null 2>&1"

if [ "$failures" -gt 0 ]; then
    echo "deb-checks: $failures check(s) failed"
    exit 1
fi
echo "deb-checks: all passed"
