/// Parses JSON text and writes it back in canonical form: exactly what JavaScript's
/// `JSON.stringify(JSON.parse(text))` produces (compact, minimal string escapes, numbers as
/// JavaScript prints them).
///
/// Why: the relay stores each event as the exact text it will send, and the API measures
/// `properties` "after JSON.stringify". Producing that text while parsing, in one pass over the
/// bytes, makes the stored size the API's size, and costs far less than building a tree and
/// encoding it again. The parser is strict RFC 8259 (what `JSON.parse` accepts) and validates
/// UTF-8, since the API decodes the body as UTF-8.
///
/// One deliberate difference: a key repeated inside a nested object is kept twice (JavaScript
/// keeps the last one). The API then parses it as JavaScript would; the relay only over-counts
/// the size, which can refuse, never let through, an event the API would refuse.
struct JSONTranscoder {
    /// The kind of a parsed value, with what validation needs to know about it.
    enum ValueKind: Equatable {
        case object
        case array
        /// A string, with its length in UTF-16 code units (how JavaScript counts).
        case string(utf16Count: Int)
        case number
        case bool
        case null
    }

    /// Nesting deeper than this is refused: it protects the parser's stack, and no analytics
    /// payload within the size limits needs it.
    static let maximumDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private(set) var index: Int
    /// The unescaped UTF-8 of the last string parsed with `captureDecoded`.
    private(set) var decoded: [UInt8] = []

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.index = 0
    }

    var isAtEnd: Bool { index >= bytes.count }

    @inline(__always)
    private func byte(_ i: Int) -> UInt8 { bytes[i] }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// Consumes `expected` after optional whitespace, or throws.
    mutating func expect(_ expected: UInt8, _ what: String) throws(JSONSyntaxError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == expected else {
            throw unexpected(what)
        }
        index += 1
    }

    /// Consumes `candidate` after optional whitespace when it is next; tells whether it was.
    mutating func consume(_ candidate: UInt8) -> Bool {
        skipWhitespace()
        if index < bytes.count, bytes[index] == candidate {
            index += 1
            return true
        }
        return false
    }

    /// Peeks at the next non-whitespace byte.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    func unexpected(_ what: String) -> JSONSyntaxError {
        if index >= bytes.count {
            return .syntax("unexpected end of line, expected \(what)", at: index)
        }
        let b = bytes[index]
        if b >= 0x80 {
            // Could be a stray multi-byte character outside a string, or invalid UTF-8.
            return .syntax("unexpected non-ASCII character, expected \(what)", at: index)
        }
        let shown = b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : String(format2hex: b)
        return .syntax("unexpected \(shown), expected \(what)", at: index)
    }

    /// Parses any value and appends its canonical text to `out`.
    mutating func transcodeValue(into out: inout [UInt8], depth: Int = 0) throws(JSONSyntaxError) -> ValueKind {
        skipWhitespace()
        guard index < bytes.count else { throw unexpected("a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            try transcodeObject(into: &out, depth: depth + 1)
            return .object
        case UInt8(ascii: "["):
            try transcodeArray(into: &out, depth: depth + 1)
            return .array
        case UInt8(ascii: "\""):
            return .string(utf16Count: try transcodeString(into: &out, captureDecoded: false))
        case UInt8(ascii: "t"):
            try literal("true", into: &out)
            return .bool
        case UInt8(ascii: "f"):
            try literal("false", into: &out)
            return .bool
        case UInt8(ascii: "n"):
            try literal("null", into: &out)
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try transcodeNumber(into: &out)
            return .number
        default:
            throw unexpected("a value")
        }
    }

    private mutating func literal(_ word: StaticString, into out: inout [UInt8]) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw unexpected("'\(word)'") }
        let w = word.utf8Start
        for k in 0..<count where bytes[index + k] != w[k] {
            throw unexpected("'\(word)'")
        }
        out.append(contentsOf: UnsafeBufferPointer(start: w, count: count))
        index += count
    }

    private mutating func transcodeObject(into out: inout [UInt8], depth: Int) throws(JSONSyntaxError) {
        guard depth <= Self.maximumDepth else {
            throw JSONSyntaxError(kind: .tooDeep, message: "JSON nested deeper than \(Self.maximumDepth) levels")
        }
        index += 1  // {
        out.append(UInt8(ascii: "{"))
        if consume(UInt8(ascii: "}")) {
            out.append(UInt8(ascii: "}"))
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected("a string key") }
            _ = try transcodeString(into: &out, captureDecoded: false)
            try expect(UInt8(ascii: ":"), "':'")
            out.append(UInt8(ascii: ":"))
            _ = try transcodeValue(into: &out, depth: depth)
            guard try another(closedBy: UInt8(ascii: "}"), "',' or '}'", into: &out) else { return }
        }
    }

    private mutating func transcodeArray(into out: inout [UInt8], depth: Int) throws(JSONSyntaxError) {
        guard depth <= Self.maximumDepth else {
            throw JSONSyntaxError(kind: .tooDeep, message: "JSON nested deeper than \(Self.maximumDepth) levels")
        }
        index += 1  // [
        out.append(UInt8(ascii: "["))
        if consume(UInt8(ascii: "]")) {
            out.append(UInt8(ascii: "]"))
            return
        }
        while true {
            _ = try transcodeValue(into: &out, depth: depth)
            guard try another(closedBy: UInt8(ascii: "]"), "',' or ']'", into: &out) else { return }
        }
    }

    /// After a member of an object or array: a ',' (true: another member follows) or the
    /// closing bracket (false), copied to `out`.
    private mutating func another(closedBy close: UInt8, _ what: String, into out: inout [UInt8]) throws(JSONSyntaxError) -> Bool {
        if consume(UInt8(ascii: ",")) {
            out.append(UInt8(ascii: ","))
            return true
        }
        try expect(close, what)
        out.append(close)
        return false
    }

    /// The unescaped UTF-8 of a string literal this transcoder wrote (a lone surrogate becomes
    /// U+FFFD). For the rare id written with escapes; ids without escapes need no decoding.
    static func decodeCanonicalString(_ literal: [UInt8]) -> [UInt8] {
        literal.withUnsafeBytes { bytes in
            var parser = JSONTranscoder(bytes: bytes)
            var sink = [UInt8]()
            // Canonical text always parses; should it not, the literal is the safest answer.
            guard (try? parser.transcodeString(into: &sink, captureDecoded: true)) != nil else { return literal }
            return parser.decoded
        }
    }

    /// Parses a string at `index` (which must be a quote), appends its canonical quoted form to
    /// `out`, and returns its length in UTF-16 code units. With `captureDecoded`, the unescaped
    /// UTF-8 is left in ``decoded`` (a lone surrogate becomes U+FFFD there).
    mutating func transcodeString(into out: inout [UInt8], captureDecoded: Bool) throws(JSONSyntaxError) -> Int {
        if captureDecoded { decoded.removeAll(keepingCapacity: true) }
        index += 1  // opening quote
        out.append(UInt8(ascii: "\""))
        var utf16 = 0
        while true {
            // Copy the longest run of bytes that need neither escaping nor multi-byte decoding.
            let runStart = index
            index = Self.endOfPlainRun(in: bytes, from: index)
            if index > runStart {
                let run = UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + runStart, count: index - runStart)
                out.append(contentsOf: run)
                if captureDecoded { decoded.append(contentsOf: run) }
                utf16 += index - runStart
            }
            guard index < bytes.count else { throw .syntax("unterminated string", at: index) }
            let b = bytes[index]
            if b == 0x22 {
                index += 1
                out.append(UInt8(ascii: "\""))
                return utf16
            } else if b == 0x5C {
                utf16 += try transcodeEscape(into: &out, captureDecoded: captureDecoded)
            } else if b < 0x20 {
                throw .syntax("unescaped control character in a string", at: index)
            } else {
                let start = index
                let width = try validateMultibyte()
                let scalarBytes = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + width)])
                out.append(contentsOf: scalarBytes)
                if captureDecoded { decoded.append(contentsOf: scalarBytes) }
                utf16 += width == 4 ? 2 : 1
            }
        }
    }

    /// The index of the first byte at or after `start` that ends a plain run inside a string: a
    /// quote, a backslash, a control character or a non-ASCII byte (or the end).
    ///
    /// Eight bytes at a time while none of them qualifies (the common case: ids, names, URLs),
    /// with the classic "has a zero byte" bit trick: for x, (x - 0x01…01) & ~x & 0x80…80 is
    /// non-zero exactly when some byte of x is zero.
    @inline(__always)
    static func endOfPlainRun(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let special =
                ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                | (word &- (ones &* 0x20)) | word
            if special & highs != 0 { break }
            index += 8
        }
        while index < bytes.count {
            let b = bytes[index]
            if b < 0x20 || b == 0x22 || b == 0x5C || b >= 0x80 { break }
            index += 1
        }
        return index
    }

    /// Validates the UTF-8 sequence at `index` (first byte >= 0x80) and returns its length.
    private mutating func validateMultibyte() throws(JSONSyntaxError) -> Int {
        let b0 = bytes[index]
        let start = index
        func continuation(_ i: Int) -> UInt8? {
            guard i < bytes.count else { return nil }
            let c = bytes[i]
            return c & 0xC0 == 0x80 ? c : nil
        }
        let width: Int
        switch b0 {
        case 0xC2...0xDF:
            guard continuation(start + 1) != nil else { throw .invalidUTF8(at: start) }
            width = 2
        case 0xE0...0xEF:
            guard let b1 = continuation(start + 1), continuation(start + 2) != nil else { throw .invalidUTF8(at: start) }
            // Overlong (E0 80..9F) and UTF-16 surrogates encoded as UTF-8 (ED A0..BF) are invalid.
            if (b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 >= 0xA0) { throw .invalidUTF8(at: start) }
            width = 3
        case 0xF0...0xF4:
            guard let b1 = continuation(start + 1), continuation(start + 2) != nil, continuation(start + 3) != nil
            else { throw .invalidUTF8(at: start) }
            if (b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 >= 0x90) { throw .invalidUTF8(at: start) }
            width = 4
        default:
            throw .invalidUTF8(at: start)
        }
        index += width
        return width
    }

    private func hexValue(_ b: UInt8) -> UInt16? {
        switch b {
        case 0x30...0x39: return UInt16(b - 0x30)
        case 0x41...0x46: return UInt16(b - 0x41 + 10)
        case 0x61...0x66: return UInt16(b - 0x61 + 10)
        default: return nil
        }
    }

    private mutating func readHex4() throws(JSONSyntaxError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw .syntax("incomplete \\u escape", at: index) }
        var value: UInt16 = 0
        for k in 0..<4 {
            guard let h = hexValue(bytes[index + k]) else { throw .syntax("invalid \\u escape", at: index) }
            value = value << 4 | h
        }
        index += 4
        return value
    }

    /// Handles a backslash escape; returns the UTF-16 units it stands for.
    private mutating func transcodeEscape(into out: inout [UInt8], captureDecoded: Bool) throws(JSONSyntaxError) -> Int {
        index += 1  // backslash
        guard index < bytes.count else { throw .syntax("unterminated string", at: index) }
        let e = bytes[index]
        index += 1
        let unit: UInt16
        switch e {
        case UInt8(ascii: "\""): unit = 0x22
        case UInt8(ascii: "\\"): unit = 0x5C
        case UInt8(ascii: "/"): unit = 0x2F
        case UInt8(ascii: "b"): unit = 0x08
        case UInt8(ascii: "f"): unit = 0x0C
        case UInt8(ascii: "n"): unit = 0x0A
        case UInt8(ascii: "r"): unit = 0x0D
        case UInt8(ascii: "t"): unit = 0x09
        case UInt8(ascii: "u"): unit = try readHex4()
        default: throw .syntax("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: index - 2)
        }
        if unit >= 0xD800 && unit <= 0xDBFF {
            // A high surrogate: a pair when an escaped low surrogate follows.
            if index + 6 <= bytes.count, bytes[index] == 0x5C, bytes[index + 1] == UInt8(ascii: "u") {
                let saved = index
                index += 2
                let low = try readHex4()
                if low >= 0xDC00 && low <= 0xDFFF {
                    let scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    appendScalar(scalar, to: &out, captureDecoded: captureDecoded)
                    return 2
                }
                index = saved
            }
            appendLoneSurrogate(unit, to: &out, captureDecoded: captureDecoded)
            return 1
        }
        if unit >= 0xDC00 && unit <= 0xDFFF {
            appendLoneSurrogate(unit, to: &out, captureDecoded: captureDecoded)
            return 1
        }
        appendScalar(UInt32(unit), to: &out, captureDecoded: captureDecoded)
        return 1
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `JSON.stringify` writes a lone surrogate as a lower-case `\udxxx` escape.
    private mutating func appendLoneSurrogate(_ unit: UInt16, to out: inout [UInt8], captureDecoded: Bool) {
        out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(Self.hexDigits[Int((unit >> UInt16(shift)) & 0xF)])
        }
        if captureDecoded { decoded.append(contentsOf: [0xEF, 0xBF, 0xBD]) }
    }

    /// Appends a scalar as `JSON.stringify` writes it: short escapes for `"`, `\` and the usual
    /// controls, `\u00xx` for other controls, raw UTF-8 for everything else.
    private mutating func appendScalar(_ scalar: UInt32, to out: inout [UInt8], captureDecoded: Bool) {
        switch scalar {
        case 0x22: out.append(contentsOf: [0x5C, 0x22])
        case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
        case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0..<0x20:
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
            out.append(Self.hexDigits[Int(scalar >> 4)])
            out.append(Self.hexDigits[Int(scalar & 0xF)])
        default:
            let start = out.count
            if scalar < 0x80 {
                out.append(UInt8(scalar))
            } else if scalar < 0x800 {
                out.append(UInt8(0xC0 | (scalar >> 6)))
                out.append(UInt8(0x80 | (scalar & 0x3F)))
            } else if scalar < 0x10000 {
                out.append(UInt8(0xE0 | (scalar >> 12)))
                out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                out.append(UInt8(0x80 | (scalar & 0x3F)))
            } else {
                out.append(UInt8(0xF0 | (scalar >> 18)))
                out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
                out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                out.append(UInt8(0x80 | (scalar & 0x3F)))
            }
            if captureDecoded { decoded.append(contentsOf: out[start...]) }
            return
        }
        // Every escaped scalar above is ASCII: its decoded form is the byte itself.
        if captureDecoded { decoded.append(UInt8(scalar)) }
    }

    /// Parses a number and appends it as JavaScript's `Number.prototype.toString` prints it.
    private mutating func transcodeNumber(into out: inout [UInt8]) throws(JSONSyntaxError) {
        let start = index
        var isPlainInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw unexpected("a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if bytes[index] >= 0x31 && bytes[index] <= 0x39 {
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
        } else {
            throw unexpected("a digit")
        }
        let integerEnd = index
        var fraction: Range<Int>?
        var hasExponent = false
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isPlainInteger = false
            index += 1
            let fractionStart = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > fractionStart else { throw unexpected("a digit after '.'") }
            fraction = fractionStart..<index
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isPlainInteger = false
            hasExponent = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let exponentStart = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > exponentStart else { throw unexpected("a digit in the exponent") }
        }
        let lexeme = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
        // Fast path: integers of up to 15 digits print exactly as written (except -0).
        let digitCount = lexeme.count - (lexeme[0] == UInt8(ascii: "-") ? 1 : 0)
        if isPlainInteger && digitCount <= 15 {
            if lexeme.count == 2 && lexeme[0] == UInt8(ascii: "-") && lexeme[1] == UInt8(ascii: "0") {
                out.append(UInt8(ascii: "0"))
            } else {
                out.append(contentsOf: lexeme)
            }
            return
        }
        if !hasExponent, let fraction, isShortestDecimal(integer: start..<integerEnd, fraction: fraction) {
            out.append(contentsOf: lexeme)
            return
        }
        let text = String(decoding: lexeme, as: UTF8.self)
        guard let value = Double(text) else { throw .syntax("unreadable number", at: start) }
        out.append(contentsOf: JavaScriptNumber.format(value))
    }

    /// Whether JavaScript prints the decimal `integer.fraction` (no exponent) exactly as
    /// written, so that parsing and formatting it as a double can be skipped (prices, shares:
    /// the common case). True when the fraction does not end in 0, there are at most 15
    /// significant digits, and the value is at least 1e-6 (below, JavaScript switches to
    /// exponent notation). Why 15 digits suffice: every decimal of up to 15 significant digits
    /// survives the round trip through a double (DBL_DIG), so no shorter decimal names the same
    /// double, and the shortest round-trip digits JavaScript prints are the ones written.
    private func isShortestDecimal(integer: Range<Int>, fraction: Range<Int>) -> Bool {
        guard bytes[fraction.upperBound - 1] != UInt8(ascii: "0") else { return false }
        var integerDigits = integer
        if bytes[integerDigits.lowerBound] == UInt8(ascii: "-") { integerDigits = (integerDigits.lowerBound + 1)..<integerDigits.upperBound }
        if integerDigits.count == 1 && bytes[integerDigits.lowerBound] == UInt8(ascii: "0") {
            // 0.000ddd: leading zeros of the fraction are not significant.
            var leadingZeros = 0
            while bytes[fraction.lowerBound + leadingZeros] == UInt8(ascii: "0") { leadingZeros += 1 }
            return leadingZeros <= 5 && fraction.count - leadingZeros <= 15
        }
        return integerDigits.count + fraction.count <= 15
    }
}

extension String {
    fileprivate init(format2hex byte: UInt8) {
        let hex = Array("0123456789ABCDEF")
        self = "byte 0x\(hex[Int(byte >> 4)])\(hex[Int(byte & 0xF)])"
    }
}
