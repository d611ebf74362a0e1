#!/usr/bin/env bash
# Builds the power-cut driver (issue 14) into .build-chaos, beside the chaos tool, then runs it;
# arguments go to `powercut` (see `powercut --help`).
#
#   Chaos/powercut.sh --cycles 200 --synchronous full              the short form, as CI runs it
#   Chaos/powercut.sh --cycles 1000 --synchronous full --seed 1    the long form
#   Chaos/powercut.sh --cycles 200 --synchronous normal            measures what normal loses
#   Chaos/powercut.sh --cycles 100 --synchronous off               must fail: shows the check can
#   Chaos/powercut.sh --cycles 100 --break-ack-order               must fail: acks before commit
#
# The last line printed is `powercut: synchronous=MODE cycles=N acked=A lost=L corrupt=C
# resurrected=R`; the exit status is 1 when anything acked was lost or corrupt, or a purged row
# came back after an acked forget, and 2 when the build failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$root/.build-chaos"
configuration="${POWERCUT_CONFIGURATION:-debug}"
mkdir -p "$scratch"

echo "== powercut: building ($configuration)"
status=0
swift build --package-path "$root/Chaos" --scratch-path "$scratch" -c "$configuration" --product powercut \
    >"$scratch/build-powercut.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    grep -E "error|warning: unre" "$scratch/build-powercut.log" | head -30 || true
    echo "powercut: building failed (exit $status); see $scratch/build-powercut.log"
    exit 2
fi
bin="$(swift build --package-path "$root/Chaos" --scratch-path "$scratch" -c "$configuration" --show-bin-path)"
exec "$bin/powercut" "$@"
