import NIOCore

/// A line that passed validation: the exact JSON the API will receive, plus what the outbox
/// and the ack need to know about it.
///
/// Why the locations instead of separate arrays and strings: this value is made for every
/// event on the ingest hot path. The ids the outbox and the ack need are almost always bytes
/// already in the body, so they are kept as ranges of it, and a typical event costs a single
/// allocation (its body). Only what the body does not hold (the id of an identify or forget,
/// or the unescaped text of an id written with escapes) goes to ``side``.
public struct ValidatedEvent: Sendable, Equatable {
    /// Where some bytes of the event are: a range of ``body`` or of ``side``.
    struct Location: Sendable, Equatable {
        var inSide: Bool
        var range: Range<Int>

        static func body(_ range: Range<Int>) -> Location { Location(inSide: false, range: range) }
        static func side(_ range: Range<Int>) -> Location { Location(inSide: true, range: range) }
    }

    public let kind: EventKind
    /// The canonical JSON sent upstream: a batch member for track, the whole body otherwise.
    public let body: [UInt8]
    /// Bytes needed besides the body; empty (no allocation) for an event without warnings.
    let side: [UInt8]
    /// The ack's `warnings`: each ignored field's note as a JSON string literal, comma-separated.
    let warningsLocation: Location?
    /// The event id as a JSON string literal (with quotes and escapes), for the ack.
    let eventIDLiteralLocation: Location
    /// The event id as UTF-8 text, for the outbox's `event_id` column.
    let eventIDLocation: Location
    /// The user id as UTF-8 text, for forget's purge; nil when absent.
    let userIDLocation: Location?

    /// Calls `work` with the bytes at `location`.
    @inline(__always)
    func withBytes<Result>(at location: Location, _ work: (UnsafeRawBufferPointer) -> Result) -> Result {
        // Not `(inSide ? side : body).withUnsafeBytes`: that would copy (retain) the array.
        if location.inSide {
            side.withUnsafeBytes { work(UnsafeRawBufferPointer(rebasing: $0[location.range])) }
        } else {
            body.withUnsafeBytes { work(UnsafeRawBufferPointer(rebasing: $0[location.range])) }
        }
    }

    /// Calls `work` with the event id's UTF-8, the user id's (if any) and the body's, without
    /// copying any of them: what the outbox binds to its insert.
    func withStoredColumns<Result>(
        _ work: (_ eventID: UnsafeRawBufferPointer, _ userID: UnsafeRawBufferPointer?, _ body: UnsafeRawBufferPointer) -> Result
    ) -> Result {
        body.withUnsafeBytes { body in
            side.withUnsafeBytes { side in
                func bytes(_ location: Location) -> UnsafeRawBufferPointer {
                    UnsafeRawBufferPointer(rebasing: (location.inSide ? side : body)[location.range])
                }
                return work(bytes(eventIDLocation), userIDLocation.map(bytes), body)
            }
        }
    }

    /// Writes what an ack says about this event after `"event_id":`: the id's literal, then
    /// `,"purged":N` and `,"warnings":[…]` when there are any (``AckEncoder``). A method, so
    /// that the event is borrowed (`self`) while its bytes are written, never copied.
    func writeAckMembers(purged: Int?, to buffer: inout ByteBuffer) {
        withBytes(at: eventIDLiteralLocation) { _ = buffer.writeBytes($0) }
        if let purged {
            buffer.writeStaticString(#","purged":"#)
            buffer.writeString(String(purged))
        }
        if let warningsLocation {
            buffer.writeStaticString(#","warnings":["#)
            withBytes(at: warningsLocation) { _ = buffer.writeBytes($0) }
            buffer.writeStaticString("]")
        }
    }

    /// Each ignored field's note, as a JSON string literal (tests and tools; the ack writes
    /// the comma-separated text at ``warningsLocation`` as it is).
    public var warnings: [[UInt8]] {
        guard let warningsLocation else { return [] }
        return withBytes(at: warningsLocation) { text in
            var literals: [[UInt8]] = []
            var parser = JSONTranscoder(bytes: text)
            while !parser.isAtEnd {
                var literal: [UInt8] = []
                guard (try? parser.transcodeString(into: &literal, captureDecoded: false)) != nil else { break }
                literals.append(literal)
                _ = parser.consume(UInt8(ascii: ","))
            }
            return literals
        }
    }

    /// The event id as a JSON string literal (with quotes and escapes), ready for the ack.
    public var eventIDLiteral: [UInt8] { withBytes(at: eventIDLiteralLocation) { Array($0) } }
    /// The event id as text.
    public var eventID: String { withBytes(at: eventIDLocation) { String(decoding: $0, as: UTF8.self) } }
    /// The user the event belongs to, used by forget's purge; nil when absent.
    public var userID: String? { userIDLocation.map { withBytes(at: $0) { String(decoding: $0, as: UTF8.self) } } }

    public static func == (lhs: ValidatedEvent, rhs: ValidatedEvent) -> Bool {
        lhs.kind == rhs.kind && lhs.body == rhs.body && lhs.warnings == rhs.warnings
            && lhs.eventIDLiteral == rhs.eventIDLiteral && lhs.eventID == rhs.eventID && lhs.userID == rhs.userID
    }
}
