/// Where the HTTP listener (`http_listen`) binds: a TCP `host:port` or a Unix socket path.
///
/// A Unix socket lets a local reverse proxy or a container sidecar reach the relay with file
/// permissions instead of a port anyone on the host can open.
public enum HTTPListenAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses `127.0.0.1:8787`, `[::1]:8787` or `unix:/run/millimetric-relay/http.sock`.
    public init?(_ text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/"), path.utf8.count < 108 else { return nil }
            self = .unix(path: path)
        } else {
            guard let (host, port) = ValueParsing.hostPort(text), !host.isEmpty else { return nil }
            self = .tcp(host: host, port: port)
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
