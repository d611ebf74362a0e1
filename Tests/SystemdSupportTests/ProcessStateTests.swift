import Testing

/// Parent of every suite that changes environment variables (`NOTIFY_SOCKET`, `WATCHDOG_*`,
/// `LISTEN_*`) or spawns processes with them: libsystemd reads these process-global variables,
/// so the tests must not run concurrently with each other. `.serialized` applies to all
/// nested suites.
@Suite(.serialized)
enum ProcessStateTests {}
