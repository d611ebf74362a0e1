#!/usr/bin/env bash
# Regenerates deploy/link-order.txt: every function of millimetric-relay that runs when the
# daemon takes the peer load, then those that run only when it starts and stops. The release link
# (Package.swift) hands it to lld as --symbol-ordering-file, so that code sits in one block at
# the start of .text. Why (issue #11): the kernel maps the 64 KB around each page fault of a
# mapped file, and the relay's ~1.3 MB of running code was spread over the whole 13.4 MB .text,
# so 9 MB of it was resident; packed together, 6 MB (the rest is plain .text sections of the
# static Swift runtime that come whole with any function of theirs). The load's functions come
# first and start-up's after them: the daemon unmaps start-up's code once it serves
# (StartupPages), and what stays resident is what the load runs, so that block is the one to
# keep small (1,750 functions of 4,650). Names that no longer exist
# are ignored by the linker and new functions are merely not ordered, so a stale file costs
# memory, never correctness: rerun this after larger changes and commit the result.
#
# How: valgrind's callgrind runs the release binary (symbols kept, DWARF dropped: valgrind
# 3.19 cannot read the toolchain's) under the peer benchmark's load generator and fake upstream
# (a smaller load than the benchmark's: 4 x 5,000 events; callgrind is ~100x slower), and every
# function of the binary it saw, caller or callee, is listed. A `perf record` profile is no
# substitute: it samples the hot loops and misses most of what runs once at start.
#
# usage: scripts/link-order.sh      (root or not; needs valgrind, python3, PEERS_DIR)
# env:   PEERS_DIR=/work/shared/peers   loadgen.py, fake_upstream.py, syslog-ng/common.sh
#        SCRATCH_PATH=.build-static     the release build to profile (scripts/build-deb.sh's)
#        CLIENTS=4 EVENTS=5000
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
: "${PEERS_DIR:=/work/shared/peers}" "${CLIENTS:=4}" "${EVENTS:=5000}"
: "${UPSTREAM_PORT:=18080}"
export UPSTREAM_PORT
scratch=${SCRATCH_PATH:-$repo/.build-static}
command -v valgrind >/dev/null || { echo "link-order.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }

echo "link-order.sh: swift build -c release --static-swift-stdlib" >&2
# shellcheck disable=SC2046 # the package's flags (function sections), words
(cd "$repo" && swift build -c release --static-swift-stdlib $("$repo/scripts/build-deb.sh" --swift-flags) --product millimetric-relay --scratch-path "$scratch") >&2
built="$(cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/millimetric-relay"

. "$PEERS_DIR/syslog-ng/common.sh"   # start_upstream, wait_delivered, stop_pid, $PY, $UP_PID
work=$(mktemp -d /tmp/mmr-link-order.XXXXXX)
REL_PID=""
cleanup() {
    [ -n "$REL_PID" ] && stop_pid "$REL_PID" TERM
    REL_PID=""
    cleanup_pids
    rm -rf "$work"
}
trap cleanup EXIT

binary="$work/millimetric-relay"
objcopy --strip-debug "$built" "$binary"
mkdir -p "$work/state"
start_upstream "$work" || exit 1
env -i PATH=/usr/bin:/bin MILLIMETRIC_KEY="$RELAY_API_KEY" \
    MILLIMETRIC_RELAY_BATCH_RATE=1000000 MILLIMETRIC_RELAY_BATCH_BURST=1000000 \
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --dump-instr=no \
    --compress-strings=no --compress-pos=no --demangle=no \
    "$binary" run --socket "$work/relay.sock" --state-dir "$work/state" \
    --host "http://127.0.0.1:$UPSTREAM_PORT" 2>"$work/relay.log" &
REL_PID=$!
for _ in $(seq 1200); do   # up to 60 s: the daemon starts ~100x slower under callgrind
    if [ -S "$work/relay.sock" ] && "$PY" - "$work/relay.sock" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.close()
EOF
    then break; fi
    kill -0 "$REL_PID" 2>/dev/null || { echo "link-order.sh: the relay died:" >&2; tail -20 "$work/relay.log" >&2; exit 1; }
    sleep 0.05
done
sleep 3   # the services' own start-up (StartupPages.settleDelay), slower under callgrind
callgrind_control --dump=startup "$REL_PID" >/dev/null   # callgrind.out.1: start-up's
callgrind_control --zero "$REL_PID" >/dev/null
"$PY" "$PEERS_DIR/loadgen.py" --socket "$work/relay.sock" -n "$CLIENTS" -m "$EVENTS" --seed 1 \
    --expect-acks --ack-window 1000 --out "$work/loadgen.json" >/dev/null 2>"$work/loadgen.log" \
    || { echo "link-order.sh: loadgen failed" >&2; cat "$work/loadgen.log" >&2; exit 1; }
wait_delivered $((CLIENTS * EVENTS)) 600 60 || exit 1
callgrind_control --dump=load "$REL_PID" >/dev/null   # callgrind.out.2: the load's functions
stop_pid "$REL_PID" TERM; REL_PID=""   # callgrind writes its last file when the relay exits

# Every function of the binary that callgrind saw, first as it first appears (fn= lines are the
# functions that ran, cfn= their callees); recursion marks ('2), unnamed addresses and
# valgrind's "(below main)" dropped.
"$PY" - "$binary" "$work/callgrind.out.2" "$work/callgrind.out.1" "$work/callgrind.out" > "$repo/deploy/link-order.txt" <<'EOF'
import os, re, sys
binary = os.path.realpath(sys.argv[1])
seen, names = set(), []
def add(name, obj):
    name = re.sub(r"'\d+$", "", name.strip())
    if obj and os.path.realpath(obj) == binary and name and not name.startswith(("0x", "(")) and name not in seen:
        seen.add(name); names.append(name)
for out in sys.argv[2:]:   # the load's dump first
    ob = cob = None
    for line in open(out, errors="replace"):
        if line.startswith("ob="): ob = line[3:].strip()
        elif line.startswith("fn="): add(line[3:], ob)
        elif line.startswith("cob="): cob = line[4:].strip()
        elif line.startswith("cfn="): add(line[4:], cob or ob); cob = None
print("\n".join(names))
EOF
echo "link-order.sh: $(wc -l < "$repo/deploy/link-order.txt") functions in deploy/link-order.txt" >&2
