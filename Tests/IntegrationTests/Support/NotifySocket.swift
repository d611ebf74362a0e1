import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Unix datagram socket posing as systemd's `NOTIFY_SOCKET`, collecting what the daemon
/// sends (`READY=1`, `STATUS=…`, `WATCHDOG=1`, `STOPPING=1`) with the time each arrived.
final class NotifySocket: @unchecked Sendable {
    // @unchecked Sendable: `messages` is guarded by `lock`; the descriptor is only read from.
    let path: String
    private let descriptor: Int32
    private let lock = NSLock()
    private var messages: [(at: ContinuousClock.Instant, lines: [String])] = []
    private var closed = false

    init(directory: URL) throws {
        path = directory.appendingPathComponent("notify.sock").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw RelayFailure("socket() failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw RelayFailure("bind(\(path)) failed: \(String(cString: strerror(errno)))") }
        let fd = descriptor
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                lock.lock()
                messages.append((.now, text.split(separator: "\n").map(String.init)))
                lock.unlock()
            }
        }
    }

    deinit {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }

    /// Every line received so far, with its arrival time.
    var lines: [(at: ContinuousClock.Instant, line: String)] {
        lock.lock()
        defer { lock.unlock() }
        return messages.flatMap { message in message.lines.map { (message.at, $0) } }
    }

    func count(of line: String) -> Int { lines.filter { $0.line == line }.count }
}
