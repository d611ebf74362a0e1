import CSystemd
import Glibc

/// Sends service state notifications (`READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`,
/// `RELOADING=1`) to the service manager through `sd_notify(3)`.
///
/// A `Type=notify` unit is only "started" once the daemon says `READY=1`, so dependants and
/// `systemctl start` wait until the outbox is open and the socket accepts (SPEC §8). With
/// `WatchdogSec=` set, systemd kills and restarts the service unless `WATCHDOG=1` keeps
/// arriving, which turns a wedged loop into a restart instead of a silent stall.
///
/// The notifier holds no state: libsystemd reads `NOTIFY_SOCKET` on every call and opens a
/// fresh datagram socket for it, so a value can be copied into any task or thread (`Sendable`).
/// The environment is never unset (`sd_notify(0, …)`), because the daemon notifies many times
/// over its life. Outside systemd (`NOTIFY_SOCKET` absent) every send is a cheap no-op that
/// returns `false`, so callers need no "am I under systemd?" branches.
///
/// `sd_notify` is a blocking `sendmsg` on a local datagram socket. It normally returns at once,
/// but a stalled service manager can make it wait for buffer space; send from a task or thread
/// that may block briefly, not from a NIO event loop.
public struct SystemdNotifier: Sendable {
    /// The environment variable systemd sets to the path of its notification socket.
    public static let socketEnvironmentVariable = "NOTIFY_SOCKET"

    public init() {}

    /// Whether a service manager is listening for notifications (`NOTIFY_SOCKET` is set).
    ///
    /// Useful for logging and for skipping work (such as building a `STATUS=` line) whose only
    /// consumer is systemd. Sending works without checking it first.
    public var isEnabled: Bool {
        getenv(Self.socketEnvironmentVariable) != nil
    }

    /// Sends several states in one datagram, in the given order.
    ///
    /// Sending `[.ready, .status("…")]` together makes the status visible in the same instant the
    /// unit becomes active. `.reloading` adds `MONOTONIC_USEC=` (the current `CLOCK_MONOTONIC`
    /// time in microseconds), which systemd requires alongside `RELOADING=1`.
    ///
    /// - Returns: `true` if the message was delivered, `false` if there is no service manager to
    ///   deliver it to (`NOTIFY_SOCKET` unset) or `states` is empty.
    /// - Throws: ``SystemdError/Code-swift.struct/notifyFailed`` if `NOTIFY_SOCKET` is set but the
    ///   message could not be sent. Callers usually log this and carry on: a lost `STATUS=` is
    ///   harmless, and a lost `WATCHDOG=1` is retried at the next ping.
    @discardableResult
    public func send(_ states: [State]) throws(SystemdError) -> Bool {
        guard !states.isEmpty else { return false }
        let message = State.message(for: states, monotonicMicroseconds: Self.monotonicMicroseconds())
        let result = sd_notify(0, message)
        if result < 0 {
            throw SystemdError(
                code: .notifyFailed,
                errno: -result,
                message:
                    "could not notify systemd through NOTIFY_SOCKET=\(getenvString(Self.socketEnvironmentVariable))"
            )
        }
        return result > 0
    }

    /// `READY=1`, optionally with a `STATUS=` line: start-up has finished.
    @discardableResult
    public func notifyReady(status: String? = nil) throws(SystemdError) -> Bool {
        try send([.ready] + (status.map { [.status($0)] } ?? []))
    }

    /// `STATUS=…`: a one-line, human-readable state shown by `systemctl status`.
    @discardableResult
    public func notifyStatus(_ status: String) throws(SystemdError) -> Bool {
        try send([.status(status)])
    }

    /// `WATCHDOG=1`: the service is alive; send it every ``WatchdogConfiguration/pingInterval``.
    @discardableResult
    public func notifyWatchdog() throws(SystemdError) -> Bool {
        try send([.watchdog])
    }

    /// `STOPPING=1`, optionally with a `STATUS=` line: shutdown has begun (SIGTERM received).
    @discardableResult
    public func notifyStopping(status: String? = nil) throws(SystemdError) -> Bool {
        try send([.stopping] + (status.map { [.status($0)] } ?? []))
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=…`: a reload (SIGHUP) has begun. Follow it with
    /// ``notifyReady(status:)`` once the new configuration is in effect.
    @discardableResult
    public func notifyReloading(status: String? = nil) throws(SystemdError) -> Bool {
        try send([.reloading] + (status.map { [.status($0)] } ?? []))
    }

    /// The current `CLOCK_MONOTONIC` time in microseconds, as systemd expects in `MONOTONIC_USEC=`.
    public static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        // CLOCK_MONOTONIC cannot fail on Linux with a valid pointer.
        _ = clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}

/// The value of an environment variable, or `"(unset)"`, for error messages.
func getenvString(_ name: String) -> String {
    getenv(name).map { String(cString: $0) } ?? "(unset)"
}
