import Logging
import SystemdSupport

/// Socket activation (SPEC §8): when systemd passes a listening socket (`LISTEN_FDS`), the
/// relay serves it and never unlinks it, so producers can connect even while it restarts.
enum SocketActivation {
    /// The inherited listening socket, or nil when the relay should bind its own.
    static func inheritedListener(logger: Logger) throws -> Int32? {
        let descriptors: [Int32]
        do {
            descriptors = try ListenFDs.take()
        } catch {
            throw RelayExit(.configuration, "socket activation: \(error)")
        }
        guard let first = descriptors.first else { return nil }
        if descriptors.count > 1 {
            logger.warning("systemd passed more than one socket; serving the first", metadata: ["systemd.listen_fds": "\(descriptors.count)"])
        }
        do {
            try ListenFDs.requireListeningUnixStreamSocket(first)
        } catch {
            throw RelayExit(.configuration, "socket activation: \(error); the socket unit must use ListenStream= with a path")
        }
        return first
    }
}
