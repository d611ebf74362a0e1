#!/usr/bin/env bash
# A short real fleet on one key (issue #12), for CI: the API stand-in with its per-key limits
# (/v1/batch 5 requests/s, burst 20: 2,500 events/s for the key) answering after 300 ms, and
# FLEET_RELAYS release relays (default 4) on the same key, each fed FLEET_RATE % of the key
# (default 128 %, so the key is the bottleneck) split evenly, for FLEET_SECONDS (default 120).
# The fleet simulation (FleetSimulationTests) is in `swift test`; this checks the real processes.
#
# Figures are taken after the first FLEET_WARMUP seconds (default 60: slow start and the first
# cuts). Fails when an event acked by a relay is not at the stand-in once the outboxes have
# drained (FLEET_DRAIN_SECONDS, default 180: 120 s at 128 % leave a backlog of 34 s at the key's
# rate), when the fleet delivers less than 95 % of min(produced, 2,500) events/s or its mean
# batch is under 450 events while the key is the bottleneck, or when more than FLEET_MAX_429 %
# (default 8) of the batch requests are answered 429; whether issue #12's goal of 5 % was met is
# printed beside it. The guard is not the goal itself: ~320 requests after the warm-up leave a
# count of 429s that varies by about ±4 between runs (Poisson), and runs of the same code drew
# 2.2-4.3 %, so a 5 % limit would fail good code now and then; 8 % is what the controller before
# round 5 drew, and the simulation (swift test) holds every fleet size to 5 %. Until round 5 of #12 a
# real fleet met 5 % only after minutes (8.1–8.6 % after 60 s of a 120 s run: slow start had
# taken every relay to the full rate and 5 % cuts took two minutes to come down); with the cut
# to the accepted rate three runs on 2026-12-07 drew 10 of 332, 8 of 360 and 8 of 320 (2.2–3.0 %)
# after 60 s, and CI's run of the merged code 14 of 323 (4.3 %).
#
# Uses the shipped binary (scripts/build-deb.sh --binary-only, .build-static, shared with the
# other release checks) and the stand-in from the same scratch path; FLEET_BIN=DIR uses the
# millimetric-relay and millimetric-api-standin in DIR instead. About 3 minutes after the build.
source "$(dirname "$0")/lib.sh"
set -e
relays="${FLEET_RELAYS:-4}"
rate="${FLEET_RATE:-128}"
seconds="${FLEET_SECONDS:-120}"
warmup="${FLEET_WARMUP:-60}"
max_429="${FLEET_MAX_429:-8}"

work=$(mktemp -d /tmp/mmr-fleet-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${FLEET_BIN:-}" ]; then
    relay="$FLEET_BIN/millimetric-relay"
    standin="$FLEET_BIN/millimetric-api-standin"
else
    scripts/build-deb.sh --binary-only > "$work/build.log" 2>&1 || { grep -E "error:" "$work/build.log" | head -20; echo "fleet: the release build failed"; exit 1; }
    relay="$(tail -1 "$work/build.log")"
    scratch=${SCRATCH_PATH:-.build-static}
    # shellcheck disable=SC2046 # the package's flags, words: the same build, only the stand-in is new
    swift build -c release --static-swift-stdlib $(scripts/build-deb.sh --swift-flags) --product millimetric-api-standin --scratch-path "$scratch" \
        > "$work/standin-build.log" 2>&1 || { tail -20 "$work/standin-build.log"; echo "fleet: building the stand-in failed"; exit 1; }
    standin="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/millimetric-api-standin"
fi

"$standin" --port 0 --log-level warning > "$work/api.out" 2> "$work/api.log" &
pids+=($!)
for _ in $(seq 1 200); do grep -q '^listening on' "$work/api.out" 2>/dev/null && break; sleep 0.05; done
api="http://$(sed -n 's/^listening on //p' "$work/api.out")"
curl -sf -X POST "$api/_admin/faults" -d '{"latency_ms":300}' > /dev/null

for r in $(seq 1 "$relays"); do
    MILLIMETRIC_KEY=sk_local_fleet_ci_0001 "$relay" run --socket "$work/r$r.sock" --state-dir "$work/r$r" --host "$api" \
        2> "$work/r$r.log" &
    pids+=($!)
done
for r in $(seq 1 "$relays"); do
    for _ in $(seq 1 200); do [ -S "$work/r$r.sock" ] && break; sleep 0.05; done
    [ -S "$work/r$r.sock" ] || { echo "fleet: relay $r did not start:"; cat "$work/r$r.log"; exit 1; }
done

# /_admin/stats: requests by status (the relays send /v1/batch only) and unique events stored.
stats() { curl -sf "$api/_admin/stats"; }
# A number field of that JSON (a top-level key or a status), 0 when absent.
field() { local v; v=$(sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" | head -1); echo "${v:-0}"; }

# One producer per relay: one `send` (which streams) fed a quarter-second's events every 0.25 s.
per_tick=$(( rate * 2500 / 100 / relays / 4 ))
ticks=$(( seconds * 4 ))
produce() {
    awk -v r="$1" -v ticks="$ticks" -v n="$per_tick" 'BEGIN {
        for (t = 0; t < ticks; t++) {
            for (i = 0; i < n; i++) printf "{\"event\":\"fleet\",\"event_id\":\"r%d-%d-%d\",\"user_id\":\"u%d\"}\n", r, t, i, i % 97
            fflush(); system("sleep 0.25")
        }
    }' | "$relay" send --socket "$work/r$1.sock" | grep -c '"ok":true' > "$work/acked.$1" || true
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
started=$(ms)
for r in $(seq 1 "$relays"); do produce "$r" & pids+=($!); done
producers=("${pids[@]: -$relays}")
sleep "$warmup"
stats > "$work/steady-start.json"; t0=$(ms)
for pid in "${producers[@]}"; do wait "$pid"; done
stats > "$work/steady-end.json"; t1=$(ms)

acked=$(cat "$work"/acked.* | awk '{ s += $1 } END { print s + 0 }')
held=0
for _ in $(seq 1 $(( ${FLEET_DRAIN_SECONDS:-180} * 10 ))); do
    held=$(stats | field events)
    [ "$held" -ge "$acked" ] && break
    sleep 0.1
done
lag_ms=$(( $(ms) - t1 ))
accepted0=$(field 202 < "$work/steady-start.json"); limited0=$(field 429 < "$work/steady-start.json")
accepted1=$(field 202 < "$work/steady-end.json"); limited1=$(field 429 < "$work/steady-end.json")
requests=$(( accepted1 - accepted0 + limited1 - limited0 ))
limited=$(( limited1 - limited0 ))
whole_requests=$(( accepted1 + limited1 ))
offered=$(( per_tick * 4 * relays ))
echo "fleet: $relays relays × $(( per_tick * 4 )) events/s = $offered events/s offered ($rate % of the key), ${seconds} s, 300 ms round trip"
echo "fleet: after the first ${warmup} s: $requests batch requests, $limited answered 429; whole run: $whole_requests requests, $limited1 answered 429"
events=$(( $(field events < "$work/steady-end.json") - $(field events < "$work/steady-start.json") ))
accepted=$(( accepted1 - accepted0 ))
echo "fleet: after the first ${warmup} s: $(( events * 1000 / (t1 - t0) )) events/s delivered, mean batch $(( accepted > 0 ? events / accepted : 0 ))"
echo "fleet: produced $(( acked * 1000 / (t1 - started) )) events/s over $(( (t1 - started) / 1000 )) s (the producers may lag on a loaded machine)"
echo "fleet: acked $acked events, the stand-in holds $held, $(( lag_ms / 1000 )).$(( lag_ms % 1000 / 100 )) s after the load stopped"

failures=0
delivered_rate=$(( events * 1000 / (t1 - t0) ))
produced_rate=$(( acked * 1000 / (t1 - started) ))
due_rate=$(( produced_rate < 2500 ? produced_rate : 2500 ))
if [ "$acked" -eq 0 ] || [ "$held" -lt "$acked" ]; then
    echo "FAIL: $acked events acked but $held at the stand-in ${FLEET_DRAIN_SECONDS:-180} s after the load stopped"
    failures=$((failures + 1))
fi
if [ $(( delivered_rate * 100 )) -lt $(( due_rate * 95 )) ]; then
    echo "FAIL: $delivered_rate events/s delivered after the warm-up, under 95 % of $due_rate"
    failures=$((failures + 1))
fi
if [ "$produced_rate" -ge 2500 ] && [ $(( accepted > 0 ? events / accepted : 0 )) -lt 450 ]; then
    echo "FAIL: mean batch under 450 events while the key is the bottleneck"
    failures=$((failures + 1))
fi
if [ "$requests" -eq 0 ] || [ $(( limited * 100 )) -gt $(( requests * max_429 )) ]; then
    echo "FAIL: more than $max_429 % of the batch requests after the warm-up were answered 429 ($limited of $requests)"
    failures=$((failures + 1))
else
    echo "fleet: at most $max_429 % 429s after ${warmup} s ($limited of $requests)"
fi
if [ "$requests" -gt 0 ] && [ $(( limited * 100 )) -le $(( requests * 5 )) ]; then
    echo "fleet: issue #12's goal of at most 5 % 429s after ${warmup} s: met"
else
    echo "fleet: issue #12's goal of at most 5 % 429s after ${warmup} s: not met"
fi
[ "$failures" = 0 ] || exit 1
echo "fleet: ok"
