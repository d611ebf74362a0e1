/// Generates the UUIDs the relay assigns to events that arrive without an `event_id`.
///
/// The id is assigned before the commit, so every retry of the event carries the same one and
/// the API can deduplicate. Version 4 (random) UUIDs in lower-case hex, from the system's
/// cryptographic generator: ids must not collide across hosts sharing one API key.
enum EventID {
    /// A new random UUID as its 36 ASCII bytes.
    static func generate() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        // Version 4 in bits 48..51 of the high half; the RFC 4122 variant in the top bits of the low half.
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (index, nibbleIndex) in (0..<32).enumerated() {
            if index == 8 || index == 12 || index == 16 || index == 20 { out.append(UInt8(ascii: "-")) }
            let word = nibbleIndex < 16 ? high : low
            let shift = UInt64(60 - (nibbleIndex % 16) * 4)
            out.append(hex[Int((word >> shift) & 0xF)])
        }
        return out
    }
}
