import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 for the CurlSupport tests.
///
/// It listens on an ephemeral port, serves each connection on its own thread with keep-alive,
/// records every request, and answers as `reply` says: a response, no answer at all (`hang`),
/// or closing the connection. It understands only what libcurl sends for a `POST` with
/// `Content-Length`, which is all the tests need. Nothing listens beyond loopback.
final class TestHTTPServer: Sendable {
    enum Reply: Sendable {
        /// Answer with this status, extra header lines and body, then keep the connection.
        case respond(status: Int, headers: [String] = [], body: [UInt8] = [])
        /// Answer, then close the connection.
        case respondAndClose(status: Int, body: [UInt8] = [])
        /// Never answer; keep reading until the client goes away or the server stops.
        case hang
    }

    struct Request: Sendable {
        var requestLine: String
        var headerLines: [String]
        var body: [UInt8]

        /// The value of the first header called `name` (case-insensitive).
        func header(_ name: String) -> String? {
            for line in headerLines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                if line[..<colon].lowercased() == name.lowercased() {
                    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    private struct State {
        var acceptedConnections = 0
        var requests: [Request] = []
        var openConnections: Set<Int32> = []
        var listening = true
        var stopped = false
    }

    let port: Int
    private let listenFD: Int32
    private let state = Mutex(State())
    private let reply: @Sendable (Request) -> Reply

    init(reply: @escaping @Sendable (Request) -> Reply) throws {
        self.reply = reply
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.listenFD = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    var acceptedConnections: Int { state.withLock { $0.acceptedConnections } }

    var requests: [Request] { state.withLock { $0.requests } }

    /// Stops accepting and wakes every connection thread. Safe to call more than once.
    ///
    /// Every `shutdown` happens under the lock, and the threads leave the state under the same
    /// lock before they close their descriptors, so a descriptor number is never shut down after
    /// it was closed and perhaps reused by another test's socket.
    func stop() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            // shutdown (not close) wakes threads blocked in accept/recv; each closes its own fd.
            if state.listening {
                shutdown(listenFD, Int32(SHUT_RDWR))
            }
            for fd in state.openConnections {
                shutdown(fd, Int32(SHUT_RDWR))
            }
        }
    }

    deinit {
        stop()
    }

    private func acceptLoop() {
        defer {
            state.withLock { $0.listening = false }
            close(listenFD)
        }
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            let accepted = state.withLock { state -> Bool in
                if state.stopped { return false }
                state.acceptedConnections += 1
                state.openConnections.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                return
            }
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            state.withLock { _ = $0.openConnections.remove(fd) }
            close(fd)
        }
        var buffer: [UInt8] = []
        while let request = readRequest(fd, &buffer) {
            state.withLock { $0.requests.append(request) }
            switch reply(request) {
            case .respond(let status, let headers, let body):
                guard write(fd, response(status: status, headers: headers, body: body)) else { return }
            case .respondAndClose(let status, let body):
                _ = write(fd, response(status: status, headers: ["Connection: close"], body: body))
                return
            case .hang:
                var scratch = [UInt8](repeating: 0, count: 4096)
                while recv(fd, &scratch, scratch.count, 0) > 0 {}
                return
            }
        }
    }

    private func response(status: Int, headers: [String], body: [UInt8]) -> [UInt8] {
        var head = "HTTP/1.1 \(status) Test\r\nContent-Length: \(body.count)\r\n"
        for line in headers {
            head += line + "\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// Reads one request (head plus a `Content-Length` body); nil when the peer closed.
    private func readRequest(_ fd: Int32, _ buffer: inout [UInt8]) -> Request? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while true {
            if let range = buffer.firstRange(of: separator) {
                headEnd = range.lowerBound
                break
            }
            guard receive(fd, &buffer) else { return nil }
            if buffer.first == 0x16 {
                // A TLS handshake record: answer in plain HTTP, as a plain server would, and hang up.
                _ = write(fd, Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
                return nil
            }
        }
        guard let headEnd else { return nil }
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst()
        var request = Request(requestLine: requestLine, headerLines: lines, body: [])
        let length = Int(request.header("Content-Length") ?? "0") ?? 0
        let bodyStart = headEnd + separator.count
        while buffer.count < bodyStart + length {
            guard receive(fd, &buffer) else { return nil }
        }
        request.body = Array(buffer[bodyStart..<(bodyStart + length)])
        buffer.removeFirst(bodyStart + length)
        return request
    }

    private func receive(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[..<count])
        return true
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// A 127.0.0.1 port that nothing listens on: bound, then closed again.
    static func unusedPort() throws -> Int {
        let server = try TestHTTPServer { _ in .hang }
        let port = server.port
        server.stop()
        // Wait until the accept thread has closed the listening socket.
        for _ in 0..<200 where isListening(port) {
            usleep(5_000)
        }
        return port
    }

    private static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0
    }
}
