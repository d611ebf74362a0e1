import NIOCore

/// Checks that `--host` is a loopback address.
///
/// The stand-in accepts any key and has unauthenticated admin endpoints that rewrite its
/// behaviour, so it must never listen where another machine can reach it.
enum LoopbackHost {
    /// The numeric address to bind for `host`, or nil when `host` is not loopback.
    static func bindAddress(for host: String) -> SocketAddress? {
        let numeric = host == "localhost" ? "127.0.0.1" : host
        guard let address = try? SocketAddress(ipAddress: numeric, port: 0) else { return nil }
        switch address {
        case .v4:
            return address.ipAddress?.hasPrefix("127.") == true ? address : nil
        case .v6:
            return address.ipAddress == "::1" ? address : nil
        case .unixDomainSocket:
            return nil
        }
    }
}
