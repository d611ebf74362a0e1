#!/usr/bin/env bash
# CPU per line of `millimetric-relay import` and of the relay it feeds, for A/B runs of two
# release binaries in the same minutes (#16). The wall-time events/s of import-bench scatter
# 2x on the shared 2-core machine; the CPU each process spends per line does not.
#
#   Benchmarks/import-cpu-per-line.sh BINARY FILE [LABEL]
#   Benchmarks/import-cpu-per-line.sh --generate N FILE   # N track events without event_id, ~434 bytes each
#
# Starts BINARY's relay in a temporary directory (upstream 127.0.0.1:9 refuses connections, so
# nothing drains; synchronous=full), imports FILE with the same binary, and prints one line:
# wall seconds, events/s, the importer's user+sys CPU per line and peak RSS (/usr/bin/time),
# the relay's CPU per line (/proc/PID/stat across the import) and peak RSS (VmHWM), the sum.
set -euo pipefail
if [ "${1:-}" = "--generate" ]; then
    python3 - "$2" "$3" <<'PY'
import sys
names = ["page_viewed", "product_viewed", "product_added_to_cart", "checkout_started", "order_completed", "signed_up", "search_performed", "button_clicked"]
paths = ["/", "/products/red-sneakers", "/products/blue-shirt", "/cart", "/checkout", "/search", "/blog/how-to-choose-shoes", "/pricing", "/signup"]
with open(sys.argv[2], "w") as f:
    for i in range(int(sys.argv[1])):
        f.write('{"event":"%s","user_id":"user_%d","anonymous_id":"anon_%08x","timestamp":"2025-06-01T12:%02d:%02d.%03dZ","properties":{"path":"%s","referrer":"https://www.google.com/","utm_source":"newsletter","utm_medium":"email","utm_campaign":"spring_sale_2024","category":"shoes","query":"running shoes size 44","price":%d.%02d,"quantity":%d,"currency":"EUR","session":%d,"screen":"1920x1080","locale":"en-GB","n":%d}}\n' % (
            names[i % 8], i % 5000, (i * 2654435761) & 0xffffffff, (i // 60) % 60, i % 60, i % 1000, paths[i % 9], i % 200, i % 100, 1 + i % 5, i // 30, i))
PY
    exit 0
fi
binary=$1 file=$2 label=${3:-$(basename "$1")}
directory=$(mktemp -d)
trap 'rm -rf "$directory"' EXIT
env -i PATH=/usr/bin:/bin MILLIMETRIC_HOST=http://127.0.0.1:9 MILLIMETRIC_KEY=sk_test_standin_0001 \
    MILLIMETRIC_RELAY_SYNCHRONOUS=full "$binary" run --socket "$directory/relay.sock" --state-dir "$directory/state" \
    >"$directory/relay.log" 2>&1 &
relay=$!
for _ in $(seq 200); do [ -S "$directory/relay.sock" ] && break; sleep 0.05; done
sleep 0.3
ticks=$(getconf CLK_TCK)
relay_before=$(awk '{print $14 + $15}' "/proc/$relay/stat")
load=$(cut -d' ' -f1 /proc/loadavg)
started=$(date +%s.%N)
/usr/bin/time -f "%U %S %M" -o "$directory/time" env -i PATH=/usr/bin:/bin "$binary" import --socket "$directory/relay.sock" \
    --progress "$directory/progress" --rejects "$directory/rejects" "$file" >"$directory/import.out" 2>"$directory/import.err"
ended=$(date +%s.%N)
relay_after=$(awk '{print $14 + $15}' "/proc/$relay/stat")
relay_peak=$(awk '/VmHWM/ {print $2}' "/proc/$relay/status")
kill "$relay"
wait "$relay" || true
lines=$(wc -l <"$file")
read -r user sys importer_peak <"$directory/time"
python3 -c "
lines, wall = $lines, $ended - $started
importer, relay = $user + $sys, ($relay_after - $relay_before) / $ticks
print('%s %s load %s: %.1f s, %d events/s, importer %.2f us/line (peak %.1f MB), relay %.2f us/line (peak %.1f MB), sum %.2f us/line' % (
    '$label', '$(date -u +%H:%M:%S)', '$load', wall, lines / wall, importer / lines * 1e6, $importer_peak / 1024, relay / lines * 1e6, $relay_peak / 1024, (importer + relay) / lines * 1e6))"
cat "$directory/import.out"
