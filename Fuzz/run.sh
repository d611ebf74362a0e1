#!/usr/bin/env bash
# Builds the fuzz targets (libFuzzer + AddressSanitizer, optimised, assertions kept) and runs them.
#
#   Fuzz/run.sh [SECONDS]             CI smoke: SECONDS (default 60) on FuzzIngest (inputs up to
#                                     FUZZ_INGEST_MAX_LEN bytes, default 1024), then
#                                     OTHER_SECONDS (default 10) on each other target
#   Fuzz/run.sh --campaign MINUTES    every target with one libFuzzer worker per core (-jobs,
#                                     -workers): half of MINUTES on FuzzIngest, the rest shared
#                                     by the others; then each corpus is minimised (-merge=1)
#                                     into Fuzz/Corpus/<target>/learned, to commit when it grew
#
# Targets: FuzzIngest (line framer, validator, acks), FuzzConfiguration (config file and
# MILLIMETRIC_RELAY_* values), FuzzRetryAfter (the Retry-After header), FuzzUpstreamVerdict (the
# API's answers), FuzzHTTPRequest (the local API listener's requests). Seeds are Fuzz/Corpus/<target>/ (read recursively; hand-written seeds at the
# top, what campaigns learned in learned/); a smoke run's discoveries go to
# .build-fuzz/corpus/<target>, crashes to .build-fuzz/crashes/<target>/. Reproduce one with
# `.build-fuzz/release/<target> FILE`.
#
# Prints one line per target, `fuzz[<target>]: executions=N seconds=S rate=R/s coverage=C
# crashes=K cpu_seconds=T cpu_rate=Q/s exit=E` (rate per second of wall time, cpu_rate per
# second of CPU time: what one core does, even on a shared machine). The last line is
# FuzzIngest's, as `fuzz: executions=…` (.ci/evidence.sh greps it); a campaign adds
# `fuzz-campaign: …` with the totals. Exits non-zero when an invariant broke, a sanitizer
# reported, or a build failed. The smoke run takes SECONDS + 4 × OTHER_SECONDS plus the build
# (on the shared 2-core development machine: a clean build 13-18 min under heavy load, a rebuild
# after a change to the relay 6 min, to a harness 1-2 min).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$root/.build-fuzz"
targets=(FuzzIngest FuzzConfiguration FuzzRetryAfter FuzzUpstreamVerdict FuzzHTTPRequest)
cd "$root"

mode=smoke
if [ "${1:-}" = "--campaign" ]; then
    mode=campaign
    minutes="${2:?usage: Fuzz/run.sh --campaign MINUTES}"
else
    seconds="${1:-60}"
    other_seconds="${OTHER_SECONDS:-10}"
fi

echo "== fuzz: building (release, -sanitize=address, coverage on the relay's module, assertions kept)"
mkdir -p "$scratch/checkout"
build_status=0
# The relay through a symlink named millimetric-relay: SwiftPM names a path dependency after its
# directory, and a checkout named `fuzz` would clash with this package (see Fuzz/Package.swift).
ln -sfn "$root" "$scratch/checkout/millimetric-relay"
export MILLIMETRIC_RELAY_FUZZ_RELAY_PATH="$scratch/checkout/millimetric-relay"
# libFuzzer's coverage (-sanitize=fuzzer) on the relay's module only (../Package.swift reads
# this): 40,328 counters instead of ~283,000 with swift-nio and the rest instrumented, and
# coverage that means the relay's code. AddressSanitizer stays on everywhere.
export MILLIMETRIC_RELAY_FUZZ_COVERAGE=1
# -O runs the relay's code 10-40x faster than -Onone; -assert-config Debug keeps assert() as well
# as precondition(); -enable-testing lets `@testable import` reach the internal parsers.
# ld.gold warns for every ASan assembly symbol ("Cannot export local symbol"): noise.
swift build --package-path Fuzz --scratch-path "$scratch" -c release \
    -Xswiftc -sanitize=address -Xswiftc -parse-as-library -Xswiftc -enable-testing \
    -Xswiftc -assert-config -Xswiftc Debug >"$scratch/build.log" 2>&1 || build_status=$?
grep -vE "Cannot export local symbol|^\[[0-9]+/[0-9]+\]" "$scratch/build.log" | grep -E "error|warning: .*Fuzz/" || true
if [ "$build_status" -ne 0 ]; then
    tail -20 "$scratch/build.log"
    echo "fuzz: the build failed (exit $build_status)"
    exit "$build_status"
fi

# The Swift runtime's backtracer would fight ASan over a crash: let libFuzzer report it.
export SWIFT_BACKTRACE=enable=no
# No allocation stack per malloc (ASan's default records 30 frames on each): a third of the time
# went there. A crash file rerun without this option shows the stacks.
export ASAN_OPTIONS="malloc_context_size=0:${ASAN_OPTIONS:-}"
overall=0
summaries=()

# `summarise TARGET LOG SECONDS STATUS`: the target's figures, from its log.
summarise() {
    local target="$1" log="$2" secs="$3" status="$4" executions coverage crashes
    # A plain run prints stat::number_of_executed_units; a forked one, "#N: cov: …" lines.
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ -z "$executions" ]; then
        executions=$(grep -oE '^#[0-9]+: cov: ' "$log" | tail -1 | tr -dc '0-9')
    fi
    executions=${executions:-0}
    coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    crashes=$(grep -cE '^(==[0-9]+==ERROR|.*Fatal error: )' "$log" || true)
    if [ "$crashes" -eq 0 ]; then
        crashes=$(grep -oE 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' "$log" | tail -1 | awk -F/ '{print $NF}')
        crashes=${crashes:-0}
    fi
    if [ "$status" -ne 0 ]; then
        grep -E 'Fatal error|invariant broken|ERROR: AddressSanitizer|SUMMARY|Test unit written|^  (line|input)' "$log" | head -20 || true
    fi
    # rate is per second of wall time; cpu_rate per second of CPU time, which is what one core
    # does when the machine is shared (on an idle machine the two agree, times the job count).
    local cpu cpu_rate
    cpu=$(cpu_seconds "$log")
    cpu_rate=$(awk -v n="$executions" -v c="$cpu" 'BEGIN { printf "%d", (c > 0 ? n / c : 0) }')
    echo "executions=$executions seconds=$secs rate=$(( executions / (secs > 0 ? secs : 1) ))/s coverage=${coverage:-0} crashes=$crashes cpu_seconds=$cpu cpu_rate=$cpu_rate/s exit=$status"
}

# `fuzz TARGET SECONDS LOG [libFuzzer flags…]`: one run over the target's seeds.
fuzz() {
    local target="$1" secs="$2" log="$3"
    shift 3
    local dict=()
    [ -f "$root/Fuzz/Dictionaries/$target.dict" ] && dict=(-dict="$root/Fuzz/Dictionaries/$target.dict")
    mkdir -p "$scratch/corpus/$target" "$scratch/crashes/$target"
    # In a subshell, so that `times` reports the CPU time of this run alone (forked jobs included).
    (
        status=0
        # -detect_leaks=0: the harnesses keep caches across inputs (a validator, the refusals
        # already checked), which LeakSanitizer took for leaks, re-running inputs to look for them.
        "$scratch/release/$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 -detect_leaks=0 \
            "${dict[@]}" -artifact_prefix="$scratch/crashes/$target/" "$@" >"$log" 2>&1 || status=$?
        times >"$log.cpu"
        exit "$status"
    )
}

# `cpu_seconds LOG`: user + system seconds the run took, from `times` ("0m2.808s 0m0.492s").
cpu_seconds() {
    tail -1 "$1.cpu" 2>/dev/null | awk '{ total = 0; for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); total += t[1] * 60 + t[2] } printf "%.1f", total }'
}

logs="$scratch/logs/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$logs"
if [ "$mode" = smoke ]; then
    echo "== fuzz: FuzzIngest for ${seconds}s, then ${other_seconds}s on each other target (logs: $logs)"
    for target in "${targets[@]:1}" FuzzIngest; do
        secs=$other_seconds
        limit=()
        if [ "$target" = FuzzIngest ]; then
            secs=$seconds
            # Inputs up to 1 KB (FUZZ_INGEST_MAX_LEN): the seeds reach 8 KB (the properties
            # limit), and at that length an input costs 2.5 times as much. As many edges are
            # reached (1,207-1,209 against 1,208), but not the 8 KB limits: campaigns keep the
            # full length.
            limit=(-max_len="${FUZZ_INGEST_MAX_LEN:-1024}")
        fi
        status=0
        fuzz "$target" "$secs" "$logs/$target.log" "${limit[@]}" "$scratch/corpus/$target" "Fuzz/Corpus/$target" || status=$?
        [ "$status" -eq 0 ] || overall=$status
        line="$(summarise "$target" "$logs/$target.log" "$secs" "$status")"
        echo "fuzz[$target]: ${line##*$'\n'}"
        [ "$line" = "${line##*$'\n'}" ] || echo "${line%$'\n'*}"
    done
    # Last, FuzzIngest's figures under the name CI has always read.
    echo "fuzz: ${line##*$'\n'}"
    exit "$overall"
fi

# A campaign: every target forked over the cores, then the corpus minimised into the repository.
jobs=$(nproc)
total_seconds=$(( minutes * 60 ))
ingest_seconds=$(( total_seconds / 2 ))
other_each=$(( (total_seconds - ingest_seconds) / (${#targets[@]} - 1) ))
echo "== fuzz campaign: ${minutes} min over $jobs cores: FuzzIngest ${ingest_seconds}s, the others ${other_each}s each (logs: $logs)"
all_executions=0
all_crashes=0
for target in "${targets[@]}"; do
    secs=$other_each
    [ "$target" = FuzzIngest ] && secs=$ingest_seconds
    work="$scratch/campaign/$target"
    rm -rf "$work" && mkdir -p "$work"
    status=0
    # One worker per core, each a whole libFuzzer run sharing the corpus directory (-reload):
    # -fork restarts short jobs that replay their corpus, which here halved the rate.
    # Each worker logs to fuzz-<n>.log in the current directory.
    mkdir -p "$logs/$target.jobs"
    (cd "$logs/$target.jobs" && fuzz "$target" "$secs" "$logs/$target.log" -jobs="$jobs" -workers="$jobs" \
        "$work" "$root/Fuzz/Corpus/$target") || status=$?
    # The workers' logs as one, their executions added up on the last line summarise reads.
    cat "$logs/$target.jobs"/fuzz-*.log >"$logs/$target.workers.log" 2>/dev/null || true
    sum=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.workers.log" | awk '{ s += $1 } END { print s + 0 }')
    echo "stat::number_of_executed_units: ${sum:-0}" >>"$logs/$target.workers.log"
    cp "$logs/$target.log.cpu" "$logs/$target.workers.log.cpu" 2>/dev/null || true
    line="$(summarise "$target" "$logs/$target.workers.log" "$secs" "$status")"
    figures="${line##*$'\n'}"
    executions=$(sed -E 's/^executions=([0-9]+).*/\1/' <<<"$figures")
    crashes=$(sed -E 's/.* crashes=([0-9]+).*/\1/' <<<"$figures")
    all_executions=$(( all_executions + executions ))
    all_crashes=$(( all_crashes + crashes ))
    [ "$status" -eq 0 ] && [ "$crashes" -eq 0 ] || overall=1
    echo "fuzz[$target]: $figures"
    [ "$line" = "$figures" ] || echo "${line%$'\n'*}"

    # Minimise: the seeds at the top of Fuzz/Corpus/<target> stay; learned/ becomes the inputs
    # of the old learned/ and of this campaign that add coverage over the seeds (-merge=1).
    seeds="$work.seeds" && rm -rf "$seeds" "$work.merged" && mkdir -p "$seeds" "$work.merged"
    find "Fuzz/Corpus/$target" -maxdepth 1 -type f -exec cp {} "$seeds/" \;
    learned="Fuzz/Corpus/$target/learned"
    mkdir -p "$learned"
    cp -r "$seeds/." "$work.merged/"
    "$scratch/release/$target" -merge=1 -timeout=10 -rss_limit_mb=4096 "$work.merged" "$learned" "$work" \
        >"$logs/$target.merge.log" 2>&1 || { echo "fuzz[$target]: the merge failed (see $logs/$target.merge.log)"; overall=1; continue; }
    before=$(find "$learned" -type f | wc -l)
    rm -rf "$learned" && mkdir -p "$learned"
    for file in "$work.merged"/*; do
        [ -e "$seeds/$(basename "$file")" ] || cp "$file" "$learned/"
    done
    after=$(find "$learned" -type f | wc -l)
    coverage=$(grep -oE 'MERGE-OUTER: [0-9]+ new files with [0-9]+ new features added; [0-9]+ new coverage edges' "$logs/$target.merge.log" | tail -1)
    echo "fuzz[$target]: corpus learned/ $before -> $after files (${coverage:-no merge summary})"
done
echo "fuzz-campaign: minutes=$minutes cores=$jobs executions=$all_executions crashes=$all_crashes exit=$overall"
echo "If Fuzz/Corpus grew coverage, commit it: git add Fuzz/Corpus && git commit -m 'Fuzz corpus: campaign of $(date -u +%F)'"
exit "$overall"
