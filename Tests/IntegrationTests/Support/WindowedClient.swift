import Foundation
import MillimetricRelay

#if canImport(Glibc)
import Glibc
#endif

/// A producer that pipelines bursts of lines with a window (at most `window` bursts unanswered)
/// and records exactly what happened on the wire: the lines it wrote in full, the answers it
/// read, and how the connection ended.
///
/// How it ended is what makes the SIGTERM test decisive: when the daemon closes its end with
/// bytes still unread in its receive queue, Linux reports ECONNRESET to this end; a clean end of
/// stream means the daemon read everything this end wrote, so every complete line written was
/// read by the daemon and must have an answer.
final class WindowedClient: @unchecked Sendable {
    // @unchecked Sendable: used by one thread (its run loop); results are read after it ends.

    enum End: Equatable {
        /// End of stream: the daemon read every byte written.
        case clean
        /// ECONNRESET: the daemon closed with bytes unread.
        case reset
        case failed(errno: Int32)
    }

    private let client: IngestClient
    private(set) var linesWritten = 0
    private(set) var answers: [String] = []
    private(set) var end: End?
    private var pending: [UInt8] = []

    init(path: String) throws {
        client = try IngestClient(path: path)
    }

    /// Writes bursts of `burst` lines (the line for index i from `line`) keeping at most `window`
    /// bursts unanswered, until the connection ends; `burstAnswered` runs after each burst is
    /// fully answered.
    func run(burst: Int, window: Int, line: (Int) -> String, burstAnswered: () -> Void) {
        var writing = true
        while end == nil {
            while writing && linesWritten - answers.count < burst * window {
                let bytes = Array((linesWritten..<linesWritten + burst).map { line($0) + "\n" }.joined().utf8)
                let sent = send(bytes)
                linesWritten += bytes[..<sent].lazy.filter { $0 == 0x0A }.count
                if sent < bytes.count { writing = false }
            }
            let before = answers.count / burst
            readOnce()
            if answers.count / burst > before { burstAnswered() }
        }
    }

    /// Bytes written until all are or the connection broke.
    private func send(_ bytes: [UInt8]) -> Int {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(client.descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                break
            }
            offset += written
        }
        return offset
    }

    private func readOnce() {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(client.descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            if count == 0 {
                end = .clean
            } else if count < 0 {
                end = errno == ECONNRESET ? .reset : .failed(errno: errno)
            } else {
                pending.append(contentsOf: chunk[0..<count])
                var start = 0
                while let newline = pending[start...].firstIndex(of: 0x0A) {
                    answers.append(String(decoding: pending[start..<newline], as: UTF8.self))
                    start = newline + 1
                }
                pending.removeFirst(start)
            }
            return
        }
    }
}
