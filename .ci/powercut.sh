#!/usr/bin/env bash
# Issue 14, evidence against power loss, for CI: the power-cut driver's short form
# (Chaos/powercut.sh), plus two runs that must FAIL, to show the check can fail:
#   1. synchronous=full, POWERCUT_CYCLES cuts (default 1000, about 20 s): lost, corrupt and
#      resurrected must all be 0; then 300 from the relay's first start (--fresh-outbox);
#   2. synchronous=off, 100 cuts: must report losses;
#   3. acks released before the commit (--break-ack-order), 100 cuts: must report losses.
# It builds into .build-chaos, shared with the chaos test (about a minute when the chaos tool
# was built first, as .ci/run does). Skipped with EVIDENCE_SKIP="powercut", like evidence.sh's
# parts. POWERCUT_SEED replays a run (the seed is printed).
source "$(dirname "$0")/lib.sh"
echo "== evidence: power cuts (crash-simulating VFS)"
skip=" ${EVIDENCE_SKIP:-} "
if [[ "$skip" == *" powercut "* ]]; then
    echo "powercut: skipped (EVIDENCE_SKIP)"
    exit 0
fi
cycles="${POWERCUT_CYCLES:-1000}"
seed="${POWERCUT_SEED:-$(date +%s)}"
logs="$(mktemp -d /tmp/mmr-powercut-XXXXXX)"
failures=()

stamp powercut "synchronous=full, $cycles power cuts (seed $seed)"
"$root/Chaos/powercut.sh" --cycles "$cycles" --synchronous full --seed "$seed" 2>&1 | tee "$logs/full.log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || failures+=("synchronous=full lost acked data or failed (exit $status)")

if [ "$status" -ne 2 ]; then
    stamp powercut "synchronous=full, 300 power cuts from the relay's first start (--fresh-outbox)"
    "$root/Chaos/powercut.sh" --cycles 300 --synchronous full --fresh-outbox --seed "$seed" >"$logs/fresh.log" 2>&1
    status=$?
    tail -1 "$logs/fresh.log"
    [ "$status" -eq 0 ] || failures+=("synchronous=full from a fresh outbox lost acked data or failed (exit $status; see $logs/fresh.log)")

    stamp powercut "synchronous=off, 100 power cuts: must lose acked events"
    "$root/Chaos/powercut.sh" --cycles 100 --synchronous off --seed "$seed" >"$logs/off.log" 2>&1
    status=$?
    tail -1 "$logs/off.log"
    [ "$status" -eq 1 ] || failures+=("synchronous=off did not show losses (exit $status)")

    stamp powercut "acks released before the commit, 100 power cuts: must lose acked events"
    "$root/Chaos/powercut.sh" --cycles 100 --synchronous full --break-ack-order --seed "$seed" >"$logs/broken.log" 2>&1
    status=$?
    tail -1 "$logs/broken.log"
    [ "$status" -eq 1 ] || failures+=("the broken ack order was not caught (exit $status)")
fi

stamp powercut "done"
if [ ${#failures[@]} -ne 0 ]; then
    echo "powercut: FAILED: ${failures[*]} (logs in $logs)"
    exit 1
fi
echo "powercut: passed"
rm -rf "$logs"
