#!/bin/sh
# Install millimetric-relay: the binary, the systemd units, the sysusers.d and tmpfiles.d
# entries and (if none exists yet) the example configuration.
#
# Usage:
#   deploy/install.sh [--binary PATH] [--build] [--enable]
#
#   --binary PATH  install this executable (e.g. .build/release/millimetric-relay)
#   --build        run `swift build -c release` first and install its output
#                  (default when --binary is not given and .build/release has no binary)
#   --enable       also `systemctl enable --now` the socket and the service (needs systemd
#                  running and the key in /etc/millimetric-relay/key)
#
# Environment:
#   DESTDIR   stage everything under this directory instead of / (for packaging and tests);
#             nothing is activated (no users created, no systemctl) when it is set.
#   PREFIX    where the binary and the vendor files go (default /usr/local): PREFIX/bin,
#             PREFIX/lib/systemd/system, PREFIX/lib/sysusers.d, PREFIX/lib/tmpfiles.d.
#             With /usr/local or /usr these are all in systemd's search paths; /etc stays free for
#             the admin's own overrides (`systemctl edit millimetric-relay.service`).
#   SWIFT_BUILD_FLAGS  extra flags for `swift build` with --build (e.g. --scratch-path DIR).
#
# Installing over a running daemon is safe: the binary is replaced by an atomic rename, and the
# running process keeps its old image until `systemctl restart millimetric-relay.service`
# (producers keep connecting meanwhile; the socket is held by systemd).
set -eu

NAME=millimetric-relay
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
repo=$(CDPATH= cd -- "$here/.." && pwd)

binary=
build=no
enable=no
while [ $# -gt 0 ]; do
    case $1 in
        --binary) [ $# -ge 2 ] || { echo "install.sh: --binary needs a path" >&2; exit 64; }
                  binary=$2; shift 2 ;;
        --binary=*) binary=${1#--binary=}; shift ;;
        --build) build=yes; shift ;;
        --enable) enable=yes; shift ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 64 ;;
    esac
done

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    die "installing into / needs root (or set DESTDIR=/some/dir to stage the files)"
fi

# --- the binary ---------------------------------------------------------------------------
if [ -z "$binary" ] && [ "$build" = no ] && [ ! -x "$repo/.build/release/$NAME" ]; then
    build=yes
fi
if [ "$build" = yes ]; then
    command -v swift >/dev/null 2>&1 || die "swift not found; build elsewhere and pass --binary PATH"
    say "Building $NAME (swift build -c release)..."
    # shellcheck disable=SC2086 # SWIFT_BUILD_FLAGS is a list of flags on purpose
    (cd "$repo" && swift build -c release --product "$NAME" ${SWIFT_BUILD_FLAGS:-})
    # shellcheck disable=SC2086
    binary="$(cd "$repo" && swift build -c release --show-bin-path ${SWIFT_BUILD_FLAGS:-})/$NAME"
fi
[ -n "$binary" ] || binary="$repo/.build/release/$NAME"
[ -f "$binary" ] && [ -x "$binary" ] || die "no executable at $binary (build with --build or pass --binary)"

bindir="$DESTDIR$PREFIX/bin"
unitdir="$DESTDIR$PREFIX/lib/systemd/system"
sysusersdir="$DESTDIR$PREFIX/lib/sysusers.d"
tmpfilesdir="$DESTDIR$PREFIX/lib/tmpfiles.d"
confdir="$DESTDIR/etc/$NAME"

install -d -m 0755 "$bindir" "$unitdir" "$sysusersdir" "$tmpfilesdir"
# Copy next to the target, then rename: atomic, and never "Text file busy" on a running binary.
install -m 0755 "$binary" "$bindir/.$NAME.new"
mv -f "$bindir/.$NAME.new" "$bindir/$NAME"
say "Installed $bindir/$NAME"

# --- units, sysusers.d, tmpfiles.d ----------------------------------------------------------
# The units name /usr/local/bin; follow PREFIX if it is different.
for unit in "$NAME.service" "$NAME.socket" "$NAME-http.socket"; do
    sed "s|/usr/local/bin/$NAME|$PREFIX/bin/$NAME|g" "$here/$unit" > "$unitdir/.$unit.new"
    chmod 0644 "$unitdir/.$unit.new"
    mv -f "$unitdir/.$unit.new" "$unitdir/$unit"
done
install -m 0644 "$here/sysusers.d/$NAME.conf" "$sysusersdir/$NAME.conf"
install -m 0644 "$here/tmpfiles.d/$NAME.conf" "$tmpfilesdir/$NAME.conf"
say "Installed units to $unitdir, sysusers.d and tmpfiles.d entries to $PREFIX/lib"

# --- configuration (never overwritten) ------------------------------------------------------
install -d -m 0755 "$confdir"
example="$repo/config/relay.conf"
if [ -e "$confdir/relay.conf" ]; then
    say "Kept existing $confdir/relay.conf"
elif [ -f "$example" ]; then
    install -m 0644 "$example" "$confdir/relay.conf"
    say "Installed example configuration to $confdir/relay.conf"
else
    say "warning: $example not found; no configuration installed (the daemon's defaults apply)" >&2
fi

key_missing=no
if [ ! -e "$confdir/key" ]; then
    key_missing=yes
fi

# --- activation -----------------------------------------------------------------------------
if [ -n "$DESTDIR" ]; then
    say ""
    say "Staged under DESTDIR=$DESTDIR; nothing was activated. On the target host run:"
    say "  systemd-sysusers $PREFIX/lib/sysusers.d/$NAME.conf"
    say "  systemd-tmpfiles --create $PREFIX/lib/tmpfiles.d/$NAME.conf"
    say "  systemctl daemon-reload"
    exit 0
fi

# sysusers and tmpfiles work without a running systemd: they only edit /etc/passwd, /etc/group
# and create directories.
systemd-sysusers "$sysusersdir/$NAME.conf"
systemd-tmpfiles --create "$tmpfilesdir/$NAME.conf"
say "Created user $NAME, group millimetric-producers and /run/$NAME"

if [ "$key_missing" = yes ]; then
    say ""
    say "The API key is missing. Put your server key (sk_...) in /etc/$NAME/key, readable by root only:"
    say "  install -m 0600 -o root -g root /dev/null /etc/$NAME/key && \${EDITOR:-vi} /etc/$NAME/key"
    say "(systemd passes it to the daemon with LoadCredential=; the service does not start without it)."
fi

# The same test as sd_booted(3): is systemd the running init system?
if [ ! -d /run/systemd/system ]; then
    say ""
    say "systemd is not running as PID 1 here (a container or chroot?), so the units were installed"
    say "but not loaded. On a systemd host run: systemctl daemon-reload &&"
    say "  systemctl enable --now $NAME.socket $NAME.service"
    say "Without systemd, run the daemon in the foreground: $PREFIX/bin/$NAME run --config /etc/$NAME/relay.conf"
    [ "$enable" = no ] || die "--enable needs a running systemd"
    exit 0
fi

systemctl daemon-reload
if [ "$enable" = yes ]; then
    [ "$key_missing" = no ] || die "not enabling: /etc/$NAME/key is missing (see above)"
    systemctl enable --now "$NAME.socket" "$NAME.service"
    say "Enabled and started $NAME.socket and $NAME.service"
elif systemctl is-active --quiet "$NAME.service"; then
    say "$NAME.service is running the previous binary: systemctl restart $NAME.service to switch"
    say "(nothing is lost; producers keep connecting to the socket during the restart)."
else
    say "Next: systemctl enable --now $NAME.socket $NAME.service"
fi
say "Producers join the socket's group: usermod -aG millimetric-producers <user>"
