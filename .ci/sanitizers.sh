#!/usr/bin/env bash
# Runs the test suite under ThreadSanitizer and AddressSanitizer and fails on any report.
#
#   .ci/sanitizers.sh                  both, thread then address
#   .ci/sanitizers.sh thread           one of them
#
# Each sanitizer builds everything (tests, the daemon, the API stand-in) in its own scratch
# path (.build-tsan, .build-asan) with `swift build --build-tests --sanitize=…`, then runs
# `swift test --skip-build --sanitize=…`. Reports are written to files (log_path), from every
# process: the test runner, the stand-in, and each `millimetric-relay` the integration tests
# start; those get an explicit environment, so they are started through a small wrapper
# (TestExecutables honours $MILLIMETRIC_RELAY) that sets the sanitizer options again. A run
# fails when a test fails or any report file appears.
#
# Under ThreadSanitizer, .ci/sanitizers/tsan-mutex-shim.c is preloaded so that TSan sees
# Synchronization.Mutex's contended path (see that file: without it, every contended
# withLock is a false "race"). LeakSanitizer is off: see docs/sanitizers.md.
#
# Excluded under both (timing, not memory or threads; docs/sanitizers.md):
#   tenThousandEventsArriveExactlyOnceWithoutA429 - counts 429s against the API's exact rate;
#   a sanitized relay is slow enough to bunch requests.
#   pipelinedRequestsAreAnsweredInOrderAndShareCommits - counts group commits against requests;
#   a sanitized relay parses so slowly that the writer commits nearly every request alone.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
sanitizers=("$@")
[ ${#sanitizers[@]} -eq 0 ] && sanitizers=(thread address)
skip='tenThousandEventsArriveExactlyOnceWithoutA429|pipelinedRequestsAreAnsweredInOrderAndShareCommits'
work="$(mktemp -d /tmp/mmr-sanitizers-XXXXXX)"
swift_bin="$(dirname "$(readlink -f "$(command -v swift)")")"
failed=0
summary=()

for sanitizer in "${sanitizers[@]}"; do
    case "$sanitizer" in
        thread) short=tsan; options_var=TSAN_OPTIONS; options="halt_on_error=0 history_size=4 suppressions=$root/.ci/sanitizers/tsan.supp" ;;
        address) short=asan; options_var=ASAN_OPTIONS; options="detect_leaks=0:halt_on_error=1" ;;
        *) echo "sanitizers: unknown sanitizer $sanitizer (thread|address)"; exit 64 ;;
    esac
    scratch="$root/.build-$short"
    reports="$work/$short-reports"
    mkdir -p "$reports" "$work/$short-bin"
    start=$(date +%s)

    echo "== sanitizers: $sanitizer: building (scratch $scratch)"
    status=0
    swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" >"$work/$short-build.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        grep -E "error:" "$work/$short-build.log" | head -20 || true
        echo "sanitizers: $sanitizer: the build failed (exit $status; $work/$short-build.log)"
        failed=1
        summary+=("$sanitizer: build failed")
        continue
    fi
    bin="$scratch/debug"

    preload=""
    if [ "$sanitizer" = thread ]; then
        "$swift_bin/clang" -shared -fPIC -O1 -o "$work/libtsan-mutex-shim.so" .ci/sanitizers/tsan-mutex-shim.c -ldl
        preload="$work/libtsan-mutex-shim.so"
    fi
    if [ "$sanitizer" = thread ]; then sep=" "; else sep=":"; fi
    full_options="log_path=$reports/$short${sep}${options}"

    # The daemon the integration tests start gets an explicit environment: re-add the options.
    wrapper="$work/$short-bin/millimetric-relay"
    cat >"$wrapper" <<WRAPPER
#!/bin/sh
export $options_var="$full_options"
${preload:+export LD_PRELOAD="$preload"}
exec "$bin/millimetric-relay" "\$@"
WRAPPER
    chmod +x "$wrapper"

    echo "== sanitizers: $sanitizer: swift test (skipping: $skip)"
    status=0
    env "$options_var=$full_options" ${preload:+LD_PRELOAD="$preload"} MILLIMETRIC_RELAY="$wrapper" \
        swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" --skip "$skip" \
        >"$work/$short-test.log" 2>&1 || status=$?
    result="$(grep -E "^(✔|✘|━) Test run with" "$work/$short-test.log" | tail -1 || true)"
    grep -E "^✘ Test .*(recorded an issue|failed)" "$work/$short-test.log" | head -20 || true

    report_files=$(grep -lE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer" "$reports"/* 2>/dev/null || true)
    report_count=0
    if [ -n "$report_files" ]; then
        report_count=$(cat $report_files | grep -cE "^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: (Address|Leak)Sanitizer)" || true)
        echo "sanitizers: $sanitizer reports (kept in $reports):"
        cat $report_files | grep -E "^SUMMARY:" | sort | uniq -c | sort -rn | head -20
    fi
    seconds=$(( $(date +%s) - start ))
    echo "sanitizers: $sanitizer: ${result:-no test summary (exit $status)}; reports=$report_count; ${seconds}s"
    summary+=("$sanitizer: tests exit $status, reports $report_count")
    if [ "$status" -ne 0 ] || [ "$report_count" -ne 0 ]; then failed=1; fi
done

echo "sanitizers: ${summary[*]}"
if [ "$failed" -ne 0 ]; then
    echo "sanitizers: FAILED (logs in $work)"
    exit 1
fi
rm -rf "$work"
