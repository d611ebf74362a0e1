import NIOCore

/// Writes ack lines (SPEC §4) straight into the connection's output buffer.
enum AckEncoder {
    /// `{"ok":true,"event_id":…[,"purged":N][,"warnings":[…]]}\n` for `events[index]`.
    ///
    /// Takes the array and an index, not the event, and leaves the bytes to the event's own
    /// method (``ValidatedEvent/writeAckMembers(purged:to:)``), where it is borrowed as `self`:
    /// reading them here through a pointer to the element copied the whole event (a retain and
    /// a release of both its arrays) around each of its two writes; the call still copies it
    /// once (issue 16).
    static func writeStored(_ events: [ValidatedEvent], at index: Int, purged: Int?, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"ok":true,"event_id":"#)
        events[index].writeAckMembers(purged: purged, to: &buffer)
        buffer.writeStaticString("}\n")
    }

    /// `{"ok":true,"lane":"backfill"}\n`: the answer to a hello line (``IngestHello``).
    static func writeHello(_ lane: OutboxLane, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"ok":true,"lane":""#)
        buffer.writeString(lane.rawValue)
        buffer.writeStaticString("\"}\n")
    }

    /// `{"ok":false,"error":"CODE","message":"…"}\n`
    static func writeRejected(_ rejection: IngestRejection, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(#"{"ok":false,"error":""#)
        buffer.writeString(rejection.code.rawValue)
        buffer.writeStaticString(#"","message":"#)
        writeStringLiteral(rejection.message, to: &buffer)
        buffer.writeStaticString("}\n")
    }

    /// Writes `text` as a JSON string literal.
    static func writeStringLiteral(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"")
        for byte in text.utf8 {
            switch byte {
            case 0x22: buffer.writeStaticString("\\\"")
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0x09: buffer.writeStaticString("\\t")
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.writeBytes([0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeStaticString("\"")
    }
}
