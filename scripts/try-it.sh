#!/usr/bin/env bash
# Runs millimetric-relay for real on this machine, against the bundled stand-in for the
# Millimetric API, so you can watch events flow without an account or a key of your own.
#
#   ./scripts/try-it.sh          # demo, then keeps the relay running until Ctrl-C
#   ./scripts/try-it.sh --once   # demo, then stops (used by CI)
set -euo pipefail
cd "$(dirname "$0")/.."
once=0; [ "${1:-}" = "--once" ] && once=1

./scripts/install-build-deps.sh
echo "building (the first build takes a few minutes)…"
for product in millimetric-relay millimetric-api-standin; do
    if ! swift build -c release --product "$product" > /tmp/millimetric-try-build.log 2>&1; then
        tail -30 /tmp/millimetric-try-build.log
        echo "the build failed; full log in /tmp/millimetric-try-build.log" >&2
        exit 1
    fi
done
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d /tmp/millimetric-try.XXXXXX)
cleanup() {
    [ -n "${relay_pid:-}" ] && kill -TERM "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null || true
    [ -n "${api_pid:-}" ] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true
    echo "state and logs kept in $work"
}
trap cleanup EXIT

# The stand-in listens on a free loopback port and prints it on its first line.
"$bin/millimetric-api-standin" --port 0 > "$work/api.out" 2> "$work/api.log" &
api_pid=$!
for _ in $(seq 1 100); do grep -q '^listening on' "$work/api.out" 2>/dev/null && break; sleep 0.05; done
api="http://$(sed -n 's/^listening on //p' "$work/api.out")"
echo "API stand-in: $api"

# A local, well-formed server key: the stand-in accepts any sk_ key; no real key is involved.
export MILLIMETRIC_KEY=sk_local_tryit_0000
export MILLIMETRIC_RELAY_FLUSH_INTERVAL=250ms
socket="$work/ingest.sock"
"$bin/millimetric-relay" run --socket "$socket" --state-dir "$work/state" --host "$api" 2> "$work/relay.log" &
relay_pid=$!
for _ in $(seq 1 100); do [ -S "$socket" ] && break; sleep 0.05; done

echo; echo "--- sending three events, an identify and a bad line through the socket:"
"$bin/millimetric-relay" send --socket "$socket" \
    '{"event":"signup","anonymous_id":"u_abc","user_id":"user_42","properties":{"plan":"free"}}' \
    '{"event":"purchase","user_id":"user_42","properties":{"amount_cents":4900}}' \
    '{"event":"page","url":"https://example.com/?utm_source=newsletter","country":"FR"}' \
    '{"type":"identify","anonymous_id":"u_abc","user_id":"user_42","traits":{"plan":"pro"}}' \
    '{"event":""}' || true

sleep 1.5
echo; echo "--- what the API received (GET $api/_admin/events):"
curl -s "$api/_admin/events"
echo; echo "--- millimetric-relay status:"
"$bin/millimetric-relay" status --state-dir "$work/state"

if [ "$once" = 1 ]; then exit 0; fi
echo
echo "The relay keeps running. In another terminal, send your own events:"
echo "  $bin/millimetric-relay send --socket $socket '{\"event\":\"hello\"}'"
echo "  $bin/millimetric-relay status --state-dir $work/state"
echo "  curl -s $api/_admin/events"
echo "Ctrl-C stops both."
wait "$relay_pid"
