#!/usr/bin/env bash
# The relay on a real systemd: Debian 12 (bookworm, systemd 252) booted as a container with
# systemd-nspawn, the relay installed as an operator installs it (the .deb of
# scripts/build-deb.sh, with `apt-get install ./….deb`), then checked from outside with `nsenter`
# into the container's namespaces:
#
#   - the maintainer scripts with systemd as PID 1: installed without a key, the socket is
#     enabled but nothing runs (neither the socket nor the service) and the output says where
#     the key goes; once the key is in place `systemctl enable --now` of the socket (as the
#     README says) listens;
#   - no /bin/kill in the container (procps is not installed), so `systemctl reload` proves
#     that ExecReload= needs nothing beyond the package's dependencies;
#   - socket activation on the first send; StatusText=; the key never in /proc/PID/environ;
#   - a key the API refuses (401) pauses delivery: `journalctl -p err` shows it, and so does
#     `journalctl MESSAGE_ID=<delivery paused>`, with the UPSTREAM_REASON= field;
#   - `systemctl reload` with a good key resumes delivery (the events reach the stand-in);
#   - the optional millimetric-relay-http.socket: installed, not enabled; once enabled (on a free
#     port, by a drop-in) and the service restarted, the seeds' curl POST /v1/track through it is
#     answered 202 and the event reaches the stand-in, while the ingest socket still acks; the
#     upgrade, remove and purge below then run with it enabled;
#   - no "Failed to set thread priority" noise from libdispatch in the journal;
#   - kill -9 → restarted; SIGSTOP → the watchdog restarts it;
#   - `systemctl stop` exits 0 with the queue kept; a send while stopped reactivates it;
#   - `systemd-analyze security` of the installed unit ≤ 1.5;
#   - upgrade (`apt-get install` of the same package with a higher version): the service is
#     restarted on the new package while the socket stays open (same inode, same
#     ActiveEnterTimestamp), a producer sending throughout gets every event acked, and the
#     events queued before the upgrade are kept and delivered;
#   - `apt-get remove` stops the service and the socket and keeps config, key and outbox;
#     `apt-get purge` leaves nothing of the package (the system user and group stay).
#
# deploy/install.sh (the from-source path) is no longer exercised here: .ci/systemd-checks.sh
# stages it with DESTDIR and verifies what it installs; the units it installs are the same ones
# the package ships, with /usr/local/bin instead of /usr/bin.
#
# The watchdog test uses a drop-in that lowers WatchdogSec= to 10s and TimeoutAbortSec= to 3s
# (the shipped 30s/15s would make that one check take ~45 s); everything else is the unit as
# shipped. The stand-in API runs on the host's 127.0.0.1, which the container shares (no
# --private-network).
#
# The debootstrap'ed root is cached in $ROOT_CACHE (default /var/cache/millimetric-relay-ci/
# bookworm; ~250 MB, about 2 minutes to build from the apt mirror) and each run works on a copy.
# The package's Depends are in debootstrap's --include list; should an older cached root lack
# one, `apt-get install` inside the container fetches it from the same mirror.
# Needs root, debootstrap and systemd-container (installed here if missing). Works without
# systemd as the host's PID 1.
#
# Usage: .ci/real-systemd.sh      Exit status 0 when every check passed.
# Environment: ROOT_CACHE, MIRROR (default: the host's first Debian apt source),
#              RELAY_DEB (skip the build; a package from scripts/build-deb.sh).
set -euo pipefail

repo=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
ROOT_CACHE=${ROOT_CACHE:-/var/cache/millimetric-relay-ci/bookworm}
NAME=millimetric-relay
UNIT=$NAME.service
PAUSED_ID=af7073abc66b481dad0bc18ec423ce07   # RelayMessageID.deliveryPaused
RESUMED_ID=5d1c31eaedc54922abcf4f73489ea0b6  # RelayMessageID.deliveryResumed
GOOD_KEY=sk_test_ci_good_0001
BAD_KEY=sk_test_ci_refused_0002
started=$(date +%s)

failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
pass() { printf 'ok:   %s\n' "$*"; }
note() { printf '  ..  %s\n' "$*"; }
die() { printf 'real-systemd: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, systemd-nspawn, nsenter)"
if ! command -v debootstrap >/dev/null || ! command -v systemd-nspawn >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap systemd-container >/dev/null
fi

# --- 1. the Debian 12 root (cached) ----------------------------------------------------------
mirror=${MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1 || true)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi
if [ ! -x "$ROOT_CACHE/lib/systemd/systemd" ]; then
    note "debootstrap bookworm from $mirror into $ROOT_CACHE (about 2 minutes)"
    mkdir -p "$(dirname "$ROOT_CACHE")"
    rm -rf "$ROOT_CACHE.partial"
    # minbase: no procps (so no /bin/kill), as on a minimal host. The relay's own libraries.
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libcurl4,libsqlite3-0 \
        bookworm "$ROOT_CACHE.partial" "$mirror" > /tmp/real-systemd-debootstrap.log 2>&1 \
        || { tail -20 /tmp/real-systemd-debootstrap.log; die "debootstrap failed"; }
    mv "$ROOT_CACHE.partial" "$ROOT_CACHE"
else
    note "reusing the cached root $ROOT_CACHE"
fi

# --- 2. the package and the stand-in --------------------------------------------------------------
# The package as an operator gets it: scripts/build-deb.sh (its static release build in
# .build-static is shared with .ci/deb-checks.sh), plus the same package with a higher version
# for the upgrade (only the control file differs, so the upgrade replaces the binary by an equal
# one: what is tested is the maintainer scripts' dance, not a new daemon).
deb=${RELAY_DEB:-}
if [ -z "$deb" ]; then
    note "scripts/build-deb.sh (reuses the static release build in .build-static)"
    deb=$("$repo/scripts/build-deb.sh" 2>/tmp/real-systemd-build-deb.log | tail -n1) \
        || { tail -20 /tmp/real-systemd-build-deb.log; die "scripts/build-deb.sh failed"; }
fi
[ -f "$deb" ] || die "no package at '$deb'"
version=$(dpkg-deb -f "$deb" Version)
# shellcheck disable=SC2046 # the package's flags, words: the same build, only the stand-in is new
(cd "$repo" && swift build -c release --static-swift-stdlib $("$repo/scripts/build-deb.sh" --swift-flags) --product millimetric-api-standin --scratch-path .build-static 2>&1 | tail -1)
standin_binary="$(cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/millimetric-api-standin"

# --- 3. the stand-in API on the host's loopback -----------------------------------------------
work=$(mktemp -d /var/tmp/real-systemd.XXXXXX)
root="$work/root"
nspawn_pid=
standin_pid=
cleanup() {
    set +e
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        kill -TERM "$nspawn_pid"                      # nspawn powers the container off
        for _ in $(seq 1 30); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 1; done
        kill -KILL "$nspawn_pid" 2>/dev/null
    fi
    [ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$((20000 + RANDOM % 20000))
"$standin_binary" --port "$port" --keys "$GOOD_KEY" --no-rate-limits > "$work/standin.log" 2>&1 &
standin_pid=$!
api="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -fsS "$api/_admin/stats" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$api/_admin/stats" >/dev/null || die "the stand-in did not start: $(cat "$work/standin.log")"
note "stand-in API on $api (accepts only $GOOD_KEY)"

# --- 4. boot the container --------------------------------------------------------------------
note "copying the root"
cp -a "$ROOT_CACHE" "$root"
mkdir -p "$root/root/$NAME"
cp "$deb" "$root/root/$NAME/${NAME}_${version}_ci.deb"
# The upgrade: the same package, version $version+ci1.
mkdir "$work/upgrade"
dpkg-deb -R "$deb" "$work/upgrade/pkg"
sed -i "s/^Version: .*/Version: $version+ci1/" "$work/upgrade/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -b "$work/upgrade/pkg" "$root/root/$NAME/${NAME}_${version}+ci1_ci.deb" >/dev/null
rm -rf "$work/upgrade"

systemd-nspawn -D "$root" --register=no --keep-unit -b --console=passive --machine=mmr-ci \
    > "$work/nspawn.log" 2>&1 &
nspawn_pid=$!
cpid=
for _ in $(seq 1 100); do
    for child in $(cat /proc/"$nspawn_pid"/task/*/children 2>/dev/null); do
        if grep -qE '^NSpid:.*[[:space:]]1$' /proc/"$child"/status 2>/dev/null; then cpid=$child; fi
    done
    [ -n "$cpid" ] && break
    kill -0 "$nspawn_pid" 2>/dev/null || die "systemd-nspawn exited: $(cat "$work/nspawn.log")"
    sleep 0.2
done
[ -n "$cpid" ] || die "no container PID 1 found under systemd-nspawn ($nspawn_pid)"

# Run a command inside the container, as root, with a clean environment.
in_ct() { nsenter -t "$cpid" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# systemctl needs PID 1's private bus socket, which appears a moment after the container starts.
for _ in $(seq 1 100); do in_ct test -S /run/systemd/private && break; sleep 0.2; done
state=$(in_ct timeout 120 systemctl is-system-running --wait 2>&1 || true)
case $state in
    running|degraded) pass "container booted: systemd $(in_ct systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p') as PID 1 ($state)" ;;
    *) die "the container did not boot: $state; $(tail -20 "$work/nspawn.log")" ;;
esac
if in_ct test -e /bin/kill || in_ct test -e /usr/bin/kill; then
    fail "the container has /bin/kill: the reload check would not prove anything"
else
    pass "no /bin/kill in the container (procps not installed)"
fi

# --- helpers ------------------------------------------------------------------------------------
main_pid() { in_ct systemctl show -p MainPID --value "$UNIT"; }
active() { [ "$(in_ct systemctl is-active "$UNIT" 2>/dev/null)" = active ]; }
# wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_for() {
    local seconds=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + seconds ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    note "timed out after ${seconds}s waiting for: $what"
    return 1
}
send() { in_ct "/usr/bin/$NAME" send "$@"; }
journal() { in_ct journalctl --no-pager -q "$@"; }
standin_has() { curl -fsS "$api/_admin/events" | grep -q "\"$1\""; }

socket_active() { [ "$(in_ct systemctl is-active "$NAME.socket" 2>/dev/null)" = active ]; }
socket_inode() { in_ct stat -c %i "/run/$NAME/ingest.sock" 2>/dev/null; }
socket_since() { in_ct systemctl show -p ActiveEnterTimestampMonotonic --value "$NAME.socket"; }

# --- 5. install the package as an operator does: no key yet ------------------------------------------
apt_install() {
    in_ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" && return 0
    # A cached root from an older version of this script may lack a dependency: fetch it from
    # the mirror debootstrap used (the container shares the host's network).
    note "apt-get install failed; apt-get update in the container and again"
    in_ct apt-get update -q && in_ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}
if apt_install "/root/$NAME/${NAME}_${version}_ci.deb" > "$work/install.log" 2>&1; then
    pass "apt-get install ./${NAME}_${version}_ci.deb (Depends: $(dpkg-deb -f "$deb" Depends | cut -c1-80)…)"
else
    cat "$work/install.log"; die "apt-get install of the package failed"
fi
if grep -q "no API key yet" "$work/install.log" && grep -q "/etc/$NAME/key" "$work/install.log"; then
    pass "without a key the install says where it goes: $(grep -m1 'no API key yet' "$work/install.log")"
else
    fail "the install output does not say where the key goes: $(tail -n 8 "$work/install.log")"
fi
enabled=$(in_ct systemctl is-enabled "$NAME.socket" 2>&1 || true)
if [ "$enabled" = enabled ]; then pass "$NAME.socket is enabled (deb-systemd-helper)"; else fail "$NAME.socket is-enabled: $enabled"; fi
if socket_active || active || in_ct test -e "/run/$NAME/ingest.sock"; then
    fail "something started without a key: socket $(in_ct systemctl is-active "$NAME.socket"), service $(in_ct systemctl is-active "$UNIT")"
else
    pass "without a key nothing started: socket and service inactive, no /run/$NAME/ingest.sock"
fi
for who in "passwd $NAME" "group $NAME" "group millimetric-producers"; do
    in_ct getent $who >/dev/null || fail "no $who in the container"
done

# The operator's steps (README "Install"): the config, the key, then the socket.
in_ct sh -c "sed -i 's|^#host = .*|host = $api|' /etc/$NAME/relay.conf && grep -q '^host = $api' /etc/$NAME/relay.conf" \
    || die "could not point relay.conf at the stand-in"
in_ct sh -c "install -m 0600 -o root -g root /dev/null /etc/$NAME/key && printf '%s\n' '$BAD_KEY' > /etc/$NAME/key"
# Test-only drop-in: a quicker watchdog (see the header).
in_ct sh -c "mkdir -p /etc/systemd/system/$UNIT.d && printf '[Service]\nWatchdogSec=10s\nTimeoutAbortSec=3s\n' > /etc/systemd/system/$UNIT.d/ci-watchdog.conf"
in_ct systemctl daemon-reload
in_ct systemctl enable --now "$NAME.socket" >/dev/null 2>&1
# README: "systemctl enable millimetric-relay.service as well makes it start at boot". Purge must
# remove the links this makes too.
in_ct systemctl enable "$UNIT" >/dev/null 2>&1
if socket_active && in_ct test -S "/run/$NAME/ingest.sock"; then
    pass "with the key in place, systemctl enable --now $NAME.socket listens on /run/$NAME/ingest.sock ($(in_ct stat -c '%U:%G %a' "/run/$NAME/ingest.sock"))"
else
    fail "$NAME.socket is not listening after enable --now"
fi

# --- 6. socket activation, status, the key --------------------------------------------------------
if active; then fail "the service runs before anything connected (expected socket activation)"; fi
if ack=$(send '{"event":"ci-first","event_id":"ci-ev-1"}' 2>&1) && printf '%s' "$ack" | grep -q '"ok":true'; then
    pass "the first send is acked ($ack)"
else
    fail "the first send: $ack"
fi
if wait_for 20 "service active" active; then pass "socket activation started $UNIT"; else fail "$UNIT did not start on the first connection"; fi
status_text() { in_ct systemctl show -p StatusText --value "$UNIT"; }
has_status_text() { [ -n "$(status_text)" ]; }
if wait_for 20 "StatusText" has_status_text; then
    pass "StatusText: $(status_text)"
else
    fail "StatusText is empty"
fi
pid=$(main_pid)
environ=$(in_ct cat "/proc/$pid/environ" | tr '\0' '\n')
if ! printf '%s\n' "$environ" | grep -q '^CREDENTIALS_DIRECTORY='; then
    fail "could not read /proc/$pid/environ (no CREDENTIALS_DIRECTORY= in it): the key check proves nothing"
elif printf '%s\n' "$environ" | grep -qE "$BAD_KEY|$GOOD_KEY|sk_test"; then
    fail "the key is in /proc/$pid/environ"
elif in_ct cat "/proc/$pid/cmdline" | tr '\0' ' ' | grep -qE "sk_test"; then
    fail "the key is on the command line of $pid"
else
    pass "the key is in neither /proc/$pid/environ nor its command line (LoadCredential=)"
fi

# --- 7. a refused key pauses delivery; the journal says so at priority err --------------------
paused() { journal -u "$UNIT" -p err -o cat | grep 'delivery paused'; }
if wait_for 30 "delivery paused in journalctl -p err" paused; then
    pass "journalctl -u $UNIT -p err: $(paused | tail -n1 | cut -c1-160)"
else
    fail "no 'delivery paused' in journalctl -u $UNIT -p err; journal: $(journal -u "$UNIT" | tail -n 15)"
fi
if journal MESSAGE_ID=$PAUSED_ID -o verbose | grep -q 'UPSTREAM_REASON='; then
    pass "journalctl MESSAGE_ID=$PAUSED_ID finds it, with UPSTREAM_REASON= ($(journal MESSAGE_ID=$PAUSED_ID -o verbose | sed -n 's/^ *UPSTREAM_REASON=//p' | head -n1))"
else
    fail "journalctl MESSAGE_ID=$PAUSED_ID found no entry with UPSTREAM_REASON="
fi
# The README's example: a field as a filter.
if journal -u "$UNIT" 'UPSTREAM_REASON=401 invalid_api_key from upstream' -o cat | grep -q 'delivery paused'; then
    pass "journalctl -u $UNIT 'UPSTREAM_REASON=401 invalid_api_key from upstream' finds it"
else
    fail "filtering on UPSTREAM_REASON= found nothing"
fi
if journal -u "$UNIT" -o cat | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T'; then
    fail "journal messages carry their own timestamp: $(journal -u "$UNIT" -o cat | head -n2)"
else
    pass "journal messages carry no second timestamp"
fi
if journal -u "$UNIT" -p err -o cat | grep -qv 'delivery paused'; then
    note "other error-level entries: $(journal -u "$UNIT" -p err -o cat | grep -v 'delivery paused' | head -n3)"
fi

# --- 8. reload with a good key resumes delivery (no /bin/kill needed) ---------------------------
in_ct sh -c "printf '%s\n' '$GOOD_KEY' > /etc/$NAME/key"
if out=$(in_ct systemctl reload "$UNIT" 2>&1); then
    pass "systemctl reload $UNIT exits 0"
else
    fail "systemctl reload $UNIT: $out; $(journal -u "$UNIT" | tail -n 5)"
fi
if wait_for 30 "ci-ev-1 at the stand-in" standin_has ci-ev-1; then
    pass "after the reload the paused event reached the API"
else
    fail "the event was not delivered after the reload; journal: $(journal -u "$UNIT" | tail -n 8)"
fi
resumed() { journal MESSAGE_ID=$RESUMED_ID -o cat | grep -q .; }
if wait_for 10 "delivery resumed entry" resumed; then
    pass "journalctl MESSAGE_ID=$RESUMED_ID (delivery resumed) finds the recovery"
else
    fail "no 'delivery resumed' entry (MESSAGE_ID=$RESUMED_ID)"
fi

# --- 8b. the optional HTTP socket: off after install; enabled, it hands the daemon the API -------
# The container shares the host's network, so the shipped 127.0.0.1:8787 could be taken on the
# host: a drop-in moves it to a free port the way the README says (an empty ListenStream= first).
HTTP_UNIT=$NAME-http.socket
http_enabled=$(in_ct systemctl is-enabled "$HTTP_UNIT" 2>&1 || true)
if [ "$http_enabled" = disabled ]; then
    pass "$HTTP_UNIT is installed and not enabled (is-enabled: $http_enabled)"
else
    fail "$HTTP_UNIT is-enabled: $http_enabled (expected disabled)"
fi
http_port=$((40000 + RANDOM % 20000))
in_ct sh -c "mkdir -p /etc/systemd/system/$HTTP_UNIT.d && printf '[Socket]\nListenStream=\nListenStream=127.0.0.1:$http_port\n' > /etc/systemd/system/$HTTP_UNIT.d/ci-port.conf"
in_ct systemctl daemon-reload
# README: enable the socket; systemd refuses to start it while the service runs, so stop the
# service and start both.
if out=$(in_ct systemctl enable "$HTTP_UNIT" 2>&1) && out=$(in_ct systemctl stop "$UNIT" 2>&1) \
        && out=$(in_ct systemctl start "$HTTP_UNIT" "$UNIT" 2>&1); then
    pass "systemctl enable $HTTP_UNIT; systemctl stop $UNIT; systemctl start $HTTP_UNIT $UNIT"
else
    fail "enabling $HTTP_UNIT: $out; $(in_ct journalctl --no-pager -q -u "$HTTP_UNIT" | tail -n 5)"
fi
http_served() { journal -u "$UNIT" -o cat | grep -q "serving the API's HTTP on the socket inherited from systemd"; }
if wait_for 20 "the HTTP socket served" http_served; then
    pass "the daemon serves the inherited HTTP socket: $(journal -u "$UNIT" -o cat | grep "serving the API's HTTP" | tail -n1 | cut -c1-120)"
else
    fail "the daemon does not say it serves the HTTP socket; journal: $(journal -u "$UNIT" | tail -n 8)"
fi
# The seeds' curl, with MILLIMETRIC_HOST pointing at the relay.
answer=$(MILLIMETRIC_HOST="http://127.0.0.1:$http_port" MILLIMETRIC_KEY=$GOOD_KEY sh -c 'curl -sS -w "\n%{http_code}" -X POST "$MILLIMETRIC_HOST/v1/track" \
    -H "Authorization: Bearer $MILLIMETRIC_KEY" -H "Content-Type: application/json" \
    -d "{\"event\":\"ci-http\",\"event_id\":\"ci-http-1\",\"user_id\":\"u_ci\",\"properties\":{\"via\":\"http\"}}"' 2>&1 || true)
if [ "$(printf '%s\n' "$answer" | tail -n1)" = 202 ] && printf '%s' "$answer" | grep -q '"event_id":"ci-http-1"'; then
    pass "curl -X POST \$MILLIMETRIC_HOST/v1/track through $HTTP_UNIT: $(printf '%s' "$answer" | tr '\n' ' ')"
else
    fail "POST /v1/track through $HTTP_UNIT: $answer"
fi
if wait_for 30 "ci-http-1 at the stand-in" standin_has ci-http-1; then
    pass "the event posted over HTTP reached the API"
else
    fail "ci-http-1 was not delivered; journal: $(journal -u "$UNIT" | tail -n 8)"
fi
# The ingest socket is still served beside it (two named fds: ingest and http).
if ack=$(send '{"event":"ci-beside-http","event_id":"ci-ev-1b"}' 2>&1) && printf '%s' "$ack" | grep -q '"ok":true'; then
    pass "the ingest socket still acks beside the HTTP one ($ack)"
else
    fail "send with the HTTP socket enabled: $ack"
fi

# --- 9. kill -9 → restarted; SIGSTOP → the watchdog restarts it -----------------------------------
pid=$(main_pid)
in_ct sh -c "kill -KILL $pid"
new_pid() { p=$(main_pid); [ "$p" != 0 ] && [ "$p" != "$pid" ] && active; }
if wait_for 30 "restart after kill -9" new_pid; then
    pass "kill -9 $pid → restarted as $(main_pid)"
else
    fail "not restarted after kill -9 (state $(in_ct systemctl is-active "$UNIT"))"
fi
pid=$(main_pid)
t0=$(date +%s)
in_ct sh -c "kill -STOP $pid"
if wait_for 60 "watchdog restart" new_pid; then
    pass "SIGSTOP $pid → watchdog restarted it as $(main_pid) after $(( $(date +%s) - t0 )) s (WatchdogSec=10s drop-in)"
else
    fail "the watchdog did not restart a stopped daemon within 60 s"
fi
if journal -u "$UNIT" -o cat | grep -q 'Watchdog timeout'; then
    pass "systemd logged the watchdog timeout"
else
    note "no 'Watchdog timeout' line found in the unit's journal"
fi

# --- 10. stop keeps the queue; a send while stopped reactivates -----------------------------------
curl -fsS -X POST -d '{"down":true}' "$api/_admin/faults" >/dev/null
send '{"event":"ci-queued","event_id":"ci-ev-2"}' >/dev/null 2>&1 || fail "send with the API down"
if out=$(in_ct systemctl stop "$UNIT" 2>&1); then
    result=$(in_ct systemctl show -p Result --value "$UNIT"); status=$(in_ct systemctl show -p ExecMainStatus --value "$UNIT")
    if [ "$result" = success ] && [ "$status" = 0 ]; then
        pass "systemctl stop: exit 0, Result=$result, ExecMainStatus=$status"
    else
        fail "systemctl stop: Result=$result ExecMainStatus=$status"
    fi
else
    fail "systemctl stop $UNIT: $out"
fi
queued=$(in_ct "/usr/bin/$NAME" status --json 2>/dev/null | tr ',' '\n' | sed -n 's/.*"queued_events" *: *\([0-9]*\).*/\1/p' | head -n1)
if [ "${queued:-0}" -ge 1 ]; then
    pass "the queue is kept while stopped ($queued event(s), millimetric-relay status --json)"
else
    fail "no queued event after the stop: $(in_ct "/usr/bin/$NAME" status 2>&1 | head -n 6)"
fi
curl -fsS -X POST -d '{"down":false}' "$api/_admin/faults" >/dev/null
if send '{"event":"ci-wake","event_id":"ci-ev-3"}' 2>&1 | grep -q '"ok":true' && wait_for 20 "reactivation" active; then
    pass "a send while stopped reactivated $UNIT"
else
    fail "a send while stopped did not reactivate $UNIT"
fi
both_delivered() { standin_has ci-ev-2 && standin_has ci-ev-3; }
if wait_for 30 "queued events delivered" both_delivered; then
    pass "the kept and the new event reached the API"
else
    fail "ci-ev-2/ci-ev-3 not delivered after the restart"
fi

# --- 11. no key in the journal, no noise, exposure ---------------------------------------------
if journal -o verbose | grep -qE "$BAD_KEY|$GOOD_KEY"; then
    fail "a full API key is in the journal"
else
    pass "no full API key anywhere in the journal (only sk_test_…NNNN)"
fi
noise=$(journal -b -o cat | grep -c 'Failed to set thread priority' || true)
if [ "$noise" -eq 0 ]; then
    pass "no 'Failed to set thread priority' in the journal (over $(journal -u "$UNIT" -o cat | grep -c '^ready' || true) starts)"
else
    fail "$noise 'Failed to set thread priority' line(s) in the journal"
fi
security=$(in_ct systemd-analyze security --no-pager "$UNIT" 2>&1 | sed -n "s/.*Overall exposure level for $UNIT: \([0-9.]*\).*/\1/p")
if [ -n "$security" ] && awk -v e="$security" 'BEGIN { exit !(e + 0 <= 1.5) }'; then
    pass "systemd-analyze security $UNIT (installed, with the drop-in): $security <= 1.5"
else
    fail "systemd-analyze security $UNIT: '${security:-no figure}' (limit 1.5)"
fi

# --- 12. upgrade: the service restarts, the socket stays open, nothing is lost ----------------------
curl -fsS -X POST -d '{"down":true}' "$api/_admin/faults" >/dev/null
send '{"event":"ci-before-upgrade","event_id":"ci-ev-4"}' >/dev/null 2>&1 || fail "send before the upgrade"
wait_for 20 "service active before the upgrade" active || fail "$UNIT is not running before the upgrade"
old_pid=$(main_pid); old_inode=$(socket_inode); old_since=$(socket_since)
# A producer that sends one event at a time, throughout the upgrade, each on a new connection.
in_ct sh -c 'i=0; while [ ! -e /run/ci-stop-producer ]; do i=$((i+1))
        if /usr/bin/'"$NAME"' send "{\"event\":\"ci-upgrade\",\"event_id\":\"ci-up-$i\"}" 2>&1 | grep -q "\"ok\":true"
        then echo "acked ci-up-$i"; else echo "NOT ACKED ci-up-$i"; fi; sleep 0.1; done' > "$work/producer.log" 2>&1 &
producer=$!
acked() { grep -c '^acked' "$work/producer.log" || true; }
at_least_acked() { [ "$(acked)" -ge "$1" ]; }
wait_for 20 "the producer's first acks" at_least_acked 3 || true
upgrade_deb="/root/$NAME/${NAME}_${version}+ci1_ci.deb"
t0=$(date +%s)
if apt_install "$upgrade_deb" > "$work/upgrade.log" 2>&1; then
    pass "apt-get install ./${NAME}_${version}+ci1_ci.deb (upgrade from $version, $(( $(date +%s) - t0 )) s)"
else
    fail "the upgrade failed: $(tail -n 10 "$work/upgrade.log")"
fi
during=$(acked)
wait_for 20 "acks after the upgrade" at_least_acked $((during + 3)) || true
in_ct touch /run/ci-stop-producer
wait "$producer" || true
installed=$(in_ct dpkg-query -W -f='${Version}' "$NAME" 2>/dev/null || true)
[ "$installed" = "$version+ci1" ] || fail "dpkg-query says $NAME ${installed:-not installed} after the upgrade"
restarted() { p=$(main_pid); [ "$p" != 0 ] && [ "$p" != "$old_pid" ] && active; }
if wait_for 20 "restart by the upgrade" restarted; then
    pass "the upgrade restarted $UNIT (MainPID $old_pid → $(main_pid))"
else
    fail "the upgrade did not restart $UNIT (MainPID $(main_pid), was $old_pid; $(in_ct systemctl is-active "$UNIT"))"
fi
new_inode=$(socket_inode); new_since=$(socket_since)
if [ -n "$old_inode" ] && [ "$new_inode" = "$old_inode" ] && [ "$new_since" = "$old_since" ] && socket_active; then
    pass "the socket stayed open through the upgrade (inode $new_inode, active since $new_since µs, unchanged)"
else
    fail "the socket was replaced by the upgrade: inode $old_inode → $new_inode, active since $old_since → $new_since"
fi
not_acked=$(grep -c '^NOT ACKED' "$work/producer.log" || true)
total=$(grep -c 'ci-up-' "$work/producer.log" || true)
if [ "$not_acked" -eq 0 ] && [ "$(acked)" -gt "$during" ] && [ "$during" -ge 3 ]; then
    pass "a producer sending throughout the upgrade got all $total events acked ($during by the end of apt-get)"
else
    fail "producer during the upgrade: $not_acked of $total not acked ($(grep -m3 'NOT ACKED' "$work/producer.log" | tr '\n' ' '))"
fi
queued=$(in_ct "/usr/bin/$NAME" status --json 2>/dev/null | tr ',' '\n' | sed -n 's/.*"queued_events" *: *\([0-9]*\).*/\1/p' | head -n1)
if [ "${queued:-0}" -ge 1 ]; then pass "the queue survived the upgrade ($queued event(s))"; else fail "no queued events after the upgrade"; fi
curl -fsS -X POST -d '{"down":false}' "$api/_admin/faults" >/dev/null
all_delivered() {
    local events; events=$(curl -fsS "$api/_admin/events") || return 1
    grep -q '"ci-ev-4"' <<<"$events" || return 1
    local id; for id in $(sed -n 's/^acked //p' "$work/producer.log"); do grep -q "\"$id\"" <<<"$events" || return 1; done
}
if wait_for 60 "the queued events delivered after the upgrade" all_delivered; then
    pass "after the upgrade the events queued before and during it reached the API (ci-ev-4 and the $(acked) acked ci-up-N)"
else
    fail "events queued across the upgrade were not all delivered"
fi

# --- 13. remove stops everything and keeps the data; purge leaves nothing -----------------------
relay_processes() { in_ct sh -c 'cat /proc/[0-9]*/comm 2>/dev/null' | grep -c '^millimetric' || true; }
if in_ct env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "$NAME" > "$work/remove.log" 2>&1; then
    pass "apt-get remove $NAME"
else
    fail "apt-get remove: $(tail -n 8 "$work/remove.log")"
fi
http_socket_active() { [ "$(in_ct systemctl is-active "$HTTP_UNIT" 2>/dev/null)" = active ]; }
if ! active && ! socket_active && ! http_socket_active && [ "$(relay_processes)" -eq 0 ]; then
    pass "remove stopped the service and the sockets (all $(in_ct systemctl is-active "$NAME.socket"), no relay process left)"
else
    fail "after remove: service $(in_ct systemctl is-active "$UNIT"), socket $(in_ct systemctl is-active "$NAME.socket"), $(relay_processes) relay process(es)"
fi
if in_ct test -f "/etc/$NAME/relay.conf" -a -f "/etc/$NAME/key" && [ -n "$(in_ct ls -A "/var/lib/$NAME")" ]; then
    pass "remove kept the config, the key and the outbox"
else
    fail "remove lost the config, the key or the outbox"
fi
in_ct rm -rf "/etc/systemd/system/$UNIT.d" "/etc/systemd/system/$HTTP_UNIT.d"   # the test's own drop-ins
if in_ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$NAME" > "$work/purge.log" 2>&1; then
    pass "apt-get purge $NAME"
else
    fail "apt-get purge: $(tail -n 8 "$work/purge.log")"
fi
left=$(in_ct sh -c "ls -d /usr/bin/$NAME /etc/$NAME /var/lib/$NAME /run/$NAME /usr/lib/systemd/system/$NAME.* \
        /usr/lib/sysusers.d/$NAME.conf /usr/lib/tmpfiles.d/$NAME.conf /usr/share/doc/$NAME \
        /usr/share/lintian/overrides/$NAME /usr/share/man/man1/$NAME.1.gz 2>/dev/null;
    find /etc/systemd /var/lib/systemd -name '*$NAME*' 2>/dev/null; true" | tr '\n' ' ')
units=$(in_ct systemctl list-unit-files --no-legend "$NAME*" 2>/dev/null | tr '\n' ' ' || true)
if [ -z "$left" ] && [ -z "$units" ] && ! in_ct dpkg -s "$NAME" >/dev/null 2>&1; then
    pass "purge left nothing: no file, directory, unit, enablement link or dpkg state (the outbox is gone)"
else
    fail "left after purge: files: ${left:-none}; units: ${units:-none}"
fi

echo "real-systemd: $(( $(date +%s) - started )) s"
if [ "$failures" -gt 0 ]; then
    echo "--- journal of $UNIT (last 40 lines)"
    journal -u "$UNIT" -n 40 || true
    echo "real-systemd: $failures check(s) failed"
    exit 1
fi
echo "real-systemd: all passed"
