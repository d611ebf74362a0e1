import FoundationEssentials
import Glibc

/// A blocking client for the relay's socket: what `send` uses, and what tests and the benchmark
/// drive the daemon with. Writes and reads are independent, so a writer thread can pipeline
/// while another reads the acks (reading only after writing everything would deadlock once the
/// daemon applies backpressure).
public final class IngestClient: Sendable {
    public let descriptor: Int32

    /// Why the client could not talk to the daemon (exit 69 for `send`).
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Connects to the socket at `path`.
    public init(path: String) throws(Unavailable) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Unavailable(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Unavailable(description: "the socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Unavailable(description: "cannot connect to \(path): \(reason); is millimetric-relay running?")
        }
        descriptor = fd
    }

    deinit {
        close(descriptor)
    }

    /// Writes all of `bytes`; false when the connection broke.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>) -> Bool {
        let data = Array(bytes)
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { raw in
                Glibc.send(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// Shuts down the write side: the daemon acks what it has and closes.
    public func finishWriting() {
        shutdown(descriptor, Int32(SHUT_WR))
    }

    /// Reads ack lines until the daemon closes the connection, calling `body` for each.
    public func readLines(_ body: (String) -> Void) {
        var pending = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending.append(contentsOf: chunk[0..<count])
            var start = 0
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                body(String(decoding: pending[start..<newline], as: UTF8.self))
                start = newline + 1
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty { body(String(decoding: pending, as: UTF8.self)) }
    }
}
