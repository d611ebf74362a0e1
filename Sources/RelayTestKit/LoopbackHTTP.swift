import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain, blocking HTTP/1.1 client for servers on 127.0.0.1 (the stand-in's API and admin
/// endpoints, the relay's HTTP listener), over a POSIX socket.
///
/// Deliberately small and dependency-free: it shows exactly what went over the wire (status,
/// headers such as `Retry-After`, a connection closed without an answer), which a higher-level
/// client would hide or retry, and polling `/_admin/stats` fifty times a second costs a
/// benchmark next to nothing. One connection serves several requests in a row (keep-alive).
public final class LoopbackHTTPConnection {
    public let port: Int
    private let descriptor: Int32
    private var pending: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; reads and writes give up after `timeout`.
    public init(port: Int, timeout: Duration = .seconds(15)) throws(TestKitError) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestKitError("socket() failed: \(Self.lastError)") }
        self.port = port
        self.descriptor = descriptor
        var time = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let error = Self.lastError
            close(descriptor)
            throw TestKitError("cannot connect to 127.0.0.1:\(port): \(error)")
        }
    }

    deinit {
        close(descriptor)
    }

    /// Sends one request and reads its answer. Throws ``TestKitError/connectionClosed`` when
    /// the server closed the connection without answering.
    public func send(_ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil)
        throws(TestKitError) -> LoopbackHTTPResponse
    {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        try writeAll(Array(head.utf8) + (body.map { Array($0) } ?? []))
        return try readResponse()
    }

    private func writeAll(_ bytes: [UInt8]) throws(TestKitError) {
        var offset = 0
        while offset < bytes.count {
            // send(MSG_NOSIGNAL), not write: a closed connection must not raise SIGPIPE.
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                // The server may answer early (413) and close; the answer is still readable.
                if errno == EPIPE || errno == ECONNRESET { return }
                throw errno == EAGAIN ? .timedOut : TestKitError("write to 127.0.0.1:\(port): \(Self.lastError)")
            }
            offset += written
        }
    }

    private func readResponse() throws(TestKitError) -> LoopbackHTTPResponse {
        while true {
            let headerEnd = try readUntilHeaderEnd()
            let headText = String(decoding: pending[..<headerEnd], as: UTF8.self)
            var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
                throw TestKitError("bad status line from 127.0.0.1:\(port): \(headText)")
            }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                    .trimmingCharacters(in: .whitespaces)
            }
            pending.removeFirst(headerEnd + 4)
            if status == 100 { continue }
            let body: Data
            if let length = headers["content-length"].flatMap({ Int($0) }) {
                while pending.count < length {
                    guard try fill() else { throw .connectionClosed }
                }
                body = Data(pending[..<length])
                pending.removeFirst(length)
            } else {
                while try fill() {}
                body = Data(pending)
                pending.removeAll()
            }
            return LoopbackHTTPResponse(status: status, headers: headers, body: body)
        }
    }

    private func readUntilHeaderEnd() throws(TestKitError) -> Int {
        let terminator: [UInt8] = [13, 10, 13, 10]
        var searched = 0
        while true {
            if pending.count >= 4 {
                for index in searched...(pending.count - 4) where pending[index..<(index + 4)].elementsEqual(terminator) {
                    return index
                }
                searched = pending.count - 3
            }
            guard try fill() else { throw .connectionClosed }
        }
    }

    /// Reads more bytes; false at the end of the stream.
    private func fill() throws(TestKitError) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                pending += buffer[0..<count]
                return true
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            if errno == ECONNRESET { return false }
            throw errno == EAGAIN || errno == EWOULDBLOCK
                ? .timedOut : TestKitError("read from 127.0.0.1:\(port): \(Self.lastError)")
        }
    }

    private static var lastError: String { String(cString: strerror(errno)) }
}

/// One HTTP answer.
public struct LoopbackHTTPResponse: Sendable {
    public let status: Int
    /// Header names are lower-cased.
    public let headers: [String: String]
    public let body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as a JSON object.
    public func json() throws(TestKitError) -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw TestKitError("answer \(status) is not a JSON object: \(text.prefix(300))")
        }
        return object
    }

    /// The body as JSON lines, one object each (the stand-in's `/_admin/log` and `/_admin/events`).
    public func jsonLines() throws(TestKitError) -> [[String: Any]] {
        var objects: [[String: Any]] = []
        for line in body.split(separator: UInt8(ascii: "\n")) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw TestKitError("a line is not a JSON object: \(String(decoding: line.prefix(300), as: UTF8.self))")
            }
            objects.append(object)
        }
        return objects
    }
}

/// One request on a connection of its own.
public enum LoopbackHTTP {
    public static func request(
        port: Int, _ method: String, _ path: String, headers: [String: String] = [:], body: Data? = nil,
        timeout: Duration = .seconds(15)
    ) throws(TestKitError) -> LoopbackHTTPResponse {
        try LoopbackHTTPConnection(port: port, timeout: timeout).send(method, path, headers: headers, body: body)
    }
}
