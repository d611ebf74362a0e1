#!/usr/bin/env bash
# The peer's figure and ours, in one run on one machine: syslog-ng 3.38 (the peer benchmark's
# /work/shared/peers/syslog-ng/bench.sh) and millimetric-relay under the same load generator
# (loadgen.py), the same fake upstream (fake_upstream.py) and the same analysis (analyze.py).
#
# usage: Benchmarks/compare-with-syslog-ng.sh
# env:   CLIENTS=4 EVENTS=50000     clients x events per client (both sides)
#        ACK_WINDOW=1000            our relay acks every line: loadgen --expect-acks --ack-window
#        UPSTREAM_PORT=18080        fake upstream port (both sides, one after the other)
#        PEERS_DIR=/work/shared/peers
#        RELAY_BIN=PATH             default: $(swift build -c release --show-bin-path)/millimetric-relay;
#                                   the packaged binary: RELAY_BIN=$(scripts/build-deb.sh --binary-only | tail -1)
#        RELAY_SETTINGS="batch_rate=1000000 batch_burst=1000000"   MILLIMETRIC_RELAY_<KEY> settings
#        RELAY_ENV="NAME=VALUE ..."  more environment for the relay only (e.g. GLIBC_TUNABLES=...,
#                                   NIO_SINGLETON_GROUP_LOOP_COUNT=2), to try a setting without a rebuild
#        KEEP=1                     keep our run directory (/tmp/mmr-compare.*)
#        EVICT=0                    keep RELAY_BIN's pages in the page cache as they are (see below)
#
# Nothing under PEERS_DIR is modified: bench.sh runs from its directory and writes its run
# directories in /tmp/sng-bench.*; ours goes to /tmp/mmr-compare.*. Every process is started
# and stopped by its PID (the helpers of the peer's common.sh).
#
# Same load, same definitions (analyze.py):
#   ingest events/s  events / (first write -> the daemon closed every connection after EOF);
#                    for our relay loadgen counts acked events and waits for each window's acks.
#   e2e events/s     first write -> last event received by the fake upstream (includes the final
#                    1 s flush wait for the last partial batch: syslog-ng's batch-timeout(1000),
#                    our flush_interval 1s).
# Differences that stay: our relay fsyncs every group commit before it acks (synchronous=full);
# syslog-ng's reliable disk buffer never fsyncs and acks nothing. The fake upstream has no rate
# limits, so our relay runs with its own token buckets opened up (RELAY_SETTINGS); syslog-ng runs
# with one http() worker (bench.sh default), our relay with max_in_flight 4 (its default).
set -u

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
: "${PEERS_DIR:=/work/shared/peers}"
: "${CLIENTS:=4}" "${EVENTS:=50000}" "${ACK_WINDOW:=1000}" "${UPSTREAM_PORT:=18080}" "${KEEP:=0}" "${EVICT:=1}"
: "${RELAY_SETTINGS:=batch_rate=1000000 batch_burst=1000000}" "${RELAY_ENV:=}"
export CLIENTS EVENTS UPSTREAM_PORT

if [ -z "${RELAY_BIN:-}" ]; then
    RELAY_BIN="$(swift build -c release --show-bin-path --package-path "$ROOT" 2>/dev/null)/millimetric-relay"
fi
if [ ! -x "$RELAY_BIN" ]; then
    echo "no relay binary at $RELAY_BIN: run swift build -c release in $ROOT, or set RELAY_BIN" >&2
    exit 1
fi

# RSS counts the pages of the binary that are mapped, and how many one fault maps depends on how
# the file sits in the page cache: a file just written (by objcopy in build-deb.sh, or by dpkg)
# is cached in large folios, which a fault maps whole: 1 to 3 MB more RSS, both at rest and at
# the peak, than the same binary read from disk (2026-12, kernel 6.18). So the binary's cached
# pages are dropped first (fsync, then POSIX_FADV_DONTNEED; a no-op for pages another process
# maps), and every run starts as after a reboot. syslog-ng's files were installed long before.
if [ "$EVICT" = 1 ]; then
    python3 - "$RELAY_BIN" <<'EOF' || echo "could not drop $RELAY_BIN from the page cache" >&2
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
EOF
fi

# start_upstream, wait_delivered, stop_pid, proc_hwm_kb, proc_cpu_s, proc_io, log, $PY, $UP_PID
. "$PEERS_DIR/syslog-ng/common.sh"

REL_PID=""
cleanup() {
    [ -n "$REL_PID" ] && stop_pid "$REL_PID" TERM
    REL_PID=""
    cleanup_pids
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

OUT="$(mktemp -d /tmp/mmr-compare.XXXXXX)"

# --- 1. the peer: syslog-ng, one run of bench.sh ---------------------------------------------
log "peer: syslog-ng bench.sh, 1 run of $CLIENTS x $EVENTS events"
(cd "$PEERS_DIR/syslog-ng" && ./bench.sh 1) > "$OUT/syslog-ng.out" 2> "$OUT/syslog-ng.err"
status=$?
grep -m1 '^{' "$OUT/syslog-ng.out" > "$OUT/syslog-ng.json"
if [ $status -ne 0 ] || [ ! -s "$OUT/syslog-ng.json" ]; then
    log "bench.sh failed (exit $status):"; tail -20 "$OUT/syslog-ng.err" >&2; exit 1
fi

# bench.sh measures the peer under load only: its RSS at rest, started the same way (the same
# config, no load, no upstream running), three seconds after its socket accepts connections.
start_syslog_ng "$OUT/syslog-ng-rest" || exit 1
sleep 3
peer_rest_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$SNG_PID/status" 2>/dev/null)
stop_pid "$SNG_PID" TERM; SNG_PID=""

# --- 2. ours: millimetric-relay, same load, same upstream, same analysis ----------------------
log "ours: millimetric-relay ($RELAY_BIN), $CLIENTS x $EVENTS events, acks in windows of $ACK_WINDOW"
dir="$OUT/relay"; mkdir -p "$dir/state"
start_upstream "$dir" || exit 1
relay_env=(PATH=/usr/bin:/bin MILLIMETRIC_KEY="$RELAY_API_KEY")
for kv in $RELAY_SETTINGS; do
    relay_env+=("MILLIMETRIC_RELAY_$(printf '%s' "${kv%%=*}" | tr '[:lower:]' '[:upper:]')=${kv#*=}")
done
for kv in $RELAY_ENV; do relay_env+=("$kv"); done
env -i "${relay_env[@]}" "$RELAY_BIN" run --socket "$dir/relay.sock" --state-dir "$dir/state" \
    --host "http://127.0.0.1:$UPSTREAM_PORT" 2>"$dir/relay.log" &
REL_PID=$!
for _ in $(seq 400); do
    if [ -S "$dir/relay.sock" ] && "$PY" - "$dir/relay.sock" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.close()
EOF
    then break; fi
    kill -0 "$REL_PID" 2>/dev/null || { log "the relay died:"; tail -20 "$dir/relay.log" >&2; exit 1; }
    sleep 0.05
done

# At rest: started, socket open, nothing sent yet (VmRSS, after three seconds to settle: the
# relay unmaps its services' start-up code 2 s after they start, StartupPages.settleDelay).
sleep 3
rest_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$REL_PID/status" 2>/dev/null)

"$PY" "$PEERS_DIR/loadgen.py" --socket "$dir/relay.sock" -n "$CLIENTS" -m "$EVENTS" --seed 1 \
    --expect-acks --ack-window "$ACK_WINDOW" --out "$dir/loadgen.json" --record-ids "$dir/written.ids" \
    >/dev/null 2>"$dir/loadgen.log" || { log "loadgen failed"; cat "$dir/loadgen.log" >&2; exit 1; }
written=$(wc -l < "$dir/written.ids")
wait_delivered "$written" 300 30
sleep 0.5   # late duplicates, if any
hwm=$(proc_hwm_kb "$REL_PID"); cpu=$(proc_cpu_s "$REL_PID"); upcpu=$(proc_cpu_s "$UP_PID")
read -r wchar wbytes <<<"$(proc_io "$REL_PID")"
stop_pid "$REL_PID" TERM; REL_PID=""
stop_pid "$UP_PID" TERM; UP_PID=""
"$PY" "$PEERS_DIR/analyze.py" --label millimetric-relay --loadgen "$dir/loadgen.json" \
    --written "$dir/written.ids" --upstream "$dir/upstream.json" --upstream-ids "$dir/upstream.ids" \
    --rss-kb "${hwm:-0}" --cpu-s "${cpu:-0}" --upstream-cpu-s "${upcpu:-0}" \
    --wchar "${wchar:-0}" --write-bytes "${wbytes:-0}" > "$OUT/relay.json"
log "ours: $(cat "$dir/loadgen.log")"
grep -E ' (warning|error|critical) ' "$dir/relay.log" | grep -v 'backing off' | head -5 >&2

# --- 3. side by side --------------------------------------------------------------------------
"$PY" - "$OUT/syslog-ng.json" "$OUT/relay.json" "$CLIENTS" "$EVENTS" "${rest_kb:-0}" "${peer_rest_kb:-0}" <<'EOF'
import json, sys
peer = json.load(open(sys.argv[1])); ours = json.load(open(sys.argv[2]))
# Both at rest: started, nothing sent yet (VmRSS); peak RSS is VmHWM after the load.
ours["rss_rest_mb"] = round(int(sys.argv[5]) / 1024, 1) if int(sys.argv[5]) else None
peer["rss_rest_mb"] = round(int(sys.argv[6]) / 1024, 1) if int(sys.argv[6]) else None
print("\nsyslog-ng vs millimetric-relay, one run each, %s clients x %s events (%s B/event)"
      % (sys.argv[3], sys.argv[4], ours.get("mean_event_bytes")))
rows = [("ingest events/s", "ingest_eps", "%.0f"), ("e2e events/s", "e2e_eps", "%.0f"),
        ("e2e99 events/s", "e2e99_eps", "%.0f"), ("ingest s", "ingest_s", "%.2f"), ("e2e s", "e2e_s", "%.2f"),
        ("peak RSS MB", "rss_peak_mb", "%.1f"), ("RSS at rest MB", "rss_rest_mb", "%.1f"), ("CPU s", "cpu_s", "%.2f"),
        ("bytes written/event", "wchar_per_event", "%.0f"), ("lost", "lost", "%d"),
        ("duplicates", "duplicates", "%d"), ("requests", "requests", "%d"),
        ("mean batch events", "batch_mean_events", "%.1f")]
print("%-20s %14s %18s %10s" % ("figure", "syslog-ng", "millimetric-relay", "ours/peer"))
print("%-20s %14s %18s %10s" % ("-" * 20, "-" * 14, "-" * 18, "-" * 10))
for label, key, fmt in rows:
    a, b = peer.get(key), ours.get(key)
    cell = lambda v: (fmt % v) if isinstance(v, (int, float)) else "n/a"
    ratio = ("%.2f" % (b / a)) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a else ""
    print("%-20s %14s %18s %10s" % (label, cell(a), cell(b), ratio))
print("\nsyslog-ng never fsyncs and acks nothing; millimetric-relay acks each line after an fsync'd commit.")
EOF
if [ "$KEEP" = 1 ]; then
    log "kept $OUT"
else
    rm -rf "$dir/written.ids" "$dir/upstream.ids" "$dir/state"
    log "results in $OUT (syslog-ng.json, relay.json; id files removed)"
fi
