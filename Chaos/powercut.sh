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
bin="$("$(dirname "$0")/build.sh" powercut "${POWERCUT_CONFIGURATION:-debug}" powercut)"
exec "$bin/powercut" "$@"
