#!/usr/bin/env bash
# Checks that a release build of millimetric-relay carries no test hooks (issue 10): they are
# compiled only with MILLIMETRIC_RELAY_TEST_HOOKS, which Package.swift defines for debug builds.
#
#   1. builds the binary that ships (scripts/build-deb.sh --binary-only: release, static Swift
#      runtime, stripped; the same build the package and the real-systemd test use);
#   2. no MILLIMETRIC_RELAY_TEST_ name is left in it;
#   3. it refuses a hook's variable as it refuses any unknown MILLIMETRIC_RELAY_* name: exit 78.
#
# Nearly all the time is the release build, shared with .ci/real-systemd.sh and
# .ci/deb-checks.sh (.build-static): seconds when another step built it first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log="$(mktemp /tmp/mmr-release-hooks-XXXXXX.log)"
trap 'rm -f "$log"' EXIT

echo "== the shipped binary (scripts/build-deb.sh --binary-only)"
if ! scripts/build-deb.sh --binary-only >"$log" 2>&1; then
    grep -E "error:" "$log" | head -20 || true
    echo "release-without-test-hooks: the release build failed"
    exit 1
fi
binary="$(tail -1 "$log")"

failures=0
if grep -a -q "MILLIMETRIC_RELAY_TEST_" "$binary"; then
    echo "FAIL: the release binary contains test hook names:"
    grep -a -o "MILLIMETRIC_RELAY_TEST_[A-Z_]*" "$binary" | sort -u | sed 's/^/      /'
    failures=$((failures + 1))
else
    echo "ok:   no MILLIMETRIC_RELAY_TEST_ name in the release binary"
fi

for hook in MILLIMETRIC_RELAY_TEST_MAX_PAGE_COUNT MILLIMETRIC_RELAY_TEST_STALL_DRAINER_AFTER MILLIMETRIC_RELAY_TEST_HOLD_HTTP_STOP; do
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
