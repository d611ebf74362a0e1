import FoundationEssentials
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs the daemon's sockets on one NIO event loop instead of one per core (issue #11: the
/// relay's memory at most syslog-ng's).
///
/// Each event loop is a thread with its own selector, its own task queue (NIO reserves room for
/// thousands of tasks up front) and, in glibc, its own share of the heap. One loop serves the
/// relay's producers: the ingest path's work per line is small next to the fsync'd commit it
/// waits for, which runs on the outbox writer's thread anyway. Measured on the packaged binary
/// under the peer load (4 × 50,000 events): peak 0.5–0.9 MB lower, ingest not lower (README,
/// "Footprint"). A host whose producers need more than one core for ingest can set
/// `NIO_SINGLETON_GROUP_LOOP_COUNT=N` in the service's environment: the daemon then leaves
/// NIO's own reading of it alone.
enum EventLoopCount {
    /// The daemon's loop count when the environment names none.
    static let daemonCount = 1

    /// NIO's environment variable for the singleton group's size.
    static let environmentVariable = "NIO_SINGLETON_GROUP_LOOP_COUNT"

    /// Sets NIO's suggestion to `count` unless the environment sets it. Call it once, before
    /// the first use of `MultiThreadedEventLoopGroup.singleton`: NIO stops the process if the
    /// suggestion changes after that, or twice. True when the suggestion was set.
    @discardableResult
    static func limit(to count: Int = daemonCount) -> Bool {
        if getenv(environmentVariable) != nil { return false }
        NIOSingletons.groupLoopCountSuggestion = count
        return true
    }
}
