import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Splits the byte stream of one connection into lines, and keeps going after an overlong one.
///
/// NIO's `splitLines(maximumBufferSize:)` throws on an overlong line, which would close the
/// connection; the protocol instead answers `line_too_long` for that line and carries on with
/// the next one (SPEC §4). The cap counts the line without its `\n` (and a `\r` before it).
struct LineFramer {
    enum Frame: Equatable {
        /// A complete line, without its line end; never empty or whitespace-only.
        case line(ByteBuffer)
        /// A line longer than the cap; the rest of it up to the next `\n` is skipped.
        case tooLong
    }

    let maximumLineBytes: Int
    /// The unfinished line so far.
    private var partial: ByteBuffer?
    /// Inside an overlong line, skipping to its end.
    private var discarding = false

    init(maximumLineBytes: Int) {
        self.maximumLineBytes = maximumLineBytes
    }

    /// Whether bytes of an unfinished line are waiting for their `\n`.
    var hasPartialLine: Bool { discarding || (partial?.readableBytes ?? 0) > 0 }

    /// Consumes `buffer` entirely, emitting each complete line in order.
    mutating func process(_ buffer: inout ByteBuffer, _ emit: (Frame) -> Void) {
        while buffer.readableBytes > 0 {
            let newline = buffer.withUnsafeReadableBytes { bytes -> Int? in
                guard let base = bytes.baseAddress, let found = memchr(base, 0x0A, bytes.count) else { return nil }
                return base.distance(to: UnsafeRawPointer(found))
            }
            guard let newline else {
                consumeUnfinished(&buffer, emit)
                return
            }
            if discarding {
                buffer.moveReaderIndex(forwardBy: newline + 1)
                discarding = false
                continue
            }
            var line = buffer.readSlice(length: newline)!
            buffer.moveReaderIndex(forwardBy: 1)
            if var head = partial {
                partial = nil
                head.writeBuffer(&line)
                line = head
            }
            complete(line, emit)
        }
    }

    /// The client shut down its write side: a last line without `\n` still counts.
    mutating func finish(_ emit: (Frame) -> Void) {
        defer {
            partial = nil
            discarding = false
        }
        guard !discarding, let line = partial else { return }
        complete(line, emit)
    }

    private mutating func consumeUnfinished(_ buffer: inout ByteBuffer, _ emit: (Frame) -> Void) {
        if discarding {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return
        }
        let total = (partial?.readableBytes ?? 0) + buffer.readableBytes
        // One byte of slack: the line may still end with "\r\n".
        if total > maximumLineBytes + 1 {
            emit(.tooLong)
            partial = nil
            discarding = true
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return
        }
        if partial == nil {
            partial = ByteBufferAllocator().buffer(capacity: max(buffer.readableBytes, 1024))
        }
        partial!.writeBuffer(&buffer)
    }

    private func complete(_ line: ByteBuffer, _ emit: (Frame) -> Void) {
        var line = line
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == 0x0D {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        if line.readableBytes > maximumLineBytes {
            emit(.tooLong)
            return
        }
        let blank = line.readableBytesView.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        if !blank { emit(.line(line)) }
    }
}
