import CSystemd
import Glibc

extension ListenFDs {
    /// Whether `descriptor` is a listening Unix stream socket (optionally bound to `path`),
    /// checked with `sd_is_socket_unix(3)`.
    ///
    /// - Parameter path: when given, the socket must also be bound to exactly this filesystem
    ///   path (abstract sockets are not supported here).
    /// - Returns: `false` for anything else, including a closed descriptor.
    public static func isListeningUnixStreamSocket(_ descriptor: Int32, path: String? = nil) -> Bool {
        guard descriptor >= 0 else { return false }
        let result: Int32
        if let path {
            result = sd_is_socket_unix(descriptor, Int32(SOCK_STREAM.rawValue), 1, path, 0)
        } else {
            result = sd_is_socket_unix(descriptor, Int32(SOCK_STREAM.rawValue), 1, nil, 0)
        }
        return result > 0
    }

    /// Throws unless `descriptor` is a listening Unix stream socket (optionally bound to `path`).
    ///
    /// The error message says what the descriptor actually is ("a Unix datagram socket at …",
    /// "an IPv4 stream socket, listening", "a pipe", "not open"), so a daemon that refuses to
    /// start can tell the operator which line of the socket unit to fix.
    ///
    /// - Throws: ``SystemdError/Code-swift.struct/unexpectedSocket``.
    public static func requireListeningUnixStreamSocket(_ descriptor: Int32, path: String? = nil) throws(SystemdError) {
        if isListeningUnixStreamSocket(descriptor, path: path) { return }
        let wanted = path.map { "a listening Unix stream socket at \($0)" } ?? "a listening Unix stream socket"
        throw SystemdError(
            code: .unexpectedSocket,
            message: "inherited file descriptor \(descriptor) is \(describe(descriptor)), not \(wanted)"
                + " (check ListenStream= in the socket unit)"
        )
    }

    /// Whether `descriptor` is a listening stream socket of any family (IPv4, IPv6 or Unix),
    /// checked with `sd_is_socket(3)`: what an HTTP listener can serve.
    public static func isListeningStreamSocket(_ descriptor: Int32) -> Bool {
        guard descriptor >= 0 else { return false }
        return sd_is_socket(descriptor, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0
    }

    /// Throws unless `descriptor` is a listening stream socket (TCP or Unix); the message says
    /// what it is instead, as ``requireListeningUnixStreamSocket(_:path:)`` does.
    ///
    /// - Throws: ``SystemdError/Code-swift.struct/unexpectedSocket``.
    public static func requireListeningStreamSocket(_ descriptor: Int32) throws(SystemdError) {
        if isListeningStreamSocket(descriptor) { return }
        throw SystemdError(
            code: .unexpectedSocket,
            message: "inherited file descriptor \(descriptor) is \(describe(descriptor)), not a listening stream socket"
                + " (check ListenStream= in the socket unit)"
        )
    }

    /// The filesystem path a Unix socket is bound to, `@name` for an abstract socket, or `nil`
    /// for an unbound socket, a socket of another family, or something that is not a socket.
    public static func unixSocketPath(of descriptor: Int32) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let status = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard status == 0, address.sun_family == sa_family_t(AF_UNIX) else { return nil }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let pathLength = Int(length) - pathOffset
        guard pathLength > 0 else { return nil }
        return withUnsafeBytes(of: &address.sun_path) { raw in
            let bytes = raw.prefix(min(pathLength, raw.count))
            if bytes.first == 0 {
                // Abstract namespace: the name is every byte after the leading NUL.
                return "@" + String(decoding: bytes.dropFirst(), as: UTF8.self)
            }
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// A short description of what `descriptor` refers to, for error messages.
    static func describe(_ descriptor: Int32) -> String {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            return "not open (\(SystemdError.errnoDescription(errno)))"
        }
        switch status.st_mode & S_IFMT {
        case S_IFSOCK:
            break
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a pipe or FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFLNK: return "a symbolic link"
        default: return "not a socket"
        }

        let family: String
        switch socketOption(descriptor, SO_DOMAIN) {
        case AF_UNIX: family = "Unix"
        case AF_INET: family = "IPv4"
        case AF_INET6: family = "IPv6"
        case AF_NETLINK: family = "netlink"
        case let other?: family = "family \(other)"
        case nil: family = "unknown-family"
        }
        let type: String
        switch socketOption(descriptor, SO_TYPE) {
        case Int32(SOCK_STREAM.rawValue): type = "stream"
        case Int32(SOCK_DGRAM.rawValue): type = "datagram"
        case Int32(SOCK_SEQPACKET.rawValue): type = "seqpacket"
        case Int32(SOCK_RAW.rawValue): type = "raw"
        case let other?: type = "type-\(other)"
        case nil: type = "unknown-type"
        }
        var text = (family == "IPv4" || family == "IPv6" ? "an " : "a ") + "\(family) \(type) socket"
        if family == "Unix", let path = unixSocketPath(of: descriptor) {
            text += " at \(path)"
        }
        if type == "stream" || type == "seqpacket" {
            text += socketOption(descriptor, SO_ACCEPTCONN) == 1 ? ", listening" : ", not listening"
        }
        return text
    }

    /// An integer `SOL_SOCKET` option, or `nil` if it cannot be read.
    private static func socketOption(_ descriptor: Int32, _ option: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, option, &value, &length) == 0 else { return nil }
        return value
    }
}
