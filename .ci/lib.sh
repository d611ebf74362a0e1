# Sourced by the CI scripts (evidence.sh, powercut.sh, fleet.sh): bash's strict
# mode without -e (the scripts collect failures and report them all at the end), the
# repository root as `root` and working directory, and `stamp NAME TEXT` for progress lines
# with the seconds since the script began.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)

stamp() {
    local name="$1"
    shift
    echo "[$name +$(( $(date +%s) - start ))s] $*"
}
