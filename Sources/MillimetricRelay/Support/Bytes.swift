#if canImport(Glibc)
import Glibc
#endif

/// Byte comparisons against compile-time text, without building an array or a `String`: the
/// validator matches every key of every line this way.
enum Bytes {
    static func equal(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        guard let base = bytes.baseAddress else { return true }
        return memcmp(base, text.utf8Start, bytes.count) == 0
    }

    static func equal(_ bytes: [UInt8], _ text: StaticString) -> Bool {
        bytes.withUnsafeBytes { equal($0, text) }
    }

    /// Whether `text` occurs anywhere in `bytes`.
    static func contains(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard let base = bytes.baseAddress, text.utf8CodeUnitCount > 0 else { return text.utf8CodeUnitCount == 0 }
        // memchr for the first byte, memcmp for the rest (Glibc's module does not export memmem).
        let length = text.utf8CodeUnitCount
        let first = Int32(text.utf8Start.pointee)
        var offset = 0
        while bytes.count - offset >= length {
            guard let hit = memchr(base + offset, first, bytes.count - offset - length + 1) else { return false }
            if memcmp(hit, text.utf8Start, length) == 0 { return true }
            offset = base.distance(to: UnsafeRawPointer(hit)) + 1
        }
        return false
    }
}
