import CSystemd

/// The service watchdog systemd armed for this process (`WatchdogSec=` in the unit), read with
/// `sd_watchdog_enabled(3)` from `WATCHDOG_USEC` and `WATCHDOG_PID`.
///
/// If the daemon does not send `WATCHDOG=1` within ``interval``, systemd treats it as hung and
/// restarts it (`Restart=on-failure`). `sd_watchdog_enabled(3)` recommends pinging every half
/// of the interval, so that one late tick does not cost a restart: that is ``pingInterval``.
/// The relay only pings while ingest and delivery both make progress (SPEC §8), so a loop that
/// stopped turning is restarted rather than left accepting events it never delivers.
public struct WatchdogConfiguration: Sendable, Hashable {
    /// How long systemd waits for a `WATCHDOG=1` before it declares the service hung.
    public let interval: Duration

    public init(interval: Duration) {
        self.interval = interval
    }

    /// How often to send `WATCHDOG=1`: half of ``interval``, as `sd_watchdog_enabled(3)` advises.
    public var pingInterval: Duration {
        interval / 2
    }

    /// The watchdog systemd configured for this process, or `nil` when there is none:
    /// `WATCHDOG_USEC` is unset (no `WatchdogSec=`, or not run by systemd), or `WATCHDOG_PID`
    /// names another process (the variables leaked from a parent).
    ///
    /// - Parameter unsetEnvironment: remove `WATCHDOG_USEC` and `WATCHDOG_PID` afterwards, so
    ///   that child processes do not believe they are watched. The relay starts no children, so
    ///   the default keeps them (and repeated calls keep giving the same answer).
    /// - Throws: ``SystemdError/Code-swift.struct/invalidWatchdogEnvironment`` when the variables
    ///   are set but malformed (not a positive number of microseconds, or not a PID).
    public static func fromEnvironment(unsetEnvironment: Bool = false) throws(SystemdError) -> WatchdogConfiguration? {
        // Read before the call: with unsetEnvironment the variables are gone afterwards.
        let described = "WATCHDOG_USEC=\(getenvString("WATCHDOG_USEC")) WATCHDOG_PID=\(getenvString("WATCHDOG_PID"))"
        var microseconds: UInt64 = 0
        let result = sd_watchdog_enabled(unsetEnvironment ? 1 : 0, &microseconds)
        if result < 0 {
            throw SystemdError(
                code: .invalidWatchdogEnvironment,
                errno: -result,
                message: "systemd watchdog settings are malformed: \(described)"
            )
        }
        guard result > 0 else { return nil }
        // libsystemd rejects 0 and UINT64_MAX ("infinity"); clamp the rest to Duration's range.
        let clamped = Int64(clamping: microseconds)
        return WatchdogConfiguration(interval: .microseconds(clamped))
    }
}
