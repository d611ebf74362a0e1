import CSystemd
import Glibc

/// The file descriptors systemd passed to this process by socket activation (`LISTEN_FDS`),
/// read with `sd_listen_fds(3)`.
///
/// With `millimetric-relay.socket` systemd owns the ingest socket: it creates it before the
/// daemon starts and keeps it open across restarts, so producers can connect (their lines wait
/// in the backlog) even while the daemon is restarting or upgrading. The daemon then serves the
/// inherited descriptor instead of binding a path itself, and must never unlink it.
///
/// Both functions *take* the descriptors: they unset `LISTEN_PID`, `LISTEN_FDS` and
/// `LISTEN_FDNAMES` (`unset_environment = 1`), so a child process can never mistake them for its
/// own, and they mark the descriptors close-on-exec. Call one of them once, early at start-up;
/// a second call returns `[]`. Check each descriptor with
/// ``isListeningUnixStreamSocket(_:path:)`` or ``requireListeningUnixStreamSocket(_:path:)``
/// before use, so that a unit that passes the wrong kind of socket is refused with a clear
/// message instead of failing later in `accept`.
public enum ListenFDs {
    /// The first inherited descriptor (`SD_LISTEN_FDS_START`, always 3); the others follow it.
    public static let firstDescriptor: Int32 = SD_LISTEN_FDS_START

    /// The inherited descriptors, `[3, 4, …]`, or `[]` when there are none for this process
    /// (no `LISTEN_FDS`, or `LISTEN_PID` names another process).
    ///
    /// - Throws: ``SystemdError/Code-swift.struct/invalidListenEnvironment`` when the variables
    ///   are set for this process but malformed.
    public static func take() throws(SystemdError) -> [Int32] {
        let described = describeEnvironment()
        let count = sd_listen_fds(1)
        if count < 0 {
            throw SystemdError(
                code: .invalidListenEnvironment,
                errno: -count,
                message: "socket activation variables are malformed: \(described)"
            )
        }
        return (0..<count).map { firstDescriptor + $0 }
    }

    /// The inherited descriptors with their names (`FileDescriptorName=` in the socket unit, by
    /// default the socket unit's name; `"unknown"` when systemd passed no names).
    ///
    /// - Throws: ``SystemdError/Code-swift.struct/invalidListenEnvironment`` when the variables
    ///   are malformed, or `LISTEN_FDNAMES` does not have one name per descriptor.
    public static func takeWithNames() throws(SystemdError) -> [NamedDescriptor] {
        let described = describeEnvironment()
        // libsystemd allocates a NULL-terminated array of malloc'd strings (a strv) and hands
        // ownership to us; it is only set when the call returns > 0, and is freed below on
        // every path, element by element and then the array itself.
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let count = sd_listen_fds_with_names(1, &names)
        defer {
            if let names {
                var index = 0
                while let element = names[index] {
                    free(element)
                    index += 1
                }
                free(names)
            }
        }
        if count < 0 {
            throw SystemdError(
                code: .invalidListenEnvironment,
                errno: -count,
                message: "socket activation variables are malformed or disagree: \(described)"
            )
        }
        return (0..<count).map { offset in
            let name = names?[Int(offset)].map { String(cString: $0) } ?? "unknown"
            return NamedDescriptor(descriptor: firstDescriptor + offset, name: name)
        }
    }

    /// The socket-activation variables as they are now, for error messages.
    private static func describeEnvironment() -> String {
        ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
            .map { "\($0)=\(getenvString($0))" }
            .joined(separator: " ")
    }
}
