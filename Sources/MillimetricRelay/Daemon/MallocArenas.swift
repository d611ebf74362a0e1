import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Caps how many malloc arenas glibc gives the daemon's threads (issue #11: the relay's memory
/// at most syslog-ng's).
///
/// glibc gives each new thread that allocates an arena of its own, up to eight per core: the
/// relay's event loops, its outbox writer, its drainer and libcurl's threads each grow and keep
/// their own heap, whose free space no other thread can reuse. Two arenas are enough for a
/// daemon whose work runs on a handful of threads, and what the threads free is reused by the
/// others instead of staying resident per thread. Measured on the packaged binary under the
/// peer load (`Benchmarks/compare-with-syslog-ng.sh`, 4 × 50,000 events), alternating with
/// the uncapped binary in the same minutes: peak 25.8 → 25.0 MB (means of 8 and 5 runs),
/// ingest rate within the noise (README, "Footprint").
///
/// An operator's own `GLIBC_TUNABLES=glibc.malloc.arena_max=N` wins: the cap is not applied
/// then. `mallopt` is looked up with `dlsym`, since Swift's Glibc module leaves out `malloc.h`.
enum MallocArenas {
    /// The daemon's cap.
    static let daemonLimit: Int32 = 2

    /// glibc's `M_ARENA_MAX` (`malloc.h`).
    static let arenaMaxParameter: Int32 = -8

    /// Whether the environment already sets glibc's arena cap (`GLIBC_TUNABLES`, a
    /// colon-separated list of `name=value`).
    static func tunablesSetArenaMax(_ tunables: String?) -> Bool {
        guard let tunables else { return false }
        return tunables.split(separator: ":").contains { $0.hasPrefix("glibc.malloc.arena_max=") }
    }

    /// Caps the arenas at `limit`, unless `GLIBC_TUNABLES` sets the cap. Call it before the
    /// daemon starts its threads: glibc fixes its own cap once a process has more than eight
    /// arenas, and arenas already made stay. True when the cap was applied.
    @discardableResult
    static func limit(to limit: Int32 = daemonLimit) -> Bool {
        #if os(Linux)
        if tunablesSetArenaMax(getenv("GLIBC_TUNABLES").map { String(cString: $0) }) { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        return unsafeBitCast(symbol, to: Mallopt.self)(arenaMaxParameter, limit) == 1
        #else
        return false
        #endif
    }
}
