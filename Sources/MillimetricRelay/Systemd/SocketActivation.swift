import Logging
import SystemdSupport

/// Socket activation (SPEC §8): when systemd passes listening sockets (`LISTEN_FDS`), the relay
/// serves them and never unlinks them, so clients can connect even while it restarts.
///
/// Two sockets can come from systemd, told apart by `LISTEN_FDNAMES` (`FileDescriptorName=`):
/// `ingest` (millimetric-relay.socket, the Unix socket of the line protocol) and `http`
/// (millimetric-relay-http.socket, optional, the API's own HTTP, SPEC §4b). A single socket
/// without one of these names is the ingest socket, as before names were used.
enum SocketActivation {
    /// `FileDescriptorName=` of the ingest socket unit.
    static let ingestName = "ingest"
    /// `FileDescriptorName=` of the HTTP socket unit.
    static let httpName = "http"

    /// Which inherited descriptor serves what.
    struct Listeners: Equatable {
        var ingest: Int32?
        var http: Int32?
        /// Passed but not used (a second unnamed socket, a name the relay does not know).
        var ignored: [ListenFDs.NamedDescriptor] = []
    }

    /// Sorts the inherited descriptors by name: the first `ingest` and the first `http` are
    /// taken; without an `ingest`, the first descriptor not named `http` is the ingest socket
    /// (an unnamed one, or one named after its unit, as systemd names them by default).
    static func assign(_ descriptors: [ListenFDs.NamedDescriptor]) -> Listeners {
        var listeners = Listeners()
        listeners.http = descriptors.first { $0.name == httpName }?.descriptor
        listeners.ingest = (descriptors.first { $0.name == ingestName } ?? descriptors.first { $0.name != httpName })?.descriptor
        listeners.ignored = descriptors.filter { $0.descriptor != listeners.ingest && $0.descriptor != listeners.http }
        return listeners
    }

    /// The inherited listening sockets, checked: the ingest one must be a listening Unix stream
    /// socket, the HTTP one a listening stream socket (TCP or Unix). Both nil without systemd.
    static func inheritedListeners(logger: Logger) throws -> Listeners {
        let descriptors: [ListenFDs.NamedDescriptor]
        do {
            descriptors = try ListenFDs.takeWithNames()
        } catch {
            throw RelayExit(.configuration, "socket activation: \(error)")
        }
        let listeners = assign(descriptors)
        for extra in listeners.ignored {
            logger.warning(
                "systemd passed a socket the relay does not use; name it \(ingestName) or \(httpName) (FileDescriptorName=)",
                metadata: ["systemd.fd": "\(extra.descriptor)", "systemd.fd_name": "\(extra.name)"])
        }
        if let ingest = listeners.ingest {
            do {
                try ListenFDs.requireListeningUnixStreamSocket(ingest)
            } catch {
                throw RelayExit(.configuration, "socket activation: \(error); the ingest socket unit must use ListenStream= with a path")
            }
        }
        if let http = listeners.http {
            do {
                try ListenFDs.requireListeningStreamSocket(http)
            } catch {
                throw RelayExit(.configuration, "socket activation: \(error); the HTTP socket unit must use ListenStream= with an address or a path")
            }
        }
        return listeners
    }
}
