#!/bin/sh
# Remove what deploy/install.sh installed: the binary, the units, the sysusers.d and tmpfiles.d
# entries. Stops and disables the units first when systemd is running.
#
# Usage:
#   deploy/uninstall.sh
#
# Kept on purpose, and listed at the end:
#   /var/lib/millimetric-relay  the outbox: it may still hold acknowledged events that were never
#                               delivered. Check `millimetric-relay status` before deleting it.
#   /etc/millimetric-relay      configuration and API key.
#   user millimetric-relay, group millimetric-producers (files may still be owned by them).
#
# Environment: DESTDIR and PREFIX as for install.sh.
set -eu

NAME=millimetric-relay
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}

case ${1:-} in
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "uninstall.sh: unknown argument: $1 (see --help)" >&2; exit 64 ;;
esac

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    echo "uninstall.sh: removing from / needs root (or set DESTDIR)" >&2
    exit 1
fi

systemd_running=no
if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    systemd_running=yes
    # The service first, so the daemon drains and closes the database before its socket goes.
    systemctl disable --now "$NAME.service" "$NAME.socket" "$NAME-http.socket" || true
fi

rm -f "$DESTDIR$PREFIX/bin/$NAME" \
      "$DESTDIR$PREFIX/lib/systemd/system/$NAME.service" \
      "$DESTDIR$PREFIX/lib/systemd/system/$NAME.socket" \
      "$DESTDIR$PREFIX/lib/systemd/system/$NAME-http.socket" \
      "$DESTDIR$PREFIX/lib/sysusers.d/$NAME.conf" \
      "$DESTDIR$PREFIX/lib/tmpfiles.d/$NAME.conf"

if [ "$systemd_running" = yes ]; then
    systemctl daemon-reload
fi
# The runtime directory only held the socket; RuntimeDirectoryPreserve=yes kept it.
if [ -z "$DESTDIR" ]; then
    rm -rf "/run/$NAME"
fi

echo "Removed the $NAME binary, units and sysusers/tmpfiles entries."
echo "Kept: /var/lib/$NAME (outbox; may hold undelivered events), /etc/$NAME (config and key),"
echo "      user $NAME and group millimetric-producers. Remove them by hand when no longer needed."
