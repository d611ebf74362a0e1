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
}
