#ifndef CSYSTEMD_SHIM_H
#define CSYSTEMD_SHIM_H

// libsystemd's daemon API (sd_notify, sd_watchdog_enabled, sd_listen_fds, sd_is_socket_unix).
//
// Only the non-variadic entry points are used from Swift: `sd_notifyf` and friends are
// printf-style and Swift refuses variadic C functions ("Variadic function is unavailable"),
// so SystemdSupport formats the state string itself and calls `sd_notify`. Everything used
// here takes plain ints and C strings, so no `static inline` wrappers are needed (yet).
// `SD_LISTEN_FDS_START` is a plain integer macro and is imported by Swift as an `Int32`.
#include <systemd/sd-daemon.h>

#endif
