#!/usr/bin/env bash
# Builds the chaos tool and the binaries it drives (millimetric-relay, millimetric-api-standin)
# into .build-chaos, then runs it; arguments go to `chaos` (see `chaos --help`).
#
#   Chaos/run.sh                     the short form (40 s of chaos), as CI runs it
#   Chaos/run.sh --duration 600      the long form
#   CHAOS_CONFIGURATION=release Chaos/run.sh --duration 600    against a release build
#
# The last line printed is `chaos: acked=N delivered=N lost=L duplicates=D kills=K`; the exit
# status is non-zero when anything acked was lost (or another check failed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$root/.build-chaos"
configuration="${CHAOS_CONFIGURATION:-debug}"
mkdir -p "$scratch"

echo "== chaos: building ($configuration)"
for product in chaos millimetric-relay millimetric-api-standin; do
    status=0
    swift build --package-path "$root/Chaos" --scratch-path "$scratch" -c "$configuration" --product "$product" \
        >"$scratch/build-$product.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        grep -E "error|warning: unre" "$scratch/build-$product.log" | head -30 || true
        echo "chaos: building $product failed (exit $status); see $scratch/build-$product.log"
        exit 2
    fi
done
bin="$(swift build --package-path "$root/Chaos" --scratch-path "$scratch" -c "$configuration" --show-bin-path)"
exec "$bin/chaos" --relay "$bin/millimetric-relay" --standin "$bin/millimetric-api-standin" "$@"
