import Glibc
import Testing

// Helpers for tests that touch process-global state (environment variables, file descriptors).
// Every test that calls them lives under `ProcessStateTests`, which is `.serialized`.

/// Runs `body` with the given environment variables set (or, for `nil`, unset), then restores
/// each one to what it was, even if `body` throws.
func withEnvironment<T>(_ variables: [String: String?], _ body: () throws -> T) rethrows -> T {
    let saved = variables.keys.map { name in (name, getenv(name).map { String(cString: $0) }) }
    defer {
        for (name, value) in saved {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
    }
    for (name, value) in variables {
        if let value { setenv(name, value, 1) } else { unsetenv(name) }
    }
    return try body()
}

/// The current value of an environment variable.
func environmentValue(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// A fresh directory under `/tmp` (short, so socket paths stay under the 108-byte limit),
/// removed with its (flat) contents by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/sdsupport-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = try #require(created.map { String(cString: $0) }, "mkdtemp failed: errno \(errno)")
    }

    func appending(_ name: String) -> String {
        path + "/" + name
    }

    func remove() {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(appending(name)) }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}

/// bind(2) to any `sockaddr_*` structure; `length` for an address shorter than its structure.
func bindSocket<Address>(_ descriptor: Int32, to address: Address, length: socklen_t = socklen_t(MemoryLayout<Address>.size)) -> Int32 {
    withUnsafePointer(to: address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
}

/// A new close-on-exec socket of `domain` and `type`; the caller closes it.
func makeSocket(_ domain: Int32, _ type: __socket_type) throws -> Int32 {
    let descriptor = socket(domain, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    try #require(descriptor >= 0, "socket failed: errno \(errno)")
    return descriptor
}

/// Creates a close-on-exec Unix socket of `type` bound to `path`.
func makeBoundUnixSocket(type: __socket_type, path: String) throws -> Int32 {
    let descriptor = try makeSocket(AF_UNIX, type)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    try #require(bytes.count < MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    let status = bindSocket(descriptor, to: address)
    if status != 0 {
        let error = errno
        close(descriptor)
        Issue.record("bind(\(path)) failed: errno \(error)")
        throw BindFailure()
    }
    return descriptor
}

struct BindFailure: Error {}

/// A listening Unix stream socket at `path`.
func makeListeningUnixSocket(path: String) throws -> Int32 {
    let descriptor = try makeBoundUnixSocket(type: SOCK_STREAM, path: path)
    try #require(listen(descriptor, 16) == 0, "listen failed: errno \(errno)")
    return descriptor
}

/// A Unix datagram socket at `path` that stands in for systemd's `NOTIFY_SOCKET`, with a receive
/// timeout so that a missing notification fails the test instead of hanging it.
struct NotifySocket {
    let descriptor: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        descriptor = try makeBoundUnixSocket(type: SOCK_DGRAM, path: path)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next datagram as text, or `nil` if none arrived within the timeout.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    /// Whether a datagram is waiting right now (without blocking).
    func hasPendingDatagram() -> Bool {
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK)) >= 0
    }

    func close() {
        _ = Glibc.close(descriptor)
        unlink(path)
    }
}
