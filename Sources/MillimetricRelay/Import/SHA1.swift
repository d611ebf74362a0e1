/// SHA-1 (FIPS 180-4), for name-based UUIDs (RFC 9562 §5.5) only: `import` derives the
/// `event_id` of an event that has none from the content it read (``ImportEventID``). Not for
/// security. Small and self-contained because the relay links no crypto library
/// (swift-crypto is not among the offline package mirrors). Its state is a value held inline
/// (no array): copying it and finishing the copy gives the digest of the input so far, without
/// disturbing the original and without allocating — `import` does that once per line.
public struct SHA1: Sendable {
    /// A digest as its five big-endian words: a value, so taking one per line allocates nothing.
    public struct Digest: Sendable, Equatable {
        var words: (UInt32, UInt32, UInt32, UInt32, UInt32)

        public static func == (lhs: Digest, rhs: Digest) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
                && lhs.words.3 == rhs.words.3 && lhs.words.4 == rhs.words.4
        }

        /// Writes the 20 bytes at `pointer`.
        func store(to pointer: UnsafeMutableRawPointer) {
            pointer.storeBytes(of: words.0.bigEndian, toByteOffset: 0, as: UInt32.self)
            pointer.storeBytes(of: words.1.bigEndian, toByteOffset: 4, as: UInt32.self)
            pointer.storeBytes(of: words.2.bigEndian, toByteOffset: 8, as: UInt32.self)
            pointer.storeBytes(of: words.3.bigEndian, toByteOffset: 12, as: UInt32.self)
            pointer.storeBytes(of: words.4.bigEndian, toByteOffset: 16, as: UInt32.self)
        }

        /// The 20 bytes.
        public var bytes: [UInt8] {
            [UInt8](unsafeUninitializedCapacity: 20) { buffer, count in
                store(to: UnsafeMutableRawPointer(buffer.baseAddress!))
                count = 20
            }
        }

        /// The digest of the given 20 bytes (the inverse of ``bytes``).
        init(_ bytes: [UInt8]) {
            precondition(bytes.count == 20, "a SHA-1 digest has 20 bytes")
            func word(_ at: Int) -> UInt32 {
                UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
            }
            words = (word(0), word(4), word(8), word(12), word(16))
        }

        init(words: (UInt32, UInt32, UInt32, UInt32, UInt32)) {
            self.words = words
        }
    }

    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    /// The bytes of the current, incomplete block (64 bytes inline).
    private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var blockCount = 0
    private var length: UInt64 = 0

    public init() {}

    /// Adds `bytes` to the input.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        length &+= UInt64(bytes.count)
        var index = 0
        if blockCount > 0 {
            let take = min(64 - blockCount, bytes.count)
            let offset = blockCount
            withUnsafeMutableBytes(of: &block) { ($0.baseAddress! + offset).copyMemory(from: base, byteCount: take) }
            blockCount += take
            index = take
            if blockCount == 64 {
                var state = h
                withUnsafeBytes(of: block) { Self.compress(&state, $0.baseAddress!) }
                h = state
                blockCount = 0
            }
        }
        if bytes.count - index >= 64 {
            var state = h
            while bytes.count - index >= 64 {
                Self.compress(&state, base + index)
                index += 64
            }
            h = state
        }
        if index < bytes.count {
            let rest = bytes.count - index
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.copyMemory(from: base + index, byteCount: rest) }
            blockCount = rest
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything added so far, as a value (no allocation).
    public func digest() -> Digest {
        var copy = self
        let bitLength = length &* 8
        // 0x80, zeros to 56 bytes mod 64, the length in bits: at most 72 bytes.
        let padding = (Int(length % 64) < 56 ? 56 : 120) - Int(length % 64)
        withUnsafeTemporaryAllocation(byteCount: 72, alignment: 8) { buffer in
            let base = buffer.baseAddress!
            base.initializeMemory(as: UInt8.self, repeating: 0, count: 72)
            base.storeBytes(of: 0x80, as: UInt8.self)
            base.storeBytes(of: bitLength.bigEndian, toByteOffset: padding, as: UInt64.self)
            copy.update(UnsafeRawBufferPointer(start: base, count: padding + 8))
        }
        return Digest(words: copy.h)
    }

    /// The digest of everything added so far (20 bytes).
    public func finish() -> [UInt8] {
        digest().bytes
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var sha = SHA1()
        sha.update(bytes)
        return sha.finish()
    }

    /// The compression function on one 64-byte block at `chunk`: the message schedule kept in
    /// a 16-word ring, computed as the rounds need it, and the rounds five at a time with the
    /// working variables' roles rotated instead of their values moved (the usual way of
    /// writing SHA-1 for speed; same results).
    private static func compress(_ h: inout (UInt32, UInt32, UInt32, UInt32, UInt32), _ chunk: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 16) { buffer in
            let w = buffer.baseAddress!
            for i in 0..<16 { w[i] = UInt32(bigEndian: chunk.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)) }
            @inline(__always) func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { x << n | x >> (32 - n) }
            /// Word `i` (16 or more) of the schedule, stored over word `i - 16`.
            @inline(__always) func next(_ i: Int) -> UInt32 {
                let x = w[(i &+ 13) & 15] ^ w[(i &+ 8) & 15] ^ w[(i &+ 2) & 15] ^ w[i & 15]
                let word = rotl(x, 1)
                w[i & 15] = word
                return word
            }
            @inline(__always) func choose(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { z ^ (x & (y ^ z)) }
            @inline(__always) func parity(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { x ^ y ^ z }
            @inline(__always) func majority(_ x: UInt32, _ y: UInt32, _ z: UInt32) -> UInt32 { (x & y) | (z & (x | y)) }
            var (a, b, c, d, e) = h
            /// Rounds `i` to `i + 4` with the round function `f` and constant `k`: each round
            /// renames the variables instead of moving them, so after five each is back in place.
            @inline(__always) func fiveRounds(
                from i: Int, _ f: (UInt32, UInt32, UInt32) -> UInt32, _ k: UInt32, _ word: (Int) -> UInt32
            ) {
                e = e &+ rotl(a, 5) &+ f(b, c, d) &+ k &+ word(i); b = rotl(b, 30)
                d = d &+ rotl(e, 5) &+ f(a, b, c) &+ k &+ word(i &+ 1); a = rotl(a, 30)
                c = c &+ rotl(d, 5) &+ f(e, a, b) &+ k &+ word(i &+ 2); e = rotl(e, 30)
                b = b &+ rotl(c, 5) &+ f(d, e, a) &+ k &+ word(i &+ 3); d = rotl(d, 30)
                a = a &+ rotl(b, 5) &+ f(c, d, e) &+ k &+ word(i &+ 4); c = rotl(c, 30)
            }
            fiveRounds(from: 0, choose, 0x5A82_7999) { w[$0] }
            fiveRounds(from: 5, choose, 0x5A82_7999) { w[$0] }
            fiveRounds(from: 10, choose, 0x5A82_7999) { w[$0] }
            // Rounds 15 to 19: the block's last word, then the first computed ones.
            fiveRounds(from: 15, choose, 0x5A82_7999) { $0 == 15 ? w[15] : next($0) }
            var i = 20
            while i < 40 { fiveRounds(from: i, parity, 0x6ED9_EBA1, next); i &+= 5 }
            while i < 60 { fiveRounds(from: i, majority, 0x8F1B_BCDC, next); i &+= 5 }
            while i < 80 { fiveRounds(from: i, parity, 0xCA62_C1D6, next); i &+= 5 }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
    }
}
