import RelayTestKit

/// The harnesses' generator is the test kit's SplitMix64 (the one copy, issue 15).
public typealias SplitMix64 = RelayTestKit.SplitMix64

extension SplitMix64 {
    /// Seeded from the bytes of an input (FNV-1a): harnesses derive choices (chunk boundaries,
    /// a clock) from the input itself, so a crash file reproduces.
    public init(hashing bytes: UnsafeRawBufferPointer) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        self.init(seed: hash)
    }
}
