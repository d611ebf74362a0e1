import Foundation
import RelayTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// One keep-alive HTTP/1.1 connection to 127.0.0.1 that posts prepared requests with up to
/// `depth` of them in flight (depth 1 is what an SDK does; more is HTTP pipelining), and times
/// each from its write to its answer.
///
/// Blocking sockets on one thread: a request is written only while fewer than `depth` are
/// unanswered, so the socket buffers always hold what is in flight and nothing can deadlock.
/// `@unchecked Sendable`: it moves to the thread that runs it and is used by that thread only.
public final class KeepAliveHTTPClient: @unchecked Sendable {
    public struct Result: Sendable {
        public var answered = 0
        /// Answers whose status was not the expected one.
        public var unexpected = 0
        public var latenciesNanoseconds: [UInt64] = []
        public var firstUnexpected: String?
    }

    private let fd: Int32
    private var buffer = [UInt8]()
    private var start = 0

    public init(port: Int) throws(TestKitError) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestKitError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestKitError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// `POST path` with `body` and the key, as bytes ready to write.
    public static func request(path: String, key: String, body: [UInt8]) -> [UInt8] {
        Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
    }

    /// Sends every request (in order) and reads every answer.
    public func run(_ requests: [[UInt8]], depth: Int, expectedStatus: Int) throws(TestKitError) -> Result {
        var result = Result()
        result.latenciesNanoseconds.reserveCapacity(requests.count)
        var sentAt = [UInt64]()
        sentAt.reserveCapacity(requests.count)
        var next = 0
        while result.answered < requests.count {
            while next < requests.count && next - result.answered < depth {
                sentAt.append(Monotonic.nanoseconds())
                try writeAll(requests[next])
                next += 1
            }
            let (status, body) = try readResponse()
            let now = Monotonic.nanoseconds()
            result.latenciesNanoseconds.append(now - sentAt[result.answered])
            result.answered += 1
            if status != expectedStatus {
                result.unexpected += 1
                if result.firstUnexpected == nil { result.firstUnexpected = "\(status) \(String(decoding: body.prefix(300), as: UTF8.self))" }
            }
        }
        return result
    }

    private func writeAll(_ bytes: [UInt8]) throws(TestKitError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw TestKitError("send: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Reads one `Content-Length` answer; returns its status and body.
    private func readResponse() throws(TestKitError) -> (Int, ArraySlice<UInt8>) {
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = findHeaderEnd()
            if headerEnd == nil { try fill() }
        }
        let head = String(decoding: buffer[start..<headerEnd!], as: UTF8.self)
        let status = Int(head.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        let bodyStart = headerEnd! + 4
        while buffer.count - bodyStart < length { try fill() }
        let body = buffer[bodyStart..<(bodyStart + length)]
        start = bodyStart + length
        if start > 65_536 {
            buffer.removeFirst(start)
            start = 0
        }
        return (status, body)
    }

    private func findHeaderEnd() -> Int? {
        guard buffer.count - start >= 4 else { return nil }
        var index = start
        while index + 3 < buffer.count {
            if buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }

    private func fill() throws(TestKitError) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if count < 0 && errno == EINTR { return }
        guard count > 0 else { throw TestKitError("the relay closed the connection (\(count < 0 ? String(cString: strerror(errno)) : "EOF"))") }
        buffer.append(contentsOf: chunk[..<count])
    }
}
