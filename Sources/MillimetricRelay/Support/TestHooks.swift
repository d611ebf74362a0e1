import FoundationEssentials

/// Switches the integration tests use to provoke what cannot be provoked from outside the
/// process: a wedged drainer (for the watchdog), a full disk without mounting one, and a stop
/// held open long enough to send requests into it.
///
/// They exist only in builds compiled with `MILLIMETRIC_RELAY_TEST_HOOKS`, which Package.swift
/// defines for the debug configuration (what `swift test` runs). A release binary carries
/// neither the code nor the variable names, and refuses the variables as it refuses any other
/// unknown `MILLIMETRIC_RELAY_*` name (exit 78).
enum TestHooks {
    #if MILLIMETRIC_RELAY_TEST_HOOKS
    /// Seconds after start at which the drainer thread stops turning, as a wedged one would.
    static let stallDrainerAfterVariable = "MILLIMETRIC_RELAY_TEST_STALL_DRAINER_AFTER"
    /// A `max_page_count` for the outbox, so that SQLite answers SQLITE_FULL as on a full disk.
    static let maxPageCountVariable = "MILLIMETRIC_RELAY_TEST_MAX_PAGE_COUNT"

    /// Seconds the HTTP listener stays open after a stop began and it stopped accepting, so a
    /// test can send requests into that window (they must be refused `shutting_down`).
    static let holdHTTPStopVariable = "MILLIMETRIC_RELAY_TEST_HOLD_HTTP_STOP"

    /// The `MILLIMETRIC_RELAY_*` names that are hooks rather than configuration keys.
    static let environmentVariables: Set<String> = [stallDrainerAfterVariable, maxPageCountVariable, holdHTTPStopVariable]

    static var holdHTTPStop: Double? {
        ProcessInfo.processInfo.environment[holdHTTPStopVariable].flatMap(Double.init)
    }

    static var stallDrainerAfter: Double? {
        ProcessInfo.processInfo.environment[stallDrainerAfterVariable].flatMap(Double.init)
    }

    static var maxPageCount: Int? {
        ProcessInfo.processInfo.environment[maxPageCountVariable].flatMap { Int($0) }
    }
    #else
    /// None: this build has no test hooks.
    static let environmentVariables: Set<String> = []
    #endif
}
