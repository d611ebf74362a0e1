#!/usr/bin/env bash
# Builds the ingest fuzzer (libFuzzer + AddressSanitizer, debug) and runs it for SECONDS.
#
#   Fuzz/run.sh [SECONDS]      default 60
#
# The seed corpus (Fuzz/Corpus, SPEC's valid events and every bad input kind) is read-only;
# what libFuzzer learns goes to .build-fuzz/corpus, crashes to .build-fuzz/crashes/. Prints
# `fuzz: executions=N seconds=S crashes=C` last; exits non-zero when an invariant broke or a
# sanitizer reported. Reproduce a crash with `.build-fuzz/debug/FuzzIngest FILE`.
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$root/.build-fuzz"
cd "$root"

echo "== fuzz: building (debug, -sanitize=fuzzer,address)"
# ld.gold warns for every ASan assembly symbol ("Cannot export local symbol"): noise.
mkdir -p "$scratch"
build_status=0
swift build --package-path Fuzz --scratch-path "$scratch" -c debug \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$scratch/build.log" 2>&1 || build_status=$?
grep -vE "Cannot export local symbol|^\[[0-9]+/[0-9]+\]" "$scratch/build.log" || true
if [ "$build_status" -ne 0 ]; then
    echo "fuzz: the build failed (exit $build_status)"
    exit "$build_status"
fi

mkdir -p "$scratch/corpus" "$scratch/crashes"
log="$scratch/fuzz-$(date +%Y%m%d-%H%M%S).log"
echo "== fuzz: running for ${seconds}s (log: $log)"
status=0
# The Swift runtime's backtracer would fight ASan over a crash: let libFuzzer report it.
SWIFT_BACKTRACE=enable=no "$scratch/debug/FuzzIngest" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -dict=Fuzz/json.dict -artifact_prefix="$scratch/crashes/" \
    "$scratch/corpus" Fuzz/Corpus >"$log" 2>&1 || status=$?

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
crashes=$(grep -cE '^(==[0-9]+==ERROR|.*Fatal error: )' "$log" || true)
if [ "$status" -ne 0 ]; then
    grep -E 'Fatal error|invariant broken|ERROR: AddressSanitizer|SUMMARY|Test unit written|^  (line|input)' "$log" | head -20 || true
fi
echo "fuzz: executions=${executions:-0} seconds=$seconds coverage=${coverage:-0} crashes=$crashes exit=$status"
exit "$status"
