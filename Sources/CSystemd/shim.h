#ifndef CSYSTEMD_SHIM_H
#define CSYSTEMD_SHIM_H

// libsystemd's daemon API (sd_notify, sd_watchdog_enabled, sd_listen_fds, sd_is_socket_unix)
// and the journal's native protocol (sd_journal_sendv).
//
// Only the non-variadic entry points are used from Swift: `sd_notifyf`, `sd_journal_print` and
// `sd_journal_send` are printf-style, and Swift refuses variadic C functions ("Variadic function
// is unavailable"). So SystemdSupport formats the state string itself and calls `sd_notify`,
// and builds the journal's `FIELD=value` entries itself and calls `sd_journal_sendv` with an
// array of `struct iovec`. Everything used here takes plain ints, C strings and iovecs, so no
// `static inline` wrappers are needed (yet). `SD_LISTEN_FDS_START` is a plain integer macro and
// is imported by Swift as an `Int32`.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#endif
