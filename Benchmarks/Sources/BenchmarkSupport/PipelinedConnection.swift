import Dispatch
import Foundation
import MillimetricRelay
import RelayTestKit
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One producer connection to the relay: a writer thread pipelines NDJSON in large chunks while
/// a reader thread reads the acks, as a busy producer would (reading only after writing would
/// deadlock once the relay applies backpressure).
///
/// The connection ends when every ack has arrived: the client then closes it. With `halfClose`,
/// the writer instead shuts down its write side after the last event, as `send` and the peer's
/// `loadgen.py` do, and the reader reads until the relay closes; acks missing at that close
/// show up as a failure.
///
/// Timing: each event's write time is when `send` accepted its last byte (the writer sends
/// non-blocking, so partial sends are stamped as they happen); its ack time is when the `recv`
/// that brought its ack returned.
///
/// ```swift
/// let connection = try PipelinedConnection(path: relay.socketPath, source: .pregenerated(batch))
/// connection.go()
/// let result = connection.wait(timeout: 120)
/// ```
public final class PipelinedConnection: Sendable {
    private let client: IngestClient
    private let total: Int
    private let timed: Bool
    private let halfClose: Bool
    private let goSignal = DispatchSemaphore(value: 0)
    private let writerDone = DispatchSemaphore(value: 0)
    private let readerDone = DispatchSemaphore(value: 0)
    private let writer = ThreadResult<WriterOutcome>()
    private let reader = ThreadResult<ReaderOutcome>()

    /// Bytes offered to one `send`.
    public static let chunkBytes = 256 * 1024

    /// Connects and starts the two threads; the writer waits for ``go()``.
    public init(path: String, source: EventSource, halfClose: Bool = false) throws(TestKitError) {
        do {
            client = try IngestClient(path: path)
        } catch {
            throw TestKitError("\(error)")
        }
        switch source {
        case .pregenerated(let batch):
            total = batch.count
            timed = true
        case .generated(_, let events, _):
            total = events
            timed = false
        }
        self.halfClose = halfClose
        let fd = client.descriptor
        let timed = self.timed
        let total = self.total
        let (goSignal, writerDone, readerDone, writer, reader) = (
            self.goSignal, self.writerDone, self.readerDone, self.writer, self.reader
        )
        Thread.detachNewThread {
            goSignal.wait()
            writer.set(Self.write(fd: fd, source: source, halfClose: halfClose))
            writerDone.signal()
        }
        Thread.detachNewThread {
            reader.set(Self.read(fd: fd, expected: halfClose ? nil : total, timed: timed))
            readerDone.signal()
        }
    }

    /// Lets the writer start.
    public func go() {
        goSignal.signal()
    }

    /// Waits for the writer to finish and the relay to close the connection after the last ack.
    /// On timeout the connection is shut down and the result names the failure.
    public func wait(timeout seconds: Double) -> ConnectionResult {
        let deadline = DispatchTime.now() + seconds
        var timedOut = false
        if writerDone.wait(timeout: deadline) == .timedOut || readerDone.wait(timeout: deadline) == .timedOut {
            timedOut = true
            shutdown(client.descriptor, Int32(SHUT_RDWR))
            writerDone.wait()
            readerDone.wait()
        }
        let written = writer.value!
        let read = reader.value!
        var result = ConnectionResult(
            written: written.events, acked: read.acked, rejected: read.rejected, firstRejection: read.firstRejection,
            firstWrite: written.firstWrite, lastAck: read.lastAck,
            failure: timedOut ? "no end of the acks within \(Int(seconds)) s" : (written.failure ?? read.failure))
        if timed && result.failure == nil && read.ackTimes.count >= written.writeTimes.count {
            result.latencies = zip(read.ackTimes, written.writeTimes).map { $0 &- $1 }
        }
        if result.failure == nil && read.acked + read.rejected != written.events {
            result.failure =
                "\(written.events) events written but \(read.acked + read.rejected) acks received before the relay closed the connection"
        }
        return result
    }

    // MARK: - Threads

    private struct WriterOutcome: Sendable {
        var events = 0
        var firstWrite: UInt64 = 0
        var writeTimes: [UInt64] = []
        var failure: String?
    }

    private struct ReaderOutcome: Sendable {
        var acked = 0
        var rejected = 0
        var firstRejection: String?
        var lastAck: UInt64 = 0
        var ackTimes: [UInt64] = []
        var failure: String?
    }

    private static func write(fd: Int32, source: EventSource, halfClose: Bool) -> WriterOutcome {
        var outcome = WriterOutcome()
        let chunkCount: Int
        switch source {
        case .pregenerated(let batch):
            chunkCount = 1
            outcome.writeTimes = [UInt64](repeating: 0, count: batch.count)
        case .generated(let chunks, _, _):
            chunkCount = chunks
        }
        outcome.firstWrite = Monotonic.nanoseconds()
        chunks: for index in 0..<chunkCount {
            let batch: EventBatch
            switch source {
            case .pregenerated(let all): batch = all
            case .generated(_, _, let make): batch = make(index)
            }
            var offset = 0
            var next = 0
            let timed = !outcome.writeTimes.isEmpty
            while offset < batch.bytes.count {
                let sent = batch.bytes.withUnsafeBytes { raw in
                    send(
                        fd, raw.baseAddress! + offset, min(chunkBytes, raw.count - offset),
                        Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                }
                if sent > 0 {
                    offset += sent
                    if timed {
                        let now = Monotonic.nanoseconds()
                        while next < batch.count && batch.lineEnds[next] <= offset {
                            outcome.writeTimes[next] = now
                            next += 1
                        }
                    }
                } else if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&descriptor, 1, 1_000)
                } else if sent < 0 && errno == EINTR {
                    continue
                } else {
                    outcome.failure = "send: \(String(cString: strerror(errno)))"
                    break chunks
                }
            }
            outcome.events += batch.count
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        return outcome
    }

    private static let okPrefix = Array(#"{"ok":true"#.utf8)

    /// Reads acks until `expected` arrived (then closes the connection), or with nil until the
    /// relay closes it.
    private static func read(fd: Int32, expected: Int?, timed: Bool) -> ReaderOutcome {
        var outcome = ReaderOutcome()
        if timed, let expected { outcome.ackTimes.reserveCapacity(expected) }
        defer { if expected != nil { shutdown(fd, Int32(SHUT_RDWR)) } }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        // The beginning of the current line (enough to tell ok from a rejection and to quote it).
        var head: [UInt8] = []
        head.reserveCapacity(512)
        while expected.map({ outcome.acked + outcome.rejected < $0 }) ?? true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                outcome.failure = "recv: \(String(cString: strerror(errno)))"
                break
            }
            if count == 0 { break }
            let now = Monotonic.nanoseconds()
            buffer.withUnsafeBytes { raw in
                var position = 0
                while position < count {
                    let start = raw.baseAddress! + position
                    guard let found = memchr(start, 0x0A, count - position) else {
                        let take = min(512 - head.count, count - position)
                        if take > 0 { head.append(contentsOf: UnsafeRawBufferPointer(start: start, count: take)) }
                        position = count
                        break
                    }
                    let length = UnsafeRawPointer(found) - start
                    let take = min(512 - head.count, length)
                    if take > 0 { head.append(contentsOf: UnsafeRawBufferPointer(start: start, count: take)) }
                    if head.starts(with: okPrefix) {
                        outcome.acked += 1
                    } else {
                        outcome.rejected += 1
                        if outcome.firstRejection == nil {
                            outcome.firstRejection = String(decoding: head, as: UTF8.self)
                        }
                    }
                    if timed { outcome.ackTimes.append(now) }
                    outcome.lastAck = now
                    head.removeAll(keepingCapacity: true)
                    position += length + 1
                }
            }
        }
        return outcome
    }
}

/// A value one thread sets before signalling a semaphore and another reads after waiting on it.
final class ThreadResult<Value: Sendable>: Sendable {
    private let stored = Mutex<Value?>(nil)

    func set(_ value: Value) {
        stored.withLock { $0 = value }
    }

    var value: Value? { stored.withLock { $0 } }
}
