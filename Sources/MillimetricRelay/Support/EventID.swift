#if canImport(Glibc)
import Glibc
#endif

/// Generates the UUIDs the relay assigns to events that arrive without an `event_id`.
///
/// The id is assigned before the commit, so every retry of the event carries the same one and
/// the API can deduplicate. Version 4 (random) UUIDs in lower-case hex, from the kernel's
/// cryptographic generator: ids must not collide across hosts sharing one API key.
enum EventID {
    /// The length of a UUID literal with its quotes.
    static let literalLength = 38

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// Appends a new random UUID as a JSON string literal, quotes included (38 bytes).
    static func appendLiteral(to out: inout [UInt8], using random: inout RandomBytes) {
        var high = random.next()
        var low = random.next()
        // Version 4 in bits 48..51 of the high half; the RFC 4122 variant in the top bits of the low half.
        high = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        low = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let digits = hexDigits.utf8Start
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: literalLength) { buffer in
            var i = 0
            buffer[i] = UInt8(ascii: "\"")
            i += 1
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[i] = UInt8(ascii: "-")
                    i += 1
                }
                let word = nibble < 16 ? high : low
                let shift = UInt64(60 - (nibble % 16) * 4)
                buffer[i] = digits[Int((word >> shift) & 0xF)]
                i += 1
            }
            buffer[i] = UInt8(ascii: "\"")
            out.append(contentsOf: buffer)
        }
    }
}

/// Random bytes from the kernel (`getrandom`, through glibc's `arc4random_buf`), fetched 512 bytes
/// at a time.
///
/// `SystemRandomNumberGenerator` makes one system call per 8 bytes; an event without an id needs
/// 16, so a producer that never sends ids would cost two system calls per line. The bytes are
/// the same quality either way; this only buffers them. One value per owner (a connection's
/// validator), never shared between threads.
struct RandomBytes: Sendable {
    private var pool = [UInt8]()
    private var position = 0

    static let poolSize = 512

    init() {}

    /// The next 8 random bytes.
    mutating func next() -> UInt64 {
        if position + 8 > pool.count { refill() }
        let value = pool.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: UInt64.self) }
        position += 8
        return value
    }

    private mutating func refill() {
        if pool.count != Self.poolSize { pool = [UInt8](repeating: 0, count: Self.poolSize) }
        // glibc's arc4random_buf fills the buffer from getrandom in one call.
        pool.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
        position = 0
    }
}
