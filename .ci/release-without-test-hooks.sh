#!/usr/bin/env bash
# Checks that a release build of millimetric-relay carries no test hooks (issue 10): they are
# compiled only with MILLIMETRIC_RELAY_TEST_HOOKS, which Package.swift defines for debug builds.
#
#   1. builds the release binary (scratch path .build-release, shared with nothing else);
#   2. no MILLIMETRIC_RELAY_TEST_ name is left in it;
#   3. it refuses a hook's variable as it refuses any unknown MILLIMETRIC_RELAY_* name: exit 78.
#
# Nearly all the time is the release build: 10m52s wall (3m25s CPU) from scratch on the 2-core
# VM while other builds shared it; seconds when .build-release is current.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scratch="$root/.build-release"
log="$(mktemp /tmp/mmr-release-hooks-XXXXXX.log)"
trap 'rm -f "$log"' EXIT

echo "== release build (scratch $scratch)"
if ! swift build -c release --product millimetric-relay --scratch-path "$scratch" >"$log" 2>&1; then
    grep -E "error:" "$log" | head -20 || true
    echo "release-without-test-hooks: the release build failed"
    exit 1
fi
binary="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/millimetric-relay"

failures=0
if grep -a -q "MILLIMETRIC_RELAY_TEST_" "$binary"; then
    echo "FAIL: the release binary contains test hook names:"
    grep -a -o "MILLIMETRIC_RELAY_TEST_[A-Z_]*" "$binary" | sort -u | sed 's/^/      /'
    failures=$((failures + 1))
else
    echo "ok:   no MILLIMETRIC_RELAY_TEST_ name in the release binary"
fi

for hook in MILLIMETRIC_RELAY_TEST_MAX_PAGE_COUNT MILLIMETRIC_RELAY_TEST_STALL_DRAINER_AFTER; do
    status=0
    output="$(env -i PATH=/usr/bin:/bin MILLIMETRIC_KEY=sk_test_ci_0001 "$hook=1" "$binary" check-config 2>&1)" || status=$?
    if [ "$status" -eq 78 ] && printf '%s' "$output" | grep -q "unknown environment variable $hook"; then
        echo "ok:   the release binary refuses $hook (exit 78)"
    else
        echo "FAIL: the release binary accepted $hook (exit $status): $output"
        failures=$((failures + 1))
    fi
done
[ "$failures" -eq 0 ] || exit 1
