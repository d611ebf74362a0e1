/// Generates the UUIDs the relay assigns to events that arrive without an `event_id`.
///
/// The id is assigned before the commit, so every retry of the event carries the same one and
/// the API can deduplicate. Version 4 (random) UUIDs in lower-case hex, from the system's
/// cryptographic generator: ids must not collide across hosts sharing one API key.
enum EventID {
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A new random UUID as its 36 ASCII bytes.
    static func generate() -> [UInt8] {
        Array(generateLiteral().dropFirst().dropLast())
    }

    /// A new random UUID as a JSON string literal, quotes included (38 bytes): the form the
    /// body and the ack need, built in one allocation on the ingest hot path.
    static func generateLiteral() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        // Version 4 in bits 48..51 of the high half; the RFC 4122 variant in the top bits of the low half.
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return [UInt8](unsafeUninitializedCapacity: 38) { buffer, count in
            var i = 0
            buffer[i] = UInt8(ascii: "\""); i += 1
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[i] = UInt8(ascii: "-"); i += 1
                }
                let word = nibble < 16 ? high : low
                let shift = UInt64(60 - (nibble % 16) * 4)
                buffer[i] = hexDigits[Int((word >> shift) & 0xF)]; i += 1
            }
            buffer[i] = UInt8(ascii: "\""); i += 1
            count = i
        }
    }
}
