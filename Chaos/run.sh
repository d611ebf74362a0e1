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
bin="$("$(dirname "$0")/build.sh" chaos "${CHAOS_CONFIGURATION:-debug}" chaos millimetric-relay millimetric-api-standin)"
exec "$bin/chaos" --relay "$bin/millimetric-relay" --standin "$bin/millimetric-api-standin" "$@"
