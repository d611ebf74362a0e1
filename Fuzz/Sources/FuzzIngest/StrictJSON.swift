/// An independent RFC 8259 recogniser, written plainly, as the oracle for the validator's
/// `invalid_json` answers (what `JSON.parse` accepts: no trailing commas, no NaN, no comments,
/// no BOM, no raw control characters in strings; lone surrogate escapes are fine).
///
/// Foundation's `JSONSerialization` cannot serve here: it accepts `{"a":1,}` and stops reading
/// at a NUL byte. UTF-8 is checked with the standard library's own decoder, not the relay's.
struct StrictJSON {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0
    /// Deeper than this the recogniser gives up (answers nil) rather than grow the stack.
    static let depthLimit = 400

    /// true/false for valid/invalid JSON text; nil when nested too deep to tell.
    static func isValid(_ bytes: [UInt8]) -> Bool? {
        bytes.withUnsafeBytes { isValid($0) }
    }

    /// The same, reading the caller's bytes in place (no copy: this runs for every input).
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool? {
        guard String(validating: bytes, as: UTF8.self) != nil else { return false }
        var parser = StrictJSON(bytes: bytes)
        do {
            parser.whitespace()
            try parser.value()
            parser.whitespace()
            return parser.index == bytes.count
        } catch .tooDeep {
            return nil
        } catch {
            return false
        }
    }

    private enum Failure: Error { case invalid, tooDeep }

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func whitespace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func take(_ byte: UInt8) throws(Failure) {
        guard current == byte else { throw .invalid }
        index += 1
    }

    /// An object (`keyed`: `"key": value` members) or an array after its opening byte: the
    /// members separated by commas, then `close`.
    private mutating func container(close: UInt8, keyed: Bool) throws(Failure) {
        depth += 1
        if depth > Self.depthLimit { throw .tooDeep }
        index += 1
        whitespace()
        if current == close {
            index += 1
        } else {
            while true {
                whitespace()
                if keyed {
                    try string()
                    whitespace()
                    try take(UInt8(ascii: ":"))
                    whitespace()
                }
                try value()
                whitespace()
                if current == UInt8(ascii: ",") { index += 1; continue }
                try take(close)
                break
            }
        }
        depth -= 1
    }

    private mutating func value() throws(Failure) {
        guard let first = current else { throw .invalid }
        switch first {
        case UInt8(ascii: "{"): try container(close: UInt8(ascii: "}"), keyed: true)
        case UInt8(ascii: "["): try container(close: UInt8(ascii: "]"), keyed: false)
        case UInt8(ascii: "\""):
            try string()
        case UInt8(ascii: "t"): try word("true")
        case UInt8(ascii: "f"): try word("false")
        case UInt8(ascii: "n"): try word("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
        default:
            throw .invalid
        }
    }

    private mutating func word(_ text: String) throws(Failure) {
        for byte in text.utf8 { try take(byte) }
    }

    private mutating func digits() throws(Failure) {
        guard let byte = current, (0x30...0x39).contains(byte) else { throw .invalid }
        while let byte = current, (0x30...0x39).contains(byte) { index += 1 }
    }

    private mutating func number() throws(Failure) {
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else {
            try digits()
        }
        if current == UInt8(ascii: ".") {
            index += 1
            try digits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            try digits()
        }
    }

    private mutating func string() throws(Failure) {
        try take(UInt8(ascii: "\""))
        while true {
            guard let byte = current else { throw .invalid }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return
            case UInt8(ascii: "\\"):
                guard let escape = current else { throw .invalid }
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    for _ in 0..<4 {
                        guard let hex = current, (0x30...0x39).contains(hex) || (0x41...0x46).contains(hex) || (0x61...0x66).contains(hex)
                        else { throw .invalid }
                        index += 1
                    }
                default:
                    throw .invalid
                }
            case 0..<0x20:
                throw .invalid
            default:
                continue  // UTF-8 was checked as a whole
            }
        }
    }
}
