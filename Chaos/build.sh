#!/usr/bin/env bash
# Builds products of the Chaos package (and the relay's binaries it drives) into .build-chaos,
# for run.sh and powercut.sh: `Chaos/build.sh NAME CONFIGURATION PRODUCT...`, NAME for the
# messages. Prints the bin path last; exits 2 with the first errors when a build fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$root/.build-chaos"
name="$1"
configuration="$2"
shift 2
mkdir -p "$scratch"

echo "== $name: building ($configuration)" >&2
for product in "$@"; do
    status=0
    swift build --package-path "$root/Chaos" --scratch-path "$scratch" -c "$configuration" --product "$product" \
        >"$scratch/build-$product.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        grep -E "error|warning: unre" "$scratch/build-$product.log" | head -30 >&2 || true
        echo "$name: building $product failed (exit $status); see $scratch/build-$product.log" >&2
        exit 2
    fi
done
swift build --package-path "$root/Chaos" --scratch-path "$scratch" -c "$configuration" --show-bin-path
