#!/usr/bin/env bash
# Builds millimetric-relay as a self-contained Debian package: a release binary with the Swift
# runtime linked in statically (it runs on hosts without a Swift toolchain), stripped, plus the
# systemd units, sysusers.d and tmpfiles.d entries, the example config as a conffile, docs and
# the maintainer scripts of deploy/debian/. Prints the package's path as its last line.
#
# usage: scripts/build-deb.sh [--output DIR] [--binary-only] [--swift-flags]
#
#   --output DIR    where the .deb (and the separate debug symbols, NAME_VERSION_ARCH.debug)
#                   go; default .build-static/deb
#   --binary-only   only build and strip the static binary; print its path as the last line
#                   (for scripts that want the packaged binary without the package)
#   --swift-flags   print the swift build flags of the static build and exit: every other
#                   build in the same scratch path (the stand-in's in CI, link-order.sh) passes
#                   them too, or swift build recompiles every module each time they differ
#
# env: SCRATCH_PATH  swift build's scratch path for the static build (default .build-static, so
#                    the normal .build is untouched)
#
# The version is RelayVersion.current (Sources/MillimetricRelay/Daemon/RelayVersion.swift),
# which `millimetric-relay --version` prints; it is a native Debian version (no revision).
# Depends: comes from dpkg-shlibdeps on the binary, plus what the maintainer scripts call.
# Needs: swift, dpkg-dev (dpkg-shlibdeps), binutils (objcopy). No root: dpkg-deb
# --root-owner-group makes every file root-owned.
set -euo pipefail

NAME=millimetric-relay
# Every Swift function in a section of its own (clang's -ffunction-sections; swiftc puts a
# module's code in one .text per file without it), for every module of the build, NIO's and the
# others' too (Package.swift's unsafeFlags reach only this package's targets). The release link
# (Package.swift) orders .text by deploy/link-order.txt, the functions the peer load runs first,
# but lld moves whole input sections only: without this a function brought its file's other code
# along, and the code under load was spread over 6 MB of .text (issue #11).
swift_flags=(-Xswiftc -Xfrontend -Xswiftc -function-sections)
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/.build-static/deb"
binary_only=no
while [ $# -gt 0 ]; do
    case $1 in
        --output) out=$2; shift 2 ;;
        --output=*) out=${1#--output=}; shift ;;
        --binary-only) binary_only=yes; shift ;;
        --swift-flags) echo "${swift_flags[*]}"; exit 0 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-deb.sh: unknown argument: $1 (see --help)" >&2; exit 64 ;;
    esac
done
scratch=${SCRATCH_PATH:-$repo/.build-static}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/.*static let current = "\([^"]*\)".*/\1/p' "$repo/Sources/MillimetricRelay/Daemon/RelayVersion.swift")
[ -n "$version" ] || { echo "build-deb.sh: no version in RelayVersion.swift" >&2; exit 1; }
arch=$(dpkg --print-architecture)

# --- the binary: static Swift runtime, stripped, symbols kept aside ---------------------------
# The one place the packaged binary is built (the CI checks and benchmarks reuse it).
echo "build-deb.sh: swift build -c release --static-swift-stdlib (a few minutes the first time)" >&2
(cd "$repo" && swift build -c release --static-swift-stdlib "${swift_flags[@]}" --product "$NAME" --scratch-path "$scratch") >&2
built="$(cd "$repo" && swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/$NAME"
binary="$out/$NAME"
debug="$out/${NAME}_${version}_${arch}.debug"
# `perf report --symfs` / gdb find the symbols through the debuglink.
objcopy --only-keep-debug --compress-debug-sections "$built" "$debug"
objcopy --strip-all --remove-section=.comment --remove-section=.note --add-gnu-debuglink="$debug" "$built" "$binary.new"
mv -f "$binary.new" "$binary"
printed=$("$binary" --version)
[ "$printed" = "$version" ] || { echo "build-deb.sh: the binary says --version $printed, RelayVersion.swift says $version" >&2; exit 1; }
if [ "$binary_only" = yes ]; then
    echo "$binary"
    exit 0
fi

# --- the package tree ---------------------------------------------------------------------------
root=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
pkg="$root/pkg"
doc="$pkg/usr/share/doc/$NAME"
install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/lib/systemd/system" "$pkg/usr/lib/sysusers.d" \
    "$pkg/usr/lib/tmpfiles.d" "$pkg/etc/$NAME" "$doc" "$pkg/usr/share/lintian/overrides" "$pkg/usr/share/man/man1"
install -m 0755 "$binary" "$pkg/usr/bin/$NAME"
# The repo's units name /usr/local/bin (deploy/install.sh's default prefix); the package's /usr.
for unit in "$NAME.service" "$NAME.socket" "$NAME-http.socket"; do
    sed -e "s|/usr/local/bin/$NAME|/usr/bin/$NAME|g" \
        -e "s|^# Installed by deploy/install.sh to /usr/local/lib/systemd/system/.|# Installed by the $NAME Debian package to /usr/lib/systemd/system/.|" \
        "$repo/deploy/$unit" > "$pkg/usr/lib/systemd/system/$unit"
    chmod 0644 "$pkg/usr/lib/systemd/system/$unit"
done
if grep -q /usr/local "$pkg/usr/lib/systemd/system/$NAME.service"; then
    echo "build-deb.sh: the packaged service still names /usr/local:" >&2
    grep -n /usr/local "$pkg/usr/lib/systemd/system/$NAME.service" >&2
    exit 1
fi
install -m 0644 "$repo/deploy/sysusers.d/$NAME.conf" "$pkg/usr/lib/sysusers.d/$NAME.conf"
install -m 0644 "$repo/deploy/tmpfiles.d/$NAME.conf" "$pkg/usr/lib/tmpfiles.d/$NAME.conf"
install -m 0644 "$repo/config/relay.conf" "$pkg/etc/$NAME/relay.conf"
install -m 0644 "$repo/deploy/debian/lintian-overrides" "$pkg/usr/share/lintian/overrides/$NAME"

# Docs: copyright, the Debian changelog (a native package: changelog.gz), the project's own
# changelog and README, compressed as Debian policy asks (gzip -n: no timestamp in the file).
install -m 0644 "$repo/deploy/debian/copyright" "$doc/copyright"
date_r=$(cd "$repo" && git log -1 --format=%cD 2>/dev/null || date -R)
maintainer="millimetric-relay maintainers <maintainers@users.noreply.r-seed-dbd2240d.example>"
{
    printf '%s (%s) unstable; urgency=medium\n\n' "$NAME" "$version"
    printf '  * Release %s. What changed is in CHANGELOG.md.gz next to this file.\n\n' "$version"
    printf ' -- %s  %s\n' "$maintainer" "$date_r"
} | gzip -9n > "$doc/changelog.gz"
gzip -9n < "$repo/CHANGELOG.md" > "$doc/CHANGELOG.md.gz"
gzip -9n < "$repo/README.md" > "$doc/README.md.gz"
chmod 0644 "$doc"/*
gzip -9n < "$repo/deploy/debian/$NAME.1" > "$pkg/usr/share/man/man1/$NAME.1.gz"
chmod 0644 "$pkg/usr/share/man/man1/$NAME.1.gz"

# --- control files ---------------------------------------------------------------------------------
# dpkg-shlibdeps wants a debian/control to read; a minimal one in a scratch directory will do.
mkdir -p "$root/src/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$NAME" "$NAME" > "$root/src/debian/control"
shlibs=$(cd "$root/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/$NAME" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
# The maintainer scripts run systemd-sysusers, systemd-tmpfiles and deb-systemd-helper/-invoke.
depends="$shlibs, systemd | systemd-standalone-sysusers | systemd-sysusers, systemd | systemd-standalone-tmpfiles | systemd-tmpfiles, init-system-helpers (>= 1.54~)"
installed_size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<EOF
Package: $NAME
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: ca-certificates
Section: net
Priority: optional
Description: durable on-disk relay for Millimetric analytics events
 Local programs write analytics events as newline-delimited JSON to a Unix
 socket (/run/millimetric-relay/ingest.sock, group millimetric-producers).
 The relay validates each line, commits it to a SQLite outbox and only then
 acknowledges it; a drainer delivers the outbox to the Millimetric API in
 batches, with rate limiting, retries and idempotent event ids. Upstream
 outages, crashes, reboots and upgrades lose nothing that was acknowledged.
 .
 The service starts only once the API key is in /etc/millimetric-relay/key.
 Purging the package deletes the outbox in /var/lib/millimetric-relay:
 events still queued there are lost.
EOF
printf '/etc/%s/relay.conf\n' "$NAME" > "$pkg/DEBIAN/conffiles"
install -m 0755 "$repo/deploy/debian/postinst" "$repo/deploy/debian/prerm" "$repo/deploy/debian/postrm" "$pkg/DEBIAN/"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles" "$pkg/DEBIAN/md5sums"

# Reproducible: every file dated like the last commit.
epoch=$(cd "$repo" && git log -1 --format=%ct 2>/dev/null || date +%s)
find "$pkg" -exec touch -h -d "@$epoch" {} +

deb="$out/${NAME}_${version}_${arch}.deb"
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
