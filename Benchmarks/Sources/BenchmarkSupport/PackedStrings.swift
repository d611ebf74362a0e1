/// Many short byte strings in one buffer (some of them NULL), so that hundreds of thousands of
/// rows cost two allocations and bind without copies.
public struct PackedStrings: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Per string: its end offset in `bytes`, or -1 - (previous end) for NULL.
    private var ends: [Int] = []

    public init() {}

    public var count: Int { ends.count }

    public mutating func append(_ value: UnsafeRawBufferPointer?) {
        if let value {
            bytes.append(contentsOf: value)
            ends.append(bytes.count)
        } else {
            ends.append(-1 - bytes.count)
        }
    }

    /// The byte range of string `index`, or nil for NULL.
    public func range(at index: Int) -> Range<Int>? {
        let start = index == 0 ? 0 : Self.end(ends[index - 1])
        let end = ends[index]
        return end < 0 ? nil : start..<end
    }

    private static func end(_ stored: Int) -> Int { stored < 0 ? -1 - stored : stored }
}
