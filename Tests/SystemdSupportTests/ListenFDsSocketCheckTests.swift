import Glibc
import Testing

@testable import SystemdSupport

/// The socket checks only inspect descriptors this test creates, so they need no serialization.
@Suite
struct ListenFDsSocketCheckTests {
    /// A listening Unix stream socket at `ingest.sock` in a fresh directory, for `body`.
    /// 127.0.0.1, port 0 (any free one).
    private static var loopbackAnyPort: sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        return address
    }

    /// An abstract Unix socket address (a NUL byte, then `name`) and its length.
    private static func abstractUnixAddress(_ name: String) -> (sockaddr_un, socklen_t) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw[0] = 0
            raw.baseAddress!.advanced(by: 1).copyMemory(from: bytes, byteCount: bytes.count)
        }
        return (address, socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + 1 + bytes.count))
    }

    private func withListener(_ body: (_ directory: TemporaryDirectory, _ path: String, _ listener: Int32) throws -> Void) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("ingest.sock")
        let listener = try makeListeningUnixSocket(path: path)
        defer { close(listener) }
        try body(directory, path, listener)
    }

    @Test
    func aListeningUnixStreamSocketPassesWithAndWithoutItsPath() throws {
        try withListener { directory, path, listener in
            #expect(ListenFDs.isListeningUnixStreamSocket(listener))
            #expect(ListenFDs.isListeningUnixStreamSocket(listener, path: path))
            #expect(!ListenFDs.isListeningUnixStreamSocket(listener, path: directory.appending("other.sock")))
            #expect(throws: Never.self) { try ListenFDs.requireListeningUnixStreamSocket(listener, path: path) }
            #expect(ListenFDs.unixSocketPath(of: listener) == path)
        }
    }

    @Test
    func aSocketAtAnotherPathIsRefusedNamingBothPaths() throws {
        try withListener { directory, path, listener in
            let wanted = directory.appending("expected.sock")
            let error = try #require(throws: SystemdError.self) {
                try ListenFDs.requireListeningUnixStreamSocket(listener, path: wanted)
            }
            #expect(error.code == .unexpectedSocket)
            #expect(
                error.message
                    == "inherited file descriptor \(listener) is a Unix stream socket at \(path), listening,"
                    + " not a listening Unix stream socket at \(wanted) (check ListenStream= in the socket unit)"
            )
        }
    }

    /// A bound Unix socket that is not a listening stream socket, and how the refusal names it
    /// (`PATH` stands for the socket's path).
    @Test(arguments: [
        (SOCK_STREAM, "is a Unix stream socket at PATH, not listening, not a listening"),
        (SOCK_DGRAM, "is a Unix datagram socket at PATH, not a listening"),
    ])
    func aBoundUnixSocketThatIsNotAListeningStreamIsRefused(type: __socket_type, described: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("bound.sock")
        let bound = try makeBoundUnixSocket(type: type, path: path)
        defer { close(bound) }

        #expect(!ListenFDs.isListeningUnixStreamSocket(bound))
        let error = try #require(throws: SystemdError.self) { try ListenFDs.requireListeningUnixStreamSocket(bound) }
        #expect(error.message.contains(described.replacing("PATH", with: path)))
    }

    @Test
    func aListeningTcpSocketIsRefusedAsIPv4() throws {
        let tcp = try makeSocket(AF_INET, SOCK_STREAM)
        defer { close(tcp) }
        try #require(bindSocket(tcp, to: Self.loopbackAnyPort) == 0 && listen(tcp, 1) == 0)

        #expect(!ListenFDs.isListeningUnixStreamSocket(tcp))
        #expect(ListenFDs.unixSocketPath(of: tcp) == nil)
        let error = try #require(throws: SystemdError.self) { try ListenFDs.requireListeningUnixStreamSocket(tcp) }
        #expect(error.message.contains("is an IPv4 stream socket, listening, not a listening"))
    }

    @Test
    func aPipeIsRefusedAsAPipe() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { for end in ends { close(end) } }

        #expect(!ListenFDs.isListeningUnixStreamSocket(ends[0]))
        let error = try #require(throws: SystemdError.self) { try ListenFDs.requireListeningUnixStreamSocket(ends[0]) }
        #expect(error.message.hasPrefix("inherited file descriptor \(ends[0]) is a pipe or FIFO, not"))
    }

    @Test
    func aClosedDescriptorIsRefusedAsNotOpen() throws {
        // The highest allowed number: the kernel hands out the lowest free descriptor, so tests
        // running in parallel will not open this one between the check and the call (a number
        // freed by close() could be reused at once).
        var limit = rlimit()
        try #require(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let descriptor = Int32(clamping: limit.rlim_cur) - 1
        try #require(fcntl(descriptor, F_GETFD) == -1, "descriptor \(descriptor) is unexpectedly open")

        #expect(!ListenFDs.isListeningUnixStreamSocket(descriptor))
        #expect(!ListenFDs.isListeningUnixStreamSocket(-1))
        let error = try #require(throws: SystemdError.self) {
            try ListenFDs.requireListeningUnixStreamSocket(descriptor)
        }
        #expect(error.message.contains("is not open (Bad file descriptor (errno \(EBADF))), not a listening"))
    }

    @Test
    func anAbstractUnixSocketPathIsShownWithAnAtSign() throws {
        let descriptor = try makeSocket(AF_UNIX, SOCK_STREAM)
        defer { close(descriptor) }
        let (address, length) = Self.abstractUnixAddress("millimetric-test-\(getpid())")
        try #require(bindSocket(descriptor, to: address, length: length) == 0)

        #expect(ListenFDs.unixSocketPath(of: descriptor) == "@millimetric-test-\(getpid())")
    }
}
