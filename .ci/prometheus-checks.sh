#!/usr/bin/env bash
# The Prometheus side of the relay (issue 17), with Prometheus's own tool, promtool:
#
#   1. `promtool check rules` on deploy/prometheus/millimetric-relay.rules.yml;
#   2. `promtool test rules` on its unit tests (a series that fires and one that must not, for
#      every alert);
#   3. `promtool check metrics` on live scrapes of the daemon under load: the API stand-in and the
#      relay (metrics_listen on 127.0.0.1) run; `millimetric-relay send` pushes events, bad lines,
#      identifies, forgets and events the stand-in refuses for good, while the stand-in answers
#      some requests with 429; every scrape taken meanwhile must lint clean. The last scrape must
#      also hold every metric the rules use, so rules and metrics cannot drift apart.
#
# Installs Debian's `prometheus` package (for promtool) when promtool is missing. Uses the debug
# build of `swift test` (builds the two products if needed). Takes about 30 s after the build.
#
# Usage: .ci/prometheus-checks.sh        Exit status: 0 all checks passed, 1 a check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq prometheus >/dev/null
fi

rules=deploy/prometheus/millimetric-relay.rules.yml
tests=deploy/prometheus/millimetric-relay.rules.test.yml
failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
pass() { printf 'ok:   %s\n' "$*"; }

# --- 1 and 2: the rules ----------------------------------------------------------------------
if out=$(promtool check rules "$rules" 2>&1); then pass "promtool check rules $rules"; else fail "promtool check rules:"; printf '%s\n' "$out"; fi
if out=$(promtool test rules "$tests" 2>&1); then pass "promtool test rules $tests"; else fail "promtool test rules:"; printf '%s\n' "$out"; fi

# --- 3: live scrapes under load --------------------------------------------------------------
for product in millimetric-relay millimetric-api-standin; do
    swift build --product "$product" > /tmp/prometheus-checks-build.log 2>&1 || { tail -30 /tmp/prometheus-checks-build.log; exit 1; }
done
bin=$(swift build --show-bin-path)

work=$(mktemp -d /tmp/prometheus-checks.XXXXXX)
api_pid=""; relay_pid=""; load_pid=""
cleanup() {
    for pid in "$load_pid" "$relay_pid" "$api_pid"; do
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

"$bin/millimetric-api-standin" --port 0 --log-level warning > "$work/api.out" 2> "$work/api.log" &
api_pid=$!
for _ in $(seq 1 200); do grep -q '^listening on' "$work/api.out" 2>/dev/null && break; sleep 0.05; done
api="http://$(sed -n 's/^listening on //p' "$work/api.out")"

socket="$work/ingest.sock"
MILLIMETRIC_KEY=sk_local_prometheus_checks MILLIMETRIC_RELAY_METRICS_LISTEN=127.0.0.1:0 MILLIMETRIC_RELAY_FLUSH_INTERVAL=100ms \
    "$bin/millimetric-relay" run --socket "$socket" --state-dir "$work/state" --host "$api" 2> "$work/relay.log" &
relay_pid=$!
port=""
for _ in $(seq 1 400); do
    port=$(sed -n 's/.*metrics\.address=[^ ]*:\([0-9][0-9]*\) .*/\1/p' "$work/relay.log" | head -1)
    [ -n "$port" ] && [ -S "$socket" ] && break
    sleep 0.05
done
if [ -z "$port" ] || [ ! -S "$socket" ]; then
    echo "the relay did not start:"; cat "$work/relay.log"; exit 1
fi
url="http://127.0.0.1:$port/metrics"

# Events containing "poison" are refused for good (dead letters); 20 requests get 429.
curl -sf -X POST "$api/_admin/faults" -d '{"reject_event_marker":"poison"}' > /dev/null
load() {
    for round in $(seq 1 8); do
        {
            for i in $(seq 1 500); do printf '{"event":"load","event_id":"r%d-%d","user_id":"u%d"}\n' "$round" "$i" "$((i % 7))"; done
            printf '{"type":"identify","anonymous_id":"a1","user_id":"u1","traits":{"plan":"pro"}}\n'
            printf '{"type":"forget","user_id":"u3"}\n'
            printf '{"event":"poison","event_id":"p%d"}\n' "$round"
            printf 'not json\n'
        } | "$bin/millimetric-relay" send --socket "$socket" > /dev/null || true
        if [ "$round" = 3 ]; then
            curl -sf -X POST "$api/_admin/faults" -d '{"force_status":429,"force_count":20,"retry_after":1}' > /dev/null
        fi
    done
}
load &
load_pid=$!

scrapes=0; bad=0
check_scrape() {
    curl -sf --max-time 5 "$url" > "$work/scrape.txt" || { fail "GET $url failed"; return; }
    scrapes=$((scrapes + 1))
    if ! promtool check metrics < "$work/scrape.txt" > "$work/lint.txt" 2>&1; then
        bad=$((bad + 1))
        fail "promtool check metrics, scrape $scrapes:"; sed 's/^/      /' "$work/lint.txt" | head -20
    fi
}
while kill -0 "$load_pid" 2>/dev/null; do check_scrape; sleep 0.2; done
wait "$load_pid" || true
load_pid=""
# Until the queue drains (the 429s back off for a second or two), then once more.
for _ in $(seq 1 150); do
    check_scrape
    grep -q '^millimetric_relay_queue_events 0\.0$' "$work/scrape.txt" && break
    sleep 0.2
done
check_scrape
[ "$bad" = 0 ] && pass "promtool check metrics: $scrapes live scrapes under load, all clean"

value() { awk -v name="$1" '$1 == name { print $2 }' "$work/scrape.txt"; }
# 429 answers on any endpoint (the forced ones go to whatever request comes next).
rate_limited=$(awk '/^millimetric_relay_upstream_requests_total\{.*status="429"/ { sum += $2 } END { print sum + 0 }' "$work/scrape.txt")
printf '      delivered %s, acked %s, refused %s, dead letters %s, forgets %s, 429 answers %s\n' \
    "$(value millimetric_relay_events_delivered_total)" "$(value millimetric_relay_events_acked_total)" \
    "$(value 'millimetric_relay_lines_refused_total{reason="invalid_json"}')" "$(value millimetric_relay_dead_letters)" \
    "$(value millimetric_relay_forgets_total)" "$rate_limited"

# Every metric the rules read (not the recorded ones, not Prometheus's own `up`) is served.
missing=""
for name in $(grep -oE '(^|[^:a-z_])(millimetric_relay|process)_[a-z0-9_]+' "$rules" | grep -oE '(millimetric_relay|process)_[a-z0-9_]+' | sort -u); do
    grep -q "^# TYPE $name " "$work/scrape.txt" || missing="$missing $name"
done
if [ -z "$missing" ]; then pass "every metric the rules use is in the scrape"; else fail "metrics the rules use but the relay does not serve:$missing"; fi
[ "$(value millimetric_relay_dead_letters)" != "0.0" ] || fail "the load made no dead letters"
[ "$rate_limited" -gt 0 ] || fail "the load drew no 429"

[ "$failures" = 0 ] || { echo "prometheus-checks: $failures check(s) failed"; exit 1; }
