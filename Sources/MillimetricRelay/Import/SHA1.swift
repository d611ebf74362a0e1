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

    /// The compression function on one 64-byte block at `chunk`.
    private static func compress(_ h: inout (UInt32, UInt32, UInt32, UInt32, UInt32), _ chunk: UnsafeRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { buffer in
            let w = buffer.baseAddress!
            for i in 0..<16 { w[i] = UInt32(bigEndian: chunk.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = x << 1 | x >> 31
            }
            var (a, b, c, d, e) = h
            @inline(__always) func round(_ f: UInt32, _ k: UInt32, _ word: UInt32) {
                let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ word
                e = d
                d = c
                c = b << 30 | b >> 2
                b = a
                a = temp
            }
            for i in 0..<20 { round((b & c) | (~b & d), 0x5A82_7999, w[i]) }
            for i in 20..<40 { round(b ^ c ^ d, 0x6ED9_EBA1, w[i]) }
            for i in 40..<60 { round((b & c) | (b & d) | (c & d), 0x8F1B_BCDC, w[i]) }
            for i in 60..<80 { round(b ^ c ^ d, 0xCA62_C1D6, w[i]) }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }
    }
}
