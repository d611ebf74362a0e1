#!/usr/bin/env bash
# Issue 6, "evidence that it loses nothing", for CI: the chaos test's short form, a bounded
# fuzzing run, and the test suite under ThreadSanitizer and AddressSanitizer. Each builds in
# its own scratch path (.build-chaos, .build-fuzz, .build-tsan, .build-asan).
#
#   .ci/evidence.sh                       CHAOS_SECONDS=40 FUZZ_SECONDS=60 by default
#   EVIDENCE_SKIP="sanitizers" .ci/evidence.sh     leave a part out (chaos, fuzz, sanitizers)
#
# Prints the figures at the end (chaos: acked, delivered, lost, duplicates, kills; fuzzing
# executions; sanitizer reports) and exits non-zero when anything acked was lost (or another
# chaos check failed), the fuzzer broke an invariant or crashed, or a sanitizer reported or a
# test failed under one. About 15 minutes on 2 cores, most of it the four builds.
source "$(dirname "$0")/lib.sh"
chaos_seconds="${CHAOS_SECONDS:-40}"
fuzz_seconds="${FUZZ_SECONDS:-60}"
skip=" ${EVIDENCE_SKIP:-} "
logs="$(mktemp -d /tmp/mmr-evidence-XXXXXX)"
failures=()

if [[ "$skip" != *" chaos "* ]]; then
    stamp evidence "chaos: ${chaos_seconds}s of kill -9 and a flapping API"
    Chaos/run.sh --duration "$chaos_seconds" 2>&1 | tee "$logs/chaos.log"
    status=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] || failures+=("chaos (exit $status)")
fi

if [[ "$skip" != *" fuzz "* ]]; then
    stamp evidence "fuzz: ${fuzz_seconds}s of libFuzzer on the framer and the validator, 10s on each other parser"
    Fuzz/run.sh "$fuzz_seconds" 2>&1 | tee "$logs/fuzz.log"
    status=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] || failures+=("fuzz (exit $status)")
fi

if [[ "$skip" != *" sanitizers "* ]]; then
    stamp evidence "sanitizers: swift test under TSan and ASan"
    bash .ci/sanitizers.sh 2>&1 | tee "$logs/sanitizers.log"
    status=${PIPESTATUS[0]}
    [ "$status" -eq 0 ] || failures+=("sanitizers (exit $status)")
fi

stamp evidence "done"
echo "== evidence: figures"
grep -h -E "^chaos: acked=" "$logs/chaos.log" 2>/dev/null | tail -1 || true
grep -h -E "^fuzz: executions=" "$logs/fuzz.log" 2>/dev/null | tail -1 || true
grep -h -E "^sanitizers: (thread|address): .*(reports=|build failed)" "$logs/sanitizers.log" 2>/dev/null || true
if [ ${#failures[@]} -ne 0 ]; then
    echo "evidence: FAILED: ${failures[*]} (logs in $logs)"
    exit 1
fi
echo "evidence: passed"
rm -rf "$logs"
