/// Reads a libFuzzer input as a few structured fields followed by free bytes.
///
/// Reading past the end yields zeros and empty fields rather than failing, so every input is
/// usable and libFuzzer's mutations of the header bytes stay meaningful.
public struct FuzzInput {
    private var remaining: UnsafeRawBufferPointer.SubSequence

    public init(_ bytes: UnsafeRawBufferPointer) {
        remaining = bytes[...]
    }

    /// The next byte, or 0 at the end.
    public mutating func byte() -> UInt8 {
        guard let first = remaining.first else { return 0 }
        remaining = remaining.dropFirst()
        return first
    }

    /// The next two bytes, big-endian.
    public mutating func uint16() -> UInt16 {
        UInt16(byte()) << 8 | UInt16(byte())
    }

    /// A field whose length is the next byte (at most what is left).
    public mutating func lengthPrefixed() -> [UInt8] {
        let count = Int(byte())
        let field = remaining.prefix(count)
        remaining = remaining.dropFirst(field.count)
        return Array(field)
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { remaining = remaining.suffix(0) }
        return Array(remaining)
    }
}
