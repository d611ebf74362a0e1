import Foundation

/// Wall-clock time in Unix milliseconds, as the admin log reports it.
///
/// The admin log's `received_ms` and `at_ms` are compared by tests with times taken in other
/// processes (the relay, the test itself), so they use the shared wall clock, not a monotonic one.
enum WallClock {
    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
    }
}
